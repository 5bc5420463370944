package vm

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"

	"github.com/beevik/etree"
)

// NamespaceEnv is the DMTF OVF environment namespace.
const NamespaceEnv = "http://schemas.dmtf.org/ovf/environment/1"

// Property is one key/value of the environment's PropertySection.
type Property struct {
	Key, Value string
}

// EnvironmentXML writes an ovf-env.xml document with the given properties,
// in the form vSphere writes it (oe: prefix bound to the environment
// namespace).
func EnvironmentXML(props []Property) ([]byte, error) {
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	env := doc.CreateElement("Environment")
	env.CreateAttr("xmlns", NamespaceEnv)
	env.CreateAttr("xmlns:oe", NamespaceEnv)
	env.CreateAttr("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance")
	env.CreateAttr("oe:id", "")
	ps := env.CreateElement("PlatformSection")
	ps.CreateElement("Kind").SetText("qemu")
	ps.CreateElement("Vendor").SetText("ovfinit e2e")
	sec := env.CreateElement("PropertySection")
	for _, p := range props {
		e := sec.CreateElement("Property")
		e.CreateAttr("oe:key", p.Key)
		e.CreateAttr("oe:value", p.Value)
	}
	doc.Indent(2)
	b, err := doc.WriteToBytes()
	if err != nil {
		return nil, fmt.Errorf("writing ovf-env.xml: %w", err)
	}
	return b, nil
}

// GuestEnv is the environment the e2e test and the demo give a guest: a
// static address on qemu's user network, one user with one SSH key, the
// callback URL and a script.
type GuestEnv struct {
	InstanceID  string
	Hostname    string
	User        string
	PublicKey   string // authorized_keys line
	CallbackURL string
	Script      string // Starlark source; base64-encoded into ovfinit.script
	// CallbackSecret is ovfinit.callback.secret: events are signed with it.
	CallbackSecret string
	// NetworkConfig, if set, is cloud-init network-config YAML (netplan v2
	// or v1), base64-encoded into the network-config property in place of
	// the ovfinit.net.* properties.
	NetworkConfig string
}

// Properties returns the environment's properties.
func (g GuestEnv) Properties() []Property {
	p := []Property{
		{"instance-id", g.InstanceID},
		{"hostname", g.Hostname},
		{"ovfinit.user", g.User},
		{"public-keys", g.PublicKey},
		{"ovfinit.net.mac", DefaultMAC},
		{"ovfinit.net.address", "10.0.2.15/24"},
		{"ovfinit.net.gateway", "10.0.2.2"},
		{"ovfinit.net.dns", "10.0.2.3"},
		{"ovfinit.ssh.port", "22"},
		{"ovfinit.callback.url", g.CallbackURL},
	}
	if g.CallbackSecret != "" {
		p = append(p, Property{"ovfinit.callback.secret", g.CallbackSecret})
	}
	if g.NetworkConfig != "" {
		p = slices.DeleteFunc(p, func(p Property) bool { return strings.HasPrefix(p.Key, "ovfinit.net.") })
		p = append(p, Property{"network-config", base64.StdEncoding.EncodeToString([]byte(g.NetworkConfig))})
	}
	if g.Script != "" {
		p = append(p, Property{"ovfinit.script", base64.StdEncoding.EncodeToString([]byte(g.Script))})
	}
	return p
}

// XML returns the environment as ovf-env.xml.
func (g GuestEnv) XML() ([]byte, error) { return EnvironmentXML(g.Properties()) }
