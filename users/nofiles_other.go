//go:build !unix

package users

import (
	"fmt"
	"runtime"
)

// lockPasswd: Windows has no /etc/.pwd.lock convention and no tool that
// edits a Linux tree's account files beside ovfinit, so the files applier
// (an offline Linux tree prepared from Windows) takes no lock.
func lockPasswd(root string) (func(), error) {
	if runtime.GOOS == "windows" {
		return func() {}, nil
	}
	return nil, fmt.Errorf("managing users is not supported on %s", runtime.GOOS)
}
