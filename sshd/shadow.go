package sshd

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/ovfinit/ovfinit/internal/passwd"
	"github.com/ovfinit/ovfinit/internal/rootfs"
)

// ShadowEntry is the part of an account's shadow(5) entry that decides
// whether it may log in: the ageing fields, in days since 1970-01-01. An
// empty field is -1, as getspnam(3) gives it.
type ShadowEntry struct {
	LastChange int64 // field 3; 0 means the password must be changed at the next login
	Max        int64 // field 5: days a password stays valid
	Inactive   int64 // field 7: days after Max during which a change is still accepted
	Expire     int64 // field 8: the day the account expires
}

// accountState is what ShadowEntry.state decides.
type accountState int

const (
	accountOK         accountState = iota
	accountMustChange              // log in, but only to change the password
	accountExpired                 // no login by any method
)

// state applies pam_unix's rules (check_shadow_expiry, which Debian, Ubuntu,
// RHEL and SUSE run for every sshd login through UsePAM), today being days
// since the epoch. It returns the state and, when not OK, why, in words for
// the log.
func (e *ShadowEntry) state(today int64) (accountState, string) {
	if e == nil {
		return accountOK, ""
	}
	if e.Expire != -1 && today >= e.Expire {
		return accountExpired, "the account expired on " + day(e.Expire)
	}
	if e.LastChange == 0 {
		return accountMustChange, "the password must be changed (last change day 0: expire-password, chage -d 0, passwd -e)"
	}
	if today < e.LastChange || e.Max == -1 {
		return accountOK, "" // changed "in the future", or no ageing
	}
	age := today - e.LastChange
	if e.Inactive != -1 && age > e.Max+e.Inactive {
		return accountExpired, fmt.Sprintf("the password expired on %s and was not changed within the %d inactive days",
			day(e.LastChange+e.Max), e.Inactive)
	}
	if age > e.Max {
		return accountMustChange, "the password expired on " + day(e.LastChange+e.Max)
	}
	return accountOK, ""
}

// day formats a shadow day number as a date.
func day(d int64) string {
	return time.Unix(d*86400, 0).UTC().Format(time.DateOnly)
}

// today is the current day number, as shadow(5) counts days.
func today() int64 { return time.Now().Unix() / 86400 }

// ShadowAccounts returns a Config.Accounts that reads u's ageing fields from
// a shadow(5) file (normally /etc/shadow) at every login, so a change made
// meanwhile (passwd, chage) counts at once. A missing or unreadable file (a
// server that is not root), or no entry for u, gives nil: nothing to
// enforce, as OpenSSH does when getspnam finds nothing. A malformed entry
// for u is an error naming the file and line; the login is then refused.
func ShadowAccounts(path string) func(u *User) (*ShadowEntry, error) {
	return shadowAccounts(path, func() ([]byte, error) { return rootfs.ReadFile(path, passwd.MaxFile, shadowFile) })
}

// ShadowAccountsAt is ShadowAccounts for the shadow file name (a slash
// path) under the tree root, reached through rootfs.
func ShadowAccountsAt(root, name string) func(u *User) (*ShadowEntry, error) {
	return shadowAccounts(name, shadowReaderAt(root, name))
}

func shadowAccounts(path string, read func() ([]byte, error)) func(u *User) (*ShadowEntry, error) {
	return func(u *User) (*ShadowEntry, error) {
		data, err := read()
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		return parseShadowEntry(data, path, u.Name)
	}
}

// parseShadowEntry finds name in a shadow file's data and parses its ageing
// fields; file names the file in errors. No entry is nil, nil.
func parseShadowEntry(data []byte, file, name string) (*ShadowEntry, error) {
	line, f := passwd.FindLine(data, name)
	if f == nil {
		return nil, nil
	}
	if len(f) < 8 {
		if len(f) < 3 {
			return nil, nil // name and hash only: no ageing information
		}
		f = append(f, make([]string, 8-len(f))...)
	}
	e := &ShadowEntry{}
	for _, fd := range []struct {
		i    int
		name string
		p    *int64
	}{{2, "last change", &e.LastChange}, {4, "maximum age", &e.Max}, {6, "inactive days", &e.Inactive}, {7, "expire date", &e.Expire}} {
		v := strings.TrimSpace(f[fd.i])
		if v == "" {
			*fd.p = -1
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < -1 || n > 1<<40 {
			return nil, fmt.Errorf("%s:%d: user %q: field %d (%s) is %q, want a number of days", file, line, name, fd.i+1, fd.name, v)
		}
		*fd.p = n
	}
	return e, nil
}
