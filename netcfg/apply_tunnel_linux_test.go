//go:build linux

package netcfg

import (
	"slices"
	"testing"

	"github.com/vishvananda/netlink"
)

// TestLinuxTunnels applies each tunnel mode and a VRF in a network
// namespace the test makes, and reads it back with netlink: kind,
// endpoints, keys, VNI, port, the vxlan's device, the VRF's table and
// members, and the tunnel's address; a second plan asks for no link to be
// made again. A mode this kernel lacks (EOPNOTSUPP) skips its subtest. A
// WireGuard tunnel is not made live (the image's manager makes it).
func TestLinuxTunnels(t *testing.T) {
	const eth = "version: 2\nethernets:\n  u: {match: {name: ovft0}, addresses: [10.0.0.5/24, \"fd00::5/64\"]}\n  m: {match: {name: ovft1}, addresses: [10.1.0.5/24]}\n"
	inNetns(t, func(h *netlink.Handle) {
		get := func(t *testing.T, name string) netlink.Link {
			l, err := h.LinkByName(name)
			if err != nil {
				t.Fatalf("%s not made: %v", name, err)
			}
			return l
		}
		for _, c := range []struct {
			name, doc string
			check     func(t *testing.T)
		}{
			{"vxlan", "tunnels:\n  vx42: {mode: vxlan, id: 42, link: u, local: 10.0.0.5, remote: 10.0.0.12, port: 4790, mac-learning: false, addresses: [172.16.9.1/24]}\n", func(t *testing.T) {
				u := get(t, "ovft0")
				if v, ok := get(t, "vx42").(*netlink.Vxlan); !ok || v.VxlanId != 42 || v.Port != 4790 || v.Learning || v.VtepDevIndex != u.Attrs().Index || v.Group.String() != "10.0.0.12" || v.SrcAddr.String() != "10.0.0.5" {
					t.Errorf("vx42 = %+v, want vxlan id 42 dstport 4790 nolearning dev ovft0 local 10.0.0.5 remote 10.0.0.12", get(t, "vx42"))
				}
				if got := readBack(t, &Linux{H: h}, "vx42"); !slices.Contains(got, "addr 172.16.9.1/24") || !slices.Contains(got, "up yes") {
					t.Errorf("vx42 = %v, want up with 172.16.9.1/24", got)
				}
			}},
			{"vxlan-default-port", "tunnels:\n  vx43: {mode: vxlan, id: 43}\n", func(t *testing.T) {
				if v, ok := get(t, "vx43").(*netlink.Vxlan); !ok || v.Port != 4789 || !v.Learning {
					t.Errorf("vx43 = %+v, want networkd's defaults: dstport 4789, learning", get(t, "vx43"))
				}
			}},
			{"gre", "tunnels:\n  gre1: {mode: gre, local: 10.0.0.5, remote: 10.0.0.9, ttl: 64, keys: {input: 5, output: 0.0.0.6}, addresses: [172.16.0.1/30]}\n", func(t *testing.T) {
				if g, ok := get(t, "gre1").(*netlink.Gretun); !ok || g.Local.String() != "10.0.0.5" || g.Remote.String() != "10.0.0.9" || g.Ttl != 64 || g.IKey != 5 || g.OKey != 6 {
					t.Errorf("gre1 = %+v, want gre 10.0.0.5 -> 10.0.0.9 ttl 64 ikey 5 okey 6", get(t, "gre1"))
				}
			}},
			{"ip6gre", "tunnels:\n  gre6: {mode: ip6gre, local: \"fd00::5\", remote: \"fd00::9\"}\n", func(t *testing.T) {
				if l := get(t, "gre6"); l.Type() != "ip6gre" {
					t.Errorf("gre6 type = %s, want ip6gre", l.Type())
				}
			}},
			{"ipip", "tunnels:\n  ipip1: {mode: ipip, local: 10.0.0.5, remote: 10.0.0.10}\n", func(t *testing.T) {
				if l, ok := get(t, "ipip1").(*netlink.Iptun); !ok || l.Remote.String() != "10.0.0.10" {
					t.Errorf("ipip1 = %+v, want ipip to 10.0.0.10", get(t, "ipip1"))
				}
			}},
			{"sit", "tunnels:\n  sit1: {mode: sit, local: 10.0.0.5, remote: 10.0.0.11}\n", func(t *testing.T) {
				if l, ok := get(t, "sit1").(*netlink.Sittun); !ok || l.Remote.String() != "10.0.0.11" {
					t.Errorf("sit1 = %+v, want sit to 10.0.0.11", get(t, "sit1"))
				}
			}},
			{"vrf", "vrfs:\n  blue: {table: 42, interfaces: [m]}\n", func(t *testing.T) {
				vrf := get(t, "blue")
				if v, ok := vrf.(*netlink.Vrf); !ok || v.Table != 42 {
					t.Errorf("blue = %+v, want a vrf with table 42", vrf)
				}
				if m := get(t, "ovft1"); m.Attrs().MasterIndex != vrf.Attrs().Index {
					t.Errorf("ovft1's master = %d, want blue (%d)", m.Attrs().MasterIndex, vrf.Attrs().Index)
				}
			}},
			{"wireguard", "tunnels:\n  wg0:\n    mode: wireguard\n    key: " + wgPriv + "\n    addresses: [10.10.10.20/24]\n    peers: [{keys: {public: " + wgPub + "}, allowed-ips: [10.9.0.0/24]}]\n", func(t *testing.T) {
				if _, err := h.LinkByName("wg0"); err == nil {
					t.Errorf("wg0 made live; want it left to the image's manager")
				}
			}},
		} {
			t.Run(c.name, func(t *testing.T) {
				sys := &Linux{H: h, Root: t.TempDir()}
				cfg := applyDoc(t, sys, eth+c.doc)
				c.check(t)
				cur, err := sys.Current()
				if err != nil {
					t.Fatal(err)
				}
				again, _, err := Plan(cfg, cur, Applied{})
				if err != nil {
					t.Fatal(err)
				}
				for _, op := range again {
					if op.Kind == OpLinkAdd || op.Kind == OpLinkMaster {
						t.Errorf("Plan after apply has %q, want no link made or enslaved again", op)
					}
				}
			})
		}
	})
}
