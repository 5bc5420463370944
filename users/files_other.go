//go:build !unix

package users

import (
	"fmt"
	"log/slog"
	"runtime"
)

// NewManager returns a Manager for root. Editing passwd-style files does
// not apply on this OS.
func NewManager(root string, log *slog.Logger) *Manager {
	return &Manager{Root: root, Log: log, Run: ExecRunner{Log: log}}
}

func (m *Manager) applyFiles(o Op) error {
	return fmt.Errorf("managing users is not supported on %s", runtime.GOOS)
}

func ensureHome(root string, a *Account, keys []string) error {
	return fmt.Errorf("managing users is not supported on %s", runtime.GOOS)
}

func lockPasswd(path string) (func(), error) {
	return nil, fmt.Errorf("managing users is not supported on %s", runtime.GOOS)
}
