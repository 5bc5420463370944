//go:build !unix

package rootfs

// On Windows and other non-Unix systems an FS is Go's os.Root: paths and
// links can not leave the root, but links inside it are followed, and file
// owners (ACLs there) are not checked. Check.Owners and NotWritableByOthers
// are ignored; the file type is still checked before reading.

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

type sysFS struct{}

func (s *sysFS) open(string) error { return nil }
func (s *sysFS) close()            {}

func (f *FS) rel(name string) (string, error) { return Clean(name) }

// ReadFile reads name, refusing anything but a regular file and more than
// limit bytes.
func (f *FS) ReadFile(name string, limit int64) ([]byte, error) {
	rel, err := f.rel(name)
	if err != nil {
		return nil, err
	}
	fl, err := f.root.Open(rel)
	if err != nil {
		return nil, err
	}
	return readOpen(fl, "/"+rel, limit)
}

func readOpen(fl *os.File, name string, limit int64) ([]byte, error) {
	defer fl.Close()
	fi, err := fl.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w (%s)", name, ErrNotRegular, kind(fi.Mode()))
	}
	return readLimit(name, limit, func(b []byte) (int, error) {
		n, err := fl.Read(b)
		if err == io.EOF {
			err = nil
		}
		return n, err
	})
}

// ReadFileCheck is ReadFile; c's owner and mode rules are not checked on
// this OS.
func (f *FS) ReadFileCheck(name string, limit int64, c Check) ([]byte, error) {
	return f.ReadFile(name, limit)
}

// OpenFile opens name with flag and, when created, mode perm.
func (f *FS) OpenFile(name string, flag int, perm fs.FileMode) (*os.File, error) {
	rel, err := f.rel(name)
	if err != nil {
		return nil, err
	}
	if dir := path.Dir(rel); dir != "." && flag&os.O_CREATE != 0 {
		if err := f.root.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	return f.root.OpenFile(rel, flag, perm)
}

// Label returns nil: no SELinux labels on this OS.
func (f *FS) Label(string) []byte { return nil }

// ReadFile reads the file at the host path name, refusing anything but a
// regular file and more than limit bytes.
func ReadFile(name string, limit int64, c Check) ([]byte, error) {
	if c.NoFollow {
		if fi, err := os.Lstat(name); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return nil, fmt.Errorf("%s: %w", name, ErrSymlink)
		}
	}
	fl, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	return readOpen(fl, name, limit)
}

// ReadUserFile reads rel in the home directory home, refusing links below
// home and anything but a regular file. Owners are not checked here.
func ReadUserFile(home, rel string, uid int, limit int64) ([]byte, error) {
	r, err := os.OpenRoot(home)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	rel = path.Clean(rel)
	comps := strings.Split(rel, "/")
	for i := range comps {
		p := path.Join(comps[:i+1]...)
		if fi, err := r.Lstat(p); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return nil, fmt.Errorf("%s: %w", path.Join(home, p), ErrSymlink)
		}
	}
	fl, err := r.Open(rel)
	if err != nil {
		return nil, err
	}
	return readOpen(fl, path.Join(home, rel), limit)
}

// WriteOptions are FS.WriteFile's options; owners are not set on this OS.
type WriteOptions struct {
	UID, GID int
	Label    []byte
	// NoReplace: see the Unix WriteOptions.
	NoReplace bool
	// NoSync: see the Unix WriteOptions.
	NoSync bool
}

// Keep leaves a new file owned by ovfinit's user.
var Keep = WriteOptions{UID: -1, GID: -1}

// WriteFile atomically replaces name with data and mode perm, creating
// missing parent directories.
func (f *FS) WriteFile(name string, data []byte, perm fs.FileMode, o WriteOptions) error {
	rel, err := f.rel(name)
	if err != nil {
		return err
	}
	if dir := path.Dir(rel); dir != "." {
		if err := f.root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	return writeRoot(f.root, rel, data, perm, o.NoReplace, o.NoSync)
}

func writeRoot(r *os.Root, rel string, data []byte, perm fs.FileMode, noReplace, noSync bool) (err error) {
	var fl *os.File
	var tmp string
	for range 5 {
		var rnd [6]byte
		_, _ = rand.Read(rnd[:])
		tmp = path.Join(path.Dir(rel), "."+path.Base(rel)+".ovfinit-"+hex.EncodeToString(rnd[:]))
		fl, err = r.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			fl.Close()
			_ = r.Remove(tmp)
		}
	}()
	if _, err := fl.Write(data); err != nil {
		return err
	}
	if err := fl.Chmod(perm); err != nil {
		return err
	}
	if !noSync {
		if err := fl.Sync(); err != nil {
			return err
		}
	}
	if err := fl.Close(); err != nil {
		return err
	}
	if noReplace {
		err = r.Link(tmp, rel)
		_ = r.Remove(tmp)
		return err
	}
	return r.Rename(tmp, rel)
}

// AppendFile appends data to name, creating it and its parents.
func (f *FS) AppendFile(name string, data []byte) error {
	rel, err := f.rel(name)
	if err != nil {
		return err
	}
	if dir := path.Dir(rel); dir != "." {
		if err := f.root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	fl, err := f.root.OpenFile(rel, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if _, err := fl.Write(data); err != nil {
		fl.Close()
		return err
	}
	if err := fl.Sync(); err != nil {
		fl.Close()
		return err
	}
	return fl.Close()
}

// MkdirAll creates name and any missing parents.
func (f *FS) MkdirAll(name string, perm fs.FileMode) error {
	rel, err := f.rel(name)
	if err != nil {
		return err
	}
	return f.root.MkdirAll(rel, perm)
}

// Remove removes the file or empty directory name.
func (f *FS) Remove(name string) error {
	rel, err := f.rel(name)
	if err != nil {
		return err
	}
	return f.root.Remove(rel)
}

// RemoveAll removes name and everything below it.
func (f *FS) RemoveAll(name string) error {
	rel, err := f.rel(name)
	if err != nil {
		return err
	}
	return f.root.RemoveAll(rel)
}

// Lstat describes name itself.
func (f *FS) Lstat(name string) (fs.FileInfo, error) {
	rel, err := f.rel(name)
	if err != nil {
		return nil, err
	}
	return f.root.Lstat(rel)
}

// Stat describes name, following links inside the root.
func (f *FS) Stat(name string) (fs.FileInfo, error) {
	rel, err := f.rel(name)
	if err != nil {
		return nil, err
	}
	return f.root.Stat(rel)
}

// Lchown changes the owner of name itself.
func (f *FS) Lchown(name string, uid, gid int) error {
	rel, err := f.rel(name)
	if err != nil {
		return err
	}
	return f.root.Lchown(rel, uid, gid)
}

// Chmod sets the mode of name.
func (f *FS) Chmod(name string, mode fs.FileMode) error {
	rel, err := f.rel(name)
	if err != nil {
		return err
	}
	return f.root.Chmod(rel, mode)
}

// Symlink creates name as a symbolic link to target.
func (f *FS) Symlink(target, name string) error {
	rel, err := f.rel(name)
	if err != nil {
		return err
	}
	if dir := path.Dir(rel); dir != "." {
		if err := f.root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	return f.root.Symlink(target, rel)
}

// Rename renames oldname to newname.
func (f *FS) Rename(oldname, newname string) error {
	o, err := f.rel(oldname)
	if err != nil {
		return err
	}
	n, err := f.rel(newname)
	if err != nil {
		return err
	}
	return f.root.Rename(o, n)
}

// ReadDir lists the directory name.
func (f *FS) ReadDir(name string) ([]fs.DirEntry, error) {
	rel := "." // the root itself, as on Unix (a spool directory opened as the root)
	if !isRoot(name) {
		var err error
		if rel, err = f.rel(name); err != nil {
			return nil, err
		}
	}
	d, err := f.root.Open(rel)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.ReadDir(-1)
}

// Dir is an open directory; here an os.Root of its own.
type Dir struct {
	r    *os.Root
	name string
}

// OpenDir opens the directory name.
func (f *FS) OpenDir(name string) (*Dir, error) {
	if isRoot(name) {
		r, err := f.root.OpenRoot(".")
		if err != nil {
			return nil, err
		}
		return &Dir{r: r, name: "/"}, nil
	}
	rel, err := f.rel(name)
	if err != nil {
		return nil, err
	}
	r, err := f.root.OpenRoot(rel)
	if err != nil {
		return nil, err
	}
	return &Dir{r: r, name: "/" + rel}, nil
}

// Close releases the directory.
func (d *Dir) Close() error { return d.r.Close() }

// Name is the directory's path under the root.
func (d *Dir) Name() string { return d.name }

// Stat describes the directory.
func (d *Dir) Stat() (fs.FileInfo, error) { return d.r.Stat(".") }

// Check does nothing here: owners are not checked on this OS.
func (d *Dir) Check(Check) error { return nil }

// Lstat describes the entry name.
func (d *Dir) Lstat(name string) (fs.FileInfo, error) { return d.r.Lstat(name) }

// MkdirOwned opens the subdirectory name, creating it when missing; a link
// or a non-directory is refused.
func (d *Dir) MkdirOwned(name string, perm fs.FileMode, uid, gid int, c Check) (*Dir, error) {
	p := path.Join(d.name, name)
	if err := d.r.Mkdir(name, perm); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	fi, err := d.r.Lstat(name)
	if err != nil {
		return nil, err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return nil, fmt.Errorf("%s: %w", p, ErrSymlink)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s: is %s, not a directory", p, kind(fi.Mode()))
	}
	r, err := d.r.OpenRoot(name)
	if err != nil {
		return nil, err
	}
	return &Dir{r: r, name: p}, nil
}

// ReadFile reads the regular file name, refusing a link.
func (d *Dir) ReadFile(name string, limit int64, c Check) ([]byte, error) {
	p := path.Join(d.name, name)
	if fi, err := d.r.Lstat(name); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return nil, fmt.Errorf("%s: %w", p, ErrSymlink)
	}
	fl, err := d.r.Open(name)
	if err != nil {
		return nil, err
	}
	return readOpen(fl, p, limit)
}

// WriteFile atomically replaces name in the directory.
func (d *Dir) WriteFile(name string, data []byte, perm fs.FileMode, o WriteOptions) error {
	return writeRoot(d.r, name, data, perm, o.NoReplace, o.NoSync)
}

func owner(fs.FileInfo) (int, int, bool) { return -1, -1, false }
