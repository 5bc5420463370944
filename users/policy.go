package users

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/ovfinit/ovfinit/internal/passwd"
	"github.com/ovfinit/ovfinit/internal/rootfs"
)

// The fields of User a FieldError can name. Callers turn them into the
// property or flag that set the field.
const (
	FieldName    = "name"
	FieldUID     = "uid"
	FieldGroup   = "group"
	FieldGroups  = "groups"
	FieldHome    = "home"
	FieldShell   = "shell"
	FieldComment = "comment"
)

// FieldError is a problem with one field of a User.
type FieldError struct {
	Field string // FieldName, FieldUID, ...
	// System marks a refusal of the system-account policy (a system
	// account, a system directory as home, a privileged group, a shell the
	// image does not list): User.AllowSystem accepts it with a warning.
	// Every other FieldError (a clash with the image's accounts, a bad
	// value) is always fatal.
	System bool
	Err    error
}

func (e *FieldError) Error() string { return e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(field string, format string, a ...any) *FieldError {
	return &FieldError{Field: field, Err: fmt.Errorf(format, a...)}
}

func systemErr(field string, format string, a ...any) *FieldError {
	return &FieldError{Field: field, System: true, Err: fmt.Errorf(format, a...)}
}

// privilegedGroups give their members what only root should have: the
// password hashes (shadow), raw disks and memory (disk, kmem, mem), other
// users' terminals (tty), the system logs (adm), login records (utmp), or
// root's own files (root, sys). A user is put in one only when asked with
// AllowSystem.
var privilegedGroups = []string{"root", "sys", "shadow", "disk", "kmem", "mem", "tty", "adm", "utmp"}

// adminGroupNames grant sudo rights by convention: they come with
// User.Admin, which also writes the sudoers drop-in, not as plain groups.
var adminGroupNames = []string{"sudo", "wheel", "admin"}

// systemTrees are directories no account's home may be, or be under: the
// OS, the kernel's views, root's home and shared scratch space.
var systemTrees = []string{
	"/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/root", "/run",
	"/sbin", "/sys", "/tmp", "/usr", "/var/cache", "/var/lock", "/var/log", "/var/mail", "/var/run",
	"/var/spool", "/var/tmp",
}

// ovfinitTrees are ovfinit's default state and runtime directories (the
// key store, the saved environment): a home there is refused even with
// AllowSystem. Image.Protected adds the ones actually in use.
var ovfinitTrees = []string{"/var/lib/ovfinit", "/run/ovfinit"}

// systemBases may hold homes (/home/bob, /var/lib/app, /srv/app) but are
// not one themselves.
var systemBases = []string{"/", "/home", "/media", "/mnt", "/opt", "/srv", "/var", "/var/lib"}

// SystemDir reports whether dir is a system directory no home may be: "/",
// a base such as /home or /var/lib, or anything in or under the OS's own
// trees (/etc, /usr, /root, ...) or ovfinit's. dir is absolute.
func SystemDir(dir string) bool {
	return slices.Contains(systemBases, path.Clean(dir)) || inTree(dir, systemTrees...) || inTree(dir, ovfinitTrees...)
}

// inTree reports whether dir is one of trees or under one.
func inTree(dir string, trees ...string) bool {
	d := path.Clean(dir)
	for _, t := range trees {
		t = path.Clean(t)
		if d == t || strings.HasPrefix(d, strings.TrimSuffix(t, "/")+"/") {
			return true
		}
	}
	return false
}

// CheckRequest applies the system-account policy to what u asks for,
// without looking at any image: the superuser, a system directory as home,
// privileged or administrator groups. Problems are FieldErrors; with
// u.AllowSystem they come back as warnings instead of errors.
func CheckRequest(u User) (warnings, errs []error) {
	var all []error
	if u.Name == "root" {
		all = append(all, systemErr(FieldName, "root is the superuser, not an account to hand out"))
	}
	home := withDefaults(u).Home
	if strings.HasPrefix(home, "/") {
		if slices.Contains(strings.Split(home, "/"), "..") {
			// Never overridable: the path means something else than it says.
			all = append(all, fieldErr(FieldHome, "%s: want a path without '..'", home))
		} else if inTree(home, ovfinitTrees...) {
			all = append(all, fieldErr(FieldHome, "%s is in ovfinit's own directories, not a home", home))
		} else if SystemDir(home) {
			all = append(all, systemErr(FieldHome, "%s is a system directory, not a home", home))
		}
	}
	if g := u.PrimaryGroup; g != "" {
		if err := checkGroup(g); err != nil {
			all = append(all, systemErr(FieldGroup, "%v", err))
		}
	}
	for _, g := range u.Groups {
		if err := checkGroup(g); err != nil {
			all = append(all, systemErr(FieldGroups, "%v", err))
		}
	}
	return split(u, all)
}

func checkGroup(g string) error {
	if slices.Contains(privilegedGroups, g) {
		return fmt.Errorf("%s is a privileged group (root-equivalent access or secrets)", g)
	}
	if slices.Contains(adminGroupNames, g) {
		return fmt.Errorf("%s is an administrator group: ask for administrator rights instead (they add it along with the sudoers entry)", g)
	}
	return nil
}

// split sorts problems into warnings (system-policy ones, when u allows
// them) and errors.
func split(u User, all []error) (warnings, errs []error) {
	for _, err := range all {
		var fe *FieldError
		if u.AllowSystem && errors.As(err, &fe) && fe.System {
			warnings = append(warnings, err)
		} else {
			errs = append(errs, err)
		}
	}
	return warnings, errs
}

// Image is what the account checks read from an OS tree: its account
// database, the ordinary uid range from /etc/login.defs and the shells
// /etc/shells lists.
type Image struct {
	DB             *DB
	UIDMin, UIDMax int      // login.defs UID_MIN, UID_MAX; default 1000 and 60000
	Shells         []string // /etc/shells; nil when the image has none
	// Owner returns the uid that owns path in the image (not following a
	// final symlink); ok is false when nothing is there.
	Owner func(path string) (uid int, ok bool, err error)
	// Protected are more directories no home may be in, even with
	// AllowSystem: ovfinit's state and runtime directories where they are
	// not the defaults.
	Protected []string
}

// ErrNoAccounts is returned by ReadImage for a tree without /etc/passwd
// (Windows, or not an OS tree).
var ErrNoAccounts = errors.New("no /etc/passwd")

// ReadImage reads the account database and its policy files under root.
func ReadImage(root string) (*Image, error) {
	read := func(name string) ([]byte, error) {
		data, err := rootfs.ReadFileAt(root, name, passwd.MaxFile)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", name, err)
		}
		if data == nil {
			data = []byte{}
		}
		return data, nil
	}
	pw, err := read("/etc/passwd")
	if err != nil {
		return nil, err
	}
	if pw == nil {
		return nil, ErrNoAccounts
	}
	group, err := read("/etc/group")
	if err != nil {
		return nil, err
	}
	im := &Image{DB: ParseDB(pw, group, nil), UIDMin: firstID, UIDMax: lastID + 1}
	defs, err := read("/etc/login.defs")
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(bytes.NewReader(defs))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		if n, err := strconv.Atoi(f[1]); err == nil && n >= 0 {
			switch f[0] {
			case "UID_MIN":
				im.UIDMin = n
			case "UID_MAX":
				im.UIDMax = n
			}
		}
	}
	shells, err := read("/etc/shells")
	if err != nil {
		return nil, err
	}
	if shells != nil {
		im.Shells = []string{}
		for _, l := range strings.Split(string(shells), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				im.Shells = append(im.Shells, l)
			}
		}
	}
	im.Owner = func(p string) (int, bool, error) { return pathOwner(root, p) }
	return im, nil
}

// Check finds what would make creating u fail or go wrong on the image,
// beyond CheckRequest: a clash with its accounts (a uid taken by another
// user, an existing account with another uid, primary group, home or
// shell than asked, a group named like a new user that is not free to be
// its own, a home that exists and belongs to someone else), which is always
// an error; and, under the system-account policy, a system account (uid
// outside login.defs' UID_MIN..UID_MAX) or a shell /etc/shells does not
// list, which AllowSystem turns into warnings.
func (im *Image) Check(u User) (warnings, errs []error) {
	var all []error
	_, err := Plan(im.DB, u)
	if err != nil {
		all = append(all, err)
	}
	full := withDefaults(u)
	system := func(uid int) bool { return uid < im.UIDMin || uid > im.UIDMax }
	if pw := passwd.Find(im.DB.passwd, u.Name); pw != nil {
		if len(pw) >= 7 {
			if uid, err := strconv.Atoi(pw[2]); err == nil && system(uid) {
				all = append(all, systemErr(FieldName, "%s is a system account (uid %d; ordinary accounts have %d-%d)", u.Name, uid, im.UIDMin, im.UIDMax))
			}
			if u.Home != "" && path.Clean(u.Home) != path.Clean(pw[5]) {
				all = append(all, fieldErr(FieldHome, "user %s exists with home %s, not %s", u.Name, pw[5], u.Home))
			}
			if u.Shell != "" && u.Shell != pw[6] {
				all = append(all, fieldErr(FieldShell, "user %s exists with shell %s, not %s", u.Name, pw[6], u.Shell))
			}
		}
	} else {
		if u.UID != 0 && system(u.UID) {
			all = append(all, systemErr(FieldUID, "%d is a system uid (ordinary accounts have %d-%d)", u.UID, im.UIDMin, im.UIDMax))
		}
		// Only a new account gets a home from ovfinit: one that exists
		// must be the new user's already (a leftover of the same uid).
		uid := u.UID
		if uid == 0 {
			uid, _ = allocate(usedIDs(im.DB.passwd, 2), 0)
		}
		if im.Owner != nil && strings.HasPrefix(full.Home, "/") {
			owner, ok, err := im.Owner(full.Home)
			switch {
			case err != nil:
				all = append(all, fieldErr(FieldHome, "checking %s: %v", full.Home, err))
			case ok && owner != uid:
				who := "uid " + strconv.Itoa(owner)
				if e := findByID(im.DB.passwd, owner); e != nil {
					who += " (" + e[0] + ")"
				}
				all = append(all, fieldErr(FieldHome, "%s exists and belongs to %s, not to the new user", full.Home, who))
			}
		}
	}
	// Another account's own group (named like it, its primary group) would
	// give u that user's group access to its files.
	for _, g := range append([]string{u.PrimaryGroup}, u.Groups...) {
		if g == "" || g == u.Name {
			continue
		}
		field := FieldGroups
		if g == u.PrimaryGroup {
			field = FieldGroup
		}
		if ge, pw := passwd.Find(im.DB.group, g), passwd.Find(im.DB.passwd, g); len(ge) > 2 && len(pw) > 3 && ge[2] == pw[3] {
			all = append(all, systemErr(field, "%s is the own group of user %s", g, g))
		}
	}
	if u.Shell != "" && im.Shells != nil && !slices.Contains(im.Shells, u.Shell) && !noLogin(u.Shell) {
		all = append(all, systemErr(FieldShell, "%s is not listed in the image's /etc/shells", u.Shell))
	}
	if inTree(full.Home, im.Protected...) && !inTree(full.Home, ovfinitTrees...) {
		all = append(all, fieldErr(FieldHome, "%s is in ovfinit's own directories, not a home", full.Home))
	}
	return split(u, all)
}

// noLogin reports whether shell refuses logins; such a shell takes
// nothing away from the account, so /etc/shells need not list it.
func noLogin(shell string) bool {
	b := path.Base(shell)
	return b == "nologin" || b == "false"
}

// checkReserve applies the account checks to a reservation user before
// anything is recorded or created: reserve has no override, so whatever
// the system-account policy refuses is refused.
func (m *Manager) checkReserve(u User) error {
	if m.win != nil {
		return nil
	}
	u.Shell = "" // ovfinit's own choice, not the caller's: not held against /etc/shells
	_, errs := CheckRequest(u)
	im, err := ReadImage(m.Root)
	switch {
	case errors.Is(err, ErrNoAccounts):
	case err != nil:
		errs = append(errs, err)
	default:
		_, ierrs := im.Check(u)
		errs = append(errs, ierrs...)
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("--user %s: %w", u.Name, errors.Join(errs...))
}

// lstatIn is Lstat of p inside root, resolved through an os.Root so that a
// symlink in the image cannot lead the check out of it; a path that does
// not exist is (nil, nil).
func lstatIn(root, p string) (fs.FileInfo, error) {
	if root == "" {
		root = "/"
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	rel := strings.TrimLeft(p, "/")
	if rel == "" {
		rel = "."
	}
	fi, err := r.Lstat(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return fi, err
}
