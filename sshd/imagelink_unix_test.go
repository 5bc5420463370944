//go:build unix

package sshd

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ovfinit/ovfinit/internal/imagelink"
)

// TestHostKeyStaysInImage: a host key made under an offline image tree
// whose var is an absolute link to the build host's directory (a temporary
// directory standing for it) is written inside the image, where the link
// leads when resolved in the tree, never into the host's directory (issue
// 13, defect 1).
func TestHostKeyStaysInImage(t *testing.T) {
	tree := imagelink.New(t, "", "var")
	root, hostVar := tree.Root, tree.Host
	keys := NewHostKeys(HostKeysConfig{Root: root, Dir: "/var/lib/ovfinit"})
	err := keys.Load()
	if ents := tree.Leaked(); len(ents) > 0 {
		t.Errorf("Load(image with var -> %s) = %v and wrote onto the build host: %v", hostVar, err, ents)
	}
	if err != nil {
		t.Fatalf("Load() = %v, want a key inside the image", err)
	}
	k := keys.Primary()
	p := filepath.Join(root, hostVar, "lib/ovfinit", HostKeyFile(KeyEd25519))
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key inside the image %s: %v, %v; want mode 0600", p, fi, err)
	}
	again := NewHostKeys(HostKeysConfig{Root: root, Dir: "/var/lib/ovfinit"})
	if err := again.Load(); err != nil || string(again.Primary().PublicKey().Marshal()) != string(k.PublicKey().Marshal()) {
		t.Errorf("Load again = %v; want the same key back", err)
	}
}

// TestShadowStaysInImage: the shadow entries of a tree whose etc is an
// absolute link to the build host's directory (a temporary directory
// standing for it) are the tree's, where the link leads when resolved in
// it, never the build host's.
func TestShadowStaysInImage(t *testing.T) {
	hostEtc := filepath.Join(t.TempDir(), "host-etc")
	root := t.TempDir()
	for dir, day := range map[string]string{hostEtc: "111", filepath.Join(root, hostEtc): "222"} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "shadow"), []byte("alice:*:"+day+":0:99999:7:::\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(hostEtc, filepath.Join(root, "etc")); err != nil {
		t.Fatal(err)
	}
	e, err := ShadowAccountsAt(root, "/etc/shadow")(&User{Name: "alice"})
	if err != nil || e == nil || e.LastChange != 222 {
		t.Errorf("ShadowAccountsAt(tree with etc -> %s)(alice) = %+v, %v; want the tree's entry (last change 222), not the build host's (111)", hostEtc, e, err)
	}
}
