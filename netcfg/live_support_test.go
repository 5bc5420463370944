package netcfg

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// baseLinks is the machine supportBase is resolved against: its ethernet
// NICs under their current names.
func baseLinks(c Config) []Link {
	var links []Link
	for i, n := range c.NICs {
		if n.KindOf() == Ethernet {
			links = append(links, Link{Index: i + 2, Name: n.CurName, MAC: n.MAC, Ethernet: true, MTU: 1500})
		}
	}
	return links
}

// TestEveryFieldLive is TestEveryFieldRendered for ManagerNone, the live
// applier alone (an image without a network manager ovfinit knows, and
// every Windows machine), on each OS: every field of Config has a declared
// support; a field declared live adds operations the OS's applier carries
// out (ApplyWindows on a recording fake, FreeBSDCommands); a field
// declared refused makes CheckSupport name it. Before, CheckSupport
// accepted every field with ManagerNone and Render wrote nothing, so
// accept-ra, critical, link-local, ipv6-privacy, dhcp-identifier, the DHCP
// overrides, neigh-suppress and WireGuard were accepted and dropped.
func TestEveryFieldLive(t *testing.T) {
	var paths []string
	walkFields(reflect.TypeOf(Config{}), "", func(p string, _ []int) { paths = append(paths, p) })
	for _, goos := range []string{"linux", "windows", "freebsd"} {
		t.Run(goos, func(t *testing.T) {
			var liveN, refusedN int
			for _, p := range paths {
				s := liveSupport(goos, p)
				switch s {
				case 0:
					t.Errorf("field %s has no declared live support on %s", p, goos)
					continue
				case resolved, identity, validated:
					continue
				}
				mut, ok := mutations[p]
				if !ok {
					t.Errorf("field %s has no mutation in render_support_test.go", p)
					continue
				}
				if p == "NICs.Kind" {
					// Which devices are made: TestNoManagerRefusals, and
					// the base's bond, VLAN and bridge below.
					continue
				}
				c := supportBase()
				if goos == "windows" {
					// The base's rename is refused on Windows.
					c.NICs[0].SetName, c.NICs[0].Name = "", c.NICs[0].CurName
				}
				if f := prep[p]; f != nil {
					f(&c)
				}
				if p == "NICs.Optional" {
					c.NICs[0].DHCP4 = true // live, optional is about the DHCP lease
				}
				links := baseLinks(c)
				before, _ := planResolved(c, Current{Links: links}, Applied{})
				baseErr := fmt.Sprint(checkSupportOn(goos, ManagerNone, c))
				mut(&c)
				if err := Validate(c); err != nil {
					t.Fatalf("mutation of %s: Validate = %v", p, err)
				}
				err := checkSupportOn(goos, ManagerNone, c)
				if s == refused {
					refusedN++
					if err == nil || !strings.Contains(err.Error(), userField(p)) {
						t.Errorf("checkSupportOn(%s, none) with %s set = %v, want an error naming %s", goos, p, err, userField(p))
					}
					continue
				}
				liveN++
				if got := fmt.Sprint(err); got != baseErr {
					t.Errorf("checkSupportOn(%s, none) with %s set = %v, want it accepted (declared live), as without it: %v", goos, p, got, baseErr)
				}
				after, _ := planResolved(c, Current{Links: links}, Applied{})
				var added []Op
				for _, o := range after {
					if !slices.ContainsFunc(before, func(b Op) bool { return b.String() == o.String() }) {
						added = append(added, o)
					}
				}
				if len(added) == 0 && len(after) == len(before) {
					t.Errorf("%s: setting %s changes no live operation: the field is dropped with no network manager", goos, p)
					continue
				}
				switch goos {
				case "windows":
					if err := ApplyWindows(t.Context(), &winFake{}, links, added); err != nil {
						t.Errorf("windows: %s is declared live, but ApplyWindows(%v) = %v", p, added, err)
					}
				case "freebsd":
					if _, err := FreeBSDCommands(added); err != nil {
						t.Errorf("freebsd: %s is declared live, but FreeBSDCommands(%v) = %v", p, added, err)
					}
				}
			}
			t.Logf("%s, no network manager: %d fields applied live, %d refused", goos, liveN, refusedN)
		})
	}
}

// TestNoManagerRefusals: what the live applier cannot make is refused at
// CheckSupport (so at validate, with the YAML line), naming the device.
func TestNoManagerRefusals(t *testing.T) {
	wg := Config{NICs: []NIC{{ID: "e1", Name: "eno1", MAC: mac("52:54:00:00:00:01"), Up: true},
		{ID: "wg0", Name: "wg0", Kind: Tunnel, Up: true, Tunnel: TunnelParams{Mode: "wireguard", PrivateKey: wgPriv}}}}
	vlan := Config{NICs: []NIC{{ID: "e1", Name: "eno1", MAC: mac("52:54:00:00:00:01"), Up: true},
		{ID: "v5", Name: "v5", Kind: VLAN, Link: "e1", VLANID: 5, Up: true}}}
	br := Config{NICs: []NIC{{ID: "e1", Name: "eno1", MAC: mac("52:54:00:00:00:01"), Up: true},
		{ID: "br0", Name: "br0", Kind: Bridge, Members: []string{"e1"}, Up: true}}}
	for _, tc := range []struct {
		goos string
		c    Config
		want string // "" = accepted
	}{
		{"linux", wg, "wg0.tunnel.mode: wireguard is not made live"},
		{"linux", vlan, ""},
		{"linux", br, ""},
		{"windows", vlan, "v5.vlans: not supported on windows yet"},
		{"windows", br, "br0.bridges: not supported on windows yet"},
		{"freebsd", vlan, ""},
		{"freebsd", br, "br0.bridges: not supported live on freebsd yet"},
	} {
		err := checkSupportOn(tc.goos, ManagerNone, tc.c)
		if got := fmt.Sprint(err); tc.want == "" && err != nil || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("checkSupportOn(%s, none, %s) = %v, want %q", tc.goos, tc.c.NICs[1].ID, err, tc.want)
		}
	}
	if err := Validate(wg); err != nil {
		t.Fatalf("Validate(wg) = %v", err)
	}
}
