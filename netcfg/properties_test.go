package netcfg

import (
	"errors"
	"net"
	"reflect"
	"strings"
	"testing"

	"github.com/ovfinit/ovfinit/ovfenv"
)

func propsEnv(kv ...string) *ovfenv.Environment {
	e := &ovfenv.Environment{}
	for i := 0; i+1 < len(kv); i += 2 {
		e.Properties = append(e.Properties, ovfenv.Property{Key: kv[i], Value: kv[i+1], Line: 5 + i/2})
	}
	return e
}

// TestFromPropertiesOrigins: each dialect's config, and the property a
// field error maps back to.
func TestFromPropertiesOrigins(t *testing.T) {
	tests := []struct {
		name      string
		env       *ovfenv.Environment
		source    string
		fe        FieldError
		wantKey   string
		wantWhere string
	}{
		{"own address", propsEnv("ovfinit.net.address", "10.0.2.15/24", "ovfinit.net.1.name", "eth1", "ovfinit.net.1.mtu", "9000"), "ovfinit.net.address",
			FieldError{NIC: "nic0", Field: "addresses[0]"}, "ovfinit.net.address", ""},
		{"own mtu of NIC 1", propsEnv("ovfinit.net.address", "10.0.2.15/24", "ovfinit.net.1.name", "eth1", "ovfinit.net.1.mtu", "9000"), "ovfinit.net.address",
			FieldError{NIC: "nic1", Field: "mtu"}, "ovfinit.net.1.mtu", ""},
		{"own unnamed field", propsEnv("ovfinit.net.1.name", "eth1", "ovfinit.net.1.dhcp4", "yes"), "ovfinit.net.1.name",
			FieldError{NIC: "nic1", Field: "set-name"}, "ovfinit.net.1.name", "set-name"},
		{"vmware dns", propsEnv("ip0", "10.0.2.15", "DNS", "10.0.2.3", "searchpath", "a", "domain", "b c"), "ip0",
			FieldError{Field: "dns[0]"}, "DNS", ""},
		{"vmware second domain", propsEnv("ip0", "10.0.2.15", "DNS", "10.0.2.3", "searchpath", "a", "domain", "b c"), "ip0",
			FieldError{Field: "search[2]"}, "domain", ""},
		{"vmware netmask", propsEnv("ip0", "10.0.2.15", "netmask0", "16"), "ip0",
			FieldError{NIC: "nic0", Field: "addresses[0]"}, "netmask0", ""},
		{"network-config line", propsEnv("network-config", "network:\n  version: 2\n  ethernets:\n    eth0:\n      dhcp4: true\n"), "network-config",
			FieldError{NIC: "eth0", Field: "dhcp4"}, "network-config", "YAML line 5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, o, err := FromProperties(tt.env)
			if err != nil {
				t.Fatalf("FromProperties() = %v", err)
			}
			if o.Source != tt.source {
				t.Errorf("Origins.Source = %q, want %q", o.Source, tt.source)
			}
			key, where := o.Of(&tt.fe)
			if key != tt.wantKey || where != tt.wantWhere {
				t.Errorf("Of(%s) = %q, %q; want %q, %q", tt.fe.Field, key, where, tt.wantKey, tt.wantWhere)
			}
		})
	}
}

// TestFromPropertiesErrors: input problems are PropertyErrors naming the
// property and its line; no network property is no source.
func TestFromPropertiesErrors(t *testing.T) {
	_, o, err := FromProperties(propsEnv("hostname", "h", "ovfinit.net.fallback", "off"))
	if err != nil || o.Source != "" {
		t.Errorf("FromProperties(no network keys) = %+v, %v; want no source", o, err)
	}
	_, _, err = FromProperties(propsEnv("ovfinit.net.mtu", "9000", "ovfinit.net.0.mtu", "70000", "ip0", "10.0.0.1"))
	var pe *ovfenv.PropertyError
	if !errors.As(err, &pe) || pe.Key != "ip0" || pe.Line != 7 || !strings.Contains(err.Error(), "configured twice") {
		t.Errorf("FromProperties(two dialects) = %v, want a PropertyError on ip0 line 7", err)
	}
	_, _, err = FromProperties(propsEnv("ovfinit.net.1.name", "eth1", "ovfinit.net.1.mtu", "70000"))
	if !errors.As(err, &pe) || pe.Key != "ovfinit.net.1.mtu" || !strings.Contains(err.Error(), "from 68 to 65535") {
		t.Errorf("FromProperties(mtu 70000) = %v, want the key table's range error on ovfinit.net.1.mtu", err)
	}
}

// TestPlanValidResolvesOnce: PlanValid returns what Plan and Resolve
// return, from one resolution.
func TestPlanValidResolvesOnce(t *testing.T) {
	m, _ := net.ParseMAC("52:54:00:12:34:56")
	cur := Current{Links: []Link{{Index: 2, Name: "ens3", MAC: m, Ethernet: true}}}
	cfg, _, err := FromProperties(propsEnv("ovfinit.net.address", "10.0.2.15/24", "ovfinit.net.gateway", "10.0.2.2"))
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(cfg); err != nil {
		t.Fatal(err)
	}
	rc, ops, next, err := PlanValid(cfg, cur, Applied{})
	if err != nil {
		t.Fatal(err)
	}
	wantOps, wantNext, _ := Plan(cfg, cur, Applied{})
	wantRC, _ := Resolve(cfg, cur.Links)
	if !reflect.DeepEqual(wantRC, rc) {
		t.Errorf("PlanValid resolved config = %+v, Resolve gives %+v", rc, wantRC)
	}
	if !reflect.DeepEqual(wantOps, ops) {
		t.Errorf("PlanValid ops = %+v, Plan gives %+v", ops, wantOps)
	}
	if !reflect.DeepEqual(wantNext, next) {
		t.Errorf("PlanValid applied = %+v, Plan gives %+v", next, wantNext)
	}
	if rc.NICs[0].Name != "ens3" {
		t.Errorf("resolved NIC name = %q, want ens3", rc.NICs[0].Name)
	}
}
