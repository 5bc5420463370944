// Package fsutil holds the two file-system rules every ovfinit package
// follows: paths are resolved under a root directory, and files are replaced
// atomically (temp file, fsync, rename), so a crash never leaves half a file.
package fsutil

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Join returns path resolved under root. The path is cleaned as if it were
// absolute, so ".." can never climb above root.
func Join(root, path string) string {
	if root == "" {
		root = "/"
	}
	return filepath.Join(root, filepath.Clean("/"+filepath.ToSlash(path)))
}

// WriteFile atomically replaces path with data: it writes a temporary file in
// the same directory, fsyncs it, sets perm, renames it over path and fsyncs the
// directory. Parent directories are created with mode 0755.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := WriteTemp(path, data, perm)
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

// WriteTemp writes data, synced to disk and with mode perm, to a new
// temporary file beside path (same directory, so a rename or link to path is
// atomic) and returns its name. The caller moves it into place or removes it.
func WriteTemp(path string, data []byte, perm os.FileMode) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	err = f.Chmod(perm)
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
