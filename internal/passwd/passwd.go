// Package passwd reads the local account files of a tree: passwd(5),
// group(5), shadow(5) and gshadow(5), colon-separated lines, one account
// or group per line. It is the one reader: users plans and edits accounts
// with it, sshd looks up who logs in and checks their shadow entry, the
// scripts' file owners resolve through it.
//
// It reads the files itself (no cgo, no NSS: local accounts only), through
// internal/rootfs (no link leads out of the tree, no FIFO parks a reader),
// at most MaxFile bytes.
//
// A name matches a line only exactly ("bob" is not "bobby") and never a
// comment or NIS line ("#...", "+...", "-..."). Lookups of one name
// (LookupUser, Groups) skip malformed lines of other names, as the C
// library does, and fail on a malformed line of that name, naming the
// file and line.
package passwd

import (
	"bytes"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"

	"github.com/ovfinit/ovfinit/internal/rootfs"
)

// MaxFile bounds how much of an account file is read.
const MaxFile = 64 << 20

// ErrUnknownUser is returned (wrapped) by LookupUser for a name the passwd
// file does not have.
var ErrUnknownUser = errors.New("unknown user")

// Entry is one line of an account file split at its colons.
type Entry []string

// Name is the entry's first field: the user or group name.
func (e Entry) Name() string {
	if len(e) == 0 {
		return ""
	}
	return e[0]
}

// Lines yields every non-empty line of an account file with its number
// (from 1), comments included: a rewrite keeps them.
func Lines(data []byte) iter.Seq2[int, Entry] {
	return func(yield func(int, Entry) bool) {
		n := 0
		for line := range bytes.Lines(data) {
			n++
			s := strings.TrimSuffix(string(line), "\n")
			if s == "" {
				continue
			}
			if !yield(n, strings.Split(s, ":")) {
				return
			}
		}
	}
}

// Parse returns every non-empty line of an account file, in order.
func Parse(data []byte) []Entry {
	var db []Entry
	for _, e := range Lines(data) {
		db = append(db, e)
	}
	return db
}

// Format is the file content of db: one line per entry.
func Format(db []Entry) []byte {
	var b bytes.Buffer
	for _, e := range db {
		b.WriteString(strings.Join(e, ":"))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// Matchable reports whether name can match a line: not empty, no colon or
// newline, not a comment or NIS marker.
func Matchable(name string) bool {
	return name != "" && !strings.ContainsAny(name, ":\n") && !strings.ContainsRune("#+-", rune(name[0]))
}

// Find returns the first entry of db named exactly name; nil when none is.
func Find(db []Entry, name string) Entry {
	if !Matchable(name) {
		return nil
	}
	for _, e := range db {
		if e.Name() == name {
			return e
		}
	}
	return nil
}

// FindLine returns the first line of an account file named exactly name
// and its number; 0, nil when none is.
func FindLine(data []byte, name string) (int, Entry) {
	if !Matchable(name) {
		return 0, nil
	}
	for n, e := range Lines(data) {
		if e.Name() == name {
			return n, e
		}
	}
	return 0, nil
}

// User is a passwd(5) entry's account.
type User struct {
	Name     string
	UID, GID uint32
	Home     string
	Shell    string // as written; "" when the field is empty
}

// LookupUser finds name in passwd data; file names the file in errors. A
// name that is not there is an error wrapping ErrUnknownUser.
func LookupUser(data []byte, file, name string) (*User, error) {
	if !Matchable(name) {
		return nil, fmt.Errorf("user %q: %w", name, ErrUnknownUser)
	}
	line, f := FindLine(data, name)
	if f == nil {
		return nil, fmt.Errorf("user %q not in %s: %w", name, file, ErrUnknownUser)
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

// Groups returns primary followed by the GID of every group(5) entry in
// data that lists name as a member; file names the file in errors. A
// malformed line that lists name is an error; other malformed lines are
// skipped.
func Groups(data []byte, file, name string, primary uint32) ([]uint32, error) {
	groups := []uint32{primary}
	for line, f := range Lines(data) {
		if n := f.Name(); n != "" && strings.ContainsRune("#+-", rune(n[0])) {
			continue // a comment or NIS line
		}
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
	return groups, nil
}

// Read reads the account file name (a slash path) under the tree root,
// at most MaxFile bytes, refusing what c refuses (and always a FIFO or a
// device: it never blocks).
func Read(root, name string, c rootfs.Check) ([]byte, error) {
	f, err := rootfs.Open(root)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadFileCheck(name, MaxFile, c)
}
