package agent

import (
	"errors"
	"fmt"

	"github.com/ovfinit/ovfinit/hostname"
	"github.com/ovfinit/ovfinit/ovfenv"
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
	if p.User.LockPassword {
		bad(ovfenv.KeyUserLockPassword.Name, errors.New("is not supported on Windows: an account without a usable password gets a random one instead"))
	}
	if p.User.Password.IsHash() {
		bad(ovfenv.KeyPassword.Name, errors.New("is a crypt(3) hash, which Windows cannot use: give the password in clear"))
	}
	if p.Hostname != "" {
		if err := hostname.Check(goos, p.Hostname); err != nil {
			bad(p.HostnameKey, err)
		}
	}
	return errors.Join(errs...)
}
