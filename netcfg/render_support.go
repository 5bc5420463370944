package netcfg

import (
	"errors"
	"fmt"
	"reflect"
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
	"DNS": rendered, "Search": rendered,
}

// managerSupport overrides commonSupport per manager.
var managerSupport = map[Manager]map[string]support{
	// No setting of theirs that ovfinit writes makes the boot skip waiting
	// for one connection.
	ManagerNetworkManager: {"NICs.Optional": refused},
	ManagerIfcfg:          {"NICs.Optional": refused},
	// lagg(4) has no link monitoring or primary settings, and rc.conf
	// bonds are not written yet.
	ManagerRCConf: {
		"NICs.MAC": resolved, "NICs.CurName": rendered, "NICs.Routes.Metric": refused, "NICs.Optional": refused, "NICs.Routes.OnLink": refused,
		"NICs.DNS": live, "NICs.Search": live, "DNS": live, "Search": live,
		"NICs.Members": refused, "NICs.BondMode": refused,
		"NICs.Bond.MIIMonitorInterval": refused, "NICs.Bond.Primary": refused, "NICs.Bond.LACPRate": refused,
		"NICs.Bond.TransmitHashPolicy": refused, "NICs.Bond.UpDelay": refused, "NICs.Bond.DownDelay": refused,
		"NICs.Bond.MinLinks": refused, "NICs.Bond.ARPInterval": refused, "NICs.Bond.ARPIPTargets": refused,
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
	}
	if f, ok := strings.CutPrefix(path, "NICs.Bond."); ok {
		return "bond." + map[string]string{"MIIMonitorInterval": "mii-monitor-interval", "Primary": "primary", "LACPRate": "lacp-rate",
			"TransmitHashPolicy": "transmit-hash-policy", "UpDelay": "up-delay", "DownDelay": "down-delay", "MinLinks": "min-links",
			"ARPInterval": "arp-interval", "ARPIPTargets": "arp-ip-targets"}[f]
	}
	return strings.ToLower(strings.TrimPrefix(path, "NICs."))
}

// CheckSupport returns a *FieldError for every field c sets that m
// refuses, joined. Render calls it; a planner can call it first to report
// the problem with the YAML line or property (FieldError names the field).
func CheckSupport(m Manager, c Config) error {
	var errs []error
	walkSet(reflect.ValueOf(c), "", func(path, nic string) {
		if supportOf(m, path) == refused {
			errs = append(errs, &FieldError{NIC: nic, Field: userField(path), Err: fmt.Errorf("not supported with %s yet", m)})
		}
	})
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
