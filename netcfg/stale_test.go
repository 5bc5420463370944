package netcfg

import (
	"slices"
	"testing"
)

// TestStale: only files ovfinit wrote (its header, and a name that says
// ovfinit or a network-scripts name) and no longer writes are stale.
func TestStale(t *testing.T) {
	ours := []byte(header + "x\n")
	present := map[string][]byte{
		"/etc/systemd/network/10-ovfinit-eth0.network":     ours,
		"/etc/systemd/network/10-ovfinit-lan0.network":     ours,
		"/etc/systemd/network/10-ovfinit-fallback.network": ours,
		"/etc/systemd/network/50-image.network":            []byte("[Match]\n"),
		"/etc/systemd/network/10-ovfinit-hand.network":     []byte("# hand-written\n"),
		"/etc/systemd/network/20-copied.network":           ours, // our header, but not our name
		"/etc/sysconfig/network-scripts/ifcfg-eth0":        ours,
		"/etc/sysconfig/network-scripts/ifcfg-eth1":        []byte("DEVICE=eth1\n"),
		"/etc/sysconfig/network-scripts/route-eth0":        ours,
		"/etc/udev/rules.d/70-ovfinit-net-names.rules":     ours,
	}
	files := []File{{Path: "/etc/systemd/network/10-ovfinit-lan0.network"}, {Path: "/etc/sysconfig/network-scripts/ifcfg-lan0"}}
	got := Stale(present, files)
	want := []string{
		"/etc/sysconfig/network-scripts/ifcfg-eth0",
		"/etc/sysconfig/network-scripts/route-eth0",
		"/etc/systemd/network/10-ovfinit-eth0.network",
		"/etc/systemd/network/10-ovfinit-fallback.network",
		"/etc/udev/rules.d/70-ovfinit-net-names.rules",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Stale = %q, want %q", got, want)
	}
}
