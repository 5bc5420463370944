package users

// The netapi32 bindings; the line is here, in a file every OS builds, so
// that `go generate ./users` works on any host.
//go:generate go run golang.org/x/sys/windows/mkwinsyscall -output zsyscall_windows.go accounts_windows.go

import (
	"crypto/rand"
	"errors"
	"fmt"
	"github.com/ovfinit/ovfinit/internal/cmdrun"
	"io/fs"
	"log/slog"
	"math/big"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/ovfinit/ovfinit/internal/rootfs"
	"github.com/ovfinit/ovfinit/internal/winacl"
)

// WinAccounts is what ovfinit needs from Windows' local account database
// (netapi32, accounts_windows.go); tests use a fake, so the Windows
// planner is tested on every OS.
type WinAccounts interface {
	UserExists(name string) (bool, error)
	AddUser(name, password string) error // password is never "": a random one when none is given
	SetPassword(name, password string) error
	ExpirePassword(name string) error // must change it at next logon
	GroupExists(name string) (bool, error)
	AddGroup(name string) error
	AddToGroup(group, user string) error // already a member is not an error
	// AdminGroup returns the local name of the Administrators group,
	// found by its well-known SID S-1-5-32-544 (the name is localized).
	AdminGroup() (string, error)
	DeleteUser(name string) error
}

// PlanWindows works out the changes that make u exist on Windows. Windows
// keeps no crypt(3) hashes: a password must be given in clear there.
func PlanWindows(acc WinAccounts, u User) ([]Op, error) {
	if err := ValidateName(u.Name); err != nil {
		return nil, err
	}
	if u.Password.IsHash() {
		return nil, errors.New("password: Windows cannot use a crypt(3) hash; give the password in clear")
	}
	if u.LockPassword {
		return nil, errors.New("lock-password is not supported on Windows")
	}
	groups := slices.Clone(u.Groups)
	if u.PrimaryGroup != "" && !slices.Contains(groups, u.PrimaryGroup) {
		groups = append([]string{u.PrimaryGroup}, groups...)
	}
	if u.Admin {
		g, err := acc.AdminGroup()
		if err != nil {
			return nil, fmt.Errorf("finding the Administrators group (S-1-5-32-544): %w", err)
		}
		groups = append(groups, g)
	}
	var ops []Op
	for _, g := range groups {
		ok, err := acc.GroupExists(g)
		if err != nil {
			return nil, err
		}
		if !ok {
			ops = append(ops, Op{Kind: OpAddGroup, Name: g})
		}
	}
	exists, err := acc.UserExists(u.Name)
	if err != nil {
		return nil, err
	}
	if !exists {
		ops = append(ops, Op{Kind: OpAddUser, Name: u.Name, Password: u.Password})
		if u.ExpirePassword && u.Password.Set() {
			ops = append(ops, Op{Kind: OpSetPassword, Name: u.Name, Expire: true})
		}
	} else if u.Password.Set() {
		// Windows cannot tell us whether it is the same password: set it.
		ops = append(ops, Op{Kind: OpSetPassword, Name: u.Name, Password: u.Password, Expire: u.ExpirePassword})
	}
	if len(groups) > 0 {
		ops = append(ops, Op{Kind: OpAddToGroups, Name: u.Name, Groups: groups})
	}
	return ops, nil
}

// applyWindows carries out the ops of PlanWindows or a removal.
func applyWindows(acc WinAccounts, o Op) error {
	switch o.Kind {
	case OpAddGroup:
		return acc.AddGroup(o.Name)
	case OpAddUser:
		pw := o.Password.v
		if pw == "" {
			// Keys only: a random password nobody knows, never none.
			var err error
			if pw, err = randomWindowsPassword(); err != nil {
				return err
			}
		}
		return acc.AddUser(o.Name, pw)
	case OpSetPassword:
		if o.Password.Set() {
			if err := acc.SetPassword(o.Name, o.Password.v); err != nil {
				return err
			}
		}
		if o.Expire {
			return acc.ExpirePassword(o.Name)
		}
		return nil
	case OpAddToGroups:
		for _, g := range o.Groups {
			if err := acc.AddToGroup(g, o.Name); err != nil {
				return fmt.Errorf("adding %s to %s: %w", o.Name, g, err)
			}
		}
		return nil
	case OpDelUser:
		return acc.DeleteUser(o.Name)
	case OpDelGroup, OpDelSudoers, OpSudoers:
		return nil // a user's own group and sudoers do not exist on Windows
	}
	return fmt.Errorf("windows: unknown op %q", o.Kind)
}

// EnsureWindows makes u exist through acc.
func EnsureWindows(acc WinAccounts, u User) (created bool, err error) {
	ops, err := PlanWindows(acc, u)
	if err != nil {
		return false, fmt.Errorf("user %s: %w", u.Name, err)
	}
	for _, o := range ops {
		if err := applyWindows(acc, o); err != nil {
			return false, fmt.Errorf("user %s: %s: %w", u.Name, o.Kind, err)
		}
		created = created || o.Kind == OpAddUser
	}
	return created, nil
}

// NewWindowsManager returns a Manager that changes accounts through acc
// instead of files: MemAccounts in tests and dry runs, OfflineAccounts for a
// Windows tree that is not the running system, netapi32 on the live
// machine (NewManager on Windows).
func NewWindowsManager(root string, log *slog.Logger, acc WinAccounts) *Manager {
	return &Manager{Root: root, Log: log, Run: cmdrun.Exec{Log: log}, win: acc}
}

// ErrOfflineWindows is returned by every OfflineAccounts call: Windows
// keeps its accounts in the SAM registry hive of the running system, which
// ovfinit does not edit offline.
var ErrOfflineWindows = errors.New("Windows accounts can only be changed on the running system")

// OfflineAccounts is WinAccounts for a --root other than the running
// Windows system: it refuses every call, so that an offline run (or a test
// on a build machine) never adds an account to the machine it runs on.
type OfflineAccounts struct{ Root string }

func (o OfflineAccounts) err() error {
	return fmt.Errorf("--root %s: %w (--root /), not in an offline tree", o.Root, ErrOfflineWindows)
}

func (o OfflineAccounts) UserExists(string) (bool, error)  { return false, o.err() }
func (o OfflineAccounts) AddUser(string, string) error     { return o.err() }
func (o OfflineAccounts) SetPassword(string, string) error { return o.err() }
func (o OfflineAccounts) ExpirePassword(string) error      { return o.err() }
func (o OfflineAccounts) GroupExists(string) (bool, error) { return false, o.err() }
func (o OfflineAccounts) AddGroup(string) error            { return o.err() }
func (o OfflineAccounts) AddToGroup(string, string) error  { return o.err() }
func (o OfflineAccounts) AdminGroup() (string, error)      { return "", o.err() }
func (o OfflineAccounts) DeleteUser(string) error          { return o.err() }

// MemAccounts is an in-memory Windows account database: WinAccounts for
// tests and plans on any OS. Calls lists every change made, one line each
// (passwords never appear).
type MemAccounts struct {
	mu     sync.Mutex
	Users  map[string]bool
	Groups map[string][]string // group -> members
	Admin  string              // the Administrators group's local name; "" is "Administrators"
	Calls  []string
}

func (f *MemAccounts) call(format string, args ...any) {
	f.Calls = append(f.Calls, fmt.Sprintf(format, args...))
}

func (f *MemAccounts) UserExists(n string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.Users[n], nil
}

func (f *MemAccounts) AddUser(n, pw string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if pw == "" {
		return errors.New("NetUserAdd: empty password")
	}
	if f.Users == nil {
		f.Users = map[string]bool{}
	}
	f.Users[n] = true
	f.call("NetUserAdd %s", n)
	return nil
}

func (f *MemAccounts) SetPassword(n, pw string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.call("NetUserSetInfo(1003) %s", n)
	return nil
}

func (f *MemAccounts) ExpirePassword(n string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.call("expire %s", n)
	return nil
}

func (f *MemAccounts) GroupExists(n string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.Groups[n]
	return ok || n == f.adminGroup(), nil
}

func (f *MemAccounts) AddGroup(n string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Groups == nil {
		f.Groups = map[string][]string{}
	}
	f.Groups[n] = nil
	f.call("NetLocalGroupAdd %s", n)
	return nil
}

func (f *MemAccounts) AddToGroup(g, u string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Groups == nil {
		f.Groups = map[string][]string{}
	}
	if !slices.Contains(f.Groups[g], u) {
		f.Groups[g] = append(f.Groups[g], u)
	}
	f.call("NetLocalGroupAddMembers %s %s", g, u)
	return nil
}

func (f *MemAccounts) adminGroup() string {
	if f.Admin == "" {
		return "Administrators"
	}
	return f.Admin
}

func (f *MemAccounts) AdminGroup() (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.adminGroup(), nil
}

func (f *MemAccounts) DeleteUser(n string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.Users, n)
	for g, ms := range f.Groups {
		f.Groups[g] = slices.DeleteFunc(ms, func(m string) bool { return m == n })
	}
	f.call("NetUserDel %s", n)
	return nil
}

// randomPasswordLen is the length of the password an account made without
// one gets: long enough for any password policy, never typed by anyone.
const randomPasswordLen = 32

// randomWindowsPassword returns a password Windows' default complexity
// rules accept (upper, lower, digit and symbol): an account created for
// SSH keys only still gets one, never a NULL password, which
// UF_PASSWD_NOTREQD would let anyone use at the console.
func randomWindowsPassword() (string, error) {
	classes := []string{"ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnopqrstuvwxyz", "23456789", "!#%+-.:=?@_~"}
	all := strings.Join(classes, "")
	b := make([]byte, randomPasswordLen)
	pick := func(set string) (byte, error) {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
		if err != nil {
			return 0, fmt.Errorf("random password: %w", err)
		}
		return set[n.Int64()], nil
	}
	for i := range b {
		set := all
		if i < len(classes) {
			set = classes[i] // one of each class first ...
		}
		c, err := pick(set)
		if err != nil {
			return "", err
		}
		b[i] = c
	}
	// ... then shuffled, so their places are not known.
	for i := len(b) - 1; i > 0; i-- {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		if err != nil {
			return "", fmt.Errorf("random password: %w", err)
		}
		j := n.Int64()
		b[i], b[j] = b[j], b[i]
	}
	return string(b), nil
}

// AdminKeysPath is where Win32-OpenSSH reads the keys of every member of
// the Administrators group (sshd_config's Match Group administrators);
// under the root, relative to the system drive.
const AdminKeysPath = "/ProgramData/ssh/administrators_authorized_keys"

// addAdminKeys adds keys to AdminKeysPath under root, keeping the lines
// that are there; a key already present is not added again.
func addAdminKeys(root string, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	return editAdminKeys(root, func(lines []string) []string {
		for _, k := range keys {
			if k = strings.TrimSpace(k); k != "" && !slices.Contains(lines, k) {
				lines = append(lines, k)
			}
		}
		return lines
	})
}

// removeAdminKeys takes keys out of AdminKeysPath under root.
func removeAdminKeys(root string, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	return editAdminKeys(root, func(lines []string) []string {
		return slices.DeleteFunc(lines, func(l string) bool { return slices.Contains(keys, l) })
	})
}

func editAdminKeys(root string, fn func([]string) []string) error {
	return withFS(root, func(rfs *rootfs.FS) error {
		old, err := rfs.ReadFile(AdminKeysPath, maxKeysFile)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("reading %s: %w", AdminKeysPath, err)
		}
		var lines []string
		for l := range strings.Lines(strings.ReplaceAll(string(old), "\r\n", "\n")) {
			if l = strings.TrimSpace(l); l != "" {
				lines = append(lines, l)
			}
		}
		n := len(lines)
		lines = fn(slices.Clone(lines))
		if len(lines) == n && old != nil && string(old) == joinCRLF(lines) {
			return nil
		}
		if err := rfs.MkdirAll(path.Dir(AdminKeysPath), 0o755); err != nil {
			return err
		}
		if err := rfs.WriteFile(AdminKeysPath, []byte(joinCRLF(lines)), 0o600, rootfs.Keep); err != nil {
			return fmt.Errorf("writing %s: %w", AdminKeysPath, err)
		}
		// Win32-OpenSSH ignores an administrators_authorized_keys that
		// others than SYSTEM and Administrators can write.
		if err := winacl.Protect(filepath.Join(rfs.Dir(), filepath.FromSlash(AdminKeysPath))); err != nil {
			return fmt.Errorf("%s: %w", AdminKeysPath, err)
		}
		return nil
	})
}

// joinCRLF joins lines the way Windows text files end them.
func joinCRLF(lines []string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l)
		b.WriteString("\r\n")
	}
	return b.String()
}
