package netcfg

import (
	"net/netip"
	"strings"
	"testing"
)

// TestRenderPerNICDNS: netplan's per-interface nameservers stay on their
// interface for NetworkManager and ifupdown too (they were all merged onto
// the first NIC); the machine-wide ones (cloud-init v1 nameserver) go on the
// first NIC that is not a bond member.
func TestRenderPerNICDNS(t *testing.T) {
	c := Config{
		NICs: []NIC{
			{ID: "m1", Name: "eno1", MAC: mac("52:54:00:00:00:01")},
			{ID: "m2", Name: "eno2", MAC: mac("52:54:00:00:00:02")},
			{ID: "bond0", Name: "bond0", Kind: Bond, Members: []string{"m1", "m2"}, Addresses: []netip.Prefix{pfx("10.1.0.10/24")},
				DNS: []netip.Addr{ip("10.1.0.53")}, Search: []string{"bond.example"}},
			{ID: "lan", Name: "eth2", MAC: mac("52:54:00:00:00:03"), Addresses: []netip.Prefix{pfx("10.2.0.10/24")},
				DNS: []netip.Addr{ip("10.2.0.53")}, Search: []string{"lan.example"}},
		},
		DNS: []netip.Addr{ip("9.9.9.9")}, Search: []string{"corp.example"},
	}
	t.Run("networkmanager", func(t *testing.T) {
		files, err := Render(ManagerNetworkManager, c)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, f := range files {
			got[f.Path] = string(f.Data)
		}
		want := map[string][2]string{
			"/etc/NetworkManager/system-connections/ovfinit-bond0.nmconnection": {"dns=9.9.9.9;10.1.0.53;\n", "dns-search=corp.example;bond.example;\n"},
			"/etc/NetworkManager/system-connections/ovfinit-eth2.nmconnection":  {"dns=10.2.0.53;\n", "dns-search=lan.example;\n"},
		}
		for path, w := range want {
			for _, line := range w {
				if !strings.Contains(got[path], line) {
					t.Errorf("Render(networkmanager) %s lacks %q:\n%s", path, line, got[path])
				}
			}
		}
		if s := got["/etc/NetworkManager/system-connections/ovfinit-eth2.nmconnection"]; strings.Contains(s, "10.1.0.53") || strings.Contains(s, "9.9.9.9") {
			t.Errorf("eth2's connection has another interface's servers:\n%s", s)
		}
	})
	t.Run("ifupdown", func(t *testing.T) {
		files, err := Render(ManagerIfupdown, c)
		if err != nil {
			t.Fatal(err)
		}
		stanzas := map[string]string{}
		for _, st := range strings.Split(string(files[0].Data), "\niface ") {
			name, _, _ := strings.Cut(st, " ")
			stanzas[name] += st
		}
		for name, want := range map[string][]string{
			"bond0": {"dns-nameservers 9.9.9.9 10.1.0.53\n", "dns-search corp.example bond.example\n"},
			"eth2":  {"dns-nameservers 10.2.0.53\n", "dns-search lan.example\n"},
			"eno1":  nil,
		} {
			for _, w := range want {
				if !strings.Contains(stanzas[name], w) {
					t.Errorf("Render(ifupdown) iface %s lacks %q:\n%s", name, w, files[0].Data)
				}
			}
			if want == nil && strings.Contains(stanzas[name], "dns-") {
				t.Errorf("Render(ifupdown) bond member %s has DNS:\n%s", name, stanzas[name])
			}
		}
	})
}
