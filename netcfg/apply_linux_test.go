//go:build linux

package netcfg

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// TestLinuxApply applies a plan for real, in a network namespace the test
// creates and throws away, on a veth pair (this kernel has no dummy links).
func TestLinuxApply(t *testing.T) {
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
	hw, _ := net.ParseMAC("52:54:00:aa:bb:01")
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "ovft0", HardwareAddr: hw}, PeerName: "ovft1"}
	if err := h.LinkAdd(veth); err != nil {
		t.Fatalf("LinkAdd(veth) = %v", err)
	}
	peer, err := h.LinkByName("ovft1")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.LinkSetUp(peer); err != nil {
		t.Fatal(err)
	}

	root := t.TempDir()
	sys := &Linux{H: h, Root: root}
	links, err := sys.Links()
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		MAC:     hw,
		Address: netip.MustParsePrefix("192.0.2.10/24"),
		Gateway: netip.MustParseAddr("192.0.2.1"),
		DNS:     []netip.Addr{netip.MustParseAddr("192.0.2.53")},
	}
	ops, err := Plan(cfg, links)
	if err != nil {
		t.Fatalf("Plan() = %v", err)
	}
	if got := ops2text(ops); got[0] != "link set ovft0 up" {
		t.Fatalf("Plan() = %q, want it to bring ovft0 up first", got)
	}
	// Applying twice must be harmless: every op is a replace.
	for i := range 2 {
		if err := sys.Apply(context.Background(), ops); err != nil {
			t.Fatalf("Apply() #%d = %v", i+1, err)
		}
	}

	l, err := h.LinkByName("ovft0")
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := h.AddrList(l, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	if len(addrs) != 1 || addrs[0].IPNet.String() != "192.0.2.10/24" {
		t.Errorf("addresses on ovft0 = %v, want [192.0.2.10/24]", addrs)
	}
	routes, err := h.RouteList(l, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	var gw string
	for _, r := range routes {
		if r.Dst == nil || r.Dst.String() == "0.0.0.0/0" {
			gw = r.Gw.String()
		}
	}
	if gw != "192.0.2.1" {
		t.Errorf("default route via %q, want 192.0.2.1 (routes %v)", gw, routes)
	}
	rc, err := os.ReadFile(filepath.Join(root, "etc/resolv.conf"))
	if err != nil || !strings.Contains(string(rc), "nameserver 192.0.2.53") {
		t.Errorf("resolv.conf = %q, %v; want nameserver 192.0.2.53", rc, err)
	}
}
