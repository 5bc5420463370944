package sshd

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/ovfinit/ovfinit/internal/fsutil"
)

// maxAuthorizedKeysFile bounds how much of an authorized_keys file is read.
const maxAuthorizedKeysFile = 1 << 20

// readAuthorizedKeys returns the keys in <home>/.ssh/authorized_keys, with
// their options as written. A missing file means no keys. Lines that do
// not parse, and certificates, are skipped and reported in skipped as
// "file:line: reason".
func readAuthorizedKeys(u *User) (keys []AuthorizedKey, skipped []string, err error) {
	path := filepath.Join(u.Home, ".ssh", "authorized_keys")
	data, err := fsutil.ReadFileLimit(path, maxAuthorizedKeysFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("authorized keys of %q: %w", u.Name, err)
	}
	keys, skipped = ParseAuthorizedKeys(data, path)
	return keys, skipped, nil
}
