package agent

import "context"

func configureNetwork(ctx context.Context, e *Env) error {
	if e.Plan.Net == nil {
		return skip("no %s property: network left as it is", PropNetAddress)
	}
	if !e.Live {
		return skip("not changing the live network: --root is not /")
	}
	sys, err := e.Network(e.Root)
	if err != nil {
		return err
	}
	for _, op := range e.Plan.NetOps {
		e.Log.Info("network", "op", op.String())
	}
	return sys.Apply(ctx, e.Plan.NetOps)
}

func addresses(e *Env) []string {
	if e.Plan != nil && e.Plan.Net != nil {
		return []string{e.Plan.Net.Address.String()}
	}
	return nil
}
