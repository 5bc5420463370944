package sshd

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/ovfinit/ovfinit/internal/rootfs"
	gossh "golang.org/x/crypto/ssh"
)

// maxHostKeyFile bounds how much of a host key file is read.
const maxHostKeyFile = 64 << 10

// hostKeyMu serialises loadOrCreateHostKey within the process, so two
// callers asking for the same file get the same key.
var hostKeyMu sync.Mutex

// Host key types HostKeys makes.
const (
	KeyEd25519 = "ed25519"
	KeyECDSA   = "ecdsa" // NIST P-256
	KeyRSA     = "rsa"   // 3072 bits, as ssh-keygen makes by default
)

// RSABits is the size of new RSA host keys.
const RSABits = 3072

// HostKeyTypes lists the host key types an instance gets, fastest first; RSA
// generation takes from a fraction of a second to many seconds (emulated
// CPUs), so callers generate it in the background.
var HostKeyTypes = []string{KeyEd25519, KeyECDSA, KeyRSA}

// HostKeyFile is the conventional file name of a host key of typ:
// "ssh_host_ed25519_key", as OpenSSH names them.
func HostKeyFile(typ string) string { return "ssh_host_" + typ + "_key" }

// loadOrCreateHostKey returns the host key stored at name under the
// directory tree root, creating a key of typ there (file mode 0600, parent
// directories 0700) when the file is missing; path names the file in
// errors. A file that exists but does not hold an unencrypted OpenSSH or PEM
// private key is an error naming the path; it is never replaced. An existing
// key of another type (an RSA key shipped in an image, say) is used as it is.
// name and its parents are resolved inside root by rootfs, so a symbolic
// link in an image tree never leads the key out of it.
//
// The new file is written to a temporary name, synced and then linked into
// place, so a crash never leaves half a key and a concurrent creator in
// another process can not overwrite a key already handed out.
func loadOrCreateHostKey(root, name, path, typ string) (gossh.Signer, error) {
	return loadOrCreateHostKeyWith(root, name, path, typ, generateKey)
}

// loadOrCreateHostKeyWith is loadOrCreateHostKey with gen making a new key.
func loadOrCreateHostKeyWith(root, name, path, typ string, gen func(string) (crypto.Signer, error)) (gossh.Signer, error) {
	if typ != KeyEd25519 && typ != KeyECDSA && typ != KeyRSA {
		return nil, fmt.Errorf("host key %s: unknown key type %q (want ed25519, ecdsa or rsa)", path, typ)
	}
	fsys, err := rootfs.Open(root)
	if err != nil {
		return nil, fmt.Errorf("host key %s: %w", path, err)
	}
	defer fsys.Close()
	// Fast path without the lock: the key exists.
	if signer, err := loadHostKey(fsys, name, path); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return signer, err
	}
	// RSA generation is slow; it runs outside the lock so that it never
	// holds up other key types. The link in createExclusive decides a race.
	priv, err := gen(typ)
	if err != nil {
		return nil, fmt.Errorf("generating %s host key for %s: %w", typ, path, err)
	}

	hostKeyMu.Lock()
	defer hostKeyMu.Unlock()
	signer, err := loadHostKey(fsys, name, path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return signer, err
	}
	block, err := gossh.MarshalPrivateKey(priv, "ovfinit host key")
	if err != nil {
		return nil, fmt.Errorf("encoding host key for %s: %w", path, err)
	}
	if err := createExclusive(fsys, name, pem.EncodeToMemory(block)); err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Someone else created it between our read and our link: use theirs.
			return loadHostKey(fsys, name, path)
		}
		return nil, fmt.Errorf("writing host key %s: %w", path, err)
	}
	signer, err = gossh.NewSignerFromKey(priv)
	if err != nil {
		return nil, fmt.Errorf("host key %s: %w", path, err)
	}
	return signer, nil
}

func generateKey(typ string) (crypto.Signer, error) {
	switch typ {
	case KeyECDSA:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case KeyRSA:
		return rsa.GenerateKey(rand.Reader, RSABits)
	default:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	}
}

// MarshalPublicKey returns pub in authorized_keys / .pub file form, with a
// trailing newline.
func MarshalPublicKey(pub gossh.PublicKey) []byte {
	return gossh.MarshalAuthorizedKey(pub)
}

// KeyBits is the size of pub in bits as ssh-keygen -l prints it.
func KeyBits(pub gossh.PublicKey) int {
	if ck, ok := pub.(gossh.CryptoPublicKey); ok {
		switch k := ck.CryptoPublicKey().(type) {
		case *rsa.PublicKey:
			return k.N.BitLen()
		case *ecdsa.PublicKey:
			return k.Curve.Params().BitSize
		case ed25519.PublicKey:
			return 256
		}
	}
	return 0
}

// keyLabel is ssh-keygen's name for a key type: "ED25519", "ECDSA", "RSA".
func keyLabel(pub gossh.PublicKey) string {
	switch t := pub.Type(); {
	case t == gossh.KeyAlgoED25519:
		return "ED25519"
	case strings.HasPrefix(t, "ecdsa-"):
		return "ECDSA"
	case t == gossh.KeyAlgoRSA:
		return "RSA"
	default:
		return strings.ToUpper(t)
	}
}

// FingerprintBlock is the console block cloud-init made familiar, one line
// per key in ssh-keygen -l form: "256 SHA256:... comment (ED25519)".
func FingerprintBlock(keys []gossh.PublicKey, comment string) string {
	var b strings.Builder
	b.WriteString("-----BEGIN SSH HOST KEY FINGERPRINTS-----\n")
	for _, k := range keys {
		if comment != "" {
			fmt.Fprintf(&b, "%d %s %s (%s)\n", KeyBits(k), Fingerprint(k), comment, keyLabel(k))
		} else {
			fmt.Fprintf(&b, "%d %s (%s)\n", KeyBits(k), Fingerprint(k), keyLabel(k))
		}
	}
	b.WriteString("-----END SSH HOST KEY FINGERPRINTS-----\n")
	return b.String()
}

// loadHostKey reads and parses the key name in fsys (path in errors). A
// missing file is returned as an error wrapping fs.ErrNotExist.
func loadHostKey(fsys *rootfs.FS, name, path string) (gossh.Signer, error) {
	data, err := fsys.ReadFile(name, maxHostKeyFile) // regular files only, never blocks
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("reading host key: %w", err)
	}
	signer, err := gossh.ParsePrivateKey(data)
	if err != nil {
		var missing *gossh.PassphraseMissingError
		if errors.As(err, &missing) {
			return nil, fmt.Errorf("host key %s: encrypted with a passphrase, which ovfinit can not use", path)
		}
		return nil, fmt.Errorf("host key %s: not a usable private key: %w", path, err)
	}
	return signer, nil
}

// createExclusive writes data to a new file name in fsys with mode 0600,
// creating the parent directory with mode 0700. It fails with an error
// wrapping fs.ErrExist when name already exists.
func createExclusive(fsys *rootfs.FS, name string, data []byte) error {
	if dir := path.Dir(filepath.ToSlash(name)); dir != "/" && dir != "." {
		if err := fsys.MkdirAll(dir, 0o700); err != nil {
			return err
		}
	}
	o := rootfs.Keep
	o.NoReplace = true
	return fsys.WriteFile(name, data, 0o600, o)
}

// Fingerprint returns the OpenSSH SHA256 fingerprint of pub, as printed by
// `ssh-keygen -l`: "SHA256:" followed by unpadded base64.
func Fingerprint(pub gossh.PublicKey) string {
	return gossh.FingerprintSHA256(pub)
}
