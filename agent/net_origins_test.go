package agent

import (
	"net"
	"strings"
	"testing"

	"github.com/ovfinit/ovfinit/netcfg"
	"github.com/ovfinit/ovfinit/ovfenv"
)

// oneNIC is a machine with one ethernet NIC, for planners.
func oneNIC() (netcfg.Current, netcfg.Applied, error) {
	m, _ := net.ParseMAC("52:54:00:12:34:56")
	return netcfg.Current{Links: []netcfg.Link{{Index: 2, Name: "eth0", MAC: m, Ethernet: true, Up: true}}}, netcfg.Applied{}, nil
}

// TestVMwareNetOrigins: a problem with VMware-style network properties is
// reported against one real property, the same on every run. The VMware
// reader used to pick the key to blame in random map order, and to blame a
// bad search domain on "searchpathdomain", a key that does not exist.
func TestVMwareNetOrigins(t *testing.T) {
	tests := []struct {
		name    string
		props   []string
		want    string // the property the error must name
		notWant string
	}{
		{"no ip0 blames the first key", []string{"DNS", "10.0.2.3", "searchpath", "corp", "domain", "example.com"}, "property DNS ", ""},
		{"no ip0, vami form first", []string{"vami.searchpath.vm", "corp", "DNS", "10.0.2.3", "gateway", "10.0.2.2"}, "property vami.searchpath.vm ", ""},
		{"bad domain", []string{"ip0", "10.0.2.15", "searchpath", "corp", "domain", "bad/x"}, "property domain ", "searchpathdomain"},
		{"bad searchpath", []string{"ip0", "10.0.2.15", "searchpath", "bad/x", "domain", "example.com"}, "property searchpath ", "searchpathdomain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := ovfenv.Parse([]byte(envXML(tt.props...)))
			if err != nil {
				t.Fatal(err)
			}
			// Map order changes from run to run: ask often enough that a
			// random choice among three keys would show.
			for range 30 {
				_, err := BuildPlan(env, oneNIC)
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("BuildPlan(%q) = %v, want an error naming %q", tt.props, err, tt.want)
				}
				if tt.notWant != "" && strings.Contains(err.Error(), tt.notWant) {
					t.Fatalf("BuildPlan(%q) = %v, names %q, which is no property", tt.props, err, tt.notWant)
				}
			}
		})
	}
}
