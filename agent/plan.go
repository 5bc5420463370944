package agent

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/netcfg"
	"github.com/ovfinit/ovfinit/ovfenv"
	"github.com/ovfinit/ovfinit/scripts"
	"github.com/ovfinit/ovfinit/users"
)

// The property keys ovfinit reads; docs/properties.md describes each.
const (
	PropInstanceID  = "instance-id"
	PropHostname    = "hostname"
	PropPublicKeys  = "public-keys"
	PropAttempt     = "ovfinit.attempt"
	PropUser        = "ovfinit.user"
	PropNetMAC      = "ovfinit.net.mac"
	PropNetAddress  = "ovfinit.net.address"
	PropNetGateway  = "ovfinit.net.gateway"
	PropNetDNS      = "ovfinit.net.dns"
	PropSSHPort     = "ovfinit.ssh.port"
	PropScript      = "ovfinit.script"
	PropCallbackURL = "ovfinit.callback.url"
)

// DefaultUser is the account created when ovfinit.user is not set.
const DefaultUser = "ovfinit"

// Plan is everything the environment asks for, parsed and validated before
// any step changes the machine.
type Plan struct {
	Hostname    string
	Net         *netcfg.Config // nil: leave the network alone
	NetOps      []netcfg.Op
	User        users.User
	SSHPort     int
	Script      []byte // nil: no script
	CallbackURL string
	Attempt     int
}

// PropertyError is a problem with one property's value.
type PropertyError struct {
	Key  string
	Line int // in ovf-env.xml; 0 when unknown
	Err  error
}

func (e *PropertyError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("property %s (ovf-env.xml line %d): %v", e.Key, e.Line, e.Err)
	}
	return fmt.Sprintf("property %s: %v", e.Key, e.Err)
}

func (e *PropertyError) Unwrap() error { return e.Err }

// BuildPlan reads and checks every property ovfinit uses. links lists the
// machine's NICs; it is called only when the environment configures the
// network. All problems are returned at once, each naming its property; the
// plan is still returned with what could be read (its CallbackURL above all,
// so the failure can be reported).
func BuildPlan(env *ovfenv.Environment, links func() ([]netcfg.Link, error)) (*Plan, error) {
	p := &Plan{SSHPort: 22, Attempt: 1, User: users.User{Name: DefaultUser}}
	var errs []error
	bad := func(key string, err error) {
		errs = append(errs, &PropertyError{Key: key, Line: env.PropertyLine(key), Err: err})
	}
	get := func(key string) (string, bool) {
		v, ok := env.Property(key)
		return strings.TrimSpace(v), ok && strings.TrimSpace(v) != ""
	}

	if v, ok := get(PropCallbackURL); ok {
		if _, err := callback.ValidateURL(v); err != nil {
			// ValidateURL names the property itself; PropertyError adds the line.
			bad(PropCallbackURL, errors.New(strings.TrimPrefix(err.Error(), PropCallbackURL+": ")))
		} else {
			p.CallbackURL = v
		}
	}
	if v, ok := get(PropAttempt); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			bad(PropAttempt, fmt.Errorf("want a whole number from 1 up, got %q", v))
		} else {
			p.Attempt = n
		}
	}
	if v, ok := get(PropHostname); ok {
		if err := checkHostname(v); err != nil {
			bad(PropHostname, err)
		} else {
			p.Hostname = v
		}
	}
	if v, ok := get(PropUser); ok {
		if err := users.ValidateName(v); err != nil {
			bad(PropUser, err)
		} else {
			p.User.Name = v
		}
	}
	if v, ok := env.Property(PropPublicKeys); ok {
		keys, err := users.ParseKeys(v)
		if err != nil {
			bad(PropPublicKeys, err)
		}
		p.User.Keys = keys
	}
	if v, ok := get(PropSSHPort); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 65535 {
			bad(PropSSHPort, fmt.Errorf("want a TCP port from 1 to 65535, got %q", v))
		} else {
			p.SSHPort = n
		}
	}
	if v, ok := get(PropScript); ok {
		src, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			bad(PropScript, fmt.Errorf("not base64: %v", err))
		} else if err := scripts.Check(PropScript, src); err != nil {
			bad(PropScript, err)
		} else {
			p.Script = src
		}
	}
	if err := planNetwork(env, p, links, bad); err != nil {
		errs = append(errs, err)
	}
	return p, errors.Join(errs...)
}

// planNetwork reads the ovfinit.net.* properties and plans them against the
// machine's links. Only an error listing the links is returned; property
// problems go to bad.
func planNetwork(env *ovfenv.Environment, p *Plan, links func() ([]netcfg.Link, error), bad func(string, error)) error {
	addr, ok := env.Property(PropNetAddress)
	addr = strings.TrimSpace(addr)
	if !ok || addr == "" {
		for _, k := range []string{PropNetGateway, PropNetDNS, PropNetMAC} {
			if v, ok := env.Property(k); ok && strings.TrimSpace(v) != "" {
				bad(k, fmt.Errorf("set without %s", PropNetAddress))
			}
		}
		return nil
	}
	cfg := &netcfg.Config{}
	ok = true
	pfx, err := netip.ParsePrefix(addr)
	if err != nil {
		bad(PropNetAddress, fmt.Errorf("want an IPv4 address with prefix length such as 10.0.2.15/24, got %q", addr))
		ok = false
	}
	cfg.Address = pfx
	if v, _ := env.Property(PropNetGateway); strings.TrimSpace(v) != "" {
		gw, err := netip.ParseAddr(strings.TrimSpace(v))
		if err != nil {
			bad(PropNetGateway, fmt.Errorf("not an IP address: %q", v))
			ok = false
		}
		cfg.Gateway = gw
	}
	if v, _ := env.Property(PropNetDNS); strings.TrimSpace(v) != "" {
		for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
			a, err := netip.ParseAddr(f)
			if err != nil {
				bad(PropNetDNS, fmt.Errorf("not an IP address: %q", f))
				ok = false
				continue
			}
			cfg.DNS = append(cfg.DNS, a)
		}
	}
	macKey := PropNetMAC
	macText := ""
	if v, _ := env.Property(PropNetMAC); strings.TrimSpace(v) != "" {
		macText = strings.TrimSpace(v)
	} else if len(env.Adapters) == 1 {
		macKey, macText = "ve:Adapter ve:mac", env.Adapters[0].MAC
	}
	if macText != "" {
		m, err := net.ParseMAC(macText)
		if err != nil || len(m) != 6 {
			bad(macKey, fmt.Errorf("not an ethernet MAC address: %q", macText))
			ok = false
		}
		cfg.MAC = m
	}
	if !ok {
		return nil
	}
	// Map the netcfg field names back to the properties they came from.
	field := map[string]string{"mac": macKey, "address": PropNetAddress, "gateway": PropNetGateway, "dns": PropNetDNS}
	report := func(err error) {
		var fe *netcfg.FieldError
		if errors.As(err, &fe) {
			bad(field[fe.Field], fe)
			return
		}
		bad(PropNetAddress, err)
	}
	if err := netcfg.Validate(*cfg); err != nil {
		for _, e := range unjoin(err) {
			report(e)
		}
		return nil
	}
	ll, err := links()
	if err != nil {
		return fmt.Errorf("reading the machine's network interfaces: %w", err)
	}
	ops, err := netcfg.Plan(*cfg, ll)
	if err != nil {
		for _, e := range unjoin(err) {
			report(e)
		}
		return nil
	}
	p.Net, p.NetOps = cfg, ops
	return nil
}

// unjoin splits an errors.Join result into its parts.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// checkHostname applies RFC 1123: labels of 1-63 letters, digits and '-',
// not starting or ending with '-', 253 characters in all.
func checkHostname(h string) error {
	if len(h) > 253 {
		return fmt.Errorf("longer than 253 characters")
	}
	for _, label := range strings.Split(h, ".") {
		if len(label) == 0 || len(label) > 63 {
			return fmt.Errorf("invalid host name %q: each dot-separated label must have 1 to 63 characters", h)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("invalid host name %q: a label may not start or end with '-'", h)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Errorf("invalid host name %q: only letters, digits, '-' and '.' are allowed", h)
			}
		}
	}
	return nil
}
