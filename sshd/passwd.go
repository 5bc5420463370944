package sshd

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/ovfinit/ovfinit/internal/rootfs"
)

// ErrUnknownUser is returned (wrapped) by LookupUser functions for a login
// name the system does not know.
var ErrUnknownUser = errors.New("unknown user")

// User is an account a client may log in as.
type User struct {
	Name     string
	UID, GID uint32
	Groups   []uint32 // supplementary groups, the primary GID first
	Home     string
	Shell    string // login shell; /bin/sh when empty
}

// maxAccountFile bounds how much of /etc/passwd or /etc/group is read.
const maxAccountFile = 16 << 20

// lookupPasswd resolves name from the passwd and group files at passwdPath
// and groupPath (normally /etc/passwd and /etc/group). It reads the files
// itself, so it needs no cgo and sees only local accounts (no NSS, LDAP or
// sssd). A name that is not in the passwd file is an error wrapping
// ErrUnknownUser.
func lookupPasswd(passwdPath, groupPath, name string) (*User, error) {
	pw, err := rootfs.ReadFile(passwdPath, maxAccountFile, rootfs.Check{}) // never blocks on a FIFO
	if err != nil {
		return nil, fmt.Errorf("looking up user %q: %w", name, err)
	}
	u, err := parsePasswd(bytes.NewReader(pw), passwdPath, name)
	if err != nil {
		return nil, err
	}
	gr, err := rootfs.ReadFile(groupPath, maxAccountFile, rootfs.Check{})
	if err != nil {
		return nil, fmt.Errorf("looking up groups of %q: %w", name, err)
	}
	u.Groups, err = parseGroups(bytes.NewReader(gr), groupPath, name, u.GID)
	if err != nil {
		return nil, err
	}
	return u, nil
}

// parsePasswd finds name in a passwd(5) file read from r; file names the
// file in errors. Malformed lines of other users are skipped, as the C
// library does; a malformed line for name is an error naming file and line.
func parsePasswd(r io.Reader, file, name string) (*User, error) {
	if name == "" || strings.ContainsAny(name, ":\n") {
		return nil, fmt.Errorf("user %q: %w", name, ErrUnknownUser)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if text == "" || text[0] == '#' || text[0] == '+' || text[0] == '-' {
			continue
		}
		f := strings.Split(text, ":")
		if f[0] != name {
			continue
		}
		if len(f) != 7 {
			return nil, fmt.Errorf("%s:%d: user %q: want 7 colon-separated fields, got %d", file, line, name, len(f))
		}
		uid, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: user %q: bad uid %q", file, line, name, f[2])
		}
		gid, err := strconv.ParseUint(f[3], 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: user %q: bad gid %q", file, line, name, f[3])
		}
		return &User{Name: name, UID: uint32(uid), GID: uint32(gid), Home: f[5], Shell: f[6]}, nil
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	return nil, fmt.Errorf("user %q not in %s: %w", name, file, ErrUnknownUser)
}

// parseGroups returns primary followed by the GID of every group(5) entry
// read from r that lists name as a member. A malformed line that lists name
// is an error naming file and line; other malformed lines are skipped.
func parseGroups(r io.Reader, file, name string, primary uint32) ([]uint32, error) {
	groups := []uint32{primary}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if text == "" || text[0] == '#' || text[0] == '+' || text[0] == '-' {
			continue
		}
		f := strings.Split(text, ":")
		if len(f) != 4 {
			if slices.Contains(strings.Split(f[len(f)-1], ","), name) {
				return nil, fmt.Errorf("%s:%d: group %q: want 4 colon-separated fields, got %d", file, line, f[0], len(f))
			}
			continue
		}
		if !slices.Contains(strings.Split(f[3], ","), name) {
			continue
		}
		gid, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: group %q: bad gid %q", file, line, f[0], f[2])
		}
		if !slices.Contains(groups, uint32(gid)) {
			groups = append(groups, uint32(gid))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	return groups, nil
}

// LookupUser resolves name the way the server does by default: from
// /etc/passwd and /etc/group on Unix, from the OS on Windows.
func LookupUser(name string) (*User, error) { return defaultLookupUser(name) }
