package netcfg

import (
	"fmt"
	"net"
	"net/netip"
)

// stdLinks lists the interfaces and their global addresses with the
// standard library (net.Interfaces): the current links of the systems that
// have no netlink (FreeBSD, Windows). Routes, masters and bond modes are
// not read.
func stdLinks() ([]Link, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("listing network interfaces: %w", err)
	}
	links := make([]Link, 0, len(ifs))
	for _, i := range ifs {
		addrs, _ := i.Addrs()
		links = append(links, linkFromStd(i, addrs))
	}
	return links, nil
}

// linkFromStd is the Link of one interface and its addresses: link-local
// ones are left out, IPv4-mapped ones are unmapped, and anything but a
// *net.IPNet is passed over.
func linkFromStd(i net.Interface, addrs []net.Addr) Link {
	l := Link{Index: i.Index, Name: i.Name, MAC: i.HardwareAddr, MTU: i.MTU,
		Up:       i.Flags&net.FlagUp != 0,
		Ethernet: len(i.HardwareAddr) == 6 && i.Flags&net.FlagLoopback == 0}
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ad, ok := netip.AddrFromSlice(n.IP)
		if !ok || ad.Unmap().IsLinkLocalUnicast() {
			continue
		}
		ones, _ := n.Mask.Size()
		l.Addrs = append(l.Addrs, netip.PrefixFrom(ad.Unmap(), ones))
	}
	return l
}
