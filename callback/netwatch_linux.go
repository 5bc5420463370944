//go:build linux

package callback

import (
	"context"
	"fmt"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// WatchNetwork calls changed (Sender.NetworkChanged) whenever an address
// is added or a route appears, from a netlink subscription in the calling
// thread's network namespace, until ctx ends. Events waiting for a network
// that is not there yet then go out the moment it is, instead of at the
// end of a backoff sleep that has grown to seconds by then.
func WatchNetwork(ctx context.Context, changed func()) error {
	done := make(chan struct{})
	addrs := make(chan netlink.AddrUpdate, 16)
	routes := make(chan netlink.RouteUpdate, 16)
	if err := netlink.AddrSubscribe(addrs, done); err != nil {
		close(done)
		return fmt.Errorf("watching the network's addresses (netlink): %w", err)
	}
	if err := netlink.RouteSubscribe(routes, done); err != nil {
		close(done)
		return fmt.Errorf("watching the network's routes (netlink): %w", err)
	}
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case u, ok := <-addrs:
				if !ok {
					return
				}
				if u.NewAddr {
					changed()
				}
			case u, ok := <-routes:
				if !ok {
					return
				}
				if u.Type == unix.RTM_NEWROUTE {
					changed()
				}
			}
		}
	}()
	return nil
}
