package ovfenv

// Namespace URIs the parser recognises. Elements and attributes are matched
// by these URIs, never by the prefix a document happens to use.
const (
	// NamespaceEnv is the DMTF OVF environment namespace (DSP0243).
	NamespaceEnv = "http://schemas.dmtf.org/ovf/environment/1"
	// NamespaceVMware is VMware's extension namespace (ve:), which carries
	// the vCenter id and the EthernetAdapterSection.
	NamespaceVMware = "http://www.vmware.com/schema/ovfenv"
)

// Environment is one parsed ovf-env.xml.
type Environment struct {
	// ID is the Environment element's id attribute: the OVF descriptor's id
	// of the VirtualSystem this environment is for. Often empty (vCenter
	// leaves it so).
	ID string `json:"id"`
	// VCenterID is VMware's ve:vCenterId attribute, when present.
	VCenterID string `json:"vcenterId,omitempty"`
	// Platform is the PlatformSection, if the document has one.
	Platform *Platform `json:"platform,omitempty"`
	// Properties are the PropertySection's properties, in document order.
	// A key that appears twice keeps both entries; Property returns the last.
	Properties []Property `json:"properties"`
	// Entities are the sibling Entity sections: the other virtual systems of
	// a multi-VM VirtualSystemCollection, each with its own properties.
	Entities []Entity `json:"entities,omitempty"`
	// Adapters are VMware's ve:EthernetAdapterSection entries.
	Adapters []Adapter `json:"adapters,omitempty"`
	// Unknown lists the sections of the Environment the parser does not
	// read (a vendor's own, say): kept so that `env show` can say they were
	// there, and otherwise ignored.
	Unknown []Section `json:"unknownSections,omitempty"`
}

// Section names an element the parser kept but does not read.
type Section struct {
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	Line      int    `json:"line,omitempty"`
}

// Platform is the PlatformSection: what the hypervisor says about itself.
type Platform struct {
	Kind    string `json:"kind,omitempty"`
	Version string `json:"version,omitempty"`
	Vendor  string `json:"vendor,omitempty"`
	Locale  string `json:"locale,omitempty"`
	// Timezone is the TimeZone element (DSP0243 spells it so; Timezone is
	// accepted too): the offset from UTC in minutes, as text.
	Timezone string `json:"timezone,omitempty"`
}

// Property is one key/value pair from a PropertySection.
type Property struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	// Line is the line in the document the property was read from, so that
	// an error about its value can point at it. Zero when unknown.
	Line int `json:"line,omitempty"`
}

// Entity is a sibling virtual system's section of the environment: the
// properties (and, from vSphere, the NICs) of another VM of the same vApp.
type Entity struct {
	ID         string     `json:"id"`
	Properties []Property `json:"properties"`
	// Adapters are the entity's own ve:EthernetAdapterSection entries.
	Adapters []Adapter `json:"adapters,omitempty"`
}

// Adapter is a NIC VMware told the guest about: its MAC and network name.
type Adapter struct {
	MAC        string `json:"mac"`
	Network    string `json:"network,omitempty"`
	UnitNumber string `json:"unitNumber,omitempty"`
}

// Property returns the value of the last property with that key, and whether
// it is set. Keys match with or without a "guestinfo." prefix on either side
// (vApp templates written for VMware's guestinfo name them so), and a value
// that is empty or "null" (any case, spaces trimmed) means unset: ok is false.
func (e *Environment) Property(key string) (string, bool) {
	if e == nil {
		return "", false
	}
	return lookup(e.Properties, key)
}

// PropertyLine returns the document line of the last property with that key
// (matched as Property matches it), or zero.
func (e *Environment) PropertyLine(key string) int {
	if e == nil {
		return 0
	}
	if i := find(e.Properties, key); i >= 0 {
		return e.Properties[i].Line
	}
	return 0
}

// Entity returns the sibling entity with that id, or nil.
func (e *Environment) Entity(id string) *Entity {
	if e == nil {
		return nil
	}
	for i := range e.Entities {
		if e.Entities[i].ID == id {
			return &e.Entities[i]
		}
	}
	return nil
}

// Property returns the value of the entity's last property with that key.
func (en *Entity) Property(key string) (string, bool) {
	if en == nil {
		return "", false
	}
	return lookup(en.Properties, key)
}

func lookup(props []Property, key string) (string, bool) {
	i := find(props, key)
	if i < 0 || IsUnset(props[i].Value) {
		return "", false
	}
	return props[i].Value, true
}

// find returns the index of the last property whose key is key, ignoring a
// "guestinfo." prefix on either side, or -1.
func find(props []Property, key string) int {
	key = NormalizeKey(key)
	for i := len(props) - 1; i >= 0; i-- {
		if NormalizeKey(props[i].Key) == key {
			return i
		}
	}
	return -1
}
