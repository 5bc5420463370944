//go:build !unix

package users

import (
	"fmt"
	"runtime"
)

func (m *Manager) applyFiles(o Op) error {
	return fmt.Errorf("managing users is not supported on %s", runtime.GOOS)
}

// ensureHome does nothing where accounts are not passwd-style: the keys are
// in ovfinit's key store, which the embedded SSH server reads.
func ensureHome(root string, a *Account, keys []string) error { return nil }

func lockPasswd(root string) (func(), error) {
	if runtime.GOOS == "windows" {
		return func() {}, nil
	}
	return nil, fmt.Errorf("managing users is not supported on %s", runtime.GOOS)
}
