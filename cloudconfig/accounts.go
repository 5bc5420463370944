package cloudconfig

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ovfinit/ovfinit/ovfenv"
	"github.com/ovfinit/ovfinit/users"
)

// CheckPassword refuses what cannot be a password line for chpasswd
// (users.CheckPassword).
func CheckPassword(v string) error {
	if err := users.CheckPassword(v); err != nil {
		return fmt.Errorf("a password %w", err)
	}
	return nil
}

// adminGroups are the groups the administrator setting (sudo) stands for:
// users adds sudo and wheel where they exist.
var adminGroups = []string{"sudo", "wheel", "admin"}

// Account turns a users entry into the account to ensure. The
// environment's author chose its groups, so the system-account policy
// warns rather than refuses (as ovfinit.user.allow-system does).
func (cu User) Account() (u users.User, warnings, errs []error) {
	u = users.User{Name: cu.Name, Comment: cu.Gecos, Shell: cu.Shell, Home: cu.Home, UID: cu.UID, PrimaryGroup: cu.PrimaryGroup,
		Admin: cu.Admin, LockPassword: cu.LockPasswd, AllowSystem: true}
	if err := users.ValidateName(cu.Name); err != nil {
		errs = append(errs, err)
	}
	for _, g := range cu.Groups {
		if u.Admin && slices.Contains(adminGroups, g) {
			continue
		}
		if err := users.ValidateName(g); err != nil {
			errs = append(errs, fmt.Errorf("groups: %v", err))
		}
		u.Groups = append(u.Groups, g)
	}
	for _, f := range []struct{ name, v string }{{"shell", u.Shell}, {"homedir", u.Home}} {
		if f.v == "" {
			continue
		}
		if err := users.CheckPath(f.v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.name, err))
		}
	}
	if cu.Password != "" {
		if err := CheckPassword(cu.Password); err != nil {
			errs = append(errs, err)
		} else {
			u.Password = users.NewPassword(cu.Password)
		}
	}
	if len(cu.Keys) > 0 {
		keys, err := users.ParseKeys(strings.Join(cu.Keys, "\n"))
		if err != nil {
			errs = append(errs, fmt.Errorf("ssh_authorized_keys: %v", err))
		}
		u.Keys = keys
	}
	warns, perrs := users.CheckRequest(u)
	return u, warns, append(errs, perrs...)
}

// Account gives u (the environment's user: its keys and password) what
// cloud-init gives the image's default user: its name unless keepName
// (user-data's user: renamed it), groups, the passwordless sudo rule, its
// shell and a locked password unless u has one.
func (du *DefaultUser) Account(u users.User, keepName bool) (users.User, error) {
	if !keepName {
		u.Name = du.Name
	}
	u.Shell = du.Shell
	u.Comment = du.Gecos
	u.PrimaryGroup = du.PrimaryGroup
	for _, rule := range du.Sudo {
		if !AdminRule(rule) {
			return u, fmt.Errorf("the image's default user %s (%s): sudo rule %q is not supported: ovfinit writes only %q (set %s to choose another user)",
				du.Name, du.Source, rule, "ALL=(ALL) NOPASSWD:ALL", ovfenv.KeyUser.Name)
		}
		u.Admin = true
	}
	u.Groups = nil
	for _, g := range du.Groups {
		if u.Admin && slices.Contains(adminGroups, g) {
			continue // the administrator setting adds sudo and wheel where they exist
		}
		u.Groups = append(u.Groups, g)
	}
	// The image builder chose these groups (adm, say), not the
	// environment: the system-account policy's refusals are warnings.
	u.AllowSystem = true
	u.LockPassword = du.LockPasswd && !u.Password.Set()
	return u, nil
}

// Accounts are the accounts a boot ends with from user-data: the default
// user (unless NoDefault), user-data's users (in Config.Users' order) and
// chpasswd's other accounts.
type Accounts struct {
	Default   users.User
	NoDefault bool
	Users     []users.User
	Passwords []users.User
}

// CheckOnImage checks user-data's users and chpasswd accounts against the
// image's accounts under root, and write_files owners against them and the
// users a adds. Every problem is returned, each at its line.
func (c *Config) CheckOnImage(root string, a Accounts) []*Error {
	var errs []*Error
	at := func(line int, key, format string, args ...any) {
		errs = append(errs, &Error{Line: line, Key: key, Err: fmt.Errorf(format, args...)})
	}
	for i, u := range a.Users {
		if u.Name == a.Default.Name && !a.NoDefault {
			at(c.Users[i].Line, "users", "%s is the default user (list it as `- default`; ovfinit.user.* properties or the image's cloud.cfg configure it)", u.Name)
		}
	}
	im, err := users.ReadImage(root)
	if errors.Is(err, users.ErrNoAccounts) {
		return errs
	}
	if err != nil {
		return append(errs, &Error{Key: "users", Err: fmt.Errorf("checking user-data's users against the image: %w", err)})
	}
	for i, u := range a.Users {
		_, uerrs := im.Check(u)
		for _, err := range uerrs {
			at(c.Users[i].Line, "users", "%s: %v", u.Name, err)
		}
	}
	planned := map[string]bool{a.Default.Name: !a.NoDefault}
	groups := map[string]bool{a.Default.Name: !a.NoDefault}
	for _, u := range a.Users {
		planned[u.Name], groups[u.Name] = true, true
		groups[u.PrimaryGroup] = true
		for _, g := range u.Groups {
			groups[g] = true
		}
	}
	for _, u := range a.Default.Groups {
		groups[u] = true
	}
	for _, g := range c.Groups {
		groups[g.Name] = true
		for _, m := range g.Members {
			if !planned[m] && !im.DB.HasUser(m) {
				at(g.Line, "groups", "%s: member %s is not an account of the image nor one user-data adds", g.Name, m)
			}
		}
	}
	for _, pw := range a.Passwords {
		if !im.DB.HasUser(pw.Name) {
			at(c.Chpasswd.Line, "chpasswd", "%s is not an account of the image nor one user-data adds", pw.Name)
		}
	}
	for _, f := range c.WriteFiles {
		u, g, _ := strings.Cut(f.Owner, ":")
		if !planned[u] && !im.DB.HasUser(u) {
			at(f.Line, "write_files", "%s: owner %s is not an account of the image nor one user-data adds", f.Path, u)
		} else if planned[u] && !im.DB.HasUser(u) && !f.Defer {
			at(f.Line, "write_files", "%s: owner %s is created later in the boot: add defer: true, as cloud-init needs", f.Path, u)
		}
		if g != "" && !groups[g] && !im.DB.HasGroup(g) {
			at(f.Line, "write_files", "%s: group %s is not a group of the image nor one user-data adds", f.Path, g)
		}
	}
	return errs
}

// EnsureAccounts applies user-data's groups, users and chpasswd: each
// group through ensureGroup, then each of a's Users and Passwords through
// ensure with the groups that list it as a member added, then the members
// left (existing accounts, the default user) join theirs. It returns what
// it did ("group ops", "user alice").
func (c *Config) EnsureAccounts(ctx context.Context, a Accounts,
	ensureGroup func(ctx context.Context, name string) (created bool, err error),
	ensure func(users.User) error) ([]string, error) {
	var done []string
	for _, g := range c.Groups {
		created, err := ensureGroup(ctx, g.Name)
		if err != nil {
			return done, fmt.Errorf("groups (user-data line %d): %w", g.Line, err)
		}
		if created {
			done = append(done, "group "+g.Name)
		}
	}
	// Members of groups join them along with the users' own groups.
	members := map[string][]string{}
	for _, g := range c.Groups {
		for _, u := range g.Members {
			members[u] = append(members[u], g.Name)
		}
	}
	one := func(u users.User) error {
		u.Groups = append(u.Groups, members[u.Name]...)
		delete(members, u.Name)
		if err := ensure(u); err != nil {
			return err
		}
		done = append(done, "user "+u.Name)
		return nil
	}
	for _, u := range append(slices.Clip(a.Users), a.Passwords...) {
		if err := one(u); err != nil {
			return done, err
		}
	}
	// The rest are existing accounts, or the default user: they only join.
	rest := make([]string, 0, len(members))
	for name := range members {
		rest = append(rest, name)
	}
	slices.Sort(rest)
	for _, name := range rest {
		if err := one(users.User{Name: name, AllowSystem: true}); err != nil { // one adds its groups
			return done, err
		}
	}
	return done, nil
}
