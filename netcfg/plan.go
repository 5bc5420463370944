package netcfg

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path"
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
	Carrier  bool // the link layer is up (IFF_LOWER_UP): a cable is in
	MTU      int
	Addrs    []netip.Prefix // global addresses now on the link
	Routes   []Route        // main-table routes through the link with a gateway or set by us
	Driver   string         // the kernel driver of the device (virtio_net, e1000...), "" if none
	Master   string         // the bond (or other master) the link is enslaved to
	BondMode string         // a bond's mode, e.g. active-backup
	Bond     BondParams     // a bond's parameters; Primary is an interface name
	// Offload and WakeOnLAN (by magic packet) as ethtool reads them; nil
	// switches where the device has no such feature or ethtool is not read.
	Offload   Offload `json:",omitzero"`
	WakeOnLAN bool    `json:",omitempty"`
	// Pending: the device manager (udev) runs but has not finished with
	// the link yet, so it may still rename it (eth0 to ens3).
	Pending bool `json:",omitempty"`
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
	Bond   BondParams   // OpLinkAdd of a bond, OpBondMode; Primary is an interface name
	Name   string       // OpLinkRename: the new name
	// Optional (OpDHCP4): the NIC is optional; no lease is not an error.
	Optional bool
	Type     Kind // OpLinkAdd
	// Bridge (OpLinkAdd of a bridge): its parameters; PathCost and
	// PortPriority are keyed by member names. OpBridgePort: the port's
	// path cost and priority (-1: unset).
	Bridge       BridgeParams
	PortCost     int
	PortPriority int
	Rule         Rule             // OpRuleAdd
	MAC          net.HardwareAddr // OpLinkMAC
	// Tunnel (OpLinkAdd of a tunnel; never a WireGuard one, which is not
	// applied live) and VRFTable (OpLinkAdd of a VRF).
	Tunnel   TunnelParams `json:",omitzero"`
	VRFTable int          `json:",omitempty"`
	// Offload (OpLinkOffload): the switches to set.
	Offload Offload `json:",omitzero"`
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
	OpLinkDown
	OpLinkRename
	OpRuleAdd
	OpLinkMAC
	OpBridgePort
	OpLinkOffload
	OpLinkWOL
)

func (o Op) String() string {
	switch o.Kind {
	case OpLinkUp:
		return "link set " + o.Link + " up"
	case OpLinkOffload:
		s := "ethtool -K " + o.Link
		for _, k := range o.Offload.keys() {
			if *k.V != nil {
				s += " " + k.Netplan + " " + map[bool]string{true: "on", false: "off"}[**k.V]
			}
		}
		return s
	case OpLinkWOL:
		return "ethtool -s " + o.Link + " wol g"
	case OpLinkAdd:
		if o.Type == VLAN {
			return fmt.Sprintf("link add %s link %s type vlan id %d", o.Link, o.Parent, o.VLANID)
		}
		if o.Type == Bridge {
			return "link add " + o.Link + " type bridge" + o.Bridge.args()
		}
		if o.Type == VRF || o.Type == Tunnel {
			return o.tunnelString()
		}
		s := "link add " + o.Link + " type bond"
		if o.Mode != "" {
			s += " mode " + o.Mode
		}
		return s + o.Bond.args()
	case OpLinkMaster:
		return "link set " + o.Link + " master " + o.Parent
	case OpBondMode:
		return "link set " + o.Link + " type bond mode " + o.Mode + o.Bond.args()
	case OpLinkDown:
		return "link set " + o.Link + " down"
	case OpLinkRename:
		return "link set " + o.Link + " name " + o.Name
	case OpLinkMAC:
		return "link set " + o.Link + " address " + o.MAC.String()
	case OpRuleAdd:
		if o.Rule.IPv6() {
			return "rule -6 add " + o.Rule.String()
		}
		return "rule add " + o.Rule.String()
	case OpBridgePort:
		s := "link set " + o.Link + " type bridge_slave"
		if o.PortCost >= 0 {
			s += fmt.Sprintf(" cost %d", o.PortCost)
		}
		if o.PortPriority >= 0 {
			s += fmt.Sprintf(" priority %d", o.PortPriority)
		}
		return s
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
		if o.Route.OnLink {
			s += " onlink"
		}
		return s + o.Route.extra()
	case OpDHCP4:
		if o.Optional {
			return "dhcp4 dev " + o.Link + " optional"
		}
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

// MatchesByName reports whether c picks an ethernet NIC by its interface
// name (an exact name or a glob, without a MAC address): such a config
// resolves only against the names udev has finished giving, as a rename
// (eth0 to ens2) changes what it selects. A MAC, a driver, or the only
// NIC of a one-NIC config select the same link before and after a rename.
func MatchesByName(c Config) bool {
	for _, n := range c.NICs {
		if n.KindOf() == Ethernet && n.MAC == nil && n.Name != "" {
			return true
		}
	}
	return false
}

// Resolve matches every ethernet NIC of c to the links it selects, as
// netplan's match does: MAC address, name glob and driver glob, each that is
// set must match. An entry without any match key takes the link named as
// its ID, or, in a configuration of one ethernet NIC, the first ethernet
// link. An entry whose globs select several links configures each of them:
// Resolve returns one NIC per link, all with the entry's ID. It returns a
// copy of c with each NIC's Name set to its interface name (SetName when it
// is renamed; VLANs and bonds are named by their ID) and CurName to the
// name the interface has now. An entry matched by patterns only (name glob,
// driver) that selects no link is left out, as netplan leaves it; an exact
// name or a MAC that selects none is an error.
func Resolve(c Config, links []Link) (Config, error) {
	out := c
	out.NICs = nil
	var errs []error
	taken := map[string]string{}
	eth := 0
	for _, n := range c.NICs {
		if n.KindOf() == Ethernet {
			eth++
		}
	}
	count := map[string]int{}
	for _, n := range c.NICs {
		if n.KindOf() != Ethernet {
			n.Name, n.CurName = n.ID, n.ID
			out.NICs = append(out.NICs, n)
			continue
		}
		var sel []*Link
		field, notFound := "mac", ErrNoSuchMAC
		switch {
		case n.MAC == nil && n.Name == "" && n.Driver == "":
			if eth != 1 {
				errs = append(errs, &FieldError{NIC: n.ID, Field: "mac", Err: errors.New("several NICs configured: each needs a MAC address or an interface name")})
				continue
			}
			var l *Link
			for j := range links {
				if links[j].Ethernet && (l == nil || links[j].Index < l.Index) {
					l = &links[j]
				}
			}
			if l == nil {
				errs = append(errs, &FieldError{NIC: n.ID, Field: "mac", Err: ErrNoEthernet})
				continue
			}
			sel = []*Link{l}
		default:
			if n.MAC == nil {
				field, notFound = "name", ErrNoSuchName
				if n.Name == "" {
					field, notFound = "driver", errors.New("no network interface has this driver")
				}
			}
			for j := range links {
				l := &links[j]
				// With a MAC, an exact name is the name Resolve gave (a
				// resolved config plans again to the same links); a glob
				// still has to match.
				nameOK := globMatch(n.Name, l.Name) || n.MAC != nil && !IsGlob(n.Name)
				if n.MAC != nil && !bytes.Equal(l.MAC, n.MAC) || !nameOK || !globMatch(n.Driver, l.Driver) {
					continue
				}
				if n.MAC != nil && len(sel) == 1 {
					// Bond members share the bond's MAC: prefer the ethernet
					// device.
					if l.Ethernet && !sel[0].Ethernet {
						sel[0] = l
					}
					continue
				}
				sel = append(sel, l)
			}
			if len(sel) == 0 && n.SetName != "" {
				// Renamed at an earlier boot.
				for j := range links {
					if links[j].Name == n.SetName {
						sel = append(sel, &links[j])
					}
				}
			}
		}
		if len(sel) == 0 && n.MAC == nil && (IsGlob(n.Name) || n.Driver != "") {
			// A pattern that selects no NIC configures nothing, as in
			// netplan (cloud-init's own OVF example matches eth*, which a
			// VM with ens192 does not have).
			continue
		}
		if len(sel) == 0 {
			v := n.Name
			if n.MAC != nil {
				v = n.MAC.String()
			} else if n.Name == "" {
				v = n.Driver
			}
			errs = append(errs, &FieldError{NIC: n.ID, Field: field, Err: notFound, Value: v})
			continue
		}
		if n.SetName != "" && len(sel) > 1 {
			names := make([]string, len(sel))
			for i, l := range sel {
				names[i] = l.Name
			}
			errs = append(errs, &FieldError{NIC: n.ID, Field: "set-name", Err: fmt.Errorf("renames one NIC, but the match selects %d: %s", len(sel), strings.Join(names, ", "))})
			continue
		}
		for _, l := range sel {
			if other, ok := taken[l.Name]; ok {
				errs = append(errs, &FieldError{NIC: n.ID, Field: field, Err: fmt.Errorf("%w: interface %s is also matched by %s", ErrDupNIC, l.Name, other), Value: l.Name})
				continue
			}
			taken[l.Name] = n.ID
			r := n
			r.Name, r.CurName, r.Driver = l.Name, l.Name, ""
			if n.SetName != "" {
				r.Name = n.SetName
				if r.MAC == nil {
					// Persistent renames match the MAC: the name changes.
					r.MAC = l.MAC
				}
			}
			count[n.ID]++
			out.NICs = append(out.NICs, r)
		}
	}
	for _, n := range out.NICs {
		if n.KindOf() == VLAN && count[n.Link] > 1 {
			errs = append(errs, &FieldError{NIC: n.ID, Field: "link", Err: fmt.Errorf("the parent's match selects %d NICs; a VLAN needs one", count[n.Link]), Value: n.Link})
		}
		if n.KindOf() == Bond && count[n.Bond.Primary] > 1 {
			errs = append(errs, &FieldError{NIC: n.ID, Field: "bond.primary", Err: fmt.Errorf("the primary's match selects %d NICs; it must select one", count[n.Bond.Primary]), Value: n.Bond.Primary})
		}
	}
	return out, errors.Join(errs...)
}

// globMatch matches a name against a netplan match pattern (fnmatch-style
// glob); an empty pattern matches anything.
func globMatch(pattern, name string) bool {
	if pattern == "" {
		return true
	}
	ok, err := path.Match(pattern, name)
	return err == nil && ok
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
	ops, next := planResolved(rc, cur, prev)
	return ops, next, nil
}

// planResolved is Plan for a configuration already validated and resolved
// against cur.Links.
func planResolved(rc Config, cur Current, prev Applied) ([]Op, Applied) {
	byName := map[string]*Link{}
	for i := range cur.Links {
		byName[cur.Links[i].Name] = &cur.Links[i]
	}
	nameOf := map[string]string{}
	namesOf := map[string][]string{}
	for _, n := range rc.NICs {
		nameOf[n.ID] = n.Name
		namesOf[n.ID] = append(namesOf[n.ID], n.Name)
	}
	next := Applied{Links: map[string]AppliedLink{}}
	var ops []Op
	// Renames first, while the link is down: everything after uses the new
	// name.
	for _, n := range rc.NICs {
		l := byName[n.CurName]
		if n.KindOf() != Ethernet || l == nil || n.CurName == n.Name {
			continue
		}
		if l.Up {
			ops = append(ops, Op{Kind: OpLinkDown, Link: n.CurName})
		}
		ops = append(ops, Op{Kind: OpLinkRename, Link: n.CurName, Name: n.Name})
		nl := *l
		nl.Name, nl.Up = n.Name, false
		delete(byName, n.CurName)
		byName[n.Name] = &nl
	}
	// Links to create first: bonds, then VLANs (a VLAN may sit on a bond).
	// A bond that exists already (loading the bonding module creates an
	// empty bond0) gets its mode set while it has no members, and its
	// missing members enslaved.
	// Tunnels come first (a vxlan may be a bridge port), VRFs last (their
	// members are the links made before).
	for _, k := range []Kind{Tunnel, Bond, Bridge, VLAN, VRF} {
		for _, n := range rc.NICs {
			if n.KindOf() != k || !liveKind(n) {
				continue
			}
			if k == Tunnel || k == VRF {
				if byName[n.Name] == nil {
					ops = append(ops, Op{Kind: OpLinkAdd, Type: k, Link: n.Name, Parent: nameOf[n.Link], Tunnel: n.Tunnel, VRFTable: n.VRFTable})
				}
				for _, m := range n.Members {
					if ml := byName[nameOf[m]]; ml == nil || ml.Master != n.Name {
						ops = append(ops, Op{Kind: OpLinkMaster, Link: nameOf[m], Parent: n.Name})
					}
				}
				continue
			}
			bp := n.Bond
			if bp.Primary != "" {
				bp.Primary = nameOf[bp.Primary]
			}
			if l := byName[n.Name]; l == nil {
				ops = append(ops, Op{Kind: OpLinkAdd, Type: k, Link: n.Name, Parent: nameOf[n.Link], VLANID: n.VLANID, Mode: n.BondMode, Bond: bp, Bridge: n.Bridge})
			} else if k == Bond && (n.BondMode != "" && l.BondMode != n.BondMode || !bp.satisfiedBy(l.Bond)) {
				ops = append(ops, Op{Kind: OpBondMode, Link: n.Name, Mode: n.BondMode, Bond: bp})
			}
			if k == Bond || k == Bridge {
				for _, m := range n.Members {
					for _, name := range namesOf[m] {
						ml := byName[name]
						if ml == nil || ml.Master != n.Name {
							ops = append(ops, Op{Kind: OpLinkMaster, Link: name, Parent: n.Name})
						}
						cost, hasCost := n.Bridge.PathCost[m]
						prio, hasPrio := n.Bridge.PortPriority[m]
						if (hasCost || hasPrio) && (ml == nil || ml.Master != n.Name) {
							op := Op{Kind: OpBridgePort, Link: name, PortCost: -1, PortPriority: -1}
							if hasCost {
								op.PortCost = cost
							}
							if hasPrio {
								op.PortPriority = prio
							}
							ops = append(ops, op)
						}
					}
				}
			}
		}
	}
	for _, n := range rc.NICs {
		if !liveKind(n) {
			continue
		}
		l := byName[n.Name]
		if l == nil {
			l = &Link{Name: n.Name}
		}
		if n.SetMAC != nil && !bytes.Equal(l.MAC, n.SetMAC) {
			ops = append(ops, Op{Kind: OpLinkMAC, Link: n.Name, MAC: n.SetMAC})
		}
		if n.MTU != 0 && l.MTU != n.MTU {
			ops = append(ops, Op{Kind: OpLinkMTU, Link: n.Name, MTU: n.MTU})
		}
		if n.Offload != (Offload{}) && !n.Offload.satisfiedBy(l.Offload) {
			ops = append(ops, Op{Kind: OpLinkOffload, Link: n.Name, Offload: n.Offload})
		}
		if n.WakeOnLAN && !l.WakeOnLAN {
			ops = append(ops, Op{Kind: OpLinkWOL, Link: n.Name})
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
		for _, r := range n.RoutingPolicy {
			// Rules are not read back: the kernel refuses an exact
			// duplicate, which the apply takes as done.
			ops = append(ops, Op{Kind: OpRuleAdd, Link: n.Name, Rule: r})
		}
		if n.DHCP4 {
			ops = append(ops, Op{Kind: OpDHCP4, Link: n.Name, Optional: n.Optional})
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
	return ops, next
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

// satisfiedBy reports whether every parameter set in b has its value in o.
func (b BondParams) satisfiedBy(o BondParams) bool {
	eq := func(want, got int) bool { return want == 0 || want == got }
	eqs := func(want, got string) bool { return want == "" || want == got }
	return eq(b.MIIMonitorInterval, o.MIIMonitorInterval) && eqs(b.Primary, o.Primary) && eqs(b.LACPRate, o.LACPRate) &&
		eqs(b.TransmitHashPolicy, o.TransmitHashPolicy) && eq(b.UpDelay, o.UpDelay) && eq(b.DownDelay, o.DownDelay) &&
		eq(b.MinLinks, o.MinLinks) && eq(b.ARPInterval, o.ARPInterval) && eq(b.GratuitousARP, o.GratuitousARP) && (len(b.ARPIPTargets) == 0 || slices.Equal(b.ARPIPTargets, o.ARPIPTargets))
}

// args is the bond parameters as ip-link(8) arguments, " miimon 100 ...".
func (b BondParams) args() string {
	var s []string
	add := func(k string, v any) { s = append(s, k, fmt.Sprint(v)) }
	if b.MIIMonitorInterval != 0 {
		add("miimon", b.MIIMonitorInterval)
	}
	if b.UpDelay != 0 {
		add("updelay", b.UpDelay)
	}
	if b.DownDelay != 0 {
		add("downdelay", b.DownDelay)
	}
	if b.Primary != "" {
		add("primary", b.Primary)
	}
	if b.LACPRate != "" {
		add("lacp_rate", b.LACPRate)
	}
	if b.TransmitHashPolicy != "" {
		add("xmit_hash_policy", b.TransmitHashPolicy)
	}
	if b.MinLinks != 0 {
		add("min_links", b.MinLinks)
	}
	if b.ARPInterval != 0 {
		add("arp_interval", b.ARPInterval)
	}
	if len(b.ARPIPTargets) > 0 {
		add("arp_ip_target", joinAddrs(b.ARPIPTargets, ","))
	}
	if b.GratuitousARP != 0 {
		add("num_grat_arp", b.GratuitousARP)
	}
	if len(s) == 0 {
		return ""
	}
	return " " + strings.Join(s, " ")
}

// args is the bridge parameters as ip-link(8) arguments (in centiseconds,
// as ip-link takes them), " stp_state 1 forward_delay 400 ...".
func (b BridgeParams) args() string {
	var s []string
	if b.STP != nil {
		s = append(s, "stp_state", map[bool]string{true: "1", false: "0"}[*b.STP])
	}
	for _, d := range []struct {
		k string
		v int
	}{{"forward_delay", b.ForwardDelay}, {"hello_time", b.HelloTime}, {"max_age", b.MaxAge}, {"ageing_time", b.AgeingTime}} {
		if d.v != 0 {
			s = append(s, d.k, fmt.Sprint(d.v/10))
		}
	}
	if b.Priority != nil {
		s = append(s, "priority", fmt.Sprint(*b.Priority))
	}
	if len(s) == 0 {
		return ""
	}
	return " " + strings.Join(s, " ")
}
