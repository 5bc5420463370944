package netcfg

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// renderCases are resolved configs (Name set) every renderer is run on.
var renderCases = map[string]Config{
	"two-nics": {
		NICs: []NIC{
			{ID: "lan", Name: "eth0", MAC: mac("52:54:00:12:34:56"), MTU: 9000,
				Addresses: []netip.Prefix{pfx("10.0.2.15/24"), pfx("10.0.2.16/24"), pfx("fd00::15/64")},
				Gateway4:  ip("10.0.2.2"), Gateway6: ip("fd00::1"),
				Routes: []Route{{To: pfx("192.168.100.0/24"), Via: ip("10.0.2.254"), Metric: 100}},
				DNS:    []netip.Addr{ip("10.0.2.3")}, Search: []string{"example.com"}},
			{ID: "wan", Name: "eth1", MAC: mac("52:54:00:12:34:57"), DHCP4: true, DHCP6: true},
		},
		DNS: []netip.Addr{ip("1.1.1.1")},
	},
	"bond-vlan": {
		NICs: []NIC{
			{ID: "eno1", Name: "eno1", MAC: mac("52:54:00:00:00:01")},
			{ID: "eno2", Name: "eno2", MAC: mac("52:54:00:00:00:02")},
			{ID: "bond0", Name: "bond0", Kind: Bond, Members: []string{"eno1", "eno2"}, BondMode: "active-backup",
				Addresses: []netip.Prefix{pfx("10.1.0.10/24")}, Gateway4: ip("10.1.0.1")},
			{ID: "vlan20", Name: "vlan20", Kind: VLAN, Link: "bond0", VLANID: 20, DHCP4: true},
		},
	},
	// Resolved: ens5 renamed to lan0 by set-name; bond parameters.
	"rename-bond-params": {
		NICs: []NIC{
			{ID: "lan", Name: "lan0", CurName: "ens5", SetName: "lan0", MAC: mac("52:54:00:00:00:03"), Up: true, DHCP4: true},
			{ID: "e1", Name: "eno1", CurName: "eno1", MAC: mac("52:54:00:00:00:01"), Up: true},
			{ID: "e2", Name: "eno2", CurName: "eno2", MAC: mac("52:54:00:00:00:02"), Up: true},
			{ID: "bond0", Name: "bond0", Kind: Bond, Members: []string{"e1", "e2"}, BondMode: "active-backup", Up: true,
				Bond: BondParams{MIIMonitorInterval: 100, Primary: "e1", UpDelay: 200, DownDelay: 200, MinLinks: 1,
					LACPRate: "fast", TransmitHashPolicy: "layer3+4", ARPInterval: 0, ARPIPTargets: nil},
				Addresses: []netip.Prefix{pfx("10.1.0.10/24")}},
		},
	},
}

// TestRender diffs every renderer's output for every case against
// testdata/render/<manager>/<case>.txt (go test -update rewrites them).
func TestRender(t *testing.T) {
	for _, m := range []Manager{ManagerNetworkd, ManagerNetplan, ManagerNetworkManager, ManagerIfupdown, ManagerIfcfg, ManagerRCConf} {
		for name, cfg := range renderCases {
			t.Run(string(m)+"/"+name, func(t *testing.T) {
				if err := Validate(cfg); err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				files, err := Render(m, cfg)
				var b strings.Builder
				if err != nil {
					// Refused on purpose: the golden file records why.
					fmt.Fprintf(&b, "refused: %v\n", err)
				}
				for _, f := range files {
					fmt.Fprintf(&b, "=== %s (%o)\n%s", f.Path, f.Mode, f.Data)
				}
				golden(t, filepath.Join("testdata/render", string(m), name+".txt"), []byte(b.String()))
			})
		}
	}
}

func TestRenderNetplanParses(t *testing.T) {
	// What we write for netplan must read back as the same configuration.
	files, _ := Render(ManagerNetplan, renderCases["two-nics"])
	cfg, _, err := ParseNetworkConfig(files[0].Data)
	if err != nil {
		t.Fatalf("ParseNetworkConfig(rendered netplan) = %v\n%s", err, files[0].Data)
	}
	if err := Validate(cfg); err != nil {
		t.Fatalf("Validate(reparsed) = %v", err)
	}
	if len(cfg.NICs) != 2 || len(cfg.NICs[0].Addresses) != 3 || !cfg.NICs[1].DHCP4 {
		t.Errorf("reparsed netplan = %+v", cfg)
	}
}

func TestDetectManager(t *testing.T) {
	tests := []struct {
		files []string
		want  Manager
	}{
		{nil, ManagerNone},
		{[]string{"usr/sbin/netplan", "usr/lib/systemd/systemd-networkd"}, ManagerNetplan},
		{[]string{"usr/sbin/NetworkManager", "etc/sysconfig/network-scripts/x"}, ManagerNetworkManager},
		{[]string{"etc/network/interfaces", "sbin/ifup", "lib/systemd/systemd-networkd"}, ManagerIfupdown},
		{[]string{"etc/network/interfaces", "lib/systemd/systemd-networkd"}, ManagerNetworkd},
		{[]string{"etc/sysconfig/network-scripts/ifcfg-lo"}, ManagerIfcfg},
		{[]string{"etc/rc.conf", "usr/sbin/sysrc"}, ManagerRCConf},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.files, ","), func(t *testing.T) {
			root := t.TempDir()
			for _, f := range tt.files {
				os.MkdirAll(filepath.Join(root, filepath.Dir(f)), 0o755)
				os.WriteFile(filepath.Join(root, f), nil, 0o755)
			}
			if got := DetectManager(root); got != tt.want {
				t.Errorf("DetectManager(%q) = %s, want %s", tt.files, got, tt.want)
			}
		})
	}
}

func TestIfupdownSourced(t *testing.T) {
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"debian default", "source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n", true},
		{"source-directory", "source-directory /etc/network/interfaces.d/\n", true},
		{"relative", "source-directory interfaces.d\n", true},
		{"one file", "source /etc/network/interfaces.d/50-ovfinit\n", true},
		{"none", "auto lo\niface lo inet loopback", false},
		{"other dir", "source /etc/network/other.d/*\n", false},
		{"commented", "# source /etc/network/interfaces.d/*\n", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := IfupdownSourced([]byte(tt.in))
			if ok != tt.ok {
				t.Fatalf("IfupdownSourced(%q) ok = %v, want %v", tt.in, ok, tt.ok)
			}
			if ok && string(got) != tt.in {
				t.Errorf("IfupdownSourced(%q) changed a file that needed nothing: %q", tt.in, got)
			}
			if !ok {
				if !strings.HasPrefix(string(got), tt.in) || !strings.HasSuffix(string(got), "source-directory /etc/network/interfaces.d\n") {
					t.Errorf("IfupdownSourced(%q) = %q, want the file with a source-directory line appended", tt.in, got)
				}
				if _, ok2 := IfupdownSourced(got); !ok2 {
					t.Errorf("IfupdownSourced of the fixed file is still not sourced: %q", got)
				}
			}
		})
	}
}
