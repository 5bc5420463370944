package sshd

import (
	"fmt"

	"github.com/ovfinit/ovfinit/internal/passwd"
	"github.com/ovfinit/ovfinit/internal/rootfs"
)

// ShadowPasswords returns a Config.CheckPassword that verifies passwords
// against the hashes in a shadow(5) file (normally /etc/shadow), read at
// every attempt so a changed password counts at once. Locked ("!..."),
// empty and unknown-format hashes never match. Every attempt costs one hash
// verification: one without a usable hash is checked against a dummy hash
// of the system's method (fakepw.go), so the time does not tell.
func ShadowPasswords(path string) (func(u *User, password []byte) error, error) {
	return shadowPasswords(path, shadowRoot(path), func() ([]byte, error) {
		return rootfs.ReadFile(path, passwd.MaxFile, shadowFile)
	})
}

// ShadowPasswordsAt is ShadowPasswords for the shadow file name (a slash
// path, normally /etc/shadow) under the tree root, reached through rootfs:
// a link in the tree never leads out of it.
func ShadowPasswordsAt(root, name string) (func(u *User, password []byte) error, error) {
	if root == "" {
		root = "/"
	}
	return shadowPasswords(name, root, shadowReaderAt(root, name))
}

// shadowReaderAt reads name under root as a shadow file must be read.
func shadowReaderAt(root, name string) func() ([]byte, error) {
	return func() ([]byte, error) { return passwd.Read(root, name, shadowFile) }
}

// shadowPasswords does ShadowPasswords with read, path naming the file in
// errors and root the tree whose login.defs picks the dummy hash.
func shadowPasswords(path, root string, read func() ([]byte, error)) (func(u *User, password []byte) error, error) {
	dummy := newDummyHash(root)
	return func(u *User, password []byte) error {
		// Without blocking, and only a regular file of root's that nobody
		// else can write: a FIFO must not park a thread per attempt.
		data, err := read()
		if err != nil {
			dummy.check(nil, password)
			return fmt.Errorf("reading %s: %w", path, err)
		}
		hash, err := shadowHash(data, path, u.Name)
		if err != nil {
			dummy.check(data, password)
			return err
		}
		if hash == "" || hash[0] == '!' || hash[0] == '*' {
			dummy.check(data, password)
			return fmt.Errorf("%w: the account has no usable password", errBadPassword)
		}
		// One checker for the whole agent: users hashes and checks the
		// same kinds.
		ok, err := checkHash(hash, password)
		if err != nil {
			dummy.check(data, password)
			return fmt.Errorf("%w: %s: hash of %q is in a format ovfinit does not check", errBadPassword, path, u.Name)
		}
		if !ok {
			return errBadPassword
		}
		return nil
	}, nil
}

// shadowFile is what a shadow file must be to be read.
var shadowFile = rootfs.Check{Owners: rootfs.TrustedOwners(0), NotWritableByOthers: true}

// shadowHash returns the hash field of name in a shadow file.
func shadowHash(data []byte, file, name string) (string, error) {
	if _, f := passwd.FindLine(data, name); len(f) >= 2 {
		return f[1], nil
	}
	return "", fmt.Errorf("%w: %q has no entry in %s", errBadPassword, name, file)
}
