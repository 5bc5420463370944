package users

import (
	"bufio"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/ovfinit/ovfinit/internal/passwd"
	"golang.org/x/crypto/ssh"
)

// User is an account the environment asks for.
type User struct {
	Name  string
	Keys  []string // authorized_keys lines, already validated by ParseKeys
	Shell string   // default /bin/sh
	Home  string   // default /home/NAME
	// Comment is a new account's GECOS field (cloud-init's gecos): no ':'
	// or newline. An existing account keeps its own.
	Comment string

	UID          int      // 0: the lowest free id from 1000 (root is never created)
	PrimaryGroup string   // default: a group named like the user, created when missing
	Groups       []string // supplementary groups, created when missing
	Admin        bool     // sudo rights: sudoers.d file, and the sudo/wheel group where present

	Password       Password // hash or clear text; unset: the account has no password
	LockPassword   bool     // lock the password (SSH keys still work)
	ExpirePassword bool     // force a password change at first login

	// AllowSystem accepts what the system-account policy refuses (a system
	// account, a system directory as home, a privileged group, a shell
	// /etc/shells does not list): CheckRequest and Image.Check report it as
	// a warning instead of an error.
	AllowSystem bool
}

// Account is the account as it exists after Ensure.
type Account struct {
	Name     string
	UID, GID int
	Home     string
	Shell    string
	Created  bool // false when the account already existed
	KeysFile string
}

var nameRE = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)

// ValidateName checks a user name against the portable rules useradd uses.
func ValidateName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("invalid user name %q: use 1-32 lower-case letters, digits, '_' or '-', not starting with a digit or '-'", name)
	}
	return nil
}

// CheckPath checks a home directory or login shell: an absolute path
// without ':', a newline or NUL (passwd(5)'s fields are colon-separated
// lines).
func CheckPath(p string) error {
	if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, ":\n\x00") {
		return fmt.Errorf("want an absolute path without ':', got %q", p)
	}
	return nil
}

// CheckPassword refuses what cannot be a password in clear for the
// account files (a newline, NUL or ':'); a crypt(3) hash (IsHash) is
// taken as it is.
func CheckPassword(v string) error {
	if strings.ContainsAny(v, "\n\r\x00:") && !IsHash(v) {
		return fmt.Errorf("must not contain a newline, NUL or ':'")
	}
	return nil
}

// ParseKeys splits a newline-separated list of SSH public keys (cloud-init's
// public-keys) and checks each one. Blank lines and # comments are skipped.
// Errors name the line within the value and never echo the key material.
func ParseKeys(text string) ([]string, error) {
	var keys []string
	var errs []error
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line)); err != nil {
			errs = append(errs, fmt.Errorf("line %d: not an SSH public key (%v)", n, err))
			continue
		}
		keys = append(keys, line)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	return keys, errors.Join(errs...)
}

// usedIDs collects the numeric ids in field idx.
func usedIDs(db []passwd.Entry, idx int) map[int]bool {
	used := map[int]bool{}
	for _, e := range db {
		if len(e) > idx {
			if id, err := strconv.Atoi(e[idx]); err == nil {
				used[id] = true
			}
		}
	}
	return used
}

// Ordinary user and group ids, as in Debian's login.defs.
const (
	firstID = 1000
	lastID  = 59999
)

// allocate picks the lowest free id in [firstID, lastID], preferring want.
func allocate(used map[int]bool, want int) (int, error) {
	if want >= firstID && want <= lastID && !used[want] {
		return want, nil
	}
	for id := firstID; id <= lastID; id++ {
		if !used[id] {
			return id, nil
		}
	}
	return 0, errors.New("no free id left between 1000 and 59999")
}

// mergeKeys returns the authorized_keys content with want added to what the
// file already had. A wanted key already in the file (same type and blob)
// takes the wanted line's place, options included, so that a key configured
// with restrictions (no-pty, from=, ...) never keeps an older, wider line;
// other lines are kept as they were.
func mergeKeys(existing []byte, want []string) []byte {
	wanted := map[string]string{} // key blob -> the first wanted line
	var order []string
	for _, l := range want {
		k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(l))
		if err != nil {
			continue
		}
		b := string(k.Marshal())
		if _, dup := wanted[b]; !dup {
			wanted[b] = l
			order = append(order, b)
		}
	}
	placed := map[string]bool{}
	var lines []string
	for _, l := range strings.Split(string(existing), "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		if k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(l)); err == nil {
			b := string(k.Marshal())
			if w, ok := wanted[b]; ok {
				if !placed[b] {
					lines = append(lines, w)
					placed[b] = true
				}
				continue
			}
		}
		lines = append(lines, l)
	}
	for _, b := range order {
		if !placed[b] {
			lines = append(lines, wanted[b])
		}
	}
	if len(lines) == 0 {
		return nil
	}
	return []byte(strings.Join(lines, "\n") + "\n")
}
