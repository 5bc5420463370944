package netcfg

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"

	"github.com/vishvananda/netlink"
)

// tunnelLink is the netlink link an OpLinkAdd of a tunnel or VRF makes,
// with the settings systemd-networkd gives the same .netdev file.
func (s *Linux) tunnelLink(la netlink.LinkAttrs, op Op) (netlink.Link, error) {
	if op.Type == VRF {
		return &netlink.Vrf{LinkAttrs: la, Table: uint32(op.VRFTable)}, nil
	}
	t := op.Tunnel
	ip := func(a netip.Addr) []byte {
		if !a.IsValid() {
			return nil
		}
		return a.AsSlice()
	}
	switch t.Mode {
	case "gre", "ip6gre":
		return &netlink.Gretun{LinkAttrs: la, Local: ip(t.Local), Remote: ip(t.Remote), Ttl: uint8(t.TTL),
			IKey: greKey(t.InputKey), OKey: greKey(t.OutputKey)}, nil
	case "sit":
		return &netlink.Sittun{LinkAttrs: la, Local: ip(t.Local), Remote: ip(t.Remote), Ttl: uint8(t.TTL)}, nil
	case "ipip":
		return &netlink.Iptun{LinkAttrs: la, Local: ip(t.Local), Remote: ip(t.Remote), Ttl: uint8(t.TTL)}, nil
	case "vxlan":
		v := &netlink.Vxlan{LinkAttrs: la, VxlanId: t.VNI, SrcAddr: ip(t.Local), Group: ip(t.Remote), TTL: t.TTL,
			Learning: t.MACLearning == nil || *t.MACLearning, Port: t.Port}
		if v.Port == 0 {
			v.Port = 4789 // networkd's default (IANA), not the kernel's 8472
		}
		if op.Parent != "" {
			p, err := s.H.LinkByName(op.Parent)
			if err != nil {
				return nil, fmt.Errorf("vxlan %s link %s: %w", op.Link, op.Parent, err)
			}
			v.VtepDevIndex = p.Attrs().Index
		}
		return v, nil
	}
	return nil, fmt.Errorf("tunnel %s: mode %s is not applied live", op.Link, t.Mode)
}

// greKey reads a GRE key, a number or a dotted quad (Validate checked it).
func greKey(s string) uint32 {
	if s == "" {
		return 0
	}
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return uint32(n)
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Is4() {
		b := a.As4()
		return binary.BigEndian.Uint32(b[:])
	}
	return 0
}
