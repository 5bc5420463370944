//go:build unix

package rootfs

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// sysFS is the Unix side of an FS: the root directory's descriptor, from
// which every path is resolved by hand.
type sysFS struct{ fd int }

func (s *sysFS) open(dir string) error {
	fd, err := openRetry(unix.AT_FDCWD, dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	s.fd = fd
	return nil
}

func (s *sysFS) close() { unix.Close(s.fd) }

// openRetry is openat, retried on EINTR.
func openRetry(dirfd int, name string, flags int, mode uint32) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, name, flags, mode)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// policy says which symbolic links a walk follows.
type policy int

const (
	// followTrusted follows a link only in a directory only root can
	// change.
	followTrusted policy = iota
	// noSymlinks follows none.
	noSymlinks
)

// trustedDir reports whether only root (or ovfinit's own user) can change
// the entries of the open directory fd: a link found there was put there by
// them.
func trustedDir(fd int) bool {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return false
	}
	return (st.Uid == 0 || int(st.Uid) == os.Geteuid()) && st.Mode&0o022 == 0
}

func splitPath(rel string) []string {
	if rel == "" || rel == "." {
		return nil
	}
	return strings.Split(rel, "/")
}

// walk resolves rel (clean, relative) under the root and returns an open
// descriptor of the directory that holds its last component, and that
// component. Links in the directories on the way are followed as pol
// allows, the last component's too when followLast is set. mkdir, when
// not zero, creates missing directories on the way with that mode. The
// caller closes dirfd.
func (f *FS) walk(rel string, pol policy, followLast bool, mkdir fs.FileMode) (dirfd int, base string, err error) {
	comps := splitPath(rel)
	if len(comps) == 0 {
		return -1, "", errors.New("path names the root directory")
	}
	links := 0
	// mustExist is how many leading components are a link's target: those
	// are never created (a dangling link is an error, not a new directory).
	mustExist := 0
restart:
	fd, err := unix.Dup(f.sys.fd)
	if err != nil {
		return -1, "", err
	}
	var done []string // the real directories walked so far
	for i, c := range comps {
		last := i == len(comps)-1
		var st unix.Stat_t
		if last {
			if !followLast {
				return fd, c, nil
			}
			if err := unix.Fstatat(fd, c, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil || st.Mode&unix.S_IFMT != unix.S_IFLNK {
				return fd, c, nil // not a link (or missing: the caller says so)
			}
		} else {
			nfd, err := openRetry(fd, c, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
			if err == unix.ENOENT && mkdir != 0 && i >= mustExist {
				if merr := unix.Mkdirat(fd, c, uint32(mkdir.Perm())); merr != nil && merr != unix.EEXIST {
					unix.Close(fd)
					return -1, "", &fs.PathError{Op: "mkdir", Path: "/" + path.Join(append(done, c)...), Err: merr}
				}
				nfd, err = openRetry(fd, c, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
			}
			if err == nil {
				unix.Close(fd)
				fd = nfd
				done = append(done, c)
				continue
			}
			if serr := unix.Fstatat(fd, c, &st, unix.AT_SYMLINK_NOFOLLOW); serr != nil || st.Mode&unix.S_IFMT != unix.S_IFLNK {
				unix.Close(fd)
				return -1, "", &fs.PathError{Op: "open", Path: "/" + path.Join(append(done, c)...), Err: err}
			}
		}
		// c is a symbolic link.
		where := "/" + path.Join(append(done, c)...)
		if pol == noSymlinks {
			unix.Close(fd)
			return -1, "", fmt.Errorf("%s: %w", where, ErrSymlink)
		}
		if !trustedDir(fd) {
			unix.Close(fd)
			return -1, "", fmt.Errorf("%s: %w: it is in a directory that others than root can change", where, ErrSymlink)
		}
		if links++; links > maxSymlinks {
			unix.Close(fd)
			return -1, "", &fs.PathError{Op: "open", Path: "/" + rel, Err: unix.ELOOP}
		}
		target, err := readlinkat(fd, c)
		unix.Close(fd)
		if err != nil {
			return -1, "", &fs.PathError{Op: "readlink", Path: where, Err: err}
		}
		// done holds real directories only, so ".." in the target can be
		// cleaned lexically; an absolute target means the image's path.
		next := target
		if !strings.HasPrefix(target, "/") {
			next = path.Join(append(done, target)...)
		}
		mustExist = len(splitPath(strings.TrimPrefix(path.Clean("/"+next), "/")))
		next = strings.TrimPrefix(path.Clean("/"+next+"/"+path.Join(comps[i+1:]...)), "/")
		comps = splitPath(next)
		if len(comps) == 0 {
			return -1, "", fmt.Errorf("%s: the link leads to the root directory", where)
		}
		goto restart
	}
	panic("unreachable")
}

func readlinkat(fd int, name string) (string, error) {
	for size := 256; size <= 1<<16; size *= 4 {
		buf := make([]byte, size)
		n, err := readlinkatSys(fd, name, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
	return "", unix.ENAMETOOLONG
}

// walkName cleans name and walks it.
func (f *FS) walkName(name string, followLast bool, mkdir fs.FileMode) (int, string, string, error) {
	rel, err := Clean(name)
	if err != nil {
		return -1, "", "", err
	}
	fd, base, err := f.walk(rel, followTrusted, followLast, mkdir)
	return fd, base, "/" + rel, err
}

// ReadFile reads name, refusing anything but a regular file and more than
// limit bytes.
func (f *FS) ReadFile(name string, limit int64) ([]byte, error) {
	return f.ReadFileCheck(name, limit, Check{})
}

// ReadFileCheck is ReadFile for a file that must also pass c.
func (f *FS) ReadFileCheck(name string, limit int64, c Check) ([]byte, error) {
	fd, base, p, err := f.walkName(name, !c.NoFollow, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	return readAt(fd, base, p, limit, c)
}

// OpenFile opens name with flag (os.O_*) and, when created, mode perm.
// A link as the last component is refused; missing parent directories
// are created when flag has os.O_CREATE. It never blocks on a FIFO.
func (f *FS) OpenFile(name string, flag int, perm fs.FileMode) (*os.File, error) {
	dfd, base, p, err := f.walkName(name, false, createDirs(flag))
	if err != nil {
		return nil, err
	}
	defer unix.Close(dfd)
	fd, err := openRetry(dfd, base, flag|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, uint32(perm.Perm()))
	if err != nil {
		return nil, openError(dfd, base, p, err)
	}
	// Back to blocking mode, so the os.File does ordinary file I/O.
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "open", Path: p, Err: err}
	}
	return os.NewFile(uintptr(fd), p), nil
}

func createDirs(flag int) fs.FileMode {
	if flag&os.O_CREATE != 0 {
		return 0o755
	}
	return 0
}

// Label returns the SELinux label of name, or nil when it has none (or
// the OS has no labels).
func (f *FS) Label(name string) []byte {
	fd, base, _, err := f.walkName(name, true, 0)
	if err != nil {
		return nil
	}
	defer unix.Close(fd)
	ffd, err := openRetry(fd, base, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return nil
	}
	defer unix.Close(ffd)
	return getLabelFD(ffd)
}

// readAt opens base in dirfd without following a link or blocking,
// checks it with c and reads it.
func readAt(dirfd int, base, name string, limit int64, c Check) ([]byte, error) {
	fd, err := openRetry(dirfd, base, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, openError(dirfd, base, name, err)
	}
	if c.AllowFIFO {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err == nil && st.Mode&unix.S_IFMT == unix.S_IFIFO {
			// A FIFO the caller wants to wait on: open it again blocking
			// (the non-blocking open does not wait for a writer), and make
			// sure it is the same FIFO.
			unix.Close(fd)
			if fd, err = openRetry(dirfd, base, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NOCTTY, 0); err != nil {
				return nil, openError(dirfd, base, name, err)
			}
			var st2 unix.Stat_t
			if err := unix.Fstat(fd, &st2); err != nil || st2.Dev != st.Dev || st2.Ino != st.Ino {
				unix.Close(fd)
				return nil, fmt.Errorf("%s: replaced while being opened", name)
			}
		}
	}
	return readFD(fd, name, limit, c)
}

// openError turns a failed open into an error naming the path, saying
// "symbolic link" where O_NOFOLLOW refused one (ELOOP on Linux, EMLINK on
// FreeBSD, EFTYPE on NetBSD).
func openError(dirfd int, base, name string, err error) error {
	var st unix.Stat_t
	if err != unix.ENOENT && unix.Fstatat(dirfd, base, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return fmt.Errorf("%s: %w", name, ErrSymlink)
	}
	return &fs.PathError{Op: "open", Path: name, Err: err}
}

// readFD checks and reads the open fd, then closes it.
func readFD(fd int, name string, limit int64, c Check) ([]byte, error) {
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	if err := c.check(name, int(st.Uid), fileMode(uint32(st.Mode))); err != nil {
		return nil, err
	}
	return readLimit(name, limit, func(b []byte) (int, error) {
		for {
			n, err := unix.Read(fd, b)
			if err == unix.EINTR {
				continue
			}
			if n < 0 {
				n = 0
			}
			return n, err
		}
	})
}

// ReadFile reads the file at the host path name without blocking: a FIFO,
// device or directory is refused before anything is read, as is a file c
// does not allow, or one larger than limit bytes. A missing file is an
// error wrapping fs.ErrNotExist.
func ReadFile(name string, limit int64, c Check) ([]byte, error) {
	flags := unix.O_RDONLY | unix.O_NONBLOCK | unix.O_CLOEXEC | unix.O_NOCTTY
	if c.NoFollow {
		flags |= unix.O_NOFOLLOW
	}
	fd, err := openRetry(unix.AT_FDCWD, name, flags, 0)
	if err != nil {
		if c.NoFollow {
			return nil, openError(unix.AT_FDCWD, name, name, err)
		}
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return readFD(fd, name, limit, c)
}

// ReadUserFile reads rel (such as ".ssh/authorized_keys") in the home
// directory of uid as OpenSSH's StrictModes would: home, every directory
// below it and the file must be owned by uid or root (see TrustedOwners)
// and not writable by group or others; no component below home may be a
// symbolic link; the file must be regular. It never blocks on a FIFO. A
// missing file is an error wrapping fs.ErrNotExist.
func ReadUserFile(home, rel string, uid int, limit int64) ([]byte, error) {
	c := Check{Owners: TrustedOwners(uid), NotWritableByOthers: true, NoFollow: true}
	fd, err := openRetry(unix.AT_FDCWD, home, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: home, Err: err}
	}
	if err := checkDirFD(fd, home, c); err != nil {
		unix.Close(fd)
		return nil, err
	}
	comps := splitPath(path.Clean(rel))
	name := home
	for i, comp := range comps {
		name = path.Join(name, comp)
		if i == len(comps)-1 {
			b, err := readAt(fd, comp, name, limit, c)
			unix.Close(fd)
			return b, err
		}
		nfd, err := openRetry(fd, comp, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err != nil {
			err = openError(fd, comp, name, err)
			unix.Close(fd)
			return nil, err
		}
		unix.Close(fd)
		fd = nfd
		if err := checkDirFD(fd, name, c); err != nil {
			unix.Close(fd)
			return nil, err
		}
	}
	unix.Close(fd)
	return nil, fmt.Errorf("%s: no file named", home)
}

func checkDirFD(fd int, name string, c Check) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	return c.checkOwnerMode(name, int(st.Uid), fileMode(uint32(st.Mode)))
}

// WriteOptions are FS.WriteFile's options.
type WriteOptions struct {
	// UID and GID, when not -1, are the new file's owner, set on the open
	// file before it is renamed into place. The zero value means root:
	// callers that do not change owners pass Keep.
	UID, GID int
	// Label, when set, is the new file's SELinux label (Linux only).
	Label []byte
	// NoReplace makes WriteFile fail with an error wrapping fs.ErrExist
	// when name exists, instead of replacing it (the new file is linked
	// into place, so it still appears whole or not at all).
	NoReplace bool
	// NoSync skips the fsyncs of the file and of its directory: the
	// replacement stays atomic for readers, but a crash may leave the old
	// file. For files rewritten often whose loss costs nothing, the status
	// file between steps: under emulation every fsync is a disk flush of
	// the host's (issue 20).
	NoSync bool
}

// fsync is unix.Fsync; tests count the calls.
var fsync = realFsync

var realFsync = unix.Fsync

// Keep leaves a new file owned by ovfinit's user.
var Keep = WriteOptions{UID: -1, GID: -1}

// WriteFile atomically replaces name with data and mode perm, creating
// missing parent directories (mode 0755): a reader, or a crash, sees the
// old file or the new one, never a part. A symbolic link at name is
// replaced, not written through.
func (f *FS) WriteFile(name string, data []byte, perm fs.FileMode, o WriteOptions) error {
	fd, base, p, err := f.walkName(name, false, 0o755)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return writeAt(fd, base, p, data, perm, o)
}

func writeAt(dirfd int, base, name string, data []byte, perm fs.FileMode, o WriteOptions) (err error) {
	var rnd [6]byte
	var tmp string
	var fd int
	for range 5 {
		_, _ = rand.Read(rnd[:])
		tmp = "." + base + ".ovfinit-" + hex.EncodeToString(rnd[:])
		fd, err = openRetry(dirfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err != unix.EEXIST {
			break
		}
	}
	if err != nil {
		return &fs.PathError{Op: "create", Path: name, Err: err}
	}
	defer func() {
		if fd >= 0 {
			unix.Close(fd)
		}
		if err != nil {
			unix.Unlinkat(dirfd, tmp, 0)
			err = &fs.PathError{Op: "write", Path: name, Err: err}
		}
	}()
	if err := fillFD(fd, data, perm, o); err != nil {
		return err
	}
	if !o.NoSync {
		if err := fsync(fd); err != nil {
			return err
		}
	}
	err, fd = unix.Close(fd), -1
	if err != nil {
		return err
	}
	if o.NoReplace {
		// link(2) fails if base exists, unlike rename(2).
		lerr := linkatSys(dirfd, tmp, dirfd, base)
		unix.Unlinkat(dirfd, tmp, 0)
		switch lerr {
		case nil:
		case unix.EEXIST:
			return lerr
		default:
			// A file system without hard links: an exclusive create is
			// atomic with respect to existence, not content.
			if err := createExclAt(dirfd, base, data, perm, o); err != nil {
				return err
			}
		}
		_ = unix.Fsync(dirfd)
		return nil
	}
	if err := unix.Renameat(dirfd, tmp, dirfd, base); err != nil {
		return err
	}
	if !o.NoSync {
		_ = fsync(dirfd) // best effort: not every file system syncs a directory
	}
	return nil
}

// createExclAt creates base in dirfd, which must not exist, with data.
func createExclAt(dirfd int, base string, data []byte, perm fs.FileMode, o WriteOptions) (err error) {
	fd, err := openRetry(dirfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, uint32(perm.Perm()))
	if err != nil {
		return err
	}
	defer func() {
		if cerr := unix.Close(fd); err == nil {
			err = cerr
		}
		if err != nil {
			unix.Unlinkat(dirfd, base, 0)
		}
	}()
	if err := fillFD(fd, data, perm, o); err != nil {
		return err
	}
	return unix.Fsync(fd)
}

// fillFD writes data to the new file fd and gives it o's owner, perm and
// SELinux label, all on the descriptor: the file is never reached by name.
func fillFD(fd int, data []byte, perm fs.FileMode, o WriteOptions) error {
	for b := data; len(b) > 0; {
		n, werr := unix.Write(fd, b)
		if werr == unix.EINTR {
			continue
		}
		if werr != nil {
			return werr
		}
		b = b[n:]
	}
	if o.UID >= 0 || o.GID >= 0 {
		if err := unix.Fchown(fd, o.UID, o.GID); err != nil {
			return err
		}
	}
	if err := unix.Fchmod(fd, uint32(perm.Perm())); err != nil {
		return err
	}
	if len(o.Label) > 0 {
		return setLabelFD(fd, o.Label)
	}
	return nil
}

// AppendFile appends data to name, creating it (mode 0644) and its parent
// directories when missing. A symbolic link or a non-regular file at name
// is refused.
func (f *FS) AppendFile(name string, data []byte) error {
	dfd, base, p, err := f.walkName(name, false, 0o755)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	fd, err := openRetry(dfd, base, unix.O_WRONLY|unix.O_APPEND|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0o644)
	if err != nil {
		return openError(dfd, base, p, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &fs.PathError{Op: "stat", Path: p, Err: err}
	}
	if err := (Check{}).check(p, -1, fileMode(uint32(st.Mode))); err != nil {
		return err
	}
	for b := data; len(b) > 0; {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &fs.PathError{Op: "write", Path: p, Err: err}
		}
		b = b[n:]
	}
	if err := unix.Fsync(fd); err != nil {
		return &fs.PathError{Op: "sync", Path: p, Err: err}
	}
	return nil
}

// MkdirAll creates name and any missing parents with mode perm (less the
// umask), as os.MkdirAll; an existing one is left as it is.
func (f *FS) MkdirAll(name string, perm fs.FileMode) error {
	fd, base, p, err := f.walkName(name, true, perm.Perm()|0o700)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Mkdirat(fd, base, uint32(perm.Perm())); err != nil && err != unix.EEXIST {
		return &fs.PathError{Op: "mkdir", Path: p, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstatat(fd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &fs.PathError{Op: "mkdir", Path: p, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return &fs.PathError{Op: "mkdir", Path: p, Err: syscall.ENOTDIR}
	}
	return nil
}

// Remove removes the file or empty directory name (a link itself, not its
// target).
func (f *FS) Remove(name string) error {
	fd, base, p, err := f.walkName(name, false, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	err = unix.Unlinkat(fd, base, 0)
	if err == unix.EISDIR || err == unix.EPERM {
		if rerr := unix.Unlinkat(fd, base, unix.AT_REMOVEDIR); rerr != unix.ENOTDIR {
			err = rerr
		}
	}
	if err != nil {
		return &fs.PathError{Op: "remove", Path: p, Err: err}
	}
	return nil
}

// RemoveAll removes name and everything below it, never following a link;
// a missing name is not an error.
func (f *FS) RemoveAll(name string) error {
	fd, base, p, err := f.walkName(name, false, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return removeAllAt(fd, base, p)
}

func removeAllAt(dirfd int, base, name string) error {
	err := unix.Unlinkat(dirfd, base, 0)
	if err == nil || err == unix.ENOENT {
		return nil
	}
	if err != unix.EISDIR && err != unix.EPERM {
		return &fs.PathError{Op: "remove", Path: name, Err: err}
	}
	fd, err := openRetry(dirfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return &fs.PathError{Op: "remove", Path: name, Err: err}
	}
	d := os.NewFile(uintptr(fd), name)
	names, rerr := d.Readdirnames(-1)
	var errs []error
	if rerr != nil {
		errs = append(errs, &fs.PathError{Op: "readdir", Path: name, Err: rerr})
	}
	for _, n := range names {
		if e := removeAllAt(fd, n, path.Join(name, n)); e != nil {
			errs = append(errs, e)
		}
	}
	d.Close()
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if err := unix.Unlinkat(dirfd, base, unix.AT_REMOVEDIR); err != nil && err != unix.ENOENT {
		return &fs.PathError{Op: "remove", Path: name, Err: err}
	}
	return nil
}

// Lstat describes name itself, a link included.
func (f *FS) Lstat(name string) (fs.FileInfo, error) { return f.stat(name, false) }

// Stat describes name, following a link the rules allow.
func (f *FS) Stat(name string) (fs.FileInfo, error) { return f.stat(name, true) }

func (f *FS) stat(name string, follow bool) (fs.FileInfo, error) {
	fd, base, p, err := f.walkName(name, follow, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstatat(fd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: p, Err: err}
	}
	return newFileInfo(base, &st), nil
}

// Lchown changes the owner of name itself, never of a link's target.
func (f *FS) Lchown(name string, uid, gid int) error {
	fd, base, p, err := f.walkName(name, false, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Fchownat(fd, base, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &fs.PathError{Op: "chown", Path: p, Err: err}
	}
	return nil
}

// Chmod sets the mode of name, following a link the rules allow. It opens
// the file and changes the open file, so a link put in its place meanwhile
// is refused, not followed.
func (f *FS) Chmod(name string, mode fs.FileMode) error {
	dfd, base, p, err := f.walkName(name, true, 0)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	m := uint32(mode.Perm())
	fd, err := openRetry(dfd, base, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err == unix.EACCES && os.Geteuid() != 0 {
		// Not root, and a file we may not read (mode 0200, 0000): chmod
		// by name. Who could swap in a link meanwhile gains nothing: we
		// are not root.
		var st unix.Stat_t
		if serr := unix.Fstatat(dfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); serr == nil && st.Mode&unix.S_IFMT != unix.S_IFLNK {
			err = unix.Fchmodat(dfd, base, m|specialBits(mode), 0)
			if err != nil {
				return &fs.PathError{Op: "chmod", Path: p, Err: err}
			}
			return nil
		}
	}
	if err != nil {
		return openError(dfd, base, p, err)
	}
	defer unix.Close(fd)
	if err := unix.Fchmod(fd, m|specialBits(mode)); err != nil {
		return &fs.PathError{Op: "chmod", Path: p, Err: err}
	}
	return nil
}

// specialBits are mode's setuid, setgid and sticky bits as Unix mode bits.
func specialBits(mode fs.FileMode) uint32 {
	var m uint32
	if mode&fs.ModeSetuid != 0 {
		m |= unix.S_ISUID
	}
	if mode&fs.ModeSetgid != 0 {
		m |= unix.S_ISGID
	}
	if mode&fs.ModeSticky != 0 {
		m |= unix.S_ISVTX
	}
	return m
}

// Symlink creates name as a symbolic link to target (kept as given: an
// absolute target means the image's path when the image boots), creating
// missing parent directories.
func (f *FS) Symlink(target, name string) error {
	fd, base, p, err := f.walkName(name, false, 0o755)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := symlinkatSys(target, fd, base); err != nil {
		return &os.LinkError{Op: "symlink", Old: target, New: p, Err: err}
	}
	return nil
}

// Rename renames oldname to newname, neither followed if a link.
func (f *FS) Rename(oldname, newname string) error {
	ofd, obase, op, err := f.walkName(oldname, false, 0)
	if err != nil {
		return err
	}
	defer unix.Close(ofd)
	nfd, nbase, _, err := f.walkName(newname, false, 0o755)
	if err != nil {
		return err
	}
	defer unix.Close(nfd)
	if err := unix.Renameat(ofd, obase, nfd, nbase); err != nil {
		return &os.LinkError{Op: "rename", Old: op, New: newname, Err: err}
	}
	return nil
}

// ReadDir lists the directory name.
func (f *FS) ReadDir(name string) ([]fs.DirEntry, error) {
	d, err := f.OpenDir(name)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.f.ReadDir(-1)
}

// Dir is an open directory. Its methods take one name, never a path, and
// never follow a symbolic link: the strict rules for a directory a user
// controls.
type Dir struct {
	f    *os.File
	name string // path under the root, for messages
}

// OpenDir opens the directory name, following links the rules allow.
func (f *FS) OpenDir(name string) (*Dir, error) {
	if isRoot(name) {
		d, err := f.root.Open(".")
		if err != nil {
			return nil, err
		}
		return &Dir{f: d, name: "/"}, nil
	}
	dfd, base, p, err := f.walkName(name, true, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(dfd)
	return openDirAt(dfd, base, p)
}

func openDirAt(dirfd int, base, name string) (*Dir, error) {
	fd, err := openRetry(dirfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, openError(dirfd, base, name, err)
	}
	return &Dir{f: os.NewFile(uintptr(fd), name), name: name}, nil
}

// Close releases the directory.
func (d *Dir) Close() error { return d.f.Close() }

// Name is the directory's path under the root.
func (d *Dir) Name() string { return d.name }

func (d *Dir) fd() int { return int(d.f.Fd()) }

// Stat describes the directory.
func (d *Dir) Stat() (fs.FileInfo, error) { return d.f.Stat() }

// Check applies c's owner and mode rules to the directory itself.
func (d *Dir) Check(c Check) error { return checkDirFD(d.fd(), d.name, c) }

// Lstat describes the entry name, a link included.
func (d *Dir) Lstat(name string) (fs.FileInfo, error) {
	if err := oneName(name); err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstatat(d.fd(), name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: path.Join(d.name, name), Err: err}
	}
	return newFileInfo(name, &st), nil
}

// MkdirOwned opens the subdirectory name, creating it with mode perm and
// owner uid:gid (set with fchown on the new directory, never by path) when
// missing. An existing entry that is a link, not a directory, or that c
// refuses, is an error naming it.
func (d *Dir) MkdirOwned(name string, perm fs.FileMode, uid, gid int, c Check) (*Dir, error) {
	if err := oneName(name); err != nil {
		return nil, err
	}
	p := path.Join(d.name, name)
	created := true
	if err := unix.Mkdirat(d.fd(), name, uint32(perm.Perm())); err == unix.EEXIST {
		created = false
	} else if err != nil {
		return nil, &fs.PathError{Op: "mkdir", Path: p, Err: err}
	}
	sub, err := openDirAt(d.fd(), name, p)
	if err != nil {
		if !errors.Is(err, ErrSymlink) {
			if fi, lerr := d.Lstat(name); lerr == nil && !fi.IsDir() {
				return nil, fmt.Errorf("%s: is %s, not a directory", p, kind(fi.Mode()))
			}
		}
		return nil, err
	}
	if created && (uid >= 0 || gid >= 0) {
		if err := unix.Fchown(sub.fd(), uid, gid); err != nil {
			sub.Close()
			return nil, &fs.PathError{Op: "chown", Path: p, Err: err}
		}
	}
	if err := sub.Check(c); err != nil {
		sub.Close()
		return nil, err
	}
	return sub, nil
}

// ReadFile reads the regular file name in the directory, never following
// a link nor blocking, refusing a file c does not allow.
func (d *Dir) ReadFile(name string, limit int64, c Check) ([]byte, error) {
	if err := oneName(name); err != nil {
		return nil, err
	}
	return readAt(d.fd(), name, path.Join(d.name, name), limit, c)
}

// WriteFile atomically replaces name in the directory (temporary file,
// fsync, rename), with owner and mode set on the open file first.
func (d *Dir) WriteFile(name string, data []byte, perm fs.FileMode, o WriteOptions) error {
	if err := oneName(name); err != nil {
		return err
	}
	return writeAt(d.fd(), name, path.Join(d.name, name), data, perm, o)
}

func oneName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("%q is not a single file name", name)
	}
	return nil
}

// fileInfo is an fs.FileInfo from a Stat_t.
type fileInfo struct {
	name string
	st   unix.Stat_t
}

func newFileInfo(name string, st *unix.Stat_t) *fileInfo { return &fileInfo{name: name, st: *st} }

func (fi *fileInfo) Name() string       { return fi.name }
func (fi *fileInfo) Size() int64        { return int64(fi.st.Size) }
func (fi *fileInfo) Mode() fs.FileMode  { return fileMode(uint32(fi.st.Mode)) }
func (fi *fileInfo) ModTime() time.Time { return time.Time{} }
func (fi *fileInfo) IsDir() bool        { return fi.Mode().IsDir() }
func (fi *fileInfo) Sys() any           { return &fi.st }

func fileMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & unix.S_IFMT {
	case unix.S_IFDIR:
		mode |= fs.ModeDir
	case unix.S_IFLNK:
		mode |= fs.ModeSymlink
	case unix.S_IFIFO:
		mode |= fs.ModeNamedPipe
	case unix.S_IFSOCK:
		mode |= fs.ModeSocket
	case unix.S_IFCHR:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		mode |= fs.ModeDevice
	case unix.S_IFREG:
	default:
		mode |= fs.ModeIrregular
	}
	if m&unix.S_ISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if m&unix.S_ISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if m&unix.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

func owner(fi fs.FileInfo) (int, int, bool) {
	switch st := fi.Sys().(type) {
	case *unix.Stat_t:
		return int(st.Uid), int(st.Gid), true
	case *syscall.Stat_t:
		return int(st.Uid), int(st.Gid), true
	}
	return -1, -1, false
}
