package sshd

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/ovfinit/ovfinit/internal/rootfs"
)

// maxAuthorizedKeysFile bounds how much of an authorized_keys file is read.
const maxAuthorizedKeysFile = 1 << 20

// readAuthorizedKeys returns the keys in <home>/.ssh/authorized_keys, with
// their options as written. A missing file means no keys. Lines that do
// not parse, and certificates, are skipped and reported in skipped as
// "file:line: reason".
func readAuthorizedKeys(u *User) (keys []AuthorizedKey, skipped []string, err error) {
	path := filepath.Join(u.Home, ".ssh", "authorized_keys")
	// As OpenSSH's StrictModes: home, ~/.ssh and the file the user's or
	// root's and not writable by others, no link below home, a regular
	// file, opened without blocking (a FIFO must not park a thread).
	data, err := rootfs.ReadUserFile(u.Home, ".ssh/authorized_keys", int(u.UID), maxAuthorizedKeysFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("authorized keys of %q: %w", u.Name, err)
	}
	keys, skipped = ParseAuthorizedKeys(data, path)
	return keys, skipped, nil
}
