//go:build linux

package netcfg

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/ovfinit/ovfinit/internal/fsutil"
	"github.com/u-root/u-root/pkg/dhclient"
	"github.com/vishvananda/netlink"
)

// osDHCPClients are the DHCPv4 clients ovfinit hands a NIC to, in order of
// preference, with the argv that starts one in the background.
var osDHCPClients = []struct {
	paths []string
	argv  func(path, ifname string) []string
}{
	{[]string{"/usr/sbin/dhcpcd", "/sbin/dhcpcd"}, func(p, i string) []string { return []string{p, "-b", i} }},
	{[]string{"/usr/sbin/dhclient", "/sbin/dhclient"}, func(p, i string) []string { return []string{p, "-nw", i} }},
	{[]string{"/usr/bin/udhcpc", "/sbin/udhcpc", "/bin/udhcpc", "/usr/sbin/udhcpc"}, func(p, i string) []string { return []string{p, "-b", "-i", i} }},
}

// OSDHCPClient returns the argv that starts the image's own DHCPv4 client on
// ifname, or nil when the image under root has none.
func OSDHCPClient(root, ifname string) []string {
	for _, c := range osDHCPClients {
		for _, p := range c.paths {
			if st, err := os.Stat(fsutil.Join(root, p)); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
				return c.argv(p, ifname)
			}
		}
	}
	return nil
}

// StartDHCP4 gets DHCPv4 going on ifname: with the OS's own client when the
// image has one, else with the built-in client, which takes a first lease
// before it returns and then renews it in the background.
func StartDHCP4(ctx context.Context, root, ifname string, run Runner) error {
	if argv := OSDHCPClient(root, ifname); argv != nil && run != nil {
		return run(ctx, argv[0], argv[1:]...)
	}
	// The lease's DNS goes to /etc/resolv.conf (dhclient.ResolvConfPath, a
	// constant): the built-in client only runs on the live system, root "/".
	lease, err := leaseOnce(ctx, ifname)
	if err != nil {
		return err
	}
	go renew(ifname, lease)
	return nil
}

// leaseOnce asks for a lease and configures the interface with it; it
// returns the lease time.
func leaseOnce(ctx context.Context, ifname string) (time.Duration, error) {
	l, err := netlink.LinkByName(ifname)
	if err != nil {
		return 0, err
	}
	cfg := dhclient.Config{Timeout: 5 * time.Second, Retries: 3, LogLevel: dhclient.LogSummary}
	for r := range dhclient.SendRequests(ctx, []netlink.Link{l}, true, false, cfg, 10*time.Second) {
		if r.Err != nil {
			return 0, fmt.Errorf("DHCPv4 on %s: %w", ifname, r.Err)
		}
		if err := r.Lease.Configure(); err != nil {
			return 0, fmt.Errorf("configuring the DHCPv4 lease on %s: %w", ifname, err)
		}
		m, _ := r.Lease.Message()
		lt := time.Hour
		if m != nil {
			if d := m.IPAddressLeaseTime(0); d > 0 {
				lt = d
			}
		}
		return lt, nil
	}
	return 0, errors.New("DHCPv4 on " + ifname + ": no answer")
}

// renew renews the lease at half its time, forever; on failure it tries
// again sooner.
func renew(ifname string, lease time.Duration) {
	for {
		time.Sleep(renewAfter(lease))
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		lt, err := leaseOnce(ctx, ifname)
		cancel()
		if err != nil {
			lease = max(lease/2, 20*time.Second)
			continue
		}
		lease = lt
	}
}

// renewAfter is RFC 2131's T1: half the lease time.
func renewAfter(lease time.Duration) time.Duration { return lease / 2 }
