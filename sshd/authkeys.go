package sshd

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/ovfinit/ovfinit/internal/rootfs"
	gossh "golang.org/x/crypto/ssh"
)

// maxAuthorizedKeysFile bounds how much of an authorized_keys file is read.
const maxAuthorizedKeysFile = 1 << 20

// readAuthorizedKeys returns the keys in <home>/.ssh/authorized_keys. A
// missing file means no keys. Lines that do not parse, and keys carrying
// options (command=, from=, restrict, ...), which this server does not
// enforce, are skipped and reported in skipped as "file:line: reason".
func readAuthorizedKeys(u *User) (keys []gossh.PublicKey, skipped []string, err error) {
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
	keys, skipped = parseAuthorizedKeys(data, path)
	return keys, skipped, nil
}

// parseAuthorizedKeys parses an authorized_keys file; file names it in the
// skipped messages. It never fails: a bad line costs only that key.
func parseAuthorizedKeys(data []byte, file string) (keys []gossh.PublicKey, skipped []string) {
	for n, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		key, _, options, _, err := gossh.ParseAuthorizedKey(line)
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("%s:%d: not a public key", file, n+1))
			continue
		}
		if len(options) > 0 {
			skipped = append(skipped, fmt.Sprintf("%s:%d: key options are not supported (%d given); key ignored", file, n+1, len(options)))
			continue
		}
		if _, isCert := key.(*gossh.Certificate); isCert {
			skipped = append(skipped, fmt.Sprintf("%s:%d: certificates are not supported; key ignored", file, n+1))
			continue
		}
		keys = append(keys, key)
	}
	return keys, skipped
}
