// Package rootfs is the one rooted file system every ovfinit write under
// --root goes through. An FS is a directory (an offline image tree, or "/"
// on a live system) that no path, ".." or symbolic link can lead out of: an
// absolute link means the image's path, never the build host's.
//
// ovfinit runs as root and writes into trees other people control (a user's
// home, an image built elsewhere), so on Unix an FS resolves paths itself,
// one component at a time with openat(2) and O_NOFOLLOW, and follows a
// symbolic link only when the directory holding it is one that only root
// can change (owned by root or by ovfinit's own user, not group- or
// world-writable). A link a user left in their own directory, or in /tmp,
// is refused, not followed. Files are replaced atomically (temporary file,
// fsync, rename, fsync of the directory), their owner set with fchown on the
// open file before the rename, so no path is ever chowned or chmodded after
// the fact.
//
// Dir is a directory opened once and used by file descriptor, for the
// strictest case, a directory a user controls (their home): every name is a
// single component and is never followed if it is a symbolic link.
//
// ReadFile (and FS.ReadFile, Dir.ReadFile) open without blocking and fstat
// before reading: a FIFO, a device or a directory is refused at once, so a
// file a user controls can never park a thread of the server.
//
// On Windows and other non-Unix systems an FS is Go's os.Root, which refuses
// links that leave the root but follows those that stay inside it, and the
// ownership checks are not made (files there have ACLs, not Unix owners).
package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Sentinel errors, for errors.Is.
var (
	// ErrSymlink: a path goes through a symbolic link that is not followed.
	ErrSymlink = errors.New("symbolic link not followed")
	// ErrNotRegular: a file to read is a FIFO, device, socket or directory.
	ErrNotRegular = errors.New("not a regular file")
	// ErrUnsafe: a file or directory has the wrong owner or is writable by
	// others.
	ErrUnsafe = errors.New("unsafe ownership or mode")
	// ErrTooLarge: a file is larger than the caller's limit.
	ErrTooLarge = errors.New("file too large")
)

// maxSymlinks bounds the links followed while resolving one path, as
// Linux's MAXSYMLINKS does.
const maxSymlinks = 40

// FS is a directory tree no path can leave. Its methods take slash paths,
// absolute ("/etc/passwd") or not ("etc/passwd"), always relative to the
// root.
type FS struct {
	dir  string
	root *os.Root
	sys  sysFS
}

// Open opens dir as a rooted file system; Close releases it.
func Open(dir string) (*FS, error) {
	if dir == "" {
		dir = "/"
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("opening root directory %s: %w", dir, err)
	}
	f := &FS{dir: dir, root: r}
	if err := f.sys.open(dir); err != nil {
		r.Close()
		return nil, fmt.Errorf("opening root directory %s: %w", dir, err)
	}
	return f, nil
}

// Close releases the root directory.
func (f *FS) Close() error {
	f.sys.close()
	return f.root.Close()
}

// Dir returns the host path of the root directory.
func (f *FS) Dir() string { return f.dir }

// Clean turns a path under the root ("/etc/motd", "etc/motd") into its
// clean relative form ("etc/motd"). ".." never climbs above the root. It
// refuses an empty path, one with a NUL byte, and one that names the root
// itself.
func Clean(p string) (string, error) {
	if p == "" {
		return "", errors.New("empty path")
	}
	if strings.ContainsRune(p, 0) {
		return "", fmt.Errorf("path %q contains a NUL byte", p)
	}
	rel := strings.TrimPrefix(path.Clean("/"+strings.ReplaceAll(p, `\`, "/")), "/")
	if rel == "" {
		return "", fmt.Errorf("path %q names the root directory", p)
	}
	return rel, nil
}

// Local is Clean for a path a script or a user gave: it refuses one that
// ".." would take above the root, instead of stopping it there.
func Local(p string) (string, error) {
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
	rel = filepath.ToSlash(filepath.Clean(rel))
	if rel == "." {
		return "", fmt.Errorf("path %q names the root directory", p)
	}
	return rel, nil
}

// isRoot reports whether name names the root directory itself ("/", ".",
// "", "/.."), which OpenDir opens while Local refuses it.
func isRoot(name string) bool {
	return path.Clean("/"+filepath.ToSlash(name)) == "/"
}

// Check says what a file must be to be read by ReadFile.
type Check struct {
	// Owners are the uids that may own the file; empty allows any.
	Owners []int
	// NotWritableByOthers refuses a file that group or others may write.
	NotWritableByOthers bool
	// NoFollow refuses a path whose last component is a symbolic link.
	NoFollow bool
	// AllowFIFO reads a FIFO too, blocking until its writer closes it
	// (a script's gate). Never for a file someone else controls.
	AllowFIFO bool
}

// TrustedOwners is the set of owners a file of uid's may have: uid itself,
// root, and the uid ovfinit runs as (so an unprivileged run, such as a
// test, can read its own files).
func TrustedOwners(uid int) []int {
	o := []int{uid, 0, os.Geteuid()}
	slices.Sort(o)
	return slices.Compact(o)
}

// check applies c to a file's owner and mode; name is for the message.
func (c Check) check(name string, uid int, mode fs.FileMode) error {
	if !mode.IsRegular() && !(c.AllowFIFO && mode&fs.ModeNamedPipe != 0) {
		return fmt.Errorf("%s: %w (%s)", name, ErrNotRegular, kind(mode))
	}
	return c.checkOwnerMode(name, uid, mode)
}

func (c Check) checkOwnerMode(name string, uid int, mode fs.FileMode) error {
	if uid >= 0 && len(c.Owners) > 0 && !slices.Contains(c.Owners, uid) {
		return fmt.Errorf("%s: %w: owned by uid %d, not by %s", name, ErrUnsafe, uid, ownersText(c.Owners))
	}
	if c.NotWritableByOthers && mode.Perm()&0o022 != 0 {
		return fmt.Errorf("%s: %w: mode %04o lets group or others write it", name, ErrUnsafe, mode.Perm())
	}
	return nil
}

func ownersText(owners []int) string {
	s := make([]string, len(owners))
	for i, o := range owners {
		s[i] = fmt.Sprintf("uid %d", o)
	}
	return strings.Join(s, " or ")
}

// kind names a file type for messages.
func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m.IsRegular():
		return "a regular file"
	}
	return "an irregular file"
}

// readLimit reads all of r up to limit bytes; name is for the message.
func readLimit(name string, limit int64, read func([]byte) (int, error)) ([]byte, error) {
	var data []byte
	buf := make([]byte, 32<<10)
	for {
		n, err := read(buf)
		if n > 0 {
			data = append(data, buf[:n]...)
			if int64(len(data)) > limit {
				return nil, fmt.Errorf("%s: %w: larger than %d bytes", name, ErrTooLarge, limit)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", name, err)
		}
		if n == 0 {
			return data, nil
		}
	}
}

// Owner returns the owner of a FileInfo from this package or from os, where
// the OS has Unix owners.
func Owner(fi fs.FileInfo) (uid, gid int, ok bool) { return owner(fi) }

// WriteFileAt opens root, replaces name under it with data (see
// FS.WriteFile; the new file keeps ovfinit's owner) and closes it: for a
// single write.
func WriteFileAt(root, name string, data []byte, perm fs.FileMode) error {
	f, err := Open(root)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.WriteFile(name, data, perm, Keep)
}

// WriteFileAtNoSync is WriteFileAt without the fsyncs (WriteOptions.NoSync).
func WriteFileAtNoSync(root, name string, data []byte, perm fs.FileMode) error {
	f, err := Open(root)
	if err != nil {
		return err
	}
	defer f.Close()
	o := Keep
	o.NoSync = true
	return f.WriteFile(name, data, perm, o)
}

// ReadFileAt opens root, reads name under it (see FS.ReadFile) and closes
// it: for a single read.
func ReadFileAt(root, name string, limit int64) ([]byte, error) {
	f, err := Open(root)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadFile(name, limit)
}

// DirFS returns the directory dir under root as an fs.FS (for a script
// library, say): every Open resolves its name inside root as FS.OpenFile
// does, so a link in the tree never leads out of it.
func DirFS(root, dir string) fs.FS { return dirFS{root: root, dir: dir} }

type dirFS struct{ root, dir string }

func (d dirFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	f, err := Open(d.root)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fl, err := f.OpenFile(path.Join("/", d.dir, name), os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	return fl, nil
}

// StatAt opens root, describes name under it (see FS.Stat) and closes it:
// for a single look.
func StatAt(root, name string) (fs.FileInfo, error) {
	f, err := Open(root)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Stat(name)
}
