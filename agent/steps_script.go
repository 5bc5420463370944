package agent

import (
	"context"
	"errors"

	"github.com/ovfinit/ovfinit/scripts"
)

func runScript(ctx context.Context, e *Env) error {
	if e.Plan.Script == nil {
		return skip("no %s property", PropScript)
	}
	err := scripts.Run(ctx, PropScript, e.Plan.Script, scripts.Env{OVF: e.OVF, InstanceID: e.InstanceID, Root: e.Root, Log: e.Log})
	if err != nil {
		var se *scripts.ScriptError
		if errors.As(err, &se) && se.Backtrace != "" {
			e.Log.Error("script failed", "backtrace", se.Backtrace)
		}
		// A script fails the same way each time it runs: redeploying the
		// same environment cannot help.
		return fatal(err)
	}
	return nil
}
