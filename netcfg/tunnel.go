package netcfg

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Tunnel and VRF entries (netplan 0.106 tunnels: and vrfs:).
const (
	Tunnel Kind = "tunnel"
	VRF    Kind = "vrf"
)

// tunnelModes are the tunnel modes ovfinit applies: the ones netplan 0.106
// documents for wired VMs, as issue 15 lists them.
var tunnelModes = []string{"gre", "ip6gre", "sit", "ipip", "vxlan", "wireguard"}

// Secret is a value that must never be logged or shown: a WireGuard
// private or preshared key. It prints as "(secret)"; its JSON is a short
// digest, so two configurations still compare, but the key is not in it.
type Secret string

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "(secret)"
}

// GoString keeps %#v from printing the key.
func (s Secret) GoString() string { return s.String() }

// MarshalJSON writes a digest of the secret, never the secret.
func (s Secret) MarshalJSON() ([]byte, error) {
	if s == "" {
		return []byte(`""`), nil
	}
	sum := sha256.Sum256([]byte(s))
	return json.Marshal("(secret sha256:" + hex.EncodeToString(sum[:6]) + ")")
}

// UnmarshalJSON refuses a digest (it is not the key) and reads a key.
func (s *Secret) UnmarshalJSON(b []byte) error {
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if strings.HasPrefix(v, "(secret") {
		return errors.New("a secret's digest is not the secret")
	}
	*s = Secret(v)
	return nil
}

// TunnelParams are a tunnel's settings as netplan 0.106 names them.
type TunnelParams struct {
	Mode   string     // mode: gre, ip6gre, sit, ipip, vxlan, wireguard
	Local  netip.Addr `json:",omitzero"` // local
	Remote netip.Addr `json:",omitzero"` // remote (vxlan: the remote VTEP)
	TTL    int        `json:",omitempty"`
	// InputKey and OutputKey are the GRE keys (keys: {input, output}, or
	// key: for both): a number or a dotted quad.
	InputKey  string `json:",omitempty"`
	OutputKey string `json:",omitempty"`
	// VNI is the VXLAN network identifier (id).
	VNI int `json:",omitempty"`
	// Port: VXLAN destination port, WireGuard listen port.
	Port int `json:",omitempty"`
	// MACLearning: VXLAN source address learning (mac-learning).
	MACLearning *bool `json:",omitempty"`
	// Mark is WireGuard's firewall mark (mark).
	Mark int `json:",omitempty"`
	// PrivateKey is WireGuard's private key (key, or keys: {private}):
	// base64, or an absolute path to a file holding it.
	PrivateKey Secret   `json:",omitempty"`
	Peers      []WGPeer `json:",omitempty"`
}

// WGPeer is one WireGuard peer (peers:).
type WGPeer struct {
	PublicKey  string         // keys: {public}
	SharedKey  Secret         `json:",omitempty"` // keys: {shared}: base64 or a file path
	Endpoint   string         `json:",omitempty"` // host:port
	AllowedIPs []netip.Prefix `json:",omitempty"` // allowed-ips
	Keepalive  int            `json:",omitempty"` // keepalive, seconds
}

// IsZero reports whether no tunnel setting is set.
func (t TunnelParams) IsZero() bool {
	return t.Mode == "" && !t.Local.IsValid() && !t.Remote.IsValid() && t.TTL == 0 && t.InputKey == "" && t.OutputKey == "" &&
		t.VNI == 0 && t.Port == 0 && t.MACLearning == nil && t.Mark == 0 && t.PrivateKey == "" && len(t.Peers) == 0
}

// isKeyFile: netplan reads a WireGuard key that starts with "/" as a file.
func isKeyFile(k Secret) bool { return strings.HasPrefix(string(k), "/") }

// validWGKey: 32 bytes in base64 (44 characters).
func validWGKey(s string) bool {
	b, err := base64.StdEncoding.DecodeString(s)
	return err == nil && len(b) == 32
}

// validGREKey: a number or a dotted quad, as netplan reads it.
func validGREKey(s string) bool {
	if _, err := strconv.ParseUint(s, 10, 32); err == nil {
		return true
	}
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is4()
}

// checkTunnel validates a tunnel or VRF entry and the tunnel settings on
// entries that are not tunnels.
func checkTunnel(c Config, n *NIC, bad func(nic, field string, err error, value string)) {
	t := n.Tunnel
	if n.KindOf() != Tunnel {
		if !t.IsZero() {
			bad(n.ID, "tunnel", errors.New("tunnel settings on an interface that is not a tunnel"), "")
		}
	}
	if n.KindOf() != VRF && n.VRFTable != 0 {
		bad(n.ID, "table", errors.New("table is for vrfs"), fmt.Sprint(n.VRFTable))
	}
	switch n.KindOf() {
	case VRF:
		if n.VRFTable < 1 {
			bad(n.ID, "table", errors.New("a vrf needs a routing table (1-4294967295)"), fmt.Sprint(n.VRFTable))
		}
		for k, r := range n.Routes {
			if r.Table != n.VRFTable {
				bad(n.ID, fmt.Sprintf("routes[%d].table", k), errors.New("a vrf's routes are in the vrf's table"), fmt.Sprint(r.Table))
			}
		}
		for k, m := range n.Members {
			if !hasID(c.NICs, m) {
				bad(n.ID, fmt.Sprintf("interfaces[%d]", k), ErrBadLink, m)
			}
		}
		return
	case Tunnel:
	default:
		return
	}
	if !slices.Contains(tunnelModes, t.Mode) {
		bad(n.ID, "tunnel.mode", fmt.Errorf("want one of %s", strings.Join(tunnelModes, ", ")), t.Mode)
		return
	}
	v6 := t.Mode == "ip6gre"
	for _, a := range []struct {
		f string
		a netip.Addr
	}{{"tunnel.local", t.Local}, {"tunnel.remote", t.Remote}} {
		switch {
		case !a.a.IsValid():
			if t.Mode != "wireguard" && t.Mode != "vxlan" {
				bad(n.ID, a.f, fmt.Errorf("a %s tunnel needs local and remote addresses", t.Mode), "")
			}
		case t.Mode == "wireguard":
			bad(n.ID, a.f, errors.New("not a wireguard setting (peers have an endpoint)"), a.a.String())
		case t.Mode != "vxlan" && a.a.Is6() != v6:
			bad(n.ID, a.f, fmt.Errorf("a %s tunnel needs an IPv%s address", t.Mode, map[bool]string{true: "6", false: "4"}[v6]), a.a.String())
		}
	}
	if t.Local.IsValid() && t.Remote.IsValid() && t.Local.Is4() != t.Remote.Is4() {
		bad(n.ID, "tunnel.remote", errors.New("local and remote are of different address families"), t.Remote.String())
	}
	if t.TTL < 0 || t.TTL > 255 {
		bad(n.ID, "tunnel.ttl", errors.New("out of range 0-255"), fmt.Sprint(t.TTL))
	}
	gre := t.Mode == "gre" || t.Mode == "ip6gre"
	for _, k := range []struct{ f, v string }{{"tunnel.keys.input", t.InputKey}, {"tunnel.keys.output", t.OutputKey}} {
		if k.v == "" {
			continue
		}
		if !gre {
			bad(n.ID, k.f, fmt.Errorf("input and output keys are for gre tunnels, not %s", t.Mode), "")
		} else if !validGREKey(k.v) {
			bad(n.ID, k.f, errors.New("want a number or a dotted quad"), k.v)
		}
	}
	if t.Mode == "vxlan" {
		if t.VNI < 1 || t.VNI > 16777215 {
			bad(n.ID, "tunnel.id", errors.New("a vxlan tunnel needs an id (VNI) 1-16777215"), fmt.Sprint(t.VNI))
		}
	} else {
		if t.VNI != 0 {
			bad(n.ID, "tunnel.id", errors.New("id is for vxlan tunnels"), fmt.Sprint(t.VNI))
		}
		if t.MACLearning != nil {
			bad(n.ID, "tunnel.mac-learning", errors.New("mac-learning is for vxlan tunnels"), "")
		}
		if n.Link != "" {
			// netplan 0.106 reads link only for vxlan, and drops it otherwise.
			bad(n.ID, "link", fmt.Errorf("link is for vxlan tunnels, not %s (netplan 0.106 ignores it)", t.Mode), n.Link)
		}
	}
	if n.Link != "" && !hasID(c.NICs, n.Link) {
		bad(n.ID, "link", ErrBadLink, n.Link)
	}
	if t.Port < 0 || t.Port > 65535 || t.Port != 0 && t.Mode != "vxlan" && t.Mode != "wireguard" {
		bad(n.ID, "tunnel.port", errors.New("a port 1-65535 is for vxlan and wireguard tunnels"), fmt.Sprint(t.Port))
	}
	if t.Mode != "wireguard" {
		if t.Mark != 0 || t.PrivateKey != "" || len(t.Peers) > 0 {
			bad(n.ID, "tunnel.peers", fmt.Errorf("mark, peers and a private key are for wireguard tunnels, not %s", t.Mode), "")
		}
		return
	}
	if t.Mark < 0 {
		bad(n.ID, "tunnel.mark", errors.New("negative"), fmt.Sprint(t.Mark))
	}
	switch {
	case t.PrivateKey == "":
		bad(n.ID, "tunnel.key", errors.New("a wireguard tunnel needs a private key (key, or keys: {private})"), "")
	case !isKeyFile(t.PrivateKey) && !validWGKey(string(t.PrivateKey)):
		// The value is a secret: the error does not repeat it.
		bad(n.ID, "tunnel.key", errors.New("want a base64 WireGuard key (44 characters) or an absolute file path"), "")
	}
	for k, p := range t.Peers {
		f := fmt.Sprintf("tunnel.peers[%d]", k)
		if !validWGKey(p.PublicKey) {
			bad(n.ID, f+".keys.public", errors.New("want a base64 WireGuard public key (44 characters)"), p.PublicKey)
		}
		if p.SharedKey != "" && !isKeyFile(p.SharedKey) && !validWGKey(string(p.SharedKey)) {
			bad(n.ID, f+".keys.shared", errors.New("want a base64 WireGuard key (44 characters) or an absolute file path"), "")
		}
		if len(p.AllowedIPs) == 0 {
			bad(n.ID, f+".allowed-ips", errors.New("a peer needs allowed-ips"), "")
		}
		if p.Endpoint != "" {
			host, port, err := splitEndpoint(p.Endpoint)
			if err != nil || host == "" || port < 1 {
				bad(n.ID, f+".endpoint", errors.New("want host:port"), p.Endpoint)
			}
		}
		if p.Keepalive < 0 || p.Keepalive > 65535 {
			bad(n.ID, f+".keepalive", errors.New("out of range 0-65535"), fmt.Sprint(p.Keepalive))
		}
	}
}

// splitEndpoint splits "host:port" or "[v6]:port".
func splitEndpoint(s string) (string, int, error) {
	i := strings.LastIndex(s, ":")
	if i < 0 {
		return "", 0, errors.New("no port")
	}
	p, err := strconv.Atoi(s[i+1:])
	if err != nil || p > 65535 {
		return "", 0, errors.New("bad port")
	}
	return strings.Trim(s[:i], "[]"), p, nil
}

// vrfOf is the name of the VRF n is a member of, or "".
func vrfOf(c Config, n NIC) string {
	for _, v := range c.NICs {
		if v.KindOf() == VRF && contains(v.Members, n.ID) {
			return v.Name
		}
	}
	return ""
}

// liveKind reports whether n is applied live: everything but WireGuard
// tunnels, whose keys need the wireguard generic netlink family. The
// image's manager makes them from ovfinit's files when it starts.
func liveKind(n NIC) bool {
	return n.KindOf() != Tunnel || n.Tunnel.Mode != "wireguard"
}

// tunnelString is an OpLinkAdd of a tunnel or VRF as ip-link(8) writes it.
// It has no keys: WireGuard tunnels are not applied live.
func (o Op) tunnelString() string {
	if o.Type == VRF {
		return fmt.Sprintf("link add %s type vrf table %d", o.Link, o.VRFTable)
	}
	t := o.Tunnel
	s := "link add " + o.Link + " type " + t.Mode
	if t.Mode == "vxlan" {
		s += fmt.Sprintf(" id %d", t.VNI)
		if t.Remote.IsValid() {
			s += " remote " + t.Remote.String()
		}
	} else if t.Remote.IsValid() {
		s += " remote " + t.Remote.String()
	}
	if t.Local.IsValid() {
		s += " local " + t.Local.String()
	}
	if o.Parent != "" {
		s += " dev " + o.Parent
	}
	if t.TTL != 0 {
		s += fmt.Sprintf(" ttl %d", t.TTL)
	}
	if t.InputKey != "" {
		s += " ikey " + t.InputKey
	}
	if t.OutputKey != "" {
		s += " okey " + t.OutputKey
	}
	if t.Port != 0 {
		s += fmt.Sprintf(" dstport %d", t.Port)
	}
	if t.MACLearning != nil && !*t.MACLearning {
		s += " nolearning"
	}
	return s
}

// Secrets are the secret values of c (WireGuard private and preshared
// keys given inline), for a caller that shows rendered files to hide them.
func Secrets(c Config) []string {
	var out []string
	for _, n := range c.NICs {
		if k := n.Tunnel.PrivateKey; k != "" && !isKeyFile(k) {
			out = append(out, string(k))
		}
		for _, p := range n.Tunnel.Peers {
			if k := p.SharedKey; k != "" && !isKeyFile(k) {
				out = append(out, string(k))
			}
		}
	}
	return out
}

// GroupID finds a group's id in an /etc/group file.
func GroupID(groupFile []byte, name string) (int, bool) {
	for _, l := range strings.Split(string(groupFile), "\n") {
		f := strings.Split(l, ":")
		if len(f) >= 3 && f[0] == name {
			if id, err := strconv.Atoi(f[2]); err == nil && id >= 0 {
				return id, true
			}
		}
	}
	return 0, false
}
