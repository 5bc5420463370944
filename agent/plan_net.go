package agent

import (
	"errors"
	"fmt"

	"github.com/ovfinit/ovfinit/internal/errlist"
	"github.com/ovfinit/ovfinit/netcfg"
	"github.com/ovfinit/ovfinit/ovfenv"
)

// planNetwork reads the network input (one of: network-config, the
// ovfinit.net properties, VMware-style properties) and plans it against the
// machine. Only an error reading the machine is returned; input problems go
// to r.bad.
func planNetwork(r *propReader, p *Plan, machine func() (netcfg.Current, netcfg.Applied, error)) error {
	cfg, origin, err := netcfg.FromProperties(r.env)
	if origin.Source == "" && err == nil {
		return planFallback(r, p, machine)
	}
	r.enum(ovfenv.KeyNetFallback) // checked even when another input wins
	if err != nil {
		r.errs = append(r.errs, errlist.Flatten(err)...)
		return nil
	}
	if origin.Disabled {
		return nil
	}
	report := func(err error) {
		for _, e := range errlist.Flatten(err) {
			var fe *netcfg.FieldError
			if !errors.As(e, &fe) {
				r.bad(origin.Source, e)
				continue
			}
			key, where := origin.Of(fe)
			if where != "" {
				e = fmt.Errorf("%s: %w", where, e)
			}
			r.bad(key, e)
		}
	}
	if err := netcfg.Validate(cfg); err != nil {
		report(err)
		return nil
	}
	if r.manager != "" {
		if err := netcfg.CheckSupport(r.manager, cfg); err != nil {
			report(err)
			return nil
		}
	}
	cur, prev, err := machine()
	if err != nil {
		return fmt.Errorf("reading the machine's network: %w", err)
	}
	resolved, ops, next, err := netcfg.PlanValid(cfg, cur, prev)
	if err != nil {
		report(err)
		return nil
	}
	p.Net, p.NetOps, p.NetApplied = &resolved, ops, next
	p.NetByName = netcfg.MatchesByName(cfg)
	return nil
}

// PlanNetwork reads only env's network input and plans it against the
// machine's links, checked for the network manager m ("" checks none): what
// `ovfinit net plan` shows. Problems are returned as BuildPlan returns them.
func PlanNetwork(env *ovfenv.Environment, links func() (netcfg.Current, netcfg.Applied, error), m netcfg.Manager) (*Plan, error) {
	p := &Plan{}
	r := &propReader{env: env, manager: m}
	if err := planNetwork(r, p, links); err != nil {
		r.errs = append(r.errs, err)
	}
	return p, errors.Join(r.errs...)
}

// planFallback does what cloud-init does with no network configuration at
// all: DHCPv4 on the first connected ethernet NIC (netcfg.FallbackNIC),
// persisted for the image's network manager, unless ovfinit.net.fallback is
// off. A machine without such a NIC is left alone.
func planFallback(r *propReader, p *Plan, machine func() (netcfg.Current, netcfg.Applied, error)) error {
	mode, err := r.env.Enum(ovfenv.KeyNetFallback)
	if err != nil {
		r.check(err)
		return nil
	}
	if mode != "dhcp" || machine == nil {
		return nil
	}
	cur, prev, err := machine()
	if err != nil {
		return fmt.Errorf("reading the machine's network: %w", err)
	}
	nic, ok := netcfg.FallbackNIC(cur.Links)
	if !ok {
		return nil
	}
	cfg := netcfg.FallbackConfig(nic)
	err = netcfg.Validate(cfg)
	var resolved netcfg.Config
	var ops []netcfg.Op
	var next netcfg.Applied
	if err == nil {
		resolved, ops, next, err = netcfg.PlanValid(cfg, cur, prev)
	}
	if err != nil {
		r.bad(ovfenv.KeyNetFallback.Name, fmt.Errorf("DHCP on %s, the first ethernet NIC: %w", nic.Name, err))
		return nil
	}
	p.Net, p.NetOps, p.NetApplied, p.NetFallback = &resolved, ops, next, true
	// The first NIC is the first by name (cloud-init's order): with
	// several, a rename may change which one that is.
	p.NetByName = ethernetCount(cur.Links) > 1
	return nil
}

func ethernetCount(links []netcfg.Link) int {
	n := 0
	for _, l := range links {
		if l.Ethernet {
			n++
		}
	}
	return n
}
