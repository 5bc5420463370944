package netcfg

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/ovfinit/ovfinit/ovfenv"
)

// The network input of an OVF environment comes in one of three dialects:
// cloud-init's network-config (netplan v2 or v1 YAML), ovfinit's own
// ovfinit.net.* properties, or VMware-style vApp properties (ip0, netmask0,
// gateway, DNS, searchpath). FromProperties reads whichever the environment
// uses into a Config, and Origins maps a problem with a field of that
// Config back to the property (and YAML line) it came from.

// Origins says where a Config read by FromProperties came from.
type Origins struct {
	// Source is the property that configured the network: network-config,
	// the first ovfinit.net.* key or the first VMware-style key, in
	// document order. "" when no network property is set: the fallback
	// (ovfinit.net.fallback) applies.
	Source string
	// Disabled is network-config's "config: disabled": leave the network
	// alone, without the fallback.
	Disabled bool

	lines  Lines                        // network-config: the YAML line of each field
	fields map[string]map[string]string // NIC ID -> base field -> property
	dns    string                       // the property of the global DNS servers
	search []string                     // the property of each global search domain
}

// Of returns the property behind a field error of the Config, and, when
// that property does not name the field itself, where in it the problem is
// (a YAML line, or the field).
func (o Origins) Of(fe *FieldError) (key, where string) {
	if o.Source == ovfenv.KeyNetworkConfig.Name {
		if l := o.lines.Line(fe.NIC, fe.Field); l > 0 {
			return o.Source, fmt.Sprintf("YAML line %d", l)
		}
		return o.Source, ""
	}
	base := fe.BaseField()
	if fe.NIC == "" {
		switch {
		case strings.HasPrefix(base, "dns") && o.dns != "":
			return o.dns, ""
		case strings.HasPrefix(base, "search"):
			var i int
			if _, err := fmt.Sscanf(fe.Field, "search[%d]", &i); err == nil && i >= 0 && i < len(o.search) {
				return o.search[i], ""
			}
		}
		return o.Source, fe.Field
	}
	keys := o.fields[fe.NIC]
	if k, ok := keys[base]; ok {
		return k, ""
	}
	for _, f := range []string{"mac", "name", "addresses", "dhcp4"} {
		if k, ok := keys[f]; ok {
			return k, fe.Field
		}
	}
	return o.Source, fe.Field
}

// FromProperties reads the network input of env (its properties, and its
// ve:Adapter list, which says which NIC the VMware-style and single-NIC
// keys are for). Every problem is an *ovfenv.PropertyError naming its
// property and line, all at once. Two dialects at once are an error. With
// no network property, Origins.Source is "" and the Config empty.
func FromProperties(env *ovfenv.Environment) (Config, Origins, error) {
	r := &propReader{env: env}
	var sources []string
	if r.has(ovfenv.KeyNetworkConfig.Name) {
		sources = append(sources, ovfenv.KeyNetworkConfig.Name)
	}
	if k := firstOwnNetKey(env); k != "" {
		sources = append(sources, k)
	}
	if k := firstVMwareKey(env); k != "" {
		sources = append(sources, k)
	}
	if len(sources) == 0 {
		return Config{}, Origins{}, nil
	}
	if len(sources) > 1 {
		r.bad(sources[1], fmt.Errorf("network configured twice: by %s and by %s; use one", sources[0], sources[1]))
		return Config{}, Origins{Source: sources[0]}, errors.Join(r.errs...)
	}
	o := Origins{Source: sources[0]}
	var cfg Config
	switch {
	case sources[0] == ovfenv.KeyNetworkConfig.Name:
		cfg = r.networkConfig(&o)
	case vmwareKey.MatchString(sources[0]):
		cfg = r.vmware(&o)
	default:
		cfg = r.own(&o)
	}
	if len(r.errs) > 0 {
		return Config{}, o, errors.Join(r.errs...)
	}
	return cfg, o, nil
}

// propReader reads properties and collects their problems.
type propReader struct {
	env  *ovfenv.Environment
	errs []error
}

// get returns a property's value, trimmed; ok is false when it is unset or
// blank.
func (r *propReader) get(key string) (string, bool) {
	v, ok := r.env.Property(key)
	v = strings.TrimSpace(v)
	return v, ok && v != ""
}

func (r *propReader) has(key string) bool {
	_, ok := r.get(key)
	return ok
}

func (r *propReader) bad(key string, err error) {
	r.errs = append(r.errs, &ovfenv.PropertyError{Key: key, Line: r.env.PropertyLine(key), Err: err})
}

func (r *propReader) networkConfig(o *Origins) Config {
	v, _ := r.get(ovfenv.KeyNetworkConfig.Name)
	data, plain := networkConfigBytes(v)
	if plain && !looksLikeYAMLMapping(v) {
		r.bad(ovfenv.KeyNetworkConfig.Name, errors.New("neither base64 nor a YAML network-config document (netplan version 2 or cloud-init version 1)"))
		return Config{}
	}
	if NetworkDisabled(data) {
		// cloud-init's "config: disabled": the network is left alone,
		// without the fallback.
		o.Disabled = true
		return Config{}
	}
	cfg, lines, err := ParseNetworkConfig(data)
	if err != nil {
		for _, e := range unjoin(err) {
			r.bad(ovfenv.KeyNetworkConfig.Name, e)
		}
		return Config{}
	}
	o.lines = lines
	return cfg
}

// unjoin splits an errors.Join result into its parts.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
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

// vmwareKey matches VMware-style vApp network keys, bare (ip0, netmask0,
// gateway, DNS, searchpath, domain) or as vami.<key>.<vm-name>.
var vmwareKey = regexp.MustCompile(`^(?:vami\.)?(ip[0-3]|netmask[0-3]|gateway[0-3]?|DNS|dns|searchpath|domain)(?:\..+)?$`)

// The per-NIC property suffixes: ovfinit.net.N.<suffix>.
var nicProps = []string{"mac", "name", "dhcp4", "dhcp6", "address", "gateway", "routes", "mtu", "dns", "search"}

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

// own reads the ovfinit.net.* properties: ovfinit.net.N.* for NIC N, and
// the single-NIC ovfinit.net.<field> as NIC 0.
func (r *propReader) own(o *Origins) Config {
	cfg := Config{}
	o.fields = map[string]map[string]string{}
	for n := range ovfenv.MaxNetNICs {
		key := func(s string) string {
			if n == 0 && r.has("ovfinit.net."+s) {
				return "ovfinit.net." + s
			}
			return ovfenv.NetKey(n, s).Name
		}
		if n == 0 {
			for _, s := range nicProps {
				if r.has("ovfinit.net."+s) && r.has(ovfenv.NetKey(0, s).Name) {
					r.bad("ovfinit.net."+s, fmt.Errorf("set together with %s; use one", ovfenv.NetKey(0, s).Name))
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
		nic := NIC{ID: id}
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
				b, err := ovfenv.ParseBool(v) // the key table's TypeBool
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
		o.fields[id] = nr.keys
		cfg.NICs = append(cfg.NICs, nic)
	}
	return cfg
}

// vmware maps VMware-style vApp properties: ipN and netmaskN configure NIC
// N (matched to the N-th ve:Adapter's MAC, or the first ethernet NIC when
// there is one NIC and no adapter list), gateway (or gatewayN) its default
// gateway, DNS the name servers, searchpath and domain the search domains.
// Each key may carry a "vami." prefix and a ".<vm>" suffix. Where a key
// appears in more than one form, the last in the document wins.
func (r *propReader) vmware(o *Origins) Config {
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
	cfg := Config{}
	o.fields = map[string]map[string]string{}
	for n := range 4 {
		ipk := fmt.Sprintf("ip%d", n)
		ipv, ok := vals[ipk]
		if !ok {
			continue
		}
		id := fmt.Sprintf("nic%d", n)
		keys := map[string]string{"addresses": keyOf[ipk], "dhcp4": keyOf[ipk]}
		nic := NIC{ID: id}
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
		o.fields[id] = keys
		cfg.NICs = append(cfg.NICs, nic)
	}
	if v, ok := vals["DNS"]; ok {
		o.dns = keyOf["DNS"]
		for _, f := range listOf(v) {
			a, err := netip.ParseAddr(f)
			if err != nil {
				r.bad(keyOf["DNS"], fmt.Errorf("not an IP address: %q", f))
				continue
			}
			cfg.DNS = append(cfg.DNS, a)
		}
	}
	// Each search domain remembers its own property: searchpath's first,
	// then domain's.
	for _, k := range []string{"searchpath", "domain"} {
		if v, ok := vals[k]; ok {
			for _, s := range listOf(v) {
				cfg.Search = append(cfg.Search, s)
				o.search = append(o.search, keyOf[k])
			}
		}
	}
	if len(cfg.NICs) == 0 {
		// Blame the first VMware-style key in the document, the one that
		// made this the network input: the same key on every run.
		r.bad(o.Source, errors.New("VMware-style network properties without ip0: nothing to configure"))
		return Config{}
	}
	return cfg
}

// listOf splits a list property: commas, spaces or newlines.
func listOf(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == ';' })
}

// parseRoute reads "10.1.0.0/16 via 10.0.0.1 metric 100" (via and metric
// optional; "default" for 0.0.0.0/0).
func parseRoute(s string) (Route, error) {
	f := strings.Fields(s)
	bad := fmt.Errorf("want a route such as \"10.1.0.0/16 via 10.0.0.1 metric 100\", got %q", strings.TrimSpace(s))
	if len(f) == 0 || len(f)%2 == 0 {
		return Route{}, bad
	}
	var rt Route
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

// PlanValid is Plan for a configuration that has passed Validate: it
// resolves c against cur.Links once and returns the resolved configuration
// (each NIC with its interface name) along with Plan's operations and
// record, so that nothing is validated or resolved twice.
func PlanValid(c Config, cur Current, prev Applied) (Config, []Op, Applied, error) {
	rc, err := Resolve(c, cur.Links)
	if err != nil {
		return Config{}, nil, Applied{}, err
	}
	ops, next := planResolved(rc, cur, prev)
	return rc, ops, next, nil
}
