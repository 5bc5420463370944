//go:build windows

package netcfg

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"

	"github.com/ovfinit/ovfinit/internal/cmdrun"
	"golang.org/x/sys/windows"
	"golang.zx2c4.com/wireguard/windows/tunnel/winipcfg"
)

// Windows applies plans through the IP Helper API (winipcfg); switching an
// interface on or off DHCP and bringing it up use netsh through Run, as the
// IP Helper API has no call for them.
type Windows struct {
	Run cmdrun.Runner
}

// NewSystem returns the live system's network. root is unused: Windows
// keeps its network settings in the registry, which the API writes.
func NewSystem(root string) (System, error) {
	return &Windows{Run: cmdrun.Exec{}}, nil
}

// Current lists the interfaces and their addresses.
func (s *Windows) Current() (Current, error) {
	links, err := stdLinks()
	if err != nil {
		return Current{}, err
	}
	return Current{Links: links}, nil
}

// Apply runs the ops through the IP Helper API.
func (s *Windows) Apply(ctx context.Context, ops []Op) error {
	cur, err := s.Current()
	if err != nil {
		return err
	}
	return ApplyWindows(ctx, &winAPI{ctx: ctx, run: s.Run}, cur.Links, ops)
}

type winAPI struct {
	ctx context.Context
	run cmdrun.Runner
}

func luid(i int) (winipcfg.LUID, error) { return winipcfg.LUIDFromIndex(uint32(i)) }

func family(v6 bool) winipcfg.AddressFamily {
	if v6 {
		return windows.AF_INET6
	}
	return windows.AF_INET
}

func (w *winAPI) SetUp(i int) error {
	return cmdrun.Run(w.ctx, w.run, "netsh", "interface", "set", "interface", "name="+ifName(i), "admin=enabled")
}

func (w *winAPI) SetMTU(i int, mtu int) error {
	l, err := luid(i)
	if err != nil {
		return err
	}
	for _, v6 := range []bool{false, true} {
		row, err := l.IPInterface(family(v6))
		if err != nil {
			continue // the family may be disabled on the interface
		}
		row.NLMTU = uint32(mtu)
		if err := row.Set(); err != nil {
			return err
		}
	}
	return nil
}

func (w *winAPI) SetDHCP(i int, v6 bool) error {
	if v6 {
		return cmdrun.Run(w.ctx, w.run, "netsh", "interface", "ipv6", "set", "interface", strconv.Itoa(i), "routerdiscovery=enabled", "managedaddress=enabled")
	}
	if err := cmdrun.Run(w.ctx, w.run, "netsh", "interface", "ipv4", "set", "address", "name="+strconv.Itoa(i), "source=dhcp"); err != nil {
		return err
	}
	return cmdrun.Run(w.ctx, w.run, "netsh", "interface", "ipv4", "set", "dnsservers", "name="+strconv.Itoa(i), "source=dhcp")
}

// SetStatic switches IPv4 off DHCP by giving netsh the first static
// address (netsh cannot switch without one); AddIPAddress then finds it
// there. Static IPv6 addresses coexist with SLAAC, so IPv6 needs nothing.
func (w *winAPI) SetStatic(i int, p netip.Prefix) error {
	if p.Addr().Is6() {
		return nil
	}
	mask := net.IP(net.CIDRMask(p.Bits(), 32)).String()
	return cmdrun.Run(w.ctx, w.run, "netsh", "interface", "ipv4", "set", "address", "name="+strconv.Itoa(i), "source=static", "address="+p.Addr().String(), "mask="+mask)
}

func (w *winAPI) AddIPAddress(i int, p netip.Prefix) error {
	l, err := luid(i)
	if err != nil {
		return err
	}
	if row, err := l.IPAddress(p.Addr()); err == nil && row != nil {
		return nil // already there
	}
	return l.AddIPAddress(p)
}

func (w *winAPI) DeleteIPAddress(i int, p netip.Prefix) error {
	l, err := luid(i)
	if err != nil {
		return err
	}
	return l.DeleteIPAddress(p)
}

func (w *winAPI) AddRoute(i int, to netip.Prefix, via netip.Addr, metric uint32) error {
	l, err := luid(i)
	if err != nil {
		return err
	}
	_ = l.DeleteRoute(to, via) // replace
	return l.AddRoute(to, via, metric)
}

func (w *winAPI) DeleteRoute(i int, to netip.Prefix, via netip.Addr) error {
	l, err := luid(i)
	if err != nil {
		return err
	}
	return l.DeleteRoute(to, via)
}

func (w *winAPI) SetDNS(i int, v6 bool, servers []netip.Addr, domains []string) error {
	l, err := luid(i)
	if err != nil {
		return err
	}
	return l.SetDNS(family(v6), servers, domains)
}

func ifName(i int) string {
	if ifc, err := net.InterfaceByIndex(i); err == nil {
		return ifc.Name
	}
	return strconv.Itoa(i)
}

// IsLinkGone says whether err is an op's failure because the interface it
// names does not exist (any more); only Linux's netlink tells that apart
// (and ErrLinkGone, which fakes return).
func IsLinkGone(err error) bool { return errors.Is(err, ErrLinkGone) }
