//go:build linux

package netcfg

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/ovfinit/ovfinit/internal/fsutil"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Handle is the part of *netlink.Handle that netcfg uses. A handle opened in
// a test's own network namespace makes the real test.
type Handle interface {
	LinkList() ([]netlink.Link, error)
	LinkByName(name string) (netlink.Link, error)
	LinkSetUp(link netlink.Link) error
	AddrReplace(link netlink.Link, addr *netlink.Addr) error
	RouteReplace(route *netlink.Route) error
}

// Linux applies plans with netlink and writes resolv.conf under Root.
type Linux struct {
	H    Handle
	Root string
}

// NewSystem returns the live system's network, writing files under root.
func NewSystem(root string) (System, error) {
	// Route only: with no argument NewHandle also opens NETLINK_XFRM and
	// NETLINK_NETFILTER sockets, which fail on kernels without xfrm_user
	// and nfnetlink (minimal images) although netcfg never uses them.
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("opening netlink: %w", err)
	}
	return &Linux{H: h, Root: root}, nil
}

// Links lists the machine's links, retrying a dump the kernel interrupted.
func (s *Linux) Links() ([]Link, error) {
	var ll []netlink.Link
	var err error
	for range 5 {
		ll, err = s.H.LinkList()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("listing network links: %w", err)
	}
	out := make([]Link, 0, len(ll))
	for _, l := range ll {
		a := l.Attrs()
		out = append(out, Link{
			Index:    a.Index,
			Name:     a.Name,
			MAC:      a.HardwareAddr,
			Ethernet: a.EncapType == "ether" && len(a.HardwareAddr) == 6 && (l.Type() == "device" || l.Type() == "veth"),
			Up:       a.Flags&net.FlagUp != 0,
			MTU:      a.MTU,
		})
	}
	return out, nil
}

// Apply runs the ops in order and stops at the first that fails.
func (s *Linux) Apply(ctx context.Context, ops []Op) error {
	for _, op := range ops {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.apply(op); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	return nil
}

func (s *Linux) apply(op Op) error {
	if op.Kind == OpDNS {
		return fsutil.WriteFile(fsutil.Join(s.Root, "/etc/resolv.conf"), ResolvConf(op.DNS), 0o644)
	}
	l, err := s.H.LinkByName(op.Link)
	if err != nil {
		return err
	}
	switch op.Kind {
	case OpLinkUp:
		return s.H.LinkSetUp(l)
	case OpAddrReplace:
		return s.H.AddrReplace(l, &netlink.Addr{IPNet: &net.IPNet{
			IP:   op.Prefix.Addr().AsSlice(),
			Mask: net.CIDRMask(op.Prefix.Bits(), 32),
		}})
	case OpRouteDefault:
		return s.H.RouteReplace(&netlink.Route{
			LinkIndex: l.Attrs().Index,
			Dst:       &net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)},
			Gw:        op.Via.AsSlice(),
		})
	}
	return fmt.Errorf("unknown operation %d", op.Kind)
}
