package ovfenv

import (
	"fmt"
	"strings"

	"github.com/beevik/etree"
)

// Marshal writes the environment as an ovf-env.xml document (DSP0243) with
// the oe: and ve: prefixes: the id, the PlatformSection, the
// PropertySection, the ve:EthernetAdapterSection and one Entity element per
// entity. Values are escaped by the XML writer. Unknown sections are not
// written (only their names were kept). Parse reads the result back to the
// same environment, lines aside.
//
// Tabs, carriage returns and newlines in attribute values are written as
// character references (&#x9; &#xD; &#xA;): a conforming XML parser turns
// them into spaces when they are written literally (attribute-value
// normalization), which would join a multi-line public-keys value into one
// line for every reader but Go's.
func (e *Environment) Marshal() ([]byte, error) {
	if e == nil {
		return nil, fmt.Errorf("marshalling a nil environment")
	}
	w := &attrWriter{}
	w.pickSentinels(e)
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	root := doc.CreateElement("Environment")
	root.CreateAttr("xmlns", NamespaceEnv)
	root.CreateAttr("xmlns:oe", NamespaceEnv)
	root.CreateAttr("xmlns:ve", NamespaceVMware)
	if e.ID != "" {
		root.CreateAttr("oe:id", w.v(e.ID))
	}
	if e.VCenterID != "" {
		root.CreateAttr("ve:vCenterId", w.v(e.VCenterID))
	}
	if pl := e.Platform; pl != nil {
		sec := root.CreateElement("PlatformSection")
		for _, f := range []struct{ tag, v string }{
			{"Kind", pl.Kind}, {"Version", pl.Version}, {"Vendor", pl.Vendor}, {"Locale", pl.Locale}, {"TimeZone", pl.Timezone},
		} {
			if f.v != "" {
				sec.CreateElement(f.tag).SetText(f.v)
			}
		}
	}
	w.writeProps(root, e.Properties)
	w.writeAdapters(root, e.Adapters)
	for _, en := range e.Entities {
		el := root.CreateElement("Entity")
		el.CreateAttr("oe:id", w.v(en.ID))
		w.writeProps(el, en.Properties)
		w.writeAdapters(el, en.Adapters)
	}
	doc.Indent(2)
	out, err := doc.WriteToBytes()
	if err != nil {
		return nil, err
	}
	return []byte(w.out.Replace(string(out))), nil
}

// attrWriter stands in for the whitespace characters of attribute values
// with private-use runes that occur nowhere in the document's values, and
// replaces them with character references once etree has written the
// document (etree has no setting for it).
type attrWriter struct {
	in  *strings.Replacer // value characters to sentinels
	out *strings.Replacer // sentinels to character references
}

// pickSentinels chooses three consecutive private-use runes that no
// value of the environment contains.
func (w *attrWriter) pickSentinels(e *Environment) {
	var all strings.Builder
	add := func(s string) { all.WriteString(s) }
	add(e.ID)
	add(e.VCenterID)
	for _, p := range e.Properties {
		add(p.Key)
		add(p.Value)
	}
	for _, en := range e.Entities {
		add(en.ID)
		for _, p := range en.Properties {
			add(p.Key)
			add(p.Value)
		}
	}
	for _, a := range e.Adapters {
		add(a.MAC + a.Network + a.UnitNumber)
	}
	for _, en := range e.Entities {
		for _, a := range en.Adapters {
			add(a.MAC + a.Network + a.UnitNumber)
		}
	}
	text := all.String()
	base := rune(0xE000)
	for ; base < 0xF8FF-2; base++ {
		if !strings.ContainsRune(text, base) && !strings.ContainsRune(text, base+1) && !strings.ContainsRune(text, base+2) {
			break
		}
	}
	// (A document holding every private-use rune is not a real one; the
	// last three are then used and the round trip may change it.)
	tab, cr, lf := string(base), string(base+1), string(base+2)
	w.in = strings.NewReplacer("\t", tab, "\r", cr, "\n", lf)
	w.out = strings.NewReplacer(tab, "&#x9;", cr, "&#xD;", lf, "&#xA;")
}

// v returns an attribute value with its whitespace characters swapped.
func (w *attrWriter) v(s string) string { return w.in.Replace(s) }

func (w *attrWriter) writeProps(parent *etree.Element, props []Property) {
	sec := parent.CreateElement("PropertySection")
	for _, p := range props {
		el := sec.CreateElement("Property")
		el.CreateAttr("oe:key", w.v(p.Key))
		el.CreateAttr("oe:value", w.v(p.Value))
	}
}

func (w *attrWriter) writeAdapters(parent *etree.Element, adapters []Adapter) {
	if len(adapters) > 0 {
		sec := parent.CreateElement("ve:EthernetAdapterSection")
		for _, a := range adapters {
			el := sec.CreateElement("ve:Adapter")
			el.CreateAttr("ve:mac", w.v(a.MAC))
			if a.Network != "" {
				el.CreateAttr("ve:network", w.v(a.Network))
			}
			if a.UnitNumber != "" {
				el.CreateAttr("ve:unitNumber", w.v(a.UnitNumber))
			}
		}
	}
}
