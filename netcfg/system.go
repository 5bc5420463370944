package netcfg

import "context"

// System is the machine's network as the agent sees it: its current state,
// and a way to apply a plan.
type System interface {
	Current() (Current, error)
	Apply(ctx context.Context, ops []Op) error
}
