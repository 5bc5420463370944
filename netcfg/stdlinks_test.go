package netcfg

import (
	"net"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestLinkFromStd(t *testing.T) {
	ipnet := func(s string) *net.IPNet {
		ip, n, err := net.ParseCIDR(s)
		if err != nil {
			t.Fatal(err)
		}
		n.IP = ip
		return n
	}
	// An IPv4 address as some systems report it: 16 bytes, a 4-byte mask.
	mapped := &net.IPNet{IP: net.ParseIP("10.0.2.15"), Mask: net.CIDRMask(24, 32)}
	for _, tc := range []struct {
		name  string
		i     net.Interface
		addrs []net.Addr
		want  Link
	}{
		{
			name: "ethernet up, global addresses kept, link-local dropped",
			i:    net.Interface{Index: 2, Name: "em0", MTU: 1500, HardwareAddr: mac("52:54:00:12:34:56"), Flags: net.FlagUp | net.FlagBroadcast},
			addrs: []net.Addr{ipnet("10.0.2.15/24"), ipnet("fe80::1/64"), ipnet("169.254.1.1/16"),
				ipnet("fd00:2::15/64"), mapped, &net.IPAddr{IP: net.ParseIP("10.9.9.9")}},
			want: Link{Index: 2, Name: "em0", MTU: 1500, MAC: mac("52:54:00:12:34:56"), Up: true, Ethernet: true,
				Addrs: []netip.Prefix{
					netip.MustParsePrefix("10.0.2.15/24"),
					netip.MustParsePrefix("fd00:2::15/64"),
					netip.MustParsePrefix("10.0.2.15/24"),
				}},
		},
		{
			name:  "loopback is not ethernet",
			i:     net.Interface{Index: 1, Name: "lo0", MTU: 16384, Flags: net.FlagUp | net.FlagLoopback},
			addrs: []net.Addr{ipnet("127.0.0.1/8")},
			want:  Link{Index: 1, Name: "lo0", MTU: 16384, Up: true, Addrs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/8")}},
		},
		{
			name: "down, six-byte MAC",
			i:    net.Interface{Index: 3, Name: "Ethernet 2", MTU: 1400, HardwareAddr: mac("52:54:00:12:34:57")},
			want: Link{Index: 3, Name: "Ethernet 2", MTU: 1400, MAC: mac("52:54:00:12:34:57"), Ethernet: true},
		},
		{
			name: "not a six-byte MAC",
			i:    net.Interface{Index: 4, Name: "ib0", MTU: 2044, HardwareAddr: make(net.HardwareAddr, 20), Flags: net.FlagUp},
			want: Link{Index: 4, Name: "ib0", MTU: 2044, MAC: make(net.HardwareAddr, 20), Up: true},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := linkFromStd(tc.i, tc.addrs)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateComparable(netip.Prefix{}), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("linkFromStd(%+v, %v) (-want +got):\n%s", tc.i, tc.addrs, diff)
			}
		})
	}
}

// TestStdLinks reads this machine's interfaces: one link for each that
// net.Interfaces lists, with its name.
func TestStdLinks(t *testing.T) {
	ifs, err := net.Interfaces()
	if err != nil {
		t.Skipf("net.Interfaces: %v", err)
	}
	links, err := stdLinks()
	if err != nil {
		t.Fatalf("stdLinks() error: %v", err)
	}
	var want, got []string
	for _, i := range ifs {
		want = append(want, i.Name)
	}
	for _, l := range links {
		got = append(got, l.Name)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stdLinks() names (-want +got):\n%s", diff)
	}
}
