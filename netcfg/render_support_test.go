package netcfg

import (
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

var allManagers = []Manager{ManagerNetworkd, ManagerNetplan, ManagerNetworkManager, ManagerIfupdown, ManagerIfcfg, ManagerRCConf}

// supportBase is a resolved configuration with one NIC of each kind; the
// mutations below change one field each.
func supportBase() Config {
	return Config{NICs: []NIC{
		{ID: "lan", Name: "lan0", CurName: "ens5", SetName: "lan0", MAC: mac("52:54:00:00:00:03"), Up: true},
		{ID: "e1", Name: "eno1", CurName: "eno1", MAC: mac("52:54:00:00:00:01"), Up: true},
		{ID: "e2", Name: "eno2", CurName: "eno2", MAC: mac("52:54:00:00:00:02"), Up: true},
		{ID: "bond0", Name: "bond0", Kind: Bond, Members: []string{"e1", "e2"}, Up: true},
		{ID: "v10", Name: "v10", Kind: VLAN, Link: "lan", VLANID: 10, Up: true},
		{ID: "e3", Name: "eno3", CurName: "eno3", MAC: mac("52:54:00:00:00:06"), Up: true},
		{ID: "br0", Name: "br0", Kind: Bridge, Members: []string{"e3"}, Up: true},
	}}
}

// prep readies the base for the mutations that need more than one field
// (a route's gateway needs an address in its subnet): both the output
// before and after the mutation are rendered from the prepared base.
var prep = map[string]func(c *Config){
	"NICs.Gateway4": withAddrs, "NICs.Gateway6": withAddrs,
	"NICs.Routes.To": withRoute, "NICs.Routes.Via": withRoute, "NICs.Routes.Metric": withRoute, "NICs.Routes.OnLink": withRoute,
	"NICs.Routes.Table": withRoute, "NICs.Routes.Type": withRoute, "NICs.Routes.Scope": withRoute, "NICs.Routes.From": withRoute,
	"NICs.LinkOpts.DHCPIdentifier": func(c *Config) { c.NICs[0].DHCP4 = true },
	"Fallback":                     func(c *Config) { c.NICs = c.NICs[1:2] },
}

func init() {
	for _, f := range []string{"From", "To", "Table", "Priority", "Mark", "TOS"} {
		prep["NICs.LinkOpts.RoutingPolicy."+f] = func(c *Config) {
			c.NICs[0].RoutingPolicy = []Rule{{From: pfx("10.0.0.0/24"), To: pfx("10.1.0.0/16"), Table: 100, Priority: 50, Mark: 3, TOS: 4}}
		}
	}
	for _, f := range overrideFields {
		prep["NICs.LinkOpts.DHCP4Overrides."+f] = func(c *Config) { c.NICs[0].DHCP4 = true }
		prep["NICs.LinkOpts.DHCP6Overrides."+f] = func(c *Config) { c.NICs[0].DHCP6 = true }
	}
	for _, d := range []string{"DHCP4Overrides", "DHCP6Overrides"} {
		over := func(c *Config) *DHCPOverrides {
			if d == "DHCP4Overrides" {
				return &c.NICs[0].DHCP4Overrides
			}
			return &c.NICs[0].DHCP6Overrides
		}
		f := false
		for k, m := range map[string]func(o *DHCPOverrides){
			"UseDNS": func(o *DHCPOverrides) { o.UseDNS = &f }, "UseNTP": func(o *DHCPOverrides) { o.UseNTP = &f },
			"SendHostname": func(o *DHCPOverrides) { o.SendHostname = &f }, "UseHostname": func(o *DHCPOverrides) { o.UseHostname = &f },
			"UseMTU": func(o *DHCPOverrides) { o.UseMTU = &f }, "UseRoutes": func(o *DHCPOverrides) { o.UseRoutes = &f },
			"UseDomains": func(o *DHCPOverrides) { o.UseDomains = "route" }, "Hostname": func(o *DHCPOverrides) { o.Hostname = "h1" },
			"RouteMetric": func(o *DHCPOverrides) { o.RouteMetric = 50 },
		} {
			mutations["NICs.LinkOpts."+d+"."+k] = func(c *Config) { m(over(c)) }
		}
	}
	for i, f := range offloadFields {
		mutations["NICs.LinkOpts.Offload."+f] = func(c *Config) {
			v := false
			*c.NICs[0].Offload.keys()[i].V = &v
		}
	}
}

func withAddrs(c *Config) {
	c.NICs[0].Addresses = []netip.Prefix{pfx("10.0.0.5/24"), pfx("fd00::5/64")}
}

func withRoute(c *Config) {
	withAddrs(c)
	c.NICs[0].Routes = []Route{{To: pfx("10.9.0.0/16"), Via: ip("10.0.0.1")}}
}

// mutations set one field of the model to a non-zero value (or change it),
// by the field's path; TestEveryFieldRendered wants one for every field a
// manager renders or refuses.
var mutations = map[string]func(c *Config){
	"NICs.Kind": func(c *Config) {
		c.NICs[4].Kind, c.NICs[4].Link, c.NICs[4].VLANID, c.NICs[4].MAC = "", "", 0, mac("52:54:00:00:00:04")
	},
	"NICs.MAC":                             func(c *Config) { c.NICs[0].MAC = mac("52:54:00:00:00:09") },
	"NICs.Name":                            func(c *Config) { c.NICs[1].Name = "eno7" },
	"NICs.CurName":                         func(c *Config) { c.NICs[0].CurName = "ens9" },
	"NICs.SetName":                         func(c *Config) { c.NICs[0].SetName, c.NICs[0].Name = "lan9", "lan9" },
	"NICs.Optional":                        func(c *Config) { c.NICs[0].Optional = true },
	"NICs.DHCP4":                           func(c *Config) { c.NICs[0].DHCP4 = true },
	"NICs.DHCP6":                           func(c *Config) { c.NICs[0].DHCP6 = true },
	"NICs.Addresses":                       func(c *Config) { c.NICs[0].Addresses = []netip.Prefix{pfx("10.0.0.5/24"), pfx("fd00::5/64")} },
	"NICs.Gateway4":                        func(c *Config) { c.NICs[0].Gateway4 = ip("10.0.0.1") },
	"NICs.Gateway6":                        func(c *Config) { c.NICs[0].Gateway6 = ip("fd00::1") },
	"NICs.Routes.To":                       func(c *Config) { c.NICs[0].Routes[0].To = pfx("10.8.0.0/16") },
	"NICs.Routes.Via":                      func(c *Config) { c.NICs[0].Routes[0].Via = ip("10.0.0.2") },
	"NICs.Routes.Metric":                   func(c *Config) { c.NICs[0].Routes[0].Metric = 5 },
	"NICs.Routes.OnLink":                   func(c *Config) { c.NICs[0].Routes[0].OnLink = true },
	"NICs.MTU":                             func(c *Config) { c.NICs[0].MTU = 9000 },
	"NICs.DNS":                             func(c *Config) { c.NICs[0].DNS = []netip.Addr{ip("10.0.0.53")} },
	"NICs.Search":                          func(c *Config) { c.NICs[0].Search = []string{"example.com"} },
	"NICs.Link":                            func(c *Config) { c.NICs[4].Link = "bond0" },
	"NICs.VLANID":                          func(c *Config) { c.NICs[4].VLANID = 11 },
	"NICs.Members":                         func(c *Config) { c.NICs[3].Members = []string{"e1"} },
	"NICs.BondMode":                        func(c *Config) { c.NICs[3].BondMode = "802.3ad" },
	"NICs.Bond.MIIMonitorInterval":         func(c *Config) { c.NICs[3].Bond.MIIMonitorInterval = 100 },
	"NICs.Bond.Primary":                    func(c *Config) { c.NICs[3].Bond.Primary = "e1" },
	"NICs.Bond.LACPRate":                   func(c *Config) { c.NICs[3].Bond.LACPRate = "fast" },
	"NICs.Bond.TransmitHashPolicy":         func(c *Config) { c.NICs[3].Bond.TransmitHashPolicy = "layer3+4" },
	"NICs.Bond.UpDelay":                    func(c *Config) { c.NICs[3].Bond.UpDelay = 200 },
	"NICs.Bond.DownDelay":                  func(c *Config) { c.NICs[3].Bond.DownDelay = 200 },
	"NICs.Bond.MinLinks":                   func(c *Config) { c.NICs[3].Bond.MinLinks = 1 },
	"NICs.Bond.ARPInterval":                func(c *Config) { c.NICs[3].Bond.ARPInterval = 100 },
	"NICs.Bond.GratuitousARP":              func(c *Config) { c.NICs[3].Bond.GratuitousARP = 5 },
	"NICs.Bond.ARPIPTargets":               func(c *Config) { c.NICs[3].Bond.ARPIPTargets = []netip.Addr{ip("10.0.0.1")} },
	"NICs.Routes.Table":                    func(c *Config) { c.NICs[0].Routes[0].Table = 100 },
	"NICs.Routes.Type":                     func(c *Config) { c.NICs[0].Routes[0].Type = "unreachable" },
	"NICs.Routes.Scope":                    func(c *Config) { c.NICs[0].Routes[0].Scope = "host" },
	"NICs.Routes.From":                     func(c *Config) { c.NICs[0].Routes[0].From = ip("10.0.0.5") },
	"NICs.Bridge.STP":                      func(c *Config) { t := true; c.NICs[6].Bridge.STP = &t },
	"NICs.Bridge.ForwardDelay":             func(c *Config) { c.NICs[6].Bridge.ForwardDelay = 4000 },
	"NICs.Bridge.HelloTime":                func(c *Config) { c.NICs[6].Bridge.HelloTime = 2000 },
	"NICs.Bridge.MaxAge":                   func(c *Config) { c.NICs[6].Bridge.MaxAge = 12000 },
	"NICs.Bridge.AgeingTime":               func(c *Config) { c.NICs[6].Bridge.AgeingTime = 50000 },
	"NICs.Bridge.Priority":                 func(c *Config) { p := 100; c.NICs[6].Bridge.Priority = &p },
	"NICs.Bridge.PathCost":                 func(c *Config) { c.NICs[6].Bridge.PathCost = map[string]int{"e3": 50} },
	"NICs.Bridge.PortPriority":             func(c *Config) { c.NICs[6].Bridge.PortPriority = map[string]int{"e3": 14} },
	"NICs.LinkOpts.SetMAC":                 func(c *Config) { c.NICs[0].SetMAC = mac("52:54:00:00:00:99") },
	"NICs.LinkOpts.WakeOnLAN":              func(c *Config) { c.NICs[0].WakeOnLAN = true },
	"NICs.LinkOpts.AcceptRA":               func(c *Config) { f := false; c.NICs[0].AcceptRA = &f },
	"NICs.LinkOpts.IPv6Privacy":            func(c *Config) { c.NICs[0].IPv6Privacy = true },
	"NICs.LinkOpts.LinkLocal":              func(c *Config) { c.NICs[0].LinkLocal = "no" },
	"NICs.LinkOpts.Critical":               func(c *Config) { c.NICs[0].Critical = true },
	"NICs.LinkOpts.DHCPIdentifier":         func(c *Config) { c.NICs[0].DHCPIdentifier = "mac" },
	"NICs.LinkOpts.RoutingPolicy.From":     func(c *Config) { c.NICs[0].RoutingPolicy[0].From = pfx("10.0.1.0/24") },
	"NICs.LinkOpts.RoutingPolicy.To":       func(c *Config) { c.NICs[0].RoutingPolicy[0].To = pfx("10.2.0.0/16") },
	"NICs.LinkOpts.RoutingPolicy.Table":    func(c *Config) { c.NICs[0].RoutingPolicy[0].Table = 101 },
	"NICs.LinkOpts.RoutingPolicy.Priority": func(c *Config) { c.NICs[0].RoutingPolicy[0].Priority = 51 },
	"NICs.LinkOpts.RoutingPolicy.Mark":     func(c *Config) { c.NICs[0].RoutingPolicy[0].Mark = 4 },
	"NICs.LinkOpts.RoutingPolicy.TOS":      func(c *Config) { c.NICs[0].RoutingPolicy[0].TOS = 8 },
	"Fallback":                             func(c *Config) { c.Fallback, c.NICs = true, c.NICs[1:2] },
	"DNS":                                  func(c *Config) { c.DNS = []netip.Addr{ip("9.9.9.9")} },
	"Search":                               func(c *Config) { c.Search = []string{"corp"} },
}

func renderText(files []File) string {
	var b strings.Builder
	for _, f := range files {
		fmt.Fprintf(&b, "=== %s\n%s", f.Path, f.Data)
	}
	return b.String()
}

// TestEveryFieldRendered walks the model: every field of Config has, for
// every manager, a declared support; a field declared rendered changes the
// manager's output when it is set, and one declared refused makes Render
// fail with the field's name. So no setting is accepted and then dropped.
func TestEveryFieldRendered(t *testing.T) {
	var paths []string
	walkFields(reflect.TypeOf(Config{}), "", func(p string, _ []int) { paths = append(paths, p) })
	if len(paths) < 30 {
		t.Fatalf("walkFields(Config) found %d fields, want every leaf (>= 30): %v", len(paths), paths)
	}
	base := supportBase()
	for _, m := range allManagers {
		baseFiles, baseErr := Render(m, base)
		if baseErr != nil && m != ManagerRCConf {
			t.Fatalf("Render(%s, base) = %v", m, baseErr)
		}
		for _, p := range paths {
			s := supportOf(m, p)
			switch s {
			case 0:
				t.Errorf("%s: field %s has no declared support (render it or refuse it in render_support.go)", m, p)
				continue
			case resolved, identity, validated, live:
				continue
			}
			mut, ok := mutations[p]
			if !ok {
				t.Errorf("field %s has no mutation in render_support_test.go", p)
				continue
			}
			c := supportBase()
			if m == ManagerRCConf && !strings.HasPrefix(p, "NICs.Bond") && p != "NICs.BondMode" && p != "NICs.Members" {
				// rc.conf refuses bonds: check the other fields without one.
				c.NICs[3] = NIC{ID: "bond0", Name: "eno3", CurName: "eno3", MAC: mac("52:54:00:00:00:05"), Up: true}
			}
			if m == ManagerRCConf && !strings.HasPrefix(p, "NICs.Bridge") {
				// ... and without a bridge.
				c.NICs = c.NICs[:6]
			}
			if f := prep[p]; f != nil {
				f(&c)
			}
			before, _ := Render(m, c)
			mut(&c)
			if err := Validate(c); err != nil {
				t.Fatalf("mutation of %s: Validate = %v", p, err)
			}
			after, err := Render(m, c)
			switch s {
			case rendered:
				if err != nil {
					t.Errorf("Render(%s) with %s set = %v, want it rendered", m, p, err)
				} else if renderText(before) == renderText(after) {
					t.Errorf("Render(%s): setting %s changes nothing: the field is dropped", m, p)
				}
			case refused:
				if err == nil || !strings.Contains(err.Error(), userField(p)) {
					t.Errorf("Render(%s) with %s set = %v, want an error naming %s", m, p, err, userField(p))
				}
			}
		}
		_ = baseFiles
	}
}
