//go:build linux

package netcfg

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/ovfinit/ovfinit/internal/cmdrun"
	"github.com/ovfinit/ovfinit/internal/rootfs"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// Handle is the part of *netlink.Handle that netcfg uses. A handle opened in
// a test's own network namespace makes the real test.
type Handle interface {
	LinkList() ([]netlink.Link, error)
	LinkByName(name string) (netlink.Link, error)
	LinkByIndex(index int) (netlink.Link, error)
	LinkAdd(link netlink.Link) error
	LinkSetUp(link netlink.Link) error
	LinkSetDown(link netlink.Link) error
	LinkSetName(link netlink.Link, name string) error
	LinkModify(link netlink.Link) error
	LinkSetMTU(link netlink.Link, mtu int) error
	LinkSetMasterByIndex(link netlink.Link, masterIndex int) error
	AddrList(link netlink.Link, family int) ([]netlink.Addr, error)
	AddrReplace(link netlink.Link, addr *netlink.Addr) error
	AddrDel(link netlink.Link, addr *netlink.Addr) error
	RouteList(link netlink.Link, family int) ([]netlink.Route, error)
	RouteListFiltered(family int, filter *netlink.Route, filterMask uint64) ([]netlink.Route, error)
	RouteReplace(route *netlink.Route) error
	LinkSetHardwareAddr(link netlink.Link, hwaddr net.HardwareAddr) error
	RuleAdd(rule *netlink.Rule) error
	RouteDel(route *netlink.Route) error
}

// Linux applies plans with netlink and writes DNS settings under Root.
type Linux struct {
	H    Handle
	Root string
	// Run runs a command (systemctl to reload systemd-resolved, an OS DHCP
	// client); nil means the commands are not run.
	Run cmdrun.Runner
	// DHCP4 starts DHCPv4 on an interface; nil means it is an error to ask.
	DHCP4 func(ctx context.Context, ifname string) error
	// Log receives what the DHCP clients do; nil: nothing is logged.
	Log *slog.Logger

	// closeH closes the netlink handle NewSystem opened; renewing is set
	// once a built-in DHCP client renews leases through it.
	closeH   func()
	mu       sync.Mutex
	renewing bool
	closed   bool
	handOver <-chan struct{}   // HoldHandOver
	started  []<-chan struct{} // hand-overs under way (WaitHandOver)
}

// WaitHandOver waits until the image's DHCP client has been run for every
// lease of ovfinit's own that waits to be handed over, or until ctx ends:
// `ovfinit run` calls it before it exits, since a hand-over left pending
// then would never happen and the lease would run out unrenewed.
func (s *Linux) WaitHandOver(ctx context.Context) error {
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	for _, c := range started {
		select {
		case <-c:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// HoldHandOver makes the image's DHCP client start, after a lease of
// ovfinit's own, only once ch is closed (DHCP4Options.HandOver).
func (s *Linux) HoldHandOver(ch <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handOver = ch
}

// SetLogger sets the logger; the agent calls it on the System it gets.
func (s *Linux) SetLogger(l *slog.Logger) {
	s.Log = l
	if _, ok := s.Run.(cmdrun.Exec); ok {
		s.Run = cmdrun.Exec{Log: l} // the commands' argv go to the same log
	}
}

// NewSystem returns the live system's network, writing files under root.
func NewSystem(root string) (System, error) {
	// Route only: with no argument NewHandle also opens NETLINK_XFRM and
	// NETLINK_NETFILTER sockets, which fail on kernels without xfrm_user
	// and nfnetlink (minimal images) although netcfg never uses them.
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("opening netlink: %w", err)
	}
	s := &Linux{H: h, Root: root, Run: cmdrun.Exec{}, closeH: h.Close}
	s.DHCP4 = func(ctx context.Context, ifname string) error {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return errors.New("netlink handle closed")
		}
		if OSDHCPClient(root, ifname) == nil || s.Run == nil {
			s.renewing = true // the built-in client's renewals keep using the handle
		}
		handOver := s.handOver
		s.mu.Unlock()
		return StartDHCP4(ctx, root, ifname, s.Run, s.H, DHCP4Options{Log: s.Log, SetDNS: s.leaseDNS, HandOver: handOver,
			OnHandOver: func(c <-chan struct{}) {
				s.mu.Lock()
				defer s.mu.Unlock()
				s.started = append(s.started, c)
			}})
	}
	return s, nil
}

// Close closes the netlink handle NewSystem opened, unless the built-in
// DHCP client was started through it: it renews its leases through the
// handle for as long as the process runs, so the handle stays its own. It
// returns nil; calling it again does nothing.
func (s *Linux) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.closeH == nil {
		return nil
	}
	s.closed = true
	if !s.renewing {
		s.closeH()
	}
	return nil
}

// retry calls f again while the kernel reports an interrupted dump.
func retry[T any](f func() (T, error)) (T, error) {
	var v T
	var err error
	for range 5 {
		v, err = f()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	return v, err
}

// Current reads the links with their global addresses and gatewayed or
// static routes, and the DNS settings ovfinit manages.
func (s *Linux) Current() (Current, error) {
	ll, err := retry(s.H.LinkList)
	if err != nil {
		return Current{}, fmt.Errorf("listing network links: %w", err)
	}
	var cur Current
	var masters []int // index of each link's master
	for _, l := range ll {
		a := l.Attrs()
		link := Link{
			Index:    a.Index,
			Name:     a.Name,
			MAC:      a.HardwareAddr,
			Ethernet: a.EncapType == "ether" && len(a.HardwareAddr) == 6 && (l.Type() == "device" || l.Type() == "veth"),
			Up:       a.Flags&net.FlagUp != 0,
			Carrier:  a.RawFlags&unix.IFF_LOWER_UP != 0,
			MTU:      a.MTU,
		}
		addrs, err := retry(func() ([]netlink.Addr, error) { return s.H.AddrList(l, netlink.FAMILY_ALL) })
		if err != nil {
			return Current{}, fmt.Errorf("listing addresses of %s: %w", a.Name, err)
		}
		for _, ad := range addrs {
			if ad.Scope != unix.RT_SCOPE_UNIVERSE {
				continue
			}
			if p, ok := prefixOf(ad.IPNet); ok {
				link.Addrs = append(link.Addrs, p)
			}
		}
		// Routes of every table but local (netplan's table key).
		routes, err := retry(func() ([]netlink.Route, error) {
			return s.H.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{LinkIndex: a.Index, Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_OIF|netlink.RT_FILTER_TABLE)
		})
		if err != nil {
			return Current{}, fmt.Errorf("listing routes of %s: %w", a.Name, err)
		}
		for _, r := range routes {
			if r.Table == unix.RT_TABLE_LOCAL || r.Protocol == unix.RTPROT_KERNEL || r.Family == unix.AF_INET6 && r.Dst != nil && r.Dst.IP.IsLinkLocalUnicast() {
				continue
			}
			if rt, ok := routeOf(r); ok {
				link.Routes = append(link.Routes, rt)
			}
		}
		if b, ok := l.(*netlink.Bond); ok {
			link.BondMode = b.Mode.String()
			link.Bond = bondParamsOf(b, ll)
		}
		if d, err := os.Readlink(filepath.Join(s.Root, "/sys/class/net", a.Name, "device/driver")); err == nil {
			link.Driver = filepath.Base(d)
		}
		if link.Ethernet {
			readEthtool(&link)
		}
		link.Pending = udevPending(s.Root, a.Index, a.Name)
		masters = append(masters, a.MasterIndex)
		cur.Links = append(cur.Links, link)
	}
	for i, mi := range masters {
		for _, m := range cur.Links {
			if mi != 0 && m.Index == mi {
				cur.Links[i].Master = m.Name
			}
		}
	}
	cur.DNS, cur.Search = s.readDNS()
	return cur, nil
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), ones), true
}

func routeOf(r netlink.Route) (Route, bool) {
	var rt Route
	if r.Dst == nil {
		if r.Family == unix.AF_INET6 {
			rt.To = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
		} else {
			rt.To = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
		}
	} else {
		p, ok := prefixOf(r.Dst)
		if !ok {
			return rt, false
		}
		rt.To = p
	}
	if r.Gw != nil {
		a, _ := netip.AddrFromSlice(r.Gw)
		rt.Via = a.Unmap()
	}
	rt.Metric = r.Priority
	rt.OnLink = r.Flags&int(netlink.FLAG_ONLINK) != 0 && r.Gw != nil
	if r.Table != unix.RT_TABLE_MAIN && r.Table != 0 {
		rt.Table = r.Table
	}
	if r.Src != nil {
		a, _ := netip.AddrFromSlice(r.Src)
		rt.From = a.Unmap()
	}
	// The scope only when it differs from what route() sets by default.
	def := netlink.SCOPE_UNIVERSE
	if r.Gw == nil && (r.Type == unix.RTN_UNICAST || r.Type == 0) {
		def = netlink.SCOPE_LINK
	}
	if r.Scope != def {
		rt.Scope = map[netlink.Scope]string{netlink.SCOPE_UNIVERSE: "global", netlink.SCOPE_LINK: "link", netlink.SCOPE_HOST: "host"}[r.Scope]
	}
	for name, typ := range routeTypeNums {
		if r.Type == typ && typ != unix.RTN_UNICAST {
			rt.Type = name
		}
	}
	if rt.To.Addr().Is6() && rt.Metric == 1024 {
		rt.Metric = 0 // the kernel's default IPv6 metric
	}
	return rt, true
}

// Apply runs the ops in order and stops at the first that fails.
func (s *Linux) Apply(ctx context.Context, ops []Op) error {
	for _, op := range ops {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.apply(ctx, op); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	return nil
}

// bond is the netlink bond an OpLinkAdd or OpBondMode asks for; -1 (what
// NewLinkBond sets) leaves a parameter as the kernel has it.
func (s *Linux) bond(la netlink.LinkAttrs, op Op) (*netlink.Bond, error) {
	b := netlink.NewLinkBond(la)
	if op.Mode != "" {
		b.Mode = netlink.StringToBondMode(op.Mode)
	}
	p := op.Bond
	set := func(dst *int, v int) {
		if v != 0 {
			*dst = v
		}
	}
	set(&b.Miimon, p.MIIMonitorInterval)
	set(&b.UpDelay, p.UpDelay)
	set(&b.DownDelay, p.DownDelay)
	set(&b.MinLinks, p.MinLinks)
	set(&b.ArpInterval, p.ARPInterval)
	set(&b.NumPeerNotif, p.GratuitousARP)
	for _, a := range p.ARPIPTargets {
		b.ArpIpTargets = append(b.ArpIpTargets, a.AsSlice())
	}
	if p.LACPRate != "" {
		b.LacpRate = netlink.StringToBondLacpRate(p.LACPRate)
	}
	if p.TransmitHashPolicy != "" {
		b.XmitHashPolicy = netlink.StringToBondXmitHashPolicy(p.TransmitHashPolicy)
	}
	if p.Primary != "" {
		pl, err := s.H.LinkByName(p.Primary)
		if err != nil {
			return nil, fmt.Errorf("bond primary %s: %w", p.Primary, err)
		}
		b.Primary = pl.Attrs().Index
	}
	return b, nil
}

// bondParamsOf reads back what bond sets, in BondParams' terms.
func bondParamsOf(b *netlink.Bond, all []netlink.Link) BondParams {
	pos := func(v int) int { return max(v, 0) }
	p := BondParams{MIIMonitorInterval: pos(b.Miimon), UpDelay: pos(b.UpDelay), DownDelay: pos(b.DownDelay), MinLinks: pos(b.MinLinks), ARPInterval: pos(b.ArpInterval), GratuitousARP: pos(b.NumPeerNotif)}
	for _, ip := range b.ArpIpTargets {
		if a, ok := netip.AddrFromSlice(ip); ok {
			p.ARPIPTargets = append(p.ARPIPTargets, a.Unmap())
		}
	}
	if b.LacpRate >= 0 {
		p.LACPRate = b.LacpRate.String()
	}
	if b.XmitHashPolicy >= 0 {
		p.TransmitHashPolicy = b.XmitHashPolicy.String()
	}
	for _, l := range all {
		if b.Primary > 0 && l.Attrs().Index == b.Primary {
			p.Primary = l.Attrs().Name
		}
	}
	return p
}

func ipnet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// routeTypeNums are the kernel's route types by netplan's names.
var routeTypeNums = map[string]int{"unicast": unix.RTN_UNICAST, "blackhole": unix.RTN_BLACKHOLE, "unreachable": unix.RTN_UNREACHABLE,
	"prohibit": unix.RTN_PROHIBIT, "local": unix.RTN_LOCAL}

func (s *Linux) route(l netlink.Link, r Route) *netlink.Route {
	nr := &netlink.Route{LinkIndex: l.Attrs().Index, Dst: ipnet(r.To), Priority: r.Metric, Protocol: unix.RTPROT_STATIC, Table: r.Table}
	if r.Via.IsValid() {
		nr.Gw = r.Via.AsSlice()
		if r.OnLink {
			nr.Flags = int(netlink.FLAG_ONLINK)
		}
	} else if r.Type == "" || r.Type == "unicast" {
		nr.Scope = netlink.SCOPE_LINK
	}
	if t, ok := routeTypeNums[r.Type]; ok {
		nr.Type = t
		if t != unix.RTN_UNICAST && t != unix.RTN_LOCAL {
			nr.LinkIndex = 0 // a blackhole route has no device
		}
	}
	switch r.Scope {
	case "global":
		nr.Scope = netlink.SCOPE_UNIVERSE
	case "link":
		nr.Scope = netlink.SCOPE_LINK
	case "host":
		nr.Scope = netlink.SCOPE_HOST
	}
	if r.From.IsValid() {
		nr.Src = r.From.AsSlice()
	}
	return nr
}

func (s *Linux) apply(ctx context.Context, op Op) error {
	switch op.Kind {
	case OpLinkOffload, OpLinkWOL:
		return s.applyEthtool(op)
	case OpDNS:
		return s.writeDNS(ctx, op.DNS, op.Search)
	case OpLinkAdd:
		la := netlink.NewLinkAttrs()
		la.Name = op.Link
		if op.Type == VLAN {
			parent, err := s.H.LinkByName(op.Parent)
			if err != nil {
				return err
			}
			la.ParentIndex = parent.Attrs().Index
			return s.H.LinkAdd(&netlink.Vlan{LinkAttrs: la, VlanId: op.VLANID})
		}
		if op.Type == Tunnel || op.Type == VRF {
			l, err := s.tunnelLink(la, op)
			if err != nil {
				return err
			}
			return s.H.LinkAdd(l)
		}
		if op.Type == Bridge {
			if err := s.H.LinkAdd(&netlink.Bridge{LinkAttrs: la}); err != nil {
				return err
			}
			return s.bridgeParams(op.Link, op.Bridge)
		}
		b, err := s.bond(la, op)
		if err != nil {
			return err
		}
		return s.H.LinkAdd(b)
	case OpRuleAdd:
		return s.ruleAdd(op.Rule)
	}
	l, err := s.H.LinkByName(op.Link)
	if err != nil {
		return err
	}
	switch op.Kind {
	case OpLinkUp:
		return s.H.LinkSetUp(l)
	case OpLinkMTU:
		return s.H.LinkSetMTU(l, op.MTU)
	case OpLinkMaster:
		m, err := s.H.LinkByName(op.Parent)
		if err != nil {
			return err
		}
		// The kernel enslaves only a link that is down.
		up := l.Attrs().Flags&net.FlagUp != 0
		if up {
			if err := s.H.LinkSetDown(l); err != nil {
				return err
			}
		}
		if err := s.H.LinkSetMasterByIndex(l, m.Attrs().Index); err != nil {
			return err
		}
		if up {
			return s.H.LinkSetUp(l)
		}
		return nil
	case OpBondMode:
		// The mode changes only while the bond is down and has no members.
		if err := s.H.LinkSetDown(l); err != nil {
			return err
		}
		la := netlink.NewLinkAttrs()
		la.Name, la.Index = l.Attrs().Name, l.Attrs().Index
		b, err := s.bond(la, op)
		if err != nil {
			return err
		}
		return s.H.LinkModify(b)
	case OpLinkDown:
		return s.H.LinkSetDown(l)
	case OpLinkMAC:
		// Most drivers change the address only while the link is down.
		up := l.Attrs().Flags&net.FlagUp != 0
		if up {
			if err := s.H.LinkSetDown(l); err != nil {
				return err
			}
		}
		if err := s.H.LinkSetHardwareAddr(l, op.MAC); err != nil {
			return err
		}
		if up {
			return s.H.LinkSetUp(l)
		}
		return nil
	case OpBridgePort:
		return s.bridgePort(l, op.PortCost, op.PortPriority)
	case OpLinkRename:
		// Plan puts the link down first: the kernel renames only a link
		// that is down.
		return s.H.LinkSetName(l, op.Name)
	case OpAddrReplace:
		return s.H.AddrReplace(l, &netlink.Addr{IPNet: ipnet(op.Prefix)})
	case OpAddrDel:
		return s.H.AddrDel(l, &netlink.Addr{IPNet: ipnet(op.Prefix)})
	case OpRouteReplace:
		return s.H.RouteReplace(s.route(l, op.Route))
	case OpRouteDel:
		r := s.route(l, op.Route)
		r.Protocol = 0 // delete whoever added it
		return s.H.RouteDel(r)
	case OpDHCP4:
		if s.DHCP4 == nil {
			return errors.New("no DHCPv4 client available")
		}
		err := s.DHCP4(ctx, op.Link)
		if err != nil && op.Optional {
			// netplan's optional: the boot does not wait for this link.
			if s.Log != nil {
				s.Log.Warn("DHCPv4 on an optional interface failed; going on", "interface", op.Link, "err", err)
			}
			return nil
		}
		return err
	case OpDHCP6:
		// The kernel does SLAAC from router advertisements once the link is
		// up; stateful DHCPv6 is left to the OS's network manager, which the
		// persistent configuration tells to run it.
		return nil
	}
	return fmt.Errorf("unknown operation %d", op.Kind)
}

// resolvedRunning reports whether systemd-resolved runs (or will, for an
// offline root): its runtime directory exists.
func (s *Linux) resolvedRunning() bool {
	_, err := rootfs.StatAt(s.Root, "/run/systemd/resolve")
	return err == nil
}

// leaseDNS writes a DHCP lease's DNS settings when the configuration gave
// none (nothing in resolv.conf or the resolved drop-in yet).
func (s *Linux) leaseDNS(dns []netip.Addr, search []string) error {
	if d, sr := s.readDNS(); len(d)+len(sr) > 0 {
		return nil
	}
	return s.writeDNS(context.Background(), dns, search)
}

// ResolvedDropIn is the drop-in ovfinit writes when systemd-resolved runs.
const ResolvedDropIn = "/etc/systemd/resolved.conf.d/90-ovfinit.conf"

func (s *Linux) readDNS() ([]netip.Addr, []string) {
	if s.resolvedRunning() {
		b, _ := rootfs.ReadFileAt(s.Root, ResolvedDropIn, 1<<20)
		return parseResolvedConf(b)
	}
	b, _ := rootfs.ReadFileAt(s.Root, "/etc/resolv.conf", 1<<20)
	return ParseResolvConf(b)
}

// writeDNS configures systemd-resolved with a drop-in and restarts it when
// it runs; otherwise it writes /etc/resolv.conf.
func (s *Linux) writeDNS(ctx context.Context, dns []netip.Addr, search []string) error {
	if !s.resolvedRunning() {
		return rootfs.WriteFileAt(s.Root, "/etc/resolv.conf", ResolvConf(dns, search), 0o644)
	}
	if err := rootfs.WriteFileAt(s.Root, ResolvedDropIn, ResolvedConf(dns, search), 0o644); err != nil {
		return err
	}
	if s.Run == nil {
		return nil
	}
	return cmdrun.Run(ctx, s.Run, "systemctl", "try-reload-or-restart", "systemd-resolved.service")
}

// ruleAdd adds a policy routing rule; one that exists already is done.
func (s *Linux) ruleAdd(r Rule) error {
	nr := netlink.NewRule()
	nr.Family = unix.AF_INET
	if r.IPv6() {
		nr.Family = unix.AF_INET6
	}
	nr.Table = r.Table
	if r.Priority != 0 {
		nr.Priority = r.Priority
	}
	if r.From.IsValid() {
		nr.Src = ipnet(r.From)
	}
	if r.To.IsValid() {
		nr.Dst = ipnet(r.To)
	}
	if r.Mark != 0 {
		nr.Mark = uint32(r.Mark)
	}
	nr.Tos = uint(r.TOS)
	err := s.H.RuleAdd(nr)
	if errors.Is(err, unix.EEXIST) {
		return nil
	}
	return err
}

// bridgeParams sets a new bridge's parameters (IFLA_BR_*: times in
// centiseconds) in one RTM_NEWLINK on the bridge.
func (s *Linux) bridgeParams(name string, p BridgeParams) error {
	if p.STP == nil && p.ForwardDelay == 0 && p.HelloTime == 0 && p.MaxAge == 0 && p.AgeingTime == 0 && p.Priority == nil {
		return nil
	}
	l, err := s.H.LinkByName(name)
	if err != nil {
		return err
	}
	req := nl.NewNetlinkRequest(unix.RTM_NEWLINK, unix.NLM_F_ACK)
	msg := nl.NewIfInfomsg(unix.AF_UNSPEC)
	msg.Index = int32(l.Attrs().Index)
	req.AddData(msg)
	info := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
	info.AddRtAttr(nl.IFLA_INFO_KIND, nl.NonZeroTerminated("bridge"))
	data := info.AddRtAttr(nl.IFLA_INFO_DATA, nil)
	if p.STP != nil {
		v := uint32(0)
		if *p.STP {
			v = 1
		}
		data.AddRtAttr(nl.IFLA_BR_STP_STATE, nl.Uint32Attr(v))
	}
	for _, d := range []struct {
		attr int
		ms   int
	}{{nl.IFLA_BR_FORWARD_DELAY, p.ForwardDelay}, {nl.IFLA_BR_HELLO_TIME, p.HelloTime}, {nl.IFLA_BR_MAX_AGE, p.MaxAge}, {nl.IFLA_BR_AGEING_TIME, p.AgeingTime}} {
		if d.ms != 0 {
			data.AddRtAttr(d.attr, nl.Uint32Attr(uint32(d.ms/10)))
		}
	}
	if p.Priority != nil {
		data.AddRtAttr(nl.IFLA_BR_PRIORITY, nl.Uint16Attr(uint16(*p.Priority)))
	}
	req.AddData(info)
	_, err = req.Execute(unix.NETLINK_ROUTE, 0)
	return err
}

// bridgePort sets a bridge port's path cost and priority (-1: leave).
func (s *Linux) bridgePort(l netlink.Link, cost, prio int) error {
	req := nl.NewNetlinkRequest(unix.RTM_SETLINK, unix.NLM_F_ACK)
	msg := nl.NewIfInfomsg(unix.AF_BRIDGE)
	msg.Index = int32(l.Attrs().Index)
	req.AddData(msg)
	br := nl.NewRtAttr(unix.IFLA_PROTINFO|unix.NLA_F_NESTED, nil)
	if cost >= 0 {
		br.AddRtAttr(nl.IFLA_BRPORT_COST, nl.Uint32Attr(uint32(cost)))
	}
	if prio >= 0 {
		br.AddRtAttr(nl.IFLA_BRPORT_PRIORITY, nl.Uint16Attr(uint16(prio)))
	}
	req.AddData(br)
	_, err := req.Execute(unix.NETLINK_ROUTE, 0)
	return err
}

// udevPending tells whether udev runs, or is about to, and has not yet
// finished naming the link with this index, now called name: until then
// its rules may still rename the link, and a name read now can be gone a
// moment later (systemd-networkd waits for the same before it touches a
// link; cloud-init runs `udevadm settle`). Finished means its database
// entry exists and does not say a rename is under way, or says so but
// the link already has the name udev chose (ID_NET_NAME). systemd writes
// the entry marked ID_RENAMING=1 and ID_PROCESSING=1 just before it
// renames the link (udev-event.c's rename_netif), and drops the marks
// only when it has handled the rename's own event, later: the entry's
// mere presence let a Debian 12 boot bring eth0 up a moment before
// udev's rename, which then failed ("Network interface 'eth0' is already
// up, cannot rename to 'ens2'") and left the NIC eth0.
func udevPending(root string, index int, name string) bool {
	if !udevExpected(root) {
		return false
	}
	b, err := rootfs.ReadFileAt(root, fmt.Sprintf("/run/udev/data/n%d", index), udevEntryLimit)
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	return err == nil && udevRenaming(b, name)
}

// udevEntryLimit bounds the read of a udev database entry (a few hundred
// bytes for a NIC).
const udevEntryLimit = 64 << 10

// udevRenaming says whether a udev database entry marks its link as
// being renamed (or processed) while the link, called name, does not
// have the name udev chose for it yet.
func udevRenaming(entry []byte, name string) bool {
	busy, target := false, ""
	for _, l := range strings.Split(string(entry), "\n") {
		switch {
		case l == "E:ID_RENAMING=1" || l == "E:ID_PROCESSING=1":
			busy = true
		case strings.HasPrefix(l, "E:ID_NET_NAME="):
			target = strings.TrimPrefix(l, "E:ID_NET_NAME=")
		}
	}
	return busy && (target == "" || target != name)
}

// UdevDone says whether udev has finished with the link with this index
// (its database entry exists), or is not expected to run: what Current
// reports as Pending, for one link, with a stat or two instead of
// Current's reading of every link, address and route, for a wait on udev
// that should leave udev the CPU.
func (s *Linux) UdevDone(index int) bool {
	name := ""
	if s.H != nil {
		if l, err := s.H.LinkByIndex(index); err == nil {
			name = l.Attrs().Name
		}
	}
	return !udevPending(s.Root, index, name)
}

// udevDaemons are where images keep udev's daemon (systemd's, eudev's).
var udevDaemons = []string{"/usr/lib/systemd/systemd-udevd", "/lib/systemd/systemd-udevd", "/sbin/udevd", "/usr/sbin/udevd"}

// udevExpected: udev runs (its control socket exists) or will start: the
// image has its daemon and /sys is writable (udev's own condition; not so
// in a container). ovfinit is not ordered after udev, so that its start
// overlaps udev's.
func udevExpected(root string) bool {
	if _, err := rootfs.StatAt(root, "/run/udev/control"); err == nil {
		return true
	}
	if unix.Access(filepath.Join(root, "/sys"), unix.W_OK) != nil {
		return false
	}
	for _, d := range udevDaemons {
		if _, err := rootfs.StatAt(root, d); err == nil {
			return true
		}
	}
	return false
}

// IsLinkGone says whether err is an op's failure because the interface it
// names does not exist (any more): udev renamed it, or it was removed.
func IsLinkGone(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf) || errors.Is(err, ErrLinkGone)
}
