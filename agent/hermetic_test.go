package agent

import (
	"log/slog"
	"runtime"

	"github.com/ovfinit/ovfinit/users"
)

// testCreateUser is the Env.CreateUser of the pipeline tests. On Windows
// users.Ensure adds a real local account through netapi32 whatever the root
// (issue 17), so there it only answers as if the account had been created
// and the machine running the tests is left alone; elsewhere it is
// users.Ensure, which edits the files under the test's root.
func testCreateUser(root string, u users.User, log *slog.Logger) (*users.Account, error) {
	if runtime.GOOS == "windows" {
		return &users.Account{Name: u.Name, Created: true}, nil
	}
	return users.Ensure(root, u, log)
}
