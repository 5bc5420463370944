package netcfg

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
)

// LinkOpts are a NIC's link settings, IPv6 and DHCP client options and
// routing-policy rules, as netplan 0.106 names them. Zero values leave the
// operating system's default, as netplan leaves them.
type LinkOpts struct {
	// SetMAC is the MAC address the interface gets (netplan macaddress;
	// the match's MAC is the one it has).
	SetMAC net.HardwareAddr `json:",omitempty"`
	// WakeOnLAN turns on wake-on-LAN by magic packet (wakeonlan).
	WakeOnLAN bool `json:",omitempty"`
	// Offload switches (receive-checksum-offload, ...); nil leaves the
	// driver's setting.
	Offload Offload `json:",omitzero"`
	// AcceptRA: accept IPv6 router advertisements (accept-ra); nil leaves
	// the kernel's choice.
	AcceptRA *bool `json:",omitempty"`
	// IPv6Privacy: temporary IPv6 addresses (ipv6-privacy).
	IPv6Privacy bool `json:",omitempty"`
	// LinkLocal is the link-local addressing in systemd-networkd's words:
	// "" netplan's default (IPv6; none on a bond or bridge member),
	// "no", "ipv4", "ipv6" or "yes" (both), from netplan's link-local list.
	LinkLocal string `json:",omitempty"`
	// Critical: the DHCP lease is never released (critical).
	Critical bool `json:",omitempty"`
	// DHCPIdentifier is the DHCP client identifier: "mac", or "" for
	// the DUID (netplan's default).
	DHCPIdentifier string `json:",omitempty"`
	// DHCP4Overrides and DHCP6Overrides change what the DHCP client uses
	// from a lease (dhcp4-overrides, dhcp6-overrides).
	DHCP4Overrides DHCPOverrides `json:",omitzero"`
	DHCP6Overrides DHCPOverrides `json:",omitzero"`
	// RoutingPolicy are policy routing rules (routing-policy).
	RoutingPolicy []Rule `json:",omitempty"`
	// NeighSuppress: ARP/ND suppression on a bridge port (neigh-suppress).
	NeighSuppress *bool `json:",omitempty"`
}

// Offload are the NIC offload switches netplan knows; nil leaves each as
// the driver has it.
type Offload struct {
	ReceiveChecksum     *bool `json:",omitempty"` // receive-checksum-offload
	TransmitChecksum    *bool `json:",omitempty"` // transmit-checksum-offload
	TCPSegmentation     *bool `json:",omitempty"` // tcp-segmentation-offload
	TCP6Segmentation    *bool `json:",omitempty"` // tcp6-segmentation-offload
	GenericSegmentation *bool `json:",omitempty"` // generic-segmentation-offload
	GenericReceive      *bool `json:",omitempty"` // generic-receive-offload
	LargeReceive        *bool `json:",omitempty"` // large-receive-offload
}

// offloadKeys pairs netplan's keys with systemd .link keys and the fields.
func (o *Offload) keys() []struct {
	Netplan, Networkd, Ethtool string
	V                          **bool
} {
	return []struct {
		Netplan, Networkd, Ethtool string
		V                          **bool
	}{
		{"receive-checksum-offload", "ReceiveChecksumOffload", "feature-rx", &o.ReceiveChecksum},
		{"transmit-checksum-offload", "TransmitChecksumOffload", "feature-tx", &o.TransmitChecksum},
		{"tcp-segmentation-offload", "TCPSegmentationOffload", "feature-tso", &o.TCPSegmentation},
		{"tcp6-segmentation-offload", "TCP6SegmentationOffload", "feature-tx-tcp6-segmentation", &o.TCP6Segmentation},
		{"generic-segmentation-offload", "GenericSegmentationOffload", "feature-gso", &o.GenericSegmentation},
		{"generic-receive-offload", "GenericReceiveOffload", "feature-gro", &o.GenericReceive},
		{"large-receive-offload", "LargeReceiveOffload", "feature-lro", &o.LargeReceive},
	}
}

// DHCPOverrides are netplan's dhcp4-overrides/dhcp6-overrides; nil and
// zero values leave the client's default.
type DHCPOverrides struct {
	UseDNS       *bool  `json:",omitempty"` // use-dns
	UseNTP       *bool  `json:",omitempty"` // use-ntp
	SendHostname *bool  `json:",omitempty"` // send-hostname
	UseHostname  *bool  `json:",omitempty"` // use-hostname
	UseMTU       *bool  `json:",omitempty"` // use-mtu
	UseRoutes    *bool  `json:",omitempty"` // use-routes
	UseDomains   string `json:",omitempty"` // use-domains: true, false or route
	Hostname     string `json:",omitempty"` // hostname
	RouteMetric  int    `json:",omitempty"` // route-metric (0: netplan's 100)
}

// IsZero reports whether no override is set.
func (d DHCPOverrides) IsZero() bool { return d == DHCPOverrides{} }

// Equal reports whether d and o set the same overrides to the same values.
func (d DHCPOverrides) Equal(o DHCPOverrides) bool {
	eq := func(a, b *bool) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }
	return eq(d.UseDNS, o.UseDNS) && eq(d.UseNTP, o.UseNTP) && eq(d.SendHostname, o.SendHostname) && eq(d.UseHostname, o.UseHostname) &&
		eq(d.UseMTU, o.UseMTU) && eq(d.UseRoutes, o.UseRoutes) && d.UseDomains == o.UseDomains && d.Hostname == o.Hostname && d.RouteMetric == o.RouteMetric
}

// Rule is a policy routing rule (netplan routing-policy).
type Rule struct {
	From     netip.Prefix `json:",omitzero"`
	To       netip.Prefix `json:",omitzero"`
	Table    int          `json:",omitempty"`
	Priority int          `json:",omitempty"`
	Mark     int          `json:",omitempty"` // fwmark
	TOS      int          `json:",omitempty"` // type-of-service
}

// String reads like ip-rule(8): "from 10.0.0.0/24 to 10.1.0.0/16 table 100 priority 50".
func (r Rule) String() string {
	s := "from all"
	if r.From.IsValid() {
		s = "from " + r.From.String()
	}
	if r.To.IsValid() {
		s += " to " + r.To.String()
	}
	if r.TOS != 0 {
		s += fmt.Sprintf(" tos %d", r.TOS)
	}
	if r.Mark != 0 {
		s += fmt.Sprintf(" fwmark %d", r.Mark)
	}
	if r.Priority != 0 {
		s += fmt.Sprintf(" priority %d", r.Priority)
	}
	return s + fmt.Sprintf(" table %d", r.Table)
}

// IPv6 reports whether the rule is for IPv6.
func (r Rule) IPv6() bool {
	return r.From.IsValid() && r.From.Addr().Is6() || r.To.IsValid() && r.To.Addr().Is6()
}

// BridgeParams are a bridge's parameters as netplan names them. Durations
// are in milliseconds; zero values (nil) leave the kernel default.
type BridgeParams struct {
	STP          *bool          `json:",omitempty"` // stp
	ForwardDelay int            `json:",omitempty"` // forward-delay
	HelloTime    int            `json:",omitempty"` // hello-time
	MaxAge       int            `json:",omitempty"` // max-age
	AgeingTime   int            `json:",omitempty"` // ageing-time (aging-time)
	Priority     *int           `json:",omitempty"` // priority
	PathCost     map[string]int `json:",omitempty"` // path-cost: member ID to cost
	PortPriority map[string]int `json:",omitempty"` // port-priority: member ID to priority
}

// IsZero reports whether no parameter is set.
func (b BridgeParams) IsZero() bool {
	return b.STP == nil && b.ForwardDelay == 0 && b.HelloTime == 0 && b.MaxAge == 0 && b.AgeingTime == 0 &&
		b.Priority == nil && len(b.PathCost) == 0 && len(b.PortPriority) == 0
}

// routeTypes are the route types netplan 0.106 accepts.
var routeTypes = []string{"unicast", "blackhole", "unreachable", "prohibit", "local"}

// routeScopes are the route scopes netplan accepts.
var routeScopes = []string{"global", "link", "host"}

// checkLinkOpts validates the settings of LinkOpts, the new route fields
// and a bridge's parameters.
func checkLinkOpts(c Config, n *NIC, bad func(nic, field string, err error, value string)) {
	o := n.LinkOpts
	if o.SetMAC != nil && len(o.SetMAC) != 6 {
		bad(n.ID, "macaddress", errors.New("not an ethernet MAC address"), o.SetMAC.String())
	}
	if o.DHCPIdentifier != "" && o.DHCPIdentifier != "mac" && o.DHCPIdentifier != "duid" {
		bad(n.ID, "dhcp-identifier", errors.New("want mac or duid"), o.DHCPIdentifier)
	}
	if !slices.Contains([]string{"", "no", "ipv4", "ipv6", "yes"}, o.LinkLocal) {
		bad(n.ID, "link-local", errors.New("want a list of ipv4 and ipv6"), o.LinkLocal)
	}
	for _, d := range []struct {
		f string
		o DHCPOverrides
	}{{"dhcp4-overrides", o.DHCP4Overrides}, {"dhcp6-overrides", o.DHCP6Overrides}} {
		if d.o.UseDomains != "" && !slices.Contains([]string{"true", "false", "route"}, d.o.UseDomains) {
			bad(n.ID, d.f+".use-domains", errors.New("want true, false or route"), d.o.UseDomains)
		}
		if d.o.RouteMetric < 0 {
			bad(n.ID, d.f+".route-metric", errors.New("negative"), fmt.Sprint(d.o.RouteMetric))
		}
	}
	if n.DHCP4 && n.DHCP6 && !o.DHCP4Overrides.Equal(o.DHCP6Overrides) {
		bad(n.ID, "dhcp6-overrides", errors.New("with both dhcp4 and dhcp6, dhcp4-overrides and dhcp6-overrides must be the same (netplan's rule: networkd has one DHCP section)"), "")
	}
	for k, r := range o.RoutingPolicy {
		f := fmt.Sprintf("routing-policy[%d]", k)
		if !r.From.IsValid() && !r.To.IsValid() {
			bad(n.ID, f, errors.New("a rule needs from or to"), "")
		}
		if r.From.IsValid() && r.To.IsValid() && r.From.Addr().Is4() != r.To.Addr().Is4() {
			bad(n.ID, f+".to", errors.New("from and to are of different address families"), r.To.String())
		}
		if r.Table < 1 {
			bad(n.ID, f+".table", errors.New("a rule needs a table (1-4294967295)"), fmt.Sprint(r.Table))
		}
		if r.Priority < 0 || r.Mark < 0 || r.TOS < 0 || r.TOS > 255 {
			bad(n.ID, f, errors.New("priority and mark must not be negative, type-of-service is 0-255"), "")
		}
	}
	for k, r := range n.Routes {
		f := fmt.Sprintf("routes[%d]", k)
		if r.Type != "" && !slices.Contains(routeTypes, r.Type) {
			bad(n.ID, f+".type", fmt.Errorf("%w: want one of %v", ErrBadRoute, routeTypes), r.Type)
		}
		if r.Scope != "" && !slices.Contains(routeScopes, r.Scope) {
			bad(n.ID, f+".scope", fmt.Errorf("%w: want one of %v", ErrBadRoute, routeScopes), r.Scope)
		}
		if r.Table < 0 {
			bad(n.ID, f+".table", fmt.Errorf("%w: negative table", ErrBadRoute), fmt.Sprint(r.Table))
		}
		if r.From.IsValid() && r.To.IsValid() && r.From.Is4() != r.To.Addr().Is4() {
			bad(n.ID, f+".from", fmt.Errorf("%w: source family differs from %s", ErrBadRoute, r.To), r.From.String())
		}
	}
	b := n.Bridge
	if n.KindOf() != Bridge && !b.IsZero() {
		bad(n.ID, "parameters", errors.New("bridge parameters on an interface that is not a bridge"), "")
	}
	if b.Priority != nil && (*b.Priority < 0 || *b.Priority > 65535) {
		bad(n.ID, "bridge.priority", errors.New("out of range 0-65535"), fmt.Sprint(*b.Priority))
	}
	for _, m := range sortedKeys(b.PathCost) {
		if !slices.Contains(n.Members, m) {
			bad(n.ID, "bridge.path-cost", errors.New("is not one of the bridge's interfaces"), m)
		}
	}
	for _, m := range sortedKeys(b.PortPriority) {
		if !slices.Contains(n.Members, m) {
			bad(n.ID, "bridge.port-priority", errors.New("is not one of the bridge's interfaces"), m)
		} else if p := b.PortPriority[m]; p < 0 || p > 63 {
			bad(n.ID, "bridge.port-priority", errors.New("out of range 0-63"), fmt.Sprint(p))
		}
	}
	_ = c
}

// masterOf is the bond or bridge n is a member of: its name and kind, or
// "" when none.
func masterOf(c Config, n NIC) (string, Kind) {
	for _, v := range c.NICs {
		if (v.KindOf() == Bond || v.KindOf() == Bridge) && contains(v.Members, n.ID) {
			return v.Name, v.KindOf()
		}
	}
	return "", ""
}

// memberOf returns the bridge that has n as a member, or nil.
func bridgeOf(c Config, n NIC) *NIC {
	for i := range c.NICs {
		if c.NICs[i].KindOf() == Bridge && contains(c.NICs[i].Members, n.ID) {
			return &c.NICs[i]
		}
	}
	return nil
}

// satisfiedBy reports whether every switch o sets has that value in cur.
func (o Offload) satisfiedBy(cur Offload) bool {
	want, have := o.keys(), cur.keys()
	for i, k := range want {
		if *k.V != nil && (*have[i].V == nil || **have[i].V != **k.V) {
			return false
		}
	}
	return true
}
