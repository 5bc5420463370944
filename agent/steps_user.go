package agent

import (
	"context"
	"fmt"
)

func createUser(ctx context.Context, e *Env) error {
	a, err := e.CreateUser(e.Root, e.Plan.User, e.Log)
	if err != nil {
		return fmt.Errorf("user %s: %w", e.Plan.User.Name, err)
	}
	e.Account = a
	if len(e.Plan.User.Keys) == 0 {
		e.Log.Warn("no public-keys property: the user cannot log in over SSH", "user", a.Name)
	}
	return nil
}
