// Package fsutil writes and reads files at host paths a user named on the
// command line (`ovfinit env make --out`, `--authorized-keys`, `install
// --bin` on the running system): files are replaced atomically (temp file,
// fsync, rename), so a crash never leaves half a file.
//
// Nothing under --root goes through it: a path in an image tree or on the
// live system's / is resolved by internal/rootfs, which no link can lead
// out of the tree (a lexical join would follow an image's absolute link
// onto the build host).
package fsutil

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ovfinit/ovfinit/internal/winacl"
)

// WriteFile atomically replaces path with data: it writes a temporary file in
// the same directory, fsyncs it, sets perm, renames it over path and fsyncs the
// directory. Parent directories are created with mode 0755.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := writeTemp(path, data, perm)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	SyncDir(filepath.Dir(path))
	return nil
}

// writeTemp writes data, synced to disk and with mode perm, to a new
// temporary file beside path (same directory, so a rename to path is
// atomic) and returns its name. The caller moves it into place or removes it.
func writeTemp(path string, data []byte, perm os.FileMode) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	err = f.Chmod(perm)
	if err == nil && perm&0o077 == 0 {
		// Windows: modes do not keep others out; the DACL for SYSTEM and
		// Administrators does, set before the data is written.
		err = winacl.Protect(tmp)
	}
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return "", err
	}
	return tmp, nil
}

// SyncDir makes a rename or link in dir durable, where the OS and file
// system can sync a directory; elsewhere it does nothing.
func SyncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync() // best effort: not every OS or file system can sync a directory
		d.Close()
	}
}

// ReadFileLimit reads a whole file, failing with an error that names the
// file when it is larger than limit bytes.
func ReadFileLimit(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, limit)
	}
	return data, nil
}
