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
	"v2": {"nm-devices", "openvswitch", "dummy-devices", "virtual-ethernets"},
	"v2Iface": {"ipv6-address-generation", "ipv6-address-token", "ipv6-mtu", "ignore-carrier",
		"optional-addresses", "activation-mode", "emit-lldp", "openvswitch",
		// vxlan settings past the ones tunnel.go reads.
		"type-of-service", "flow-label", "do-not-fragment", "ageing", "aging", "limit", "arp-proxy", "notifications",
		"short-circuit", "checksums", "extensions", "port-range",
		"virtual-function-count", "embedded-switch-mode", "delay-virtual-functions-rebind", "infiniband-mode", "auth"},
	"v2Route":         {"mtu", "congestion-window", "advertised-receive-window"},
	"v2RoutingPolicy": {},
	"v2DHCPOverrides": {},
	"v2Params": {"ad-select", "all-slaves-active", "arp-validate", "arp-all-targets", "fail-over-mac-policy",
		"packets-per-slave", "primary-reselect-policy", "resend-igmp", "learn-packet-interval"},
	"v1Item":   {"keep_configuration", "wakeonlan"},
	"v1Subnet": {"dns_nameservers6", "ipv4", "ipv6"},
}

// inWords says what each parsed struct is, for error messages.
var inWords = map[string]string{
	"v2": "the network", "v2Iface": "an interface", "v2Match": "a match", "v2Nameservers": "nameservers",
	"v2Route": "a route", "v2Params": "bond or bridge parameters", "v2DHCPOverrides": "DHCP overrides", "v2RoutingPolicy": "a routing-policy rule", "v1": "the network", "v1Item": "a config entry",
	"v1Subnet": "a subnet", "v1Route": "a route", "v2Peer": "a wireguard peer", "v2PeerKeys": "a peer's keys",
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
	Bridges   map[string]v2Iface `yaml:"bridges"`
	Tunnels   map[string]v2Iface `yaml:"tunnels"`
	VRFs      map[string]v2Iface `yaml:"vrfs"`
}

// v2Peer is a wireguard peer.
type v2Peer struct {
	Endpoint   string     `yaml:"endpoint"`
	AllowedIPs []string   `yaml:"allowed-ips"`
	Keepalive  int        `yaml:"keepalive"`
	Keys       v2PeerKeys `yaml:"keys"`
}

type v2PeerKeys struct {
	Public string `yaml:"public"`
	Shared string `yaml:"shared"`
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
	Table  int    `yaml:"table"`
	Type   string `yaml:"type"`
	Scope  string `yaml:"scope"`
	From   string `yaml:"from"`
}

type v2RoutingPolicy struct {
	From          string `yaml:"from"`
	To            string `yaml:"to"`
	Table         int    `yaml:"table"`
	Priority      int    `yaml:"priority"`
	Mark          int    `yaml:"mark"`
	TypeOfService int    `yaml:"type-of-service"`
}

type v2DHCPOverrides struct {
	UseDNS       *bool  `yaml:"use-dns"`
	UseNTP       *bool  `yaml:"use-ntp"`
	SendHostname *bool  `yaml:"send-hostname"`
	UseHostname  *bool  `yaml:"use-hostname"`
	UseMTU       *bool  `yaml:"use-mtu"`
	UseRoutes    *bool  `yaml:"use-routes"`
	UseDomains   string `yaml:"use-domains"`
	Hostname     string `yaml:"hostname"`
	RouteMetric  int    `yaml:"route-metric"`
}

type v2Params struct {
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
	GratuitousARP      *int     `yaml:"gratuitous-arp"`
	GratuitiousARP     *int     `yaml:"gratuitious-arp"` // netplan reads this spelling too
	// Bridges.
	STP          *bool          `yaml:"stp"`
	ForwardDelay string         `yaml:"forward-delay"`
	HelloTime    string         `yaml:"hello-time"`
	MaxAge       string         `yaml:"max-age"`
	AgeingTime   string         `yaml:"ageing-time"`
	AgingTime    string         `yaml:"aging-time"`
	Priority     *int           `yaml:"priority"`
	PathCost     map[string]int `yaml:"path-cost"`
	PortPriority map[string]int `yaml:"port-priority"`
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
	Interfaces []string `yaml:"interfaces"`
	Parameters v2Params `yaml:"parameters"`
	// Renderer, as the top-level one, picks netplan's backend; ovfinit
	// writes for the image's own network manager, so only the two wired
	// backends are accepted.
	Renderer string `yaml:"renderer"`
	Optional bool   `yaml:"optional"`
	// Link, IPv6 and DHCP client settings, policy routing.
	MACAddress     string            `yaml:"macaddress"`
	WakeOnLAN      bool              `yaml:"wakeonlan"`
	AcceptRA       *bool             `yaml:"accept-ra"`
	IPv6Privacy    bool              `yaml:"ipv6-privacy"`
	LinkLocal      *[]string         `yaml:"link-local"`
	Critical       bool              `yaml:"critical"`
	DHCPIdentifier string            `yaml:"dhcp-identifier"`
	DHCP4Overrides v2DHCPOverrides   `yaml:"dhcp4-overrides"`
	DHCP6Overrides v2DHCPOverrides   `yaml:"dhcp6-overrides"`
	RoutingPolicy  []v2RoutingPolicy `yaml:"routing-policy"`
	RXChecksum     *bool             `yaml:"receive-checksum-offload"`
	TXChecksum     *bool             `yaml:"transmit-checksum-offload"`
	TSO            *bool             `yaml:"tcp-segmentation-offload"`
	TSO6           *bool             `yaml:"tcp6-segmentation-offload"`
	GSO            *bool             `yaml:"generic-segmentation-offload"`
	GRO            *bool             `yaml:"generic-receive-offload"`
	LRO            *bool             `yaml:"large-receive-offload"`
	NeighSuppress  *bool             `yaml:"neigh-suppress"`
	// Tunnels (id and link above are a vxlan's VNI and device).
	Mode        string    `yaml:"mode"`
	Local       string    `yaml:"local"`
	Remote      string    `yaml:"remote"`
	TTL         int       `yaml:"ttl"`
	Key         yaml.Node `yaml:"key"`
	Keys        yaml.Node `yaml:"keys"`
	Port        int       `yaml:"port"`
	Mark        int       `yaml:"mark"`
	MACLearning *bool     `yaml:"mac-learning"`
	Peers       []v2Peer  `yaml:"peers"`
	// VRFs.
	Table int `yaml:"table"`
}

// bondParams reads netplan's bond parameters into n.
func (c *conv) bondParams(id string, pn *yaml.Node, p v2Params, n *NIC) {
	if pn != nil && pn.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(pn.Content); i += 2 {
			if k := pn.Content[i]; slices.Contains(bridgeKeys, k.Value) {
				c.bad(k, "%s.parameters: %q is a bridge parameter, not a bond's", id, k.Value)
			}
		}
	}
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
	for _, g := range []struct {
		k string
		v *int
	}{{"gratuitous-arp", p.GratuitousARP}, {"gratuitious-arp", p.GratuitiousARP}} {
		if g.v != nil {
			n.Bond.GratuitousARP = *g.v
			c.lines[id+".bond.gratuitous-arp"] = line(at(g.k))
		}
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
	}{{"ethernets", Ethernet, d.Ethernets}, {"bonds", Bond, d.Bonds}, {"bridges", Bridge, d.Bridges}, {"vlans", VLAN, d.VLANs},
		{"vrfs", VRF, d.VRFs}, {"tunnels", Tunnel, d.Tunnels}} {
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
				rt := Route{To: c.prefix(mapValue(item(rn, i), "to"), id+".routes.to", r.To), Metric: r.Metric, OnLink: r.OnLink,
					Table: r.Table, Type: r.Type, Scope: r.Scope}
				if r.From != "" {
					rt.From = c.addr(mapValue(item(rn, i), "from"), id+".routes.from", r.From)
				}
				if r.Via != "" {
					rt.Via = c.addr(mapValue(item(rn, i), "via"), id+".routes.via", r.Via)
					if r.To == "default" && rt.Via.Is6() {
						rt.To = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
					}
				}
				n.Routes = append(n.Routes, rt)
				c.lines[fmt.Sprintf("%s.routes[%d]", id, i)] = line(item(rn, i))
				for _, f := range []string{"to", "via", "metric", "on-link", "table", "type", "scope", "from"} {
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
			case Bond, Bridge:
				n.Members = in.Interfaces
				for i := range in.Interfaces {
					c.lines[fmt.Sprintf("%s.interfaces[%d]", id, i)] = line(item(mapValue(node, "interfaces"), i))
				}
				if sec.kind == Bond {
					n.BondMode = in.Parameters.Mode
					c.bondParams(id, mapValue(node, "parameters"), in.Parameters, &n)
				} else {
					c.bridgeParams(id, mapValue(node, "parameters"), in.Parameters, &n)
				}
			case VRF:
				n.Members = in.Interfaces
				for i := range in.Interfaces {
					c.lines[fmt.Sprintf("%s.interfaces[%d]", id, i)] = line(item(mapValue(node, "interfaces"), i))
				}
			case Tunnel:
				c.tunnel(id, node, in, &n)
			default:
				if in.ID != nil || in.Link != "" || len(in.Interfaces) > 0 || mapValue(node, "parameters") != nil {
					c.bad(node, "%s: id, link, interfaces and parameters are for vlans and bonds, not ethernets", id)
				}
			}
			if sec.kind == VLAN && (len(in.Interfaces) > 0 || mapValue(node, "parameters") != nil) {
				c.bad(node, "%s: interfaces and parameters are for bonds, not vlans", id)
			}
			if (sec.kind == Bond || sec.kind == Bridge) && (in.ID != nil || in.Link != "") {
				c.bad(node, "%s: id and link are for vlans, not %ss", id, sec.kind)
			}
			if sec.kind == VRF || sec.kind == Tunnel {
				if in.ID != nil && sec.kind == VRF || mapValue(node, "parameters") != nil || len(in.Interfaces) > 0 && sec.kind == Tunnel {
					c.bad(node, "%s: id, interfaces and parameters are not %s settings", id, sec.kind)
				}
			}
			c.notTunnel(id, node, sec.kind)
			if sec.kind == VRF {
				for _, k := range []string{"dhcp4", "dhcp6"} {
					if v := mapValue(node, k); v != nil {
						c.bad(v, "%s.%s: a vrf has no DHCP (netplan refuses %s on vrfs)", id, k, k)
					}
				}
				n.VRFTable = in.Table
				c.lines[id+".table"] = line(mapValue(node, "table"))
			} else if mapValue(node, "table") != nil {
				c.bad(mapValue(node, "table"), "%s.table: table is for vrfs", id)
			}
			c.linkOpts(id, node, in, &n)
			if sec.kind == VRF {
				// netplan puts a VRF's routes and rules in its table.
				for i := range n.Routes {
					if n.Routes[i].Table == 0 {
						n.Routes[i].Table = n.VRFTable
					}
				}
				for i := range n.RoutingPolicy {
					if n.RoutingPolicy[i].Table == 0 {
						n.RoutingPolicy[i].Table = n.VRFTable
					}
				}
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
	// accept-ra on any device, as cloud-init writes it to netplan.
	AcceptRA *bool `yaml:"accept-ra"`
	// vlan
	VLANLink string `yaml:"vlan_link"`
	VLANID   int    `yaml:"vlan_id"`
	// bond
	BondInterfaces []string  `yaml:"bond_interfaces"`
	Params         yaml.Node `yaml:"params"`
	// bridge
	BridgeInterfaces []string `yaml:"bridge_interfaces"`
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
	MTU            int       `yaml:"mtu"`
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
		case "bond-num-grat-arp":
			// cloud-init writes it as netplan's gratuitious-arp.
			num(&n.Bond.GratuitousARP)
			c.lines[id+".bond.gratuitous-arp"] = k.Line
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
		case "physical", "vlan", "bond", "bridge":
		default:
			c.bad(mapValue(node, "type"), "config[%d].type: %q is not supported (physical, vlan, bond, bridge, nameserver, route)", i, it.Type)
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
		case "bridge":
			n.Kind, n.Members = Bridge, it.BridgeInterfaces
			if n.Members == nil {
				n.Members = []string{}
			}
			c.v1BridgeParams(id, mapValue(node, "params"), &n)
		}
		if it.Type != "bridge" && len(it.BridgeInterfaces) > 0 {
			c.bad(mapValue(node, "bridge_interfaces"), "%s.bridge_interfaces: only a bridge has bridge_interfaces", id)
		}
		if it.Type != "bond" && it.Type != "bridge" && mapValue(node, "params") != nil {
			c.bad(mapValue(node, "params"), "%s.params: only a bond or a bridge has params", id)
		}
		if it.AcceptRA != nil {
			n.AcceptRA = it.AcceptRA
			c.lines[id+".accept-ra"] = line(mapValue(node, "accept-ra"))
		}
		if it.Type != "physical" && it.MACAddress != "" {
			// cloud-init writes it as the device's netplan macaddress.
			n.SetMAC = c.mac(mapValue(node, "mac_address"), id+".mac_address", it.MACAddress)
			c.lines[id+".macaddress"] = line(mapValue(node, "mac_address"))
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
			if s.MTU != 0 {
				c.v1SubnetMTU(snode, id, k, s, it.MTU, &n)
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

// v1SubnetMTU applies a subnet's mtu as cloud-init 22.4's netplan renderer
// does: only on a static subnet, as the device's mtu (which it overrides,
// with a warning, when the two differ), or ipv6-mtu for an IPv6 one. What
// cloud-init drops (a dynamic subnet's mtu, a device mtu it overrides) and
// ipv6-mtu, which ovfinit does not apply yet, are refused with the line.
func (c *conv) v1SubnetMTU(snode *yaml.Node, id string, k int, s v1Subnet, itemMTU int, n *NIC) {
	at := mapValue(snode, "mtu")
	switch {
	case s.Type != "static" && s.Type != "static6":
		c.bad(at, "%s.subnets[%d].mtu: cloud-init applies an mtu only on a static subnet: set the device's mtu instead", id, k)
	case s.Type == "static6" || strings.Contains(s.Address, ":"):
		c.bad(at, "%s.subnets[%d].mtu: an IPv6 subnet's mtu is netplan's ipv6-mtu, which ovfinit does not apply yet", id, k)
	case itemMTU != 0 && itemMTU != s.MTU:
		c.bad(at, "%s.subnets[%d].mtu: %d differs from the device's mtu %d, which cloud-init would ignore: give one", id, k, s.MTU, itemMTU)
	case n.MTU != 0 && n.MTU != s.MTU:
		c.bad(at, "%s.subnets[%d].mtu: %d differs from another subnet's mtu %d", id, k, s.MTU, n.MTU)
	default:
		n.MTU = s.MTU
		c.lines[id+".mtu"] = line(at)
	}
}

// bondKeys and bridgeKeys are the parameters of each kind.
var (
	bondKeys   = []string{"mode", "mii-monitor-interval", "primary", "lacp-rate", "transmit-hash-policy", "up-delay", "down-delay", "min-links", "arp-interval", "arp-ip-targets", "gratuitous-arp", "gratuitious-arp"}
	bridgeKeys = []string{"stp", "forward-delay", "hello-time", "max-age", "ageing-time", "aging-time", "priority", "path-cost", "port-priority"}
)

// bridgeParams reads netplan's bridge parameters into n; bond parameters
// on a bridge are refused with their line.
func (c *conv) bridgeParams(id string, pn *yaml.Node, p v2Params, n *NIC) {
	if pn != nil && pn.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(pn.Content); i += 2 {
			if k := pn.Content[i]; slices.Contains(bondKeys, k.Value) {
				c.bad(k, "%s.parameters: %q is a bond parameter, not a bridge's", id, k.Value)
			}
		}
	}
	at := func(k string) *yaml.Node { return mapValue(pn, k) }
	b := &n.Bridge
	b.STP, b.Priority = p.STP, p.Priority
	if p.AgingTime != "" && p.AgeingTime == "" {
		p.AgeingTime = p.AgingTime
		c.lines[id+".bridge.ageing-time"] = line(at("aging-time"))
	}
	for _, f := range []struct {
		key string
		s   string
		dst *int
	}{{"forward-delay", p.ForwardDelay, &b.ForwardDelay}, {"hello-time", p.HelloTime, &b.HelloTime},
		{"max-age", p.MaxAge, &b.MaxAge}, {"ageing-time", p.AgeingTime, &b.AgeingTime}} {
		if f.s != "" {
			*f.dst = c.seconds(at(f.key), id+".parameters."+f.key, f.s)
		}
		if at(f.key) != nil {
			c.lines[id+".bridge."+f.key] = line(at(f.key))
		}
	}
	if len(p.PathCost) > 0 {
		b.PathCost = p.PathCost
	}
	if len(p.PortPriority) > 0 {
		b.PortPriority = p.PortPriority
	}
	for _, k := range []string{"stp", "priority", "path-cost", "port-priority"} {
		if at(k) != nil {
			c.lines[id+".bridge."+k] = line(at(k))
		}
	}
}

// seconds reads a netplan bridge duration: seconds, or with a unit (ms, s).
func (c *conv) seconds(n *yaml.Node, what, s string) int {
	s = strings.TrimSpace(s)
	if strings.HasSuffix(s, "ms") || strings.HasSuffix(s, "s") {
		return c.millis(n, what, s)
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		c.bad(n, "%s: want seconds (4, 4s or 4000ms), got %q", what, s)
		return 0
	}
	return v * 1000
}

// linkOpts reads the link, IPv6 and DHCP client settings and the
// routing-policy rules of an interface.
func (c *conv) linkOpts(id string, node *yaml.Node, in v2Iface, n *NIC) {
	o := &n.LinkOpts
	at := func(k string) *yaml.Node { return mapValue(node, k) }
	for _, k := range []string{"macaddress", "wakeonlan", "accept-ra", "ipv6-privacy", "link-local", "critical", "dhcp-identifier"} {
		if at(k) != nil {
			c.lines[id+"."+k] = line(at(k))
		}
	}
	if in.MACAddress != "" {
		o.SetMAC = c.mac(at("macaddress"), id+".macaddress", in.MACAddress)
	}
	o.NeighSuppress = in.NeighSuppress
	if at("neigh-suppress") != nil {
		c.lines[id+".neigh-suppress"] = line(at("neigh-suppress"))
	}
	o.WakeOnLAN, o.AcceptRA, o.IPv6Privacy, o.Critical, o.DHCPIdentifier = in.WakeOnLAN, in.AcceptRA, in.IPv6Privacy, in.Critical, in.DHCPIdentifier
	if in.LinkLocal != nil {
		v4, v6 := false, false
		for i, f := range *in.LinkLocal {
			switch f {
			case "ipv4":
				v4 = true
			case "ipv6":
				v6 = true
			default:
				c.bad(item(at("link-local"), i), "%s.link-local: want ipv4 or ipv6, got %q", id, f)
			}
		}
		o.LinkLocal = map[[2]bool]string{{false, false}: "no", {true, false}: "ipv4", {false, true}: "ipv6", {true, true}: "yes"}[[2]bool{v4, v6}]
	}
	for _, f := range []struct {
		key string
		dst **bool
		v   *bool
	}{{"receive-checksum-offload", &o.Offload.ReceiveChecksum, in.RXChecksum}, {"transmit-checksum-offload", &o.Offload.TransmitChecksum, in.TXChecksum},
		{"tcp-segmentation-offload", &o.Offload.TCPSegmentation, in.TSO}, {"tcp6-segmentation-offload", &o.Offload.TCP6Segmentation, in.TSO6},
		{"generic-segmentation-offload", &o.Offload.GenericSegmentation, in.GSO}, {"generic-receive-offload", &o.Offload.GenericReceive, in.GRO},
		{"large-receive-offload", &o.Offload.LargeReceive, in.LRO}} {
		*f.dst = f.v
		if at(f.key) != nil {
			c.lines[id+".offload."+f.key] = line(at(f.key))
		}
	}
	for _, d := range []struct {
		key string
		in  v2DHCPOverrides
		out *DHCPOverrides
	}{{"dhcp4-overrides", in.DHCP4Overrides, &o.DHCP4Overrides}, {"dhcp6-overrides", in.DHCP6Overrides, &o.DHCP6Overrides}} {
		dn := at(d.key)
		*d.out = DHCPOverrides{UseDNS: d.in.UseDNS, UseNTP: d.in.UseNTP, SendHostname: d.in.SendHostname, UseHostname: d.in.UseHostname,
			UseMTU: d.in.UseMTU, UseRoutes: d.in.UseRoutes, UseDomains: d.in.UseDomains, Hostname: d.in.Hostname, RouteMetric: d.in.RouteMetric}
		if dn != nil {
			c.lines[id+"."+d.key] = line(dn)
			for i := 0; i+1 < len(dn.Content); i += 2 {
				c.lines[id+"."+d.key+"."+dn.Content[i].Value] = dn.Content[i].Line
			}
		}
	}
	rn := at("routing-policy")
	for i, r := range in.RoutingPolicy {
		rnode := item(rn, i)
		rule := Rule{Table: r.Table, Priority: r.Priority, Mark: r.Mark, TOS: r.TypeOfService}
		if r.From != "" {
			rule.From = c.rulePrefix(mapValue(rnode, "from"), id+".routing-policy.from", r.From)
		}
		if r.To != "" {
			rule.To = c.rulePrefix(mapValue(rnode, "to"), id+".routing-policy.to", r.To)
		}
		o.RoutingPolicy = append(o.RoutingPolicy, rule)
		c.lines[fmt.Sprintf("%s.routing-policy[%d]", id, i)] = line(rnode)
		for _, f := range []string{"from", "to", "table", "priority", "mark", "type-of-service"} {
			if v := mapValue(rnode, f); v != nil {
				c.lines[fmt.Sprintf("%s.routing-policy[%d].%s", id, i, f)] = line(v)
			}
		}
	}
}

// rulePrefix reads a routing-policy address: a prefix, or an address
// (a host prefix).
func (c *conv) rulePrefix(n *yaml.Node, what, s string) netip.Prefix {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "/") {
		a := c.addr(n, what, s)
		if !a.IsValid() {
			return netip.Prefix{}
		}
		return netip.PrefixFrom(a, a.BitLen())
	}
	return c.prefix(n, what, s)
}

// v1BridgeParams reads a v1 bridge's params the way cloud-init maps them to
// netplan (network_state.py NET_CONFIG_TO_V2): bridge_stp on/off,
// bridge_fd, bridge_hello, bridge_maxage, bridge_ageing (seconds),
// bridge_bridgeprio, and bridge_pathcost/bridge_portprio lists of
// "port value". bridge_gcint, bridge_maxwait and bridge_waitport, which
// cloud-init drops on the way to netplan, are refused.
func (c *conv) v1BridgeParams(id string, pn *yaml.Node, n *NIC) {
	if pn == nil || pn.Kind != yaml.MappingNode {
		return
	}
	b := &n.Bridge
	for i := 0; i+1 < len(pn.Content); i += 2 {
		k, v := pn.Content[i], pn.Content[i+1]
		key := strings.ReplaceAll(k.Value, "-", "_")
		what := id + ".params." + k.Value
		field := map[string]string{"bridge_stp": "stp", "bridge_fd": "forward-delay", "bridge_hello": "hello-time", "bridge_maxage": "max-age",
			"bridge_ageing": "ageing-time", "bridge_bridgeprio": "priority", "bridge_pathcost": "path-cost", "bridge_portprio": "port-priority"}[key]
		if field != "" {
			c.lines[id+".bridge."+field] = k.Line
		}
		switch key {
		case "bridge_stp":
			switch strings.ToLower(v.Value) {
			case "on", "true", "yes", "1":
				t := true
				b.STP = &t
			case "off", "false", "no", "0":
				f := false
				b.STP = &f
			default:
				c.bad(v, "%s: want on or off, got %q", what, v.Value)
			}
		case "bridge_fd":
			b.ForwardDelay = c.seconds(v, what, v.Value)
		case "bridge_hello":
			b.HelloTime = c.seconds(v, what, v.Value)
		case "bridge_maxage":
			b.MaxAge = c.seconds(v, what, v.Value)
		case "bridge_ageing":
			b.AgeingTime = c.seconds(v, what, v.Value)
		case "bridge_bridgeprio":
			p, err := strconv.Atoi(v.Value)
			if err != nil {
				c.bad(v, "%s: want a whole number, got %q", what, v.Value)
			}
			b.Priority = &p
		case "bridge_pathcost", "bridge_portprio":
			m := map[string]int{}
			var items []*yaml.Node
			if v.Kind == yaml.SequenceNode {
				items = v.Content
			} else {
				items = []*yaml.Node{v}
			}
			for _, it := range items {
				f := strings.Fields(it.Value)
				val, err := 0, error(nil)
				if len(f) == 2 {
					val, err = strconv.Atoi(f[1])
				}
				if len(f) != 2 || err != nil {
					c.bad(it, "%s: want \"port value\", got %q", what, it.Value)
					continue
				}
				m[f[0]] = val
			}
			if key == "bridge_pathcost" {
				b.PathCost = m
			} else {
				b.PortPriority = m
			}
		default:
			c.bad(k, "%s.params: %q is not supported by ovfinit (cloud-init does not pass it on to netplan either)", id, k.Value)
		}
	}
}
