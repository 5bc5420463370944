package users

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ovfinit/ovfinit/internal/rootfs"
)

// The key store is ovfinit's own copy of each user's authorized keys,
// STATE_DIR/keys/USER (mode 0600, authorized_keys format). The embedded
// SSH server reads it as well as ~/.ssh/authorized_keys, so keys work where
// the OS has no sshd, and on Windows where OpenSSH's ACL rules would reject
// the user's file.

// keyStorePath is where a user's stored keys live, under the root.
func keyStorePath(stateDir, user string) string {
	return path.Join("/", stateDir, "keys", user)
}

// stateFile is what a file of ovfinit's state directory must be to be
// read: a regular file of root's (or of the user ovfinit runs as), that
// nobody else may write.
var stateFile = rootfs.Check{Owners: rootfs.TrustedOwners(0), NotWritableByOthers: true}

// withFS runs fn with the rooted file system of root.
func withFS(root string, fn func(*rootfs.FS) error) error {
	rfs, err := rootfs.Open(root)
	if err != nil {
		return err
	}
	defer rfs.Close()
	return fn(rfs)
}

// StoreKeys replaces the user's stored keys with keys (authorized_keys
// lines, as ParseKeys returns them). No keys removes the file.
func StoreKeys(root, stateDir, user string, keys []string) error {
	if err := ValidateName(user); err != nil {
		return err
	}
	if len(keys) == 0 {
		return RemoveStoredKeys(root, stateDir, user)
	}
	for i, k := range keys {
		if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k)); err != nil || strings.ContainsAny(k, "\n\r") {
			return fmt.Errorf("key store: key %d of %s is not one SSH public key", i+1, user)
		}
	}
	p := keyStorePath(stateDir, user)
	return withFS(root, func(rfs *rootfs.FS) error {
		if err := rfs.MkdirAll(path.Dir(p), 0o700); err != nil {
			return fmt.Errorf("key store: %w", err)
		}
		if err := rfs.WriteFile(p, mergeKeys(nil, keys), 0o600, rootfs.Keep); err != nil {
			return fmt.Errorf("key store: writing keys of %s: %w", user, err)
		}
		return nil
	})
}

// StoredKeys returns the user's stored keys as authorized_keys lines,
// options included (from="10.0.0.0/8",no-pty ssh-ed25519 AAAA...): the
// SSH server enforces the options (sshd.ParseAuthorizedKeys reads the
// lines). None (and no error) when the user has no file. Blank lines,
// comments and lines that hold no key are skipped.
func StoredKeys(root, stateDir, user string) ([]string, error) {
	if err := ValidateName(user); err != nil {
		return nil, err
	}
	var data []byte
	err := withFS(root, func(rfs *rootfs.FS) (err error) {
		// Without blocking, and only a regular file of root's: the server
		// reads this at every attempt.
		data, err = rfs.ReadFileCheck(keyStorePath(stateDir, user), maxKeysFile, stateFile)
		return err
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("key store: %w", err)
	}
	return storedLines(data), nil
}

// storedLines are the lines of a key store file that hold a key.
func storedLines(data []byte) []string {
	var lines []string
	for line := range strings.SplitSeq(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line)); err == nil {
			lines = append(lines, line)
		}
	}
	return lines
}

// RemoveStoredKeys deletes the user's stored keys; a missing file is fine.
func RemoveStoredKeys(root, stateDir, user string) error {
	if err := ValidateName(user); err != nil {
		return err
	}
	err := withFS(root, func(rfs *rootfs.FS) error { return rfs.Remove(keyStorePath(stateDir, user)) })
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("key store: %w", err)
	}
	return nil
}

// Login is one successful SSH login, as the SSH server reports it.
type Login struct {
	User        string    `json:"user"`
	From        string    `json:"from"`        // remote address
	Fingerprint string    `json:"fingerprint"` // of the key used, "SHA256:..."; "" for a password
	Time        time.Time `json:"time"`
}

func loginPath(stateDir, user string) string {
	return path.Join("/", stateDir, "logins", user+".json")
}

// RecordLogin remembers l as the user's last login, in
// STATE_DIR/logins/USER.json (mode 0600). A login older than the one
// recorded is ignored.
func RecordLogin(root, stateDir string, l Login) error {
	if err := ValidateName(l.User); err != nil {
		return err
	}
	if prev, ok, err := LastLogin(root, stateDir, l.User); err == nil && ok && prev.Time.After(l.Time) {
		return nil
	}
	data, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	p := loginPath(stateDir, l.User)
	return withFS(root, func(rfs *rootfs.FS) error {
		if err := rfs.MkdirAll(path.Dir(p), 0o700); err != nil {
			return fmt.Errorf("recording login: %w", err)
		}
		if err := rfs.WriteFile(p, append(data, '\n'), 0o600, rootfs.Keep); err != nil {
			return fmt.Errorf("recording login of %s: %w", l.User, err)
		}
		return nil
	})
}

// LastLogin returns the user's last recorded login; ok is false when none
// was recorded.
func LastLogin(root, stateDir, user string) (Login, bool, error) {
	if err := ValidateName(user); err != nil {
		return Login{}, false, err
	}
	p := loginPath(stateDir, user)
	var data []byte
	err := withFS(root, func(rfs *rootfs.FS) (err error) {
		data, err = rfs.ReadFileCheck(p, 1<<16, stateFile)
		return err
	})
	if errors.Is(err, fs.ErrNotExist) {
		return Login{}, false, nil
	}
	if err != nil {
		return Login{}, false, err
	}
	var l Login
	if err := json.Unmarshal(data, &l); err != nil {
		return Login{}, false, fmt.Errorf("%s: %w", p, err)
	}
	return l, true, nil
}

// RemoveLogins forgets the user's logins.
func RemoveLogins(root, stateDir, user string) error {
	if err := ValidateName(user); err != nil {
		return err
	}
	err := withFS(root, func(rfs *rootfs.FS) error { return rfs.Remove(loginPath(stateDir, user)) })
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
