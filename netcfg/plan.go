package netcfg

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
)

// Link is what Plan needs to know about one network interface as it is now.
type Link struct {
	Index    int
	Name     string
	MAC      net.HardwareAddr
	Ethernet bool // a physical-looking ethernet device (not loopback, bridge, vlan...)
	Up       bool
	MTU      int
	Addrs    []netip.Prefix // global addresses now on the link
	Routes   []Route        // main-table routes through the link with a gateway or set by us
	Master   string         // the bond (or other master) the link is enslaved to
	BondMode string         // a bond's mode, e.g. active-backup
}

// Current is the machine's network as it is now.
type Current struct {
	Links  []Link
	DNS    []netip.Addr // from resolv.conf or resolved
	Search []string
}

// Applied records what ovfinit set, per interface name, so that a later
// plan can remove what the new configuration drops. The agent keeps it in
// its state directory.
type Applied struct {
	Links map[string]AppliedLink `json:"links,omitempty"`
}

// AppliedLink is what ovfinit set on one interface.
type AppliedLink struct {
	Addrs  []netip.Prefix `json:"addrs,omitempty"`
	Routes []Route        `json:"routes,omitempty"`
}

// Op is one change to the machine, in the order Plan returns them. Its
// String form reads like the ip(8) command that does the same.
type Op struct {
	Kind   OpKind
	Link   string       // interface name
	Prefix netip.Prefix // OpAddrReplace, OpAddrDel
	Route  Route        // OpRouteReplace, OpRouteDel
	MTU    int          // OpLinkMTU
	DNS    []netip.Addr // OpDNS
	Search []string     // OpDNS
	Parent string       // OpLinkAdd of a VLAN; OpLinkMaster: the bond
	VLANID int          // OpLinkAdd of a VLAN
	Mode   string       // OpLinkAdd of a bond
	Type   Kind         // OpLinkAdd
}

// OpKind names what an Op does.
type OpKind int

const (
	OpLinkUp OpKind = iota + 1
	OpLinkAdd
	OpLinkMaster
	OpLinkMTU
	OpAddrReplace
	OpAddrDel
	OpRouteReplace
	OpRouteDel
	OpDHCP4
	OpDHCP6
	OpDNS
	OpBondMode
)

func (o Op) String() string {
	switch o.Kind {
	case OpLinkUp:
		return "link set " + o.Link + " up"
	case OpLinkAdd:
		if o.Type == VLAN {
			return fmt.Sprintf("link add %s link %s type vlan id %d", o.Link, o.Parent, o.VLANID)
		}
		s := "link add " + o.Link + " type bond"
		if o.Mode != "" {
			s += " mode " + o.Mode
		}
		return s
	case OpLinkMaster:
		return "link set " + o.Link + " master " + o.Parent
	case OpBondMode:
		return "link set " + o.Link + " type bond mode " + o.Mode
	case OpLinkMTU:
		return fmt.Sprintf("link set %s mtu %d", o.Link, o.MTU)
	case OpAddrReplace:
		return "addr replace " + o.Prefix.String() + " dev " + o.Link
	case OpAddrDel:
		return "addr del " + o.Prefix.String() + " dev " + o.Link
	case OpRouteReplace, OpRouteDel:
		verb := "replace"
		if o.Kind == OpRouteDel {
			verb = "del"
		}
		s := "route " + verb + " "
		if o.Route.To.Bits() == 0 {
			s += "default"
			if o.Route.To.Addr().Is6() {
				s = "route -6 " + verb + " default"
			}
		} else {
			s += o.Route.To.String()
		}
		if o.Route.Via.IsValid() {
			s += " via " + o.Route.Via.String()
		}
		s += " dev " + o.Link
		if o.Route.Metric != 0 {
			s += fmt.Sprintf(" metric %d", o.Route.Metric)
		}
		return s
	case OpDHCP4:
		return "dhcp4 dev " + o.Link
	case OpDHCP6:
		return "dhcp6 dev " + o.Link
	case OpDNS:
		s := make([]string, len(o.DNS))
		for i, a := range o.DNS {
			s[i] = a.String()
		}
		out := "dns set " + strings.Join(s, " ")
		if len(o.Search) > 0 {
			out += " search " + strings.Join(o.Search, " ")
		}
		return out
	}
	return fmt.Sprintf("op(%d)", o.Kind)
}

// Resolve matches every ethernet NIC of c to a link: by MAC first, else by
// name; a configuration of one ethernet NIC with neither takes the first
// ethernet link. It returns a copy of c with each NIC's Name set to its
// interface name (VLANs and bonds are named by their ID).
func Resolve(c Config, links []Link) (Config, error) {
	out := c
	out.NICs = slices.Clone(c.NICs)
	var errs []error
	taken := map[string]string{}
	eth := 0
	for _, n := range c.NICs {
		if n.KindOf() == Ethernet {
			eth++
		}
	}
	for i := range out.NICs {
		n := &out.NICs[i]
		if n.KindOf() != Ethernet {
			n.Name = n.ID
			continue
		}
		var l *Link
		switch {
		case n.MAC != nil:
			for j := range links {
				if bytes.Equal(links[j].MAC, n.MAC) && (l == nil || links[j].Ethernet && !l.Ethernet) {
					l = &links[j]
				}
			}
			if l == nil {
				errs = append(errs, &FieldError{NIC: n.ID, Field: "mac", Err: ErrNoSuchMAC, Value: n.MAC.String()})
				continue
			}
		case n.Name != "":
			for j := range links {
				if links[j].Name == n.Name {
					l = &links[j]
				}
			}
			if l == nil {
				errs = append(errs, &FieldError{NIC: n.ID, Field: "name", Err: ErrNoSuchName, Value: n.Name})
				continue
			}
		case eth == 1:
			for j := range links {
				if links[j].Ethernet && (l == nil || links[j].Index < l.Index) {
					l = &links[j]
				}
			}
			if l == nil {
				errs = append(errs, &FieldError{NIC: n.ID, Field: "mac", Err: ErrNoEthernet})
				continue
			}
		default:
			errs = append(errs, &FieldError{NIC: n.ID, Field: "mac", Err: errors.New("several NICs configured: each needs a MAC address or an interface name")})
			continue
		}
		if other, ok := taken[l.Name]; ok {
			errs = append(errs, &FieldError{NIC: n.ID, Field: "mac", Err: fmt.Errorf("%w: interface %s is also matched by %s", ErrDupNIC, l.Name, other), Value: n.MAC.String()})
			continue
		}
		taken[l.Name] = n.ID
		n.Name = l.Name
	}
	return out, errors.Join(errs...)
}

// Plan turns the desired configuration, the machine's network as it is and
// what ovfinit applied before into the operations that apply the new
// configuration, and the record of what it sets. It changes nothing and is
// pure; every error is found here, before any operation runs. Operations
// already in effect are left out, so planning against the result of an
// apply gives no operations.
func Plan(c Config, cur Current, prev Applied) ([]Op, Applied, error) {
	if err := Validate(c); err != nil {
		return nil, Applied{}, err
	}
	rc, err := Resolve(c, cur.Links)
	if err != nil {
		return nil, Applied{}, err
	}
	byName := map[string]*Link{}
	for i := range cur.Links {
		byName[cur.Links[i].Name] = &cur.Links[i]
	}
	nameOf := map[string]string{}
	for _, n := range rc.NICs {
		nameOf[n.ID] = n.Name
	}
	next := Applied{Links: map[string]AppliedLink{}}
	var ops []Op
	// Links to create first: bonds, then VLANs (a VLAN may sit on a bond).
	// A bond that exists already (loading the bonding module creates an
	// empty bond0) gets its mode set while it has no members, and its
	// missing members enslaved.
	for _, k := range []Kind{Bond, VLAN} {
		for _, n := range rc.NICs {
			if n.KindOf() != k {
				continue
			}
			if l := byName[n.Name]; l == nil {
				ops = append(ops, Op{Kind: OpLinkAdd, Type: k, Link: n.Name, Parent: nameOf[n.Link], VLANID: n.VLANID, Mode: n.BondMode})
			} else if k == Bond && n.BondMode != "" && l.BondMode != n.BondMode {
				ops = append(ops, Op{Kind: OpBondMode, Link: n.Name, Mode: n.BondMode})
			}
			if k == Bond {
				for _, m := range n.Members {
					if ml := byName[nameOf[m]]; ml == nil || ml.Master != n.Name {
						ops = append(ops, Op{Kind: OpLinkMaster, Link: nameOf[m], Parent: n.Name})
					}
				}
			}
		}
	}
	for _, n := range rc.NICs {
		l := byName[n.Name]
		if l == nil {
			l = &Link{Name: n.Name}
		}
		if n.MTU != 0 && l.MTU != n.MTU {
			ops = append(ops, Op{Kind: OpLinkMTU, Link: n.Name, MTU: n.MTU})
		}
		if !l.Up {
			ops = append(ops, Op{Kind: OpLinkUp, Link: n.Name})
		}
		var al AppliedLink
		for _, a := range n.Addresses {
			al.Addrs = append(al.Addrs, a)
			if !slices.Contains(l.Addrs, a) {
				ops = append(ops, Op{Kind: OpAddrReplace, Link: n.Name, Prefix: a})
			}
		}
		for _, r := range n.AllRoutes() {
			al.Routes = append(al.Routes, r)
			if !slices.Contains(l.Routes, r) {
				ops = append(ops, Op{Kind: OpRouteReplace, Link: n.Name, Route: r})
			}
		}
		if n.DHCP4 {
			ops = append(ops, Op{Kind: OpDHCP4, Link: n.Name})
		}
		if n.DHCP6 {
			ops = append(ops, Op{Kind: OpDHCP6, Link: n.Name})
		}
		if len(al.Addrs)+len(al.Routes) > 0 {
			next.Links[n.Name] = al
		}
	}
	// What ovfinit set before and the new configuration drops: routes first
	// (a route may need the address), only what is still there.
	for _, name := range sortedKeys(prev.Links) {
		old, l := prev.Links[name], byName[name]
		if l == nil {
			continue
		}
		now := next.Links[name]
		for _, r := range old.Routes {
			if !slices.Contains(now.Routes, r) && slices.Contains(l.Routes, r) {
				ops = append(ops, Op{Kind: OpRouteDel, Link: name, Route: r})
			}
		}
		for _, a := range old.Addrs {
			if !slices.Contains(now.Addrs, a) && slices.Contains(l.Addrs, a) {
				ops = append(ops, Op{Kind: OpAddrDel, Link: name, Prefix: a})
			}
		}
	}
	dns, search := MachineDNS(rc)
	if len(dns)+len(search) > 0 && (!slices.Equal(dns, cur.DNS) || !slices.Equal(search, cur.Search)) {
		ops = append(ops, Op{Kind: OpDNS, DNS: dns, Search: search})
	}
	return ops, next, nil
}

// MachineDNS merges the machine-wide and per-NIC DNS servers and search
// domains, in order, without repeats: resolv.conf has no per-NIC servers.
func MachineDNS(c Config) ([]netip.Addr, []string) {
	dns := slices.Clone(c.DNS)
	search := slices.Clone(c.Search)
	for _, n := range c.NICs {
		for _, d := range n.DNS {
			if !slices.Contains(dns, d) {
				dns = append(dns, d)
			}
		}
		for _, s := range n.Search {
			if !slices.Contains(search, s) {
				search = append(search, s)
			}
		}
	}
	return dns, search
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ResolvConf renders /etc/resolv.conf for the given servers and domains.
func ResolvConf(dns []netip.Addr, search []string) []byte {
	var b bytes.Buffer
	b.WriteString("# Written by ovfinit from the OVF environment.\n")
	for _, d := range dns {
		fmt.Fprintf(&b, "nameserver %s\n", d)
	}
	if len(search) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(search, " "))
	}
	return b.Bytes()
}

// ParseResolvConf reads the servers and search domains of a resolv.conf.
func ParseResolvConf(data []byte) ([]netip.Addr, []string) {
	var dns []netip.Addr
	var search []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "nameserver":
			if a, err := netip.ParseAddr(f[1]); err == nil {
				dns = append(dns, a)
			}
		case "search", "domain":
			search = f[1:]
		}
	}
	return dns, search
}
