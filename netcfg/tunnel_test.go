package netcfg

import (
	"net/netip"
	"strings"
	"testing"
)

const (
	wgPriv = "4GgaQCy68nzNsUE5aJ9fuLzHhB65tAlwbmA72MWnOm8="
	wgPub  = "M9nt4YujIOmNrRmpIRTmYSfMdrpvE7u6WkG8FY8WjG4="
	wgPSK  = "7voRZ/ojfXgfPOlswo3Lpma1RJq7qijIEEUEMShQFV8="
)

// The tunnel and VRF fields' mutations for TestEveryFieldRendered: prep
// adds a tunnel (or a VRF) to the base, the mutation changes one field.
func init() {
	gre := func(c *Config) {
		c.NICs = append(c.NICs, NIC{ID: "gre1", Name: "gre1", Kind: Tunnel, Up: true,
			Tunnel: TunnelParams{Mode: "gre", Local: ip("10.0.0.5"), Remote: ip("10.0.0.9")}})
	}
	vx := func(c *Config) {
		c.NICs = append(c.NICs, NIC{ID: "vx1", Name: "vx1", Kind: Tunnel, Up: true, Tunnel: TunnelParams{Mode: "vxlan", VNI: 5}})
	}
	wg := func(c *Config) {
		c.NICs = append(c.NICs, NIC{ID: "wg0", Name: "wg0", Kind: Tunnel, Up: true, Tunnel: TunnelParams{Mode: "wireguard", PrivateKey: wgPriv,
			Peers: []WGPeer{{PublicKey: wgPub, AllowedIPs: []netip.Prefix{pfx("10.9.0.0/24")}}}}})
	}
	last := func(c *Config) *NIC { return &c.NICs[len(c.NICs)-1] }
	f := false
	for field, pm := range map[string]struct {
		prep func(*Config)
		mut  func(*Config)
	}{
		"Mode":             {gre, func(c *Config) { last(c).Tunnel.Mode = "ipip" }},
		"Local":            {gre, func(c *Config) { last(c).Tunnel.Local = ip("10.0.0.6") }},
		"Remote":           {gre, func(c *Config) { last(c).Tunnel.Remote = ip("10.0.0.8") }},
		"TTL":              {gre, func(c *Config) { last(c).Tunnel.TTL = 64 }},
		"InputKey":         {gre, func(c *Config) { last(c).Tunnel.InputKey = "5" }},
		"OutputKey":        {gre, func(c *Config) { last(c).Tunnel.OutputKey = "6" }},
		"VNI":              {vx, func(c *Config) { last(c).Tunnel.VNI = 6 }},
		"Port":             {vx, func(c *Config) { last(c).Tunnel.Port = 4790 }},
		"MACLearning":      {vx, func(c *Config) { last(c).Tunnel.MACLearning = &f }},
		"Mark":             {wg, func(c *Config) { last(c).Tunnel.Mark = 42 }},
		"PrivateKey":       {wg, func(c *Config) { last(c).Tunnel.PrivateKey = "/etc/wg/private.key" }},
		"Peers.PublicKey":  {wg, func(c *Config) { last(c).Tunnel.Peers[0].PublicKey = wgPriv }},
		"Peers.SharedKey":  {wg, func(c *Config) { last(c).Tunnel.Peers[0].SharedKey = wgPSK }},
		"Peers.Endpoint":   {wg, func(c *Config) { last(c).Tunnel.Peers[0].Endpoint = "10.0.0.20:51820" }},
		"Peers.AllowedIPs": {wg, func(c *Config) { last(c).Tunnel.Peers[0].AllowedIPs = []netip.Prefix{pfx("0.0.0.0/0")} }},
		"Peers.Keepalive":  {wg, func(c *Config) { last(c).Tunnel.Peers[0].Keepalive = 21 }},
	} {
		prep["NICs.Tunnel."+field] = pm.prep
		mutations["NICs.Tunnel."+field] = pm.mut
	}
	prep["NICs.VRFTable"] = func(c *Config) {
		c.NICs = append(c.NICs, NIC{ID: "vrf1", Name: "vrf1", Kind: VRF, Up: true, VRFTable: 100, Members: []string{"v10"}})
	}
	mutations["NICs.VRFTable"] = func(c *Config) { last(c).VRFTable = 101 }
	mutations["NICs.LinkOpts.NeighSuppress"] = func(c *Config) { t := true; c.NICs[5].NeighSuppress = &t }

	tun := func(s string) string { return v2doc("tunnels:\n  t1:\n" + s) }
	wgDoc := func(s string) string {
		return tun("    mode: wireguard\n    key: " + wgPriv + "\n    peers:\n    - keys: {public: " + wgPub + "}\n      allowed-ips: [10.9.0.0/24]\n" + s)
	}
	for k, v := range map[string][2]string{
		"v2.tunnels":             {v2doc(""), tun("    {mode: gre, local: 10.0.0.5, remote: 10.0.0.9}\n")},
		"v2.vrfs":                {v2doc(""), v2doc("vrfs:\n  vrf1: {table: 100, interfaces: [e1]}\n")},
		"v2Iface.table":          {v2doc("vrfs:\n  vrf1: {table: 100, interfaces: [e1]}\n"), v2doc("vrfs:\n  vrf1: {table: 101, interfaces: [e1]}\n")},
		"v2Iface.mode":           {tun("    {mode: gre, local: 10.0.0.5, remote: 10.0.0.9}\n"), tun("    {mode: ipip, local: 10.0.0.5, remote: 10.0.0.9}\n")},
		"v2Iface.local":          {tun("    {mode: vxlan, id: 5}\n"), tun("    {mode: vxlan, id: 5, local: 10.0.0.5}\n")},
		"v2Iface.remote":         {tun("    {mode: vxlan, id: 5}\n"), tun("    {mode: vxlan, id: 5, remote: 10.0.0.9}\n")},
		"v2Iface.ttl":            {tun("    {mode: vxlan, id: 5}\n"), tun("    {mode: vxlan, id: 5, ttl: 9}\n")},
		"v2Iface.port":           {tun("    {mode: vxlan, id: 5}\n"), tun("    {mode: vxlan, id: 5, port: 4790}\n")},
		"v2Iface.mac-learning":   {tun("    {mode: vxlan, id: 5}\n"), tun("    {mode: vxlan, id: 5, mac-learning: false}\n")},
		"v2Iface.key":            {tun("    {mode: gre, local: 10.0.0.5, remote: 10.0.0.9}\n"), tun("    {mode: gre, local: 10.0.0.5, remote: 10.0.0.9, key: 7}\n")},
		"v2Iface.keys":           {tun("    {mode: gre, local: 10.0.0.5, remote: 10.0.0.9}\n"), tun("    {mode: gre, local: 10.0.0.5, remote: 10.0.0.9, keys: {input: 7}}\n")},
		"v2Iface.mark":           {wgDoc(""), wgDoc("    mark: 42\n")},
		"v2Iface.peers":          {tun("    {mode: wireguard, key: " + wgPriv + "}\n"), wgDoc("")},
		"v2Peer.endpoint":        {wgDoc(""), wgDoc("      endpoint: 10.0.0.20:51820\n")},
		"v2Peer.allowed-ips":     {wgDoc(""), strings.Replace(wgDoc(""), "10.9.0.0/24", "0.0.0.0/0", 1)},
		"v2Peer.keepalive":       {wgDoc(""), wgDoc("      keepalive: 21\n")},
		"v2Peer.keys":            {wgDoc(""), strings.Replace(wgDoc(""), wgPub, wgPSK, 1)},
		"v2PeerKeys.public":      {wgDoc(""), strings.Replace(wgDoc(""), wgPub, wgPSK, 1)},
		"v2PeerKeys.shared":      {wgDoc(""), strings.Replace(wgDoc(""), "}", ", shared: "+wgPSK+"}", 1)},
		"v2Iface.neigh-suppress": {v2doc(""), v2doc("    neigh-suppress: true\n")},
	} {
		keyCases[k] = v
	}
}

// TestWireGuardSecrets: a WireGuard private or preshared key appears in
// no error, no JSON of the model, no plan line, and the networkd file
// that holds it is not world-readable.
func TestWireGuardSecrets(t *testing.T) {
	bad := "c2VjcmV0LWJ1dC1ub3QtYS1rZXk="
	doc := "version: 2\ntunnels:\n  wg0:\n    mode: wireguard\n    addresses: [10.10.10.20/24]\n    key: " + bad +
		"\n    peers:\n    - keys: {public: " + wgPub + ", shared: " + bad + "}\n      allowed-ips: [10.9.0.0/24]\n"
	cfg, _, err := ParseNetworkConfig([]byte(doc))
	if err != nil {
		t.Fatalf("ParseNetworkConfig = %v", err)
	}
	err = Validate(cfg)
	if err == nil || !strings.Contains(err.Error(), "tunnel.key") || !strings.Contains(err.Error(), "keys.shared") {
		t.Fatalf("Validate(bad keys) = %v, want errors naming tunnel.key and keys.shared", err)
	}
	if strings.Contains(err.Error(), bad) {
		t.Errorf("Validate's error shows the secret: %v", err)
	}
	cfg.NICs[0].Tunnel.PrivateKey, cfg.NICs[0].Tunnel.Peers[0].SharedKey = wgPriv, wgPSK
	if err := Validate(cfg); err != nil {
		t.Fatalf("Validate = %v", err)
	}
	b, _ := cfg.NICs[0].MarshalJSON()
	for _, s := range []string{wgPriv, wgPSK} {
		if strings.Contains(string(b), s) {
			t.Errorf("the model's JSON shows a secret: %s", b)
		}
	}
	if got := cfg.NICs[0].Tunnel.PrivateKey.String(); got != "(secret)" {
		t.Errorf("PrivateKey.String() = %q, want (secret)", got)
	}
	cfg.NICs[0].Name = "wg0"
	ops, _ := planResolved(cfg, Current{}, Applied{})
	if len(ops) != 0 {
		t.Errorf("plan for a wireguard tunnel = %v, want no live op (the image's manager makes it)", ops)
	}
	files, err := Render(ManagerNetworkd, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var netdev *File
	for i := range files {
		if strings.HasSuffix(files[i].Path, ".netdev") {
			netdev = &files[i]
		}
	}
	if netdev == nil || !strings.Contains(string(netdev.Data), "PrivateKey="+wgPriv) {
		t.Fatalf("networkd files = %s, want a .netdev with the private key", renderText(files))
	}
	if netdev.Mode&0o007 != 0 || netdev.Group != "systemd-network" {
		t.Errorf("wireguard .netdev mode %04o group %q, want 0640 root:systemd-network", netdev.Mode, netdev.Group)
	}
	if got := Secrets(cfg); len(got) != 2 {
		t.Errorf("Secrets = %d values, want the private and the preshared key", len(got))
	}
}

// TestTunnelPlan: tunnels are made before the bridges they are ports of,
// VRFs after the links they hold, and a WireGuard tunnel gets no live op.
func TestTunnelPlan(t *testing.T) {
	cfg, _, err := ParseNetworkConfig([]byte(`version: 2
ethernets:
  u: {match: {name: eth0}, addresses: [10.0.0.5/24]}
vrfs:
  blue: {table: 42, interfaces: [br0]}
bridges:
  br0: {interfaces: [vx42]}
tunnels:
  vx42: {mode: vxlan, id: 42, link: u, local: 10.0.0.5, port: 4790, mac-learning: false}
  gre1: {mode: gre, local: 10.0.0.5, remote: 10.0.0.9, key: 7}
  wg0:
    mode: wireguard
    key: ` + wgPriv + `
    addresses: [10.10.10.20/24]
    peers: [{keys: {public: ` + wgPub + `}, allowed-ips: [10.9.0.0/24]}]
`))
	if err != nil {
		t.Fatal(err)
	}
	cur := Current{Links: []Link{{Name: "eth0", Ethernet: true, MAC: mac("52:54:00:00:00:01"), Up: true}}}
	ops, _, err := Plan(cfg, cur, Applied{})
	if err != nil {
		t.Fatalf("Plan = %v", err)
	}
	var got []string
	for _, op := range ops {
		if op.Kind == OpLinkAdd || op.Kind == OpLinkMaster || strings.Contains(op.String(), "wg0") {
			got = append(got, op.String())
		}
	}
	want := []string{
		"link add gre1 type gre remote 10.0.0.9 local 10.0.0.5 ikey 7 okey 7",
		"link add vx42 type vxlan id 42 local 10.0.0.5 dev eth0 dstport 4790 nolearning",
		"link add br0 type bridge",
		"link set vx42 master br0",
		"link add blue type vrf table 42",
		"link set br0 master blue",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Plan link ops =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestNMTunnelsAndMTU: NetworkManager keyfiles for a vxlan, a gre tunnel
// and a VRF with its member, and the MTU of a bond and a VLAN, which the
// keyfiles used to drop (only ethernets got mtu=). A vxlan's MTU and
// WireGuard are refused for NetworkManager, naming the field.
func TestNMTunnelsAndMTU(t *testing.T) {
	c := Config{NICs: []NIC{
		{ID: "e1", Name: "eth0", MAC: mac("52:54:00:00:00:01"), Addresses: []netip.Prefix{pfx("10.0.0.5/24")}},
		{ID: "e2", Name: "eth1", MAC: mac("52:54:00:00:00:02")},
		{ID: "b0", Name: "bond0", Kind: Bond, Members: []string{"e2"}, MTU: 9000},
		{ID: "v5", Name: "v5", Kind: VLAN, Link: "b0", VLANID: 5, MTU: 8900},
		{ID: "blue", Name: "blue", Kind: VRF, VRFTable: 42, Members: []string{"v5"}},
		{ID: "vx", Name: "vx42", Kind: Tunnel, Link: "e1", Tunnel: TunnelParams{Mode: "vxlan", VNI: 42, Local: ip("10.0.0.5")}},
		{ID: "gre1", Name: "gre1", Kind: Tunnel, MTU: 1400, Tunnel: TunnelParams{Mode: "gre", Local: ip("10.0.0.5"), Remote: ip("10.0.0.9"), InputKey: "5", OutputKey: "5"}},
	}}
	if err := Validate(c); err != nil {
		t.Fatal(err)
	}
	files, err := Render(ManagerNetworkManager, c)
	if err != nil {
		t.Fatalf("Render(networkmanager) = %v", err)
	}
	byName := map[string]string{}
	for _, f := range files {
		byName[f.Path[strings.LastIndex(f.Path, "/")+1:]] = string(f.Data)
	}
	for file, wants := range map[string][]string{
		"ovfinit-bond0.nmconnection": {"[ethernet]\nmtu=9000\n"},
		"ovfinit-v5.nmconnection":    {"[ethernet]\nmtu=8900\n", "master=blue\nslave-type=vrf\n"},
		"ovfinit-blue.nmconnection":  {"type=vrf\n", "[vrf]\ntable=42\n"},
		"ovfinit-vx42.nmconnection":  {"type=vxlan\n", "[vxlan]\nid=42\nparent=eth0\nlocal=10.0.0.5\ndestination-port=4789\n"},
		"ovfinit-gre1.nmconnection":  {"type=ip-tunnel\n", "[ip-tunnel]\nmode=2\nlocal=10.0.0.5\nremote=10.0.0.9\ninput-key=5\noutput-key=5\nmtu=1400\n"},
	} {
		for _, w := range wants {
			if !strings.Contains(byName[file], w) {
				t.Errorf("%s = %q, want it to contain %q", file, byName[file], w)
			}
		}
	}
	c.NICs[5].MTU = 1450
	if _, err := Render(ManagerNetworkManager, c); err == nil || !strings.Contains(err.Error(), "vx.mtu") {
		t.Errorf("Render(networkmanager, vxlan with mtu) = %v, want an error naming vx.mtu", err)
	}
	c.NICs[5].MTU = 0
	c.NICs = append(c.NICs, NIC{ID: "wg0", Name: "wg0", Kind: Tunnel, Tunnel: TunnelParams{Mode: "wireguard", PrivateKey: wgPriv,
		Peers: []WGPeer{{PublicKey: wgPub, AllowedIPs: []netip.Prefix{pfx("10.9.0.0/24")}}}}})
	if _, err := Render(ManagerNetworkManager, c); err == nil || !strings.Contains(err.Error(), "wg0.tunnel.key") {
		t.Errorf("Render(networkmanager, wireguard) = %v, want an error naming wg0.tunnel.key", err)
	}
}
