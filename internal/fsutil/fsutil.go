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
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	syncDir(dir)
	return nil
}

func syncDir(dir string) {
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
