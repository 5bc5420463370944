package netcfg

import (
	"context"
	"fmt"
	"net/netip"
)

// WinNet is what the Windows applier needs from the IP Helper API (and
// netsh for what it lacks), by interface index. apply_windows.go implements
// it with winipcfg; tests use a recording fake on any OS.
type WinNet interface {
	SetUp(ifIndex int) error
	SetMTU(ifIndex int, mtu int) error
	SetDHCP(ifIndex int, v6 bool) error
	// SetStatic switches the interface's family off DHCP, with p as its
	// first static address.
	SetStatic(ifIndex int, p netip.Prefix) error
	AddIPAddress(ifIndex int, p netip.Prefix) error
	DeleteIPAddress(ifIndex int, p netip.Prefix) error
	AddRoute(ifIndex int, to netip.Prefix, via netip.Addr, metric uint32) error
	DeleteRoute(ifIndex int, to netip.Prefix, via netip.Addr) error
	SetDNS(ifIndex int, v6 bool, servers []netip.Addr, domains []string) error
}

// ApplyWindows runs ops through w. A NIC that gets a static address of a
// family is first switched off DHCP for that family; DNS is set on every
// interface the ops touch, per family.
func ApplyWindows(ctx context.Context, w WinNet, links []Link, ops []Op) error {
	index := map[string]int{}
	for _, l := range links {
		index[l.Name] = l.Index
	}
	var touched []int
	dhcpOff := map[[2]int]bool{}
	idx := func(name string) (int, error) {
		i, ok := index[name]
		if !ok {
			return 0, fmt.Errorf("no interface %s", name)
		}
		for _, t := range touched {
			if t == i {
				return i, nil
			}
		}
		touched = append(touched, i)
		return i, nil
	}
	for _, o := range ops {
		if err := ctx.Err(); err != nil {
			return err
		}
		if o.Kind == OpDNS {
			for _, i := range touched {
				var v4, v6 []netip.Addr
				for _, d := range o.DNS {
					if d.Is4() {
						v4 = append(v4, d)
					} else {
						v6 = append(v6, d)
					}
				}
				if err := w.SetDNS(i, false, v4, o.Search); err != nil {
					return fmt.Errorf("%s: %w", o, err)
				}
				if len(v6) > 0 {
					if err := w.SetDNS(i, true, v6, o.Search); err != nil {
						return fmt.Errorf("%s: %w", o, err)
					}
				}
			}
			continue
		}
		i, err := idx(o.Link)
		if err != nil {
			return fmt.Errorf("%s: %w", o, err)
		}
		switch o.Kind {
		case OpLinkUp:
			err = w.SetUp(i)
		case OpLinkMTU:
			err = w.SetMTU(i, o.MTU)
		case OpAddrReplace:
			fam := [2]int{i, 4}
			if o.Prefix.Addr().Is6() {
				fam[1] = 6
			}
			if !dhcpOff[fam] {
				dhcpOff[fam] = true
				if err = w.SetStatic(i, o.Prefix); err != nil {
					break
				}
			}
			err = w.AddIPAddress(i, o.Prefix)
		case OpAddrDel:
			err = w.DeleteIPAddress(i, o.Prefix)
		case OpRouteReplace:
			if o.Route.OnLink {
				err = fmt.Errorf("on-link routes are not supported on Windows")
				break
			}
			if o.Route.extra() != "" {
				err = fmt.Errorf("route table, type, scope and from are not supported on Windows")
				break
			}
			err = w.AddRoute(i, o.Route.To, nextHop(o.Route), uint32(o.Route.Metric))
		case OpRouteDel:
			err = w.DeleteRoute(i, o.Route.To, nextHop(o.Route))
		case OpDHCP4:
			err = w.SetDHCP(i, false)
		case OpDHCP6:
			err = w.SetDHCP(i, true)
		default:
			err = fmt.Errorf("not supported on Windows")
		}
		if err != nil {
			return fmt.Errorf("%s: %w", o, err)
		}
	}
	return nil
}

func nextHop(r Route) netip.Addr {
	if r.Via.IsValid() {
		return r.Via
	}
	if r.To.Addr().Is6() {
		return netip.IPv6Unspecified()
	}
	return netip.IPv4Unspecified()
}
