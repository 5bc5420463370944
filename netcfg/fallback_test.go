package netcfg

import (
	"net"
	"strings"
	"testing"
)

func TestFallbackNIC(t *testing.T) {
	mac := func(last byte) net.HardwareAddr { return net.HardwareAddr{0x52, 0x54, 0, 0, 0, last} }
	eth := func(name string, carrier bool) Link {
		return Link{Name: name, MAC: mac(byte(len(name))), Ethernet: true, Carrier: carrier}
	}
	tests := []struct {
		name  string
		links []Link
		want  string // "" for none
	}{
		{"none", nil, ""},
		{"loopback and bridge only", []Link{{Name: "lo", Carrier: true}, {Name: "br0", MAC: mac(1), Carrier: true}}, ""},
		{"first by natural sort", []Link{eth("ens10", true), eth("ens9", true), eth("ens3", true)}, "ens3"},
		{"natural, not lexical", []Link{eth("eth10", true), eth("eth2", true)}, "eth2"},
		{"carrier first", []Link{eth("ens3", false), eth("ens4", true)}, "ens4"},
		{"eth0 first among the connected", []Link{eth("eth1", true), eth("eth0", true), eth("abc0", true)}, "eth0"},
		{"eth0 without carrier after a connected NIC", []Link{eth("eth0", false), eth("eth1", true)}, "eth1"},
		{"no carrier anywhere", []Link{eth("ens5", false), eth("ens4", false)}, "ens4"},
		{"bond member and veth skipped", []Link{{Name: "ens3", MAC: mac(3), Ethernet: true, Carrier: true, Master: "bond0"}, eth("veth0", true), eth("ens4", false)}, "ens4"},
		{"no MAC skipped", []Link{{Name: "ens3", Ethernet: true, Carrier: true}, eth("ens4", true)}, "ens4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := FallbackNIC(tt.links)
			if ok != (tt.want != "") || got.Name != tt.want {
				t.Errorf("FallbackNIC() = %q, %v, want %q", got.Name, ok, tt.want)
			}
		})
	}
}

// TestFallbackFileFollowsNIC: when another NIC becomes the fallback NIC,
// its files have the same paths as the old one's, so they replace them
// instead of leaving DHCP configured on the old NIC too.
func TestFallbackFileFollowsNIC(t *testing.T) {
	a := Link{Name: "eth0", MAC: mac("52:54:00:00:00:01"), Ethernet: true}
	b := Link{Name: "ens4", MAC: mac("52:54:00:00:00:02"), Ethernet: true}
	for _, m := range []Manager{ManagerNetworkd, ManagerNetworkManager, ManagerIfcfg, ManagerNetplan, ManagerIfupdown, ManagerRCConf} {
		paths := func(l Link) []string {
			rc, err := Resolve(FallbackConfig(l), []Link{l})
			if err != nil {
				t.Fatal(err)
			}
			files, err := Render(m, rc)
			if err != nil {
				t.Fatalf("Render(%s, fallback on %s) = %v", m, l.Name, err)
			}
			var p []string
			for _, f := range files {
				p = append(p, f.Path)
			}
			return p
		}
		if pa, pb := paths(a), paths(b); strings.Join(pa, " ") != strings.Join(pb, " ") {
			t.Errorf("%s: fallback files for eth0 %q, for ens4 %q: want the same paths", m, pa, pb)
		}
	}
}
