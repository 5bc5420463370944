package users

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/ovfinit/ovfinit/internal/cmdrun"
	"github.com/ovfinit/ovfinit/internal/passwd"
	"github.com/ovfinit/ovfinit/internal/rootfs"
)

// maxKeysFile bounds what is read of an authorized_keys file (the
// account files: passwd.MaxFile).
const maxKeysFile = 1 << 20

// Tool flavours: which command set Manager drives when Tools is set.
const (
	FlavorShadow = "shadow" // Linux shadow-utils: useradd, usermod, groupadd, chpasswd, chage, userdel
	FlavorPw     = "pw"     // FreeBSD pw(8)
)

// Manager creates and removes accounts under Root. The zero value edits the
// files itself; NewManager picks the OS tools where they exist.
type Manager struct {
	Root   string
	Log    *slog.Logger
	Flavor string           // "" edits the files; FlavorShadow or FlavorPw runs those tools through Run
	Run    cmdrun.Runner    // the tools; their stdin (a password hash) is never logged
	Now    func() time.Time // default time.Now (shadow's last-change day)

	// win, when set, manages Windows local accounts instead of files.
	win WinAccounts

	// beforeWrite, when set, is called before every file write of the
	// files applier; an error stops there, as a power cut would.
	beforeWrite func(path string) error
}

// Ensure makes sure the account exists under root as u asks, with its home
// directory and authorized keys, using the OS's own tools where present.
func Ensure(root string, u User, log *slog.Logger) (*Account, error) {
	return NewManager(root, log).Ensure(context.Background(), u)
}

func (m *Manager) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *Manager) log() *slog.Logger {
	if m.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return m.Log
}

// openFS opens the root every file of the Manager is read and written
// under.
func (m *Manager) openFS() (*rootfs.FS, error) { return rootfs.Open(m.Root) }

func (m *Manager) readDB() (*DB, error) {
	rfs, err := m.openFS()
	if err != nil {
		return nil, err
	}
	defer rfs.Close()
	pw, err := rfs.ReadFile("/etc/passwd", passwd.MaxFile)
	if err != nil {
		return nil, fmt.Errorf("reading user database: %w", err)
	}
	group, err := rfs.ReadFile("/etc/group", passwd.MaxFile)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading group database: %w", err)
	}
	shadow, err := rfs.ReadFile("/etc/shadow", passwd.MaxFile)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading shadow database: %w", err)
	}
	return ParseDB(pw, group, shadow), nil
}

// Ensure makes sure the account exists as u asks. The whole plan is made,
// and a clear password hashed, before anything is written.
func (m *Manager) Ensure(ctx context.Context, u User) (*Account, error) {
	if err := ValidateName(u.Name); err != nil {
		return nil, err
	}
	u = withDefaults(u)
	if m.win != nil {
		created, err := EnsureWindows(m.win, u)
		if err != nil {
			return nil, err
		}
		if u.Admin {
			if err := addAdminKeys(m.Root, u.Keys); err != nil {
				return nil, fmt.Errorf("user %s: %w", u.Name, err)
			}
		}
		return &Account{Name: u.Name, Created: created}, nil
	}
	unlock, err := m.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	db, err := m.readDB()
	if err != nil {
		return nil, err
	}
	ops, err := Plan(db, u)
	if err != nil {
		return nil, fmt.Errorf("user %s: %w", u.Name, err)
	}
	// Hash a clear password now, before the first write.
	for i, o := range ops {
		if o.Kind == OpSetPassword && !o.Password.IsHash() {
			h, err := o.Password.hashFor(m.Root)
			if err != nil {
				return nil, fmt.Errorf("user %s: %w", u.Name, err)
			}
			ops[i].Password = NewPassword(h)
		}
	}
	created := false
	if m.Flavor == FlavorShadow {
		ops = withOwnGroup(ops)
	}
	for _, o := range ops {
		if o.OwnGroup {
			m.log().Info("user database change", "op", Op{Kind: OpAddGroup, Name: o.Group, ID: o.GID}.String())
		}
		m.log().Info("user database change", "op", o.String())
		if err := m.apply(ctx, o); err != nil {
			return nil, fmt.Errorf("user %s: %s: %w", u.Name, o.Kind, err)
		}
		created = created || o.Kind == OpAddUser
	}
	if db, err = m.readDB(); err != nil {
		return nil, err
	}
	e := passwd.Find(db.passwd, u.Name)
	if len(e) < 7 {
		return nil, fmt.Errorf("user %s: not in /etc/passwd after creating it", u.Name)
	}
	uid, err1 := strconv.Atoi(e[2])
	gid, err2 := strconv.Atoi(e[3])
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("/etc/passwd: malformed ids for %q", u.Name)
	}
	a := &Account{Name: u.Name, UID: uid, GID: gid, Home: e[5], Shell: e[6], Created: created}
	if !created {
		m.log().Info("user exists, keeping it", "user", u.Name, "uid", uid)
	}
	if err := ensureHome(m.Root, a, u.Keys); err != nil {
		return nil, err
	}
	return a, nil
}

// Remove deletes the account name: its passwd, shadow and group entries,
// its own group, its sudoers drop-in and, unless keepHome, its home
// directory. A missing account is not an error.
func (m *Manager) Remove(ctx context.Context, name string, keepHome bool) error {
	if m.win != nil {
		return applyWindows(m.win, Op{Kind: OpDelUser, Name: name})
	}
	unlock, err := m.lock()
	if err != nil {
		return err
	}
	defer unlock()
	db, err := m.readDB()
	if err != nil {
		return err
	}
	home := ""
	if e := passwd.Find(db.passwd, name); len(e) > 5 {
		home = e[5]
	}
	ops, err := PlanRemove(db, name)
	if err != nil {
		return err
	}
	for _, o := range ops {
		m.log().Info("user database change", "op", o.String())
		if err := m.apply(ctx, o); err != nil {
			return fmt.Errorf("user %s: %s: %w", name, o.Kind, err)
		}
	}
	if !keepHome && home != "" && path.Clean(home) != "/" && home != "/root" {
		rfs, err := m.openFS()
		if err != nil {
			return err
		}
		defer rfs.Close()
		if err := rfs.RemoveAll(home); err != nil {
			return fmt.Errorf("removing home %s: %w", home, err)
		}
	}
	return nil
}

// lock takes the password-file lock when ovfinit edits the files itself;
// the OS tools take it themselves (and would wait forever for ours).
func (m *Manager) lock() (func(), error) {
	if m.Flavor != "" {
		return func() {}, nil
	}
	return lockPasswd(m.Root)
}

func (m *Manager) apply(ctx context.Context, o Op) error {
	switch o.Kind {
	case OpSudoers:
		return m.writeFile(sudoersPath(o.Name), []byte(sudoersLine(o.Name)), 0o440)
	case OpDelSudoers:
		rfs, err := m.openFS()
		if err != nil {
			return err
		}
		defer rfs.Close()
		err = rfs.Remove(sudoersPath(o.Name))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	if m.Flavor == "" {
		if o.OwnGroup {
			if err := m.applyFiles(Op{Kind: OpAddGroup, Name: o.Group, ID: o.GID}); err != nil {
				return err
			}
			o.OwnGroup = false
		}
		return m.applyFiles(o)
	}
	if o.Kind == OpDelGroup {
		// userdel already removed it where login.defs says USERGROUPS_ENAB.
		if db, err := m.readDB(); err != nil || !db.HasGroup(o.Name) {
			return err
		}
	}
	for _, c := range toolCommands(m.Flavor, m.Root, o, m.now()) {
		if _, err := m.Run.Run(ctx, cmdrun.Cmd{Argv: c.argv, Stdin: c.stdin}); err != nil {
			return err
		}
	}
	return nil
}

// withOwnGroup folds the creation of a new user's own group into its
// useradd (OwnGroup): one run of shadow's tools fewer, each of which
// locks, rewrites and syncs the account files (about half a second of a
// first boot under emulation). Other ops keep their order; the group
// keeps its planned gid (toolCommands).
func withOwnGroup(ops []Op) []Op {
	own := -1
	for i, o := range ops {
		if o.Kind == OpAddUser && o.Group == o.Name {
			for j, g := range ops[:i] {
				if g.Kind == OpAddGroup && g.Name == o.Name && g.ID == o.GID {
					own = j
				}
			}
		}
	}
	if own < 0 {
		return ops
	}
	out := make([]Op, 0, len(ops)-1)
	for i, o := range ops {
		switch {
		case i == own:
			continue
		case o.Kind == OpAddUser && o.Name == ops[own].Name:
			o.OwnGroup = true
		}
		out = append(out, o)
	}
	return out
}

// writeFile replaces name under the root with data.
func (m *Manager) writeFile(name string, data []byte, mode os.FileMode) error {
	if m.beforeWrite != nil {
		if err := m.beforeWrite(name); err != nil {
			return err
		}
	}
	rfs, err := m.openFS()
	if err != nil {
		return err
	}
	defer rfs.Close()
	return rfs.WriteFile(name, data, mode, rootfs.Keep)
}

// sudoersPath is the drop-in that gives an admin user sudo rights.
func sudoersPath(name string) string { return "/etc/sudoers.d/ovfinit-" + name }

func sudoersLine(name string) string {
	return "# Written by ovfinit: " + name + " is an administrator.\n" + name + " ALL=(ALL:ALL) NOPASSWD: ALL\n"
}

// command is one tool invocation; stdin carries a hash, never argv.
type command struct {
	argv  []string
	stdin []byte
}

// toolCommands renders an op as the commands of a tool flavour, run on
// the offline or live root (--root/-R).
func toolCommands(flavor, root string, o Op, now time.Time) []command {
	if flavor == FlavorPw {
		return pwCommands(root, o)
	}
	r := []string{"--root", root}
	if root == "" || root == "/" {
		r = nil
	}
	c := func(name string, args ...string) command {
		return command{argv: append(append([]string{name}, r...), args...)}
	}
	switch o.Kind {
	case OpAddGroup:
		return []command{c("groupadd", "-g", strconv.Itoa(o.ID), o.Name)}
	case OpAddUser:
		gid := strconv.Itoa(o.GID)
		args := []string{"-u", strconv.Itoa(o.ID), "-g", gid}
		if o.OwnGroup {
			// -U makes the group named after the user; its gid is the
			// first free one in GID_MIN..GID_MAX (the uid when that is
			// free and in range), so the range is pinned to the planned
			// gid, and useradd fails rather than pick another.
			args = []string{"-u", strconv.Itoa(o.ID), "-U", "-K", "GID_MIN=" + gid, "-K", "GID_MAX=" + gid}
		}
		args = append(args, "-d", o.Home, "-s", o.Shell, "-m")
		if o.Comment != "" {
			args = append(args, "-c", o.Comment)
		}
		if len(o.Groups) > 0 {
			args = append(args, "-G", strings.Join(o.Groups, ","))
		}
		return []command{c("useradd", append(args, o.Name)...)}
	case OpAddToGroups:
		return []command{c("usermod", "-a", "-G", strings.Join(o.Groups, ","), o.Name)}
	case OpSetPassword:
		h := o.Password.v
		if o.Lock {
			h = "!" + h
		}
		cmds := []command{c("chpasswd", "-e")}
		cmds[0].stdin = []byte(o.Name + ":" + h + "\n")
		if o.Expire {
			cmds = append(cmds, c("chage", "-d", "0", o.Name))
		}
		return cmds
	case OpLock:
		return []command{c("usermod", "-L", o.Name)}
	case OpDelUser:
		return []command{c("userdel", o.Name)}
	case OpDelGroup:
		return []command{c("groupdel", o.Name)}
	}
	return nil
}

// pwCommands renders an op for FreeBSD's pw(8).
func pwCommands(root string, o Op) []command {
	r := []string{"-R", root}
	if root == "" || root == "/" {
		r = nil
	}
	c := func(sub string, args ...string) command {
		return command{argv: append(append([]string{"pw"}, append([]string{sub}, r...)...), args...)}
	}
	switch o.Kind {
	case OpAddGroup:
		return []command{c("groupadd", o.Name, "-g", strconv.Itoa(o.ID))}
	case OpAddUser:
		args := []string{o.Name, "-u", strconv.Itoa(o.ID), "-g", strconv.Itoa(o.GID), "-d", o.Home, "-s", o.Shell, "-m"}
		if o.Comment != "" {
			args = append(args, "-c", o.Comment)
		}
		if len(o.Groups) > 0 {
			args = append(args, "-G", strings.Join(o.Groups, ","))
		}
		if o.OwnGroup {
			return []command{c("groupadd", o.Group, "-g", strconv.Itoa(o.GID)), c("useradd", args...)}
		}
		return []command{c("useradd", args...)}
	case OpAddToGroups:
		var cmds []command
		for _, g := range o.Groups {
			cmds = append(cmds, c("groupmod", g, "-m", o.Name))
		}
		return cmds
	case OpSetPassword:
		h := o.Password.v
		if o.Lock {
			h = "*LOCKED*" + h
		}
		set := c("usermod", o.Name, "-H", "0")
		set.stdin = []byte(h + "\n")
		cmds := []command{set}
		if o.Expire {
			cmds = append(cmds, c("usermod", o.Name, "-p", "1"))
		}
		return cmds
	case OpLock:
		return []command{c("lock", o.Name)}
	case OpDelUser:
		return []command{c("userdel", o.Name)}
	case OpDelGroup:
		return []command{c("groupdel", o.Name)}
	}
	return nil
}
