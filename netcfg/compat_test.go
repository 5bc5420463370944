package netcfg

import (
	"encoding/base64"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// planDoc parses a network-config document and plans it against links.
func planDoc(t *testing.T, doc string, links []Link) ([]string, error) {
	t.Helper()
	cfg, _, err := ParseNetworkConfig([]byte(doc))
	if err != nil {
		return nil, err
	}
	ops, _, err := Plan(cfg, Current{Links: links}, Applied{})
	return ops2text(ops), err
}

var globLinks = []Link{
	{Index: 1, Name: "lo", Up: true},
	{Index: 2, Name: "eth0", MAC: mac("52:54:00:00:00:01"), Ethernet: true, Driver: "virtio_net"},
	{Index: 3, Name: "eth1", MAC: mac("52:54:00:00:00:02"), Ethernet: true, Driver: "e1000"},
	{Index: 4, Name: "ens5", MAC: mac("52:54:00:00:00:03"), Ethernet: true, Driver: "virtio_net"},
}

// TestSample01Plans: the network-config of cloud-init's own OVF example
// (match name eth*) plans DHCP on every matching NIC, as netplan applies it.
func TestSample01Plans(t *testing.T) {
	data, err := os.ReadFile("/work/shared/ovf-env-samples/01-cloud-init-doc-example.xml")
	if err != nil {
		t.Skipf("shared sample not here: %v", err)
	}
	m := regexp.MustCompile(`oe:key="network-config" oe:value="([^"]+)"`).FindSubmatch(data)
	if m == nil {
		t.Fatal("no network-config in sample 01")
	}
	doc, err := base64.StdEncoding.DecodeString(string(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	got, err := planDoc(t, string(doc), globLinks)
	if err != nil {
		t.Fatalf("Plan(sample 01) = %v", err)
	}
	want := []string{"link set eth0 up", "dhcp4 dev eth0", "link set eth1 up", "dhcp4 dev eth1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Plan(sample 01) (-want +got):\n%s", diff)
	}
}

func TestMatchGlobs(t *testing.T) {
	tests := []struct {
		name, doc string
		want      []string
		err       string
	}{
		{"driver glob", "ethernets:\n  v:\n    match: {driver: \"virtio*\"}\n    dhcp4: true\n",
			[]string{"link set eth0 up", "dhcp4 dev eth0", "link set ens5 up", "dhcp4 dev ens5"}, ""},
		{"name and driver ANDed", "version: 2\nethernets:\n  v:\n    match: {name: \"e*\", driver: \"e1000\"}\n    dhcp4: true\n",
			[]string{"link set eth1 up", "dhcp4 dev eth1"}, ""},
		{"mac and driver ANDed, no match", "version: 2\nethernets:\n  v:\n    match: {macaddress: \"52:54:00:00:00:01\", driver: e1000}\n    dhcp4: true\n",
			nil, "v.mac: no network interface has this MAC address"},
		{"a glob that selects nothing configures nothing", "version: 2\nethernets:\n  v:\n    match: {name: \"wl*\"}\n    dhcp4: true\n  eth0:\n    dhcp4: true\n",
			[]string{"link set eth0 up", "dhcp4 dev eth0"}, ""},
		{"an exact name that selects nothing is an error", "version: 2\nethernets:\n  v:\n    match: {name: wlan0}\n    dhcp4: true\n",
			nil, "v.name: no network interface has this name: wlan0"},
		{"set-name by mac renames before up", "version: 2\nethernets:\n  v:\n    match: {macaddress: \"52:54:00:00:00:03\"}\n    set-name: lan0\n    dhcp4: true\n",
			[]string{"link set ens5 name lan0", "link set lan0 up", "dhcp4 dev lan0"}, ""},
		{"set-name with a glob selecting two", "version: 2\nethernets:\n  v:\n    match: {name: \"eth*\"}\n    set-name: lan0\n",
			nil, "v.set-name: renames one NIC, but the match selects 2: eth0, eth1"},
		{"glob primary", "version: 2\nethernets:\n  m:\n    match: {name: \"eth*\"}\nbonds:\n  bond0:\n    interfaces: [m]\n    parameters: {mode: active-backup, mii-monitor-interval: 100, primary: m}\n",
			nil, "bond0.bond.primary: the primary's match selects 2 NICs"},
		{"glob members join the bond", "version: 2\nethernets:\n  m:\n    match: {name: \"eth*\"}\nbonds:\n  bond0:\n    interfaces: [m]\n",
			[]string{"link add bond0 type bond", "link set eth0 master bond0", "link set eth1 master bond0", "link set eth0 up", "link set eth1 up", "link set bond0 up"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := planDoc(t, tt.doc, globLinks)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Plan(%q) = %v, want error containing %q", tt.doc, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Plan(%q) = %v", tt.doc, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Plan(%q) (-want +got):\n%s", tt.doc, diff)
			}
		})
	}
}

// TestRenameIdempotent: after the rename, planning again finds the link by
// its new name and does nothing more.
func TestRenameIdempotent(t *testing.T) {
	doc := "version: 2\nethernets:\n  v:\n    match: {name: ens5}\n    set-name: lan0\n    dhcp4: true\n"
	links := []Link{{Index: 4, Name: "lan0", MAC: mac("52:54:00:00:00:03"), Ethernet: true, Up: true}}
	got, err := planDoc(t, doc, links)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"dhcp4 dev lan0"}; !cmp.Equal(want, got) {
		t.Errorf("Plan after rename = %q, want %q", got, want)
	}
}

func TestBondParamsPlan(t *testing.T) {
	doc := `version: 2
ethernets:
  e1: {match: {macaddress: "52:54:00:00:00:01"}}
  e2: {match: {macaddress: "52:54:00:00:00:02"}}
bonds:
  bond0:
    interfaces: [e1, e2]
    parameters:
      mode: active-backup
      mii-monitor-interval: 100
      primary: e1
      up-delay: 200ms
      down-delay: 1s
    dhcp4: true
`
	got, err := planDoc(t, doc, globLinks)
	if err != nil {
		t.Fatal(err)
	}
	if want := "link add bond0 type bond mode active-backup miimon 100 updelay 200 downdelay 1000 primary eth0"; got[0] != want {
		t.Errorf("Plan(bond)[0] = %q, want %q", got[0], want)
	}
	bonded := []Link{globLinks[1], globLinks[2], {Index: 9, Name: "bond0", BondMode: "active-backup", Up: true,
		Bond: BondParams{MIIMonitorInterval: 100, UpDelay: 200, DownDelay: 1000, Primary: "eth0", LACPRate: "slow"}}}
	bonded[0].Master, bonded[1].Master, bonded[0].Up, bonded[1].Up = "bond0", "bond0", true, true
	got, err = planDoc(t, doc, bonded)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"dhcp4 dev bond0"}; !cmp.Equal(want, got) {
		t.Errorf("Plan(bond) on the applied bond = %q, want %q", got, want)
	}
	bonded[2].Bond.MIIMonitorInterval = 0
	got, _ = planDoc(t, doc, bonded)
	if len(got) == 0 || !strings.HasPrefix(got[0], "link set bond0 type bond mode active-backup miimon 100") {
		t.Errorf("Plan(bond) on a bond without miimon = %q, want the parameters set", got)
	}
}

// TestCloudInitV1Accepted: valid cloud-init v1 that ovfinit used to refuse.
func TestCloudInitV1Accepted(t *testing.T) {
	tests := []struct{ name, doc string }{
		{"physical without subnets (physical-3-nic)", `network:
  version: 1
  config:
    - type: physical
      name: interface0
      mac_address: "52:54:00:00:00:01"
      subnets:
        - type: static
          address: 192.168.1.10
          netmask: 255.255.255.0
          gateway: 192.168.1.1
          metric: 100
    - type: physical
      name: interface1
      mac_address: "52:54:00:00:00:02"
`},
		{"bonded pair", `version: 1
config:
  - type: physical
    name: interface0
    mac_address: "52:54:00:00:00:01"
  - type: physical
    name: interface1
    mac_address: "52:54:00:00:00:02"
  - type: bond
    name: bond0
    bond_interfaces: [interface0, interface1]
    params:
      bond-mode: active-backup
      bond_miimon: 100
    subnets:
      - type: static
        address: 192.168.0.10/24
`},
		{"v2 without version", "ethernets:\n  eth0:\n    dhcp4: true\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := planDoc(t, tt.doc, globLinks); err != nil {
				t.Errorf("Plan(%q) = %v, want no error", tt.doc, err)
			}
		})
	}
	cfg, _, _ := ParseNetworkConfig([]byte(tests[0].doc))
	if r := cfg.NICs[0].Routes; len(r) != 1 || r[0].Metric != 100 || r[0].To.Bits() != 0 {
		t.Errorf("subnet metric: routes = %v, want a default route with metric 100", r)
	}
	if cfg.NICs[1].SetName != "interface1" {
		t.Errorf("v1 name with mac_address: SetName = %q, want interface1", cfg.NICs[1].SetName)
	}
}

// TestErrorsInUserWords: no Go type names, every error has key and line.
func TestErrorsInUserWords(t *testing.T) {
	tests := []struct{ doc, want string }{
		{"version: 2\nethernets:\n  eth0:\n    routes:\n    - to: 10.0.0.0/8\n      via: 10.0.0.1\n      mtu: 1400\n",
			`line 7: "mtu" in a route is not supported by ovfinit yet`},
		{"version: 2\nethernets:\n  eth0:\n    dhcp4: true\n    emit-lldp: true\n", `line 5: "emit-lldp" in an interface is not supported by ovfinit yet`},
		{"version: 2\nethernets:\n  eth0:\n    dhcp4: true\n    ipv6-mtu: 1400\n", `line 5: "ipv6-mtu" in an interface is not supported`},
		{"version: 2\nethernets:\n  eth0:\n    dhcp4: true\n    link-local: [ipv5]\n", `line 5: eth0.link-local: want ipv4 or ipv6, got "ipv5"`},
		{"version: 2\nethernets:\n  e1: {}\nbridges:\n  br0:\n    interfaces: [e1]\n    parameters:\n      mode: active-backup\n", `line 8: br0.parameters: "mode" is a bond parameter, not a bridge's`},
		{"version: 2\nethernets:\n  e1: {}\nbonds:\n  b0:\n    interfaces: [e1]\n    parameters:\n      stp: true\n", `line 8: b0.parameters: "stp" is a bridge parameter, not a bond's`},
		{"version: 2\nethernets:\n  e1: {}\nbridges:\n  br0:\n    interfaces: [e1]\n    parameters:\n      forward-delay: soon\n", `line 8: br0.parameters.forward-delay: want seconds (4, 4s or 4000ms), got "soon"`},
		{"version: 2\nethernets:\n  eth0:\n    dhcp4: true\n    parmeters: {}\n", `line 5: unknown key "parmeters" in an interface`},
		{"version: 2\nbonds:\n  b:\n    interfaces: []\n    parameters:\n      resend-igmp: 3\n", `line 6: "resend-igmp" in bond or bridge parameters is not supported`},
		{"version: 2\nwifis:\n  w: {}\n", `line 2: "wifis": not supported in VMs`},
		{"version: 2\nethernets:\n  eth0:\n    dhcp4: maybe\n", `line 4: dhcp4: want true or false, got "maybe"`},
		{"version: 2\nethernets:\n  eth0:\n    mtu: [1]\n", `line 4: mtu: want a whole number, got a list`},
		{"version: 1\nconfig:\n- type: bond\n  name: b\n  bond_interfaces: []\n  params:\n    bond-ad-select: 1\n", `line 7: b.params: "bond-ad-select" is not supported`},
		// cloud-init reads v1 wakeonlan but its netplan renderer drops it:
		// refused as a key of v1, not as an unknown one.
		{"version: 1\nconfig:\n- type: physical\n  name: eth0\n  wakeonlan: true\n", `line 5: "wakeonlan" in a config entry is not supported by ovfinit yet`},
	}
	for _, tt := range tests {
		_, _, err := ParseNetworkConfig([]byte(tt.doc))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseNetworkConfig(%q) = %v, want %q", tt.doc, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "struct") {
			t.Errorf("ParseNetworkConfig(%q) = %v: shows Go internals", tt.doc, err)
		}
	}
}

// TestNewFieldsHaveLines: Validate's problems with the new keys map back to
// their YAML lines, as the agent reports them.
func TestNewFieldsHaveLines(t *testing.T) {
	doc := `version: 2
ethernets:
  e1: {}
  x:
    match: {name: "eth[0"}
    set-name: "bad name!"
bonds:
  b:
    interfaces: [e1]
    parameters:
      lacp-rate: medium
      primary: e9
`
	cfg, lines, err := ParseNetworkConfig([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"x.set-name": 6, "x.name": 5, "b.bond.lacp-rate": 11, "b.bond.primary": 12}
	got := map[string]int{}
	for _, e := range unjoinErr(Validate(cfg)) {
		fe, ok := e.(*FieldError)
		if !ok {
			t.Fatalf("Validate error %v is not a *FieldError", e)
		}
		got[fe.NIC+"."+fe.Field] = lines.Line(fe.NIC, fe.Field)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lines of Validate's errors (-want +got):\n%s", diff)
	}
}

// TestBridgePlan: a bridge over a bond with a VLAN on the bridge: links
// are made bonds first, then bridges, then VLANs; members are enslaved and
// the port settings follow; route options and rules are planned.
func TestBridgePlan(t *testing.T) {
	doc := `version: 2
ethernets:
  e1: {match: {macaddress: "52:54:00:00:00:01"}}
  e2: {match: {macaddress: "52:54:00:00:00:02"}}
bonds:
  bond0: {interfaces: [e1]}
bridges:
  br0:
    interfaces: [bond0, e2]
    macaddress: "52:54:00:00:00:99"
    parameters: {stp: false, forward-delay: 4, path-cost: {e2: 50}}
    addresses: [10.3.0.2/24]
    routes: [{to: 10.9.0.0/16, via: 10.3.0.1, table: 100, from: 10.3.0.2}]
    routing-policy: [{from: 10.3.0.0/24, table: 100, priority: 5}]
vlans:
  v5: {id: 5, link: br0}
`
	got, err := planDoc(t, doc, globLinks)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"link add bond0 type bond",
		"link set eth0 master bond0",
		"link add br0 type bridge stp_state 0 forward_delay 400",
		"link set bond0 master br0",
		"link set eth1 master br0",
		"link set eth1 type bridge_slave cost 50",
		"link add v5 link br0 type vlan id 5",
	}
	if diff := cmp.Diff(want, got[:len(want)]); diff != "" {
		t.Errorf("Plan(bridge) links (-want +got):\n%s", diff)
	}
	for _, w := range []string{"link set br0 address 52:54:00:00:00:99", "route replace 10.9.0.0/16 via 10.3.0.1 dev br0 table 100 src 10.3.0.2",
		"rule add from 10.3.0.0/24 priority 5 table 100"} {
		if !slices.Contains(got, w) {
			t.Errorf("Plan(bridge) = %q, want it to contain %q", got, w)
		}
	}
}
