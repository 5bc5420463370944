package netcfg

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path"
	"slices"
	"strings"
)

// Config is the whole network configuration the environment asks for. Every
// input format (ovfinit.net.N.* properties, netplan v2, cloud-init v1,
// VMware-style vApp properties) is parsed into it.
type Config struct {
	// NICs are the interfaces to configure: ethernet NICs, VLANs and bonds.
	// VLANs and bonds refer to other entries by ID.
	NICs []NIC
	// DNS and Search apply to the whole machine (cloud-init v1 "nameserver",
	// netplan's per-NIC nameservers are merged here too by the renderers
	// that have no per-NIC DNS).
	DNS    []netip.Addr
	Search []string
	// Fallback marks cloud-init's fallback configuration (FallbackConfig):
	// its files are named for the fallback, not for the NIC, so that when
	// another NIC becomes the fallback its file replaces the old one
	// instead of leaving DHCP configured on both.
	Fallback bool `json:",omitempty"`
}

// Kind is what sort of interface a NIC entry describes.
type Kind string

const (
	Ethernet Kind = "ethernet"
	VLAN     Kind = "vlan"
	Bond     Kind = "bond"
	Bridge   Kind = "bridge"
)

// NIC is one interface's configuration.
type NIC struct {
	// ID names the entry in its input (a netplan id such as "eth0", or
	// "nic0" for the properties); errors name it. VLANs and bonds are created
	// with their ID as the interface name.
	ID   string
	Kind Kind // "" means Ethernet
	// MAC, Name and Driver match ethernet NICs, as netplan's match: every
	// one that is set must match (AND), except that an exact Name next to a
	// MAC is not checked (a resolved Config, whose Name is the interface's
	// name, resolves again to the same links). Name and Driver are shell globs
	// (fnmatch: *, ?, [...]); a glob may select several NICs, and the entry
	// then configures each of them. After Resolve, Name holds the
	// interface's name (SetName when it is renamed) and Driver is cleared.
	MAC    net.HardwareAddr
	Name   string
	Driver string
	// SetName renames the matched NIC (netplan set-name; cloud-init v1 name
	// with mac_address); it needs a match that selects one NIC.
	SetName string
	// CurName is set by Resolve: the interface's name now, before any
	// rename. It is not an input.
	CurName string `json:",omitempty"`

	// Up brings the link up even when nothing else is configured on it, as
	// netplan and cloud-init do with an entry such as "eth0: {}".
	Up bool `json:",omitempty"`
	// Optional: the boot does not wait for this link (netplan optional):
	// networkd's RequiredForOnline=no, ifupdown's allow-hotplug, and a
	// live DHCPv4 that gets no lease is a warning, not a failure.
	Optional bool `json:",omitempty"`

	DHCP4, DHCP6 bool
	Addresses    []netip.Prefix // IPv4 and IPv6, with prefix length
	Gateway4     netip.Addr
	Gateway6     netip.Addr
	Routes       []Route
	MTU          int // 0: leave as it is
	DNS          []netip.Addr
	Search       []string

	// VLAN: the parent NIC's ID and the VLAN id.
	Link   string
	VLANID int
	// Bond and bridge: member NIC IDs. Bond: the bonding mode (e.g.
	// active-backup) and parameters; bridge: its parameters.
	Members  []string
	BondMode string
	Bond     BondParams
	Bridge   BridgeParams `json:",omitzero"`
	// Tunnel: a tunnel's mode and settings (netplan tunnels:; Link is a
	// vxlan's underlying device). VRFTable: a VRF's routing table (vrfs:;
	// Members are the VRF's interfaces).
	Tunnel   TunnelParams `json:",omitzero"`
	VRFTable int          `json:",omitempty"`

	// Link settings, IPv6 and DHCP client options and policy routing,
	// as netplan names them (see link.go).
	LinkOpts
}

// BondParams are a bond's parameters besides its mode, as netplan names
// them. Durations are in milliseconds; zero values leave the kernel default.
type BondParams struct {
	MIIMonitorInterval int          // mii-monitor-interval
	Primary            string       // primary: a member's ID
	LACPRate           string       // lacp-rate: slow or fast
	TransmitHashPolicy string       // transmit-hash-policy
	UpDelay            int          // up-delay
	DownDelay          int          // down-delay
	MinLinks           int          // min-links
	ARPInterval        int          // arp-interval
	ARPIPTargets       []netip.Addr // arp-ip-targets
	GratuitousARP      int          // gratuitous-arp (gratuitious-arp): announcements after a failover
}

// IsZero reports whether no parameter is set.
func (b BondParams) IsZero() bool {
	return b.MIIMonitorInterval == 0 && b.Primary == "" && b.LACPRate == "" && b.TransmitHashPolicy == "" &&
		b.UpDelay == 0 && b.DownDelay == 0 && b.MinLinks == 0 && b.ARPInterval == 0 && len(b.ARPIPTargets) == 0 && b.GratuitousARP == 0
}

// IsGlob reports whether a match pattern has shell wildcards.
func IsGlob(s string) bool { return strings.ContainsAny(s, "*?[") }

// Route is a static route on a NIC. A zero Via makes it a link route.
type Route struct {
	To     netip.Prefix
	Via    netip.Addr
	Metric int
	// OnLink: the gateway is on the link even though no address of the NIC
	// covers it (netplan on-link).
	OnLink bool `json:",omitempty"`
	// Table is the routing table (0: main); Type the route type
	// (unicast when "", blackhole, unreachable, prohibit); Scope the scope
	// ("": link for a route without a gateway, else global; or host, link,
	// global); From the preferred source address (netplan from).
	Table int        `json:",omitempty"`
	Type  string     `json:",omitempty"`
	Scope string     `json:",omitempty"`
	From  netip.Addr `json:",omitzero"`
}

func (r Route) String() string {
	s := r.To.String()
	if r.To.Bits() == 0 {
		s = "default"
	}
	if r.Via.IsValid() {
		s += " via " + r.Via.String()
	}
	if r.Metric != 0 {
		s += fmt.Sprintf(" metric %d", r.Metric)
	}
	if r.OnLink {
		s += " onlink"
	}
	return s + r.extra()
}

// extra is the route's table, type, scope and source as ip-route(8)
// arguments, " table 100 scope link src 10.0.0.5".
func (r Route) extra() string {
	var s string
	if r.Table != 0 {
		s += fmt.Sprintf(" table %d", r.Table)
	}
	if r.Scope != "" {
		s += " scope " + r.Scope
	}
	if r.From.IsValid() {
		s += " src " + r.From.String()
	}
	if r.Type != "" && r.Type != "unicast" {
		s = " type " + r.Type + s
	}
	return s
}

// KindOf returns the NIC's kind, Ethernet when unset.
func (n *NIC) KindOf() Kind {
	if n.Kind == "" {
		return Ethernet
	}
	return n.Kind
}

// AllRoutes returns the NIC's routes with its gateways as default routes
// first.
func (n *NIC) AllRoutes() []Route {
	var rs []Route
	if n.Gateway4.IsValid() {
		rs = append(rs, Route{To: netip.PrefixFrom(netip.IPv4Unspecified(), 0), Via: n.Gateway4})
	}
	if n.Gateway6.IsValid() {
		rs = append(rs, Route{To: netip.PrefixFrom(netip.IPv6Unspecified(), 0), Via: n.Gateway6})
	}
	return append(rs, n.Routes...)
}

// Static reports whether the NIC has anything besides DHCP to configure.
func (n *NIC) Static() bool {
	return len(n.Addresses) > 0 || len(n.AllRoutes()) > 0
}

// Errors Validate and Plan return; callers match them with errors.Is.
var (
	ErrNoSuchMAC    = errors.New("no network interface has this MAC address")
	ErrNoSuchName   = errors.New("no network interface has this name")
	ErrNoEthernet   = errors.New("no ethernet network interface found")
	ErrBadAddress   = errors.New("not a usable address with prefix length")
	ErrDupAddress   = errors.New("address configured twice")
	ErrBadGateway   = errors.New("gateway is not usable")
	ErrBadRoute     = errors.New("route is not usable")
	ErrBadDNSServer = errors.New("not a usable DNS server address")
	ErrBadSearch    = errors.New("not a usable search domain")
	ErrBadMTU       = errors.New("MTU out of range 68-65535")
	ErrBadLink      = errors.New("refers to no NIC of this configuration")
	ErrBadVLAN      = errors.New("VLAN id out of range 1-4094")
	ErrDupNIC       = errors.New("NIC configured twice")
	ErrNothing      = errors.New("neither DHCP nor an address: nothing to configure")
)

// FieldError is a problem with one field of one NIC. NIC is the NIC's ID
// ("" for the machine-wide DNS fields); Field is the name used in Config's
// documentation, lower case, with an index for lists: "addresses[1]",
// "gateway4", "routes[0].via", "mac", "dns[2]". Callers map it back to the
// property or YAML line it came from.
type FieldError struct {
	NIC   string
	Field string
	Err   error
	Value string
}

func (e *FieldError) Error() string {
	where := e.Field
	if e.NIC != "" {
		where = e.NIC + "." + e.Field
	}
	if e.Value == "" {
		return where + ": " + e.Err.Error()
	}
	return fmt.Sprintf("%s: %v: %s", where, e.Err, e.Value)
}

func (e *FieldError) Unwrap() error { return e.Err }

// BaseField is the field's name without list indexes: "routes[0].via" is
// "routes.via".
func (e *FieldError) BaseField() string {
	var b strings.Builder
	skip := false
	for _, r := range e.Field {
		switch {
		case r == '[':
			skip = true
		case r == ']':
			skip = false
		case !skip:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Validate checks a Config on its own, without looking at the machine. It
// returns every problem, joined, each a *FieldError.
func Validate(c Config) error {
	var errs []error
	bad := func(nic, field string, err error, value string) {
		errs = append(errs, &FieldError{NIC: nic, Field: field, Err: err, Value: value})
	}
	ids := map[string]bool{}
	macs := map[string]string{}
	seenAddr := map[netip.Addr]string{}
	for i := range c.NICs {
		n := &c.NICs[i]
		if ids[n.ID] {
			bad(n.ID, "id", ErrDupNIC, n.ID)
		}
		ids[n.ID] = true
		if n.MAC != nil {
			if len(n.MAC) != 6 {
				bad(n.ID, "mac", errors.New("not an ethernet MAC address"), n.MAC.String())
			} else if other, ok := macs[n.MAC.String()]; ok && n.KindOf() == Ethernet {
				bad(n.ID, "mac", fmt.Errorf("%w (also %s)", ErrDupNIC, other), n.MAC.String())
			} else if n.KindOf() == Ethernet {
				macs[n.MAC.String()] = n.ID
			}
		}
		if n.MTU != 0 && (n.MTU < 68 || n.MTU > 65535) {
			bad(n.ID, "mtu", ErrBadMTU, fmt.Sprint(n.MTU))
		}
		member := false
		for j := range c.NICs {
			for _, m := range c.NICs[j].Members {
				member = member || m == n.ID
			}
			member = member || c.NICs[j].KindOf() == VLAN && c.NICs[j].Link == n.ID
		}
		if n.SetName != "" && !validIfName(n.SetName) {
			bad(n.ID, "set-name", errors.New("not a usable interface name (1-15 letters, digits, '.', '-', '_')"), n.SetName)
		}
		for _, g := range []struct{ f, p string }{{"name", n.Name}, {"driver", n.Driver}} {
			if _, err := path.Match(g.p, ""); err != nil {
				bad(n.ID, g.f, errors.New("not a usable glob pattern"), g.p)
			}
		}
		if n.KindOf() != Bond && (!n.Bond.IsZero() || n.BondMode != "") {
			bad(n.ID, "bond", errors.New("bond parameters on an interface that is not a bond"), "")
		}
		if n.KindOf() == Bond {
			checkBond(n, bad)
		}
		if !n.Up && !n.DHCP4 && !n.DHCP6 && !n.Static() && n.KindOf() == Ethernet && !member && len(n.DNS) == 0 && n.MTU == 0 {
			bad(n.ID, "dhcp4", ErrNothing, "")
		}
		for k, a := range n.Addresses {
			f := fmt.Sprintf("addresses[%d]", k)
			if err := checkHostPrefix(a); err != nil {
				bad(n.ID, f, err, a.String())
				continue
			}
			if other, ok := seenAddr[a.Addr()]; ok {
				bad(n.ID, f, fmt.Errorf("%w (also on %s)", ErrDupAddress, other), a.String())
			}
			seenAddr[a.Addr()] = n.ID
		}
		checkGw := func(field string, gw netip.Addr, v4 bool) {
			if !gw.IsValid() {
				return
			}
			switch {
			case gw.Is4() != v4 || gw.IsUnspecified() || gw.IsMulticast():
				bad(n.ID, field, fmt.Errorf("%w: not a unicast IPv%s address", ErrBadGateway, map[bool]string{true: "4", false: "6"}[v4]), gw.String())
			case !onLink(n, gw) && !n.DHCP4 && !n.DHCP6:
				bad(n.ID, field, fmt.Errorf("%w: outside %s (every subnet of this NIC)", ErrBadGateway, subnets(n)), gw.String())
			case isOwn(n, gw):
				bad(n.ID, field, fmt.Errorf("%w: it is the NIC's own address", ErrBadGateway), gw.String())
			}
		}
		checkGw("gateway4", n.Gateway4, true)
		checkGw("gateway6", n.Gateway6, false)
		for k, r := range n.Routes {
			f := fmt.Sprintf("routes[%d]", k)
			if !r.To.IsValid() || r.To != r.To.Masked() {
				bad(n.ID, f+".to", fmt.Errorf("%w: want a network prefix such as 10.1.0.0/16", ErrBadRoute), r.To.String())
				continue
			}
			if r.Via.IsValid() {
				if r.Via.Is4() != r.To.Addr().Is4() {
					bad(n.ID, f+".via", fmt.Errorf("%w: gateway family differs from %s", ErrBadRoute, r.To), r.Via.String())
				} else if !r.OnLink && !onLink(n, r.Via) && !n.DHCP4 && !n.DHCP6 && n.KindOf() != VRF {
					// (A VRF's gateway is on one of its members.)
					bad(n.ID, f+".via", fmt.Errorf("%w: gateway outside %s (every subnet of this NIC)", ErrBadRoute, subnets(n)), r.Via.String())
				}
			}
			if r.Metric < 0 {
				bad(n.ID, f+".metric", fmt.Errorf("%w: negative metric", ErrBadRoute), fmt.Sprint(r.Metric))
			}
		}
		checkDNS(n.ID, n.DNS, n.Search, bad)
		checkLinkOpts(c, n, bad)
		checkTunnel(c, n, bad)
		switch n.KindOf() {
		case VLAN:
			if n.VLANID < 1 || n.VLANID > 4094 {
				bad(n.ID, "id", ErrBadVLAN, fmt.Sprint(n.VLANID))
			}
			if !hasID(c.NICs, n.Link) {
				bad(n.ID, "link", ErrBadLink, n.Link)
			}
		case Bond, Bridge:
			if len(n.Members) == 0 && n.KindOf() == Bond {
				bad(n.ID, "interfaces", errors.New("a bond needs member interfaces"), "")
			}
			for k, m := range n.Members {
				if !hasID(c.NICs, m) {
					bad(n.ID, fmt.Sprintf("interfaces[%d]", k), ErrBadLink, m)
				}
			}
		}
		if n.KindOf() != Ethernet && !validIfName(n.ID) {
			bad(n.ID, "id", errors.New("not a usable interface name (1-15 letters, digits, '.', '-', '_')"), n.ID)
		}
	}
	checkDNS("", c.DNS, c.Search, bad)
	return errors.Join(errs...)
}

// Bonding modes and hash policies the kernel knows, as netplan and
// ip-link(8) name them.
var (
	bondModes    = []string{"balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad", "balance-tlb", "balance-alb"}
	hashPolicies = []string{"layer2", "layer3+4", "layer2+3", "encap2+3", "encap3+4"}
)

func checkBond(n *NIC, bad func(nic, field string, err error, value string)) {
	p := n.Bond
	if n.BondMode != "" && !slices.Contains(bondModes, n.BondMode) {
		bad(n.ID, "bond.mode", fmt.Errorf("unknown bonding mode (%s)", strings.Join(bondModes, ", ")), n.BondMode)
	}
	if p.Primary != "" && !slices.Contains(n.Members, p.Primary) {
		bad(n.ID, "bond.primary", errors.New("is not one of the bond's interfaces"), p.Primary)
	}
	if p.LACPRate != "" && p.LACPRate != "slow" && p.LACPRate != "fast" {
		bad(n.ID, "bond.lacp-rate", errors.New("want slow or fast"), p.LACPRate)
	}
	if p.TransmitHashPolicy != "" && !slices.Contains(hashPolicies, p.TransmitHashPolicy) {
		bad(n.ID, "bond.transmit-hash-policy", fmt.Errorf("want one of %s", strings.Join(hashPolicies, ", ")), p.TransmitHashPolicy)
	}
	if p.GratuitousARP < 0 || p.GratuitousARP > 255 {
		bad(n.ID, "bond.gratuitous-arp", errors.New("out of range 0-255"), fmt.Sprint(p.GratuitousARP))
	}
	if p.MinLinks < 0 {
		bad(n.ID, "bond.min-links", errors.New("negative"), fmt.Sprint(p.MinLinks))
	}
	for k, a := range p.ARPIPTargets {
		if !a.Is4() || a.IsUnspecified() {
			bad(n.ID, fmt.Sprintf("bond.arp-ip-targets[%d]", k), errors.New("want an IPv4 unicast address"), a.String())
		}
	}
}

func checkDNS(nic string, dns []netip.Addr, search []string, bad func(nic, field string, err error, value string)) {
	for k, d := range dns {
		if !d.IsValid() || d.IsUnspecified() || d.IsMulticast() {
			bad(nic, fmt.Sprintf("dns[%d]", k), ErrBadDNSServer, d.String())
		}
	}
	for k, s := range search {
		if s == "" || strings.ContainsAny(s, " \t\n,;/") || len(s) > 253 {
			bad(nic, fmt.Sprintf("search[%d]", k), ErrBadSearch, s)
		}
	}
}

func validIfName(s string) bool {
	if s == "" || len(s) > 15 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func hasID(nics []NIC, id string) bool {
	for _, n := range nics {
		if n.ID == id {
			return true
		}
	}
	return false
}

func checkHostPrefix(p netip.Prefix) error {
	a := p.Addr()
	if !p.IsValid() || a.IsUnspecified() || a.IsMulticast() || a.IsLoopback() || a.Zone() != "" {
		return ErrBadAddress
	}
	if a.Is4() && p.Bits() < 31 && (a == p.Masked().Addr() || a == lastAddr(p)) {
		return fmt.Errorf("%w (it is the network or broadcast address)", ErrBadAddress)
	}
	if p.Bits() == 0 {
		return fmt.Errorf("%w (prefix length 0)", ErrBadAddress)
	}
	return nil
}

func onLink(n *NIC, a netip.Addr) bool {
	if a.Is6() && a.IsLinkLocalUnicast() {
		return true
	}
	for _, p := range n.Addresses {
		if p.Masked().Contains(a) {
			return true
		}
	}
	return false
}

func isOwn(n *NIC, a netip.Addr) bool {
	for _, p := range n.Addresses {
		if p.Addr() == a {
			return true
		}
	}
	return false
}

func subnets(n *NIC) string {
	if len(n.Addresses) == 0 {
		return "it has no static address"
	}
	s := make([]string, len(n.Addresses))
	for i, p := range n.Addresses {
		s[i] = p.Masked().String()
	}
	return strings.Join(s, ", ")
}

func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v |= host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// nicJSON is NIC with its MAC address as text ("52:54:00:12:34:56")
// instead of encoding/json's base64 of the bytes.
type nicJSON struct {
	plainNIC
	MAC    string `json:"MAC,omitempty"`
	SetMAC string `json:"SetMAC,omitempty"`
}

type plainNIC NIC

// MarshalJSON writes the MAC address as colon-separated hex.
func (n NIC) MarshalJSON() ([]byte, error) {
	j := nicJSON{plainNIC: plainNIC(n)}
	if n.MAC != nil {
		j.MAC = n.MAC.String()
	}
	if n.SetMAC != nil {
		j.SetMAC = n.SetMAC.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (n *NIC) UnmarshalJSON(b []byte) error {
	var j nicJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*n = NIC(j.plainNIC)
	n.MAC = nil
	if j.MAC != "" {
		m, err := net.ParseMAC(j.MAC)
		if err != nil {
			return fmt.Errorf("NIC %s: MAC: %w", n.ID, err)
		}
		n.MAC = m
	}
	n.SetMAC = nil
	if j.SetMAC != "" {
		m, err := net.ParseMAC(j.SetMAC)
		if err != nil {
			return fmt.Errorf("NIC %s: SetMAC: %w", n.ID, err)
		}
		n.SetMAC = m
	}
	return nil
}
