//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReserveRefusesLinkedSSHDirCLI is issue 13's reproduction through the
// command: reserve alice with K1; alice replaces ~/.ssh by a link to
// ../../root/.ssh; reserve again with K2 fails naming the link and root's
// authorized_keys is untouched.
func TestReserveRefusesLinkedSSHDirCLI(t *testing.T) {
	const keyB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK7nExHSqZ6GxMtawvlj2MfiQwbU5mbd/DOAl8b9SrFF b@example"
	const rootKeys = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDontTouchRootsKeysxxxxxxxxxxxxxxxxxxxxxxxx root@host\n"
	root := testRoot(t, "")
	os.MkdirAll(filepath.Join(root, "root", ".ssh"), 0o700)
	if err := os.WriteFile(filepath.Join(root, "root", ".ssh", "authorized_keys"), []byte(rootKeys), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, code := execute(t, "reserve", "--root", root, "--user", "alice", "--key", testKeyA); code != exitOK {
		t.Fatalf("reserve alice K1 = exit %d, %q", code, out)
	}
	ssh := filepath.Join(root, "home", "alice", ".ssh")
	if err := os.RemoveAll(ssh); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../root/.ssh", ssh); err != nil {
		t.Fatal(err)
	}
	out, code := execute(t, "reserve", "--root", root, "--user", "alice", "--key", testKeyA, "--key", keyB)
	if code == exitOK || !strings.Contains(out, "/home/alice/.ssh: symbolic link not followed") {
		t.Errorf("reserve alice K2 after the link = exit %d, %q; want a failure naming /home/alice/.ssh", code, out)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "root", ".ssh", "authorized_keys")); string(b) != rootKeys {
		t.Errorf("root's authorized_keys = %q, want it untouched", b)
	}
}
