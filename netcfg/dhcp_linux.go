//go:build linux

package netcfg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	"github.com/ovfinit/ovfinit/internal/cmdrun"
	"github.com/ovfinit/ovfinit/internal/rootfs"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// osDHCPClients are the DHCPv4 clients ovfinit hands a NIC to, in order of
// preference, with the argv that starts one in the background. A client
// that needs a hook script to configure the interface (busybox udhcpc)
// counts only when the image has the script.
var osDHCPClients = []struct {
	paths   []string
	scripts []string // one must exist; none listed: no script needed
	argv    func(path, script, ifname string) []string
}{
	{paths: []string{"/usr/sbin/dhcpcd", "/sbin/dhcpcd"},
		argv: func(p, _, i string) []string { return []string{p, "-b", i} }},
	{paths: []string{"/usr/sbin/dhclient", "/sbin/dhclient"},
		argv: func(p, _, i string) []string { return []string{p, "-nw", i} }},
	// udhcpc without its script gets a lease and configures nothing.
	{paths: []string{"/usr/bin/udhcpc", "/sbin/udhcpc", "/bin/udhcpc", "/usr/sbin/udhcpc"},
		scripts: []string{"/usr/share/udhcpc/default.script", "/etc/udhcpc/default.script"},
		argv:    func(p, s, i string) []string { return []string{p, "-b", "-s", s, "-i", i} }},
}

// OSDHCPClient returns the argv that starts the image's own DHCPv4 client on
// ifname, or nil when the image under root has none that would configure
// the interface.
func OSDHCPClient(root, ifname string) []string {
	exe := func(p string) bool {
		st, err := rootfs.StatAt(root, p)
		return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
	}
	for _, c := range osDHCPClients {
		for _, p := range c.paths {
			if !exe(p) {
				continue
			}
			if len(c.scripts) == 0 {
				return c.argv(p, "", ifname)
			}
			for _, s := range c.scripts {
				if exe(s) {
					return c.argv(p, s, ifname)
				}
			}
		}
	}
	return nil
}

// StartDHCP4 gets DHCPv4 going on ifname: with the OS's own client when the
// image has one, else with the built-in client (BuiltinDHCP4), which takes
// a first lease before it returns and then renews it in the background
// for as long as the process runs.
func StartDHCP4(ctx context.Context, root, ifname string, run cmdrun.Runner, h Handle, o DHCP4Options) error {
	if argv := OSDHCPClient(root, ifname); argv != nil && run != nil {
		if o.Log != nil {
			o.Log.Info("DHCPv4 handed to the OS client", "interface", ifname, "client", argv[0])
		}
		return cmdrun.Run(ctx, run, argv...)
	}
	if o.Until == nil {
		o.Until = context.WithoutCancel(ctx)
	}
	_, err := BuiltinDHCP4(ctx, h, ifname, o)
	return err
}

// DHCP4Options tune the built-in DHCPv4 client. The zero value is usable.
type DHCP4Options struct {
	Log *slog.Logger // nil: no logging
	// Timeout per DHCP exchange attempt and Retries of it; defaults 5 s, 3.
	Timeout time.Duration
	Retries int
	// Metric of the routes a lease brings; default 100, so that a static
	// default route (metric 0) on another NIC wins.
	Metric int
	// Until ends the renewals; nil: renew while ctx of BuiltinDHCP4 lasts.
	Until context.Context
	// OnLease, if set, is called after each lease (the first and every
	// renewal) is applied.
	OnLease func(DHCP4Lease)
	// SetDNS, if set, receives the lease's DNS servers and search domains.
	SetDNS func(dns []netip.Addr, search []string) error
}

// DHCP4Lease is what the built-in client applied from one DHCPACK.
type DHCP4Lease struct {
	Interface string
	Address   netip.Prefix
	Routes    []Route
	DNS       []netip.Addr
	Search    []string
	Lease     time.Duration // lease time
	Renew     time.Duration // T1: when the renewal starts
	Server    netip.Addr
	Renewal   bool // true for a renewal, false for the first lease
}

// ErrNoLease is returned when no DHCPv4 server answered.
var ErrNoLease = errors.New("no DHCPv4 lease")

// BuiltinDHCP4 is the DHCPv4 client for images without one: it brings
// ifname up, takes a lease (DISCOVER, OFFER, REQUEST, ACK), puts its
// address (with the lease's lifetime, so the kernel drops it if renewals
// fail) and routes on the interface through h, and returns the lease. It
// then renews the lease at T1 (RFC 2131 4.4.5) in the background until
// o.Until (or ctx) ends; a renewal that fails is retried, and after the
// lease runs out the client starts over with a DISCOVER.
//
// The client's sockets are opened in the network namespace of the calling
// thread, the renewals' too.
func BuiltinDHCP4(ctx context.Context, h Handle, ifname string, o DHCP4Options) (DHCP4Lease, error) {
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	if o.Retries == 0 {
		o.Retries = 3
	}
	if o.Metric == 0 {
		o.Metric = 100
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Until == nil {
		o.Until = ctx
	}
	ns, err := netns.Get()
	if err != nil {
		return DHCP4Lease{}, fmt.Errorf("DHCPv4 on %s: finding the network namespace: %w", ifname, err)
	}
	c := &dhcp4Client{h: h, ifname: ifname, o: o, ns: ns}
	l, err := c.exchange(ctx, nil)
	if err != nil {
		ns.Close()
		return DHCP4Lease{}, err
	}
	go c.renewLoop(l)
	return c.last, nil
}

type dhcp4Client struct {
	h      Handle
	ifname string
	o      DHCP4Options
	ns     netns.NsHandle
	last   DHCP4Lease
}

// exchange renews old, or takes a new lease when old is nil, and applies
// it.
func (c *dhcp4Client) exchange(ctx context.Context, old *nclient4.Lease) (*nclient4.Lease, error) {
	link, err := c.h.LinkByName(c.ifname)
	if err != nil {
		return nil, fmt.Errorf("DHCPv4 on %s: %w", c.ifname, err)
	}
	if link.Attrs().Flags&net.FlagUp == 0 {
		if err := c.h.LinkSetUp(link); err != nil {
			return nil, fmt.Errorf("DHCPv4 on %s: bringing it up: %w", c.ifname, err)
		}
	}
	var cl *nclient4.Client
	err = withNetns(c.ns, func() error {
		var err error
		cl, err = nclient4.New(c.ifname, nclient4.WithTimeout(c.o.Timeout), nclient4.WithRetry(c.o.Retries),
			nclient4.WithHWAddr(link.Attrs().HardwareAddr))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("DHCPv4 on %s: %w", c.ifname, err)
	}
	defer cl.Close()
	var l *nclient4.Lease
	if old != nil {
		l, err = cl.Renew(ctx, old)
	} else {
		l, err = cl.Request(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("DHCPv4 on %s: %w: %w", c.ifname, ErrNoLease, err)
	}
	dl, err := c.apply(link, l.ACK, old != nil)
	if err != nil {
		return nil, fmt.Errorf("DHCPv4 on %s: applying the lease: %w", c.ifname, err)
	}
	c.last = dl
	c.o.Log.Info("DHCPv4 lease applied", "client", "built-in", "interface", c.ifname, "address", dl.Address.String(),
		"lease", dl.Lease, "renewal", dl.Renewal, "server", dl.Server.String())
	if c.o.OnLease != nil {
		c.o.OnLease(dl)
	}
	return l, nil
}

// apply puts the ACK's address and routes on link.
func (c *dhcp4Client) apply(link netlink.Link, ack *dhcpv4.DHCPv4, renewal bool) (DHCP4Lease, error) {
	dl := leaseOf(c.ifname, ack, renewal)
	if !dl.Address.IsValid() {
		return dl, errors.New("the server offered no usable address")
	}
	lft := int(dl.Lease / time.Second)
	if err := c.h.AddrReplace(link, &netlink.Addr{IPNet: ipnet(dl.Address), ValidLft: lft, PreferedLft: lft}); err != nil {
		return dl, err
	}
	for _, r := range dl.Routes {
		nr := &netlink.Route{LinkIndex: link.Attrs().Index, Dst: ipnet(r.To), Priority: c.o.Metric, Protocol: unix.RTPROT_DHCP}
		if r.Via.IsValid() {
			nr.Gw = r.Via.AsSlice()
		} else {
			nr.Scope = netlink.SCOPE_LINK
		}
		if err := c.h.RouteReplace(nr); err != nil {
			return dl, fmt.Errorf("route %s: %w", r, err)
		}
	}
	if c.o.SetDNS != nil && len(dl.DNS)+len(dl.Search) > 0 {
		if err := c.o.SetDNS(dl.DNS, dl.Search); err != nil {
			return dl, fmt.Errorf("DNS: %w", err)
		}
	}
	return dl, nil
}

// leaseOf reads what ovfinit applies from an ACK: address and mask, the
// classless static routes (RFC 3442) or else the first router as the
// default route, DNS, lease time and T1.
func leaseOf(ifname string, ack *dhcpv4.DHCPv4, renewal bool) DHCP4Lease {
	dl := DHCP4Lease{Interface: ifname, Renewal: renewal}
	if a, ok := netip.AddrFromSlice(ack.YourIPAddr.To4()); ok && !a.IsUnspecified() {
		bits := 32
		if m := ack.SubnetMask(); m != nil {
			if ones, size := m.Size(); size == 32 {
				bits = ones
			}
		}
		dl.Address = netip.PrefixFrom(a, bits)
	}
	if rs := ack.ClasslessStaticRoute(); len(rs) > 0 {
		for _, r := range rs {
			to, ok := prefixOf(r.Dest)
			if !ok {
				continue
			}
			var via netip.Addr
			if g, ok := netip.AddrFromSlice(r.Router.To4()); ok && !g.IsUnspecified() {
				via = g
			}
			dl.Routes = append(dl.Routes, Route{To: to.Masked(), Via: via})
		}
	} else if gw := ack.Router(); len(gw) > 0 {
		if g, ok := netip.AddrFromSlice(gw[0].To4()); ok && !g.IsUnspecified() {
			dl.Routes = append(dl.Routes, Route{To: netip.PrefixFrom(netip.IPv4Unspecified(), 0), Via: g})
		}
	}
	for _, d := range ack.DNS() {
		if a, ok := netip.AddrFromSlice(d.To4()); ok {
			dl.DNS = append(dl.DNS, a)
		}
	}
	if s := ack.DomainSearch(); s != nil {
		dl.Search = s.Labels
	} else if d := ack.DomainName(); d != "" {
		dl.Search = []string{d}
	}
	if s, ok := netip.AddrFromSlice(ack.ServerIdentifier().To4()); ok {
		dl.Server = s
	}
	dl.Lease = ack.IPAddressLeaseTime(time.Hour)
	dl.Renew = ack.IPAddressRenewalTime(dl.Lease / 2)
	if dl.Renew <= 0 || dl.Renew >= dl.Lease {
		dl.Renew = dl.Lease / 2
	}
	return dl
}

// renewLoop renews at T1; a failed renewal is tried again at half the time
// left, at least every few seconds; once the lease has run out it starts
// over with a DISCOVER.
func (c *dhcp4Client) renewLoop(l *nclient4.Lease) {
	defer c.ns.Close()
	until := c.o.Until
	got := time.Now()
	wait := c.last.Renew
	lease := c.last.Lease
	for {
		t := time.NewTimer(wait)
		select {
		case <-until.Done():
			t.Stop()
			return
		case <-t.C:
		}
		old := l
		if time.Since(got) >= lease {
			old = nil // expired: start over
		}
		ctx, cancel := context.WithTimeout(until, time.Duration(c.o.Retries+1)*c.o.Timeout)
		nl, err := c.exchange(ctx, old)
		cancel()
		if err == nil {
			l, got, wait, lease = nl, time.Now(), c.last.Renew, c.last.Lease
			continue
		}
		if until.Err() != nil {
			return
		}
		left := lease - time.Since(got)
		wait = max(left/2, 2*time.Second)
		c.o.Log.Warn("DHCPv4 renewal failed", "interface", c.ifname, "err", err, "retry in", wait)
	}
}

// withNetns runs f on a thread in network namespace ns, for the sockets f
// opens. A thread that cannot be switched back is not reused.
func withNetns(ns netns.NsHandle, f func() error) error {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	if orig.Equal(ns) {
		runtime.UnlockOSThread()
		return f()
	}
	if err := netns.Set(ns); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	ferr := f()
	if err := netns.Set(orig); err == nil {
		runtime.UnlockOSThread()
	}
	return ferr
}
