package netcfg

import (
	"errors"
	"net"
	"net/netip"
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

var testLinks = []Link{
	{Index: 1, Name: "lo", Up: true},
	{Index: 3, Name: "eth1", MAC: mac("52:54:00:00:00:02"), Ethernet: true},
	{Index: 2, Name: "eth0", MAC: mac("52:54:00:00:00:01"), Ethernet: true, Up: true},
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
		want []string
	}{
		{
			name: "by MAC, link down, full config",
			cfg: Config{
				MAC:     mac("52:54:00:00:00:02"),
				Address: netip.MustParsePrefix("10.0.2.15/24"),
				Gateway: netip.MustParseAddr("10.0.2.2"),
				DNS:     []netip.Addr{netip.MustParseAddr("10.0.2.3"), netip.MustParseAddr("1.1.1.1")},
			},
			want: []string{
				"link set eth1 up",
				"addr replace 10.0.2.15/24 dev eth1",
				"route replace default via 10.0.2.2 dev eth1",
				"dns set 10.0.2.3 1.1.1.1",
			},
		},
		{
			name: "MAC matched case-insensitively",
			cfg:  Config{MAC: mac("52:54:00:00:00:01"), Address: netip.MustParsePrefix("192.168.1.10/24")},
			want: []string{"addr replace 192.168.1.10/24 dev eth0"},
		},
		{
			name: "first ethernet NIC by index when no MAC",
			cfg:  Config{Address: netip.MustParsePrefix("10.1.0.5/16"), Gateway: netip.MustParseAddr("10.1.0.1")},
			want: []string{"addr replace 10.1.0.5/16 dev eth0", "route replace default via 10.1.0.1 dev eth0"},
		},
		{
			name: "point-to-point /32 without gateway",
			cfg:  Config{Address: netip.MustParsePrefix("10.9.9.9/32")},
			want: []string{"addr replace 10.9.9.9/32 dev eth0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ops, err := Plan(tt.cfg, testLinks)
			if err != nil {
				t.Fatalf("Plan() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, ops2text(ops)); diff != "" {
				t.Errorf("Plan() ops mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanErrors(t *testing.T) {
	good := netip.MustParsePrefix("10.0.2.15/24")
	tests := []struct {
		name      string
		cfg       Config
		links     []Link
		wantField []string
		wantIs    error
	}{
		{"unknown MAC", Config{MAC: mac("00:11:22:33:44:55"), Address: good}, testLinks, []string{"mac"}, ErrNoSuchMAC},
		{"no ethernet", Config{Address: good}, testLinks[:1], []string{"mac"}, ErrNoEthernet},
		{"invalid address", Config{}, testLinks, []string{"address"}, ErrBadAddress},
		{"IPv6 address", Config{Address: netip.MustParsePrefix("fd00::1/64")}, testLinks, []string{"address"}, ErrBadAddress},
		{"network address", Config{Address: netip.MustParsePrefix("10.0.2.0/24")}, testLinks, []string{"address"}, ErrBadAddress},
		{"broadcast address", Config{Address: netip.MustParsePrefix("10.0.2.255/24")}, testLinks, []string{"address"}, ErrBadAddress},
		{"gateway outside subnet", Config{Address: good, Gateway: netip.MustParseAddr("10.0.3.1")}, testLinks, []string{"gateway"}, ErrBadGateway},
		{"gateway is the address", Config{Address: good, Gateway: good.Addr()}, testLinks, []string{"gateway"}, ErrBadGateway},
		{"bad DNS", Config{Address: good, DNS: []netip.Addr{{}}}, testLinks, []string{"dns"}, ErrBadDNSServer},
		{"all problems at once", Config{Address: netip.MustParsePrefix("0.0.0.0/8"), Gateway: netip.MustParseAddr("fd00::1"), DNS: []netip.Addr{netip.MustParseAddr("224.0.0.1")}},
			testLinks, []string{"address", "gateway", "dns"}, ErrBadAddress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ops, err := Plan(tt.cfg, tt.links)
			if err == nil {
				t.Fatalf("Plan() = %v, want error", ops2text(ops))
			}
			if ops != nil {
				t.Errorf("Plan() returned ops %v with an error", ops2text(ops))
			}
			if !errors.Is(err, tt.wantIs) {
				t.Errorf("Plan() error = %v, want errors.Is %v", err, tt.wantIs)
			}
			for _, f := range tt.wantField {
				if !strings.Contains(err.Error(), f+": ") {
					t.Errorf("Plan() error = %q, want it to name field %q", err, f)
				}
			}
		})
	}
}

func TestResolvConf(t *testing.T) {
	got := string(ResolvConf([]netip.Addr{netip.MustParseAddr("10.0.2.3"), netip.MustParseAddr("fd00::53")}))
	for _, want := range []string{"nameserver 10.0.2.3\n", "nameserver fd00::53\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("ResolvConf() = %q, want it to contain %q", got, want)
		}
	}
}
