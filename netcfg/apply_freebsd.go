//go:build freebsd

package netcfg

import (
	"context"
	"errors"

	"github.com/ovfinit/ovfinit/internal/cmdrun"
	"github.com/ovfinit/ovfinit/internal/rootfs"
)

// FreeBSD applies plans with ifconfig(8) and route(8) through Run, and
// writes /etc/resolv.conf under Root. Persistence is the rc.conf renderer.
type FreeBSD struct {
	Root string
	Run  cmdrun.Runner
}

// NewSystem returns the live system's network, writing files under root.
func NewSystem(root string) (System, error) {
	return &FreeBSD{Root: root, Run: cmdrun.Exec{}}, nil
}

// Current reads the interfaces and their addresses with the standard
// library; routes are not read, so route ops are always planned (route add
// of an existing route is reported and ignored).
func (s *FreeBSD) Current() (Current, error) {
	links, err := stdLinks()
	if err != nil {
		return Current{}, err
	}
	cur := Current{Links: links}
	b, _ := rootfs.ReadFileAt(s.Root, "/etc/resolv.conf", 1<<20)
	cur.DNS, cur.Search = ParseResolvConf(b)
	return cur, nil
}

// Apply runs the ops' commands in order and writes resolv.conf.
func (s *FreeBSD) Apply(ctx context.Context, ops []Op) error {
	cmds, err := FreeBSDCommands(ops)
	if err != nil {
		return err
	}
	for _, c := range cmds {
		if err := cmdrun.Run(ctx, s.Run, c...); err != nil {
			return err
		}
	}
	for _, o := range ops {
		if o.Kind == OpDNS {
			if err := rootfs.WriteFileAt(s.Root, "/etc/resolv.conf", ResolvConf(o.DNS, o.Search), 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

// IsLinkGone says whether err is an op's failure because the interface it
// names does not exist (any more); only Linux's netlink tells that apart
// (and ErrLinkGone, which fakes return).
func IsLinkGone(err error) bool { return errors.Is(err, ErrLinkGone) }
