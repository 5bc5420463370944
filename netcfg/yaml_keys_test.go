package netcfg

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// keyCases give, for every key of the YAML structs ("v2Iface.mtu"), a
// document without the key and one with it. TestEveryKeyRead wants one for
// every key, so a key added to the structs without being read fails it.
// selectors are keys that choose how the rest is read rather than carry a
// setting of their own (version), or that ovfinit documents as read and not
// written (renderer: it writes for the image's manager).
var selectors = map[string]bool{"v2.version": true, "v2.renderer": true, "v2Iface.renderer": true, "v1.version": true}

func v2doc(iface string) string {
	return "version: 2\nethernets:\n  e1: {}\n  eth0:\n    dhcp4: true\n" + iface
}

func bondDoc(params string) string {
	return "version: 2\nethernets:\n  e1: {}\n  e2: {}\nbonds:\n  b:\n    interfaces: [e1, e2]\n    parameters:\n      mode: active-backup\n" + params
}

func bridgeDoc(params string) string {
	return "version: 2\nethernets:\n  e1: {}\n  e2: {}\nbridges:\n  br:\n    interfaces: [e1, e2]\n    parameters:\n      max-age: 10\n" + params
}

func v1doc(item, subnet string) string {
	return "version: 1\nconfig:\n- type: physical\n  name: eth0\n" + item + "  subnets:\n  - type: static\n    address: 10.0.0.5/24\n" + subnet
}

var keyCases = map[string][2]string{
	"v2.ethernets":                         {"version: 2\n", "version: 2\nethernets:\n  eth0: {dhcp4: true}\n"},
	"v2.vlans":                             {v2doc(""), v2doc("vlans:\n  v: {id: 5, link: eth0}\n")},
	"v2.bonds":                             {v2doc(""), v2doc("bonds:\n  b: {interfaces: [e1]}\n")},
	"v2Iface.match":                        {v2doc(""), v2doc("    match: {name: eth1}\n")},
	"v2Match.name":                         {v2doc("    match: {driver: x}\n"), v2doc("    match: {driver: x, name: eth1}\n")},
	"v2Match.driver":                       {v2doc("    match: {name: x}\n"), v2doc("    match: {name: x, driver: e1000}\n")},
	"v2Match.macaddress":                   {v2doc("    match: {name: x}\n"), v2doc("    match: {name: x, macaddress: \"52:54:00:00:00:01\"}\n")},
	"v2Iface.set-name":                     {v2doc("    match: {name: x}\n"), v2doc("    match: {name: x}\n    set-name: y\n")},
	"v2Iface.dhcp4":                        {v2doc(""), strings.Replace(v2doc(""), "dhcp4: true", "dhcp4: false", 1)},
	"v2Iface.dhcp6":                        {v2doc(""), v2doc("    dhcp6: true\n")},
	"v2Iface.addresses":                    {v2doc(""), v2doc("    addresses: [10.0.0.5/24]\n")},
	"v2Iface.gateway4":                     {v2doc(""), v2doc("    gateway4: 10.0.0.1\n")},
	"v2Iface.gateway6":                     {v2doc(""), v2doc("    gateway6: fd00::1\n")},
	"v2Iface.mtu":                          {v2doc(""), v2doc("    mtu: 1400\n")},
	"v2Iface.nameservers":                  {v2doc(""), v2doc("    nameservers: {addresses: [10.0.0.53]}\n")},
	"v2Nameservers.addresses":              {v2doc("    nameservers: {search: [a]}\n"), v2doc("    nameservers: {search: [a], addresses: [10.0.0.53]}\n")},
	"v2Nameservers.search":                 {v2doc("    nameservers: {addresses: [10.0.0.53]}\n"), v2doc("    nameservers: {addresses: [10.0.0.53], search: [a]}\n")},
	"v2Iface.routes":                       {v2doc(""), v2doc("    routes: [{to: 10.1.0.0/16}]\n")},
	"v2Route.to":                           {v2doc("    routes: [{to: 10.1.0.0/16}]\n"), v2doc("    routes: [{to: 10.2.0.0/16}]\n")},
	"v2Route.via":                          {v2doc("    routes: [{to: 10.1.0.0/16}]\n"), v2doc("    routes: [{to: 10.1.0.0/16, via: 10.0.0.1}]\n")},
	"v2Route.metric":                       {v2doc("    routes: [{to: 10.1.0.0/16}]\n"), v2doc("    routes: [{to: 10.1.0.0/16, metric: 5}]\n")},
	"v2Route.on-link":                      {v2doc("    routes: [{to: 10.1.0.0/16, via: 10.0.0.1}]\n"), v2doc("    routes: [{to: 10.1.0.0/16, via: 10.0.0.1, on-link: true}]\n")},
	"v2Iface.optional":                     {v2doc(""), v2doc("    optional: true\n")},
	"v2Iface.id":                           {v2doc("vlans:\n  v: {id: 5, link: eth0}\n"), v2doc("vlans:\n  v: {id: 6, link: eth0}\n")},
	"v2Iface.link":                         {v2doc("vlans:\n  v: {id: 5, link: eth0}\n"), v2doc("vlans:\n  v: {id: 5, link: e1}\n")},
	"v2Iface.interfaces":                   {v2doc("bonds:\n  b: {interfaces: [e1]}\n"), v2doc("bonds:\n  b: {interfaces: [e1, eth0]}\n")},
	"v2Iface.parameters":                   {v2doc("bonds:\n  b: {interfaces: [e1]}\n"), v2doc("bonds:\n  b: {interfaces: [e1], parameters: {mode: 802.3ad}}\n")},
	"v2Params.mode":                        {bondDoc(""), strings.Replace(bondDoc(""), "active-backup", "balance-rr", 1)},
	"v2Params.mii-monitor-interval":        {bondDoc(""), bondDoc("      mii-monitor-interval: 100\n")},
	"v2Params.primary":                     {bondDoc(""), bondDoc("      primary: e1\n")},
	"v2Params.lacp-rate":                   {bondDoc(""), bondDoc("      lacp-rate: fast\n")},
	"v2Params.transmit-hash-policy":        {bondDoc(""), bondDoc("      transmit-hash-policy: layer2\n")},
	"v2Params.up-delay":                    {bondDoc(""), bondDoc("      up-delay: 10\n")},
	"v2Params.down-delay":                  {bondDoc(""), bondDoc("      down-delay: 10\n")},
	"v2Params.min-links":                   {bondDoc(""), bondDoc("      min-links: 1\n")},
	"v2Params.arp-interval":                {bondDoc(""), bondDoc("      arp-interval: 10\n")},
	"v2Params.gratuitous-arp":              {bondDoc(""), bondDoc("      gratuitous-arp: 3\n")},
	"v2Params.gratuitious-arp":             {bondDoc(""), bondDoc("      gratuitious-arp: 3\n")},
	"v2Params.arp-ip-targets":              {bondDoc(""), bondDoc("      arp-ip-targets: [10.0.0.1]\n")},
	"v2Route.table":                        {v2doc("    routes: [{to: 10.1.0.0/16, via: 10.0.0.1}]\n"), v2doc("    routes: [{to: 10.1.0.0/16, via: 10.0.0.1, table: 7}]\n")},
	"v2Route.type":                         {v2doc("    routes: [{to: 10.1.0.0/16}]\n"), v2doc("    routes: [{to: 10.1.0.0/16, type: blackhole}]\n")},
	"v2Route.scope":                        {v2doc("    routes: [{to: 10.1.0.0/16, via: 10.0.0.1}]\n"), v2doc("    routes: [{to: 10.1.0.0/16, via: 10.0.0.1, scope: link}]\n")},
	"v2Route.from":                         {v2doc("    routes: [{to: 10.1.0.0/16, via: 10.0.0.1}]\n"), v2doc("    routes: [{to: 10.1.0.0/16, via: 10.0.0.1, from: 10.0.0.5}]\n")},
	"v2Iface.macaddress":                   {v2doc(""), v2doc("    macaddress: \"52:54:00:00:00:09\"\n")},
	"v2Iface.wakeonlan":                    {v2doc(""), v2doc("    wakeonlan: true\n")},
	"v2Iface.accept-ra":                    {v2doc(""), v2doc("    accept-ra: false\n")},
	"v2Iface.ipv6-privacy":                 {v2doc(""), v2doc("    ipv6-privacy: true\n")},
	"v2Iface.link-local":                   {v2doc(""), v2doc("    link-local: []\n")},
	"v2Iface.critical":                     {v2doc(""), v2doc("    critical: true\n")},
	"v2Iface.dhcp-identifier":              {v2doc(""), v2doc("    dhcp-identifier: mac\n")},
	"v2Iface.receive-checksum-offload":     {v2doc(""), v2doc("    receive-checksum-offload: false\n")},
	"v2Iface.transmit-checksum-offload":    {v2doc(""), v2doc("    transmit-checksum-offload: false\n")},
	"v2Iface.tcp-segmentation-offload":     {v2doc(""), v2doc("    tcp-segmentation-offload: false\n")},
	"v2Iface.tcp6-segmentation-offload":    {v2doc(""), v2doc("    tcp6-segmentation-offload: false\n")},
	"v2Iface.generic-segmentation-offload": {v2doc(""), v2doc("    generic-segmentation-offload: false\n")},
	"v2Iface.generic-receive-offload":      {v2doc(""), v2doc("    generic-receive-offload: false\n")},
	"v2Iface.large-receive-offload":        {v2doc(""), v2doc("    large-receive-offload: false\n")},
	"v2Iface.dhcp4-overrides":              {v2doc(""), v2doc("    dhcp4-overrides: {use-dns: false}\n")},
	"v2Iface.dhcp6-overrides":              {v2doc(""), v2doc("    dhcp6-overrides: {use-dns: false}\n")},
	"v2DHCPOverrides.use-dns":              {v2doc("    dhcp4-overrides: {}\n"), v2doc("    dhcp4-overrides: {use-dns: false}\n")},
	"v2DHCPOverrides.use-ntp":              {v2doc("    dhcp4-overrides: {}\n"), v2doc("    dhcp4-overrides: {use-ntp: false}\n")},
	"v2DHCPOverrides.send-hostname":        {v2doc("    dhcp4-overrides: {}\n"), v2doc("    dhcp4-overrides: {send-hostname: false}\n")},
	"v2DHCPOverrides.use-hostname":         {v2doc("    dhcp4-overrides: {}\n"), v2doc("    dhcp4-overrides: {use-hostname: false}\n")},
	"v2DHCPOverrides.use-mtu":              {v2doc("    dhcp4-overrides: {}\n"), v2doc("    dhcp4-overrides: {use-mtu: false}\n")},
	"v2DHCPOverrides.use-routes":           {v2doc("    dhcp4-overrides: {}\n"), v2doc("    dhcp4-overrides: {use-routes: false}\n")},
	"v2DHCPOverrides.use-domains":          {v2doc("    dhcp4-overrides: {}\n"), v2doc("    dhcp4-overrides: {use-domains: route}\n")},
	"v2DHCPOverrides.hostname":             {v2doc("    dhcp4-overrides: {}\n"), v2doc("    dhcp4-overrides: {hostname: h1}\n")},
	"v2DHCPOverrides.route-metric":         {v2doc("    dhcp4-overrides: {}\n"), v2doc("    dhcp4-overrides: {route-metric: 50}\n")},
	"v2Iface.routing-policy":               {v2doc(""), v2doc("    routing-policy: [{from: 10.0.0.0/24, table: 7}]\n")},
	"v2RoutingPolicy.from":                 {v2doc("    routing-policy: [{from: 10.0.0.0/24, table: 7}]\n"), v2doc("    routing-policy: [{from: 10.0.1.0/24, table: 7}]\n")},
	"v2RoutingPolicy.to":                   {v2doc("    routing-policy: [{from: 10.0.0.0/24, table: 7}]\n"), v2doc("    routing-policy: [{from: 10.0.0.0/24, table: 7, to: 10.9.0.0/16}]\n")},
	"v2RoutingPolicy.table":                {v2doc("    routing-policy: [{from: 10.0.0.0/24, table: 7}]\n"), v2doc("    routing-policy: [{from: 10.0.0.0/24, table: 8}]\n")},
	"v2RoutingPolicy.priority":             {v2doc("    routing-policy: [{from: 10.0.0.0/24, table: 7}]\n"), v2doc("    routing-policy: [{from: 10.0.0.0/24, table: 7, priority: 3}]\n")},
	"v2RoutingPolicy.mark":                 {v2doc("    routing-policy: [{from: 10.0.0.0/24, table: 7}]\n"), v2doc("    routing-policy: [{from: 10.0.0.0/24, table: 7, mark: 3}]\n")},
	"v2RoutingPolicy.type-of-service":      {v2doc("    routing-policy: [{from: 10.0.0.0/24, table: 7}]\n"), v2doc("    routing-policy: [{from: 10.0.0.0/24, table: 7, type-of-service: 3}]\n")},
	"v2Params.stp":                         {bridgeDoc(""), bridgeDoc("      stp: true\n")},
	"v2Params.forward-delay":               {bridgeDoc(""), bridgeDoc("      forward-delay: 4\n")},
	"v2Params.hello-time":                  {bridgeDoc(""), bridgeDoc("      hello-time: 2\n")},
	"v2Params.max-age":                     {bridgeDoc(""), bridgeDoc("      max-age: 12\n")},
	"v2Params.ageing-time":                 {bridgeDoc(""), bridgeDoc("      ageing-time: 50\n")},
	"v2Params.aging-time":                  {bridgeDoc(""), bridgeDoc("      aging-time: 50\n")},
	"v2Params.priority":                    {bridgeDoc(""), bridgeDoc("      priority: 100\n")},
	"v2Params.path-cost":                   {bridgeDoc(""), bridgeDoc("      path-cost: {e1: 5}\n")},
	"v2Params.port-priority":               {bridgeDoc(""), bridgeDoc("      port-priority: {e1: 5}\n")},
	"v2.bridges":                           {v2doc(""), v2doc("bridges:\n  br0: {interfaces: [e1]}\n")},
	"v1.config":                            {"version: 1\n", v1doc("", "")},
	"v1Item.type":                          {v1doc("", ""), strings.Replace(v1doc("", ""), "physical", "bridge", 1)},
	"v1Item.name":                          {v1doc("", ""), strings.Replace(v1doc("", ""), "eth0", "eth1", 1)},
	"v1Item.mac_address":                   {v1doc("", ""), v1doc("  mac_address: \"52:54:00:00:00:01\"\n", "")},
	"v1Item.mtu":                           {v1doc("", ""), v1doc("  mtu: 1400\n", "")},
	"v1Item.subnets":                       {v1doc("", ""), strings.Replace(v1doc("", ""), "static\n    address: 10.0.0.5/24", "dhcp", 1)},
	"v1Item.vlan_link":                     {"version: 1\nconfig:\n- {type: physical, name: a}\n- {type: physical, name: b}\n- {type: vlan, name: v, vlan_id: 5, vlan_link: a}\n", "version: 1\nconfig:\n- {type: physical, name: a}\n- {type: physical, name: b}\n- {type: vlan, name: v, vlan_id: 5, vlan_link: b}\n"},
	"v1Item.vlan_id":                       {"version: 1\nconfig:\n- {type: physical, name: a}\n- {type: vlan, name: v, vlan_id: 5, vlan_link: a}\n", "version: 1\nconfig:\n- {type: physical, name: a}\n- {type: vlan, name: v, vlan_id: 6, vlan_link: a}\n"},
	"v1Item.bond_interfaces":               {"version: 1\nconfig:\n- {type: physical, name: a}\n- {type: bond, name: b, bond_interfaces: []}\n", "version: 1\nconfig:\n- {type: physical, name: a}\n- {type: bond, name: b, bond_interfaces: [a]}\n"},
	"v1Item.bridge_interfaces":             {"version: 1\nconfig:\n- {type: physical, name: a}\n- {type: bridge, name: b, bridge_interfaces: []}\n", "version: 1\nconfig:\n- {type: physical, name: a}\n- {type: bridge, name: b, bridge_interfaces: [a]}\n"},
	"v1Item.params":                        {"version: 1\nconfig:\n- {type: bond, name: b}\n", "version: 1\nconfig:\n- {type: bond, name: b, params: {bond-mode: 802.3ad}}\n"},
	"v1Item.address":                       {"version: 1\nconfig:\n- {type: nameserver}\n", "version: 1\nconfig:\n- {type: nameserver, address: [1.1.1.1]}\n"},
	"v1Item.search":                        {"version: 1\nconfig:\n- {type: nameserver}\n", "version: 1\nconfig:\n- {type: nameserver, search: [a]}\n"},
	"v1Item.interface":                     {"version: 1\nconfig:\n- {type: nameserver}\n", "version: 1\nconfig:\n- {type: nameserver, interface: eth0}\n"},
	"v1Item.destination":                   {v1doc("", "") + "- {type: route, destination: 10.1.0.0/16, gateway: 10.0.0.1}\n", v1doc("", "") + "- {type: route, destination: 10.2.0.0/16, gateway: 10.0.0.1}\n"},
	"v1Item.gateway":                       {v1doc("", "") + "- {type: route, destination: 10.1.0.0/16, gateway: 10.0.0.1}\n", v1doc("", "") + "- {type: route, destination: 10.1.0.0/16, gateway: 10.0.0.2}\n"},
	"v1Item.metric":                        {v1doc("", "") + "- {type: route, destination: 10.1.0.0/16, gateway: 10.0.0.1}\n", v1doc("", "") + "- {type: route, destination: 10.1.0.0/16, gateway: 10.0.0.1, metric: 3}\n"},
	"v1Subnet.type":                        {v1doc("", ""), strings.Replace(strings.Replace(v1doc("", ""), "type: static\n", "type: dhcp\n", 1), "    address: 10.0.0.5/24\n", "", 1)},
	"v1Subnet.address":                     {v1doc("", ""), strings.Replace(v1doc("", ""), "10.0.0.5/24", "10.0.0.6/24", 1)},
	"v1Subnet.netmask":                     {strings.Replace(v1doc("", "    netmask: 255.255.255.0\n"), "/24", "", 1), strings.Replace(v1doc("", "    netmask: 255.255.0.0\n"), "/24", "", 1)},
	"v1Subnet.gateway":                     {v1doc("", ""), v1doc("", "    gateway: 10.0.0.1\n")},
	"v1Subnet.dns_nameservers":             {v1doc("", ""), v1doc("", "    dns_nameservers: [10.0.0.53]\n")},
	"v1Subnet.dns_search":                  {v1doc("", ""), v1doc("", "    dns_search: [a]\n")},
	"v1Subnet.control":                     {v1doc("", ""), v1doc("", "    control: manual\n")},
	"v1Subnet.metric":                      {v1doc("", "    gateway: 10.0.0.1\n"), v1doc("", "    gateway: 10.0.0.1\n    metric: 7\n")},
	"v1Item.accept-ra":                     {v1doc("", ""), v1doc("  accept-ra: false\n", "")},
	"v1Subnet.mtu":                         {v1doc("", ""), v1doc("", "    mtu: 1400\n")},
	"v1Subnet.routes":                      {v1doc("", ""), v1doc("", "    routes: [{network: 10.1.0.0/16, gateway: 10.0.0.1}]\n")},
	"v1Route.network":                      {v1doc("", "    routes: [{network: 10.1.0.0/16}]\n"), v1doc("", "    routes: [{network: 10.2.0.0/16}]\n")},
	"v1Route.netmask":                      {v1doc("", "    routes: [{network: 10.1.0.0, netmask: 255.255.0.0}]\n"), v1doc("", "    routes: [{network: 10.1.0.0, netmask: 255.255.255.0}]\n")},
	"v1Route.destination":                  {v1doc("", "    routes: [{destination: 10.1.0.0/16}]\n"), v1doc("", "    routes: [{destination: 10.2.0.0/16}]\n")},
	"v1Route.gateway":                      {v1doc("", "    routes: [{network: 10.1.0.0/16}]\n"), v1doc("", "    routes: [{network: 10.1.0.0/16, gateway: 10.0.0.1}]\n")},
	"v1Route.metric":                       {v1doc("", "    routes: [{network: 10.1.0.0/16}]\n"), v1doc("", "    routes: [{network: 10.1.0.0/16, metric: 4}]\n")},
}

// yamlKeys lists "Struct.key" for every yaml-tagged field reachable from t.
func yamlKeys(t reflect.Type, seen map[string]bool, out *[]string) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t.PkgPath() != reflect.TypeOf(v2{}).PkgPath() || seen[t.Name()] {
		return
	}
	seen[t.Name()] = true
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		*out = append(*out, t.Name()+"."+name)
		yamlKeys(f.Type, seen, out)
	}
}

// TestEveryKeyRead walks the YAML structs: every key the parser accepts must
// change the parsed Config when it is set, or make ParseNetworkConfig or
// Validate refuse the document naming it: no key is read and dropped.
func TestEveryKeyRead(t *testing.T) {
	var keys []string
	seen := map[string]bool{}
	yamlKeys(reflect.TypeOf(v2{}), seen, &keys)
	yamlKeys(reflect.TypeOf(v1{}), seen, &keys)
	if len(keys) < 50 {
		t.Fatalf("found %d YAML keys, want every one (>= 50): %v", len(keys), keys)
	}
	parse := func(doc string) (string, error) {
		cfg, _, err := ParseNetworkConfig([]byte(doc))
		if err != nil {
			return "", err
		}
		b, _ := json.Marshal(cfg)
		return string(b), nil
	}
	for _, k := range keys {
		if selectors[k] {
			continue
		}
		c, ok := keyCases[k]
		if !ok {
			t.Errorf("YAML key %s has no case in keyCases: read it into the model (and add a case) or refuse it", k)
			continue
		}
		before, err := parse(c[0])
		if err != nil {
			t.Errorf("%s: ParseNetworkConfig(without) = %v\n%s", k, err, c[0])
			continue
		}
		after, err := parse(c[1])
		key := k[strings.Index(k, ".")+1:]
		if err != nil {
			if !strings.Contains(err.Error(), key) && !strings.Contains(err.Error(), "line") {
				t.Errorf("%s: refused without naming it: %v", k, err)
			}
			continue
		}
		if before == after {
			t.Errorf("%s: setting it changes nothing in the parsed Config: the key is read and dropped\n%s", k, c[1])
		}
	}
}
