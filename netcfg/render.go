package netcfg

import (
	"bytes"
	"fmt"
	"io/fs"
	"net/netip"
	"path"
	"strings"

	"github.com/ovfinit/ovfinit/internal/rootfs"
)

// Manager is a network manager whose native configuration ovfinit writes.
type Manager string

const (
	ManagerNone           Manager = "none" // no manager found: live only
	ManagerNetplan        Manager = "netplan"
	ManagerNetworkManager Manager = "networkmanager"
	ManagerIfupdown       Manager = "ifupdown"
	ManagerNetworkd       Manager = "networkd"
	ManagerIfcfg          Manager = "ifcfg"
	ManagerRCConf         Manager = "rc.conf" // FreeBSD
)

// DetectManager says which network manager the image under root uses,
// looking in this order: netplan (it drives networkd or NetworkManager
// itself), NetworkManager, ifupdown (/etc/network/interfaces with an ifup),
// systemd-networkd, RHEL network-scripts, FreeBSD rc.conf; else
// ManagerNone.
func DetectManager(root string) Manager {
	exists := func(paths ...string) bool {
		for _, p := range paths {
			if _, err := rootfs.StatAt(root, p); err == nil {
				return true
			}
		}
		return false
	}
	switch {
	case exists("/usr/sbin/netplan", "/usr/share/netplan/netplan.script", "/usr/libexec/netplan/generate", "/lib/netplan/generate"):
		return ManagerNetplan
	case exists("/usr/sbin/NetworkManager", "/sbin/NetworkManager"):
		return ManagerNetworkManager
	case exists("/etc/network/interfaces") && exists("/sbin/ifup", "/usr/sbin/ifup", "/bin/ifup"):
		return ManagerIfupdown
	case exists("/lib/systemd/systemd-networkd", "/usr/lib/systemd/systemd-networkd"):
		return ManagerNetworkd
	case exists("/etc/sysconfig/network-scripts"):
		return ManagerIfcfg
	case exists("/etc/rc.conf") && exists("/usr/sbin/sysrc", "/etc/rc.subr"):
		return ManagerRCConf
	}
	return ManagerNone
}

// File is one configuration file to write under the root.
type File struct {
	Path string
	Data []byte
	Mode fs.FileMode
	// Group, when set, is the group that owns the file (by name, looked up
	// in the image's /etc/group); the writer makes the file root-only
	// (0600) when the image has no such group. Files with secrets use it.
	Group string `json:",omitempty"`
}

// Render returns the manager's native configuration for c, whose NICs
// Resolve has named. ManagerNone renders nothing.
func Render(m Manager, c Config) ([]File, error) {
	if err := CheckSupport(m, c); err != nil {
		return nil, err
	}
	switch m {
	case ManagerNone:
		return nil, nil
	case ManagerNetworkd:
		return renderNetworkd(c), nil
	case ManagerNetplan:
		return renderNetplan(c), nil
	case ManagerNetworkManager:
		return append(renderNM(c), udevRenames(c)...), nil
	case ManagerIfupdown:
		return append(renderIfupdown(c), udevRenames(c)...), nil
	case ManagerIfcfg:
		return append(renderIfcfg(c), udevRenames(c)...), nil
	case ManagerRCConf:
		return renderRCConf(c), nil
	}
	return nil, fmt.Errorf("unknown network manager %q", m)
}

const header = "# Written by ovfinit from the OVF environment; changes are lost at the next boot.\n"

// nicDNS is what NIC i's own configuration names as DNS: its own servers
// and search domains (netplan's per-interface nameservers), and on the first
// NIC that is not a bond member also the machine-wide ones (cloud-init v1
// "nameserver", VMware DNS), as cloud-init's renderers place them.
func nicDNS(c Config, i int) ([]netip.Addr, []string) {
	holder := 0
	for k, n := range c.NICs {
		if m, _ := masterOf(c, n); m == "" {
			holder = k
			break
		}
	}
	if i == holder {
		return MachineDNS(Config{DNS: c.DNS, Search: c.Search, NICs: []NIC{c.NICs[i]}})
	}
	return c.NICs[i].DNS, c.NICs[i].Search
}

func idName(c Config, id string) string {
	for _, n := range c.NICs {
		if n.ID == id {
			return n.Name
		}
	}
	return id
}

// bondOf is the name of the bond n is a member of, or "".
func bondOf(c Config, n NIC) string {
	master := ""
	for _, v := range c.NICs {
		if v.KindOf() == Bond && contains(v.Members, n.ID) {
			master = v.Name
		}
	}
	return master
}

// memberNames are the device names of a bond's members (idName of each).
func memberNames(c Config, bond NIC) []string {
	var names []string
	for _, m := range bond.Members {
		found := false
		for _, n := range c.NICs {
			if n.ID == m {
				names = append(names, n.Name)
				found = true
			}
		}
		if !found {
			names = append(names, m)
		}
	}
	return names
}

// bondOptions are a bond's parameters besides the mode as the bonding
// driver names them (sysfs, NetworkManager [bond], ifcfg BONDING_OPTS):
// "miimon=100".
func bondOptions(c Config, n NIC) []string {
	var out []string
	p := n.Bond
	kv := func(k string, v any, set bool) {
		if set {
			out = append(out, fmt.Sprintf("%s=%v", k, v))
		}
	}
	kv("miimon", p.MIIMonitorInterval, p.MIIMonitorInterval != 0)
	kv("updelay", p.UpDelay, p.UpDelay != 0)
	kv("downdelay", p.DownDelay, p.DownDelay != 0)
	kv("primary", idName(c, p.Primary), p.Primary != "")
	kv("lacp_rate", p.LACPRate, p.LACPRate != "")
	kv("xmit_hash_policy", p.TransmitHashPolicy, p.TransmitHashPolicy != "")
	kv("min_links", p.MinLinks, p.MinLinks != 0)
	kv("arp_interval", p.ARPInterval, p.ARPInterval != 0)
	kv("arp_ip_target", joinAddrs(p.ARPIPTargets, ","), len(p.ARPIPTargets) > 0)
	kv("num_grat_arp", p.GratuitousARP, p.GratuitousARP != 0)
	return out
}

// udevRenames is a udev rules file that gives every renamed NIC its name
// by MAC address at boot, for the managers that cannot rename (netplan
// writes the same rule for NetworkManager); nil when nothing is renamed.
func udevRenames(c Config) []File {
	var b bytes.Buffer
	for _, n := range c.NICs {
		if n.SetName == "" || n.KindOf() != Ethernet {
			continue
		}
		if n.MAC != nil {
			fmt.Fprintf(&b, "SUBSYSTEM==\"net\", ACTION==\"add\", ATTR{address}==\"%s\", NAME=\"%s\"\n", n.MAC, n.SetName)
		} else {
			fmt.Fprintf(&b, "SUBSYSTEM==\"net\", ACTION==\"add\", KERNEL==\"%s\", NAME=\"%s\"\n", n.CurName, n.SetName)
		}
	}
	if b.Len() == 0 {
		return nil
	}
	return []File{{Path: "/etc/udev/rules.d/70-ovfinit-net-names.rules", Data: append([]byte(header), b.Bytes()...), Mode: 0o644}}
}

func split(as []netip.Prefix) (v4, v6 []netip.Prefix) {
	for _, a := range as {
		if a.Addr().Is4() {
			v4 = append(v4, a)
		} else {
			v6 = append(v6, a)
		}
	}
	return v4, v6
}

func joinAddrs(as []netip.Addr, sep string) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, sep)
}

// --- systemd-networkd ---

func renderNetworkd(c Config) []File {
	var files []File
	for i, n := range c.NICs {
		var b bytes.Buffer
		b.WriteString(header)
		match := networkdMatch(n)
		b.WriteString(match)
		if n.SetName != "" {
			fmt.Fprintf(&b, "Name=%s\n", n.SetName)
		}
		ethMAC := n.SetMAC != nil // virtual devices: in the .netdev too, as netplan
		if n.MTU != 0 || n.Optional || ethMAC {
			b.WriteString("\n[Link]\n")
			if ethMAC {
				fmt.Fprintf(&b, "MACAddress=%s\n", n.SetMAC)
			}
			if n.MTU != 0 {
				fmt.Fprintf(&b, "MTUBytes=%d\n", n.MTU)
			}
			if n.Optional {
				b.WriteString("RequiredForOnline=no\n")
			}
		}
		b.WriteString("\n[Network]\n")
		switch {
		case n.DHCP4 && n.DHCP6:
			b.WriteString("DHCP=yes\n")
		case n.DHCP4:
			b.WriteString("DHCP=ipv4\n")
		case n.DHCP6:
			b.WriteString("DHCP=ipv6\n")
		}
		master, masterKind := masterOf(c, n)
		// As netplan: IPv6 link-local addresses, except on bond and
		// bridge members.
		switch {
		case n.LinkLocal != "":
			fmt.Fprintf(&b, "LinkLocalAddressing=%s\n", n.LinkLocal)
		case master != "":
			b.WriteString("LinkLocalAddressing=no\n")
		default:
			b.WriteString("LinkLocalAddressing=ipv6\n")
		}
		if n.AcceptRA != nil {
			fmt.Fprintf(&b, "IPv6AcceptRA=%s\n", yesNo(*n.AcceptRA))
		}
		if n.IPv6Privacy {
			b.WriteString("IPv6PrivacyExtensions=yes\n")
		}
		if n.KindOf() != Ethernet {
			b.WriteString("ConfigureWithoutCarrier=yes\n")
		}
		for _, a := range n.Addresses {
			fmt.Fprintf(&b, "Address=%s\n", a)
		}
		for _, g := range []netip.Addr{n.Gateway4, n.Gateway6} {
			if g.IsValid() {
				fmt.Fprintf(&b, "Gateway=%s\n", g)
			}
		}
		// Each NIC's own servers; the machine-wide ones (cloud-init v1
		// "nameserver") on the first NIC.
		dns, search := n.DNS, n.Search
		if i == 0 {
			dns, search = MachineDNS(Config{DNS: c.DNS, Search: c.Search, NICs: []NIC{n}})
		}
		if len(dns) > 0 {
			fmt.Fprintf(&b, "DNS=%s\n", joinAddrs(dns, " "))
		}
		if len(search) > 0 {
			fmt.Fprintf(&b, "Domains=%s\n", strings.Join(search, " "))
		}
		for _, v := range c.NICs {
			if v.KindOf() == VLAN && v.Link == n.ID {
				fmt.Fprintf(&b, "VLAN=%s\n", v.Name)
			}
		}
		for _, v := range c.NICs {
			if v.KindOf() == Tunnel && v.Tunnel.Mode == "vxlan" && v.Link == n.ID {
				fmt.Fprintf(&b, "VXLAN=%s\n", v.Name)
			}
		}
		if vrf := vrfOf(c, n); vrf != "" {
			fmt.Fprintf(&b, "VRF=%s\n", vrf)
		}
		if master != "" {
			fmt.Fprintf(&b, "%s=%s\n", map[Kind]string{Bond: "Bond", Bridge: "Bridge"}[masterKind], master)
			for _, v := range c.NICs {
				if v.KindOf() == Bond && v.Bond.Primary == n.ID && contains(v.Members, n.ID) {
					b.WriteString("PrimarySlave=true\n")
				}
			}
		}
		networkdDHCP(&b, n)
		if br := bridgeOf(c, n); br != nil {
			cost, hasCost := br.Bridge.PathCost[n.ID]
			prio, hasPrio := br.Bridge.PortPriority[n.ID]
			if hasCost || hasPrio || n.NeighSuppress != nil {
				b.WriteString("\n[Bridge]\n")
				if hasCost {
					fmt.Fprintf(&b, "Cost=%d\n", cost)
				}
				if hasPrio {
					fmt.Fprintf(&b, "Priority=%d\n", prio)
				}
				if n.NeighSuppress != nil {
					fmt.Fprintf(&b, "NeighborSuppression=%v\n", *n.NeighSuppress)
				}
			}
		} else if n.NeighSuppress != nil {
			fmt.Fprintf(&b, "\n[Bridge]\nNeighborSuppression=%v\n", *n.NeighSuppress)
		}
		for _, r := range n.Routes {
			fmt.Fprintf(&b, "\n[Route]\nDestination=%s\n", r.To)
			if r.Via.IsValid() {
				fmt.Fprintf(&b, "Gateway=%s\n", r.Via)
			}
			if scope := r.scope(); scope != "" {
				fmt.Fprintf(&b, "Scope=%s\n", scope)
			}
			if r.OnLink {
				b.WriteString("GatewayOnLink=yes\n")
			}
			if r.Metric != 0 {
				fmt.Fprintf(&b, "Metric=%d\n", r.Metric)
			}
			if r.Table != 0 {
				fmt.Fprintf(&b, "Table=%d\n", r.Table)
			}
			if r.Type != "" && r.Type != "unicast" {
				fmt.Fprintf(&b, "Type=%s\n", r.Type)
			}
			if r.From.IsValid() {
				fmt.Fprintf(&b, "PreferredSource=%s\n", r.From)
			}
		}
		for _, r := range n.RoutingPolicy {
			b.WriteString("\n[RoutingPolicyRule]\n")
			if r.From.IsValid() {
				fmt.Fprintf(&b, "From=%s\n", r.From)
			}
			if r.To.IsValid() {
				fmt.Fprintf(&b, "To=%s\n", r.To)
			}
			fmt.Fprintf(&b, "Table=%d\n", r.Table)
			if r.Priority != 0 {
				fmt.Fprintf(&b, "Priority=%d\n", r.Priority)
			}
			if r.Mark != 0 {
				fmt.Fprintf(&b, "FirewallMark=%d\n", r.Mark)
			}
			if r.TOS != 0 {
				fmt.Fprintf(&b, "TypeOfService=%d\n", r.TOS)
			}
		}
		base := fmt.Sprintf("/etc/systemd/network/10-ovfinit-%s", fileKey(c, n))
		files = append(files, File{Path: base + ".network", Data: b.Bytes(), Mode: 0o644})
		if n.KindOf() == Ethernet && (n.SetName != "" || n.MTU != 0 || n.WakeOnLAN || n.Offload != (Offload{})) {
			// udev renames the NIC (and sets its MTU, wake-on-LAN and
			// offloads) by this .link file at boot, before the network is
			// up, as netplan does.
			var l bytes.Buffer
			l.WriteString(header)
			l.WriteString(linkMatch(n))
			l.WriteString("\n[Link]\n")
			if n.SetName != "" {
				fmt.Fprintf(&l, "Name=%s\n", n.SetName)
			}
			if n.MTU != 0 {
				fmt.Fprintf(&l, "MTUBytes=%d\n", n.MTU)
			}
			if n.WakeOnLAN {
				l.WriteString("WakeOnLan=magic\n")
			}
			for _, k := range n.Offload.keys() {
				if *k.V != nil {
					fmt.Fprintf(&l, "%s=%v\n", k.Networkd, **k.V)
				}
			}
			files = append(files, File{Path: base + ".link", Data: l.Bytes(), Mode: 0o644})
		}
		if n.KindOf() != Ethernet {
			var d bytes.Buffer
			d.WriteString(header)
			fmt.Fprintf(&d, "[NetDev]\nName=%s\nKind=%s\n", n.Name, netdevKind(n))
			if n.SetMAC != nil {
				// A virtual device gets its MAC address when it is made.
				fmt.Fprintf(&d, "MACAddress=%s\n", n.SetMAC)
			}
			if n.MTU != 0 {
				fmt.Fprintf(&d, "MTUBytes=%d\n", n.MTU)
			}
			if n.KindOf() == Bridge && !n.Bridge.IsZero() {
				p := n.Bridge
				d.WriteString("\n[Bridge]\n")
				kv := func(k string, v any, set bool) {
					if set {
						fmt.Fprintf(&d, "%s=%v\n", k, v)
					}
				}
				kv("AgeingTimeSec", fmt.Sprintf("%dms", p.AgeingTime), p.AgeingTime != 0)
				if p.Priority != nil {
					kv("Priority", *p.Priority, true)
				}
				kv("ForwardDelaySec", fmt.Sprintf("%dms", p.ForwardDelay), p.ForwardDelay != 0)
				kv("HelloTimeSec", fmt.Sprintf("%dms", p.HelloTime), p.HelloTime != 0)
				kv("MaxAgeSec", fmt.Sprintf("%dms", p.MaxAge), p.MaxAge != 0)
				if p.STP != nil {
					kv("STP", *p.STP, true)
				}
			}
			if n.KindOf() == VLAN {
				fmt.Fprintf(&d, "\n[VLAN]\nId=%d\n", n.VLANID)
			} else if n.KindOf() == Bond && (n.BondMode != "" || !n.Bond.IsZero()) {
				d.WriteString("\n[Bond]\n")
				if n.BondMode != "" {
					fmt.Fprintf(&d, "Mode=%s\n", n.BondMode)
				}
				p := n.Bond
				kv := func(k string, v any, set bool) {
					if set {
						fmt.Fprintf(&d, "%s=%v\n", k, v)
					}
				}
				kv("LACPTransmitRate", p.LACPRate, p.LACPRate != "")
				kv("MIIMonitorSec", fmt.Sprintf("%dms", p.MIIMonitorInterval), p.MIIMonitorInterval != 0)
				kv("MinLinks", p.MinLinks, p.MinLinks != 0)
				kv("TransmitHashPolicy", p.TransmitHashPolicy, p.TransmitHashPolicy != "")
				kv("ARPIntervalSec", fmt.Sprintf("%dms", p.ARPInterval), p.ARPInterval != 0)
				kv("ARPIPTargets", joinAddrs(p.ARPIPTargets, " "), len(p.ARPIPTargets) > 0)
				kv("UpDelaySec", fmt.Sprintf("%dms", p.UpDelay), p.UpDelay != 0)
				kv("DownDelaySec", fmt.Sprintf("%dms", p.DownDelay), p.DownDelay != 0)
				kv("GratuitousARP", p.GratuitousARP, p.GratuitousARP != 0)
			}
			netdevTunnel(&d, n)
			files = append(files, netdevFile(base+".netdev", d.Bytes(), n))
		}
	}
	return files
}

// networkdMatch is a .network file's [Match] section for n.
func networkdMatch(n NIC) string {
	var b strings.Builder
	b.WriteString("[Match]\n")
	if n.KindOf() != Ethernet {
		fmt.Fprintf(&b, "Name=%s\n", n.Name)
		return b.String()
	}
	if n.Driver != "" {
		fmt.Fprintf(&b, "Driver=%s\n", n.Driver)
	}
	switch {
	case n.MAC != nil:
		fmt.Fprintf(&b, "MACAddress=%s\nType=ether\n", n.MAC)
	case n.SetName == "" && n.Name != "":
		fmt.Fprintf(&b, "Name=%s\n", n.Name)
	}
	return b.String()
}

// linkMatch is the [Match] section of a .link file that renames n: by MAC,
// else by the kernel's name for the device (OriginalName).
func linkMatch(n NIC) string {
	var b strings.Builder
	b.WriteString("[Match]\n")
	if n.Driver != "" {
		fmt.Fprintf(&b, "Driver=%s\n", n.Driver)
	}
	orig := n.CurName
	if orig == "" {
		orig = n.Name // not resolved: the match pattern
	}
	if n.MAC != nil {
		fmt.Fprintf(&b, "MACAddress=%s\n", n.MAC)
	} else if orig != "" && (n.SetName == "" || orig != n.SetName) {
		fmt.Fprintf(&b, "OriginalName=%s\n", orig)
	}
	return b.String()
}

// fileName is the part of a file name that names n: its interface name, or
// its ID when the name is a pattern (an unresolved configuration).
func fileName(n NIC) string {
	if n.Name == "" || IsGlob(n.Name) {
		return n.ID
	}
	return n.Name
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// --- netplan ---

func renderNetplan(c Config) []File {
	var b bytes.Buffer
	b.WriteString(header)
	b.WriteString("network:\n  version: 2\n")
	for _, sec := range []struct {
		key  string
		kind Kind
	}{{"ethernets", Ethernet}, {"bonds", Bond}, {"bridges", Bridge}, {"vlans", VLAN}, {"vrfs", VRF}, {"tunnels", Tunnel}} {
		first := true
		for _, n := range c.NICs {
			if n.KindOf() != sec.kind {
				continue
			}
			if first {
				fmt.Fprintf(&b, "  %s:\n", sec.key)
				first = false
			}
			fmt.Fprintf(&b, "    %s:\n", n.Name)
			if n.KindOf() == Ethernet {
				switch {
				case n.MAC != nil:
					fmt.Fprintf(&b, "      match:\n        macaddress: %q\n      set-name: %s\n", n.MAC.String(), n.Name)
				case n.SetName != "":
					fmt.Fprintf(&b, "      match:\n        name: %s\n      set-name: %s\n", n.CurName, n.SetName)
				default:
					fmt.Fprintf(&b, "      match:\n        name: %s\n", n.Name)
				}
			}
			if n.KindOf() == VLAN {
				fmt.Fprintf(&b, "      id: %d\n      link: %s\n", n.VLANID, idName(c, n.Link))
			}
			if n.KindOf() == Bond {
				fmt.Fprintf(&b, "      interfaces: [%s]\n", strings.Join(memberNames(c, n), ", "))
				if n.BondMode != "" || !n.Bond.IsZero() {
					b.WriteString("      parameters:\n")
					p := n.Bond
					kv := func(k string, v any, set bool) {
						if set {
							fmt.Fprintf(&b, "        %s: %v\n", k, v)
						}
					}
					kv("mode", n.BondMode, n.BondMode != "")
					kv("mii-monitor-interval", p.MIIMonitorInterval, p.MIIMonitorInterval != 0)
					kv("primary", idName(c, p.Primary), p.Primary != "")
					kv("lacp-rate", p.LACPRate, p.LACPRate != "")
					kv("transmit-hash-policy", p.TransmitHashPolicy, p.TransmitHashPolicy != "")
					kv("up-delay", p.UpDelay, p.UpDelay != 0)
					kv("down-delay", p.DownDelay, p.DownDelay != 0)
					kv("min-links", p.MinLinks, p.MinLinks != 0)
					kv("arp-interval", p.ARPInterval, p.ARPInterval != 0)
					kv("arp-ip-targets", "["+joinAddrs(p.ARPIPTargets, ", ")+"]", len(p.ARPIPTargets) > 0)
					kv("gratuitous-arp", p.GratuitousARP, p.GratuitousARP != 0)
				}
			}
			if n.KindOf() == Bridge {
				fmt.Fprintf(&b, "      interfaces: [%s]\n", strings.Join(memberNames(c, n), ", "))
				netplanBridgeParams(&b, c, n)
			}
			netplanTunnel(&b, c, n)
			netplanLinkOpts(&b, n)
			if n.KindOf() != VRF { // netplan has no DHCP on a VRF
				fmt.Fprintf(&b, "      dhcp4: %v\n      dhcp6: %v\n", n.DHCP4, n.DHCP6)
			}
			if n.Optional {
				b.WriteString("      optional: true\n")
			}
			if n.MTU != 0 {
				fmt.Fprintf(&b, "      mtu: %d\n", n.MTU)
			}
			if len(n.Addresses) > 0 {
				b.WriteString("      addresses:\n")
				for _, a := range n.Addresses {
					fmt.Fprintf(&b, "        - %q\n", a.String())
				}
			}
			if rs := n.AllRoutes(); len(rs) > 0 {
				b.WriteString("      routes:\n")
				for _, r := range rs {
					to := r.To.String()
					if r.To.Bits() == 0 {
						to = "default"
					}
					fmt.Fprintf(&b, "        - to: %q\n", to)
					if r.Via.IsValid() {
						fmt.Fprintf(&b, "          via: %q\n", r.Via.String())
					}
					if r.Metric != 0 {
						fmt.Fprintf(&b, "          metric: %d\n", r.Metric)
					}
					if r.OnLink {
						b.WriteString("          on-link: true\n")
					}
					if r.Table != 0 {
						fmt.Fprintf(&b, "          table: %d\n", r.Table)
					}
					if r.Type != "" {
						fmt.Fprintf(&b, "          type: %s\n", r.Type)
					}
					if r.Scope != "" {
						fmt.Fprintf(&b, "          scope: %s\n", r.Scope)
					}
					if r.From.IsValid() {
						fmt.Fprintf(&b, "          from: %q\n", r.From.String())
					}
				}
			}
			if len(n.RoutingPolicy) > 0 {
				b.WriteString("      routing-policy:\n")
				for _, r := range n.RoutingPolicy {
					pre := "        - "
					if r.From.IsValid() {
						fmt.Fprintf(&b, "%sfrom: %q\n", pre, r.From.String())
						pre = "          "
					}
					if r.To.IsValid() {
						fmt.Fprintf(&b, "%sto: %q\n", pre, r.To.String())
						pre = "          "
					}
					fmt.Fprintf(&b, "%stable: %d\n", pre, r.Table)
					for _, f := range []struct {
						k string
						v int
					}{{"priority", r.Priority}, {"mark", r.Mark}, {"type-of-service", r.TOS}} {
						if f.v != 0 {
							fmt.Fprintf(&b, "          %s: %d\n", f.k, f.v)
						}
					}
				}
			}
			dns, search := n.DNS, n.Search
			if n.ID == c.NICs[0].ID {
				dns, search = MachineDNS(Config{DNS: c.DNS, Search: c.Search, NICs: []NIC{n}})
			}
			if len(dns)+len(search) > 0 {
				b.WriteString("      nameservers:\n")
				if len(dns) > 0 {
					fmt.Fprintf(&b, "        addresses: [%s]\n", joinAddrs(dns, ", "))
				}
				if len(search) > 0 {
					fmt.Fprintf(&b, "        search: [%s]\n", strings.Join(search, ", "))
				}
			}
		}
	}
	return []File{{Path: "/etc/netplan/90-ovfinit.yaml", Data: b.Bytes(), Mode: 0o600}}
}

// --- NetworkManager keyfiles ---

func renderNM(c Config) []File {
	var files []File
	for i, n := range c.NICs {
		var b bytes.Buffer
		b.WriteString(header)
		dns, search := nicDNS(c, i)
		typ := map[Kind]string{Ethernet: "ethernet", VLAN: "vlan", Bond: "bond", Bridge: "bridge", VRF: "vrf", Tunnel: nmTunnelType(n)}[n.KindOf()]
		fmt.Fprintf(&b, "[connection]\nid=ovfinit-%s\nuuid=%s\ntype=%s\ninterface-name=%s\nautoconnect=true\nautoconnect-priority=100\n", n.Name, nmUUID(n.Name), typ, n.Name)
		master, masterKind := masterOf(c, n)
		if master != "" {
			fmt.Fprintf(&b, "master=%s\nslave-type=%s\n", master, masterKind)
		} else if vrf := vrfOf(c, n); vrf != "" {
			fmt.Fprintf(&b, "master=%s\nslave-type=vrf\n", vrf)
		}
		// A bond's, bridge's or VLAN's MTU is its wired setting's too.
		wiredMTU := n.MTU != 0 && (n.KindOf() == Ethernet || n.KindOf() == Bond || n.KindOf() == Bridge || n.KindOf() == VLAN)
		if n.KindOf() == Ethernet || n.SetMAC != nil || wiredMTU {
			b.WriteString("\n[ethernet]\n")
			if n.MAC != nil && n.KindOf() == Ethernet {
				fmt.Fprintf(&b, "mac-address=%s\n", strings.ToUpper(n.MAC.String()))
			}
			if n.SetMAC != nil {
				fmt.Fprintf(&b, "cloned-mac-address=%s\n", strings.ToUpper(n.SetMAC.String()))
			}
			if wiredMTU {
				fmt.Fprintf(&b, "mtu=%d\n", n.MTU)
			}
			if n.WakeOnLAN {
				b.WriteString("wake-on-lan=64\n")
			}
		}
		if n.Offload != (Offload{}) {
			b.WriteString("\n[ethtool]\n")
			for _, k := range n.Offload.keys() {
				if *k.V != nil {
					fmt.Fprintf(&b, "%s=%v\n", k.Ethtool, **k.V)
				}
			}
		}
		if n.KindOf() == Bridge {
			b.WriteString("\n[bridge]\n")
			p := n.Bridge
			if p.STP != nil {
				fmt.Fprintf(&b, "stp=%v\n", *p.STP)
			}
			for _, d := range []struct {
				k string
				v int
			}{{"forward-delay", p.ForwardDelay}, {"hello-time", p.HelloTime}, {"max-age", p.MaxAge}, {"ageing-time", p.AgeingTime}} {
				if d.v != 0 {
					// NetworkManager takes whole seconds.
					fmt.Fprintf(&b, "%s=%d\n", d.k, (d.v+999)/1000)
				}
			}
			if p.Priority != nil {
				fmt.Fprintf(&b, "priority=%d\n", *p.Priority)
			}
		}
		if br := bridgeOf(c, n); br != nil {
			cost, hasCost := br.Bridge.PathCost[n.ID]
			prio, hasPrio := br.Bridge.PortPriority[n.ID]
			if hasCost || hasPrio {
				b.WriteString("\n[bridge-port]\n")
				if hasCost {
					fmt.Fprintf(&b, "path-cost=%d\n", cost)
				}
				if hasPrio {
					fmt.Fprintf(&b, "priority=%d\n", prio)
				}
			}
		}
		if n.KindOf() == VLAN {
			fmt.Fprintf(&b, "\n[vlan]\nparent=%s\nid=%d\n", idName(c, n.Link), n.VLANID)
		}
		nmTunnel(&b, c, n)
		if n.KindOf() == Bond {
			mode := n.BondMode
			if mode == "" {
				mode = "balance-rr"
			}
			fmt.Fprintf(&b, "\n[bond]\nmode=%s\n", mode)
			for _, o := range bondOptions(c, n) {
				fmt.Fprintf(&b, "%s\n", o)
			}
		}
		if master == "" {
			v4, v6 := split(n.Addresses)
			for _, fam := range []struct {
				name  string
				dhcp  bool
				addrs []netip.Prefix
				gw    netip.Addr
				six   bool
				over  DHCPOverrides
			}{{"ipv4", n.DHCP4, v4, n.Gateway4, false, n.DHCP4Overrides}, {"ipv6", n.DHCP6, v6, n.Gateway6, true, n.DHCP6Overrides}} {
				fmt.Fprintf(&b, "\n[%s]\n", fam.name)
				method := "disabled"
				if fam.six {
					method = "ignore"
				}
				if len(fam.addrs) > 0 {
					method = "manual"
				}
				if fam.dhcp {
					method = "auto"
				}
				fmt.Fprintf(&b, "method=%s\n", method)
				for k, a := range fam.addrs {
					fmt.Fprintf(&b, "address%d=%s\n", k+1, a)
				}
				if fam.gw.IsValid() {
					fmt.Fprintf(&b, "gateway=%s\n", fam.gw)
				}
				k := 0
				for _, r := range n.Routes {
					if r.To.Addr().Is6() != fam.six {
						continue
					}
					k++
					fmt.Fprintf(&b, "route%d=%s", k, r.To)
					if r.Via.IsValid() || r.Metric != 0 {
						via := r.Via.String()
						if !r.Via.IsValid() {
							via = map[bool]string{false: "0.0.0.0", true: "::"}[fam.six]
						}
						fmt.Fprintf(&b, ",%s", via)
					}
					if r.Metric != 0 {
						fmt.Fprintf(&b, ",%d", r.Metric)
					}
					b.WriteString("\n")
					var opts []string
					if r.OnLink {
						opts = append(opts, "onlink=true")
					}
					if r.Table != 0 {
						opts = append(opts, fmt.Sprintf("table=%d", r.Table))
					}
					if r.From.IsValid() {
						opts = append(opts, "src="+r.From.String())
					}
					if r.Type != "" && r.Type != "unicast" {
						opts = append(opts, "type="+r.Type)
					}
					if len(opts) > 0 {
						fmt.Fprintf(&b, "route%d_options=%s\n", k, strings.Join(opts, ","))
					}
				}
				k = 0
				for _, r := range n.RoutingPolicy {
					if r.IPv6() != fam.six {
						continue
					}
					k++
					fmt.Fprintf(&b, "routing-rule%d=%s\n", k, nmRule(r))
				}
				if fam.six && n.IPv6Privacy {
					b.WriteString("ip6-privacy=2\n")
				}
				if !fam.six && n.DHCPIdentifier == "mac" {
					b.WriteString("dhcp-client-id=mac\n")
				}
				o := fam.over
				for _, f := range []struct {
					k   string
					v   *bool
					not bool
				}{{"ignore-auto-dns", o.UseDNS, true}, {"ignore-auto-routes", o.UseRoutes, true}, {"dhcp-send-hostname", o.SendHostname, false}} {
					if f.v != nil {
						fmt.Fprintf(&b, "%s=%v\n", f.k, *f.v != f.not)
					}
				}
				if o.Hostname != "" {
					fmt.Fprintf(&b, "dhcp-hostname=%s\n", o.Hostname)
				}
				if o.RouteMetric != 0 {
					fmt.Fprintf(&b, "route-metric=%d\n", o.RouteMetric)
				}
				var fd []netip.Addr
				for _, d := range dns {
					if d.Is6() == fam.six {
						fd = append(fd, d)
					}
				}
				if len(fd) > 0 {
					fmt.Fprintf(&b, "dns=%s;\n", joinAddrs(fd, ";"))
				}
				if len(search) > 0 && !fam.six {
					fmt.Fprintf(&b, "dns-search=%s;\n", strings.Join(search, ";"))
				}
			}
		}
		files = append(files, File{Path: "/etc/NetworkManager/system-connections/ovfinit-" + fileKey(c, n) + ".nmconnection", Data: b.Bytes(), Mode: 0o600})
	}
	return files
}

// nmUUID is a stable UUID for a connection, so that rewriting the file at
// every boot keeps NetworkManager's idea of it.
func nmUUID(name string) string {
	// FNV-1a, spread over 16 bytes: stable and dependency-free; NM needs a
	// well-formed UUID, not a random one.
	var h uint64 = 14695981039346656037
	var out [16]byte
	for i := range out {
		for _, c := range []byte(name) {
			h ^= uint64(c)
			h *= 1099511628211
		}
		h ^= uint64(i)
		h *= 1099511628211
		out[i] = byte(h >> 32)
	}
	out[6] = out[6]&0x0f | 0x50
	out[8] = out[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", out[0:4], out[4:6], out[6:8], out[8:10], out[10:16])
}

// --- ifupdown ---

func renderIfupdown(c Config) []File {
	var b bytes.Buffer
	b.WriteString(header)
	for i, n := range c.NICs {
		dns, search := nicDNS(c, i)
		// An optional NIC does not hold up networking.service.
		if n.Optional {
			fmt.Fprintf(&b, "\nallow-hotplug %s\n", n.Name)
		} else {
			fmt.Fprintf(&b, "\nauto %s\n", n.Name)
		}
		v4, v6 := split(n.Addresses)
		master, masterKind := masterOf(c, n)
		method4 := "manual"
		if n.DHCP4 {
			method4 = "dhcp"
		} else if len(v4) > 0 {
			method4 = "static"
		}
		fmt.Fprintf(&b, "iface %s inet %s\n", n.Name, method4)
		if master != "" && masterKind == Bond {
			fmt.Fprintf(&b, "    bond-master %s\n", master)
		}
		if n.SetMAC != nil {
			fmt.Fprintf(&b, "    hwaddress ether %s\n", n.SetMAC)
		}
		if n.KindOf() == Bridge {
			ports := strings.Join(memberNames(c, n), " ")
			if ports == "" {
				ports = "none"
			}
			// bridge-utils' keys; durations in seconds.
			fmt.Fprintf(&b, "    bridge_ports %s\n", ports)
			p := n.Bridge
			if p.STP != nil {
				fmt.Fprintf(&b, "    bridge_stp %s\n", map[bool]string{true: "on", false: "off"}[*p.STP])
			}
			for _, d := range []struct {
				k string
				v int
			}{{"bridge_fd", p.ForwardDelay}, {"bridge_hello", p.HelloTime}, {"bridge_maxage", p.MaxAge}, {"bridge_ageing", p.AgeingTime}} {
				if d.v != 0 {
					fmt.Fprintf(&b, "    %s %s\n", d.k, seconds(d.v))
				}
			}
			if p.Priority != nil {
				fmt.Fprintf(&b, "    bridge_bridgeprio %d\n", *p.Priority)
			}
			for _, id := range sortedKeys(p.PathCost) {
				fmt.Fprintf(&b, "    bridge_pathcost %s %d\n", idName(c, id), p.PathCost[id])
			}
			for _, id := range sortedKeys(p.PortPriority) {
				fmt.Fprintf(&b, "    bridge_portprio %s %d\n", idName(c, id), p.PortPriority[id])
			}
		}
		if n.KindOf() == VLAN {
			// vlan-id for ifupdown2; Debian's vlan scripts take the id
			// from a name such as eth0.10.
			fmt.Fprintf(&b, "    vlan-raw-device %s\n    vlan-id %d\n", idName(c, n.Link), n.VLANID)
		}
		if n.KindOf() == Bond {
			fmt.Fprintf(&b, "    bond-slaves %s\n", strings.Join(memberNames(c, n), " "))
			if n.BondMode != "" {
				fmt.Fprintf(&b, "    bond-mode %s\n", n.BondMode)
			}
			for _, o := range bondOptions(c, n) {
				k, v, _ := strings.Cut(o, "=")
				fmt.Fprintf(&b, "    bond-%s %s\n", strings.ReplaceAll(k, "_", "-"), strings.ReplaceAll(v, ",", " "))
			}
		}
		if n.MTU != 0 {
			fmt.Fprintf(&b, "    mtu %d\n", n.MTU)
		}
		if method4 == "static" {
			fmt.Fprintf(&b, "    address %s\n", v4[0])
			if n.Gateway4.IsValid() {
				fmt.Fprintf(&b, "    gateway %s\n", n.Gateway4)
			}
			for _, a := range v4[1:] {
				fmt.Fprintf(&b, "    up ip addr add %s dev %s\n", a, n.Name)
			}
		}
		for _, r := range n.Routes {
			if r.To.Addr().Is4() {
				fmt.Fprintf(&b, "    up ip route replace %s\n", routeArgs(r, n.Name))
			}
		}
		for _, r := range n.RoutingPolicy {
			if !r.IPv6() {
				fmt.Fprintf(&b, "    up ip rule add %s\n", r)
			}
		}
		if len(dns) > 0 {
			fmt.Fprintf(&b, "    dns-nameservers %s\n", joinAddrs(dns, " "))
		}
		if len(search) > 0 {
			fmt.Fprintf(&b, "    dns-search %s\n", strings.Join(search, " "))
		}
		if n.DHCP6 || len(v6) > 0 {
			method6 := "auto"
			if len(v6) > 0 && !n.DHCP6 {
				method6 = "static"
			}
			fmt.Fprintf(&b, "iface %s inet6 %s\n", n.Name, method6)
			if method6 == "static" {
				fmt.Fprintf(&b, "    address %s\n", v6[0])
				if n.Gateway6.IsValid() {
					fmt.Fprintf(&b, "    gateway %s\n", n.Gateway6)
				}
				for _, a := range v6[1:] {
					fmt.Fprintf(&b, "    up ip -6 addr add %s dev %s\n", a, n.Name)
				}
			} else if n.DHCP6 {
				b.WriteString("    dhcp 1\n")
			}
			for _, r := range n.Routes {
				if r.To.Addr().Is6() {
					fmt.Fprintf(&b, "    up ip -6 route replace %s\n", routeArgs(r, n.Name))
				}
			}
			for _, r := range n.RoutingPolicy {
				if r.IPv6() {
					fmt.Fprintf(&b, "    up ip -6 rule add %s\n", r)
				}
			}
		}
	}
	return []File{{Path: "/etc/network/interfaces.d/50-ovfinit", Data: b.Bytes(), Mode: 0o644}}
}

func routeArgs(r Route, dev string) string {
	s := r.To.String()
	if r.Type != "" && r.Type != "unicast" {
		// ip route add blackhole 10.8.0.0/16: no device.
		s = r.Type + " " + s
		dev = ""
	}
	if r.Via.IsValid() {
		s += " via " + r.Via.String()
	}
	if dev != "" {
		s += " dev " + dev
	}
	if r.Metric != 0 {
		s += fmt.Sprintf(" metric %d", r.Metric)
	}
	if r.OnLink {
		s += " onlink"
	}
	if r.Table != 0 {
		s += fmt.Sprintf(" table %d", r.Table)
	}
	if r.Scope != "" {
		s += " scope " + r.Scope
	}
	if r.From.IsValid() {
		s += " src " + r.From.String()
	}
	return s
}

// seconds writes milliseconds as seconds, with a fraction when needed.
func seconds(ms int) string {
	if ms%1000 == 0 {
		return fmt.Sprint(ms / 1000)
	}
	return fmt.Sprintf("%.3f", float64(ms)/1000)
}

// --- RHEL ifcfg ---

func renderIfcfg(c Config) []File {
	var files []File
	for i, n := range c.NICs {
		var b bytes.Buffer
		b.WriteString(header)
		kv := func(k string, v any) { fmt.Fprintf(&b, "%s=%v\n", k, v) }
		kv("DEVICE", n.Name)
		kv("NAME", "ovfinit-"+n.Name)
		kv("ONBOOT", "yes")
		master, masterKind := masterOf(c, n)
		if n.SetMAC != nil {
			kv("MACADDR", n.SetMAC)
		}
		switch n.KindOf() {
		case Bridge:
			kv("TYPE", "Bridge")
			p := n.Bridge
			if p.STP != nil {
				kv("STP", map[bool]string{true: "on", false: "off"}[*p.STP])
			}
			if p.ForwardDelay != 0 {
				kv("DELAY", seconds(p.ForwardDelay))
			}
			if p.Priority != nil {
				kv("BRIDGING_OPTS", fmt.Sprintf("%q", fmt.Sprintf("priority=%d", *p.Priority)))
			}
		case Ethernet:
			kv("TYPE", "Ethernet")
			if n.MAC != nil {
				kv("HWADDR", n.MAC)
			}
		case VLAN:
			kv("VLAN", "yes")
			kv("PHYSDEV", idName(c, n.Link))
			kv("VLAN_ID", n.VLANID)
		case Bond:
			kv("TYPE", "Bond")
			kv("BONDING_MASTER", "yes")
			opts := bondOptions(c, n)
			if n.BondMode != "" {
				opts = append([]string{"mode=" + n.BondMode}, opts...)
			}
			if len(opts) > 0 {
				kv("BONDING_OPTS", fmt.Sprintf("%q", strings.Join(opts, " ")))
			}
		}
		if master != "" && masterKind == Bond {
			kv("MASTER", master)
			kv("SLAVE", "yes")
		}
		if master != "" && masterKind == Bridge {
			kv("BRIDGE", master)
			br := bridgeOf(c, n)
			var opts []string
			if v, ok := br.Bridge.PathCost[n.ID]; ok {
				opts = append(opts, fmt.Sprintf("path_cost=%d", v))
			}
			if v, ok := br.Bridge.PortPriority[n.ID]; ok {
				opts = append(opts, fmt.Sprintf("priority=%d", v))
			}
			if len(opts) > 0 {
				kv("BRIDGING_OPTS", fmt.Sprintf("%q", strings.Join(opts, " ")))
			}
		}
		boot := "none"
		if n.DHCP4 {
			boot = "dhcp"
		}
		kv("BOOTPROTO", boot)
		if n.MTU != 0 {
			kv("MTU", n.MTU)
		}
		v4, v6 := split(n.Addresses)
		for k, a := range v4 {
			kv(fmt.Sprintf("IPADDR%d", k), a.Addr())
			kv(fmt.Sprintf("PREFIX%d", k), a.Bits())
		}
		if n.Gateway4.IsValid() {
			kv("GATEWAY", n.Gateway4)
		}
		if n.DHCP6 || len(v6) > 0 {
			kv("IPV6INIT", "yes")
			if n.DHCP6 {
				kv("DHCPV6C", "yes")
			}
			if len(v6) > 0 {
				kv("IPV6ADDR", v6[0])
			}
			if len(v6) > 1 {
				s := make([]string, len(v6)-1)
				for k, a := range v6[1:] {
					s[k] = a.String()
				}
				kv("IPV6ADDR_SECONDARIES", fmt.Sprintf("%q", strings.Join(s, " ")))
			}
			if n.Gateway6.IsValid() {
				kv("IPV6_DEFAULTGW", n.Gateway6)
			}
		}
		src, ss := nicDNS(c, i)
		for k, d := range src {
			kv(fmt.Sprintf("DNS%d", k+1), d)
		}
		if len(ss) > 0 {
			kv("DOMAIN", fmt.Sprintf("%q", strings.Join(ss, " ")))
		}
		files = append(files, File{Path: "/etc/sysconfig/network-scripts/ifcfg-" + ifcfgKey(c, n), Data: b.Bytes(), Mode: 0o644})
		var r4, r6 bytes.Buffer
		for _, r := range n.Routes {
			w := &r4
			if r.To.Addr().Is6() {
				w = &r6
			}
			fmt.Fprintf(w, "%s\n", routeArgs(r, n.Name))
		}
		if r4.Len() > 0 {
			files = append(files, File{Path: "/etc/sysconfig/network-scripts/route-" + n.Name, Data: append([]byte(header), r4.Bytes()...), Mode: 0o644})
		}
		if r6.Len() > 0 {
			files = append(files, File{Path: "/etc/sysconfig/network-scripts/route6-" + n.Name, Data: append([]byte(header), r6.Bytes()...), Mode: 0o644})
		}
		var u4, u6 bytes.Buffer
		for _, r := range n.RoutingPolicy {
			w := &u4
			if r.IPv6() {
				w = &u6
			}
			fmt.Fprintf(w, "%s\n", r)
		}
		if u4.Len() > 0 {
			files = append(files, File{Path: "/etc/sysconfig/network-scripts/rule-" + n.Name, Data: append([]byte(header), u4.Bytes()...), Mode: 0o644})
		}
		if u6.Len() > 0 {
			files = append(files, File{Path: "/etc/sysconfig/network-scripts/rule6-" + n.Name, Data: append([]byte(header), u6.Bytes()...), Mode: 0o644})
		}
	}
	return files
}

// IfupdownSourced says whether an /etc/network/interfaces reads the
// directory ovfinit's ifupdown file goes to (/etc/network/interfaces.d), by
// a "source-directory" line or a "source" line with a path or glob in it.
// If not, it returns the file with a source-directory line appended: without
// one, ifup ignores ovfinit's file and the configuration would not survive a
// reboot.
func IfupdownSourced(interfaces []byte) (fixed []byte, ok bool) {
	for _, l := range strings.Split(string(interfaces), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		dir := strings.TrimSuffix(path.Clean(f[1]), "/")
		switch f[0] {
		case "source-directory":
			if dir == "/etc/network/interfaces.d" || dir == "interfaces.d" {
				return interfaces, true
			}
		case "source":
			if d := path.Dir(f[1]); d == "/etc/network/interfaces.d" || d == "interfaces.d" {
				return interfaces, true
			}
		}
	}
	out := append([]byte{}, interfaces...)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	out = append(out, "\n# Added by ovfinit: its configuration is in interfaces.d.\nsource-directory /etc/network/interfaces.d\n"...)
	return out, false
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// scope is the scope a route is written with: its own, else link for a
// unicast route without a gateway (as netplan writes it), else none.
func (r Route) scope() string {
	if r.Scope != "" {
		return r.Scope
	}
	if !r.Via.IsValid() && (r.Type == "" || r.Type == "unicast") {
		return "link"
	}
	return ""
}

// dhcpOverrides are the overrides the DHCP client of n uses: DHCPv4's
// when it runs DHCPv4, else DHCPv6's (Validate makes them agree when both
// run, as netplan does for networkd).
func (n *NIC) dhcpOverrides() DHCPOverrides {
	if n.DHCP4 {
		return n.DHCP4Overrides
	}
	return n.DHCP6Overrides
}

// networkdDHCP writes the [DHCP] section as netplan 0.106 does: its route
// metric and MTU defaults, the overrides, the client identifier, and
// CriticalConnection (even without DHCP).
func networkdDHCP(b *bytes.Buffer, n NIC) {
	dhcp := n.DHCP4 || n.DHCP6
	if !dhcp && !n.Critical {
		return
	}
	b.WriteString("\n[DHCP]\n")
	if n.Critical {
		b.WriteString("CriticalConnection=true\n")
	}
	if !dhcp {
		return
	}
	if n.DHCPIdentifier == "mac" {
		b.WriteString("ClientIdentifier=mac\n")
	}
	o := n.dhcpOverrides()
	metric := o.RouteMetric
	if metric == 0 {
		metric = 100
	}
	fmt.Fprintf(b, "RouteMetric=%d\n", metric)
	useMTU := true
	if o.UseMTU != nil {
		useMTU = *o.UseMTU
	}
	fmt.Fprintf(b, "UseMTU=%v\n", useMTU)
	for _, f := range []struct {
		k string
		v *bool
	}{{"UseRoutes", o.UseRoutes}, {"UseDNS", o.UseDNS}, {"UseNTP", o.UseNTP}, {"SendHostname", o.SendHostname}, {"UseHostname", o.UseHostname}} {
		// All default to true in networkd; netplan writes only false.
		if f.v != nil && !*f.v {
			fmt.Fprintf(b, "%s=false\n", f.k)
		}
	}
	if o.UseDomains != "" {
		fmt.Fprintf(b, "UseDomains=%s\n", o.UseDomains)
	}
	if o.Hostname != "" {
		fmt.Fprintf(b, "Hostname=%s\n", o.Hostname)
	}
}

// netplanBridgeParams writes a bridge's parameters; durations in
// milliseconds with their unit, path costs and port priorities by the
// members' names.
func netplanBridgeParams(b *bytes.Buffer, c Config, n NIC) {
	p := n.Bridge
	if p.IsZero() {
		return
	}
	b.WriteString("      parameters:\n")
	if p.STP != nil {
		fmt.Fprintf(b, "        stp: %v\n", *p.STP)
	}
	for _, d := range []struct {
		k string
		v int
	}{{"forward-delay", p.ForwardDelay}, {"hello-time", p.HelloTime}, {"max-age", p.MaxAge}, {"ageing-time", p.AgeingTime}} {
		if d.v != 0 {
			fmt.Fprintf(b, "        %s: %dms\n", d.k, d.v)
		}
	}
	if p.Priority != nil {
		fmt.Fprintf(b, "        priority: %d\n", *p.Priority)
	}
	for _, m := range []struct {
		k string
		v map[string]int
	}{{"path-cost", p.PathCost}, {"port-priority", p.PortPriority}} {
		if len(m.v) == 0 {
			continue
		}
		fmt.Fprintf(b, "        %s:\n", m.k)
		for _, id := range sortedKeys(m.v) {
			fmt.Fprintf(b, "          %s: %d\n", idName(c, id), m.v[id])
		}
	}
}

// netplanLinkOpts writes the link, IPv6 and DHCP client settings as netplan
// keys.
func netplanLinkOpts(b *bytes.Buffer, n NIC) {
	o := n.LinkOpts
	if o.NeighSuppress != nil {
		fmt.Fprintf(b, "      neigh-suppress: %v\n", *o.NeighSuppress)
	}
	if o.SetMAC != nil {
		fmt.Fprintf(b, "      macaddress: %q\n", o.SetMAC.String())
	}
	if o.WakeOnLAN {
		b.WriteString("      wakeonlan: true\n")
	}
	for _, k := range o.Offload.keys() {
		if *k.V != nil {
			fmt.Fprintf(b, "      %s: %v\n", k.Netplan, **k.V)
		}
	}
	if o.AcceptRA != nil {
		fmt.Fprintf(b, "      accept-ra: %v\n", *o.AcceptRA)
	}
	if o.IPv6Privacy {
		b.WriteString("      ipv6-privacy: true\n")
	}
	if o.LinkLocal != "" {
		fmt.Fprintf(b, "      link-local: [%s]\n", map[string]string{"no": "", "ipv4": "ipv4", "ipv6": "ipv6", "yes": "ipv4, ipv6"}[o.LinkLocal])
	}
	if o.Critical {
		b.WriteString("      critical: true\n")
	}
	if o.DHCPIdentifier != "" {
		fmt.Fprintf(b, "      dhcp-identifier: %s\n", o.DHCPIdentifier)
	}
	for _, d := range []struct {
		k string
		o DHCPOverrides
	}{{"dhcp4-overrides", o.DHCP4Overrides}, {"dhcp6-overrides", o.DHCP6Overrides}} {
		if d.o.IsZero() {
			continue
		}
		fmt.Fprintf(b, "      %s:\n", d.k)
		for _, f := range []struct {
			k string
			v *bool
		}{{"use-dns", d.o.UseDNS}, {"use-ntp", d.o.UseNTP}, {"send-hostname", d.o.SendHostname}, {"use-hostname", d.o.UseHostname},
			{"use-mtu", d.o.UseMTU}, {"use-routes", d.o.UseRoutes}} {
			if f.v != nil {
				fmt.Fprintf(b, "        %s: %v\n", f.k, *f.v)
			}
		}
		if d.o.UseDomains != "" {
			fmt.Fprintf(b, "        use-domains: %s\n", d.o.UseDomains)
		}
		if d.o.Hostname != "" {
			fmt.Fprintf(b, "        hostname: %q\n", d.o.Hostname)
		}
		if d.o.RouteMetric != 0 {
			fmt.Fprintf(b, "        route-metric: %d\n", d.o.RouteMetric)
		}
	}
}

// nmRule is a routing rule as NetworkManager's routing-ruleN key reads it.
func nmRule(r Rule) string {
	var s []string
	if r.Priority != 0 {
		s = append(s, fmt.Sprintf("priority %d", r.Priority))
	}
	if r.From.IsValid() {
		s = append(s, "from "+r.From.String())
	}
	if r.To.IsValid() {
		s = append(s, "to "+r.To.String())
	}
	if r.Mark != 0 {
		s = append(s, fmt.Sprintf("fwmark %d", r.Mark))
	}
	if r.TOS != 0 {
		s = append(s, fmt.Sprintf("tos 0x%02x", r.TOS))
	}
	return strings.Join(append(s, fmt.Sprintf("table %d", r.Table)), " ")
}

// fileKey names n's files: "fallback" for cloud-init's fallback
// configuration (one NIC, whichever it is at this boot), else fileName.
func fileKey(c Config, n NIC) string {
	if c.Fallback && len(c.NICs) == 1 {
		return "fallback"
	}
	return fileName(n)
}

// ifcfgKey is fileKey for ifcfg files, whose fallback file is
// ifcfg-ovfinit-fallback (DEVICE= inside names the NIC).
func ifcfgKey(c Config, n NIC) string {
	if k := fileKey(c, n); k == "fallback" {
		return "ovfinit-fallback"
	}
	return n.Name
}
