package netcfg

import (
	"bytes"
	"fmt"
	"strings"
)

// FreeBSDCommands turns planned ops into ifconfig(8)/route(8) argv, the
// live half of FreeBSD support. It is pure, so it is tested on any OS.
func FreeBSDCommands(ops []Op) ([][]string, error) {
	var out [][]string
	for _, o := range ops {
		fam := "inet"
		if o.Prefix.IsValid() && o.Prefix.Addr().Is6() {
			fam = "inet6"
		}
		switch o.Kind {
		case OpLinkUp:
			out = append(out, []string{"ifconfig", o.Link, "up"})
		case OpLinkDown:
			out = append(out, []string{"ifconfig", o.Link, "down"})
		case OpLinkRename:
			out = append(out, []string{"ifconfig", o.Link, "name", o.Name})
		case OpLinkMTU:
			out = append(out, []string{"ifconfig", o.Link, "mtu", fmt.Sprint(o.MTU)})
		case OpLinkMAC:
			out = append(out, []string{"ifconfig", o.Link, "ether", o.MAC.String()})
		case OpAddrReplace:
			out = append(out, []string{"ifconfig", o.Link, fam, o.Prefix.String(), "alias"})
		case OpAddrDel:
			out = append(out, []string{"ifconfig", o.Link, fam, o.Prefix.Addr().String(), "-alias"})
		case OpRouteReplace, OpRouteDel:
			if o.Route.OnLink {
				return nil, fmt.Errorf("%s: on-link routes are not supported on FreeBSD", o)
			}
			if o.Route.extra() != "" {
				return nil, fmt.Errorf("%s: route table, type, scope and from are not supported on FreeBSD", o)
			}
			verb := "add"
			if o.Kind == OpRouteDel {
				verb = "delete"
			}
			argv := []string{"route", "-n", verb}
			if o.Route.To.Addr().Is6() {
				argv = append(argv, "-inet6")
			} else {
				argv = append(argv, "-inet")
			}
			dst := o.Route.To.String()
			if o.Route.To.Bits() == 0 {
				dst = "default"
			}
			argv = append(argv, dst)
			if o.Route.Via.IsValid() {
				argv = append(argv, o.Route.Via.String())
			} else {
				argv = append(argv, "-interface", o.Link)
			}
			out = append(out, argv)
		case OpDHCP4:
			out = append(out, []string{"dhclient", "-b", o.Link})
		case OpDHCP6:
			out = append(out, []string{"ifconfig", o.Link, "inet6", "accept_rtadv", "-ifdisabled"})
		case OpLinkAdd:
			if o.Type == VLAN {
				out = append(out, []string{"ifconfig", o.Link, "create", "vlan", fmt.Sprint(o.VLANID), "vlandev", o.Parent})
			} else if o.Type == Bridge {
				return nil, fmt.Errorf("%s: bridges are not supported on FreeBSD yet", o)
			} else {
				if !o.Bond.IsZero() {
					return nil, fmt.Errorf("%s: bond parameters are not supported by lagg(4) on FreeBSD", o)
				}
				out = append(out, []string{"ifconfig", o.Link, "create", "laggproto", laggProto(o.Mode)})
			}
		case OpLinkMaster:
			out = append(out, []string{"ifconfig", o.Parent, "laggport", o.Link})
		case OpDNS:
			// resolv.conf is a file, written by the applier.
		default:
			return nil, fmt.Errorf("%s: not supported on FreeBSD", o)
		}
	}
	return out, nil
}

// laggProto maps Linux bonding modes to lagg(4) protocols.
func laggProto(mode string) string {
	switch mode {
	case "802.3ad", "4":
		return "lacp"
	case "balance-rr", "0":
		return "roundrobin"
	case "balance-xor", "2":
		return "loadbalance"
	}
	return "failover"
}

// FreeBSDRCConf returns the sysrc(8) assignments that make c persistent in
// /etc/rc.conf: ifconfig_<if>, ifconfig_<if>_aliasN, ifconfig_<if>_ipv6,
// defaultrouter, ipv6_defaultrouter, static_routes, vlans_<if>.
func FreeBSDRCConf(c Config) []string {
	var out []string
	var routes []string
	vlans := map[string][]string{}
	for _, n := range c.NICs {
		if n.SetName != "" && n.CurName != "" && n.CurName != n.Name {
			// rc(8) renames before it configures: ifconfig_<old>_name.
			out = append(out, fmt.Sprintf("ifconfig_%s_name=%s", rcName(n.CurName), n.Name))
		}
		v4, v6 := split(n.Addresses)
		var first []string
		if n.KindOf() == VLAN {
			first = append(first, "vlan", fmt.Sprint(n.VLANID), "vlandev", idName(c, n.Link))
			vlans[idName(c, n.Link)] = append(vlans[idName(c, n.Link)], n.Name)
		}
		switch {
		case n.DHCP4:
			first = append(first, "DHCP")
		case len(v4) > 0:
			first = append(first, "inet", v4[0].String())
		}
		if n.MTU != 0 {
			first = append(first, "mtu", fmt.Sprint(n.MTU))
		}
		if n.SetMAC != nil {
			first = append(first, "ether", n.SetMAC.String())
		}
		if len(first) == 0 {
			first = append(first, "up")
		}
		out = append(out, fmt.Sprintf("ifconfig_%s=%s", rcName(n.Name), strings.Join(first, " ")))
		alias := 0
		if len(v4) > 1 {
			for _, a := range v4[1:] {
				out = append(out, fmt.Sprintf("ifconfig_%s_alias%d=inet %s", rcName(n.Name), alias, a))
				alias++
			}
		}
		switch {
		case len(v6) > 0:
			out = append(out, fmt.Sprintf("ifconfig_%s_ipv6=inet6 %s", rcName(n.Name), v6[0]))
			for _, a := range v6[1:] {
				out = append(out, fmt.Sprintf("ifconfig_%s_alias%d=inet6 %s", rcName(n.Name), alias, a))
				alias++
			}
		case n.DHCP6:
			out = append(out, fmt.Sprintf("ifconfig_%s_ipv6=inet6 accept_rtadv", rcName(n.Name)))
		}
		if n.Gateway4.IsValid() {
			out = append(out, "defaultrouter="+n.Gateway4.String())
		}
		if n.Gateway6.IsValid() {
			out = append(out, "ipv6_defaultrouter="+n.Gateway6.String())
		}
		for _, r := range n.Routes {
			name := fmt.Sprintf("ovfinit%d", len(routes))
			routes = append(routes, name)
			arg := "-net " + r.To.String() + " " + r.Via.String()
			if !r.Via.IsValid() {
				arg = "-net " + r.To.String() + " -interface " + n.Name
			}
			out = append(out, fmt.Sprintf("route_%s=%s", name, arg))
		}
	}
	for _, p := range sortedKeys(vlans) {
		out = append(out, fmt.Sprintf("vlans_%s=%s", rcName(p), strings.Join(vlans[p], " ")))
	}
	if len(routes) > 0 {
		out = append(out, "static_routes="+strings.Join(routes, " "))
	}
	return out
}

// renderRCConf writes FreeBSDRCConf's assignments as rc.conf.d files, which
// rc(8) sources for the netif and routing services: the same settings
// `sysrc` would put in /etc/rc.conf, in files of ovfinit's own.
func renderRCConf(c Config) []File {
	var netif, routing bytes.Buffer
	netif.WriteString(header)
	routing.WriteString(header)
	for _, kv := range FreeBSDRCConf(c) {
		k, v, _ := strings.Cut(kv, "=")
		w := &netif
		if k == "defaultrouter" || k == "ipv6_defaultrouter" || k == "static_routes" || strings.HasPrefix(k, "route_") {
			w = &routing
		}
		fmt.Fprintf(w, "%s=%q\n", k, v)
	}
	return []File{
		{Path: "/etc/rc.conf.d/netif", Data: netif.Bytes(), Mode: 0o644},
		{Path: "/etc/rc.conf.d/routing", Data: routing.Bytes(), Mode: 0o644},
	}
}

// rcName is an interface name as rc.conf variables spell it (vlan0.10 ->
// vlan0_10).
func rcName(s string) string { return strings.NewReplacer(".", "_", "-", "_").Replace(s) }
