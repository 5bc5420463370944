//go:build unix

package users

import (
	"errors"
	"io/fs"
	"syscall"
)

// pathOwner returns the owner of p inside root (lstatIn). A final symlink
// is an error: a home must be a directory of its own.
func pathOwner(root, p string) (int, bool, error) {
	fi, err := lstatIn(root, p)
	if fi == nil || err != nil {
		return 0, false, err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return 0, false, errors.New("is a symbolic link")
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false, nil
	}
	return int(st.Uid), true, nil
}
