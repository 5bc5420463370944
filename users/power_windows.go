package users

import (
	"context"

	"github.com/ovfinit/ovfinit/internal/cmdrun"
)

// Power returns the function that generalizes the live Windows machine
// with sysprep, which also brings it to the end state.
func Power(run cmdrun.Runner) func(ctx context.Context, endState string) error {
	return func(ctx context.Context, endState string) error { return Sysprep(ctx, run, endState) }
}
