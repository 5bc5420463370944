package scripts

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// localPath turns a path a script names ("/etc/motd" or "etc/motd") into a
// path relative to the root. It refuses one that leaves the root by "..",
// that is empty, or that names the root itself.
func localPath(p string) (string, error) {
	if p == "" {
		return "", errors.New("empty path")
	}
	if strings.ContainsRune(p, 0) {
		return "", fmt.Errorf("path %q contains a NUL byte", p)
	}
	rel := strings.TrimLeft(filepath.FromSlash(p), `/\`)
	if rel == "" {
		return "", fmt.Errorf("path %q names the root directory", p)
	}
	if !filepath.IsLocal(rel) {
		return "", fmt.Errorf("path %q escapes the root directory", p)
	}
	rel = filepath.Clean(rel)
	if rel == "." {
		return "", fmt.Errorf("path %q names the root directory", p)
	}
	return rel, nil
}

// readFile reads rel under root, refusing more than limit bytes. os.Root
// refuses symbolic links that lead out of the root, and absolute ones.
func readFile(root *os.Root, rel string, limit int64) ([]byte, error) {
	f, err := root.Open(rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", rel, limit)
	}
	return data, nil
}

// writeFileAtomic replaces rel under root with data and the given mode:
// parent directories are created 0755, the data goes to a temporary file in
// the same directory, which is synced and renamed over rel. A reader sees
// the old file or the new one, never a part. uid and gid, when not -1, set
// the owner before the rename.
func writeFileAtomic(root *os.Root, rel string, data []byte, mode fs.FileMode, uid, gid int) (err error) {
	dir := filepath.Dir(rel)
	if dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	var f *os.File
	var tmp string
	for range 5 {
		var rnd [6]byte
		_, _ = rand.Read(rnd[:])
		tmp = filepath.Join(dir, "."+filepath.Base(rel)+".ovfinit-"+hex.EncodeToString(rnd[:]))
		f, err = root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			_ = root.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if uid >= 0 || gid >= 0 {
		if err := f.Chown(uid, gid); err != nil {
			return err
		}
	}
	if err := f.Chmod(mode); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := root.Rename(tmp, rel); err != nil {
		return err
	}
	// Make the rename durable. Directories can not be synced everywhere
	// (Windows): best effort.
	if d, derr := root.Open(dir); derr == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
