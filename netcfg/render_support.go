package netcfg

import (
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"
)

// Each manager's support for each field of the model, by the field's path
// in Config ("NICs.Bond.Primary"): the renderer either writes it (rendered)
// or Render refuses a configuration that sets it (refused), so that no
// accepted setting is silently dropped. TestEveryFieldRendered walks the
// model and checks every field has an entry for every manager, and that a
// rendered field changes the output.
type support int

const (
	rendered support = iota + 1
	refused
	// resolved marks fields Resolve consumes before rendering (the match
	// keys it turns into interface names).
	resolved
	// identity: the ID, which other entries refer to (interfaces, link,
	// primary); renderers write the names it resolves to.
	identity
	// validated: Up only tells Validate that an entry with nothing else to
	// configure is meant (every renderer writes and brings up every entry).
	validated
	// live: applied by the live apply, whose result persists by itself
	// (resolv.conf on FreeBSD).
	live
)

// commonSupport is what every manager renders.
var commonSupport = map[string]support{
	"NICs.ID": identity, "NICs.Kind": rendered, "NICs.MAC": rendered, "NICs.Name": rendered,
	"NICs.Driver": resolved, "NICs.CurName": resolved, "NICs.SetName": rendered, "NICs.Up": validated, "NICs.Optional": rendered,
	"NICs.DHCP4": rendered, "NICs.DHCP6": rendered, "NICs.Addresses": rendered, "NICs.Gateway4": rendered,
	"NICs.Gateway6": rendered, "NICs.Routes.To": rendered, "NICs.Routes.Via": rendered, "NICs.Routes.Metric": rendered, "NICs.Routes.OnLink": rendered,
	"NICs.MTU": rendered, "NICs.DNS": rendered, "NICs.Search": rendered, "NICs.Link": rendered, "NICs.VLANID": rendered,
	"NICs.Members": rendered, "NICs.BondMode": rendered,
	"NICs.Bond.MIIMonitorInterval": rendered, "NICs.Bond.Primary": rendered, "NICs.Bond.LACPRate": rendered,
	"NICs.Bond.TransmitHashPolicy": rendered, "NICs.Bond.UpDelay": rendered, "NICs.Bond.DownDelay": rendered,
	"NICs.Bond.MinLinks": rendered, "NICs.Bond.ARPInterval": rendered, "NICs.Bond.ARPIPTargets": rendered,
	"NICs.Bond.GratuitousARP": rendered,
	"DNS":                     rendered, "Search": rendered, "Fallback": rendered,
	"NICs.Routes.Table": rendered, "NICs.Routes.Type": rendered, "NICs.Routes.Scope": rendered, "NICs.Routes.From": rendered,
	"NICs.Bridge.STP": rendered, "NICs.Bridge.ForwardDelay": rendered, "NICs.Bridge.HelloTime": rendered, "NICs.Bridge.MaxAge": rendered,
	"NICs.Bridge.AgeingTime": rendered, "NICs.Bridge.Priority": rendered, "NICs.Bridge.PathCost": rendered, "NICs.Bridge.PortPriority": rendered,
	"NICs.LinkOpts.SetMAC": rendered, "NICs.LinkOpts.WakeOnLAN": rendered, "NICs.LinkOpts.AcceptRA": rendered,
	"NICs.LinkOpts.IPv6Privacy": rendered, "NICs.LinkOpts.LinkLocal": rendered, "NICs.LinkOpts.Critical": rendered,
	"NICs.LinkOpts.DHCPIdentifier":     rendered,
	"NICs.LinkOpts.RoutingPolicy.From": rendered, "NICs.LinkOpts.RoutingPolicy.To": rendered, "NICs.LinkOpts.RoutingPolicy.Table": rendered,
	"NICs.LinkOpts.RoutingPolicy.Priority": rendered, "NICs.LinkOpts.RoutingPolicy.Mark": rendered, "NICs.LinkOpts.RoutingPolicy.TOS": rendered,
	"NICs.LinkOpts.NeighSuppress": rendered, "NICs.VRFTable": rendered,
}

// tunnelFields are the tunnel settings (NICs.Tunnel.*): networkd and
// netplan write them; the other managers refuse tunnels and VRFs.
var tunnelFields = []string{"Mode", "Local", "Remote", "TTL", "InputKey", "OutputKey", "VNI", "Port", "MACLearning", "Mark", "PrivateKey",
	"Peers.PublicKey", "Peers.SharedKey", "Peers.Endpoint", "Peers.AllowedIPs", "Peers.Keepalive"}

// linkOptsOnly are the LinkOpts fields (and route fields) only networkd
// and netplan write; other managers refuse them unless they say otherwise.
var linkOptsOnly = func() map[string]support {
	m := map[string]support{"NICs.Routes.Scope": refused, "NICs.LinkOpts.AcceptRA": refused, "NICs.LinkOpts.IPv6Privacy": refused,
		"NICs.LinkOpts.LinkLocal": refused, "NICs.LinkOpts.Critical": refused, "NICs.LinkOpts.DHCPIdentifier": refused,
		"NICs.LinkOpts.WakeOnLAN": refused}
	for _, f := range offloadFields {
		m["NICs.LinkOpts.Offload."+f] = refused
	}
	for _, d := range []string{"DHCP4Overrides", "DHCP6Overrides"} {
		for _, f := range overrideFields {
			m["NICs.LinkOpts."+d+"."+f] = refused
		}
	}
	return m
}()

var (
	offloadFields  = []string{"ReceiveChecksum", "TransmitChecksum", "TCPSegmentation", "TCP6Segmentation", "GenericSegmentation", "GenericReceive", "LargeReceive"}
	overrideFields = []string{"UseDNS", "UseNTP", "SendHostname", "UseHostname", "UseMTU", "UseRoutes", "UseDomains", "Hostname", "RouteMetric"}
)

func init() {
	for _, f := range tunnelFields {
		commonSupport["NICs.Tunnel."+f] = rendered
	}
	for _, m := range []Manager{ManagerNetworkManager, ManagerIfupdown, ManagerIfcfg, ManagerRCConf} {
		for _, f := range tunnelFields {
			managerSupport[m]["NICs.Tunnel."+f] = refused
		}
		managerSupport[m]["NICs.VRFTable"] = refused
		managerSupport[m]["NICs.LinkOpts.NeighSuppress"] = refused
	}
	// NetworkManager keyfiles: vrf, vxlan and ip-tunnel connections;
	// WireGuard keys are refused (a key file path has no keyfile setting).
	for _, f := range []string{"Mode", "Local", "Remote", "TTL", "InputKey", "OutputKey", "VNI", "Port", "MACLearning"} {
		delete(managerSupport[ManagerNetworkManager], "NICs.Tunnel."+f)
	}
	delete(managerSupport[ManagerNetworkManager], "NICs.VRFTable")
	for _, f := range offloadFields {
		commonSupport["NICs.LinkOpts.Offload."+f] = rendered
	}
	for _, d := range []string{"DHCP4Overrides", "DHCP6Overrides"} {
		for _, f := range overrideFields {
			commonSupport["NICs.LinkOpts."+d+"."+f] = rendered
		}
	}
	// NetworkManager keyfiles: wake-on-LAN, IPv6 privacy, the client id,
	// ethtool offloads and the overrides it has a setting for.
	nm := managerSupport[ManagerNetworkManager]
	for k, v := range linkOptsOnly {
		nm[k] = v
	}
	for _, k := range []string{"WakeOnLAN", "IPv6Privacy", "DHCPIdentifier"} {
		delete(nm, "NICs.LinkOpts."+k)
	}
	for _, f := range offloadFields {
		delete(nm, "NICs.LinkOpts.Offload."+f)
	}
	for _, d := range []string{"DHCP4Overrides", "DHCP6Overrides"} {
		for _, f := range []string{"UseDNS", "UseRoutes", "RouteMetric", "SendHostname", "Hostname"} {
			delete(nm, "NICs.LinkOpts."+d+"."+f)
		}
	}
	// ifupdown and ifcfg: ip route/rule arguments and the MAC address.
	for _, m := range []Manager{ManagerIfupdown, ManagerIfcfg} {
		for k, v := range linkOptsOnly {
			managerSupport[m][k] = v
		}
		delete(managerSupport[m], "NICs.Routes.Scope")
	}
	// ifcfg: BRIDGING_OPTS has no documented units for these.
	for _, k := range []string{"HelloTime", "MaxAge", "AgeingTime"} {
		managerSupport[ManagerIfcfg]["NICs.Bridge."+k] = refused
	}
	// rc.conf: the MAC address only.
	rc := managerSupport[ManagerRCConf]
	// rc.conf and ifupdown write one file whatever the NICs: it is
	// replaced as a whole.
	rc["Fallback"] = validated
	managerSupport[ManagerIfupdown]["Fallback"] = validated
	managerSupport[ManagerNetplan]["Fallback"] = validated
	for k, v := range linkOptsOnly {
		rc[k] = v
	}
	for _, k := range []string{"NICs.Routes.Table", "NICs.Routes.Type", "NICs.Routes.From", "NICs.LinkOpts.RoutingPolicy.From",
		"NICs.LinkOpts.RoutingPolicy.To", "NICs.LinkOpts.RoutingPolicy.Table", "NICs.LinkOpts.RoutingPolicy.Priority",
		"NICs.LinkOpts.RoutingPolicy.Mark", "NICs.LinkOpts.RoutingPolicy.TOS",
		"NICs.Bridge.STP", "NICs.Bridge.ForwardDelay", "NICs.Bridge.HelloTime", "NICs.Bridge.MaxAge", "NICs.Bridge.AgeingTime",
		"NICs.Bridge.Priority", "NICs.Bridge.PathCost", "NICs.Bridge.PortPriority"} {
		rc[k] = refused
	}
}

// managerSupport overrides commonSupport per manager.
var managerSupport = map[Manager]map[string]support{
	// No setting of theirs that ovfinit writes makes the boot skip waiting
	// for one connection.
	ManagerNetworkManager: {"NICs.Optional": refused},
	ManagerIfcfg:          {"NICs.Optional": refused},
	ManagerIfupdown:       {},
	ManagerNetplan:        {},
	// lagg(4) has no link monitoring or primary settings, and rc.conf
	// bonds are not written yet.
	ManagerRCConf: {
		"NICs.MAC": resolved, "NICs.CurName": rendered, "NICs.Routes.Metric": refused, "NICs.Optional": refused, "NICs.Routes.OnLink": refused,
		"NICs.DNS": live, "NICs.Search": live, "DNS": live, "Search": live,
		"NICs.Members": refused, "NICs.BondMode": refused,
		"NICs.Bond.MIIMonitorInterval": refused, "NICs.Bond.Primary": refused, "NICs.Bond.LACPRate": refused,
		"NICs.Bond.TransmitHashPolicy": refused, "NICs.Bond.UpDelay": refused, "NICs.Bond.DownDelay": refused,
		"NICs.Bond.MinLinks": refused, "NICs.Bond.ARPInterval": refused, "NICs.Bond.ARPIPTargets": refused, "NICs.Bond.GratuitousARP": refused,
	},
}

func supportOf(m Manager, field string) support {
	if s, ok := managerSupport[m][field]; ok {
		return s
	}
	return commonSupport[field]
}

// userField names a model field as FieldError does (and so as the YAML
// line map and the property names know it).
func userField(path string) string {
	switch path {
	case "NICs.Members":
		return "interfaces"
	case "NICs.BondMode":
		return "bond.mode"
	case "NICs.Routes.Metric":
		return "routes.metric"
	case "NICs.Routes.OnLink":
		return "routes.on-link"
	case "NICs.Routes.Table", "NICs.Routes.Type", "NICs.Routes.Scope", "NICs.Routes.From":
		return "routes." + strings.ToLower(strings.TrimPrefix(path, "NICs.Routes."))
	}
	if path == "NICs.VRFTable" {
		return "table"
	}
	if f, ok := strings.CutPrefix(path, "NICs.Tunnel."); ok {
		return "tunnel." + map[string]string{"Mode": "mode", "Local": "local", "Remote": "remote", "TTL": "ttl", "InputKey": "keys.input",
			"OutputKey": "keys.output", "VNI": "id", "Port": "port", "MACLearning": "mac-learning", "Mark": "mark", "PrivateKey": "key",
			"Peers.PublicKey": "peers.keys.public", "Peers.SharedKey": "peers.keys.shared", "Peers.Endpoint": "peers.endpoint",
			"Peers.AllowedIPs": "peers.allowed-ips", "Peers.Keepalive": "peers.keepalive"}[f]
	}
	if f, ok := strings.CutPrefix(path, "NICs.LinkOpts.RoutingPolicy."); ok {
		return "routing-policy." + map[string]string{"From": "from", "To": "to", "Table": "table", "Priority": "priority", "Mark": "mark", "TOS": "type-of-service"}[f]
	}
	if f, ok := strings.CutPrefix(path, "NICs.Bridge."); ok {
		return "bridge." + map[string]string{"STP": "stp", "ForwardDelay": "forward-delay", "HelloTime": "hello-time", "MaxAge": "max-age",
			"AgeingTime": "ageing-time", "Priority": "priority", "PathCost": "path-cost", "PortPriority": "port-priority"}[f]
	}
	if f, ok := strings.CutPrefix(path, "NICs.LinkOpts.Offload."); ok {
		return "offload." + map[string]string{"ReceiveChecksum": "receive-checksum-offload", "TransmitChecksum": "transmit-checksum-offload",
			"TCPSegmentation": "tcp-segmentation-offload", "TCP6Segmentation": "tcp6-segmentation-offload",
			"GenericSegmentation": "generic-segmentation-offload", "GenericReceive": "generic-receive-offload", "LargeReceive": "large-receive-offload"}[f]
	}
	for _, d := range []struct{ field, key string }{{"DHCP4Overrides", "dhcp4-overrides"}, {"DHCP6Overrides", "dhcp6-overrides"}} {
		if f, ok := strings.CutPrefix(path, "NICs.LinkOpts."+d.field+"."); ok {
			return d.key + "." + map[string]string{"UseDNS": "use-dns", "UseNTP": "use-ntp", "SendHostname": "send-hostname",
				"UseHostname": "use-hostname", "UseMTU": "use-mtu", "UseRoutes": "use-routes", "UseDomains": "use-domains",
				"Hostname": "hostname", "RouteMetric": "route-metric"}[f]
		}
	}
	if f, ok := strings.CutPrefix(path, "NICs.LinkOpts."); ok {
		return map[string]string{"NeighSuppress": "neigh-suppress", "SetMAC": "macaddress", "WakeOnLAN": "wakeonlan", "AcceptRA": "accept-ra", "IPv6Privacy": "ipv6-privacy",
			"LinkLocal": "link-local", "Critical": "critical", "DHCPIdentifier": "dhcp-identifier"}[f]
	}
	if f, ok := strings.CutPrefix(path, "NICs.Bond."); ok {
		return "bond." + map[string]string{"MIIMonitorInterval": "mii-monitor-interval", "Primary": "primary", "LACPRate": "lacp-rate",
			"TransmitHashPolicy": "transmit-hash-policy", "UpDelay": "up-delay", "DownDelay": "down-delay", "MinLinks": "min-links",
			"ARPInterval": "arp-interval", "ARPIPTargets": "arp-ip-targets", "GratuitousARP": "gratuitous-arp"}[f]
	}
	return strings.ToLower(strings.TrimPrefix(path, "NICs."))
}

// persistentOnly are the fields no live applier sets: only a manager's
// files carry them (they take effect when the manager starts). With no
// manager (ManagerNone: live only, which is also what Windows gets) they
// are refused, never dropped.
var persistentOnly = func() []string {
	f := []string{"NICs.LinkOpts.AcceptRA", "NICs.LinkOpts.IPv6Privacy", "NICs.LinkOpts.LinkLocal", "NICs.LinkOpts.Critical",
		"NICs.LinkOpts.DHCPIdentifier", "NICs.LinkOpts.NeighSuppress"}
	for _, d := range []string{"DHCP4Overrides", "DHCP6Overrides"} {
		for _, o := range overrideFields {
			f = append(f, "NICs.LinkOpts."+d+"."+o)
		}
	}
	// WireGuard's keys need the wireguard generic-netlink family: the
	// tunnel is left to the image's manager.
	return append(f, "NICs.Tunnel.Mark", "NICs.Tunnel.PrivateKey", "NICs.Tunnel.Peers.PublicKey", "NICs.Tunnel.Peers.SharedKey",
		"NICs.Tunnel.Peers.Endpoint", "NICs.Tunnel.Peers.AllowedIPs", "NICs.Tunnel.Peers.Keepalive")
}()

// windowsLiveRefused are the fields the Windows applier (ApplyWindows: IP
// Helper API and netsh) has no operation for, on top of persistentOnly.
var windowsLiveRefused = func() []string {
	f := []string{"NICs.Link", "NICs.VLANID", "NICs.Members", "NICs.BondMode", "NICs.SetName", "NICs.VRFTable",
		"NICs.LinkOpts.SetMAC", "NICs.LinkOpts.WakeOnLAN",
		"NICs.Routes.OnLink", "NICs.Routes.Table", "NICs.Routes.Type", "NICs.Routes.Scope", "NICs.Routes.From",
		"NICs.LinkOpts.RoutingPolicy.From", "NICs.LinkOpts.RoutingPolicy.To", "NICs.LinkOpts.RoutingPolicy.Table",
		"NICs.LinkOpts.RoutingPolicy.Priority", "NICs.LinkOpts.RoutingPolicy.Mark", "NICs.LinkOpts.RoutingPolicy.TOS"}
	for _, b := range []string{"MIIMonitorInterval", "Primary", "LACPRate", "TransmitHashPolicy", "UpDelay", "DownDelay", "MinLinks", "ARPInterval", "ARPIPTargets", "GratuitousARP"} {
		f = append(f, "NICs.Bond."+b)
	}
	for _, b := range []string{"STP", "ForwardDelay", "HelloTime", "MaxAge", "AgeingTime", "Priority", "PathCost", "PortPriority"} {
		f = append(f, "NICs.Bridge."+b)
	}
	for _, o := range offloadFields {
		f = append(f, "NICs.LinkOpts.Offload."+o)
	}
	for _, t := range tunnelFields {
		f = append(f, "NICs.Tunnel."+t)
	}
	return f
}()

// liveSupport is ManagerNone's table on goos: what the live applier sets
// (live), the rest refused. On FreeBSD it is also what rc.conf refuses,
// since FreeBSDCommands has the same limits.
func liveSupport(goos, field string) support {
	s := commonSupport[field]
	if s == rendered {
		s = live
	}
	switch field {
	case "Fallback":
		// Only names the fallback's files: live, it is DHCP on one NIC.
		return validated
	case "NICs.MAC", "NICs.Name":
		// Live, Resolve finds the NIC by its MAC and names it; a name
		// other than the NIC's own is set-name's rename.
		return resolved
	}
	refuse := persistentOnly
	switch goos {
	case "windows":
		refuse = append(append([]string(nil), refuse...), windowsLiveRefused...)
	case "freebsd":
		if supportOf(ManagerRCConf, field) == refused {
			return refused
		}
	}
	for _, f := range refuse {
		if f == field {
			return refused
		}
	}
	return s
}

// supportOn is supportOf for m on goos: ManagerNone is the live applier's
// table.
func supportOn(goos string, m Manager, field string) support {
	if m == ManagerNone {
		return liveSupport(goos, field)
	}
	return supportOf(m, field)
}

// CheckSupport returns a *FieldError for every field c sets that m
// refuses, joined. Render calls it; a planner can call it first to report
// the problem with the YAML line or property (FieldError names the field).
// With ManagerNone (no manager in the image, and always on Windows) it is
// what the live applier of this OS can set: a setting only a manager's
// files carry is refused rather than dropped.
func CheckSupport(m Manager, c Config) error { return checkSupportOn(runtime.GOOS, m, c) }

func checkSupportOn(goos string, m Manager, c Config) error {
	var errs []error
	walkSet(reflect.ValueOf(c), "", func(path, nic string) {
		if supportOn(goos, m, path) != refused {
			return
		}
		err := fmt.Errorf("not supported with %s yet", m)
		if m == ManagerNone {
			err = fmt.Errorf("not supported live on %s yet", goos)
			if slices.Contains(persistentOnly, path) {
				err = errors.New("not supported without a network manager in the image: only a manager's files carry it (ovfinit has no live setting for it)")
			}
		}
		errs = append(errs, &FieldError{NIC: nic, Field: userField(path), Err: err})
	})
	if m == ManagerNone {
		for _, n := range c.NICs {
			switch k := n.KindOf(); {
			case k == Tunnel && n.Tunnel.Mode == "wireguard":
				errs = append(errs, &FieldError{NIC: n.ID, Field: "tunnel.mode", Err: fmt.Errorf("wireguard is not made live (its keys need the wireguard netlink family): it needs a network manager in the image")})
			case goos == "windows" && k != Ethernet:
				errs = append(errs, &FieldError{NIC: n.ID, Field: kindKey(k), Err: fmt.Errorf("not supported on windows yet (only ethernet NICs are configured)")})
			case goos == "freebsd" && (k == Bridge || k == Tunnel || k == VRF):
				errs = append(errs, &FieldError{NIC: n.ID, Field: kindKey(k), Err: fmt.Errorf("not supported live on freebsd yet")})
			}
		}
	}
	if m == ManagerNetworkManager {
		for _, n := range c.NICs {
			if n.KindOf() == Tunnel && n.Tunnel.Mode == "vxlan" && n.MTU != 0 {
				errs = append(errs, &FieldError{NIC: n.ID, Field: "mtu", Err: fmt.Errorf("not supported on a vxlan tunnel with %s yet", m)})
			}
		}
	}
	if m == ManagerRCConf {
		for _, n := range c.NICs {
			if n.KindOf() == Bridge {
				errs = append(errs, &FieldError{NIC: n.ID, Field: "bridges", Err: fmt.Errorf("not supported with %s yet", m)})
			}
		}
	}
	return errors.Join(errs...)
}

// walkSet calls f with the path of every non-zero leaf field of v, and the
// ID of the NIC it belongs to.
func walkSet(v reflect.Value, path string, f func(path, nic string)) {
	var walk func(v reflect.Value, path, nic string)
	walk = func(v reflect.Value, path, nic string) {
		switch v.Kind() {
		case reflect.Struct:
			if isLeaf(v.Type()) {
				if !v.IsZero() {
					f(path, nic)
				}
				return
			}
			if id := v.FieldByName("ID"); id.IsValid() && id.Kind() == reflect.String {
				nic = id.String()
			}
			for i := 0; i < v.NumField(); i++ {
				walk(v.Field(i), join(path, v.Type().Field(i).Name), nic)
			}
		case reflect.Slice:
			if isLeaf(v.Type().Elem()) || v.Type().Elem().Kind() != reflect.Struct {
				if v.Len() > 0 {
					f(path, nic)
				}
				return
			}
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i), path, nic)
			}
		default:
			if !v.IsZero() {
				f(path, nic)
			}
		}
	}
	walk(v, path, "")
}

// walkFields calls f with the path of every leaf field of t.
func walkFields(t reflect.Type, path string, f func(path string, idx []int)) {
	switch {
	case t.Kind() == reflect.Struct && !isLeaf(t):
		for i := 0; i < t.NumField(); i++ {
			walkFields(t.Field(i).Type, join(path, t.Field(i).Name), f)
		}
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct && !isLeaf(t.Elem()):
		walkFields(t.Elem(), path, f)
	default:
		f(path, nil)
	}
}

// isLeaf: netip values are structs, but one value each.
func isLeaf(t reflect.Type) bool { return t.PkgPath() == "net/netip" }

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

// kindKey is the netplan section of a kind of device.
func kindKey(k Kind) string {
	switch k {
	case Ethernet:
		return "ethernets"
	case VRF:
		return "vrfs"
	}
	return string(k) + "s"
}
