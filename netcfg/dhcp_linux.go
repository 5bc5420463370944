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

// outsideUnit returns argv to run so that the daemon it starts is not in
// ovfinit's service: under systemd, in a transient scope of its own
// (`systemd-run --scope`). systemd kills what is left in a service's
// control group when its main process exits (KillMode=mixed), and ovfinit
// exits once the image's OpenSSH serves SSH: a Debian 12 guest's journal
// said "ovfinit.service: Killing process 214 (dhclient) with signal
// SIGKILL", and nothing renewed the lease after that. Without systemd (or
// systemd-run) argv is run as it is: no other init kills the daemon.
func outsideUnit(root string, argv []string) []string {
	if st, err := rootfs.StatAt(root, "/run/systemd/system"); err != nil || !st.IsDir() {
		return argv
	}
	for _, p := range []string{"/usr/bin/systemd-run", "/bin/systemd-run"} {
		if st, err := rootfs.StatAt(root, p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return append([]string{p, "--scope", "--quiet"}, argv...)
		}
	}
	return argv
}

// StartDHCP4 gets DHCPv4 going on ifname. ovfinit takes the first lease
// itself, as soon as the NIC exists (BuiltinDHCP4: a few packets, well under
// a second against a local server), because the image's clients are slow
// to a first lease: Debian 13's dhcpcd waits 3-5 s before its first
// DISCOVER and then probes the offered address by ARP for about 5 s.
//
// When the image has a client of its own (OSDHCPClient), ovfinit then hands
// the interface over: it does not renew the lease itself and starts the
// image's client in the background, which takes the renewals over (its
// own exchange asks for the address the NIC has; nothing of ovfinit waits
// for it). The address and the routes stay on the NIC meanwhile, with the
// lease's lifetime, so a client that never takes over cannot leave a
// stale address behind. When ovfinit gets no lease, the image's client is
// started all the same and keeps trying in the background; StartDHCP4
// returns nil, as it did when the image's client alone was started.
//
// With no client in the image, the built-in client keeps the lease: it
// renews it in the background for as long as the process runs (o.Until).
func StartDHCP4(ctx context.Context, root, ifname string, run cmdrun.Runner, h Handle, o DHCP4Options) error {
	argv := OSDHCPClient(root, ifname)
	if argv == nil || run == nil {
		if o.Until == nil {
			o.Until = context.WithoutCancel(ctx)
		}
		_, err := BuiltinDHCP4(ctx, h, ifname, o)
		return err
	}
	// The image's client renews: no renewal of ours.
	handover, cancel := context.WithCancel(ctx)
	cancel()
	o.Until = handover
	if o.Retries == 0 {
		o.Retries = 2 // the image's client keeps trying after that
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if _, err := BuiltinDHCP4(ctx, h, ifname, o); err != nil {
		if ctx.Err() != nil {
			return err
		}
		log.Warn("DHCPv4: no lease of ovfinit's own; the image's client keeps trying", "interface", ifname, "err", err)
		log.Info("DHCPv4 handed to the OS client", "interface", ifname, "client", argv[0])
		return cmdrun.Run(ctx, run, outsideUnit(root, argv)...)
	}
	// The NIC has its lease: nothing of ovfinit waits for the image's
	// client to start (dhcpcd -b can take seconds under emulation, and its
	// daemon may hold the output pipes until cmdrun's WaitDelay).
	started := make(chan struct{})
	go func() {
		defer close(started)
		if o.HandOver != nil {
			<-o.HandOver
		}
		log.Info("DHCPv4 handed to the OS client", "interface", ifname, "client", argv[0])
		if err := cmdrun.Run(context.WithoutCancel(ctx), run, outsideUnit(root, argv)...); err != nil {
			log.Warn("DHCPv4: the image's client did not start; the lease runs out unrenewed", "interface", ifname, "client", argv[0], "err", err)
		}
	}()
	if o.OnHandOver != nil {
		o.OnHandOver(started)
	}
	return nil
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

	// HandOver, when set, holds the start of the image's client after a
	// lease of ovfinit's own until it is closed (the agent: until the
	// manager has the boot's outcome; the client renews a lease of hours
	// and starting it costs a booting machine's CPU); nil: at once.
	HandOver <-chan struct{}

	// OnHandOver, when set, is called once the image's client waits to
	// take over a lease of ovfinit's own, with a channel closed once the
	// client has been run: a process that exits sooner must wait for it,
	// or the lease runs out unrenewed (Linux.WaitHandOver).
	OnHandOver func(started <-chan struct{})
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
	if err := checkLease(l.Offer, l.ACK); err != nil {
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

// checkLease makes the checks of a careful client on a lease before any
// of it is applied (docs/network.md, "DHCP"): the ACK confirms the
// address that was offered and names its server; the address is a
// usable unicast address, neither its subnet's network nor its broadcast
// address; the subnet mask is contiguous; the routers are usable unicast
// addresses; the lease time is not zero. (The reply's transaction id and
// message type are nclient4's checks.) ovfinit makes no ARP probe of the
// offered address: see StartDHCP4's documentation in docs/network.md.
func checkLease(offer, ack *dhcpv4.DHCPv4) error {
	if ack == nil {
		return errors.New("no ACK")
	}
	a, ok := netip.AddrFromSlice(ack.YourIPAddr.To4())
	if !ok || a.IsUnspecified() {
		return errors.New("the ACK carries no address")
	}
	if offer != nil {
		if o, ok := netip.AddrFromSlice(offer.YourIPAddr.To4()); ok && o != a {
			return fmt.Errorf("the ACK's address %s is not the offered %s", a, o)
		}
	}
	if ack.ServerIdentifier() == nil {
		return fmt.Errorf("the ACK for %s names no server (option 54)", a)
	}
	if !usableUnicast(a) {
		return fmt.Errorf("offered address %s is not a usable unicast address", a)
	}
	if m := ack.SubnetMask(); m != nil {
		ones, bits := m.Size()
		if bits != 32 {
			return fmt.Errorf("offered subnet mask %s for %s is not contiguous", net.IP(m), a)
		}
		if ones <= 30 {
			p := netip.PrefixFrom(a, ones).Masked()
			if a == p.Addr() {
				return fmt.Errorf("offered address %s is the network address of %s", a, p)
			}
			if a == lastAddr(p) {
				return fmt.Errorf("offered address %s is the broadcast address of %s", a, p)
			}
		}
	}
	for _, r := range ack.Router() {
		if g, ok := netip.AddrFromSlice(r.To4()); !ok || !usableUnicast(g) {
			return fmt.Errorf("offered router %s is not a usable unicast address", r)
		}
	}
	if v := ack.Options.Get(dhcpv4.OptionIPAddressLeaseTime); len(v) == 4 && v[0]|v[1]|v[2]|v[3] == 0 {
		return fmt.Errorf("the lease of %s is zero seconds", a)
	}
	return nil
}

func usableUnicast(a netip.Addr) bool {
	return a.Is4() && !a.IsUnspecified() && !a.IsLoopback() && !a.IsMulticast() && !a.IsLinkLocalUnicast() &&
		a != netip.AddrFrom4([4]byte{255, 255, 255, 255}) && a.As4()[0] < 240
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
		c.o.Log.Warn("DHCPv4 renewal failed", "interface", c.ifname, "err", err, "retry_in", wait)
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
