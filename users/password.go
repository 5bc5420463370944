package users

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"

	"github.com/go-crypt/crypt/algorithm"
	"github.com/go-crypt/crypt/algorithm/bcrypt"
	"github.com/go-crypt/crypt/algorithm/scrypt"
	"github.com/go-crypt/crypt/algorithm/shacrypt"

	"github.com/ovfinit/ovfinit/internal/rootfs"
)

// Password is a password as the environment gives it: a crypt(3) hash, or
// a clear text that Ensure hashes before anything touches the disk. It
// never prints its value: fmt, %v, %#v and slog all show "[REDACTED]", so
// a Plan or a User can be logged without leaking it.
type Password struct{ v string }

// NewPassword wraps a value from the environment. "" means no password.
func NewPassword(v string) Password { return Password{v: v} }

// Set reports whether a password was given.
func (p Password) Set() bool { return p.v != "" }

// IsHash reports whether the value is already a crypt(3) hash.
func (p Password) IsHash() bool { return IsHash(p.v) }

func (p Password) String() string {
	if p.v == "" {
		return ""
	}
	return "[REDACTED]"
}

// GoString keeps %#v from printing the value.
func (p Password) GoString() string { return `users.Password("` + p.String() + `")` }

// LogValue keeps slog from printing the value.
func (p Password) LogValue() slog.Value { return slog.StringValue(p.String()) }

// MarshalText keeps encoders (JSON in state or status files) from writing it.
func (p Password) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// hashRE matches the crypt(3) hash formats a shadow file holds and that
// ovfinit takes as already hashed: SHA-256/512 crypt ($5$, $6$, with an
// optional rounds= parameter), yescrypt ($y$, and libxcrypt's gost-yescrypt
// $gy$), bcrypt ($2a$, $2b$, $2y$) and scrypt ($7$).
var hashRE = regexp.MustCompile(`^(` +
	`\$[56]\$(rounds=[0-9]+\$)?[./0-9A-Za-z]{0,16}\$[./0-9A-Za-z]{43,86}` +
	`|\$g?y\$[./0-9A-Za-z]+\$[./0-9A-Za-z]*\$[./0-9A-Za-z]{43}` +
	`|\$2[aby]\$[0-9]{2}\$[./0-9A-Za-z]{53}` +
	`|\$7\$[./0-9A-Za-z]+\$[./0-9A-Za-z]{43}` +
	`)$`)

// IsHash reports whether s is a crypt(3) hash ovfinit can store as is. A
// yescrypt hash ($y$...) is one: cloud-init once set such a value as a
// literal clear password.
func IsHash(s string) bool { return hashRE.MatchString(s) }

// Hash methods, as /etc/login.defs ENCRYPT_METHOD names them.
const (
	MethodSHA512   = "SHA512"
	MethodYescrypt = "YESCRYPT"
)

// EncryptMethod reads ENCRYPT_METHOD from root's /etc/login.defs and maps it
// to the method ovfinit hashes with: YESCRYPT when the OS uses it (Debian 11+,
// Fedora 35+), SHA512 otherwise (also when the file or the setting is
// missing, or names something weaker such as MD5 or DES).
func EncryptMethod(root string) string {
	var data []byte
	err := withFS(root, func(rfs *rootfs.FS) (err error) {
		data, err = rfs.ReadFile("/etc/login.defs", 1<<20)
		return err
	})
	if err != nil {
		return MethodSHA512
	}
	method := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "ENCRYPT_METHOD" {
			method = strings.ToUpper(f[1])
		}
	}
	if method == MethodYescrypt {
		return MethodYescrypt
	}
	return MethodSHA512
}

// HashPassword hashes a clear password with method (MethodSHA512 or
// MethodYescrypt, with libxcrypt's default costs) and a random salt.
func HashPassword(clear, method string) (string, error) {
	if clear == "" {
		return "", errors.New("empty password")
	}
	switch method {
	case MethodYescrypt:
		h, err := scrypt.NewYescrypt(scrypt.WithLN(12), scrypt.WithR(32), scrypt.WithP(1))
		if err != nil {
			return "", err
		}
		d, err := h.Hash(clear)
		if err != nil {
			return "", fmt.Errorf("hashing the password with yescrypt: %w", err)
		}
		return d.Encode(), nil
	case MethodSHA512, "":
		h, err := shacrypt.New(shacrypt.WithVariant(shacrypt.VariantSHA512), shacrypt.WithIterations(5000))
		if err != nil {
			return "", err
		}
		d, err := h.Hash(clear)
		if err != nil {
			return "", fmt.Errorf("hashing the password with SHA-512 crypt: %w", err)
		}
		return d.Encode(), nil
	}
	return "", fmt.Errorf("unknown hash method %q (want %s or %s)", method, MethodSHA512, MethodYescrypt)
}

// hashFor returns the hash to store for p under root: p itself when it is
// already a hash, else p hashed the way root's OS hashes.
func (p Password) hashFor(root string) (string, error) {
	if !p.Set() {
		return "", nil
	}
	if p.IsHash() {
		return p.v, nil
	}
	if strings.ContainsAny(p.v, "\n\x00") {
		return "", errors.New("password: contains a newline or NUL")
	}
	return HashPassword(p.v, EncryptMethod(root))
}

// PasswordMatches reports whether the stored hash is what p asks for: the
// same hash, or a hash of the same clear text (checked with go-crypt, so a
// re-run does not re-hash and re-set an unchanged clear password).
func PasswordMatches(stored string, p Password) bool {
	if stored == "" || !p.Set() {
		return false
	}
	if p.IsHash() {
		return stored == p.v
	}
	ok, err := CheckHash(stored, []byte(p.v))
	return err == nil && ok
}

// CheckHash reports whether clear hashes to stored, a crypt(3) hash of a
// kind Linux shadow files hold today: SHA-crypt ($5$, $6$), yescrypt ($y$)
// or bcrypt ($2a$, $2b$, $2y$). Any other kind, or a hash that does not
// decode, is an error: it never matches.
func CheckHash(stored string, clear []byte) (bool, error) {
	var d algorithm.Digest
	var err error
	switch {
	case strings.HasPrefix(stored, "$5$"), strings.HasPrefix(stored, "$6$"):
		d, err = shacrypt.Decode(stored)
	case strings.HasPrefix(stored, "$y$"):
		d, err = scrypt.Decode(stored)
	case strings.HasPrefix(stored, "$2"):
		d, err = bcrypt.Decode(stored)
	default:
		return false, fmt.Errorf("not a SHA-crypt, yescrypt or bcrypt hash")
	}
	if err != nil {
		return false, err
	}
	return d.MatchBytesAdvanced(clear)
}
