// Package descriptor renders the OVF descriptor's ProductSection that
// declares every property of the ovfenv key table (`ovfinit env
// descriptor`, and the appliance manager/ova packs). Host-side tooling: the
// guest reads the environment, never writes a descriptor.
package descriptor

import (
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/beevik/etree"
	"github.com/ovfinit/ovfinit/ovfenv"
)

// EnvelopeNS is the OVF 1.x envelope namespace (DSP0243); the descriptor's
// elements and ovf: attributes live in it.
const EnvelopeNS = "http://schemas.dmtf.org/ovf/envelope/1"

// OVFType is the ovf:type a descriptor declares for a key type (DSP0243
// table 6: CIM types).
func OVFType(t ovfenv.KeyType) string {
	switch t {
	case ovfenv.TypeInt:
		return "sint32"
	case ovfenv.TypeBool:
		return "boolean"
	}
	return "string" // string, base64, list
}

// Options says what ProductSection renders.
type Options struct {
	Product string // <Product>; default "ovfinit"
	Version string // <Version>, if set
	// Defaults replaces the table's default (ovf:value) of some keys, for an
	// appliance with site defaults. Every key must be in the table and its
	// value must be of the key's type.
	Defaults map[string]string
}

// ProductSection renders the OVF ProductSection that declares every
// property of ovfenv.Keys(), grouped by <Category>: ovf:key, ovf:type, ovf:value
// (the default), Label, Description, ovf:password="true" for secrets, and
// ovf:userConfigurable="true" so deploy wizards ask for them. The element
// uses the "ovf" prefix for EnvelopeNS and no default namespace, so the
// caller declares xmlns:ovf (ProductSectionDocument does). Bad Defaults are
// all reported at once.
func ProductSection(o Options) (*etree.Element, error) {
	keys := ovfenv.Keys()
	var errs []error
	known := map[string]ovfenv.Key{}
	for _, k := range keys {
		known[k.Name] = k
	}
	names := make([]string, 0, len(o.Defaults))
	for n := range o.Defaults {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		k, ok := known[strings.TrimPrefix(n, "guestinfo.")]
		if !ok {
			errs = append(errs, fmt.Errorf("default for %q: not a property ovfinit understands (see ovfinit env descriptor)", n))
			continue
		}
		if err := descriptorCheck(k, o.Defaults[n]); err != nil {
			errs = append(errs, fmt.Errorf("default for %s: %w", n, err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	defaults := map[string]string{}
	for n, v := range o.Defaults {
		defaults[strings.TrimPrefix(n, "guestinfo.")] = v
	}

	ps := etree.NewElement("ovf:ProductSection")
	ps.CreateAttr("ovf:required", "false")
	ps.CreateElement("ovf:Info").SetText("Properties read by the ovfinit first-boot agent")
	product := o.Product
	if product == "" {
		product = "ovfinit"
	}
	ps.CreateElement("ovf:Product").SetText(product)
	if o.Version != "" {
		ps.CreateElement("ovf:Version").SetText(o.Version)
	}
	group := ""
	for _, k := range keys {
		if k.Group != group {
			group = k.Group
			ps.CreateElement("ovf:Category").SetText(group)
		}
		p := ps.CreateElement("ovf:Property")
		p.CreateAttr("ovf:key", k.Name)
		p.CreateAttr("ovf:type", OVFType(k.Type))
		val := k.Default
		if v, ok := defaults[k.Name]; ok {
			val = v
		}
		if k.Type == ovfenv.TypeBool && val != "" {
			b, _ := descriptorBool(val)
			val = strconv.FormatBool(b)
		}
		p.CreateAttr("ovf:value", val)
		p.CreateAttr("ovf:userConfigurable", "true")
		if k.Secret {
			p.CreateAttr("ovf:password", "true")
		}
		p.CreateElement("ovf:Label").SetText(k.Label)
		p.CreateElement("ovf:Description").SetText(k.Description)
	}
	return ps, nil
}

// ProductSectionDocument is ProductSection as a standalone XML document
// (what `ovfinit env descriptor` prints), with xmlns:ovf declared.
func ProductSectionDocument(o Options) ([]byte, error) {
	ps, err := ProductSection(o)
	if err != nil {
		return nil, err
	}
	ps.CreateAttr("xmlns:ovf", EnvelopeNS)
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	doc.SetRoot(ps)
	doc.Indent(2)
	return doc.WriteToBytes()
}

func descriptorCheck(k ovfenv.Key, v string) error {
	switch k.Type {
	case ovfenv.TypeInt:
		if _, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32); err != nil {
			return fmt.Errorf("%q is not an integer", v)
		}
	case ovfenv.TypeBool:
		if _, ok := descriptorBool(v); !ok {
			return fmt.Errorf("%q is not true or false", v)
		}
	case ovfenv.TypeBase64:
		if _, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v)); err != nil {
			return fmt.Errorf("not base64: %v", err)
		}
	}
	return nil
}

// descriptorBool reads the spellings ovfenv.TypeBool documents.
func descriptorBool(v string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "yes", "1":
		return true, true
	case "false", "no", "0":
		return false, true
	}
	return false, false
}
