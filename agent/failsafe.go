package agent

import (
	"context"
	"slices"
	"time"

	"github.com/ovfinit/ovfinit/netcfg"
	"github.com/ovfinit/ovfinit/sshd"
)

// failSafeNetwork is what a failed boot does so that it fails loudly: when
// the network step has not applied anything in this boot (the environment
// was unreadable or refused before it), it brings up DHCPv4 on the first
// ethernet NIC (cloud-init's fallback NIC, netcfg.FallbackNIC) on the live
// system only, so that the failed event reaches the manager and an
// administrator can reach the machine. Nothing of the environment is
// applied and nothing is written to the image's network configuration: a
// half-applied configuration is worse than none. Problems are logged; the
// boot has failed already.
//
// When the network step itself failed part of the way (a NIC renamed
// under it, a route refused), what it applied is left as it is, except
// that a machine left with no global address on any NIC gets the same
// fail-safe DHCP: otherwise the failed event could never leave it.
func (e *Env) failSafeNetwork(ctx context.Context) {
	if !e.FailSafeNetwork || !e.Live || e.Network == nil {
		return
	}
	sys, err := e.Network(e.Root)
	if err != nil {
		e.Log.Warn("no fail-safe network: the failed event may not reach the manager", "err", err)
		return
	}
	// A boot that fails early (an unreadable environment) can get here
	// before the NIC's driver is loaded or udev has named it: wait for
	// both, as validate does; and a NIC renamed under the DHCP (udev got
	// to it late) is looked for again, until WaitNICs has passed.
	deadline := e.Now().Add(e.WaitNICs)
	for attempt := 1; ; attempt++ {
		cur, err := e.failSafeNICs(ctx, sys, deadline)
		if err != nil {
			e.Log.Warn("no fail-safe network: reading the NICs", "err", err)
			return
		}
		if e.netApplied && slices.ContainsFunc(cur.Links, func(l netcfg.Link) bool { return len(l.Addrs) > 0 }) {
			return // the network step got far enough for the event to leave
		}
		nic, ok := netcfg.FallbackNIC(cur.Links)
		if !ok {
			e.Log.Warn("no fail-safe network: no ethernet NIC")
			return
		}
		ops, _, err := netcfg.Plan(netcfg.FallbackConfig(nic), cur, netcfg.Applied{})
		if err != nil {
			e.Log.Warn("no fail-safe network", "nic", nic.Name, "err", err)
			return
		}
		e.Log.Info("boot failed: DHCP on the first NIC to report it (nothing of the environment applied)", "nic", nic.Name)
		err = sys.Apply(ctx, ops)
		if err == nil {
			return
		}
		e.Log.Warn("fail-safe DHCP", "nic", nic.Name, "err", err, "attempt", attempt)
		if !netcfg.IsLinkGone(err) || !e.Now().Before(deadline) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(nicPoll):
		}
	}
}

// failSafeNICs reads the NICs once an ethernet NIC exists that udev has
// finished with, or the deadline has passed, loading NIC drivers as
// validate does.
func (e *Env) failSafeNICs(ctx context.Context, sys netcfg.System, deadline time.Time) (netcfg.Current, error) {
	for {
		e.loadNICDrivers(ctx)
		cur, err := sys.Current()
		if err != nil {
			return cur, err
		}
		if hasEthernet(cur) && len(pendingNICs(cur)) == 0 || !e.Now().Before(deadline) {
			return cur, nil
		}
		select {
		case <-ctx.Done():
			return cur, ctx.Err()
		case <-time.After(nicPoll):
		}
	}
}

// failSafeSSH keeps a failed boot reachable for diagnosis over the image's
// own OpenSSH, without applying anything of the environment: its users and
// keys are not installed (the environment was refused), so an
// administrator logs in with the accounts and keys the image already has.
// What it does: when the image's OpenSSH is the SSH server (ovfinit.ssh.
// server=os, or auto with /usr/sbin/sshd in the image and the plan not
// saying embedded) and it has no host key (an image prepared for capture),
// the instance's host keys are written for it, as the host-key step would.
// Without them OpenSSH refuses to start ("no hostkeys available") and the
// boot ends degraded. Host keys already in /etc/ssh are left alone. Live
// system only; problems are logged, the boot has failed already.
func (e *Env) failSafeSSH() {
	if !e.Live || e.SSH != nil {
		return
	}
	server := SSHServerAuto
	if e.Plan != nil && (e.Plan.SSH.Server == SSHServerEmbedded || e.Plan.SSH.Server == SSHServerOS) {
		server = e.Plan.SSH.Server
	}
	if server == SSHServerEmbedded {
		return
	}
	if server == SSHServerAuto && !sshd.HasOpenSSH(e.Root) {
		return
	}
	if sshd.OpenSSHHasHostKey(e.Root) {
		return // OpenSSH has host keys of its own: it starts as it is
	}
	keys := e.hostKeys()
	if err := keys.Load(); err != nil {
		e.Log.Warn("boot failed, and the image's OpenSSH has no host key: it will not start", "err", err)
		return
	}
	for _, k := range keys.Signers() {
		if err := keys.CopyToOpenSSH(k); err != nil {
			e.Log.Warn("boot failed, and the image's OpenSSH has no host key: it will not start", "err", err)
			return
		}
	}
	e.Log.Info("boot failed: host keys written for the image's OpenSSH, so that the image's own accounts can log in to diagnose it (nothing of the environment applied)",
		"fingerprint", sshd.Fingerprint(keys.Primary().PublicKey()))
}
