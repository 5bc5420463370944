//go:build unix

package users

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/ovfinit/ovfinit/internal/fsutil"
	"golang.org/x/sys/unix"
)

// NewManager returns a Manager for root that uses the OS's own tools where
// they exist (shadow-utils on Linux, pw on FreeBSD; they need root to work
// on another root) and edits the files itself otherwise (busybox and
// minimal images).
func NewManager(root string, log *slog.Logger) *Manager {
	m := &Manager{Root: root, Log: log, Run: ExecRunner{Log: log}}
	if os.Geteuid() != 0 {
		return m
	}
	switch runtime.GOOS {
	case "linux":
		if haveTools("useradd", "usermod", "groupadd", "chpasswd", "chage", "userdel") {
			m.Flavor = FlavorShadow
		}
	case "freebsd":
		if haveTools("pw") {
			m.Flavor = FlavorPw
		}
	}
	return m
}

func haveTools(names ...string) bool {
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			return false
		}
	}
	return true
}

// applyFiles carries out one op by editing /etc/passwd, /etc/shadow,
// /etc/group and /etc/gshadow. Each file is replaced atomically, in an
// order that keeps the set valid after a crash between two writes (shadow
// before passwd when adding, passwd first when removing), and every edit
// checks first whether it was already done, so a re-run converges.
func (m *Manager) applyFiles(o Op) error {
	days := strconv.FormatInt(m.now().Unix()/86400, 10)
	switch o.Kind {
	case OpAddGroup:
		if err := m.edit("/etc/gshadow", 0o640, false, addEntry(o.Name, "!", "", "")); err != nil {
			return err
		}
		return m.edit("/etc/group", 0o644, true, addEntry(o.Name, "x", strconv.Itoa(o.ID), ""))
	case OpAddUser:
		// The shadow entry first: a passwd entry without one would be a
		// usable account with no password policy, even for a moment.
		if err := m.edit("/etc/shadow", 0o640, false, addEntry(o.Name, "!", days, "0", "99999", "7", "", "", "")); err != nil {
			return err
		}
		return m.edit("/etc/passwd", 0o644, true, addEntry(o.Name, "x", strconv.Itoa(o.ID), strconv.Itoa(o.GID), "", o.Home, o.Shell))
	case OpAddToGroups:
		for _, f := range []struct {
			path     string
			mode     fs.FileMode
			required bool
		}{{"/etc/gshadow", 0o640, false}, {"/etc/group", 0o644, true}} {
			err := m.edit(f.path, f.mode, f.required, func(db []entry) ([]entry, bool) {
				changed := false
				for i, e := range db {
					if len(e) < 4 || !slices.Contains(o.Groups, e[0]) {
						continue
					}
					members := strings.Split(e[3], ",")
					if e[3] == "" {
						members = nil
					}
					if !slices.Contains(members, o.Name) {
						db[i][3] = strings.Join(append(members, o.Name), ",")
						changed = true
					}
				}
				return db, changed
			})
			if err != nil {
				return err
			}
		}
		return nil
	case OpSetPassword, OpLock:
		return m.edit("/etc/shadow", 0o640, false, func(db []entry) ([]entry, bool) {
			for i, e := range db {
				if e[0] != o.Name || len(e) < 3 {
					continue
				}
				old := slices.Clone(e)
				if o.Kind == OpLock {
					if !strings.HasPrefix(e[1], "!") {
						db[i][1] = "!" + e[1]
					}
				} else {
					h := o.Password.v
					if o.Lock {
						h = "!" + h
					}
					db[i][1], db[i][2] = h, days
					if o.Expire {
						db[i][2] = "0"
					}
				}
				return db, !slices.Equal(old, db[i])
			}
			return db, false
		})
	case OpDelUser:
		// passwd first: without it the account cannot be used.
		for _, f := range []struct {
			path     string
			mode     fs.FileMode
			required bool
		}{{"/etc/passwd", 0o644, true}, {"/etc/shadow", 0o640, false}} {
			if err := m.edit(f.path, f.mode, f.required, removeEntry(o.Name)); err != nil {
				return err
			}
		}
		for _, f := range []struct {
			path     string
			mode     fs.FileMode
			required bool
		}{{"/etc/group", 0o644, false}, {"/etc/gshadow", 0o640, false}} {
			err := m.edit(f.path, f.mode, f.required, func(db []entry) ([]entry, bool) {
				changed := false
				var out []entry
				for _, e := range db {
					if len(e) > 3 && e[3] != "" {
						members := strings.Split(e[3], ",")
						if i := slices.Index(members, o.Name); i >= 0 {
							e[3] = strings.Join(slices.Delete(members, i, i+1), ",")
							changed = true
						}
					}
					out = append(out, e)
				}
				return out, changed
			})
			if err != nil {
				return err
			}
		}
		return nil
	case OpDelGroup:
		if err := m.edit("/etc/group", 0o644, false, removeEntry(o.Name)); err != nil {
			return err
		}
		return m.edit("/etc/gshadow", 0o640, false, removeEntry(o.Name))
	}
	return fmt.Errorf("files: unknown op %q", o.Kind)
}

func addEntry(fields ...string) func([]entry) ([]entry, bool) {
	return func(db []entry) ([]entry, bool) {
		if find(db, fields[0]) != nil {
			return db, false
		}
		return append(db, entry(fields)), true
	}
}

func removeEntry(name string) func([]entry) ([]entry, bool) {
	return func(db []entry) ([]entry, bool) {
		out := db[:0:0]
		for _, e := range db {
			if e[0] != name {
				out = append(out, e)
			}
		}
		return out, len(out) != len(db)
	}
}

// edit rewrites one database file with fn's result when fn reports a
// change. A missing optional file (shadow, gshadow on small systems) is
// left missing.
func (m *Manager) edit(name string, defMode fs.FileMode, required bool, fn func([]entry) ([]entry, bool)) error {
	path := fsutil.Join(m.Root, name)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !required {
		return nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("reading %s: %w", name, err)
	}
	db, changed := fn(parseDB(data))
	if !changed {
		return nil
	}
	var b strings.Builder
	for _, e := range db {
		b.WriteString(strings.Join(e, ":"))
		b.WriteByte('\n')
	}
	return m.replaceDB(path, data, []byte(b.String()), defMode)
}

// replaceDB swaps in a new version of a user database file: the old one is
// kept as "FILE-" (as shadow-utils does); the new one is written to a temp
// file beside it, given the old file's mode, owner and SELinux label,
// fsynced and renamed into place, so a reader (or a crash) sees the old
// file or the new one, never a part.
func (m *Manager) replaceDB(path string, old, data []byte, defMode fs.FileMode) error {
	mode, uid, gid := defMode, -1, -1
	var label []byte
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			uid, gid = int(st.Uid), int(st.Gid)
		}
		label = getLabel(path)
		if err := m.writeAs(path+"-", old, mode, uid, gid, label); err != nil {
			return fmt.Errorf("backing up %s: %w", path, err)
		}
	}
	if err := m.writeAs(path, data, mode, uid, gid, label); err != nil {
		return fmt.Errorf("replacing %s: %w", path, err)
	}
	return nil
}

func (m *Manager) writeAs(path string, data []byte, mode fs.FileMode, uid, gid int, label []byte) error {
	if m.beforeWrite != nil {
		if err := m.beforeWrite(path); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := fsutil.WriteTemp(path, data, mode)
	if err != nil {
		return err
	}
	if uid >= 0 && os.Geteuid() == 0 {
		err = os.Chown(tmp, uid, gid)
	}
	if err == nil && label != nil {
		err = setLabel(tmp, label)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	fsutil.SyncDir(filepath.Dir(path))
	return nil
}

func ensureHome(root string, a *Account, keys []string) error {
	home := fsutil.Join(root, a.Home)
	if _, err := os.Stat(home); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(home, 0o700); err != nil {
			return fmt.Errorf("creating home %s: %w", a.Home, err)
		}
		if err := chown(home, a.UID, a.GID); err != nil {
			return fmt.Errorf("chown home %s: %w", a.Home, err)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	sshDir := filepath.Join(home, ".ssh")
	if err := os.MkdirAll(sshDir, 0o700); err != nil {
		return err
	}
	if err := chown(sshDir, a.UID, a.GID); err != nil {
		return err
	}
	path := filepath.Join(sshDir, "authorized_keys")
	existing, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := fsutil.WriteFile(path, mergeKeys(existing, keys), 0o600); err != nil {
		return fmt.Errorf("writing authorized keys: %w", err)
	}
	a.KeysFile = filepath.Join(a.Home, ".ssh", "authorized_keys")
	return chown(path, a.UID, a.GID)
}

// chown gives a file to the account. Only root can, and only root needs to:
// run unprivileged (tests, an image tree of one's own) the files stay ours.
func chown(path string, uid, gid int) error {
	if os.Geteuid() != 0 {
		return nil
	}
	return os.Chown(path, uid, gid)
}

// lockPasswd takes the fcntl write lock on /etc/.pwd.lock that glibc's
// lckpwdf and shadow-utils take, waiting while another process holds it, so
// no other tool edits the files meanwhile. flock(2) would not exclude them.
func lockPasswd(path string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0}
	for {
		err = unix.FcntlFlock(f.Fd(), unix.F_SETLKW, &lk)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() { f.Close() }, nil // closing the file releases the lock
}
