package netcfg

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
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
// (the ethernets, vlans and bonds cloud-init supports) or cloud-init's
// version 1, bare or under a top-level "network:" key. Unknown keys are
// errors with their line. Values are checked by Validate; Lines locates them.
func ParseNetworkConfig(data []byte) (Config, Lines, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return Config{}, nil, yamlErr(err)
	}
	var probe struct {
		Version int `yaml:"version"`
		Network struct {
			Version int `yaml:"version"`
		} `yaml:"network"`
	}
	if err := root.Decode(&probe); err != nil {
		return Config{}, nil, yamlErr(err)
	}
	top := docNode(&root)
	wrapped := probe.Network.Version != 0
	if wrapped {
		top = mapValue(top, "network")
	}
	v := probe.Version
	if wrapped {
		v = probe.Network.Version
	}
	strict := func(out any) error {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		return yamlErr(dec.Decode(out))
	}
	switch v {
	case 2:
		var doc struct {
			Network *v2 `yaml:"network"`
			V2      v2  `yaml:",inline"`
		}
		if err := strict(&doc); err != nil {
			return Config{}, nil, err
		}
		d := &doc.V2
		if doc.Network != nil {
			d = doc.Network
		}
		return d.config(top)
	case 1:
		var doc struct {
			Network *v1 `yaml:"network"`
			V1      v1  `yaml:",inline"`
		}
		if err := strict(&doc); err != nil {
			return Config{}, nil, err
		}
		d := &doc.V1
		if doc.Network != nil {
			d = doc.Network
		}
		return d.config(top)
	}
	return Config{}, nil, &YAMLError{Line: line(mapValue(top, "version")), Msg: fmt.Sprintf("version: want 1 or 2, got %d", v)}
}

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

// v2 is netplan's version 2 subset cloud-init supports.
type v2 struct {
	Version   int                `yaml:"version"`
	Renderer  string             `yaml:"renderer"`
	Ethernets map[string]v2Iface `yaml:"ethernets"`
	VLANs     map[string]v2Iface `yaml:"vlans"`
	Bonds     map[string]v2Iface `yaml:"bonds"`
}

type v2Iface struct {
	Match *struct {
		MACAddress string `yaml:"macaddress"`
		Name       string `yaml:"name"`
		Driver     string `yaml:"driver"`
	} `yaml:"match"`
	SetName     string   `yaml:"set-name"`
	DHCP4       bool     `yaml:"dhcp4"`
	DHCP6       bool     `yaml:"dhcp6"`
	AcceptRA    *bool    `yaml:"accept-ra"`
	Optional    bool     `yaml:"optional"`
	Addresses   []string `yaml:"addresses"`
	Gateway4    string   `yaml:"gateway4"`
	Gateway6    string   `yaml:"gateway6"`
	MTU         int      `yaml:"mtu"`
	MACAddress  string   `yaml:"macaddress"`
	Nameservers struct {
		Addresses []string `yaml:"addresses"`
		Search    []string `yaml:"search"`
	} `yaml:"nameservers"`
	Routes []struct {
		To     string `yaml:"to"`
		Via    string `yaml:"via"`
		Metric int    `yaml:"metric"`
	} `yaml:"routes"`
	// VLANs.
	ID   *int   `yaml:"id"`
	Link string `yaml:"link"`
	// Bonds.
	Interfaces []string `yaml:"interfaces"`
	Parameters struct {
		Mode               string `yaml:"mode"`
		MIIMonitorInterval any    `yaml:"mii-monitor-interval"`
		Primary            string `yaml:"primary"`
		LACPRate           string `yaml:"lacp-rate"`
		TransmitHashPolicy string `yaml:"transmit-hash-policy"`
	} `yaml:"parameters"`
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

func (d *v2) config(top *yaml.Node) (Config, Lines, error) {
	c := &conv{lines: Lines{}}
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
			if sec.kind == Ethernet {
				n.Kind = ""
				mn := mapValue(node, "match")
				if in.Match != nil && in.Match.MACAddress != "" {
					n.MAC = c.mac(mapValue(mn, "macaddress"), id+".match.macaddress", in.Match.MACAddress)
					c.lines[id+".mac"] = line(mapValue(mn, "macaddress"))
				} else if in.Match != nil && in.Match.Name != "" {
					n.Name = in.Match.Name
					c.lines[id+".name"] = line(mapValue(mn, "name"))
				} else {
					n.Name = id
					c.lines[id+".name"] = line(node)
				}
				if in.Match != nil && strings.ContainsAny(in.Match.Name, "*?[") {
					c.bad(mapValue(mn, "name"), "%s.match.name: glob patterns are not supported, use macaddress", id)
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
				rt := Route{To: c.prefix(mapValue(item(rn, i), "to"), id+".routes.to", r.To), Metric: r.Metric}
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
	BondInterfaces []string       `yaml:"bond_interfaces"`
	Params         map[string]any `yaml:"params"`
	// nameserver
	Address   []string `yaml:"address"`
	Search    []string `yaml:"search"`
	Interface string   `yaml:"interface"`
	// route
	Destination string `yaml:"destination"`
	Gateway     string `yaml:"gateway"`
	Metric      int    `yaml:"metric"`
}

type v1Subnet struct {
	Type           string   `yaml:"type"`
	Address        string   `yaml:"address"`
	Netmask        string   `yaml:"netmask"`
	Gateway        string   `yaml:"gateway"`
	DNSNameservers []string `yaml:"dns_nameservers"`
	DNSSearch      []string `yaml:"dns_search"`
	Control        string   `yaml:"control"`
	Routes         []struct {
		Network     string `yaml:"network"`
		Netmask     string `yaml:"netmask"`
		Destination string `yaml:"destination"`
		Gateway     string `yaml:"gateway"`
		Metric      int    `yaml:"metric"`
	} `yaml:"routes"`
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
		n := NIC{ID: id, MTU: it.MTU}
		c.lines[id+".mtu"] = line(mapValue(node, "mtu"))
		c.lines[id+".dhcp4"] = line(node)
		switch it.Type {
		case "physical":
			if it.MACAddress != "" {
				n.MAC = c.mac(mapValue(node, "mac_address"), id+".mac_address", it.MACAddress)
				c.lines[id+".mac"] = line(mapValue(node, "mac_address"))
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
			if m, ok := it.Params["bond-mode"].(string); ok {
				n.BondMode = m
			}
		}
		sn := mapValue(node, "subnets")
		for k, s := range it.Subnets {
			snode := item(sn, k)
			switch s.Type {
			case "dhcp", "dhcp4":
				n.DHCP4 = true
			case "dhcp6", "ipv6_dhcpv6-stateful", "ipv6_dhcpv6-stateless", "ipv6_slaac":
				n.DHCP6 = true
			case "static", "static6":
				n.Addresses = append(n.Addresses, c.v1Prefix(mapValue(snode, "address"), id+".subnets.address", s.Address, s.Netmask))
				c.lines[fmt.Sprintf("%s.addresses[%d]", id, len(n.Addresses)-1)] = line(mapValue(snode, "address"))
				if s.Gateway != "" {
					gw := c.addr(mapValue(snode, "gateway"), id+".subnets.gateway", s.Gateway)
					f := "gateway4"
					if gw.Is6() {
						f = "gateway6"
						n.Gateway6 = gw
					} else {
						n.Gateway4 = gw
					}
					c.lines[id+"."+f] = line(mapValue(snode, "gateway"))
				}
			default:
				c.bad(mapValue(snode, "type"), "%s.subnets[%d].type: %q is not supported (static, static6, dhcp, dhcp4, dhcp6)", id, k, s.Type)
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
