package agent

import (
	"runtime"

	"github.com/ovfinit/ovfinit/users"
)

// accountManager is the users.Manager for the tree at e.Root: the OS's own
// (users.NewManager: shadow-utils, pw, or Windows' netapi32 for the
// running system) when the tree is of the OS ovfinit runs on, and the
// files applier when a Unix tree (Env.OS) is prepared from Windows, where
// NewManager would manage Windows accounts instead.
func (e *Env) accountManager() *users.Manager {
	if runtime.GOOS == "windows" && e.goos() != "windows" {
		return &users.Manager{Root: e.Root, Log: e.Log}
	}
	return users.NewManager(e.Root, e.Log)
}
