package sshd

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
)

// LocalAccountName turns the forms of a Windows login name into the local
// account's name: "DOMAIN\user", "MACHINE\user", ".\user" and
// "user@domain" all name user, as Win32-OpenSSH accepts them. ovfinit
// knows local accounts only: whatever domain is written, the login is the
// local account's and is authenticated with its keys or password, so the
// domain part picks nothing. Windows account names cannot contain '\' or
// '@', so the split is unambiguous. domain is what was written ("" for a
// plain name), for the log.
func LocalAccountName(login string) (name, domain string, err error) {
	name = login
	if i := strings.IndexByte(name, '\\'); i >= 0 {
		domain, name = name[:i], name[i+1:]
		if domain == "" {
			return "", "", fmt.Errorf("login name %q: empty domain before '\\' (use .\\user for this machine)", login)
		}
	} else if i := strings.LastIndexByte(name, '@'); i >= 0 {
		name, domain = name[:i], name[i+1:]
		if domain == "" {
			return "", "", fmt.Errorf("login name %q: empty domain after '@'", login)
		}
	}
	switch {
	case name == "":
		return "", "", fmt.Errorf("login name %q: %w", login, errors.New("no user name"))
	case strings.ContainsAny(name, `\@/[]:;|=,+*?<>"`):
		return "", "", fmt.Errorf("login name %q: %q is not a Windows account name", login, name)
	}
	return name, domain, nil
}

// sameAccount reports whether u, the user authentication accepted, is the
// account the connection's login name names: the same name, or on Windows
// the account LocalAccountName maps it to (".\bob" logged in as bob).
func sameAccount(u *User, login string) bool {
	if u.Name == login {
		return true
	}
	if runtime.GOOS != "windows" {
		return false
	}
	name, _, err := LocalAccountName(login)
	return err == nil && name == u.Name
}

// windowsShellArgs returns the argv and the command line (Windows hands a
// process one string, which ovfinit writes itself so that the command
// reaches the shell as the client wrote it) that run command through
// shell, with the option Win32-OpenSSH passes: cmd.exe /C, PowerShell
// (powershell.exe, pwsh.exe) -Command, any other shell (bash.exe) -c. An
// empty command starts the shell alone.
func windowsShellArgs(shell, command string) (argv []string, cmdline string) {
	argv, cmdline = []string{shell}, `"`+shell+`"`
	if command == "" {
		return argv, cmdline
	}
	base := strings.ToLower(shell[strings.LastIndexAny(shell, `\/`)+1:])
	opt := "-c"
	switch strings.TrimSuffix(base, ".exe") {
	case "cmd":
		opt = "/C"
	case "powershell", "pwsh":
		opt = "-Command"
	}
	return append(argv, opt, command), cmdline + " " + opt + " " + command
}
