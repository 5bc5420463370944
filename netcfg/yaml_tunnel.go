package netcfg

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// tunnelKeys are the keys only a tunnel entry takes.
var tunnelKeys = []string{"mode", "local", "remote", "ttl", "key", "keys", "port", "mark", "mac-learning", "peers"}

// notTunnel refuses tunnel keys on an entry that is not a tunnel.
func (c *conv) notTunnel(id string, node *yaml.Node, kind Kind) {
	if kind == Tunnel {
		return
	}
	for _, k := range tunnelKeys {
		if v := mapValue(node, k); v != nil {
			c.bad(v, "%s.%s: %q is a tunnel setting, not a %s's", id, k, k, kind)
		}
	}
}

// tunnel reads a netplan tunnel entry into n.
func (c *conv) tunnel(id string, node *yaml.Node, in v2Iface, n *NIC) {
	at := func(k string) *yaml.Node { return mapValue(node, k) }
	t := &n.Tunnel
	t.Mode, t.TTL, t.Port, t.Mark, t.MACLearning = in.Mode, in.TTL, in.Port, in.Mark, in.MACLearning
	for _, k := range []string{"mode", "local", "remote", "ttl", "port", "mark", "mac-learning", "key", "keys", "peers", "id", "link"} {
		if v := at(k); v != nil {
			c.lines[id+".tunnel."+k] = line(v)
		}
	}
	c.lines[id+".link"] = line(at("link"))
	switch {
	case in.Mode == "":
		c.bad(node, "%s: a tunnel needs a mode (%s)", id, strings.Join(tunnelModes, ", "))
	case !slices.Contains(tunnelModes, in.Mode):
		c.bad(at("mode"), "%s.tunnel.mode: %q is not supported by ovfinit yet (%s)", id, in.Mode, strings.Join(tunnelModes, ", "))
	}
	if in.Link != "" && in.Mode != "vxlan" {
		// netplan 0.106 reads link only for vxlan and drops it otherwise.
		c.bad(at("link"), "%s.link: link is for vxlan tunnels, not %s (netplan 0.106 ignores it)", id, in.Mode)
	}
	if in.Local != "" {
		t.Local = c.addr(at("local"), id+".local", in.Local)
	}
	if in.Remote != "" {
		t.Remote = c.addr(at("remote"), id+".remote", in.Remote)
	}
	if in.ID != nil {
		t.VNI = *in.ID
	}
	n.Link = in.Link
	// key: and keys: are the same setting: a scalar (gre: both keys;
	// wireguard: the private key) or a mapping of input, output, private.
	kn := at("keys")
	if kn == nil {
		kn = at("key")
	} else if at("key") != nil {
		c.bad(at("key"), "%s: key and keys are the same setting: give one", id)
	}
	switch {
	case kn == nil:
	case kn.Kind == yaml.ScalarNode:
		if in.Mode == "wireguard" {
			t.PrivateKey = Secret(kn.Value)
		} else {
			t.InputKey, t.OutputKey = kn.Value, kn.Value
		}
	case kn.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(kn.Content); i += 2 {
			k, v := kn.Content[i], kn.Content[i+1]
			if v.Kind != yaml.ScalarNode {
				c.bad(v, "%s.keys.%s: want a single value", id, k.Value)
				continue
			}
			c.lines[id+".tunnel.keys."+k.Value] = k.Line
			switch k.Value {
			case "input":
				t.InputKey = v.Value
			case "output":
				t.OutputKey = v.Value
			case "private":
				t.PrivateKey = Secret(v.Value)
			default:
				c.bad(k, "unknown key %q in a tunnel's keys (input, output, private)", k.Value)
			}
		}
	default:
		c.bad(kn, "%s.keys: want a key or a mapping of input, output, private", id)
	}
	pn := at("peers")
	for i, p := range in.Peers {
		node := item(pn, i)
		f := fmt.Sprintf("%s.tunnel.peers[%d]", id, i)
		c.lines[f] = line(node)
		peer := WGPeer{PublicKey: p.Keys.Public, SharedKey: Secret(p.Keys.Shared), Endpoint: p.Endpoint, Keepalive: p.Keepalive}
		for _, k := range []string{"endpoint", "allowed-ips", "keepalive", "keys"} {
			if v := mapValue(node, k); v != nil {
				c.lines[f+"."+k] = line(v)
			}
		}
		if kn := mapValue(node, "keys"); kn != nil {
			for _, k := range []string{"public", "shared"} {
				if v := mapValue(kn, k); v != nil {
					c.lines[f+".keys."+k] = line(v)
				}
			}
		}
		an := mapValue(node, "allowed-ips")
		for j, a := range p.AllowedIPs {
			// netplan takes allowed-ips with host bits set (20.20.20.10/24)
			// and writes them as given.
			peer.AllowedIPs = append(peer.AllowedIPs, c.prefix(item(an, j), f+".allowed-ips", a))
		}
		t.Peers = append(t.Peers, peer)
	}
}
