//go:build linux

package netcfg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ovfinit/ovfinit/internal/cmdrun"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// inNetns runs the test body in a network namespace the test creates and
// throws away, with veth pairs (this kernel has no dummy links): ovft0/ovfp0
// with MAC 52:54:00:aa:bb:01 and ovft1/ovfp1 with 52:54:00:aa:bb:02.
func inNetns(t *testing.T, f func(h *netlink.Handle)) {
	if os.Getenv("OVFINIT_QEMU_USER") != "" {
		// make cross-test: qemu-user does not translate every netlink
		// family (NewHandleAt gets "protocol not supported").
		t.Skip("under qemu-user (OVFINIT_QEMU_USER): netlink in a network namespace needs the real kernel; runs in the amd64 test run")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	ns, err := netns.New() // also switches this thread into it
	if err != nil {
		t.Skipf("cannot create a network namespace here: %v", err)
	}
	defer ns.Close()
	defer netns.Set(orig)

	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	for i, m := range []string{"52:54:00:aa:bb:01", "52:54:00:aa:bb:02"} {
		hw, _ := net.ParseMAC(m)
		name := []string{"ovft0", "ovft1"}[i]
		peer := []string{"ovfp0", "ovfp1"}[i]
		if err := h.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name, HardwareAddr: hw}, PeerName: peer}); err != nil {
			t.Fatalf("LinkAdd(veth %s) = %v", name, err)
		}
		p, err := h.LinkByName(peer)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.LinkSetUp(p); err != nil {
			t.Fatal(err)
		}
	}
	f(h)
}

// readBack renders the kernel state of a link as text lines to diff.
func readBack(t *testing.T, sys *Linux, name string) []string {
	t.Helper()
	cur, err := sys.Current()
	if err != nil {
		t.Fatalf("Current() = %v", err)
	}
	for _, l := range cur.Links {
		if l.Name != name {
			continue
		}
		out := []string{"up " + map[bool]string{true: "yes", false: "no"}[l.Up], "mtu " + itoa(l.MTU)}
		for _, a := range l.Addrs {
			out = append(out, "addr "+a.String())
		}
		for _, r := range l.Routes {
			out = append(out, "route "+r.String())
		}
		slices.Sort(out)
		return out
	}
	t.Fatalf("no link %s", name)
	return nil
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestLinuxApply(t *testing.T) {
	inNetns(t, func(h *netlink.Handle) {
		root := t.TempDir()
		run := &cmdrun.Fake{}
		sys := &Linux{H: h, Root: root, Run: run}
		full := Config{
			NICs: []NIC{
				{ID: "a", MAC: mac("52:54:00:aa:bb:01"), MTU: 1400,
					Addresses: []netip.Prefix{pfx("192.0.2.10/24"), pfx("192.0.2.11/24"), pfx("2001:db8::10/64")},
					Gateway4:  ip("192.0.2.1"),
					Routes:    []Route{{To: pfx("198.51.100.0/24"), Via: ip("192.0.2.254"), Metric: 50}},
				},
				{ID: "b", MAC: mac("52:54:00:aa:bb:02"), Addresses: []netip.Prefix{pfx("203.0.113.5/28")}},
			},
			DNS:    []netip.Addr{ip("192.0.2.53")},
			Search: []string{"example.com"},
		}
		apply := func(cfg Config, prev Applied) ([]Op, Applied) {
			t.Helper()
			cur, err := sys.Current()
			if err != nil {
				t.Fatalf("Current() = %v", err)
			}
			ops, next, err := Plan(cfg, cur, prev)
			if err != nil {
				t.Fatalf("Plan() = %v", err)
			}
			if err := sys.Apply(t.Context(), ops); err != nil {
				t.Fatalf("Apply(%q) = %v", ops2text(ops), err)
			}
			return ops, next
		}

		ops, applied := apply(full, Applied{})
		if len(ops) == 0 {
			t.Fatal("Plan() of the full config = no ops")
		}
		want := []string{"addr 192.0.2.10/24", "addr 192.0.2.11/24", "addr 2001:db8::10/64", "mtu 1400",
			"route 198.51.100.0/24 via 192.0.2.254 metric 50", "route default via 192.0.2.1", "up yes"}
		if diff := cmp.Diff(want, readBack(t, sys, "ovft0")); diff != "" {
			t.Errorf("ovft0 after apply (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"addr 203.0.113.5/28", "mtu 1500", "up yes"}, readBack(t, sys, "ovft1")); diff != "" {
			t.Errorf("ovft1 after apply (-want +got):\n%s", diff)
		}
		rc, err := os.ReadFile(filepath.Join(root, "etc/resolv.conf"))
		if err != nil || !strings.Contains(string(rc), "nameserver 192.0.2.53\nsearch example.com\n") {
			t.Errorf("resolv.conf = %q, %v; want nameserver 192.0.2.53 and search example.com", rc, err)
		}

		// Twice: nothing left to do.
		if ops, _ := apply(full, applied); len(ops) != 0 {
			t.Errorf("second Plan() = %q, want no ops", ops2text(ops))
		}

		// Shrunk: one address and both routes dropped; an address someone
		// else added stays.
		if err := sys.Apply(t.Context(), []Op{{Kind: OpAddrReplace, Link: "ovft0", Prefix: pfx("10.7.7.7/8")}}); err != nil {
			t.Fatal(err)
		}
		shrunk := full
		shrunk.NICs = []NIC{{ID: "a", MAC: mac("52:54:00:aa:bb:01"), MTU: 1400, Addresses: []netip.Prefix{pfx("192.0.2.10/24")}}, full.NICs[1]}
		ops, _ = apply(shrunk, applied)
		wantOps := []string{
			"route del default via 192.0.2.1 dev ovft0",
			"route del 198.51.100.0/24 via 192.0.2.254 dev ovft0 metric 50",
			"addr del 192.0.2.11/24 dev ovft0",
			"addr del 2001:db8::10/64 dev ovft0",
		}
		if diff := cmp.Diff(wantOps, ops2text(ops)); diff != "" {
			t.Errorf("Plan(shrunk) (-want +got):\n%s", diff)
		}
		want = []string{"addr 10.7.7.7/8", "addr 192.0.2.10/24", "mtu 1400", "up yes"}
		if diff := cmp.Diff(want, readBack(t, sys, "ovft0")); diff != "" {
			t.Errorf("ovft0 after the shrunk apply (-want +got):\n%s", diff)
		}
		if ran := run.Lines(); len(ran) != 0 {
			t.Errorf("commands run without systemd-resolved: %q", ran)
		}
	})
}

func TestLinuxVLAN(t *testing.T) {
	inNetns(t, func(h *netlink.Handle) {
		sys := &Linux{H: h, Root: t.TempDir()}
		cfg := Config{NICs: []NIC{
			{ID: "e0", MAC: mac("52:54:00:aa:bb:01")},
			{ID: "e0.42", Kind: VLAN, Link: "e0", VLANID: 42, Addresses: []netip.Prefix{pfx("10.42.0.2/24")}},
		}}
		cur, err := sys.Current()
		if err != nil {
			t.Fatal(err)
		}
		ops, _, err := Plan(cfg, cur, Applied{})
		if err != nil {
			t.Fatal(err)
		}
		if err := sys.Apply(t.Context(), ops); errors.Is(err, unix.EOPNOTSUPP) {
			t.Skipf("this kernel has no VLAN support (8021q): %v", err)
		} else if err != nil {
			t.Fatalf("Apply(%q) = %v", ops2text(ops), err)
		}
		l, err := h.LinkByName("e0.42")
		if err != nil {
			t.Fatalf("VLAN link not created: %v", err)
		}
		if v, ok := l.(*netlink.Vlan); !ok || v.VlanId != 42 {
			t.Errorf("link e0.42 = %T %+v, want a VLAN with id 42", l, l)
		}
		if diff := cmp.Diff([]string{"addr 10.42.0.2/24", "mtu 1500", "up yes"}, readBack(t, sys, "e0.42")); diff != "" {
			t.Errorf("e0.42 after apply (-want +got):\n%s", diff)
		}
	})
}

func TestLinuxResolved(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "run/systemd/resolve"), 0o755)
	run := &cmdrun.Fake{}
	sys := &Linux{Root: root, Run: run}
	if err := sys.Apply(t.Context(), []Op{{Kind: OpDNS, DNS: []netip.Addr{ip("10.0.0.53")}, Search: []string{"corp"}}}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, ResolvedDropIn))
	if err != nil || !strings.Contains(string(b), "DNS=10.0.0.53\nDomains=corp\n") {
		t.Errorf("resolved drop-in = %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(root, "etc/resolv.conf")); err == nil {
		t.Error("resolv.conf written although systemd-resolved runs")
	}
	if diff := cmp.Diff([]string{"systemctl try-reload-or-restart systemd-resolved.service"}, run.Lines()); diff != "" {
		t.Errorf("commands (-want +got):\n%s", diff)
	}
	d, s := sys.readDNS()
	if len(d) != 1 || d[0] != ip("10.0.0.53") || len(s) != 1 {
		t.Errorf("readDNS() = %v %v, want what was written", d, s)
	}
}

// applyDoc parses a document, plans it against the namespace's links and
// applies it; it returns the ops, or skips when the kernel lacks a feature.
func applyDoc(t *testing.T, sys *Linux, doc string) Config {
	t.Helper()
	cfg, _, err := ParseNetworkConfig([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	cur, err := sys.Current()
	if err != nil {
		t.Fatal(err)
	}
	ops, _, err := Plan(cfg, cur, Applied{})
	if err != nil {
		t.Fatal(err)
	}
	if err := sys.Apply(t.Context(), ops); errors.Is(err, unix.EOPNOTSUPP) {
		t.Skipf("this kernel lacks a feature the test needs: %v", err)
	} else if err != nil {
		t.Fatalf("Apply(%q) = %v", ops2text(ops), err)
	}
	return cfg
}

// nothingLeft checks that planning cfg again asks for no link changes.
func nothingLeft(t *testing.T, sys *Linux, cfg Config) {
	t.Helper()
	cur, err := sys.Current()
	if err != nil {
		t.Fatal(err)
	}
	again, _, err := Plan(cfg, cur, Applied{})
	if err != nil {
		t.Fatalf("Plan after apply = %v", err)
	}
	if len(again) > 0 {
		t.Errorf("Plan after apply = %q, want nothing to do", ops2text(again))
	}
}

// TestLinuxRename: set-name renames the NIC live, taking it down first
// (the kernel renames only a link that is down), then configures it.
func TestLinuxRename(t *testing.T) {
	inNetns(t, func(h *netlink.Handle) {
		sys := &Linux{H: h, Root: t.TempDir()}
		if l, err := h.LinkByName("ovft0"); err == nil {
			h.LinkSetUp(l)
		}
		cfg := applyDoc(t, sys, "version: 2\nethernets:\n  lan:\n    match: {macaddress: \"52:54:00:aa:bb:01\"}\n    set-name: lan0\n    addresses: [10.7.0.2/24]\n")
		if _, err := h.LinkByName("ovft0"); err == nil {
			t.Error("ovft0 still exists after set-name lan0")
		}
		if diff := cmp.Diff([]string{"addr 10.7.0.2/24", "mtu 1500", "up yes"}, readBack(t, sys, "lan0")); diff != "" {
			t.Errorf("lan0 after apply (-want +got):\n%s", diff)
		}
		nothingLeft(t, sys, cfg)
	})
}

// TestLinuxBondParams: a bond is created with its monitoring parameters.
func TestLinuxBondParams(t *testing.T) {
	inNetns(t, func(h *netlink.Handle) {
		sys := &Linux{H: h, Root: t.TempDir()}
		cfg := applyDoc(t, sys, `version: 2
ethernets:
  m: {match: {name: ovft1}}
bonds:
  bond7:
    interfaces: [m]
    parameters: {mode: active-backup, mii-monitor-interval: 100, up-delay: 200, down-delay: 300, primary: m}
`)
		l, err := h.LinkByName("bond7")
		if err != nil {
			t.Fatalf("bond not created: %v", err)
		}
		b, ok := l.(*netlink.Bond)
		if !ok || b.Miimon != 100 || b.UpDelay != 200 || b.DownDelay != 300 {
			t.Errorf("bond7 = %T %+v, want miimon 100 updelay 200 downdelay 300", l, l)
		}
		nothingLeft(t, sys, cfg)
	})
}

// TestLinuxOnLink: a default route through a gateway outside the NIC's
// (/32) subnet is set with the onlink flag, and read back as such.
func TestLinuxOnLink(t *testing.T) {
	inNetns(t, func(h *netlink.Handle) {
		sys := &Linux{H: h, Root: t.TempDir()}
		cfg := applyDoc(t, sys, "version: 2\nethernets:\n  e:\n    match: {macaddress: \"52:54:00:aa:bb:01\"}\n    addresses: [10.9.0.2/32]\n    routes:\n    - {to: default, via: 10.9.0.1, on-link: true}\n")
		cur, err := sys.Current()
		if err != nil {
			t.Fatal(err)
		}
		want := Route{To: pfx("0.0.0.0/0"), Via: ip("10.9.0.1"), OnLink: true}
		var got []Route
		for _, l := range cur.Links {
			if l.Name == "ovft0" {
				got = l.Routes
			}
		}
		if !slices.Contains(got, want) {
			t.Errorf("routes of ovft0 = %v, want %v", got, want)
		}
		nothingLeft(t, sys, cfg)
	})
}

// TestLinuxOptionalDHCP: no DHCPv4 lease on an optional NIC does not fail
// the apply; on any other NIC it does.
func TestLinuxOptionalDHCP(t *testing.T) {
	inNetns(t, func(h *netlink.Handle) {
		sys := &Linux{H: h, Root: t.TempDir(), DHCP4: func(ctx context.Context, ifname string) error { return ErrNoLease }}
		if err := sys.Apply(t.Context(), []Op{{Kind: OpDHCP4, Link: "ovft0", Optional: true}}); err != nil {
			t.Errorf("Apply(dhcp4 optional) = %v, want nil", err)
		}
		if err := sys.Apply(t.Context(), []Op{{Kind: OpDHCP4, Link: "ovft0"}}); !errors.Is(err, ErrNoLease) {
			t.Errorf("Apply(dhcp4) = %v, want ErrNoLease", err)
		}
	})
}

// TestLinuxCommandsLogged: the live System's commands (systemctl, an OS
// DHCP client) log their argv to the logger the agent sets. NewSystem's
// runner used to be made with a nil logger, so they were never logged.
func TestLinuxCommandsLogged(t *testing.T) {
	var logs strings.Builder
	s := &Linux{Run: cmdrun.Exec{}}
	s.SetLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err := cmdrun.Run(t.Context(), s.Run, "sh", "-c", "exit 0"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), `argv="sh -c \"exit 0\""`) {
		t.Errorf("log after SetLogger = %q, want the command's quoted argv", logs.String())
	}
}

// TestLinuxBridge: a bridge is created live with its parameters, its
// member enslaved with its path cost and port priority, given its own MAC
// address; a route in another table with a source address and a policy
// rule are set; planning again asks for nothing.
func TestLinuxBridge(t *testing.T) {
	inNetns(t, func(h *netlink.Handle) {
		sys := &Linux{H: h, Root: t.TempDir()}
		cfg := applyDoc(t, sys, `version: 2
ethernets:
  m: {match: {name: ovft1}}
bridges:
  br7:
    interfaces: [m]
    macaddress: "52:54:00:aa:bb:77"
    addresses: [10.8.0.2/24]
    parameters: {stp: true, forward-delay: 4, hello-time: 3, max-age: 12, ageing-time: 50, priority: 100, path-cost: {m: 50}, port-priority: {m: 14}}
    routes:
      - {to: 10.9.0.0/16, via: 10.8.0.1, table: 100, from: 10.8.0.2}
      - {to: 10.10.0.0/16, type: blackhole}
    routing-policy:
      - {from: 10.8.0.0/24, table: 100, priority: 50}
`)
		l, err := h.LinkByName("br7")
		if err != nil {
			t.Fatalf("bridge not created: %v", err)
		}
		if l.Type() != "bridge" || l.Attrs().HardwareAddr.String() != "52:54:00:aa:bb:77" {
			t.Errorf("br7 = %s %s, want a bridge with MAC 52:54:00:aa:bb:77", l.Type(), l.Attrs().HardwareAddr)
		}
		m, _ := h.LinkByName("ovft1")
		if m.Attrs().MasterIndex != l.Attrs().Index {
			t.Errorf("ovft1's master = %d, want br7 (%d)", m.Attrs().MasterIndex, l.Attrs().Index)
		}
		if b, ok := l.(*netlink.Bridge); !ok || b.HelloTime == nil || *b.HelloTime != 300 || b.AgeingTime == nil || *b.AgeingTime != 5000 {
			t.Errorf("br7 = %+v, want hello time 300 cs, ageing time 5000 cs", l)
		}
		// IFLA_BR_* attributes the library does not parse: read them raw.
		if got := bridgeAttrs(t, l.Attrs().Index); got != "stp 1 fd 400 maxage 1200 prio 100" {
			t.Errorf("br7 bridge attributes = %q, want stp 1 fd 400 maxage 1200 prio 100", got)
		}
		if got := portAttrs(t, m.Attrs().Index); got != "cost 50 priority 14" {
			t.Errorf("ovft1 bridge port = %q, want cost 50 priority 14", got)
		}
		routes, err := h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: 100}, netlink.RT_FILTER_TABLE)
		if err != nil || len(routes) != 1 || routes[0].Src.String() != "10.8.0.2" || routes[0].Gw.String() != "10.8.0.1" {
			t.Errorf("table 100 = %v, %v, want 10.9.0.0/16 via 10.8.0.1 src 10.8.0.2", routes, err)
		}
		rules, err := h.RuleList(netlink.FAMILY_V4)
		found := false
		for _, r := range rules {
			found = found || r.Table == 100 && r.Priority == 50 && r.Src != nil && r.Src.String() == "10.8.0.0/24"
		}
		if err != nil || !found {
			t.Errorf("rules = %v, %v, want from 10.8.0.0/24 table 100 priority 50", rules, err)
		}
		cur, err := sys.Current()
		if err != nil {
			t.Fatal(err)
		}
		again, _, err := Plan(cfg, cur, Applied{})
		if err != nil {
			t.Fatal(err)
		}
		for _, op := range again {
			if op.Kind != OpRuleAdd && op.Kind != OpRouteReplace {
				t.Errorf("Plan after apply has %q, want only the rule and the blackhole route again (not read back)", op)
			}
		}
		// Applying again is harmless: the existing rule is taken as done.
		if err := sys.Apply(t.Context(), again); err != nil {
			t.Errorf("Apply again = %v", err)
		}
	})
}

// bridgeAttrs reads a bridge's STP state, forward delay, max age and
// priority from a raw RTM_GETLINK.
func bridgeAttrs(t *testing.T, index int) string {
	t.Helper()
	req := nl.NewNetlinkRequest(unix.RTM_GETLINK, unix.NLM_F_ACK)
	msg := nl.NewIfInfomsg(unix.AF_UNSPEC)
	msg.Index = int32(index)
	req.AddData(msg)
	msgs, err := req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWLINK)
	if err != nil || len(msgs) == 0 {
		t.Fatalf("RTM_GETLINK = %v", err)
	}
	attrs, err := nl.ParseRouteAttr(msgs[0][unix.SizeofIfInfomsg:])
	if err != nil {
		t.Fatal(err)
	}
	vals := map[int]uint32{}
	for _, a := range attrs {
		if a.Attr.Type != unix.IFLA_LINKINFO {
			continue
		}
		info, _ := nl.ParseRouteAttr(a.Value)
		for _, i := range info {
			if i.Attr.Type != nl.IFLA_INFO_DATA {
				continue
			}
			data, _ := nl.ParseRouteAttr(i.Value)
			for _, d := range data {
				switch len(d.Value) {
				case 4:
					vals[int(d.Attr.Type)] = native32(d.Value)
				case 2:
					vals[int(d.Attr.Type)] = uint32(d.Value[0]) | uint32(d.Value[1])<<8
				}
			}
		}
	}
	return fmt.Sprintf("stp %d fd %d maxage %d prio %d", vals[nl.IFLA_BR_STP_STATE], vals[nl.IFLA_BR_FORWARD_DELAY], vals[nl.IFLA_BR_MAX_AGE], vals[nl.IFLA_BR_PRIORITY])
}

func native32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// portAttrs reads a bridge port's path cost and priority from an AF_BRIDGE
// link dump.
func portAttrs(t *testing.T, index int) string {
	t.Helper()
	req := nl.NewNetlinkRequest(unix.RTM_GETLINK, unix.NLM_F_DUMP)
	req.AddData(nl.NewIfInfomsg(unix.AF_BRIDGE))
	msgs, err := req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWLINK)
	if err != nil {
		t.Fatalf("RTM_GETLINK AF_BRIDGE = %v", err)
	}
	for _, m := range msgs {
		if int(nl.DeserializeIfInfomsg(m).Index) != index {
			continue
		}
		attrs, _ := nl.ParseRouteAttr(m[unix.SizeofIfInfomsg:])
		for _, a := range attrs {
			if a.Attr.Type&^unix.NLA_F_NESTED != unix.IFLA_PROTINFO {
				continue
			}
			var cost, prio uint32
			port, _ := nl.ParseRouteAttr(a.Value)
			for _, p := range port {
				switch p.Attr.Type {
				case nl.IFLA_BRPORT_COST:
					cost = native32(p.Value)
				case nl.IFLA_BRPORT_PRIORITY:
					prio = uint32(p.Value[0]) | uint32(p.Value[1])<<8
				}
			}
			return fmt.Sprintf("cost %d priority %d", cost, prio)
		}
	}
	return "no bridge port"
}

// A link is pending while udev runs and has no database entry for it: its
// rules may still rename it (TestDebianImage/bookworm: eth0 became ens3
// between validate and the network step).
func TestUdevPending(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "sys"), 0o755); err != nil {
		t.Fatal(err)
	}
	if udevPending(root, 2, "eth0") {
		t.Error("pending without udev (no /run/udev/control, no daemon in the image)")
	}
	// Not started yet, but in the image: its entry is waited for.
	if err := os.MkdirAll(filepath.Join(root, "usr/lib/systemd"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "usr/lib/systemd/systemd-udevd"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if !udevPending(root, 2, "eth0") {
		t.Error("not pending, though the image has systemd-udevd, which has not started yet")
	}
	if err := os.MkdirAll(filepath.Join(root, "run/udev/data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "run/udev/control"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if !udevPending(root, 2, "eth0") {
		t.Error("not pending, though udev runs and has no entry n2 for it")
	}
	if err := os.WriteFile(filepath.Join(root, "run/udev/data/n2"), []byte("I:123\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if udevPending(root, 2, "eth0") {
		t.Error("pending, though udev has written its entry n2")
	}
	// systemd writes the entry just before it renames the link, marked:
	// the link is pending until the marks are gone.
	renaming := "I:123\nE:ID_NET_NAME=ens3\nE:ID_RENAMING=1\nE:ID_PROCESSING=1\n"
	if err := os.WriteFile(filepath.Join(root, "run/udev/data/n2"), []byte(renaming), 0o644); err != nil {
		t.Fatal(err)
	}
	if !udevPending(root, 2, "eth0") {
		t.Error("not pending, though n2 says udev is renaming it (ID_RENAMING=1)")
	}
	// The marks stay until udev has handled the rename's own event; the
	// link has its name from the rename on.
	if udevPending(root, 2, "ens3") {
		t.Error("pending, though the link already has the name udev chose (ID_NET_NAME=ens3)")
	}
	if err := os.WriteFile(filepath.Join(root, "run/udev/data/n2"), []byte("I:123\nE:ID_PROCESSING=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if !udevPending(root, 2, "eth0") {
		t.Error("not pending, though n2 says udev is processing it (ID_PROCESSING=1)")
	}
	if err := os.WriteFile(filepath.Join(root, "run/udev/data/n2"), []byte("I:123\nE:ID_NET_NAME=ens3\nE:ID_RENAMING_NOT=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if udevPending(root, 2, "eth0") {
		t.Error("pending, though n2 is written and marks nothing under way")
	}
	if !udevPending(root, 3, "eth0") {
		t.Error("link 3 not pending: n2 is another link's entry")
	}
	// UdevDone, the agent's cheap look while it waits, says the same.
	s := &Linux{Root: root}
	if !s.UdevDone(2) || s.UdevDone(3) {
		t.Errorf("UdevDone(2) = %v, UdevDone(3) = %v; want true (entry written), false (none)", s.UdevDone(2), s.UdevDone(3))
	}
}
