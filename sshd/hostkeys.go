package sshd

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"runtime"
	"slices"
	"sync"

	gossh "golang.org/x/crypto/ssh"

	"github.com/ovfinit/ovfinit/internal/rootfs"
)

// HostKeysConfig says where a HostKeys keeps its files.
type HostKeysConfig struct {
	// Root is the directory tree the files are under: "/" on a live
	// system, an offline image otherwise. "" means "/". Every path is
	// resolved inside it (rootfs), so a link in an image tree never leads
	// a key out of it.
	Root string
	// Dir is the slash path under Root of the key directory (made 0700):
	// ssh_host_<type>_key files (HostKeyFile), 0600.
	Dir string
	// RSA also makes an RSA key. RSA generation takes from a fraction of
	// a second to many seconds on an emulated CPU, so a new RSA key is
	// made in the background, once Ready is called.
	RSA bool
	// GenerateRSA, when set, makes the background RSA key instead of this
	// process (cmd/ovfinit: a child at the lowest CPU priority, so that
	// the seconds of RSA generation on an emulated CPU go to idle time,
	// not to the first logins and the events of a booting machine). When
	// it fails, the key is made here.
	GenerateRSA func(ctx context.Context) (crypto.Signer, error)
	// Log receives what happens to the keys; nil discards it.
	Log *slog.Logger
}

// HostKeys is a machine's SSH host keys: the ed25519 and ECDSA keys loaded
// or made at once (Load), the RSA key loaded at once when it exists and
// made in the background otherwise, gated on Ready so that it never takes
// CPU from the boot. Keys that arrive late reach whoever Follows the set
// (the running server, a copy for OpenSSH). It is safe for concurrent use.
type HostKeys struct {
	cfg HostKeysConfig
	log *slog.Logger

	readyOnce sync.Once
	ready     chan struct{} // closed by Ready

	mu       sync.Mutex
	keys     []gossh.Signer
	primary  gossh.Signer  // from the ed25519 file, whatever its type
	rsaDone  chan struct{} // closed when the background RSA key is done; nil if none pending
	watchers []func(gossh.Signer)
}

// NewHostKeys returns the host key set cfg describes; it reads nothing
// until Load.
func NewHostKeys(cfg HostKeysConfig) *HostKeys {
	if cfg.Root == "" {
		cfg.Root = "/"
	}
	h := &HostKeys{cfg: cfg, log: cfg.Log, ready: make(chan struct{})}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h
}

// file is the slash path under Root of the key of typ.
func (h *HostKeys) file(typ string) string {
	return path.Join("/", h.cfg.Dir, HostKeyFile(typ))
}

// Load loads (or makes) the ed25519 and ECDSA keys now, and the RSA key
// (Config.RSA): now when its file exists, else in the background after
// Ready. A key file that exists but is not a usable private key is an
// error naming it; it is never replaced.
func (h *HostKeys) Load() error {
	for _, typ := range []string{KeyEd25519, KeyECDSA} {
		k, err := loadOrCreateHostKey(h.cfg.Root, h.file(typ), h.file(typ), typ)
		if err != nil {
			return err
		}
		if typ == KeyEd25519 {
			h.mu.Lock()
			h.primary = k
			h.mu.Unlock()
		}
		h.add(k)
	}
	if !h.cfg.RSA {
		return nil
	}
	rsaFile := h.file(KeyRSA)
	fsys, err := rootfs.Open(h.cfg.Root)
	if err != nil {
		return fmt.Errorf("host key %s: %w", rsaFile, err)
	}
	_, err = fsys.Stat(rsaFile)
	fsys.Close()
	if err == nil {
		// Made on an earlier boot: loading it is quick.
		k, err := loadOrCreateHostKey(h.cfg.Root, rsaFile, rsaFile, KeyRSA)
		if err != nil {
			return err
		}
		h.add(k)
		return nil
	}
	h.startRSA()
	return nil
}

// Regenerate removes the keys of every type (HostKeyTypes) and makes new
// ones, as Load does: for a new instance, since two machines made from one
// template must never share a host key.
func (h *HostKeys) Regenerate() error {
	fsys, err := rootfs.Open(h.cfg.Root)
	if err != nil {
		return fmt.Errorf("host keys in %s: %w", h.cfg.Dir, err)
	}
	for _, typ := range HostKeyTypes {
		p := h.file(typ)
		if err := fsys.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			fsys.Close()
			return fmt.Errorf("removing the previous instance's host key %s: %w", p, err)
		}
	}
	fsys.Close()
	h.mu.Lock()
	h.keys, h.primary = nil, nil
	h.mu.Unlock()
	if err := h.Load(); err != nil {
		return err
	}
	for _, k := range h.Signers() {
		h.log.Info("SSH host key generated", "type", k.PublicKey().Type(), "fingerprint", Fingerprint(k.PublicKey()))
	}
	return nil
}

func (h *HostKeys) startRSA() {
	h.mu.Lock()
	if h.rsaDone != nil {
		h.mu.Unlock()
		return
	}
	done := make(chan struct{})
	h.rsaDone = done
	h.mu.Unlock()
	p := h.file(KeyRSA)
	go func() {
		defer close(done)
		<-h.ready
		k, err := loadOrCreateHostKeyWith(h.cfg.Root, p, p, KeyRSA, h.generate)
		if err != nil {
			h.log.Warn("no RSA host key: clients that accept only RSA host keys cannot connect", "err", err)
			return
		}
		h.add(k)
		h.log.Info("SSH host key ready", "type", k.PublicKey().Type(), "fingerprint", Fingerprint(k.PublicKey()))
	}()
}

// generate makes a new key of typ: an RSA key with GenerateRSA when set
// (and here when it fails), every other here.
func (h *HostKeys) generate(typ string) (crypto.Signer, error) {
	if typ == KeyRSA && h.cfg.GenerateRSA != nil {
		k, err := h.cfg.GenerateRSA(context.Background())
		if err == nil {
			err = checkRSA(k)
		}
		if err == nil {
			return k, nil
		}
		h.log.Warn("the RSA host key is made by ovfinit's own process instead", "err", err)
	}
	return generateKey(typ)
}

// checkRSA refuses a key from GenerateRSA that is not an RSA key of
// RSABits bits or more.
func checkRSA(k crypto.Signer) error {
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return fmt.Errorf("GenerateRSA gave a %T, not an RSA key", k)
	}
	if n := rk.N.BitLen(); n < RSABits {
		return fmt.Errorf("GenerateRSA gave a %d-bit RSA key, want %d bits or more", n, RSABits)
	}
	return rk.Validate()
}

// Ready lets the background RSA key be made: the boot has reported ready.
// Calling it again does nothing.
func (h *HostKeys) Ready() {
	h.readyOnce.Do(func() { close(h.ready) })
}

// add puts k in the set, replacing a key of its algorithm, and hands it to
// every follower.
func (h *HostKeys) add(k gossh.Signer) {
	h.mu.Lock()
	h.keys = slices.DeleteFunc(h.keys, func(old gossh.Signer) bool {
		return old.PublicKey().Type() == k.PublicKey().Type()
	})
	h.keys = append(h.keys, k)
	watchers := slices.Clone(h.watchers)
	h.mu.Unlock()
	for _, f := range watchers {
		f(k)
	}
}

// Signers returns the keys loaded so far, ed25519 first.
func (h *HostKeys) Signers() []gossh.Signer {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.keys)
}

// Primary returns the key of the ed25519 file (an image may have put a key
// of another type there), or nil before Load.
func (h *HostKeys) Primary() gossh.Signer {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.primary
}

// Follow calls f with every key of the set that is not in have, now, and
// with every key that joins the set from now on (the background RSA key):
// have is what a server was started with, f adds to it (Server.AddHostKey).
func (h *HostKeys) Follow(have []gossh.Signer, f func(gossh.Signer)) {
	h.mu.Lock()
	h.watchers = append(h.watchers, f)
	missed := slices.DeleteFunc(slices.Clone(h.keys), func(k gossh.Signer) bool { return slices.Contains(have, k) })
	h.mu.Unlock()
	for _, k := range missed {
		f(k)
	}
}

// Wait waits until the background RSA key is done (or ctx ends) and
// returns the public keys.
func (h *HostKeys) Wait(ctx context.Context) []gossh.PublicKey {
	h.mu.Lock()
	done := h.rsaDone
	h.mu.Unlock()
	if done != nil {
		select {
		case <-done:
		case <-ctx.Done():
		}
	}
	var pubs []gossh.PublicKey
	for _, k := range h.Signers() {
		pubs = append(pubs, k.PublicKey())
	}
	return pubs
}

// CopyToOpenSSH copies k's file to <Root>/etc/ssh/ssh_host_<type>_key
// (0600) with its .pub (0644), for an OS sshd, replacing what is there.
// Files that already hold the same bytes, as regular files of ours with
// those modes, are left alone: the host-key step installs a new
// instance's keys and the sshd step checks them every boot, and each
// write is an fsync on the boot's path (tens of milliseconds under
// emulation).
func (h *HostKeys) CopyToOpenSSH(k gossh.Signer) error {
	typ := KeyEd25519
	switch k.PublicKey().Type() {
	case gossh.KeyAlgoRSA:
		typ = KeyRSA
	case gossh.KeyAlgoECDSA256, gossh.KeyAlgoECDSA384, gossh.KeyAlgoECDSA521:
		typ = KeyECDSA
	}
	priv, err := rootfs.ReadFileAt(h.cfg.Root, h.file(typ), maxHostKeyFile)
	if err != nil {
		return fmt.Errorf("host key for /etc/ssh: %w", err)
	}
	p := path.Join("/etc/ssh", HostKeyFile(typ))
	pub := MarshalPublicKey(k.PublicKey())
	if h.installed(p, priv, 0o600) && h.installed(p+".pub", pub, 0o644) {
		return nil
	}
	if err := rootfs.WriteFileAt(h.cfg.Root, p, priv, 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	if err := rootfs.WriteFileAt(h.cfg.Root, p+".pub", pub, 0o644); err != nil {
		return fmt.Errorf("writing %s.pub: %w", p, err)
	}
	return nil
}

// installed reports whether name under Root is a regular file (not a
// link), owned by the user ovfinit runs as, with mode perm and exactly
// data: what WriteFileAt would leave there. On Windows, where a file's
// ACL is what protects it, it always says no and the file is written.
func (h *HostKeys) installed(name string, data []byte, perm fs.FileMode) bool {
	if runtime.GOOS == "windows" {
		return false
	}
	fsys, err := rootfs.Open(h.cfg.Root)
	if err != nil {
		return false
	}
	defer fsys.Close()
	fi, err := fsys.Lstat(name)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != int64(len(data)) {
		return false
	}
	if uid, _, ok := rootfs.Owner(fi); !ok || uid != os.Geteuid() || fi.Mode().Perm() != perm {
		return false
	}
	got, err := fsys.ReadFile(name, int64(len(data))+1)
	return err == nil && bytes.Equal(got, data)
}
