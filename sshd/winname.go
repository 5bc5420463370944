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
