package users

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/ovfinit/ovfinit/internal/passwd"
	"github.com/ovfinit/ovfinit/internal/rootfs"
)

// The files applier: the Manager's zero value edits /etc/passwd and its
// siblings under Root itself, on every OS, so an offline Linux tree can be
// prepared from any host (and the same tests run on Windows); NewManager
// picks the OS tools or Windows' account database where they apply.

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
		if err := m.edit("/etc/passwd", 0o644, true, addEntry(o.Name, "x", strconv.Itoa(o.ID), strconv.Itoa(o.GID), o.Comment, o.Home, o.Shell)); err != nil {
			return err
		}
		if len(o.Groups) == 0 {
			return nil
		}
		return m.applyFiles(Op{Kind: OpAddToGroups, Name: o.Name, Groups: o.Groups})
	case OpAddToGroups:
		for _, f := range []struct {
			path     string
			mode     fs.FileMode
			required bool
		}{{"/etc/gshadow", 0o640, false}, {"/etc/group", 0o644, true}} {
			err := m.edit(f.path, f.mode, f.required, func(db []passwd.Entry) ([]passwd.Entry, bool) {
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
		return m.edit("/etc/shadow", 0o640, false, func(db []passwd.Entry) ([]passwd.Entry, bool) {
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
			err := m.edit(f.path, f.mode, f.required, func(db []passwd.Entry) ([]passwd.Entry, bool) {
				changed := false
				var out []passwd.Entry
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

func addEntry(fields ...string) func([]passwd.Entry) ([]passwd.Entry, bool) {
	return func(db []passwd.Entry) ([]passwd.Entry, bool) {
		if passwd.Find(db, fields[0]) != nil {
			return db, false
		}
		return append(db, passwd.Entry(fields)), true
	}
}

func removeEntry(name string) func([]passwd.Entry) ([]passwd.Entry, bool) {
	return func(db []passwd.Entry) ([]passwd.Entry, bool) {
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
func (m *Manager) edit(name string, defMode fs.FileMode, required bool, fn func([]passwd.Entry) ([]passwd.Entry, bool)) error {
	rfs, err := m.openFS()
	if err != nil {
		return err
	}
	defer rfs.Close()
	data, err := rfs.ReadFile(name, passwd.MaxFile)
	if errors.Is(err, fs.ErrNotExist) && !required {
		return nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("reading %s: %w", name, err)
	}
	db, changed := fn(passwd.Parse(data))
	if !changed {
		return nil
	}
	return m.replaceDB(rfs, name, data, passwd.Format(db), defMode)
}

// replaceDB swaps in a new version of a user database file: the old one is
// kept as "FILE-" (as shadow-utils does); the new one is written to a temp
// file beside it, given the old file's mode, owner and SELinux label,
// fsynced and renamed into place, so a reader (or a crash) sees the old
// file or the new one, never a part.
func (m *Manager) replaceDB(rfs *rootfs.FS, name string, old, data []byte, defMode fs.FileMode) error {
	mode, uid, gid := defMode, -1, -1
	var label []byte
	if fi, err := rfs.Stat(name); err == nil {
		mode = fi.Mode().Perm()
		if u, g, ok := rootfs.Owner(fi); ok {
			uid, gid = u, g
		}
		label = rfs.Label(name)
		if err := m.writeAs(rfs, name+"-", old, mode, uid, gid, label); err != nil {
			return fmt.Errorf("backing up %s: %w", name, err)
		}
	}
	if err := m.writeAs(rfs, name, data, mode, uid, gid, label); err != nil {
		return fmt.Errorf("replacing %s: %w", name, err)
	}
	return nil
}

func (m *Manager) writeAs(rfs *rootfs.FS, name string, data []byte, mode fs.FileMode, uid, gid int, label []byte) error {
	if m.beforeWrite != nil {
		if err := m.beforeWrite(name); err != nil {
			return err
		}
	}
	o := rootfs.Keep
	if uid >= 0 && os.Geteuid() == 0 {
		o.UID, o.GID = uid, gid
	}
	o.Label = label
	return rfs.WriteFile(name, data, mode, o)
}

// ensureHome makes the account's home directory if it is missing and adds
// keys to its ~/.ssh/authorized_keys. The home belongs to the user, who can
// put links anywhere in it: below the home nothing is reached by path. The
// directories are held open and every name is opened with O_NOFOLLOW,
// ~/.ssh is created and chowned through its descriptor, authorized_keys is
// replaced by a temporary file (chowned through its descriptor) renamed
// into place. A ~/.ssh or authorized_keys that is a link, not a directory
// or regular file, not owned by the user (or root), or writable by group
// or others is refused, as OpenSSH's StrictModes would refuse it.
func ensureHome(root string, a *Account, keys []string) error {
	rfs, err := rootfs.Open(root)
	if err != nil {
		return err
	}
	defer rfs.Close()
	uid, gid := -1, -1
	if os.Geteuid() == 0 {
		uid, gid = a.UID, a.GID
	}
	owners := rootfs.Check{Owners: rootfs.TrustedOwners(a.UID)}
	home, err := rfs.OpenDir(a.Home)
	if errors.Is(err, fs.ErrNotExist) {
		home, err = mkHome(rfs, a.Home, uid, gid, owners)
	}
	if err != nil {
		return fmt.Errorf("home of %s: %w", a.Name, err)
	}
	defer home.Close()
	if err := home.Check(owners); err != nil {
		return fmt.Errorf("home of %s: %w", a.Name, err)
	}
	if len(keys) == 0 {
		return nil
	}
	strict := rootfs.Check{Owners: owners.Owners, NotWritableByOthers: true}
	sshDir, err := home.MkdirOwned(".ssh", 0o700, uid, gid, strict)
	if err != nil {
		return fmt.Errorf("authorized keys of %s: refusing %w", a.Name, err)
	}
	defer sshDir.Close()
	existing, err := sshDir.ReadFile("authorized_keys", maxKeysFile, strict)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("authorized keys of %s: refusing %w", a.Name, err)
	}
	if err := sshDir.WriteFile("authorized_keys", mergeKeys(existing, keys), 0o600, rootfs.WriteOptions{UID: uid, GID: gid}); err != nil {
		return fmt.Errorf("writing authorized keys of %s: %w", a.Name, err)
	}
	a.KeysFile = filepath.Join(a.Home, ".ssh", "authorized_keys")
	return nil
}

// mkHome creates a missing home directory, mode 0700, given to the user
// through its descriptor.
func mkHome(rfs *rootfs.FS, home string, uid, gid int, c rootfs.Check) (*rootfs.Dir, error) {
	parent, base := path.Split(path.Clean("/" + home))
	if base == "" {
		return nil, fmt.Errorf("%s: not a directory name", home)
	}
	if parent != "/" {
		if err := rfs.MkdirAll(parent, 0o755); err != nil {
			return nil, err
		}
	}
	pd, err := rfs.OpenDir(parent)
	if err != nil {
		return nil, err
	}
	defer pd.Close()
	return pd.MkdirOwned(base, 0o700, uid, gid, c)
}
