package sshd

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	gossh "golang.org/x/crypto/ssh"
)

// newHostKeyFile makes (or loads) a key of typ in a new file; it returns the
// key and the file's host path.
func newHostKeyFile(t testing.TB, typ string) (gossh.Signer, string) {
	t.Helper()
	root := t.TempDir()
	name := "/" + HostKeyFile(typ)
	k, err := loadOrCreateHostKey(root, name, name, typ)
	if err != nil {
		t.Fatalf("loadOrCreateHostKey(%s) = %v", typ, err)
	}
	return k, filepath.Join(root, HostKeyFile(typ))
}

func TestHostKeysLoad(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "etc", "ovfinit")
	first := NewHostKeys(HostKeysConfig{Root: root, Dir: "/etc/ovfinit"})
	if err := first.Load(); err != nil {
		t.Fatalf("Load() = %v", err)
	}
	if got := first.Primary().PublicKey().Type(); got != gossh.KeyAlgoED25519 {
		t.Errorf("new host key type = %q, want %q", got, gossh.KeyAlgoED25519)
	}
	second := NewHostKeys(HostKeysConfig{Root: root, Dir: "/etc/ovfinit"})
	if err := second.Load(); err != nil {
		t.Fatalf("Load() again = %v", err)
	}
	if a, b := Fingerprint(first.Primary().PublicKey()), Fingerprint(second.Primary().PublicKey()); a != b {
		t.Errorf("fingerprint after reload = %s, want %s (key not persisted)", b, a)
	}
	path := filepath.Join(dir, HostKeyFile(KeyEd25519))
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("host key file mode = %v, want 0600", got)
		}
		di, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if got := di.Mode().Perm(); got != 0o700 {
			t.Errorf("host key directory mode = %v, want 0700", got)
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 2 {
		t.Errorf("host key directory holds %d entries, want 2, ed25519 and ECDSA (temp file left behind?)", len(ents))
	}
}

func TestHostKeysConcurrent(t *testing.T) {
	root := t.TempDir()
	const n = 8
	fps := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			h := NewHostKeys(HostKeysConfig{Root: root, Dir: "/keys"})
			if err := h.Load(); err != nil {
				t.Errorf("Load #%d = %v", i, err)
				return
			}
			fps[i] = Fingerprint(h.Primary().PublicKey())
		})
	}
	wg.Wait()
	for i := 1; i < n; i++ {
		if fps[i] != fps[0] {
			t.Errorf("caller %d got key %s, caller 0 got %s, want one key", i, fps[i], fps[0])
		}
	}
}

func TestHostKeysBadFile(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    string
	}{
		{"garbage", "this is not a key\n", "not a usable private key"},
		{"empty", "", "not a usable private key"},
		{"public key", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDyLvc0Vb0yDm5+KTQ4gmQOwXlKcMJmZLv2ZG0dmUtjK x\n", "not a usable private key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			path := filepath.Join(root, HostKeyFile(KeyEd25519))
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			err := NewHostKeys(HostKeysConfig{Root: root, Dir: "/"}).Load()
			if name := "/" + HostKeyFile(KeyEd25519); err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load(%s file) = %v, want an error naming %s and saying %q", tt.name, err, name, tt.want)
			}
			got, _ := os.ReadFile(path)
			if string(got) != tt.content {
				t.Errorf("bad host key file was changed to %q, want it left alone", got)
			}
		})
	}
}

func TestHostKeysExistingOtherType(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, HostKeyFile(KeyEd25519)), pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	h := NewHostKeys(HostKeysConfig{Root: root, Dir: "/"})
	if err := h.Load(); err != nil {
		t.Fatalf("Load(ecdsa key in the ed25519 file) = %v", err)
	}
	s := h.Primary()
	want, _ := gossh.NewSignerFromKey(priv)
	if got, w := Fingerprint(s.PublicKey()), Fingerprint(want.PublicKey()); got != w {
		t.Errorf("loaded key %s, want the stored ecdsa key %s", got, w)
	}
}

func TestFingerprint(t *testing.T) {
	s, path := newHostKeyFile(t, KeyEd25519)
	got := Fingerprint(s.PublicKey())
	if want := gossh.FingerprintSHA256(s.PublicKey()); got != want {
		t.Errorf("Fingerprint() = %q, want %q", got, want)
	}
	if !strings.HasPrefix(got, "SHA256:") || strings.HasSuffix(got, "=") {
		t.Errorf("Fingerprint() = %q, want SHA256: and unpadded base64", got)
	}
	keygen, err := exec.LookPath("ssh-keygen")
	if err != nil {
		t.Skip("ssh-keygen not installed; compared with x/crypto only")
	}
	// ssh-keygen -lf prints "256 SHA256:... comment (ED25519)".
	out, err := exec.Command(keygen, "-lf", path).Output()
	if err != nil {
		t.Fatalf("ssh-keygen -lf %s: %v", path, err)
	}
	fields := strings.Fields(string(out))
	if len(fields) < 2 || fields[1] != got {
		t.Errorf("ssh-keygen -lf = %q, want fingerprint %q", out, got)
	}
}

func TestLoadOrCreateHostKeyTypes(t *testing.T) {
	root := t.TempDir()
	for _, tc := range []struct {
		typ, wantAlgo string
		wantBits      int
	}{
		{KeyEd25519, gossh.KeyAlgoED25519, 256},
		{KeyECDSA, gossh.KeyAlgoECDSA256, 256},
		{KeyRSA, gossh.KeyAlgoRSA, 3072},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			name := "/" + HostKeyFile(tc.typ)
			path := filepath.Join(root, HostKeyFile(tc.typ))
			k, err := loadOrCreateHostKey(root, name, name, tc.typ)
			if err != nil {
				t.Fatalf("loadOrCreateHostKey(%q, %q) = %v", name, tc.typ, err)
			}
			if got := k.PublicKey().Type(); got != tc.wantAlgo {
				t.Errorf("key type = %q, want %q", got, tc.wantAlgo)
			}
			if got := KeyBits(k.PublicKey()); got != tc.wantBits {
				t.Errorf("KeyBits = %d, want %d", got, tc.wantBits)
			}
			again, err := loadOrCreateHostKey(root, name, name, tc.typ)
			if err != nil {
				t.Fatal(err)
			}
			if a, b := Fingerprint(k.PublicKey()), Fingerprint(again.PublicKey()); a != b {
				t.Errorf("fingerprint after reload = %s, want %s", b, a)
			}
			if runtime.GOOS != "windows" {
				fi, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != 0o600 {
					t.Errorf("%s mode = %v, want 0600", path, fi.Mode().Perm())
				}
			}
		})
	}
	if _, err := loadOrCreateHostKey(root, "/x", "/x", "dsa"); err == nil || !strings.Contains(err.Error(), `"dsa"`) {
		t.Errorf(`loadOrCreateHostKey(x, "dsa") = %v, want an error naming the type`, err)
	}
}

func TestFingerprintBlock(t *testing.T) {
	k, _ := newHostKeyFile(t, KeyEd25519)
	got := FingerprintBlock([]gossh.PublicKey{k.PublicKey()}, "root@vm1")
	want := "-----BEGIN SSH HOST KEY FINGERPRINTS-----\n256 " + Fingerprint(k.PublicKey()) + " root@vm1 (ED25519)\n-----END SSH HOST KEY FINGERPRINTS-----\n"
	if got != want {
		t.Errorf("FingerprintBlock = %q, want %q", got, want)
	}
	if _, err := exec.LookPath("ssh-keygen"); err == nil {
		// The line must be what ssh-keygen -l prints for the same key.
		pub := filepath.Join(t.TempDir(), "k.pub")
		os.WriteFile(pub, MarshalPublicKey(k.PublicKey()), 0o644)
		out, err := exec.Command("ssh-keygen", "-l", "-f", pub).Output()
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Fields(string(out))
		line := strings.Split(got, "\n")[1]
		if g := strings.Fields(line); g[0] != f[0] || g[1] != f[1] || g[len(g)-1] != f[len(f)-1] {
			t.Errorf("block line %q, ssh-keygen -l says %q", line, out)
		}
	}
}
