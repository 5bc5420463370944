package netcfg

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Lines maps a field, as FieldError names it ("eth0.addresses[1]"), to its
// line in the YAML document.
type Lines map[string]int

// Line returns the line of a field, or of the nearest enclosing one that has
// a line (the NIC's entry at least); 0 when unknown.
func (l Lines) Line(nic, field string) int {
	key := nic + "." + field
	for {
		if n, ok := l[key]; ok {
			return n
		}
		i := strings.LastIndexAny(key, ".[")
		if i <= len(nic) {
			return l[nic]
		}
		key = key[:i]
	}
}

// YAMLError is a problem at one line of a network-config document.
type YAMLError struct {
	Line int
	Msg  string
}

func (e *YAMLError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

// ParseNetworkConfig reads cloud-init's network-config: netplan version 2
// (ethernets, vlans and bonds) or cloud-init's version 1, bare or under a
// top-level "network:" key; a document without "version:" is version 2, as
// netplan reads it. Every key is either read and applied or refused with
// its line: unknown keys, and netplan or cloud-init keys ovfinit does not
// apply yet, are errors naming the key. Values are checked by Validate;
// Lines locates them.
// NetworkDisabled reports whether the document is cloud-init's
// `network: {config: disabled}` (or bare `config: disabled`), which tells
// cloud-init to leave the network alone, its fallback included.
func NetworkDisabled(data []byte) bool {
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil {
		return false
	}
	top := docNode(&root)
	if n := mapValue(top, "network"); n != nil {
		top = n
	}
	c := mapValue(top, "config")
	return c != nil && c.Kind == yaml.ScalarNode && c.Value == "disabled" && len(top.Content) == 2
}

func ParseNetworkConfig(data []byte) (Config, Lines, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return Config{}, nil, yamlErr(err)
	}
	top := docNode(&root)
	if top == nil || top.Kind == 0 {
		return Config{}, nil, &YAMLError{Msg: "the document is empty"}
	}
	if top.Kind != yaml.MappingNode {
		return Config{}, nil, &YAMLError{Line: top.Line, Msg: "want a mapping with network: or version:"}
	}
	if n := mapValue(top, "network"); n != nil {
		if len(top.Content) > 2 {
			for i := 0; i < len(top.Content); i += 2 {
				if k := top.Content[i]; k.Value != "network" {
					return Config{}, nil, &YAMLError{Line: k.Line, Msg: fmt.Sprintf("unknown key %q next to network:", k.Value)}
				}
			}
		}
		top = n
		if top.Kind != yaml.MappingNode {
			return Config{}, nil, &YAMLError{Line: top.Line, Msg: "network: want a mapping"}
		}
	}
	v := 2
	if vn := mapValue(top, "version"); vn != nil {
		n, err := strconv.Atoi(vn.Value)
		if err != nil || n != 1 && n != 2 {
			return Config{}, nil, &YAMLError{Line: vn.Line, Msg: fmt.Sprintf("version: want 1 or 2, got %q", vn.Value)}
		}
		v = n
	}
	switch v {
	case 2:
		var d v2
		if err := decodeChecked(top, &d, "the network"); err != nil {
			return Config{}, nil, err
		}
		return d.config(top)
	default:
		var d v1
		if err := decodeChecked(top, &d, "the network"); err != nil {
			return Config{}, nil, err
		}
		return d.config(top)
	}
}

// decodeChecked checks every key of n against out's yaml tags, then decodes.
// Problems name the key, the line and what it is part of.
func decodeChecked(n *yaml.Node, out any, where string) error {
	var errs []error
	checkKeys(n, reflect.TypeOf(out).Elem(), where, &errs)
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if err := n.Decode(out); err != nil {
		return typeErr(n, err)
	}
	return nil
}

// notSupported lists keys netplan 0.106 or cloud-init v1 define that ovfinit
// does not apply yet, by the struct that would hold them: they are refused
// as "not supported" rather than "unknown".
var notSupported = map[string][]string{
	"v2": {"bridges", "tunnels", "vrfs", "nm-devices", "openvswitch", "dummy-devices", "virtual-ethernets"},
	"v2Iface": {"accept-ra", "critical", "dhcp-identifier", "dhcp4-overrides", "dhcp6-overrides", "ipv6-address-generation",
		"ipv6-address-token", "ipv6-mtu", "ipv6-privacy", "link-local", "ignore-carrier", "macaddress",
		"optional-addresses", "activation-mode", "routing-policy", "neigh-suppress", "wakeonlan", "emit-lldp",
		"receive-checksum-offload", "transmit-checksum-offload", "tcp-segmentation-offload", "tcp6-segmentation-offload",
		"generic-segmentation-offload", "generic-receive-offload", "large-receive-offload", "openvswitch",
		"virtual-function-count", "embedded-switch-mode", "delay-virtual-functions-rebind", "infiniband-mode", "auth", "link-local"},
	"v2Route": {"from", "type", "scope", "table", "mtu", "congestion-window", "advertised-receive-window"},
	"v2BondParams": {"ad-select", "all-slaves-active", "arp-validate", "arp-all-targets", "fail-over-mac-policy",
		"gratuitous-arp", "gratuitious-arp", "packets-per-slave", "primary-reselect-policy", "resend-igmp", "learn-packet-interval"},
	"v1Item":   {"bridge_interfaces", "accept-ra", "keep_configuration"},
	"v1Subnet": {"dns_nameservers6", "ipv4", "ipv6"},
}

// inWords says what each parsed struct is, for error messages.
var inWords = map[string]string{
	"v2": "the network", "v2Iface": "an interface", "v2Match": "a match", "v2Nameservers": "nameservers",
	"v2Route": "a route", "v2BondParams": "bond parameters", "v1": "the network", "v1Item": "a config entry",
	"v1Subnet": "a subnet", "v1Route": "a route",
}

// unsupportedType lists v2 device types that make no sense in a VM.
var unsupportedType = map[string]string{"wifis": "not supported in VMs", "modems": "not supported in VMs"}

func checkKeys(n *yaml.Node, t reflect.Type, where string, errs *[]error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeOf(yaml.Node{}) {
		return // read by hand
	}
	if n == nil || n.Kind == yaml.AliasNode {
		if n != nil {
			checkKeys(n.Alias, t, where, errs)
		}
		return
	}
	switch t.Kind() {
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return // Decode reports the type
		}
		for i := 1; i < len(n.Content); i += 2 {
			checkKeys(n.Content[i], t.Elem(), where, errs)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for _, c := range n.Content {
			checkKeys(c, t.Elem(), where, errs)
		}
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return
		}
		if w, ok := inWords[t.Name()]; ok {
			where = w
		}
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name != "" && name != "-" {
				fields[name] = f.Type
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			ft, ok := fields[k.Value]
			switch {
			case ok:
				checkKeys(n.Content[i+1], ft, where, errs)
			case unsupportedType[k.Value] != "" && t.Name() == "v2":
				*errs = append(*errs, &YAMLError{Line: k.Line, Msg: fmt.Sprintf("%q: %s", k.Value, unsupportedType[k.Value])})
			case slices.Contains(notSupported[t.Name()], k.Value):
				*errs = append(*errs, &YAMLError{Line: k.Line, Msg: fmt.Sprintf("%q in %s is not supported by ovfinit yet", k.Value, where)})
			default:
				*errs = append(*errs, &YAMLError{Line: k.Line, Msg: fmt.Sprintf("unknown key %q in %s", k.Value, where)})
			}
		}
	}
}

// typeErr turns yaml's "cannot unmarshal !!str `maybe` into bool" into
// "dhcp4: want true or false, got "maybe"", with the line.
func typeErr(n *yaml.Node, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return yamlErr(err)
	}
	keys := map[int]string{}
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		if n == nil {
			return
		}
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				// Deeper keys come later and win: "eth0:" and its first
				// key "dhcp4:" share the line of eth0's mapping.
				keys[n.Content[i+1].Line] = n.Content[i].Value
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
	var errs []error
	for _, e := range te.Errors {
		ye := lineMsg(e)
		if m := cannotUnmarshal.FindStringSubmatch(ye.Msg); m != nil {
			want := map[string]string{"bool": "true or false", "int": "a whole number", "string": "a single value"}[m[3]]
			switch {
			case want != "":
			case strings.HasPrefix(m[3], "[]"):
				want = "a list"
			default:
				want = "a mapping"
			}
			got := m[2]
			if got == "" {
				got = map[string]string{"!!seq": "a list", "!!map": "a mapping"}[m[1]]
			} else {
				got = strconv.Quote(got)
			}
			ye.Msg = fmt.Sprintf("want %s, got %s", want, got)
			if k := keys[ye.Line]; k != "" {
				ye.Msg = k + ": " + ye.Msg
			}
		}
		errs = append(errs, ye)
	}
	return errors.Join(errs...)
}

var cannotUnmarshal = regexp.MustCompile("^cannot unmarshal (!!\\w+)(?: `(.*)`)? into (.*)$")

func yamlErr(err error) error {
	if err == nil {
		return nil
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		var errs []error
		for _, e := range te.Errors {
			errs = append(errs, lineMsg(e))
		}
		return errors.Join(errs...)
	}
	return lineMsg(strings.TrimPrefix(err.Error(), "yaml: "))
}

// lineMsg splits yaml's "line 5: msg" into a YAMLError.
func lineMsg(msg string) *YAMLError {
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, m, ok := strings.Cut(rest, ": "); ok {
			if l, err := strconv.Atoi(n); err == nil {
				return &YAMLError{Line: l, Msg: m}
			}
		}
	}
	return &YAMLError{Msg: msg}
}

func docNode(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		return n.Content[0]
	}
	return n
}

// mapValue returns the value node of a key in a mapping node, or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func item(n *yaml.Node, i int) *yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode || i >= len(n.Content) {
		return nil
	}
	return n.Content[i]
}

func line(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	return n.Line
}

// v2 is netplan's version 2 as far as ovfinit applies it.
type v2 struct {
	Version   int                `yaml:"version"`
	Renderer  string             `yaml:"renderer"`
	Ethernets map[string]v2Iface `yaml:"ethernets"`
	VLANs     map[string]v2Iface `yaml:"vlans"`
	Bonds     map[string]v2Iface `yaml:"bonds"`
}

type v2Match struct {
	MACAddress string `yaml:"macaddress"`
	Name       string `yaml:"name"`
	Driver     string `yaml:"driver"`
}

type v2Nameservers struct {
	Addresses []string `yaml:"addresses"`
	Search    []string `yaml:"search"`
}

type v2Route struct {
	To     string `yaml:"to"`
	Via    string `yaml:"via"`
	Metric int    `yaml:"metric"`
	OnLink bool   `yaml:"on-link"`
}

type v2BondParams struct {
	Mode               string   `yaml:"mode"`
	MIIMonitorInterval string   `yaml:"mii-monitor-interval"`
	Primary            string   `yaml:"primary"`
	LACPRate           string   `yaml:"lacp-rate"`
	TransmitHashPolicy string   `yaml:"transmit-hash-policy"`
	UpDelay            string   `yaml:"up-delay"`
	DownDelay          string   `yaml:"down-delay"`
	MinLinks           int      `yaml:"min-links"`
	ARPInterval        string   `yaml:"arp-interval"`
	ARPIPTargets       []string `yaml:"arp-ip-targets"`
}

type v2Iface struct {
	Match       *v2Match      `yaml:"match"`
	SetName     string        `yaml:"set-name"`
	DHCP4       bool          `yaml:"dhcp4"`
	DHCP6       bool          `yaml:"dhcp6"`
	Addresses   []string      `yaml:"addresses"`
	Gateway4    string        `yaml:"gateway4"`
	Gateway6    string        `yaml:"gateway6"`
	MTU         int           `yaml:"mtu"`
	Nameservers v2Nameservers `yaml:"nameservers"`
	Routes      []v2Route     `yaml:"routes"`
	// VLANs.
	ID   *int   `yaml:"id"`
	Link string `yaml:"link"`
	// Bonds.
	Interfaces []string     `yaml:"interfaces"`
	Parameters v2BondParams `yaml:"parameters"`
	// Renderer, as the top-level one, picks netplan's backend; ovfinit
	// writes for the image's own network manager, so only the two wired
	// backends are accepted.
	Renderer string `yaml:"renderer"`
	Optional bool   `yaml:"optional"`
}

// bondParams reads netplan's bond parameters into n.
func (c *conv) bondParams(id string, pn *yaml.Node, p v2BondParams, n *NIC) {
	at := func(k string) *yaml.Node { return mapValue(pn, k) }
	for _, f := range []struct {
		key string
		s   string
		dst *int
	}{{"mii-monitor-interval", p.MIIMonitorInterval, &n.Bond.MIIMonitorInterval}, {"up-delay", p.UpDelay, &n.Bond.UpDelay},
		{"down-delay", p.DownDelay, &n.Bond.DownDelay}, {"arp-interval", p.ARPInterval, &n.Bond.ARPInterval}} {
		if f.s != "" {
			*f.dst = c.millis(at(f.key), id+".parameters."+f.key, f.s)
		}
		c.lines[id+".bond."+f.key] = line(at(f.key))
	}
	n.Bond.Primary, n.Bond.LACPRate, n.Bond.TransmitHashPolicy, n.Bond.MinLinks = p.Primary, p.LACPRate, p.TransmitHashPolicy, p.MinLinks
	for i, a := range p.ARPIPTargets {
		n.Bond.ARPIPTargets = append(n.Bond.ARPIPTargets, c.addr(item(at("arp-ip-targets"), i), id+".parameters.arp-ip-targets", a))
	}
	for _, k := range []string{"mode", "primary", "lacp-rate", "transmit-hash-policy", "min-links", "arp-ip-targets"} {
		c.lines[id+".bond."+k] = line(at(k))
	}
}

// millis reads a netplan duration: a number of milliseconds, or with a unit
// (ms, s, as systemd reads it).
func (c *conv) millis(n *yaml.Node, what, s string) int {
	s = strings.TrimSpace(s)
	mult := 1
	num := s
	switch {
	case strings.HasSuffix(s, "ms"):
		num = strings.TrimSuffix(s, "ms")
	case strings.HasSuffix(s, "s"):
		num, mult = strings.TrimSuffix(s, "s"), 1000
	}
	v, err := strconv.Atoi(num)
	if err != nil || v < 0 {
		c.bad(n, "%s: want milliseconds (100, 100ms or 1s), got %q", what, s)
		return 0
	}
	return v * mult
}

// conv collects the problems of converting YAML strings to addresses.
type conv struct {
	lines Lines
	errs  []error
}

func (c *conv) bad(n *yaml.Node, msg string, args ...any) {
	c.errs = append(c.errs, &YAMLError{Line: line(n), Msg: fmt.Sprintf(msg, args...)})
}

func (c *conv) addr(n *yaml.Node, what, s string) netip.Addr {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		c.bad(n, "%s: not an IP address: %q", what, s)
	}
	return a
}

func (c *conv) prefix(n *yaml.Node, what, s string) netip.Prefix {
	s = strings.TrimSpace(s)
	if s == "default" {
		return netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		c.bad(n, "%s: not an address with prefix length (10.0.0.5/24): %q", what, s)
	}
	return p
}

func (c *conv) mac(n *yaml.Node, what, s string) net.HardwareAddr {
	m, err := net.ParseMAC(strings.TrimSpace(s))
	if err != nil || len(m) != 6 {
		c.bad(n, "%s: not an ethernet MAC address: %q", what, s)
		return nil
	}
	return m
}

// renderer accepts netplan's renderer key for the backends ovfinit writes
// for (it writes for the image's own manager, whichever the document
// names) and refuses the others.
func (c *conv) renderer(n *yaml.Node, r string) {
	if r != "" && r != "networkd" && r != "NetworkManager" {
		c.bad(n, "renderer: %q is not supported by ovfinit (networkd or NetworkManager)", r)
	}
}

func (d *v2) config(top *yaml.Node) (Config, Lines, error) {
	c := &conv{lines: Lines{}}
	c.renderer(mapValue(top, "renderer"), d.Renderer)
	var cfg Config
	for _, sec := range []struct {
		key  string
		kind Kind
		m    map[string]v2Iface
	}{{"ethernets", Ethernet, d.Ethernets}, {"bonds", Bond, d.Bonds}, {"vlans", VLAN, d.VLANs}} {
		secNode := mapValue(top, sec.key)
		for _, id := range sortedKeys(sec.m) {
			in := sec.m[id]
			node := mapValue(secNode, id)
			c.lines[id] = line(node)
			n := NIC{ID: id, Kind: sec.kind, DHCP4: in.DHCP4, DHCP6: in.DHCP6, MTU: in.MTU}
			n.Up = true
			n.Optional = in.Optional
			c.renderer(mapValue(node, "renderer"), in.Renderer)
			if sec.kind != Ethernet && in.Match != nil {
				c.bad(mapValue(node, "match"), "%s: match is for ethernets; a %s is named by its id", id, sec.kind)
			}
			if sec.kind != Ethernet && in.SetName != "" {
				c.bad(mapValue(node, "set-name"), "%s: set-name is for ethernets; a %s is named by its id", id, sec.kind)
			}
			if sec.kind == Ethernet {
				n.Kind = ""
				mn := mapValue(node, "match")
				if in.Match != nil && (*in.Match != v2Match{}) {
					if in.Match.MACAddress != "" {
						n.MAC = c.mac(mapValue(mn, "macaddress"), id+".match.macaddress", in.Match.MACAddress)
						c.lines[id+".mac"] = line(mapValue(mn, "macaddress"))
					}
					n.Name, n.Driver = in.Match.Name, in.Match.Driver
					c.lines[id+".name"] = line(mapValue(mn, "name"))
					c.lines[id+".driver"] = line(mapValue(mn, "driver"))
				} else {
					n.Name = id
					c.lines[id+".name"] = line(node)
				}
				n.SetName = in.SetName
				c.lines[id+".set-name"] = line(mapValue(node, "set-name"))
				if in.SetName != "" && (in.Match == nil || *in.Match == v2Match{}) {
					c.bad(mapValue(node, "set-name"), "%s.set-name: needs a match (netplan renames only a matched device)", id)
				}
			}
			an := mapValue(node, "addresses")
			for i, a := range in.Addresses {
				n.Addresses = append(n.Addresses, c.prefix(item(an, i), id+".addresses", a))
				c.lines[fmt.Sprintf("%s.addresses[%d]", id, i)] = line(item(an, i))
			}
			if in.Gateway4 != "" {
				n.Gateway4 = c.addr(mapValue(node, "gateway4"), id+".gateway4", in.Gateway4)
				c.lines[id+".gateway4"] = line(mapValue(node, "gateway4"))
			}
			if in.Gateway6 != "" {
				n.Gateway6 = c.addr(mapValue(node, "gateway6"), id+".gateway6", in.Gateway6)
				c.lines[id+".gateway6"] = line(mapValue(node, "gateway6"))
			}
			rn := mapValue(node, "routes")
			for i, r := range in.Routes {
				rt := Route{To: c.prefix(mapValue(item(rn, i), "to"), id+".routes.to", r.To), Metric: r.Metric, OnLink: r.OnLink}
				if r.Via != "" {
					rt.Via = c.addr(mapValue(item(rn, i), "via"), id+".routes.via", r.Via)
					if r.To == "default" && rt.Via.Is6() {
						rt.To = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
					}
				}
				n.Routes = append(n.Routes, rt)
				c.lines[fmt.Sprintf("%s.routes[%d]", id, i)] = line(item(rn, i))
				for _, f := range []string{"to", "via", "metric"} {
					c.lines[fmt.Sprintf("%s.routes[%d].%s", id, i, f)] = line(mapValue(item(rn, i), f))
				}
			}
			c.lines[id+".mtu"] = line(mapValue(node, "mtu"))
			c.lines[id+".dhcp4"] = line(node)
			for _, k := range []string{"optional", "dhcp6"} {
				if v := mapValue(node, k); v != nil {
					c.lines[id+"."+k] = line(v)
				}
			}
			nsn := mapValue(node, "nameservers")
			for i, s := range in.Nameservers.Addresses {
				n.DNS = append(n.DNS, c.addr(item(mapValue(nsn, "addresses"), i), id+".nameservers.addresses", s))
				c.lines[fmt.Sprintf("%s.dns[%d]", id, i)] = line(item(mapValue(nsn, "addresses"), i))
			}
			for i, s := range in.Nameservers.Search {
				n.Search = append(n.Search, s)
				c.lines[fmt.Sprintf("%s.search[%d]", id, i)] = line(item(mapValue(nsn, "search"), i))
			}
			switch sec.kind {
			case VLAN:
				if in.ID == nil {
					c.bad(node, "%s: a VLAN needs an id", id)
				} else {
					n.VLANID = *in.ID
				}
				n.Link = in.Link
				c.lines[id+".id"] = line(mapValue(node, "id"))
				c.lines[id+".link"] = line(mapValue(node, "link"))
			case Bond:
				n.Members = in.Interfaces
				n.BondMode = in.Parameters.Mode
				for i := range in.Interfaces {
					c.lines[fmt.Sprintf("%s.interfaces[%d]", id, i)] = line(item(mapValue(node, "interfaces"), i))
				}
				c.bondParams(id, mapValue(node, "parameters"), in.Parameters, &n)
			default:
				if in.ID != nil || in.Link != "" || len(in.Interfaces) > 0 || mapValue(node, "parameters") != nil {
					c.bad(node, "%s: id, link, interfaces and parameters are for vlans and bonds, not ethernets", id)
				}
			}
			if sec.kind == VLAN && (len(in.Interfaces) > 0 || mapValue(node, "parameters") != nil) {
				c.bad(node, "%s: interfaces and parameters are for bonds, not vlans", id)
			}
			if sec.kind == Bond && (in.ID != nil || in.Link != "") {
				c.bad(node, "%s: id and link are for vlans, not bonds", id)
			}
			cfg.NICs = append(cfg.NICs, n)
		}
	}
	return cfg, c.lines, errors.Join(c.errs...)
}

// v1 is cloud-init's network config version 1.
type v1 struct {
	Version int      `yaml:"version"`
	Config  []v1Item `yaml:"config"`
}

type v1Item struct {
	Type       string     `yaml:"type"`
	Name       string     `yaml:"name"`
	MACAddress string     `yaml:"mac_address"`
	MTU        int        `yaml:"mtu"`
	Subnets    []v1Subnet `yaml:"subnets"`
	// vlan
	VLANLink string `yaml:"vlan_link"`
	VLANID   int    `yaml:"vlan_id"`
	// bond
	BondInterfaces []string  `yaml:"bond_interfaces"`
	Params         yaml.Node `yaml:"params"`
	// nameserver
	Address   []string `yaml:"address"`
	Search    []string `yaml:"search"`
	Interface string   `yaml:"interface"`
	// route
	Destination string `yaml:"destination"`
	Gateway     string `yaml:"gateway"`
	Metric      int    `yaml:"metric"`
}

type v1Route struct {
	Network     string `yaml:"network"`
	Netmask     string `yaml:"netmask"`
	Destination string `yaml:"destination"`
	Gateway     string `yaml:"gateway"`
	Metric      int    `yaml:"metric"`
}

type v1Subnet struct {
	Type           string    `yaml:"type"`
	Address        string    `yaml:"address"`
	Netmask        string    `yaml:"netmask"`
	Gateway        string    `yaml:"gateway"`
	DNSNameservers []string  `yaml:"dns_nameservers"`
	DNSSearch      []string  `yaml:"dns_search"`
	Control        string    `yaml:"control"`
	Metric         int       `yaml:"metric"`
	Routes         []v1Route `yaml:"routes"`
}

// v1BondParams reads a v1 bond's params the way cloud-init maps them to
// netplan (network_state.py NET_CONFIG_TO_V2); "bond_miimon" and
// "bond-miimon" are the same key.
func (c *conv) v1BondParams(id string, pn *yaml.Node, n *NIC) {
	if pn == nil || pn.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(pn.Content); i += 2 {
		k, v := pn.Content[i], pn.Content[i+1]
		key := strings.ReplaceAll(k.Value, "_", "-")
		val := v.Value
		field := id + ".bond." + strings.TrimPrefix(key, "bond-")
		c.lines[field] = k.Line
		num := func(dst *int) {
			*dst = c.millis(v, id+".params."+k.Value, val)
		}
		switch key {
		case "bond-mode":
			n.BondMode = val
			c.lines[id+".bond.mode"] = k.Line
		case "bond-miimon":
			num(&n.Bond.MIIMonitorInterval)
			c.lines[id+".bond.mii-monitor-interval"] = k.Line
		case "bond-updelay":
			num(&n.Bond.UpDelay)
			c.lines[id+".bond.up-delay"] = k.Line
		case "bond-downdelay":
			num(&n.Bond.DownDelay)
			c.lines[id+".bond.down-delay"] = k.Line
		case "bond-arp-interval":
			num(&n.Bond.ARPInterval)
		case "bond-min-links":
			num(&n.Bond.MinLinks)
		case "bond-primary":
			n.Bond.Primary = val
		case "bond-lacp-rate":
			n.Bond.LACPRate = val
		case "bond-xmit-hash-policy":
			n.Bond.TransmitHashPolicy = val
			c.lines[id+".bond.transmit-hash-policy"] = k.Line
		case "bond-arp-ip-target":
			for _, a := range strings.FieldsFunc(val, func(r rune) bool { return r == ',' || r == ' ' }) {
				n.Bond.ARPIPTargets = append(n.Bond.ARPIPTargets, c.addr(v, id+".params."+k.Value, a))
			}
			c.lines[id+".bond.arp-ip-targets"] = k.Line
		default:
			c.bad(k, "%s.params: %q is not supported by ovfinit yet", id, k.Value)
		}
	}
}

// v1Prefix reads "10.0.0.5/24", or "10.0.0.5" with netmask "255.255.255.0"
// or "24".
func (c *conv) v1Prefix(n *yaml.Node, what, addr, mask string) netip.Prefix {
	if mask == "" || strings.Contains(addr, "/") {
		return c.prefix(n, what, addr)
	}
	a := c.addr(n, what, addr)
	bits, err := strconv.Atoi(mask)
	if err != nil {
		m := net.ParseIP(mask).To4()
		ones, b := net.IPMask(m).Size()
		if m == nil || b == 0 {
			c.bad(n, "%s: netmask %q is not a netmask", what, mask)
			return netip.Prefix{}
		}
		bits = ones
	}
	p, err := a.Prefix(bits)
	if err != nil {
		c.bad(n, "%s: %v", what, err)
	}
	return netip.PrefixFrom(a, p.Bits())
}

func (d *v1) config(top *yaml.Node) (Config, Lines, error) {
	c := &conv{lines: Lines{}}
	var cfg Config
	cn := mapValue(top, "config")
	var routes []v1Item
	for i, it := range d.Config {
		node := item(cn, i)
		switch it.Type {
		case "nameserver":
			if it.Interface != "" {
				c.bad(mapValue(node, "interface"), "nameserver.interface: per-interface nameservers in v1 are not supported by ovfinit yet")
			}
			for k, s := range it.Address {
				cfg.DNS = append(cfg.DNS, c.addr(item(mapValue(node, "address"), k), "nameserver.address", s))
				c.lines[fmt.Sprintf(".dns[%d]", len(cfg.DNS)-1)] = line(item(mapValue(node, "address"), k))
			}
			cfg.Search = append(cfg.Search, it.Search...)
			continue
		case "route":
			routes = append(routes, it)
			continue
		case "physical", "vlan", "bond":
		case "bridge":
			c.bad(mapValue(node, "type"), "config[%d].type: %q is not supported by ovfinit yet", i, it.Type)
			continue
		default:
			c.bad(mapValue(node, "type"), "config[%d].type: %q is not supported (physical, vlan, bond, nameserver, route)", i, it.Type)
			continue
		}
		if it.Name == "" {
			c.bad(node, "config[%d]: name is required", i)
			continue
		}
		id := it.Name
		c.lines[id] = line(node)
		n := NIC{ID: id, MTU: it.MTU, Up: true}
		c.lines[id+".mtu"] = line(mapValue(node, "mtu"))
		c.lines[id+".dhcp4"] = line(node)
		switch it.Type {
		case "physical":
			if it.MACAddress != "" {
				// cloud-init renames the NIC with this MAC to name.
				n.MAC = c.mac(mapValue(node, "mac_address"), id+".mac_address", it.MACAddress)
				n.SetName = id
				c.lines[id+".mac"] = line(mapValue(node, "mac_address"))
				c.lines[id+".set-name"] = line(mapValue(node, "name"))
			} else {
				n.Name = id
				c.lines[id+".name"] = line(mapValue(node, "name"))
			}
		case "vlan":
			n.Kind, n.Link, n.VLANID = VLAN, it.VLANLink, it.VLANID
			c.lines[id+".link"] = line(mapValue(node, "vlan_link"))
			c.lines[id+".id"] = line(mapValue(node, "vlan_id"))
		case "bond":
			n.Kind, n.Members = Bond, it.BondInterfaces
			c.v1BondParams(id, mapValue(node, "params"), &n)
		}
		if it.Type != "bond" && mapValue(node, "params") != nil {
			c.bad(mapValue(node, "params"), "%s.params: only a bond has params", id)
		}
		if it.Type != "physical" && it.MACAddress != "" {
			c.bad(mapValue(node, "mac_address"), "%s.mac_address: setting a %s's MAC address is not supported by ovfinit yet", id, it.Type)
		}
		sn := mapValue(node, "subnets")
		for k, s := range it.Subnets {
			snode := item(sn, k)
			if s.Control != "" && s.Control != "auto" {
				c.bad(mapValue(snode, "control"), "%s.subnets[%d].control: %q is not supported by ovfinit yet (only auto)", id, k, s.Control)
			}
			if s.Metric != 0 && s.Gateway == "" {
				c.bad(mapValue(snode, "metric"), "%s.subnets[%d].metric: a metric needs a gateway in the same subnet", id, k)
			}
			switch s.Type {
			case "manual":
			case "dhcp", "dhcp4":
				n.DHCP4 = true
			case "dhcp6", "ipv6_dhcpv6-stateful", "ipv6_dhcpv6-stateless", "ipv6_slaac":
				n.DHCP6 = true
			case "static", "static6":
				n.Addresses = append(n.Addresses, c.v1Prefix(mapValue(snode, "address"), id+".subnets.address", s.Address, s.Netmask))
				c.lines[fmt.Sprintf("%s.addresses[%d]", id, len(n.Addresses)-1)] = line(mapValue(snode, "address"))
				if s.Gateway != "" {
					gw := c.addr(mapValue(snode, "gateway"), id+".subnets.gateway", s.Gateway)
					if s.Metric != 0 {
						// cloud-init writes a metric'd gateway as a default route.
						def := netip.PrefixFrom(netip.IPv4Unspecified(), 0)
						if gw.Is6() {
							def = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
						}
						n.Routes = append(n.Routes, Route{To: def, Via: gw, Metric: s.Metric})
						c.lines[fmt.Sprintf("%s.routes[%d]", id, len(n.Routes)-1)] = line(mapValue(snode, "gateway"))
					} else {
						f := "gateway4"
						if gw.Is6() {
							f = "gateway6"
							n.Gateway6 = gw
						} else {
							n.Gateway4 = gw
						}
						c.lines[id+"."+f] = line(mapValue(snode, "gateway"))
					}
				}
			default:
				c.bad(mapValue(snode, "type"), "%s.subnets[%d].type: %q is not supported (static, static6, dhcp, dhcp4, dhcp6, ipv6_slaac, ipv6_dhcpv6-stateless, ipv6_dhcpv6-stateful, manual)", id, k, s.Type)
			}
			for j, a := range s.DNSNameservers {
				n.DNS = append(n.DNS, c.addr(item(mapValue(snode, "dns_nameservers"), j), id+".subnets.dns_nameservers", a))
				c.lines[fmt.Sprintf("%s.dns[%d]", id, len(n.DNS)-1)] = line(item(mapValue(snode, "dns_nameservers"), j))
			}
			n.Search = append(n.Search, s.DNSSearch...)
			rn := mapValue(snode, "routes")
			for j, r := range s.Routes {
				dst := r.Network
				if dst == "" {
					dst = r.Destination
				}
				rt := Route{To: c.v1Prefix(item(rn, j), id+".routes.network", dst, r.Netmask), Metric: r.Metric}
				if r.Gateway != "" {
					rt.Via = c.addr(mapValue(item(rn, j), "gateway"), id+".routes.gateway", r.Gateway)
				}
				rt.To = rt.To.Masked()
				n.Routes = append(n.Routes, rt)
				c.lines[fmt.Sprintf("%s.routes[%d]", id, len(n.Routes)-1)] = line(item(rn, j))
			}
		}
		cfg.NICs = append(cfg.NICs, n)
	}
	// Top-level routes go to the NIC whose subnet holds the gateway.
	for _, r := range routes {
		rt := Route{To: c.prefix(nil, "route.destination", r.Destination).Masked(), Metric: r.Metric}
		if r.Gateway != "" {
			rt.Via = c.addr(nil, "route.gateway", r.Gateway)
		}
		placed := false
		for i := range cfg.NICs {
			if onLink(&cfg.NICs[i], rt.Via) {
				cfg.NICs[i].Routes = append(cfg.NICs[i].Routes, rt)
				placed = true
				break
			}
		}
		if !placed {
			c.bad(nil, "route to %s: gateway %s is in no configured subnet", r.Destination, r.Gateway)
		}
	}
	return cfg, c.lines, errors.Join(c.errs...)
}
