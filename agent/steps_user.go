package agent

import (
	"context"
	"errors"
	"fmt"

	"github.com/ovfinit/ovfinit/users"
)

func createUser(ctx context.Context, e *Env) (Result, error) {
	if e.Plan.Cloud.NoDefaultUser {
		return skipped("user-data's users list leaves out the default user %s", e.Plan.User.Name), nil
	}
	a, err := e.CreateUser(e.Root, e.Plan.User, e.Log)
	var fe *users.FieldError
	if errors.As(err, &fe) {
		// A clash with the accounts (validate checks them first; this is
		// the image changing in between): redeploying the same
		// environment cannot help.
		return Result{}, fatal(userProblem(e.OVF, err, false))
	}
	if errors.Is(err, users.ErrOfflineWindows) {
		// An offline Windows tree: no retry can add an account to it
		// (err already names the user and the root).
		return Result{}, fatal(err)
	}
	if err != nil {
		return Result{}, fmt.Errorf("user %s: %w", e.Plan.User.Name, err)
	}
	e.Account = a
	// ovfinit's own copy of the keys, which the embedded SSH server reads.
	if err := users.StoreKeys(e.Root, e.StateDir, a.Name, e.Plan.User.Keys); err != nil {
		return Result{}, fmt.Errorf("user %s: %w", a.Name, err)
	}
	if len(e.Plan.User.Keys) == 0 {
		e.Log.Warn("no public-keys property: the user cannot log in over SSH", "user", a.Name)
	}
	return Result{}, nil
}
