package netcfg

import "context"

// System is the machine's network as the agent sees it: the links it has,
// and a way to apply a plan.
type System interface {
	Links() ([]Link, error)
	Apply(ctx context.Context, ops []Op) error
}
