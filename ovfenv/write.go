package ovfenv

import (
	"fmt"

	"github.com/beevik/etree"
)

// Marshal writes the environment as an ovf-env.xml document (DSP0243) with
// the oe: and ve: prefixes: the id, the PlatformSection, the
// PropertySection, the ve:EthernetAdapterSection and one Entity element per
// entity. Values are escaped by the XML writer. Unknown sections are not
// written (only their names were kept). Parse reads the result back to the
// same environment, lines aside.
func (e *Environment) Marshal() ([]byte, error) {
	if e == nil {
		return nil, fmt.Errorf("marshalling a nil environment")
	}
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	root := doc.CreateElement("Environment")
	root.CreateAttr("xmlns", NamespaceEnv)
	root.CreateAttr("xmlns:oe", NamespaceEnv)
	root.CreateAttr("xmlns:ve", NamespaceVMware)
	if e.ID != "" {
		root.CreateAttr("oe:id", e.ID)
	}
	if e.VCenterID != "" {
		root.CreateAttr("ve:vCenterId", e.VCenterID)
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
	writeProps(root, e.Properties)
	if len(e.Adapters) > 0 {
		sec := root.CreateElement("ve:EthernetAdapterSection")
		for _, a := range e.Adapters {
			el := sec.CreateElement("ve:Adapter")
			el.CreateAttr("ve:mac", a.MAC)
			if a.Network != "" {
				el.CreateAttr("ve:network", a.Network)
			}
			if a.UnitNumber != "" {
				el.CreateAttr("ve:unitNumber", a.UnitNumber)
			}
		}
	}
	for _, en := range e.Entities {
		el := root.CreateElement("Entity")
		el.CreateAttr("oe:id", en.ID)
		writeProps(el, en.Properties)
	}
	doc.Indent(2)
	return doc.WriteToBytes()
}

func writeProps(parent *etree.Element, props []Property) {
	sec := parent.CreateElement("PropertySection")
	for _, p := range props {
		el := sec.CreateElement("Property")
		el.CreateAttr("oe:key", p.Key)
		el.CreateAttr("oe:value", p.Value)
	}
}
