//go:build linux

package netcfg

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/server4"
	"github.com/ovfinit/ovfinit/internal/cmdrun"
	"github.com/vishvananda/netlink"
)

// testDHCPServer serves one fixed lease on ifname (which has 192.0.2.1/24)
// and counts its ACKs on acks.
func testDHCPServer(t *testing.T, ifname string, lease time.Duration, acks chan<- *dhcpv4.DHCPv4) {
	t.Helper()
	testDHCPServerOffering(t, ifname, lease, net.IPv4(192, 0, 2, 50), acks)
}

// testDHCPServerOffering is testDHCPServer offering yiaddr.
func testDHCPServerOffering(t *testing.T, ifname string, lease time.Duration, yiaddr net.IP, acks chan<- *dhcpv4.DHCPv4) {
	t.Helper()
	server := net.IPv4(192, 0, 2, 1).To4()
	handler := func(conn net.PacketConn, peer net.Addr, m *dhcpv4.DHCPv4) {
		var typ dhcpv4.MessageType
		switch m.MessageType() {
		case dhcpv4.MessageTypeDiscover:
			typ = dhcpv4.MessageTypeOffer
		case dhcpv4.MessageTypeRequest:
			typ = dhcpv4.MessageTypeAck
		default:
			return
		}
		resp, err := dhcpv4.NewReplyFromRequest(m,
			dhcpv4.WithMessageType(typ),
			dhcpv4.WithYourIP(yiaddr),
			dhcpv4.WithServerIP(server),
			dhcpv4.WithOption(dhcpv4.OptServerIdentifier(server)),
			dhcpv4.WithNetmask(net.CIDRMask(24, 32)),
			dhcpv4.WithRouter(server),
			dhcpv4.WithDNS(net.IPv4(192, 0, 2, 53)),
			dhcpv4.WithOption(dhcpv4.OptDomainName("lease.example")),
			dhcpv4.WithLeaseTime(uint32(lease/time.Second)),
		)
		if err != nil {
			t.Errorf("building the %s: %v", typ, err)
			return
		}
		if _, err := conn.WriteTo(resp.ToBytes(), &net.UDPAddr{IP: net.IPv4bcast, Port: dhcpv4.ClientPort}); err != nil {
			t.Errorf("sending the %s: %v", typ, err)
			return
		}
		if typ == dhcpv4.MessageTypeAck {
			select {
			case acks <- m:
			default:
			}
		}
	}
	srv, err := server4.NewServer(ifname, &net.UDPAddr{IP: net.IPv4zero, Port: dhcpv4.ServerPort}, handler)
	if err != nil {
		t.Fatalf("server4.NewServer(%s) = %v", ifname, err)
	}
	go srv.Serve()
	t.Cleanup(func() { srv.Close() })
}

// TestBuiltinDHCP4 runs the built-in client against a DHCPv4 server on
// the other end of a veth pair, in a network namespace of its own: the
// lease's address and route are on the interface, and the client renews
// the lease (4 s) with a REQUEST that the server ACKs again.
func TestBuiltinDHCP4(t *testing.T) {
	inNetns(t, func(h *netlink.Handle) {
		srvLink, err := h.LinkByName("ovfp0")
		if err != nil {
			t.Fatal(err)
		}
		if err := h.AddrAdd(srvLink, &netlink.Addr{IPNet: ipnet(pfx("192.0.2.1/24"))}); err != nil {
			t.Fatal(err)
		}
		acks := make(chan *dhcpv4.DHCPv4, 16)
		testDHCPServer(t, "ovfp0", 4*time.Second, acks)

		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		var leases atomic.Int32
		lease, err := BuiltinDHCP4(ctx, h, "ovft0", DHCP4Options{
			Timeout: 2 * time.Second,
			Log:     testLogger(t),
			OnLease: func(DHCP4Lease) { leases.Add(1) },
		})
		if err != nil {
			t.Fatalf("BuiltinDHCP4(ovft0) = %v", err)
		}
		want := DHCP4Lease{
			Interface: "ovft0",
			Address:   pfx("192.0.2.50/24"),
			Routes:    []Route{{To: pfx("0.0.0.0/0"), Via: ip("192.0.2.1")}},
			DNS:       []netip.Addr{ip("192.0.2.53")},
			Search:    []string{"lease.example"},
			Lease:     4 * time.Second,
			Renew:     2 * time.Second,
			Server:    ip("192.0.2.1"),
		}
		if diff := cmp.Diff(want, lease, cmpopts.EquateComparable(netip.Prefix{}, netip.Addr{})); diff != "" {
			t.Errorf("BuiltinDHCP4(ovft0) lease (-want +got):\n%s", diff)
		}
		sys := &Linux{H: h, Root: t.TempDir()}
		wantState := []string{"addr 192.0.2.50/24", "mtu 1500", "route default via 192.0.2.1 metric 100", "up yes"}
		if diff := cmp.Diff(wantState, readBack(t, sys, "ovft0")); diff != "" {
			t.Errorf("ovft0 after the first lease (-want +got):\n%s", diff)
		}
		first := <-acks
		if first.ClientIPAddr != nil && !first.ClientIPAddr.IsUnspecified() {
			t.Errorf("first REQUEST ciaddr = %v, want 0.0.0.0 (a new lease)", first.ClientIPAddr)
		}
		// The renewal: a REQUEST from the leased address (ciaddr set),
		// expected at T1 = 2 s; allow much longer on a loaded machine.
		select {
		case m := <-acks:
			if got := m.ClientIPAddr.String(); got != "192.0.2.50" {
				t.Errorf("renewal REQUEST ciaddr = %s, want 192.0.2.50", got)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("no renewal REQUEST within 60 s of a 4 s lease")
		}
		// The renewal was applied: wait for the client's callback, then
		// the address is still there with a fresh lifetime.
		deadline := time.Now().Add(30 * time.Second)
		for leases.Load() < 2 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if n := leases.Load(); n < 2 {
			t.Fatalf("leases applied = %d, want at least 2 (first + renewal)", n)
		}
		if diff := cmp.Diff(wantState, readBack(t, sys, "ovft0")); diff != "" {
			t.Errorf("ovft0 after the renewal (-want +got):\n%s", diff)
		}
		l, _ := h.LinkByName("ovft0")
		addrs, err := h.AddrList(l, netlink.FAMILY_V4)
		if err != nil || len(addrs) != 1 || addrs[0].ValidLft <= 0 || addrs[0].ValidLft > 4 {
			t.Errorf("ovft0 addresses = %+v, %v; want one with a valid lifetime of 1-4 s (the lease)", addrs, err)
		}
		cancel()
	})
}

// TestBuiltinDHCP4NoServer: no answer is an error naming the interface,
// and nothing is put on it.
func TestBuiltinDHCP4NoServer(t *testing.T) {
	inNetns(t, func(h *netlink.Handle) {
		_, err := BuiltinDHCP4(t.Context(), h, "ovft1", DHCP4Options{Timeout: 300 * time.Millisecond, Retries: 1})
		if err == nil || !strings.Contains(err.Error(), "ovft1") {
			t.Fatalf("BuiltinDHCP4(ovft1) with no server = %v, want an error naming ovft1", err)
		}
		sys := &Linux{H: h, Root: t.TempDir()}
		if diff := cmp.Diff([]string{"mtu 1500", "up yes"}, readBack(t, sys, "ovft1")); diff != "" {
			t.Errorf("ovft1 after no lease (-want +got):\n%s", diff)
		}
	})
}

// TestBuiltinDHCP4RefusesBadOffer: a server that offers its subnet's
// network address gets an error naming it, and nothing is put on the NIC
// (the old client applied 192.0.2.0/24).
func TestBuiltinDHCP4RefusesBadOffer(t *testing.T) {
	inNetns(t, func(h *netlink.Handle) {
		srvLink, err := h.LinkByName("ovfp0")
		if err != nil {
			t.Fatal(err)
		}
		if err := h.AddrAdd(srvLink, &netlink.Addr{IPNet: ipnet(pfx("192.0.2.1/24"))}); err != nil {
			t.Fatal(err)
		}
		testDHCPServerOffering(t, "ovfp0", time.Hour, net.IPv4(192, 0, 2, 0), make(chan *dhcpv4.DHCPv4, 4))
		_, err = BuiltinDHCP4(t.Context(), h, "ovft0", DHCP4Options{Timeout: 2 * time.Second, Log: testLogger(t)})
		if err == nil || !strings.Contains(err.Error(), "192.0.2.0 is the network address of 192.0.2.0/24") {
			t.Fatalf("BuiltinDHCP4(ovft0) offered 192.0.2.0/24 = %v, want an error naming the network address", err)
		}
		sys := &Linux{H: h, Root: t.TempDir()}
		if diff := cmp.Diff([]string{"mtu 1500", "up yes"}, readBack(t, sys, "ovft0")); diff != "" {
			t.Errorf("ovft0 after a refused offer (-want +got):\n%s", diff)
		}
	})
}

// TestCheckLease: the checks of a careful client, one refusal each.
func TestCheckLease(t *testing.T) {
	srv := net.IPv4(192, 0, 2, 1).To4()
	msg := func(mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
		m, err := dhcpv4.New(append([]dhcpv4.Modifier{
			dhcpv4.WithMessageType(dhcpv4.MessageTypeAck),
			dhcpv4.WithYourIP(net.IPv4(192, 0, 2, 50)),
			dhcpv4.WithOption(dhcpv4.OptServerIdentifier(srv)),
			dhcpv4.WithNetmask(net.CIDRMask(24, 32)),
			dhcpv4.WithRouter(srv),
			dhcpv4.WithLeaseTime(3600),
		}, mods...)...)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, tc := range []struct {
		name  string
		offer *dhcpv4.DHCPv4
		ack   *dhcpv4.DHCPv4
		want  string // "" for accepted
	}{
		{"good", msg(), msg(), ""},
		{"a /31 takes its low address", nil, msg(dhcpv4.WithYourIP(net.IPv4(192, 0, 2, 50)), dhcpv4.WithNetmask(net.CIDRMask(31, 32))), ""},
		{"ACK not the offer", msg(dhcpv4.WithYourIP(net.IPv4(192, 0, 2, 51))), msg(), "the ACK's address 192.0.2.50 is not the offered 192.0.2.51"},
		{"no address", nil, msg(dhcpv4.WithYourIP(net.IPv4zero)), "no address"},
		{"no server identifier", nil, msg(dhcpv4.WithoutOption(dhcpv4.OptionServerIdentifier)), "names no server"},
		{"network address", nil, msg(dhcpv4.WithYourIP(net.IPv4(192, 0, 2, 0))), "network address of 192.0.2.0/24"},
		{"broadcast address", nil, msg(dhcpv4.WithYourIP(net.IPv4(192, 0, 2, 255))), "broadcast address of 192.0.2.0/24"},
		{"multicast", nil, msg(dhcpv4.WithYourIP(net.IPv4(224, 0, 0, 5))), "not a usable unicast"},
		{"loopback", nil, msg(dhcpv4.WithYourIP(net.IPv4(127, 0, 0, 2))), "not a usable unicast"},
		{"link-local", nil, msg(dhcpv4.WithYourIP(net.IPv4(169, 254, 3, 4))), "not a usable unicast"},
		{"class E", nil, msg(dhcpv4.WithYourIP(net.IPv4(240, 0, 0, 9))), "not a usable unicast"},
		{"mask not contiguous", nil, msg(dhcpv4.WithNetmask(net.IPv4Mask(255, 0, 255, 0))), "not contiguous"},
		{"router multicast", nil, msg(dhcpv4.WithRouter(net.IPv4(239, 1, 1, 1))), "router 239.1.1.1"},
		{"zero lease", nil, msg(dhcpv4.WithLeaseTime(0)), "zero seconds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkLease(tc.offer, tc.ack)
			if tc.want == "" {
				if err != nil {
					t.Errorf("checkLease = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("checkLease = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// handoverRunner records the argv it is asked to run and the IPv4
// addresses on ifname at that moment.
type handoverRunner struct {
	h      *netlink.Handle
	ifname string
	argv   [][]string
	addrs  []string
}

func (r *handoverRunner) Run(_ context.Context, c cmdrun.Cmd) (cmdrun.Result, error) {
	r.argv = append(r.argv, c.Argv)
	if l, err := r.h.LinkByName(r.ifname); err == nil {
		as, _ := r.h.AddrList(l, netlink.FAMILY_V4)
		for _, a := range as {
			r.addrs = append(r.addrs, a.IPNet.String())
		}
	}
	return cmdrun.Result{}, nil
}

// leaseServerAndClient serves leases on ovfp0 (192.0.2.1, leases of an
// hour) and returns an image root whose DHCP client is the executable
// client (a path under the root).
func leaseServerAndClient(t *testing.T, h *netlink.Handle, client string) string {
	t.Helper()
	srvLink, err := h.LinkByName("ovfp0")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.AddrAdd(srvLink, &netlink.Addr{IPNet: ipnet(pfx("192.0.2.1/24"))}); err != nil {
		t.Fatal(err)
	}
	testDHCPServer(t, "ovfp0", time.Hour, make(chan *dhcpv4.DHCPv4, 4))
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, filepath.Dir(client)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, client), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return root
}

// TestStartDHCP4LeaseFirst: with a DHCP client in the image, ovfinit takes
// the lease itself first and only then starts the image's client (which
// took 8-10 s to a lease on Debian 13): the address is on the NIC when the
// client is started. The old code started the image's client and
// returned with no address.
func TestStartDHCP4LeaseFirst(t *testing.T) {
	inNetns(t, func(h *netlink.Handle) {
		root := leaseServerAndClient(t, h, "usr/sbin/dhcpcd")
		run := &handoverRunner{h: h, ifname: "ovft0"}
		handed := make(chan (<-chan struct{}), 1)
		if err := StartDHCP4(t.Context(), root, "ovft0", run, h, DHCP4Options{Timeout: 2 * time.Second, Retries: 3, Log: testLogger(t), OnHandOver: func(c <-chan struct{}) { handed <- c }}); err != nil {
			t.Fatalf("StartDHCP4(ovft0) = %v", err)
		}
		select {
		case started := <-handed:
			<-started
		default:
			t.Fatal("StartDHCP4(ovft0) returned without handing the NIC over")
		}
		if want := [][]string{{"/usr/sbin/dhcpcd", "-b", "ovft0"}}; !cmp.Equal(run.argv, want) {
			t.Errorf("StartDHCP4(ovft0) ran %q, want %q", run.argv, want)
		}
		if want := []string{"192.0.2.50/24"}; !cmp.Equal(run.addrs, want) {
			t.Errorf("addresses on ovft0 when the image's client was started = %q, want %q (the lease first)", run.addrs, want)
		}
		sys := &Linux{H: h, Root: t.TempDir()}
		wantState := []string{"addr 192.0.2.50/24", "mtu 1500", "route default via 192.0.2.1 metric 100", "up yes"}
		if diff := cmp.Diff(wantState, readBack(t, sys, "ovft0")); diff != "" {
			t.Errorf("ovft0 after StartDHCP4 (-want +got):\n%s", diff)
		}
	})
}

// TestStartDHCP4HandOverWaits: with HandOver, the image's client starts
// only once it is closed (the agent closes it once the manager has the
// ready event): the lease of ovfinit's own is on the NIC meanwhile.
func TestStartDHCP4HandOverWaits(t *testing.T) {
	inNetns(t, func(h *netlink.Handle) {
		root := leaseServerAndClient(t, h, "sbin/dhclient")
		run := &handoverRunner{h: h, ifname: "ovft0"}
		handed := make(chan (<-chan struct{}), 1)
		hold := make(chan struct{})
		if err := StartDHCP4(t.Context(), root, "ovft0", run, h, DHCP4Options{Timeout: 2 * time.Second, Retries: 3, Log: testLogger(t), HandOver: hold, OnHandOver: func(c <-chan struct{}) { handed <- c }}); err != nil {
			t.Fatalf("StartDHCP4(ovft0) = %v", err)
		}
		started := <-handed
		select {
		case <-started:
			t.Fatal("the image's client was started before HandOver was closed")
		case <-time.After(300 * time.Millisecond):
		}
		sys := &Linux{H: h, Root: t.TempDir()}
		if got := readBack(t, sys, "ovft0"); !slices.Contains(got, "addr 192.0.2.50/24") {
			t.Errorf("ovft0 while the hand-over waits: %q, want ovfinit's lease on it", got)
		}
		close(hold)
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Fatal("the image's client was not started once HandOver was closed")
		}
		if want := [][]string{{"/sbin/dhclient", "-nw", "ovft0"}}; !cmp.Equal(run.argv, want) {
			t.Errorf("ran %q, want %q", run.argv, want)
		}
	})
}

// TestLinuxWaitHandOver: the live system (NewSystem) records a held
// hand-over, and WaitHandOver returns only once the image's client has
// been run: ovfinit waits so before it exits, or nothing would renew the
// lease.
func TestLinuxWaitHandOver(t *testing.T) {
	inNetns(t, func(h *netlink.Handle) {
		root := leaseServerAndClient(t, h, "sbin/dhclient")
		sys, err := NewSystem(root)
		if err != nil {
			t.Fatal(err)
		}
		l := sys.(*Linux)
		defer l.Close()
		run := &handoverRunner{h: h, ifname: "ovft0"}
		l.Run = run
		hold := make(chan struct{})
		l.HoldHandOver(hold)
		if err := l.WaitHandOver(t.Context()); err != nil {
			t.Fatalf("WaitHandOver with no hand-over = %v, want nil at once", err)
		}
		if err := l.DHCP4(t.Context(), "ovft0"); err != nil {
			t.Fatalf("DHCP4(ovft0) = %v", err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		if err := l.WaitHandOver(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("WaitHandOver while held = %v, want it to wait (deadline exceeded)", err)
		}
		close(hold)
		ctx, cancel = context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		if err := l.WaitHandOver(ctx); err != nil {
			t.Fatalf("WaitHandOver once released = %v", err)
		}
		if want := [][]string{{"/sbin/dhclient", "-nw", "ovft0"}}; !cmp.Equal(run.argv, want) {
			t.Errorf("when WaitHandOver returned, the image's client had run %q, want %q", run.argv, want)
		}
	})
}

// TestStartDHCP4NoLeaseHandsOver: with no answer, the image's client is
// started all the same (it keeps trying) and StartDHCP4 does not fail.
func TestStartDHCP4NoLeaseHandsOver(t *testing.T) {
	inNetns(t, func(h *netlink.Handle) {
		root := t.TempDir()
		os.MkdirAll(filepath.Join(root, "sbin"), 0o755)
		if err := os.WriteFile(filepath.Join(root, "sbin/dhclient"), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		run := &handoverRunner{h: h, ifname: "ovft1"}
		err := StartDHCP4(t.Context(), root, "ovft1", run, h, DHCP4Options{Timeout: 300 * time.Millisecond, Retries: 1, Log: testLogger(t)})
		if err != nil {
			t.Fatalf("StartDHCP4(ovft1) with no server = %v, want nil (the image's client keeps trying)", err)
		}
		if want := [][]string{{"/sbin/dhclient", "-nw", "ovft1"}}; !cmp.Equal(run.argv, want) {
			t.Errorf("StartDHCP4(ovft1) ran %q, want %q", run.argv, want)
		}
	})
}

// TestOutsideUnit: under systemd the image's client is started in a scope
// of its own, so that it outlives ovfinit's unit (systemd killed dhclient
// with the unit when ovfinit exited); without systemd, or without
// systemd-run, as it is.
func TestOutsideUnit(t *testing.T) {
	argv := []string{"/sbin/dhclient", "-nw", "ens2"}
	for _, c := range []struct {
		name string
		dirs []string
		exes []string
		want []string
	}{
		{"no systemd", nil, []string{"usr/bin/systemd-run"}, argv},
		{"systemd without systemd-run", []string{"run/systemd/system"}, nil, argv},
		{"systemd", []string{"run/systemd/system"}, []string{"usr/bin/systemd-run"}, append([]string{"/usr/bin/systemd-run", "--scope", "--quiet"}, argv...)},
		{"systemd, /bin", []string{"run/systemd/system"}, []string{"bin/systemd-run"}, append([]string{"/bin/systemd-run", "--scope", "--quiet"}, argv...)},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			for _, d := range c.dirs {
				if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for _, e := range c.exes {
				if err := os.MkdirAll(filepath.Join(root, filepath.Dir(e)), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(root, e), []byte("#!/bin/sh\n"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if got := outsideUnit(root, argv); !cmp.Equal(got, c.want) {
				t.Errorf("outsideUnit() = %q, want %q", got, c.want)
			}
		})
	}
}

func TestOSDHCPClient(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files []string // executables under root
		want  []string
	}{
		{"none", nil, nil},
		{"dhcpcd", []string{"/usr/sbin/dhcpcd", "/sbin/udhcpc"}, []string{"/usr/sbin/dhcpcd", "-b", "eth1"}},
		{"dhclient", []string{"/sbin/dhclient"}, []string{"/sbin/dhclient", "-nw", "eth1"}},
		{"udhcpc without its script", []string{"/bin/udhcpc"}, nil},
		{"udhcpc with its script", []string{"/bin/udhcpc", "/usr/share/udhcpc/default.script"},
			[]string{"/bin/udhcpc", "-b", "-s", "/usr/share/udhcpc/default.script", "-i", "eth1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for _, f := range tc.files {
				p := filepath.Join(root, f)
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if got := OSDHCPClient(root, "eth1"); !cmp.Equal(got, tc.want) {
				t.Errorf("OSDHCPClient(%q) = %q, want %q", tc.files, got, tc.want)
			}
		})
	}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}
