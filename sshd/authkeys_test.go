package sshd

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
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

// plainKeys are keys without options, as authorized_keys lines.
func plainKeys(keys ...gossh.PublicKey) []AuthorizedKey {
	out := make([]AuthorizedKey, len(keys))
	for i, k := range keys {
		out[i] = AuthorizedKey{Key: k, Where: fmt.Sprintf("test:%d", i+1)}
	}
	return out
}

func TestParseAuthorizedKeys(t *testing.T) {
	k1, k2, k3 := newPublicKey(t), newPublicKey(t), newPublicKey(t)
	data := strings.Join([]string{
		"# comment",
		"",
		authorizedLine(k1) + " alice@laptop",
		"not a key at all",
		`command="/bin/echo a b",no-pty ` + authorizedLine(k2) + " bob",
		"   " + authorizedLine(k3) + "   ",
		`from="x ` + authorizedLine(k3),
	}, "\n") + "\n"
	keys, skipped := ParseAuthorizedKeys([]byte(data), "authorized_keys")
	var got []string
	for _, k := range keys {
		got = append(got, k.Where+" "+k.Options+" "+authorizedLine(k.Key))
	}
	want := []string{
		"authorized_keys:3  " + authorizedLine(k1),
		`authorized_keys:5 command="/bin/echo a b",no-pty ` + authorizedLine(k2),
		"authorized_keys:6  " + authorizedLine(k3),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseAuthorizedKeys keys mismatch (-want +got):\n%s", diff)
	}
	wantSkipped := []string{
		"authorized_keys:4: not a public key",
		"authorized_keys:7: unterminated quote in the key options",
	}
	if diff := cmp.Diff(wantSkipped, skipped); diff != "" {
		t.Errorf("ParseAuthorizedKeys skipped mismatch (-want +got):\n%s", diff)
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
	if err != nil || len(keys) != 1 || authorizedLine(keys[0].Key) != authorizedLine(k) {
		t.Errorf("readAuthorizedKeys = %v, %v; want the one key written", keys, err)
	}
}

func FuzzParseAuthorizedKeys(f *testing.F) {
	f.Add([]byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINCWqRahlsh8I+KuMO01UqhvJMGiDkVTdu28/gVrcqQa c1\n# x\nbad\n"))
	f.Add([]byte(`from="10.0.0.1" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINCWqRahlsh8I+KuMO01UqhvJMGiDkVTdu28/gVrcqQa`))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, _ := ParseAuthorizedKeys(data, "f")
		for _, k := range keys {
			if k.Key == nil {
				t.Fatal("nil key returned")
			}
		}
	})
}
