package agent

import (
	"errors"
	"fmt"

	"github.com/ovfinit/ovfinit/hostname"
	"github.com/ovfinit/ovfinit/ovfenv"
	"github.com/ovfinit/ovfinit/users"
)

// windowsUserRefused are the user properties Windows' local accounts have
// no place for: a SID instead of a uid, a profile Windows makes at the
// first logon instead of a home, no login shell (the SSH server's shell is
// cmd.exe or PowerShell). Given on Windows they are refused, never
// dropped.
var windowsUserRefused = []struct {
	key ovfenv.Key
	why string
}{
	{ovfenv.KeyUserUID, "Windows accounts have a SID, not a uid"},
	{ovfenv.KeyUserHome, "Windows makes the profile directory at the first logon"},
	{ovfenv.KeyUserShell, "Windows accounts have no login shell (the SSH server runs cmd.exe or PowerShell)"},
}

// checkPlanForOS refuses, at validate and before anything is written,
// what the plan asks that the image's OS (Env.OS) cannot apply: on
// Windows the user properties above, a locked password and a crypt(3)
// hash as password, and a host name that is not a valid NetBIOS computer
// name. Every problem is returned, each naming its property.
func checkPlanForOS(env *ovfenv.Environment, p *Plan, goos string) error {
	if goos != "windows" || p == nil {
		return nil
	}
	var errs []error
	bad := func(key string, err error) {
		errs = append(errs, &PropertyError{Key: key, Line: env.PropertyLine(key), Err: err})
	}
	for _, k := range windowsUserRefused {
		if _, ok := env.Property(k.key.Name); ok {
			bad(k.key.Name, fmt.Errorf("is not supported on Windows: %s", k.why))
		}
	}
	// A local account's name is at most 20 characters (LM20_UNLEN);
	// NetUserAdd refuses a longer one, after the host name is set.
	const maxWindowsUser = 20
	if n := p.User.Name; len(n) > maxWindowsUser {
		bad(ovfenv.KeyUser.Name, fmt.Errorf("%q is %d characters long: a Windows account name has at most %d", n, len(n), maxWindowsUser))
	}
	if p.User.LockPassword {
		bad(ovfenv.KeyUserLockPassword.Name, errors.New("is not supported on Windows: an account without a usable password gets a random one instead"))
	}
	if p.User.Password.IsHash() {
		bad(ovfenv.KeyPassword.Name, errors.New("is a crypt(3) hash, which Windows cannot use: give the password in clear"))
	}
	if c := p.Cloud.Config; c != nil {
		// user-data's users: the same fields by their cloud-config names
		// (lock_passwd is left: cloud-init's default is true, and a locked
		// account on Windows gets a random password, as for the property).
		ud := ovfenv.KeyUserData.Name
		for _, u := range c.Users {
			if len(u.Name) > maxWindowsUser {
				bad(ud, fmt.Errorf("#cloud-config line %d: user %s is %d characters long: a Windows account name has at most %d", u.Line, u.Name, len(u.Name), maxWindowsUser))
			}
			for _, f := range []struct {
				set       bool
				name, why string
			}{
				{u.UID != 0, "uid", "Windows accounts have a SID, not a uid"},
				{u.Home != "", "homedir", "Windows makes the profile directory at the first logon"},
				{u.Shell != "", "shell", "Windows accounts have no login shell (the SSH server runs cmd.exe or PowerShell)"},
			} {
				if f.set {
					bad(ud, fmt.Errorf("#cloud-config line %d: user %s: %s is not supported on Windows: %s", u.Line, u.Name, f.name, f.why))
				}
			}
		}
		for _, u := range append(append([]users.User(nil), p.Cloud.Users...), p.Cloud.Passwords...) {
			if u.Password.IsHash() {
				bad(ud, fmt.Errorf("user %s: the password is a crypt(3) hash, which Windows cannot use: give it in clear", u.Name))
			}
		}
	}
	if p.Hostname != "" {
		if err := hostname.Check(goos, p.Hostname); err != nil {
			bad(p.HostnameKey, err)
		}
	}
	return errors.Join(errs...)
}
