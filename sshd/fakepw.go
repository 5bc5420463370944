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

// dummyHash is a hash of a random secret made with the method the system
// hashes new passwords with (ENCRYPT_METHOD in login.defs, libxcrypt's
// default cost), made at first use. Attempts on accounts that have no
// usable hash are verified against it, costing what a real account costs.
type dummyHash struct {
	method string
	once   sync.Once
	hash   string
}

func newDummyHash(shadowPath string) *dummyHash {
	return &dummyHash{method: users.EncryptMethod(shadowRoot(shadowPath))}
}

// check verifies password against the dummy hash; the result is ignored.
func (d *dummyHash) check(password []byte) {
	d.once.Do(func() {
		if h, err := users.HashPassword(rand.Text(), d.method); err == nil {
			d.hash = h
		}
	})
	if d.hash != "" {
		checkHash(d.hash, password)
	}
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
