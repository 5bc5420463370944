package agent

import (
	"context"

	"github.com/ovfinit/ovfinit/netcfg"
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
func (e *Env) failSafeNetwork(ctx context.Context) {
	if !e.FailSafeNetwork || !e.Live || e.Network == nil || e.netApplied {
		return
	}
	sys, err := e.Network(e.Root)
	if err != nil {
		e.Log.Warn("no fail-safe network: the failed event may not reach the manager", "err", err)
		return
	}
	cur, err := sys.Current()
	if err != nil {
		e.Log.Warn("no fail-safe network: reading the NICs", "err", err)
		return
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
	if err := sys.Apply(ctx, ops); err != nil {
		e.Log.Warn("fail-safe DHCP", "nic", nic.Name, "err", err)
	}
}
