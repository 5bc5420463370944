//go:build !unix

package users

import (
	"fmt"
	"runtime"
)

// pathOwner, where files carry no uid (a Linux tree inspected from
// Windows): a path that does not exist is fine, anything that exists is an
// error, because whether it is already the new user's cannot be told and
// ovfinit would hand someone else's directory to the new account.
func pathOwner(root, p string) (int, bool, error) {
	fi, err := lstatIn(root, p)
	if fi == nil || err != nil {
		return 0, false, err
	}
	return 0, false, fmt.Errorf("it exists, and whom it belongs to cannot be read on %s (no uid owners): give a home that does not exist yet", runtime.GOOS)
}
