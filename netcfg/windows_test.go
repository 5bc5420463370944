package netcfg

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type winFake struct{ calls []string }

func (f *winFake) rec(format string, a ...any) error {
	f.calls = append(f.calls, fmt.Sprintf(format, a...))
	return nil
}
func (f *winFake) SetUp(i int) error                           { return f.rec("up %d", i) }
func (f *winFake) SetMTU(i int, mtu int) error                 { return f.rec("mtu %d %d", i, mtu) }
func (f *winFake) SetDHCP(i int, v6 bool) error                { return f.rec("dhcp %d v6=%v", i, v6) }
func (f *winFake) SetStatic(i int, p netip.Prefix) error       { return f.rec("static %d %s", i, p) }
func (f *winFake) AddIPAddress(i int, p netip.Prefix) error    { return f.rec("addr add %d %s", i, p) }
func (f *winFake) DeleteIPAddress(i int, p netip.Prefix) error { return f.rec("addr del %d %s", i, p) }
func (f *winFake) AddRoute(i int, to netip.Prefix, via netip.Addr, m uint32) error {
	return f.rec("route add %d %s %s %d", i, to, via, m)
}
func (f *winFake) DeleteRoute(i int, to netip.Prefix, via netip.Addr) error {
	return f.rec("route del %d %s %s", i, to, via)
}
func (f *winFake) SetDNS(i int, v6 bool, s []netip.Addr, d []string) error {
	return f.rec("dns %d v6=%v %v %v", i, v6, s, d)
}

func TestApplyWindows(t *testing.T) {
	links := []Link{{Index: 7, Name: "Ethernet", MAC: mac("52:54:00:12:34:56"), Ethernet: true, MTU: 1500},
		{Index: 9, Name: "Ethernet 2", MAC: mac("52:54:00:12:34:57"), Ethernet: true, Up: true, MTU: 1500}}
	ops, _, err := Plan(renderCases["two-nics"], Current{Links: links}, Applied{})
	if err != nil {
		t.Fatal(err)
	}
	f := &winFake{}
	if err := ApplyWindows(t.Context(), f, links, ops); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"mtu 7 9000",
		"up 7",
		"static 7 10.0.2.15/24",
		"addr add 7 10.0.2.15/24",
		"addr add 7 10.0.2.16/24",
		"static 7 fd00::15/64",
		"addr add 7 fd00::15/64",
		"route add 7 0.0.0.0/0 10.0.2.2 0",
		"route add 7 ::/0 fd00::1 0",
		"route add 7 192.168.100.0/24 10.0.2.254 100",
		"dhcp 9 v6=false",
		"dhcp 9 v6=true",
		"dns 7 v6=false [1.1.1.1 10.0.2.3] [example.com]",
		"dns 9 v6=false [1.1.1.1 10.0.2.3] [example.com]",
	}
	if diff := cmp.Diff(want, f.calls); diff != "" {
		t.Errorf("ApplyWindows() calls (-want +got):\n%s", diff)
	}
}
