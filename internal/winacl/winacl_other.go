//go:build !windows

package winacl

import (
	"fmt"
	"io/fs"
	"os"
	"runtime"
)

// MkdirAll is os.MkdirAll: the mode protects the directory here.
func MkdirAll(dir string, perm fs.FileMode) error { return os.MkdirAll(dir, perm) }

// Protect does nothing: the mode of the file protects it here.
func Protect(string) error { return nil }

// DACL is Windows only.
func DACL(name string) (string, error) {
	return "", fmt.Errorf("%s: reading a DACL is not supported on %s", name, runtime.GOOS)
}

// Private returns an error unless only the owner may read or write name:
// no group or other permission bits.
func Private(name string) error {
	fi, err := os.Stat(name)
	if err != nil {
		return err
	}
	if m := fi.Mode().Perm(); m&0o077 != 0 {
		return fmt.Errorf("%s: mode %04o lets group or others in", name, m)
	}
	return nil
}
