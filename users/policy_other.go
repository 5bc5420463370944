//go:build !unix

package users

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"
)

// pathOwner, where files carry no uid (a Linux tree inspected from
// Windows): a path that does not exist is fine, anything that exists is an
// error, because whether it is already the new user's cannot be told and
// ovfinit would hand someone else's directory to the new account.
func pathOwner(root, p string) (int, bool, error) {
	if root == "" {
		root = "/"
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return 0, false, err
	}
	defer r.Close()
	rel := strings.TrimLeft(p, "/")
	if rel == "" {
		rel = "."
	}
	_, err = r.Lstat(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return 0, false, fmt.Errorf("it exists, and whom it belongs to cannot be read on %s (no uid owners): give a home that does not exist yet", runtime.GOOS)
}
