package agent

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/ovfinit/ovfinit/users"
)

// The user step on an offline Windows root fails for good, not as
// something a retry could fix (the Wine end-to-end run showed retry=true).
func TestUserOfflineWindowsIsFatal(t *testing.T) {
	m := newMachine(t)
	e, _ := m.env(envXML("ovfinit.user", "bob"))
	e.Plan = &Plan{User: users.User{Name: "bob"}}
	e.CreateUser = func(root string, u users.User, log *slog.Logger) (*users.Account, error) {
		return users.NewWindowsManager(root, log, users.OfflineAccounts{Root: root}).Ensure(context.Background(), u)
	}
	_, err := createUser(context.Background(), e)
	if err == nil || Retryable(err) || !errors.Is(err, users.ErrOfflineWindows) || strings.Count(err.Error(), "user bob") != 1 {
		t.Errorf("createUser(offline Windows) = %v (retryable %v), want a fatal ErrOfflineWindows naming the user once", err, Retryable(err))
	}
}
