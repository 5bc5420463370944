package users

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh"
)

// FuzzKeyStoreRead feeds arbitrary key store files to StoredKeys, the
// reader the SSH server calls at every attempt: it must never panic nor
// fail on content (only on the file itself), and every line it returns must
// be an authorized_keys line that was in the file.
func FuzzKeyStoreRead(f *testing.F) {
	f.Add([]byte(keyA + "\n" + keyB + "\n"))
	f.Add([]byte("# comment\n\n" + keyA + "\nnot a key\n" + keyB))
	f.Add([]byte(`command="/bin/echo x",from="10.9.9.9",no-pty ` + keyA + "\n"))
	f.Add([]byte("ssh-ed25519 AAAA\n\x00\xff\n"))
	root := f.TempDir()
	dir := filepath.Join(root, "var", "lib", "ovfinit", "keys")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		f.Fatal(err)
	}
	p := filepath.Join(dir, "bob")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		keys, err := StoredKeys(root, "/var/lib/ovfinit", "bob")
		if err != nil {
			if len(data) <= maxKeysFile {
				t.Fatalf("StoredKeys(%q) = %v; want keys or none, never an error for content", data, err)
			}
			return
		}
		for _, line := range keys {
			if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line)); err != nil {
				t.Errorf("StoredKeys returned %q, which is not an authorized_keys line: %v", line, err)
			}
			if !bytes.Contains(data, []byte(line)) {
				t.Errorf("StoredKeys returned %q, which is not in the file %q", line, data)
			}
		}
	})
}
