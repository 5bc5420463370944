package netcfg

import (
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func mac(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func ip(s string) netip.Addr    { return netip.MustParseAddr(s) }

var testLinks = []Link{
	{Index: 1, Name: "lo", Up: true},
	{Index: 3, Name: "eth1", MAC: mac("52:54:00:00:00:02"), Ethernet: true, MTU: 1500},
	{Index: 2, Name: "eth0", MAC: mac("52:54:00:00:00:01"), Ethernet: true, Up: true, MTU: 1500},
}

func ops2text(ops []Op) []string {
	var s []string
	for _, o := range ops {
		s = append(s, o.String())
	}
	return s
}

func TestPlan(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		cur  Current
		prev Applied
		want []string
	}{
		{
			name: "by MAC, link down, full config",
			cfg: Config{NICs: []NIC{{
				ID: "nic0", MAC: mac("52:54:00:00:00:02"),
				Addresses: []netip.Prefix{pfx("10.0.2.15/24"), pfx("fd00::15/64")},
				Gateway4:  ip("10.0.2.2"),
				Routes:    []Route{{To: pfx("10.9.0.0/16"), Via: ip("10.0.2.254"), Metric: 100}},
				MTU:       9000,
				DNS:       []netip.Addr{ip("10.0.2.3"), ip("1.1.1.1")},
				Search:    []string{"example.com"},
			}}},
			cur: Current{Links: testLinks},
			want: []string{
				"link set eth1 mtu 9000",
				"link set eth1 up",
				"addr replace 10.0.2.15/24 dev eth1",
				"addr replace fd00::15/64 dev eth1",
				"route replace default via 10.0.2.2 dev eth1",
				"route replace 10.9.0.0/16 via 10.0.2.254 dev eth1 metric 100",
				"dns set 10.0.2.3 1.1.1.1 search example.com",
			},
		},
		{
			name: "one NIC without MAC takes the first ethernet by index",
			cfg:  Config{NICs: []NIC{{ID: "nic0", Addresses: []netip.Prefix{pfx("10.1.0.5/16")}, Gateway4: ip("10.1.0.1")}}},
			cur:  Current{Links: testLinks},
			want: []string{"addr replace 10.1.0.5/16 dev eth0", "route replace default via 10.1.0.1 dev eth0"},
		},
		{
			name: "by name, DHCP on both families",
			cfg:  Config{NICs: []NIC{{ID: "eth1", Name: "eth1", DHCP4: true, DHCP6: true}}},
			cur:  Current{Links: testLinks},
			want: []string{"link set eth1 up", "dhcp4 dev eth1", "dhcp6 dev eth1"},
		},
		{
			name: "two NICs, one static one DHCP, IPv6 gateway",
			cfg: Config{NICs: []NIC{
				{ID: "a", MAC: mac("52:54:00:00:00:01"), Addresses: []netip.Prefix{pfx("2001:db8::5/64")}, Gateway6: ip("2001:db8::1")},
				{ID: "b", MAC: mac("52:54:00:00:00:02"), DHCP4: true},
			}},
			cur:  Current{Links: testLinks},
			want: []string{"addr replace 2001:db8::5/64 dev eth0", "route -6 replace default via 2001:db8::1 dev eth0", "link set eth1 up", "dhcp4 dev eth1"},
		},
		{
			name: "VLAN and bond",
			cfg: Config{NICs: []NIC{
				{ID: "e0", MAC: mac("52:54:00:00:00:01")},
				{ID: "e1", MAC: mac("52:54:00:00:00:02")},
				{ID: "bond0", Kind: Bond, Members: []string{"e0", "e1"}, BondMode: "active-backup", Addresses: []netip.Prefix{pfx("10.0.0.2/24")}},
				{ID: "bond0.10", Kind: VLAN, Link: "bond0", VLANID: 10, Addresses: []netip.Prefix{pfx("10.10.0.2/24")}},
			}},
			cur: Current{Links: testLinks},
			want: []string{
				"link add bond0 type bond mode active-backup",
				"link set eth0 master bond0",
				"link set eth1 master bond0",
				"link add bond0.10 link bond0 type vlan id 10",
				"link set eth1 up",
				"link set bond0 up",
				"addr replace 10.0.0.2/24 dev bond0",
				"link set bond0.10 up",
				"addr replace 10.10.0.2/24 dev bond0.10",
			},
		},
		{
			name: "bond0 exists (made by the bonding module): mode set, members enslaved",
			cfg: Config{NICs: []NIC{
				{ID: "e0", MAC: mac("52:54:00:00:00:01")},
				{ID: "e1", MAC: mac("52:54:00:00:00:02")},
				{ID: "bond0", Kind: Bond, Members: []string{"e0", "e1"}, BondMode: "active-backup", Addresses: []netip.Prefix{pfx("10.0.0.2/24")}},
			}},
			cur: Current{Links: append(slices.Clone(testLinks), Link{Index: 4, Name: "bond0", BondMode: "balance-rr", MTU: 1500})},
			want: []string{
				"link set bond0 type bond mode active-backup",
				"link set eth0 master bond0",
				"link set eth1 master bond0",
				"link set eth1 up",
				"link set bond0 up",
				"addr replace 10.0.0.2/24 dev bond0",
			},
		},
		{
			name: "bond already set up: nothing to do",
			cfg: Config{NICs: []NIC{
				{ID: "e0", MAC: mac("52:54:00:00:00:01")},
				{ID: "e1", MAC: mac("52:54:00:00:00:02")},
				{ID: "bond0", Kind: Bond, Members: []string{"e0", "e1"}, BondMode: "active-backup", Addresses: []netip.Prefix{pfx("10.0.0.2/24")}},
			}},
			cur: Current{Links: []Link{
				{Index: 2, Name: "eth0", MAC: mac("52:54:00:00:00:01"), Ethernet: true, Up: true, Master: "bond0"},
				{Index: 3, Name: "eth1", MAC: mac("52:54:00:00:00:02"), Ethernet: true, Up: true, Master: "bond0"},
				{Index: 4, Name: "bond0", BondMode: "active-backup", Up: true, Addrs: []netip.Prefix{pfx("10.0.0.2/24")}},
			}},
			want: nil,
		},
		{
			name: "already applied: nothing to do",
			cfg: Config{NICs: []NIC{{ID: "nic0", MAC: mac("52:54:00:00:00:01"), Addresses: []netip.Prefix{pfx("10.0.2.15/24")}, Gateway4: ip("10.0.2.2"),
				DNS: []netip.Addr{ip("10.0.2.3")}}}},
			cur: Current{Links: []Link{{Index: 2, Name: "eth0", MAC: mac("52:54:00:00:00:01"), Ethernet: true, Up: true,
				Addrs: []netip.Prefix{pfx("10.0.2.15/24")}, Routes: []Route{{To: pfx("0.0.0.0/0"), Via: ip("10.0.2.2")}}}}, DNS: []netip.Addr{ip("10.0.2.3")}},
		},
		{
			name: "shrunk: what ovfinit set before and is dropped goes, others stay",
			cfg:  Config{NICs: []NIC{{ID: "nic0", MAC: mac("52:54:00:00:00:01"), Addresses: []netip.Prefix{pfx("10.0.2.15/24")}}}},
			cur: Current{Links: []Link{{Index: 2, Name: "eth0", MAC: mac("52:54:00:00:00:01"), Ethernet: true, Up: true,
				Addrs:  []netip.Prefix{pfx("10.0.2.15/24"), pfx("10.0.2.16/24"), pfx("192.168.9.9/24")},
				Routes: []Route{{To: pfx("0.0.0.0/0"), Via: ip("10.0.2.2")}, {To: pfx("10.9.0.0/16"), Via: ip("10.0.2.254"), Metric: 5}}}}},
			prev: Applied{Links: map[string]AppliedLink{"eth0": {
				Addrs:  []netip.Prefix{pfx("10.0.2.15/24"), pfx("10.0.2.16/24"), pfx("10.0.2.17/24")},
				Routes: []Route{{To: pfx("0.0.0.0/0"), Via: ip("10.0.2.2")}},
			}}},
			want: []string{"route del default via 10.0.2.2 dev eth0", "addr del 10.0.2.16/24 dev eth0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ops, _, err := Plan(tt.cfg, tt.cur, tt.prev)
			if err != nil {
				t.Fatalf("Plan() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, ops2text(ops)); diff != "" {
				t.Errorf("Plan() ops mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanApplied(t *testing.T) {
	cfg := Config{NICs: []NIC{{ID: "nic0", MAC: mac("52:54:00:00:00:01"), Addresses: []netip.Prefix{pfx("10.0.2.15/24")}, Gateway4: ip("10.0.2.2")},
		{ID: "nic1", MAC: mac("52:54:00:00:00:02"), DHCP4: true}}}
	_, got, err := Plan(cfg, Current{Links: testLinks}, Applied{})
	if err != nil {
		t.Fatal(err)
	}
	want := Applied{Links: map[string]AppliedLink{"eth0": {Addrs: []netip.Prefix{pfx("10.0.2.15/24")}, Routes: []Route{{To: pfx("0.0.0.0/0"), Via: ip("10.0.2.2")}}}}}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("Plan() applied record mismatch (-want +got):\n%s", diff)
	}
}

func TestPlanErrors(t *testing.T) {
	good := []netip.Prefix{pfx("10.0.2.15/24")}
	one := func(n NIC) Config {
		if n.ID == "" {
			n.ID = "nic0"
		}
		return Config{NICs: []NIC{n}}
	}
	tests := []struct {
		name   string
		cfg    Config
		links  []Link
		want   []string // "nic.field" each error must name
		wantIs error
	}{
		{"unknown MAC", one(NIC{MAC: mac("00:11:22:33:44:55"), Addresses: good}), testLinks, []string{"nic0.mac"}, ErrNoSuchMAC},
		{"unknown name", one(NIC{Name: "eth9", DHCP4: true}), testLinks, []string{"nic0.name"}, ErrNoSuchName},
		{"no ethernet", one(NIC{Addresses: good}), testLinks[:1], []string{"nic0.mac"}, ErrNoEthernet},
		{"nothing to do", one(NIC{}), testLinks, []string{"nic0.dhcp4"}, ErrNothing},
		{"network address", one(NIC{Addresses: []netip.Prefix{pfx("10.0.2.0/24")}}), testLinks, []string{"nic0.addresses[0]"}, ErrBadAddress},
		{"broadcast address", one(NIC{Addresses: []netip.Prefix{pfx("10.0.2.15/24"), pfx("10.0.2.255/24")}}), testLinks, []string{"nic0.addresses[1]"}, ErrBadAddress},
		{"gateway outside subnet", one(NIC{Addresses: good, Gateway4: ip("10.0.3.1")}), testLinks, []string{"nic0.gateway4", "outside 10.0.2.0/24"}, ErrBadGateway},
		{"gateway is the address", one(NIC{Addresses: good, Gateway4: good[0].Addr()}), testLinks, []string{"nic0.gateway4"}, ErrBadGateway},
		{"v6 gateway in gateway4", one(NIC{Addresses: good, Gateway4: ip("fd00::1")}), testLinks, []string{"nic0.gateway4"}, ErrBadGateway},
		{"route not a network", one(NIC{Addresses: good, Routes: []Route{{To: pfx("10.9.0.1/16"), Via: ip("10.0.2.1")}}}), testLinks, []string{"nic0.routes[0].to"}, ErrBadRoute},
		{"route via off-link", one(NIC{Addresses: good, Routes: []Route{{To: pfx("10.9.0.0/16"), Via: ip("10.3.2.1")}}}), testLinks, []string{"nic0.routes[0].via"}, ErrBadRoute},
		{"bad DNS", one(NIC{Addresses: good, DNS: []netip.Addr{{}}}), testLinks, []string{"nic0.dns[0]"}, ErrBadDNSServer},
		{"bad MTU", one(NIC{Addresses: good, MTU: 20}), testLinks, []string{"nic0.mtu"}, ErrBadMTU},
		{"duplicate address on two NICs", Config{NICs: []NIC{
			{ID: "a", MAC: mac("52:54:00:00:00:01"), Addresses: good},
			{ID: "b", MAC: mac("52:54:00:00:00:02"), Addresses: good},
		}}, testLinks, []string{"b.addresses[0]", "also on a"}, ErrDupAddress},
		{"two NICs without MAC or name", Config{NICs: []NIC{{ID: "a", DHCP4: true}, {ID: "b", DHCP4: true}}}, testLinks, []string{"a.mac", "b.mac"}, nil},
		{"VLAN on nothing", Config{NICs: []NIC{{ID: "v", Kind: VLAN, Link: "x", VLANID: 5000, DHCP4: true}}}, testLinks, []string{"v.link", "v.id"}, ErrBadVLAN},
		{"all problems at once", one(NIC{Addresses: []netip.Prefix{pfx("0.0.0.0/8")}, Gateway4: ip("fd00::1"), DNS: []netip.Addr{ip("224.0.0.1")}}),
			testLinks, []string{"nic0.addresses[0]", "nic0.gateway4", "nic0.dns[0]"}, ErrBadAddress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ops, _, err := Plan(tt.cfg, Current{Links: tt.links}, Applied{})
			if err == nil {
				t.Fatalf("Plan() = %v, want error", ops2text(ops))
			}
			if ops != nil {
				t.Errorf("Plan() returned ops %v with an error", ops2text(ops))
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("Plan() error = %v, want errors.Is %v", err, tt.wantIs)
			}
			for _, f := range tt.want {
				if !strings.Contains(err.Error(), f) {
					t.Errorf("Plan() error = %q, want it to name %q", err, f)
				}
			}
		})
	}
}

func TestResolvConf(t *testing.T) {
	dns := []netip.Addr{ip("10.0.2.3"), ip("fd00::53")}
	got := ResolvConf(dns, []string{"example.com", "corp"})
	gd, gs := ParseResolvConf(got)
	if diff := cmp.Diff([]string{"10.0.2.3", "fd00::53", "example.com", "corp"}, append(addrStrings(gd), gs...)); diff != "" {
		t.Errorf("ParseResolvConf(ResolvConf()) mismatch (-want +got):\n%s\n%s", diff, got)
	}
	rd, rs := parseResolvedConf(ResolvedConf(dns, []string{"example.com"}))
	if diff := cmp.Diff([]string{"10.0.2.3", "fd00::53", "example.com"}, append(addrStrings(rd), rs...)); diff != "" {
		t.Errorf("parseResolvedConf(ResolvedConf()) mismatch (-want +got):\n%s", diff)
	}
}

func addrStrings(a []netip.Addr) []string {
	var s []string
	for _, x := range a {
		s = append(s, x.String())
	}
	return s
}

func TestFieldErrorBase(t *testing.T) {
	for in, want := range map[string]string{"routes[0].via": "routes.via", "mac": "mac", "addresses[12]": "addresses"} {
		if got := (&FieldError{Field: in}).BaseField(); got != want {
			t.Errorf("BaseField(%q) = %q, want %q", in, got, want)
		}
	}
}

// MatchesByName: only a NIC picked by an interface name (exact or glob)
// without a MAC depends on the names udev gives.
func TestMatchesByName(t *testing.T) {
	mac, _ := net.ParseMAC("52:54:00:12:34:56")
	for _, c := range []struct {
		name string
		nic  NIC
		want bool
	}{
		{"by MAC", NIC{ID: "a", MAC: mac}, false},
		{"by MAC and name", NIC{ID: "a", MAC: mac, Name: "eth0"}, false},
		{"by name", NIC{ID: "a", Name: "ens3"}, true},
		{"by glob", NIC{ID: "a", Name: "eth*"}, true},
		{"by driver", NIC{ID: "a", Driver: "virtio_net"}, false},
		{"the only NIC", NIC{ID: "a"}, false},
		{"a bond", NIC{ID: "bond0", Kind: Bond, Name: "bond0"}, false},
	} {
		if got := MatchesByName(Config{NICs: []NIC{c.nic}}); got != c.want {
			t.Errorf("%s: MatchesByName = %v, want %v", c.name, got, c.want)
		}
	}
}
