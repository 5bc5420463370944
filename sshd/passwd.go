package sshd

import (
	"fmt"

	"github.com/ovfinit/ovfinit/internal/passwd"
	"github.com/ovfinit/ovfinit/internal/rootfs"
)

// ErrUnknownUser is returned (wrapped) by LookupUser functions for a login
// name the system does not know.
var ErrUnknownUser = passwd.ErrUnknownUser

// User is an account a client may log in as.
type User struct {
	Name     string
	UID, GID uint32
	Groups   []uint32 // supplementary groups, the primary GID first
	Home     string
	Shell    string // login shell; /bin/sh when empty
}

// lookupPasswd resolves name from the passwd and group files at passwdPath
// and groupPath (normally /etc/passwd and /etc/group) with internal/passwd:
// local accounts only (no NSS, LDAP or sssd), no cgo. A name that is not
// in the passwd file is an error wrapping ErrUnknownUser.
func lookupPasswd(passwdPath, groupPath, name string) (*User, error) {
	pw, err := rootfs.ReadFile(passwdPath, passwd.MaxFile, rootfs.Check{}) // never blocks on a FIFO
	if err != nil {
		return nil, fmt.Errorf("looking up user %q: %w", name, err)
	}
	p, err := passwd.LookupUser(pw, passwdPath, name)
	if err != nil {
		return nil, err
	}
	gr, err := rootfs.ReadFile(groupPath, passwd.MaxFile, rootfs.Check{})
	if err != nil {
		return nil, fmt.Errorf("looking up groups of %q: %w", name, err)
	}
	groups, err := passwd.Groups(gr, groupPath, name, p.GID)
	if err != nil {
		return nil, err
	}
	return &User{Name: p.Name, UID: p.UID, GID: p.GID, Groups: groups, Home: p.Home, Shell: p.Shell}, nil
}

// LookupUser resolves name the way the server does by default: from
// /etc/passwd and /etc/group on Unix, from the OS on Windows.
func LookupUser(name string) (*User, error) { return defaultLookupUser(name) }
