package users

// The netapi32 bindings; the line is here, in a file every OS builds, so
// that `go generate ./users` works on any host.
//go:generate go run golang.org/x/sys/windows/mkwinsyscall -output zsyscall_windows.go accounts_windows.go

import (
	"errors"
	"fmt"
	"slices"
)

// WinAccounts is what ovfinit needs from Windows' local account database
// (netapi32, accounts_windows.go); tests use a fake, so the Windows
// planner is tested on every OS.
type WinAccounts interface {
	UserExists(name string) (bool, error)
	AddUser(name, password string) error // password "" creates an account without one
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
		return acc.AddUser(o.Name, o.Password.v)
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
