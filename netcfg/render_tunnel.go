package netcfg

import (
	"bytes"
	"fmt"
	"strings"
)

// netdevKind is a virtual device's Kind= in a .netdev file.
func netdevKind(n NIC) string {
	if n.KindOf() == Tunnel {
		return n.Tunnel.Mode
	}
	return string(n.KindOf())
}

// netdevTunnel writes a tunnel's or VRF's section of its .netdev file, as
// netplan 0.106 writes it.
func netdevTunnel(d *bytes.Buffer, n NIC) {
	t := n.Tunnel
	kv := func(k string, v any, set bool) {
		if set {
			fmt.Fprintf(d, "%s=%v\n", k, v)
		}
	}
	switch {
	case n.KindOf() == VRF:
		fmt.Fprintf(d, "\n[VRF]\nTable=%d\n", n.VRFTable)
	case n.KindOf() != Tunnel:
	case t.Mode == "vxlan":
		d.WriteString("\n[VXLAN]\n")
		kv("VNI", t.VNI, true)
		kv("Remote", t.Remote, t.Remote.IsValid())
		kv("Local", t.Local, t.Local.IsValid())
		kv("TTL", t.TTL, t.TTL != 0)
		if t.MACLearning != nil {
			kv("MacLearning", *t.MACLearning, true)
		}
		kv("DestinationPort", t.Port, t.Port != 0)
	case t.Mode == "wireguard":
		d.WriteString("\n[WireGuard]\n")
		if isKeyFile(t.PrivateKey) {
			kv("PrivateKeyFile", string(t.PrivateKey), true)
		} else {
			kv("PrivateKey", string(t.PrivateKey), true)
		}
		kv("ListenPort", t.Port, t.Port != 0)
		kv("FwMark", t.Mark, t.Mark != 0)
		for _, p := range t.Peers {
			d.WriteString("\n[WireGuardPeer]\n")
			kv("PublicKey", p.PublicKey, true)
			kv("AllowedIPs", prefixList(p), true)
			kv("PersistentKeepalive", p.Keepalive, p.Keepalive != 0)
			kv("Endpoint", p.Endpoint, p.Endpoint != "")
			if isKeyFile(p.SharedKey) {
				kv("PresharedKeyFile", string(p.SharedKey), true)
			} else {
				kv("PresharedKey", string(p.SharedKey), p.SharedKey != "")
			}
		}
	default:
		d.WriteString("\n[Tunnel]\nIndependent=true\n")
		kv("Local", t.Local, t.Local.IsValid())
		kv("Remote", t.Remote, t.Remote.IsValid())
		kv("TTL", t.TTL, t.TTL != 0)
		kv("InputKey", t.InputKey, t.InputKey != "")
		kv("OutputKey", t.OutputKey, t.OutputKey != "")
	}
}

func prefixList(p WGPeer) string {
	s := make([]string, len(p.AllowedIPs))
	for i, a := range p.AllowedIPs {
		s[i] = a.String()
	}
	return strings.Join(s, ",")
}

// netdevFile is a .netdev file; a WireGuard one holds keys, so it is
// readable by root and systemd-networkd's group only (systemd.netdev(5)
// asks for root:systemd-network 0640; netplan 0.106 writes 0644).
func netdevFile(path string, data []byte, n NIC) File {
	if n.KindOf() == Tunnel && n.Tunnel.Mode == "wireguard" {
		return File{Path: path, Data: data, Mode: 0o640, Group: "systemd-network"}
	}
	return File{Path: path, Data: data, Mode: 0o644}
}

// netplanTunnel writes a VRF's or tunnel's own keys in netplan's words.
func netplanTunnel(b *bytes.Buffer, c Config, n NIC) {
	t := n.Tunnel
	kv := func(k string, v any, set bool) {
		if set {
			fmt.Fprintf(b, "      %s: %v\n", k, v)
		}
	}
	switch n.KindOf() {
	case VRF:
		kv("table", n.VRFTable, true)
		fmt.Fprintf(b, "      interfaces: [%s]\n", strings.Join(memberNames(c, n), ", "))
		return
	case Tunnel:
	default:
		return
	}
	kv("mode", t.Mode, true)
	kv("local", fmt.Sprintf("%q", t.Local.String()), t.Local.IsValid())
	kv("remote", fmt.Sprintf("%q", t.Remote.String()), t.Remote.IsValid())
	kv("ttl", t.TTL, t.TTL != 0)
	kv("id", t.VNI, t.VNI != 0)
	kv("link", idName(c, n.Link), n.Link != "")
	kv("port", t.Port, t.Port != 0)
	kv("mark", t.Mark, t.Mark != 0)
	if t.MACLearning != nil {
		kv("mac-learning", *t.MACLearning, true)
	}
	if t.InputKey != "" || t.OutputKey != "" || t.PrivateKey != "" {
		b.WriteString("      keys:\n")
		kv("  input", fmt.Sprintf("%q", t.InputKey), t.InputKey != "")
		kv("  output", fmt.Sprintf("%q", t.OutputKey), t.OutputKey != "")
		kv("  private", fmt.Sprintf("%q", string(t.PrivateKey)), t.PrivateKey != "")
	}
	if len(t.Peers) > 0 {
		b.WriteString("      peers:\n")
		for _, p := range t.Peers {
			fmt.Fprintf(b, "        - keys:\n            public: %q\n", p.PublicKey)
			if p.SharedKey != "" {
				fmt.Fprintf(b, "            shared: %q\n", string(p.SharedKey))
			}
			as := make([]string, len(p.AllowedIPs))
			for i, a := range p.AllowedIPs {
				as[i] = fmt.Sprintf("%q", a.String())
			}
			fmt.Fprintf(b, "          allowed-ips: [%s]\n", strings.Join(as, ", "))
			if p.Endpoint != "" {
				fmt.Fprintf(b, "          endpoint: %q\n", p.Endpoint)
			}
			if p.Keepalive != 0 {
				fmt.Fprintf(b, "          keepalive: %d\n", p.Keepalive)
			}
		}
	}
}

// nmTunnelModes are NetworkManager's ip-tunnel modes (NMIPTunnelMode).
var nmTunnelModes = map[string]int{"ipip": 1, "gre": 2, "sit": 3, "ip6gre": 8}

// nmTunnelType is a tunnel's NetworkManager connection type.
func nmTunnelType(n NIC) string {
	switch n.Tunnel.Mode {
	case "vxlan", "wireguard":
		return n.Tunnel.Mode
	}
	return "ip-tunnel"
}

// nmTunnel writes a VRF's or tunnel's keyfile section.
func nmTunnel(b *bytes.Buffer, c Config, n NIC) {
	t := n.Tunnel
	kv := func(k string, v any, set bool) {
		if set {
			fmt.Fprintf(b, "%s=%v\n", k, v)
		}
	}
	switch {
	case n.KindOf() == VRF:
		fmt.Fprintf(b, "\n[vrf]\ntable=%d\n", n.VRFTable)
	case n.KindOf() != Tunnel:
	case t.Mode == "vxlan":
		b.WriteString("\n[vxlan]\n")
		kv("id", t.VNI, true)
		kv("parent", idName(c, n.Link), n.Link != "")
		kv("local", t.Local, t.Local.IsValid())
		kv("remote", t.Remote, t.Remote.IsValid())
		kv("ttl", t.TTL, t.TTL != 0)
		// NetworkManager's default port is the kernel's 8472; networkd's
		// and netplan's is 4789.
		port := t.Port
		if port == 0 {
			port = 4789
		}
		kv("destination-port", port, true)
		if t.MACLearning != nil {
			kv("learning", *t.MACLearning, true)
		}
	case t.Mode != "wireguard":
		b.WriteString("\n[ip-tunnel]\n")
		kv("mode", nmTunnelModes[t.Mode], true)
		kv("local", t.Local, t.Local.IsValid())
		kv("remote", t.Remote, t.Remote.IsValid())
		kv("ttl", t.TTL, t.TTL != 0)
		kv("input-key", t.InputKey, t.InputKey != "")
		kv("output-key", t.OutputKey, t.OutputKey != "")
		kv("mtu", n.MTU, n.MTU != 0)
	}
}
