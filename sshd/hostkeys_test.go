package sshd

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	gossh "golang.org/x/crypto/ssh"
)

// TestHostKeysRSAAfterReady: the RSA key is made only once Ready is called,
// joins the set and reaches a follower; Wait returns all three; a second
// Load finds it on disk at once.
func TestHostKeysRSAAfterReady(t *testing.T) {
	root := t.TempDir()
	h := NewHostKeys(HostKeysConfig{Root: root, Dir: "/var/lib/ovfinit", RSA: true})
	if err := h.Load(); err != nil {
		t.Fatalf("Load() = %v", err)
	}
	have := h.Signers()
	if len(have) != 2 {
		t.Fatalf("Signers() before Ready = %d keys, want 2 (ed25519, ECDSA)", len(have))
	}
	rsaFile := filepath.Join(root, "var/lib/ovfinit", HostKeyFile(KeyRSA))
	if _, err := os.Stat(rsaFile); err == nil {
		t.Errorf("%s exists before Ready: RSA must wait for the boot", rsaFile)
	}
	var mu sync.Mutex
	var followed []string
	h.Follow(have, func(k gossh.Signer) {
		mu.Lock()
		defer mu.Unlock()
		followed = append(followed, k.PublicKey().Type())
	})
	h.Ready()
	h.Ready() // twice is harmless
	var types []string
	for _, k := range h.Wait(context.Background()) { // RSA can take long under emulation: no deadline but the test's
		types = append(types, k.Type())
	}
	if want := []string{gossh.KeyAlgoED25519, gossh.KeyAlgoECDSA256, gossh.KeyAlgoRSA}; strings.Join(types, " ") != strings.Join(want, " ") {
		t.Errorf("Wait() = %v, want %v", types, want)
	}
	mu.Lock()
	if len(followed) != 1 || followed[0] != gossh.KeyAlgoRSA {
		t.Errorf("follower got %v, want only the RSA key", followed)
	}
	mu.Unlock()

	again := NewHostKeys(HostKeysConfig{Root: root, Dir: "/var/lib/ovfinit", RSA: true})
	if err := again.Load(); err != nil {
		t.Fatal(err)
	}
	if n := len(again.Signers()); n != 3 {
		t.Errorf("second Load() has %d keys before Ready, want 3 (RSA read from disk)", n)
	}
	// A follower started with fewer keys gets the missing ones at once.
	var late []string
	again.Follow(again.Signers()[:1], func(k gossh.Signer) { late = append(late, k.PublicKey().Type()) })
	if len(late) != 2 {
		t.Errorf("Follow(one key) handed %v, want the two others", late)
	}
}

// TestHostKeysGenerateRSA: with GenerateRSA the RSA key is its key (made
// outside the process), written to the key file; a failure or a key that
// is not RSA of RSABits bits falls back to a key made here, never to no
// key or a weak one.
func TestHostKeysGenerateRSA(t *testing.T) {
	given, err := rsa.GenerateKey(rand.Reader, RSABits)
	if err != nil {
		t.Fatal(err)
	}
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		gen   func(context.Context) (crypto.Signer, error)
		given bool // the key file holds given
	}{
		{"its key", func(context.Context) (crypto.Signer, error) { return given, nil }, true},
		{"fails", func(context.Context) (crypto.Signer, error) { return nil, errors.New("helper died") }, false},
		{"weak", func(context.Context) (crypto.Signer, error) { return weak, nil }, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			var logs bytes.Buffer
			calls := 0
			h := NewHostKeys(HostKeysConfig{Root: root, Dir: "/k", RSA: true, Log: slog.New(slog.NewTextHandler(&logs, nil)),
				GenerateRSA: func(ctx context.Context) (crypto.Signer, error) { calls++; return c.gen(ctx) }})
			if err := h.Load(); err != nil {
				t.Fatal(err)
			}
			h.Ready()
			var rsaKey gossh.PublicKey
			for _, k := range h.Wait(context.Background()) {
				if k.Type() == gossh.KeyAlgoRSA {
					rsaKey = k
				}
			}
			if calls != 1 || rsaKey == nil {
				t.Fatalf("GenerateRSA called %d times, RSA key %v; want once and a key", calls, rsaKey)
			}
			b, err := os.ReadFile(filepath.Join(root, "k", HostKeyFile(KeyRSA)))
			if err != nil {
				t.Fatal(err)
			}
			onDisk, err := gossh.ParsePrivateKey(b)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(onDisk.PublicKey().Marshal(), rsaKey.Marshal()) {
				t.Error("the key file and the served RSA key differ")
			}
			pub, _ := gossh.NewPublicKey(&given.PublicKey)
			if got := bytes.Equal(rsaKey.Marshal(), pub.Marshal()); got != c.given {
				t.Errorf("served GenerateRSA's key: %v, want %v", got, c.given)
			}
			if bits := onDisk.PublicKey().(gossh.CryptoPublicKey).CryptoPublicKey().(*rsa.PublicKey).N.BitLen(); bits < RSABits {
				t.Errorf("RSA key of %d bits, want %d", bits, RSABits)
			}
			if warned := strings.Contains(logs.String(), "made by ovfinit's own process"); warned == c.given {
				t.Errorf("log:\n%s\nwarned about the fallback: %v, want %v", logs.String(), warned, !c.given)
			}
		})
	}
}

// TestHostKeysRegenerate: a new instance gets new keys of every type, and
// CopyToOpenSSH puts them where an OS sshd reads them.
func TestHostKeysRegenerate(t *testing.T) {
	root := t.TempDir()
	h := NewHostKeys(HostKeysConfig{Root: root, Dir: "/state"})
	if err := h.Load(); err != nil {
		t.Fatal(err)
	}
	old := Fingerprint(h.Primary().PublicKey())
	if err := h.Regenerate(); err != nil {
		t.Fatalf("Regenerate() = %v", err)
	}
	if got := Fingerprint(h.Primary().PublicKey()); got == old {
		t.Errorf("Regenerate() kept key %s, want a new one", got)
	}
	if n := len(h.Signers()); n != 2 {
		t.Errorf("after Regenerate %d keys, want 2", n)
	}
	for _, k := range h.Signers() {
		if err := h.CopyToOpenSSH(k); err != nil {
			t.Fatalf("CopyToOpenSSH(%s) = %v", k.PublicKey().Type(), err)
		}
	}
	for _, typ := range []string{KeyEd25519, KeyECDSA} {
		priv, err := os.ReadFile(filepath.Join(root, "etc/ssh", HostKeyFile(typ)))
		if err != nil {
			t.Fatal(err)
		}
		state, _ := os.ReadFile(filepath.Join(root, "state", HostKeyFile(typ)))
		if string(priv) != string(state) {
			t.Errorf("/etc/ssh/%s differs from the state directory's", HostKeyFile(typ))
		}
		fi, err := os.Stat(filepath.Join(root, "etc/ssh", HostKeyFile(typ)))
		if err != nil || runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
			t.Errorf("/etc/ssh/%s: %v, %v; want mode 0600", HostKeyFile(typ), fi, err)
		}
		if pub, err := os.ReadFile(filepath.Join(root, "etc/ssh", HostKeyFile(typ)+".pub")); err != nil || !strings.Contains(string(pub), " ") {
			t.Errorf("/etc/ssh/%s.pub = %q, %v", HostKeyFile(typ), pub, err)
		}
	}
}

// TestCopyToOpenSSHLeavesSameAlone: a key already in /etc/ssh, the same
// bytes in a regular file of ours with the right mode, is not written
// again (each write is an fsync on the boot's path); anything else there
// (other bytes, a loose mode, a link) is replaced.
func TestCopyToOpenSSHLeavesSameAlone(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("on Windows the file is always written (its ACL protects it)")
	}
	root := t.TempDir()
	h := NewHostKeys(HostKeysConfig{Root: root, Dir: "/state"})
	if err := h.Load(); err != nil {
		t.Fatal(err)
	}
	k := h.Primary()
	priv := filepath.Join(root, "etc/ssh", HostKeyFile(KeyEd25519))
	ino := func(p string) os.FileInfo {
		t.Helper()
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi
	}
	copyKey := func() {
		t.Helper()
		if err := h.CopyToOpenSSH(k); err != nil {
			t.Fatalf("CopyToOpenSSH() = %v", err)
		}
	}
	copyKey()
	first, firstPub := ino(priv), ino(priv+".pub")
	copyKey()
	if !os.SameFile(ino(priv), first) || !os.SameFile(ino(priv+".pub"), firstPub) {
		t.Errorf("the same key was written again")
	}
	want, err := os.ReadFile(priv)
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(root, "elsewhere")
	if err := os.WriteFile(other, want, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		spoil func() error
	}{
		{"other bytes", func() error { return os.WriteFile(priv, append([]byte("x"), want[1:]...), 0o600) }},
		{"mode 0644", func() error { return os.Chmod(priv, 0o644) }},
		{"a symlink", func() error { os.Remove(priv); return os.Symlink(other, priv) }},
		{"the .pub changed", func() error { return os.WriteFile(priv+".pub", []byte("ssh-ed25519 AAAA\n"), 0o644) }},
	} {
		if err := tc.spoil(); err != nil {
			t.Fatal(err)
		}
		copyKey()
		fi, err := os.Lstat(priv)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(priv)
		pub, _ := os.ReadFile(priv + ".pub")
		if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 || string(got) != string(want) || string(pub) != string(MarshalPublicKey(k.PublicKey())) {
			t.Errorf("%s: after CopyToOpenSSH the key is %v, %d bytes (same: %v), .pub %q; want it written again", tc.name, fi.Mode(), len(got), string(got) == string(want), pub)
		}
	}
}
