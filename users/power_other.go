//go:build !linux && !windows

package users

import (
	"context"
	"fmt"
	"runtime"

	"github.com/ovfinit/ovfinit/internal/cmdrun"
)

func syncAll() {}

// Power returns the function that brings the live machine to an end state
// with shutdown(8) where ovfinit knows how (FreeBSD).
func Power(run cmdrun.Runner) func(ctx context.Context, endState string) error {
	return func(ctx context.Context, endState string) error {
		if endState == EndOn {
			return nil
		}
		argv := powerArgs(runtime.GOOS, false, endState)
		if argv == nil {
			return fmt.Errorf("powering off is not supported on %s", runtime.GOOS)
		}
		return cmdrun.Run(ctx, run, argv...)
	}
}
