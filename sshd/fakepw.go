package sshd

import (
	"crypto/rand"
	"math"
	"path/filepath"
	"strings"
	"sync"

	"github.com/ovfinit/ovfinit/users"
)

// checkHash verifies a password against a crypt(3) hash; a variable so that
// tests can count the verifications.
var checkHash = users.CheckHash

// fakeUser is what a password attempt that is refused for another reason
// (unknown user, root policy, expired account) is checked against, so that
// every attempt costs one hash verification and the time taken does not
// tell which accounts exist (OpenSSH's fakepw). No shadow line can have its
// name: it holds a colon.
var fakeUser = &User{Name: "ovfinit:no-such-user", UID: math.MaxUint32, GID: math.MaxUint32}

// dummyHash holds hashes of a random secret, one per method, made at first
// use with libxcrypt's default cost. Attempts on accounts that have no usable
// hash are verified against the one of the method the shadow file's accounts
// use (the most common among their hashes), or, when none tells, the method
// the system hashes new passwords with (ENCRYPT_METHOD in login.defs), so
// they cost what an attempt on a real account costs.
type dummyHash struct {
	fallback string // login.defs' method

	mu     sync.Mutex
	hashes map[string]string // method -> hash
}

func newDummyHash(root string) *dummyHash {
	return &dummyHash{fallback: users.EncryptMethod(root), hashes: map[string]string{}}
}

// check verifies password against the dummy hash for the method shadow (the
// shadow file's content, nil if unread) uses; the result is ignored.
func (d *dummyHash) check(shadow, password []byte) {
	method := shadowMethod(shadow, d.fallback)
	d.mu.Lock()
	h, ok := d.hashes[method]
	if !ok {
		h, _ = users.HashPassword(rand.Text(), method)
		d.hashes[method] = h // "" after an error: do not retry every time
	}
	d.mu.Unlock()
	if h != "" {
		checkHash(h, password)
	}
}

// shadowMethod is the hash method most accounts in a shadow file use, among
// those HashPassword makes; fallback when there is none.
func shadowMethod(shadow []byte, fallback string) string {
	var yes, sha int
	for line := range strings.Lines(string(shadow)) {
		_, rest, _ := strings.Cut(line, ":")
		switch {
		case strings.HasPrefix(rest, "$y$"):
			yes++
		case strings.HasPrefix(rest, "$6$"):
			sha++
		}
	}
	switch {
	case yes > sha:
		return users.MethodYescrypt
	case sha > yes:
		return users.MethodSHA512
	}
	return fallback
}

// shadowRoot is the root directory whose /etc/shadow path is: "/" for
// "/etc/shadow", "/mnt/img" for "/mnt/img/etc/shadow".
func shadowRoot(path string) string {
	p := filepath.ToSlash(filepath.Clean(path))
	if r, ok := strings.CutSuffix(p, "/etc/shadow"); ok {
		if r == "" {
			return "/"
		}
		return filepath.FromSlash(r)
	}
	return "/"
}
