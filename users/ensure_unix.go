//go:build unix

package users

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/ovfinit/ovfinit/internal/fsutil"
	"golang.org/x/sys/unix"
)

// Ensure makes sure the account exists under root, with its home directory
// and its authorized keys, by editing /etc/passwd, /etc/group and (where they
// exist) /etc/shadow and /etc/gshadow directly, under the same lock glibc's
// lckpwdf takes. An existing account is kept as it is; only missing keys are
// added to its authorized_keys.
func Ensure(root string, u User, log *slog.Logger) (*Account, error) {
	if err := ValidateName(u.Name); err != nil {
		return nil, err
	}
	if u.Shell == "" {
		u.Shell = "/bin/sh"
	}
	if u.Home == "" {
		u.Home = "/home/" + u.Name
	}
	unlock, err := lockPasswd(fsutil.Join(root, "/etc/.pwd.lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()

	acct, err := ensureEntries(root, u, log)
	if err != nil {
		return nil, err
	}
	if err := ensureHome(root, acct, u.Keys); err != nil {
		return nil, err
	}
	return acct, nil
}

func ensureEntries(root string, u User, log *slog.Logger) (*Account, error) {
	passwdPath := fsutil.Join(root, "/etc/passwd")
	groupPath := fsutil.Join(root, "/etc/group")
	passwd, err := os.ReadFile(passwdPath)
	if err != nil {
		return nil, fmt.Errorf("reading user database: %w", err)
	}
	group, err := os.ReadFile(groupPath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading group database: %w", err)
	}
	pw, gr := parseDB(passwd), parseDB(group)

	if e := find(pw, u.Name); e != nil {
		if len(e) < 7 {
			return nil, fmt.Errorf("%s: malformed entry for %q", passwdPath, u.Name)
		}
		uid, err1 := strconv.Atoi(e[2])
		gid, err2 := strconv.Atoi(e[3])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s: malformed ids for %q", passwdPath, u.Name)
		}
		log.Info("user exists, keeping it", "user", u.Name, "uid", uid)
		return &Account{Name: u.Name, UID: uid, GID: gid, Home: e[5], Shell: e[6]}, nil
	}

	uid, err := allocate(usedIDs(pw, 2), 0)
	if err != nil {
		return nil, err
	}
	gid := 0
	if g := find(gr, u.Name); g != nil && len(g) > 2 {
		if gid, err = strconv.Atoi(g[2]); err != nil {
			return nil, fmt.Errorf("%s: malformed gid for group %q", groupPath, u.Name)
		}
	} else {
		if gid, err = allocate(usedIDs(gr, 2), uid); err != nil {
			return nil, err
		}
		if err := replaceDB(groupPath, appendLine(group, u.Name, "x", strconv.Itoa(gid), ""), 0o644); err != nil {
			return nil, err
		}
		if err := appendIfExists(fsutil.Join(root, "/etc/gshadow"), u.Name, "!", "", ""); err != nil {
			return nil, err
		}
	}
	// The shadow entry first: a passwd entry without one would be a usable
	// account with no password policy, even for a moment.
	days := strconv.FormatInt(time.Now().Unix()/86400, 10)
	if err := appendIfExists(fsutil.Join(root, "/etc/shadow"), u.Name, "*", days, "0", "99999", "7", "", "", ""); err != nil {
		return nil, err
	}
	if err := replaceDB(passwdPath, appendLine(passwd, u.Name, "x", strconv.Itoa(uid), strconv.Itoa(gid), "", u.Home, u.Shell), 0o644); err != nil {
		return nil, err
	}
	log.Info("user created", "user", u.Name, "uid", uid, "gid", gid, "home", u.Home)
	return &Account{Name: u.Name, UID: uid, GID: gid, Home: u.Home, Shell: u.Shell, Created: true}, nil
}

// appendIfExists adds an entry to a shadow file when the system has one and
// the name is not in it yet.
func appendIfExists(path string, fields ...string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if find(parseDB(data), fields[0]) != nil {
		return nil
	}
	return replaceDB(path, appendLine(data, fields...), 0o640)
}

// replaceDB swaps in a new version of a user database file: the old one is
// kept as "FILE-" (as shadow-utils does), the new one keeps the old mode and
// owner, and it is written to a temp file, fsynced and renamed into place
// (a reader sees the old file or the new one, never a part).
func replaceDB(path string, data []byte, defMode os.FileMode) error {
	mode, uid, gid := defMode, -1, -1
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			uid, gid = int(st.Uid), int(st.Gid)
		}
		if old, err := os.ReadFile(path); err == nil {
			if err := fsutil.WriteFile(path+"-", old, mode); err != nil {
				return fmt.Errorf("backing up %s: %w", path, err)
			}
		}
	}
	if err := fsutil.WriteFile(path, data, mode); err != nil {
		return fmt.Errorf("replacing %s: %w", path, err)
	}
	if uid >= 0 {
		if err := chown(path, uid, gid); err != nil {
			return fmt.Errorf("restoring owner of %s: %w", path, err)
		}
	}
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
// lckpwdf and shadow-utils take, so no other tool edits the files meanwhile.
// flock(2) would not exclude them.
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
