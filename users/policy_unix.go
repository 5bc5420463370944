//go:build unix

package users

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"syscall"
)

// pathOwner returns the owner of p inside root, resolving p through an
// os.Root so that a symlink in the image cannot lead the check out of it.
// A final symlink is an error: a home must be a directory of its own.
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
	fi, err := r.Lstat(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
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
