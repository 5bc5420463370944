package users

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"
)

func TestKeyStore(t *testing.T) {
	root, state := t.TempDir(), "/var/lib/ovfinit"
	if keys, err := StoredKeys(root, state, "bob"); err != nil || keys != nil {
		t.Errorf("StoredKeys(no file) = %v, %v; want none", keys, err)
	}
	if err := StoreKeys(root, state, "bob", []string{keyA, keyB, keyA}); err != nil {
		t.Fatalf("StoreKeys() = %v", err)
	}
	p := filepath.Join(root, "var/lib/ovfinit/keys/bob")
	if fi, err := os.Stat(p); err != nil || (runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600) {
		t.Errorf("stat(%s) = %v, %v; want mode 0600", p, fi, err)
	}
	keys, err := StoredKeys(root, state, "bob")
	if err != nil {
		t.Fatalf("StoredKeys() = %v", err)
	}
	var got []string
	for _, l := range keys {
		k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(l))
		if err != nil {
			t.Fatalf("StoredKeys() line %q: %v", l, err)
		}
		got = append(got, ssh.FingerprintSHA256(k))
	}
	var want []string
	for _, l := range []string{keyA, keyB} {
		k, _, _, _, _ := ssh.ParseAuthorizedKey([]byte(l))
		want = append(want, ssh.FingerprintSHA256(k))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("StoredKeys() mismatch (-want +got):\n%s", diff)
	}
	if keys, _ := StoredKeys(root, state, "bobby"); keys != nil {
		t.Errorf("StoredKeys(bobby) = %v, want none (bob's keys are not bobby's)", keys)
	}
	if err := StoreKeys(root, state, "bob", []string{"ssh-ed25519 garbage"}); err == nil {
		t.Errorf("StoreKeys(bad key) = nil, want an error")
	}
	if err := StoreKeys(root, state, "../etc", []string{keyA}); err == nil {
		t.Errorf("StoreKeys(../etc) = nil, want an invalid name error")
	}
	if err := RemoveStoredKeys(root, state, "bob"); err != nil {
		t.Fatalf("RemoveStoredKeys() = %v", err)
	}
	if keys, err := StoredKeys(root, state, "bob"); err != nil || keys != nil {
		t.Errorf("StoredKeys() after remove = %v, %v; want none", keys, err)
	}
	if err := RemoveStoredKeys(root, state, "bob"); err != nil {
		t.Errorf("RemoveStoredKeys() twice = %v, want nil", err)
	}
}

func TestLogins(t *testing.T) {
	root, state := t.TempDir(), "/var/lib/ovfinit"
	if _, ok, err := LastLogin(root, state, "bob"); ok || err != nil {
		t.Errorf("LastLogin(none) = %v, %v; want not found", ok, err)
	}
	t1 := time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)
	l1 := Login{User: "bob", From: "10.0.0.9:5555", Fingerprint: "SHA256:abc", Time: t1}
	l0 := Login{User: "bob", From: "10.0.0.8:1", Time: t1.Add(-time.Hour)}
	for _, l := range []Login{l1, l0} {
		if err := RecordLogin(root, state, l); err != nil {
			t.Fatalf("RecordLogin(%+v) = %v", l, err)
		}
	}
	got, ok, err := LastLogin(root, state, "bob")
	if err != nil || !ok {
		t.Fatalf("LastLogin() = %v, %v", ok, err)
	}
	if diff := cmp.Diff(l1, got); diff != "" {
		t.Errorf("LastLogin() mismatch, an older login must not replace a newer (-want +got):\n%s", diff)
	}
	if _, ok, _ := LastLogin(root, state, "bobby"); ok {
		t.Errorf("LastLogin(bobby) found bob's login")
	}
	if err := RecordLogin(root, state, Login{User: "../x"}); err == nil {
		t.Errorf("RecordLogin(../x) = nil, want an error")
	}
}

// TestKeyStoreKeepsOptions: the key store gives back each key's options as
// written, so that the SSH server can enforce them (issue 13: they were
// dropped, and a restricted key logged in with a full shell from anywhere).
func TestKeyStoreKeepsOptions(t *testing.T) {
	root, state := t.TempDir(), "/var/lib/ovfinit"
	restricted := `command="/bin/echo forced",from="127.0.0.1",no-pty ` + keyA
	if err := StoreKeys(root, state, "bob", []string{restricted, keyB}); err != nil {
		t.Fatalf("StoreKeys() = %v", err)
	}
	got, err := StoredKeys(root, state, "bob")
	if err != nil {
		t.Fatalf("StoredKeys() = %v", err)
	}
	if diff := cmp.Diff([]string{restricted, keyB}, got); diff != "" {
		t.Errorf("StoredKeys() mismatch (-want +got):\n%s", diff)
	}
}

// FuzzStoredLines: reading a key store never panics and returns only
// single lines that hold a key.
func FuzzStoredLines(f *testing.F) {
	f.Add([]byte(keyA + "\n# c\n\n" + `no-pty,from="10.0.0.1" ` + keyB + "\n"))
	f.Add([]byte(`command="x y" ` + keyA))
	f.Add([]byte("garbage\n\x00\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, l := range storedLines(data) {
			if strings.ContainsAny(l, "\n") || l != strings.TrimSpace(l) {
				t.Errorf("storedLines gave %q", l)
			}
			if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(l)); err != nil {
				t.Errorf("storedLines gave %q, which holds no key: %v", l, err)
			}
		}
	})
}
