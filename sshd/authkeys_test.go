package sshd

import (
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	gossh "golang.org/x/crypto/ssh"
)

func newPublicKey(t testing.TB) gossh.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := gossh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func authorizedLine(k gossh.PublicKey) string {
	return strings.TrimSpace(string(gossh.MarshalAuthorizedKey(k)))
}

func TestParseAuthorizedKeys(t *testing.T) {
	k1, k2, k3 := newPublicKey(t), newPublicKey(t), newPublicKey(t)
	data := strings.Join([]string{
		"# comment",
		"",
		authorizedLine(k1) + " alice@laptop",
		"not a key at all",
		`command="/bin/true" ` + authorizedLine(k2),
		"   " + authorizedLine(k3) + "   ",
	}, "\n") + "\n"
	keys, skipped := parseAuthorizedKeys([]byte(data), "authorized_keys")
	var got []string
	for _, k := range keys {
		got = append(got, authorizedLine(k))
	}
	if diff := cmp.Diff([]string{authorizedLine(k1), authorizedLine(k3)}, got); diff != "" {
		t.Errorf("parseAuthorizedKeys keys mismatch (-want +got):\n%s", diff)
	}
	wantSkipped := []string{
		"authorized_keys:4: not a public key",
		"authorized_keys:5: key options are not supported (1 given); key ignored",
	}
	if diff := cmp.Diff(wantSkipped, skipped); diff != "" {
		t.Errorf("parseAuthorizedKeys skipped mismatch (-want +got):\n%s", diff)
	}
}

func TestReadAuthorizedKeys(t *testing.T) {
	home := t.TempDir()
	u := &User{Name: "alice", Home: home}
	keys, skipped, err := readAuthorizedKeys(u)
	if err != nil || len(keys) != 0 || len(skipped) != 0 {
		t.Errorf("readAuthorizedKeys(no file) = %v, %v, %v; want no keys, no error", keys, skipped, err)
	}
	k := newPublicKey(t)
	os.MkdirAll(filepath.Join(home, ".ssh"), 0o700)
	os.WriteFile(filepath.Join(home, ".ssh", "authorized_keys"), []byte(authorizedLine(k)+"\n"), 0o600)
	keys, _, err = readAuthorizedKeys(u)
	if err != nil || len(keys) != 1 || authorizedLine(keys[0]) != authorizedLine(k) {
		t.Errorf("readAuthorizedKeys = %v, %v; want the one key written", keys, err)
	}
}

func FuzzParseAuthorizedKeys(f *testing.F) {
	f.Add([]byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINCWqRahlsh8I+KuMO01UqhvJMGiDkVTdu28/gVrcqQa c1\n# x\nbad\n"))
	f.Add([]byte(`from="10.0.0.1" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINCWqRahlsh8I+KuMO01UqhvJMGiDkVTdu28/gVrcqQa`))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, _ := parseAuthorizedKeys(data, "f")
		for _, k := range keys {
			if k == nil {
				t.Fatal("nil key returned")
			}
		}
	})
}
