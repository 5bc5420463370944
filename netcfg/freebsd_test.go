package netcfg

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFreeBSDCommands(t *testing.T) {
	cfg := renderCases["two-nics"]
	links := []Link{{Index: 1, Name: "vtnet0", MAC: mac("52:54:00:12:34:56"), Ethernet: true, MTU: 1500}, {Index: 2, Name: "vtnet1", MAC: mac("52:54:00:12:34:57"), Ethernet: true, Up: true}}
	ops, _, err := Plan(cfg, Current{Links: links}, Applied{})
	if err != nil {
		t.Fatal(err)
	}
	cmds, err := FreeBSDCommands(ops)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cmds {
		got = append(got, strings.Join(c, " "))
	}
	want := []string{
		"ifconfig vtnet0 mtu 9000",
		"ifconfig vtnet0 up",
		"ifconfig vtnet0 inet 10.0.2.15/24 alias",
		"ifconfig vtnet0 inet 10.0.2.16/24 alias",
		"ifconfig vtnet0 inet6 fd00::15/64 alias",
		"route -n add -inet default 10.0.2.2",
		"route -n add -inet6 default fd00::1",
		"route -n add -inet 192.168.100.0/24 10.0.2.254",
		"dhclient -b vtnet1",
		"ifconfig vtnet1 inet6 accept_rtadv -ifdisabled",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FreeBSDCommands() (-want +got):\n%s", diff)
	}
}

func TestFreeBSDRCConf(t *testing.T) {
	cfg := Config{NICs: []NIC{
		{ID: "a", Name: "vtnet0", Addresses: []netip.Prefix{pfx("10.0.2.15/24"), pfx("10.0.2.16/24"), pfx("fd00::15/64")}, Gateway4: ip("10.0.2.2"),
			Routes: []Route{{To: pfx("192.168.100.0/24"), Via: ip("10.0.2.254")}}},
		{ID: "b", Name: "vtnet1", DHCP4: true, MTU: 9000},
		{ID: "v", Name: "vlan10", Kind: VLAN, Link: "b", VLANID: 10, Addresses: []netip.Prefix{pfx("10.10.0.2/24")}},
	}}
	want := []string{
		"ifconfig_vtnet0=inet 10.0.2.15/24",
		"ifconfig_vtnet0_alias0=inet 10.0.2.16/24",
		"ifconfig_vtnet0_ipv6=inet6 fd00::15/64",
		"defaultrouter=10.0.2.2",
		"route_ovfinit0=-net 192.168.100.0/24 10.0.2.254",
		"ifconfig_vtnet1=DHCP mtu 9000",
		"ifconfig_vlan10=vlan 10 vlandev vtnet1 inet 10.10.0.2/24",
		"vlans_vtnet1=vlan10",
		"static_routes=ovfinit0",
	}
	if diff := cmp.Diff(want, FreeBSDRCConf(cfg)); diff != "" {
		t.Errorf("FreeBSDRCConf() (-want +got):\n%s", diff)
	}
}

// TestFreeBSDRefusesNew: what FreeBSD cannot do live is refused by name,
// never run as something else (a bridge was a lagg before).
func TestFreeBSDRefusesNew(t *testing.T) {
	for _, tt := range []struct {
		op   Op
		want string
	}{
		{Op{Kind: OpLinkAdd, Type: Bridge, Link: "br0"}, "bridges are not supported on FreeBSD"},
		{Op{Kind: OpRouteReplace, Link: "vtnet0", Route: Route{To: pfx("10.9.0.0/16"), Via: ip("10.0.0.1"), Table: 7}}, "route table, type, scope and from"},
		{Op{Kind: OpRuleAdd, Link: "vtnet0", Rule: Rule{From: pfx("10.0.0.0/24"), Table: 7}}, "not supported on FreeBSD"},
	} {
		if _, err := FreeBSDCommands([]Op{tt.op}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("FreeBSDCommands(%s) = %v, want %q", tt.op, err, tt.want)
		}
	}
	cmds, err := FreeBSDCommands([]Op{{Kind: OpLinkMAC, Link: "vtnet0", MAC: mac("52:54:00:00:00:99")}})
	if err != nil || len(cmds) != 1 || strings.Join(cmds[0], " ") != "ifconfig vtnet0 ether 52:54:00:00:00:99" {
		t.Errorf("FreeBSDCommands(link MAC) = %q, %v", cmds, err)
	}
}
