package agent

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/ovfinit/ovfinit/netcfg"
	"github.com/ovfinit/ovfinit/ovfenv"
)

// The per-NIC property suffixes: ovfinit.net.N.<suffix>.
var nicProps = []string{"mac", "name", "dhcp4", "dhcp6", "address", "gateway", "routes", "mtu", "dns", "search"}

// nicKey returns the property key of NIC n's field.
func nicKey(n int, suffix string) string { return fmt.Sprintf("ovfinit.net.%d.%s", n, suffix) }

// vmwareKey matches VMware-style vApp network keys, bare (ip0, netmask0,
// gateway, DNS, searchpath, domain) or as vami.<key>.<vm-name>.
var vmwareKey = regexp.MustCompile(`^(?:vami\.)?(ip[0-3]|netmask[0-3]|gateway[0-3]?|DNS|dns|searchpath|domain)(?:\..+)?$`)

// netSource is the parsed network input and how to name a field's origin.
type netSource struct {
	disabled bool // network-config says config: disabled
	cfg      netcfg.Config
	where    func(nic, field string) (key string, extra string)
}

// planNetwork reads the network input (one of: network-config, the
// ovfinit.net properties, VMware-style properties) and plans it against the
// machine. Only an error reading the machine is returned; input problems go
// to r.bad.
func planNetwork(r *propReader, p *Plan, machine func() (netcfg.Current, netcfg.Applied, error)) error {
	var sources []string
	if _, ok := r.get(ovfenv.KeyNetworkConfig.Name); ok {
		sources = append(sources, ovfenv.KeyNetworkConfig.Name)
	}
	if k := firstOwnNetKey(r.env); k != "" {
		sources = append(sources, k)
	}
	if k := firstVMwareKey(r.env); k != "" {
		sources = append(sources, k)
	}
	if len(sources) == 0 {
		return planFallback(r, p, machine)
	}
	r.enum(ovfenv.KeyNetFallback) // checked even when another input wins
	if len(sources) > 1 {
		r.bad(sources[1], fmt.Errorf("network configured twice: by %s and by %s; use one", sources[0], sources[1]))
		return nil
	}
	before := len(r.errs)
	var src *netSource
	switch {
	case sources[0] == ovfenv.KeyNetworkConfig.Name:
		src = readNetworkConfig(r)
	case vmwareKey.MatchString(sources[0]):
		src = readVMwareNet(r)
	default:
		src = readOwnNet(r)
	}
	if src == nil || src.disabled || len(r.errs) > before {
		return nil
	}
	report := func(err error) {
		for _, e := range unjoin(err) {
			var fe *netcfg.FieldError
			if !errors.As(e, &fe) {
				r.bad(sources[0], e)
				continue
			}
			key, extra := src.where(fe.NIC, fe.Field)
			if extra != "" {
				e = fmt.Errorf("%s: %w", extra, e)
			}
			r.bad(key, e)
		}
	}
	if err := netcfg.Validate(src.cfg); err != nil {
		report(err)
		return nil
	}
	if r.manager != "" {
		if err := netcfg.CheckSupport(r.manager, src.cfg); err != nil {
			report(err)
			return nil
		}
	}
	cur, prev, err := machine()
	if err != nil {
		return fmt.Errorf("reading the machine's network: %w", err)
	}
	ops, next, err := netcfg.Plan(src.cfg, cur, prev)
	if err != nil {
		report(err)
		return nil
	}
	resolved, _ := netcfg.Resolve(src.cfg, cur.Links)
	p.Net, p.NetOps, p.NetApplied = &resolved, ops, next
	return nil
}

// PlanNetwork reads only env's network input and plans it against the
// machine's links, checked for the network manager m ("" checks none): what
// `ovfinit net plan` shows. Problems are returned as BuildPlan returns them.
func PlanNetwork(env *ovfenv.Environment, links func() (netcfg.Current, netcfg.Applied, error), m netcfg.Manager) (*Plan, error) {
	p := &Plan{}
	r := &propReader{env: env, manager: m}
	if err := planNetwork(r, p, links); err != nil {
		r.errs = append(r.errs, err)
	}
	return p, errors.Join(r.errs...)
}

// planFallback does what cloud-init does with no network configuration at
// all: DHCPv4 on the first connected ethernet NIC (netcfg.FallbackNIC),
// persisted for the image's network manager, unless ovfinit.net.fallback is
// off. A machine without such a NIC is left alone.
func planFallback(r *propReader, p *Plan, machine func() (netcfg.Current, netcfg.Applied, error)) error {
	mode, err := r.env.Enum(ovfenv.KeyNetFallback)
	if err != nil {
		r.check(err)
		return nil
	}
	if mode != "dhcp" || machine == nil {
		return nil
	}
	cur, prev, err := machine()
	if err != nil {
		return fmt.Errorf("reading the machine's network: %w", err)
	}
	nic, ok := netcfg.FallbackNIC(cur.Links)
	if !ok {
		return nil
	}
	cfg := netcfg.FallbackConfig(nic)
	ops, next, err := netcfg.Plan(cfg, cur, prev)
	if err != nil {
		r.bad(ovfenv.KeyNetFallback.Name, fmt.Errorf("DHCP on %s, the first ethernet NIC: %w", nic.Name, err))
		return nil
	}
	resolved, _ := netcfg.Resolve(cfg, cur.Links)
	p.Net, p.NetOps, p.NetApplied, p.NetFallback = &resolved, ops, next, true
	return nil
}

func readNetworkConfig(r *propReader) *netSource {
	v, _ := r.get(ovfenv.KeyNetworkConfig.Name)
	data, plain := networkConfigBytes(v)
	if plain && !looksLikeYAMLMapping(v) {
		r.bad(ovfenv.KeyNetworkConfig.Name, errors.New("neither base64 nor a YAML network-config document (netplan version 2 or cloud-init version 1)"))
		return nil
	}
	if netcfg.NetworkDisabled(data) {
		// cloud-init's "config: disabled": the network is left alone,
		// without the fallback.
		return &netSource{disabled: true}
	}
	cfg, lines, err := netcfg.ParseNetworkConfig(data)
	if err != nil {
		for _, e := range unjoin(err) {
			r.bad(ovfenv.KeyNetworkConfig.Name, e)
		}
		return nil
	}
	return &netSource{cfg: cfg, where: func(nic, field string) (string, string) {
		if l := lines.Line(nic, field); l > 0 {
			return ovfenv.KeyNetworkConfig.Name, fmt.Sprintf("YAML line %d", l)
		}
		return ovfenv.KeyNetworkConfig.Name, ""
	}}
}

// networkConfigBytes decodes network-config. cloud-init's OVF datasource
// base64-decodes it (Python's b64decode, which skips line breaks and spaces)
// and ignores a value that does not decode; ovfinit also takes base64 without
// its "=" padding, and plain YAML, which is never valid base64 since a YAML
// mapping has a ": ". plain is true when v is used as it is.
func networkConfigBytes(v string) (data []byte, plain bool) {
	compact := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, v)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding} {
		if b, err := enc.DecodeString(compact); err == nil && compact != "" {
			return b, false
		}
	}
	return []byte(v), true
}

// looksLikeYAMLMapping reports whether v has a "key:" line, as any
// network-config document does.
func looksLikeYAMLMapping(v string) bool {
	for _, l := range strings.Split(v, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if k, _, ok := strings.Cut(l, ":"); ok && k != "" && !strings.ContainsAny(k, " \t") {
			return true
		}
	}
	return false
}

func firstOwnNetKey(env *ovfenv.Environment) string {
	for _, pr := range env.Properties {
		if strings.HasPrefix(pr.Key, "ovfinit.net.") && ovfenv.NormalizeKey(pr.Key) != ovfenv.KeyNetFallback.Name && strings.TrimSpace(pr.Value) != "" {
			return pr.Key
		}
	}
	return ""
}

func firstVMwareKey(env *ovfenv.Environment) string {
	for _, pr := range env.Properties {
		if vmwareKey.MatchString(pr.Key) && strings.TrimSpace(pr.Value) != "" {
			return pr.Key
		}
	}
	return ""
}

// listOf splits a list property: commas, spaces or newlines.
func listOf(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == ';' })
}

// nicReader reads one NIC's properties and remembers which key gave which
// field.
type nicReader struct {
	r    *propReader
	keys map[string]string // field base name -> property key
}

func (nr *nicReader) get(key, field string) (string, bool) {
	v, ok := nr.r.get(key)
	if ok {
		nr.keys[field] = key
	}
	return v, ok
}

func (nr *nicReader) addrs(key string, out *[]netip.Addr) {
	v, ok := nr.r.get(key)
	if !ok {
		return
	}
	for _, f := range listOf(v) {
		a, err := netip.ParseAddr(f)
		if err != nil {
			nr.r.bad(key, fmt.Errorf("not an IP address: %q", f))
			continue
		}
		*out = append(*out, a)
	}
}

func (nr *nicReader) mac(key, v string) net.HardwareAddr {
	m, err := net.ParseMAC(v)
	if err != nil || len(m) != 6 {
		nr.r.bad(key, fmt.Errorf("not an ethernet MAC address: %q", v))
		return nil
	}
	return m
}

func readOwnNet(r *propReader) *netSource {
	cfg := netcfg.Config{}
	fieldKeys := map[string]map[string]string{}
	for n := range ovfenv.MaxNetNICs {
		key := func(s string) string {
			if n == 0 && r.has("ovfinit.net."+s) {
				return "ovfinit.net." + s
			}
			return nicKey(n, s)
		}
		if n == 0 {
			for _, s := range nicProps {
				if r.has("ovfinit.net."+s) && r.has(nicKey(0, s)) {
					r.bad("ovfinit.net."+s, fmt.Errorf("set together with %s; use one", nicKey(0, s)))
				}
			}
		}
		set := false
		for _, s := range nicProps {
			set = set || r.has(key(s))
		}
		if !set {
			continue
		}
		id := fmt.Sprintf("nic%d", n)
		nr := &nicReader{r: r, keys: map[string]string{}}
		nic := netcfg.NIC{ID: id}
		if v, ok := nr.get(key("mac"), "mac"); ok {
			nic.MAC = nr.mac(key("mac"), v)
		} else if v, ok := nr.get(key("name"), "name"); ok {
			nic.Name = v
		} else if len(r.env.Adapters) == 1 && n == 0 {
			nr.keys["mac"] = "ve:Adapter ve:mac"
			nic.MAC = nr.mac("ve:Adapter ve:mac", r.env.Adapters[0].MAC)
		}
		for _, f := range []struct {
			s   string
			dst *bool
		}{{"dhcp4", &nic.DHCP4}, {"dhcp6", &nic.DHCP6}} {
			if v, ok := nr.get(key(f.s), f.s); ok {
				b, err := ovfenv.ParseBool(v) // ovfenv.NetKey(n, f.s) is a TypeBool
				if err != nil {
					r.bad(key(f.s), err)
				}
				*f.dst = b
			}
		}
		if v, ok := nr.get(key("address"), "addresses"); ok {
			for _, f := range listOf(v) {
				pf, err := netip.ParsePrefix(f)
				if err != nil {
					r.bad(key("address"), fmt.Errorf("want an address with prefix length such as 10.0.2.15/24, got %q", f))
					continue
				}
				nic.Addresses = append(nic.Addresses, pf)
			}
		}
		if v, ok := nr.get(key("gateway"), "gateway4"); ok {
			nr.keys["gateway6"] = key("gateway")
			for _, f := range listOf(v) {
				a, err := netip.ParseAddr(f)
				switch {
				case err != nil:
					r.bad(key("gateway"), fmt.Errorf("not an IP address: %q", f))
				case a.Is4():
					nic.Gateway4 = a
				default:
					nic.Gateway6 = a
				}
			}
		}
		if v, ok := nr.get(key("routes"), "routes"); ok {
			nr.keys["routes.to"], nr.keys["routes.via"], nr.keys["routes.metric"] = key("routes"), key("routes"), key("routes")
			for _, rs := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' || r == '\n' }) {
				rt, err := parseRoute(rs)
				if err != nil {
					r.bad(key("routes"), err)
					continue
				}
				nic.Routes = append(nic.Routes, rt)
			}
		}
		if v, ok := nr.get(key("mtu"), "mtu"); ok {
			m, err := ovfenv.NetKey(n, "mtu").ParseInt(v)
			if err != nil {
				r.bad(key("mtu"), err)
			}
			nic.MTU = m
		}
		nr.get(key("dns"), "dns")
		nr.addrs(key("dns"), &nic.DNS)
		if v, ok := nr.get(key("search"), "search"); ok {
			nic.Search = listOf(v)
		}
		if _, ok := nr.keys["dhcp4"]; !ok {
			nr.keys["dhcp4"] = key("address")
		}
		fieldKeys[id] = nr.keys
		cfg.NICs = append(cfg.NICs, nic)
	}
	return &netSource{cfg: cfg, where: func(nic, field string) (string, string) {
		base := (&netcfg.FieldError{Field: field}).BaseField()
		if k, ok := fieldKeys[nic][base]; ok {
			return k, ""
		}
		return nicKeyOf(fieldKeys[nic]), field
	}}
}

// parseRoute reads "10.1.0.0/16 via 10.0.0.1 metric 100" (via and metric
// optional; "default" for 0.0.0.0/0).
func parseRoute(s string) (netcfg.Route, error) {
	f := strings.Fields(s)
	bad := fmt.Errorf("want a route such as \"10.1.0.0/16 via 10.0.0.1 metric 100\", got %q", strings.TrimSpace(s))
	if len(f) == 0 || len(f)%2 == 0 {
		return netcfg.Route{}, bad
	}
	var rt netcfg.Route
	if f[0] == "default" {
		f[0] = "0.0.0.0/0"
	}
	to, err := netip.ParsePrefix(f[0])
	if err != nil {
		return rt, bad
	}
	rt.To = to
	for i := 1; i+1 < len(f); i += 2 {
		switch f[i] {
		case "via":
			a, err := netip.ParseAddr(f[i+1])
			if err != nil {
				return rt, bad
			}
			rt.Via = a
		case "metric":
			m, err := strconv.Atoi(f[i+1])
			if err != nil {
				return rt, bad
			}
			rt.Metric = m
		default:
			return rt, bad
		}
	}
	if f[0] == "0.0.0.0/0" && rt.Via.Is6() {
		rt.To = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	}
	return rt, nil
}

// readVMwareNet maps VMware-style vApp properties: ipN and netmaskN
// configure NIC N (matched to the N-th ve:Adapter's MAC, or the first
// ethernet NIC when there is one NIC and no adapter list), gateway (or
// gatewayN) its default gateway, DNS the name servers, searchpath/domain the
// search domains. Each key may carry a "vami." prefix and a ".<vm>" suffix.
func readVMwareNet(r *propReader) *netSource {
	vals := map[string]string{}
	keyOf := map[string]string{}
	for _, pr := range r.env.Properties {
		if m := vmwareKey.FindStringSubmatch(pr.Key); m != nil && strings.TrimSpace(pr.Value) != "" {
			k := m[1]
			if k == "dns" {
				k = "DNS"
			}
			vals[k], keyOf[k] = strings.TrimSpace(pr.Value), pr.Key
		}
	}
	cfg := netcfg.Config{}
	fieldKeys := map[string]map[string]string{}
	for n := range 4 {
		ipk := fmt.Sprintf("ip%d", n)
		ipv, ok := vals[ipk]
		if !ok {
			continue
		}
		id := fmt.Sprintf("nic%d", n)
		keys := map[string]string{"addresses": keyOf[ipk], "dhcp4": keyOf[ipk]}
		nic := netcfg.NIC{ID: id}
		if n < len(r.env.Adapters) {
			m, err := net.ParseMAC(r.env.Adapters[n].MAC)
			if err != nil {
				r.bad("ve:Adapter ve:mac", fmt.Errorf("not a MAC address: %q", r.env.Adapters[n].MAC))
			}
			nic.MAC, keys["mac"] = m, "ve:Adapter ve:mac"
		} else if n > 0 {
			r.bad(keyOf[ipk], fmt.Errorf("no ve:Adapter number %d in the environment to say which NIC %s is for", n, keyOf[ipk]))
			continue
		} else {
			keys["mac"] = keyOf[ipk]
		}
		a, err := netip.ParseAddr(ipv)
		if err != nil {
			r.bad(keyOf[ipk], fmt.Errorf("not an IP address: %q", ipv))
			continue
		}
		bits := 24
		if mk := fmt.Sprintf("netmask%d", n); vals[mk] != "" {
			keys["addresses"] = keyOf[mk]
			if b, err := strconv.Atoi(vals[mk]); err == nil {
				bits = b
			} else if m := net.ParseIP(vals[mk]).To4(); m != nil {
				ones, sz := net.IPMask(m).Size()
				if sz == 0 {
					r.bad(keyOf[mk], fmt.Errorf("not a netmask: %q", vals[mk]))
					continue
				}
				bits = ones
			} else {
				r.bad(keyOf[mk], fmt.Errorf("not a netmask: %q", vals[mk]))
				continue
			}
		} else if a.Is6() {
			bits = 64
		}
		nic.Addresses = []netip.Prefix{netip.PrefixFrom(a, bits)}
		gk := fmt.Sprintf("gateway%d", n)
		if _, ok := vals[gk]; !ok && n == 0 {
			gk = "gateway"
		}
		if gv, ok := vals[gk]; ok {
			g, err := netip.ParseAddr(gv)
			if err != nil {
				r.bad(keyOf[gk], fmt.Errorf("not an IP address: %q", gv))
			} else if g.Is4() {
				nic.Gateway4 = g
			} else {
				nic.Gateway6 = g
			}
			keys["gateway4"], keys["gateway6"] = keyOf[gk], keyOf[gk]
		}
		fieldKeys[id] = keys
		cfg.NICs = append(cfg.NICs, nic)
	}
	if v, ok := vals["DNS"]; ok {
		for _, f := range listOf(v) {
			a, err := netip.ParseAddr(f)
			if err != nil {
				r.bad(keyOf["DNS"], fmt.Errorf("not an IP address: %q", f))
				continue
			}
			cfg.DNS = append(cfg.DNS, a)
		}
	}
	for _, k := range []string{"searchpath", "domain"} {
		if v, ok := vals[k]; ok {
			cfg.Search = append(cfg.Search, listOf(v)...)
		}
	}
	if len(cfg.NICs) == 0 {
		k := keyOf["DNS"]
		for _, kk := range keyOf {
			k = kk
		}
		r.bad(k, errors.New("VMware-style network properties without ip0: nothing to configure"))
		return nil
	}
	return &netSource{cfg: cfg, where: func(nic, field string) (string, string) {
		if nic == "" {
			if strings.HasPrefix(field, "dns") {
				return keyOf["DNS"], ""
			}
			return keyOf["searchpath"] + keyOf["domain"], ""
		}
		base := (&netcfg.FieldError{Field: field}).BaseField()
		if k, ok := fieldKeys[nic][base]; ok {
			return k, ""
		}
		return fieldKeys[nic]["addresses"], field
	}}
}

// nicKeyOf picks a key that names the NIC when no key names the field: its
// MAC, else its address.
func nicKeyOf(keys map[string]string) string {
	for _, f := range []string{"mac", "name", "addresses", "dhcp4"} {
		if k, ok := keys[f]; ok {
			return k
		}
	}
	return ovfenv.KeyNetAddress.Name
}
