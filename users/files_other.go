//go:build !unix && !windows

package users

import (
	"log/slog"

	"github.com/ovfinit/ovfinit/internal/cmdrun"
)

// NewManager returns a Manager for root. Managing accounts is not
// supported on this OS: every change fails with an error naming it.
func NewManager(root string, log *slog.Logger) *Manager {
	return &Manager{Root: root, Log: log, Run: cmdrun.Exec{Log: log}}
}
