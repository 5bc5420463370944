package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	gossh "golang.org/x/crypto/ssh"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/internal/rootfs"
	"github.com/ovfinit/ovfinit/sshd"
	"github.com/ovfinit/ovfinit/users"
)

// hostKeyFile is the ed25519 host key's file in the state directory; the
// others are named alike (sshd.HostKeyFile).
var hostKeyFile = sshd.HostKeyFile(sshd.KeyEd25519)

// sshKeySet is the instance's host keys. The RSA key takes from a fraction
// of a second to many seconds under emulation, so it is generated after
// `ready`, in the background: it joins the running server, the status file
// and later events when done.
type sshKeySet struct {
	// ready is closed once the boot reported ready (sshReady): the RSA key
	// is generated only then, so it never takes CPU from the pipeline.
	readyOnce sync.Once
	ready     chan struct{}

	mu   sync.Mutex
	keys []gossh.Signer
	rsa  chan struct{} // closed when the background RSA key is done; nil if none pending
	srv  interface{ AddHostKey(gossh.Signer) }
	// onAdd runs for a key added after the server started (write to /etc/ssh).
	onAdd func(gossh.Signer)
}

func (ks *sshKeySet) add(k gossh.Signer) {
	ks.mu.Lock()
	for i, old := range ks.keys {
		if old.PublicKey().Type() == k.PublicKey().Type() {
			ks.keys = slices.Delete(ks.keys, i, i+1)
			break
		}
	}
	ks.keys = append(ks.keys, k)
	srv, onAdd := ks.srv, ks.onAdd
	ks.mu.Unlock()
	if srv != nil {
		srv.AddHostKey(k)
	}
	if onAdd != nil {
		onAdd(k)
	}
}

func (ks *sshKeySet) signers() []gossh.Signer {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	return slices.Clone(ks.keys)
}

// generateHostKey makes new host keys for a new instance: two VMs made from
// one template must never share one.
func generateHostKey(ctx context.Context, e *Env) error {
	for _, typ := range sshd.HostKeyTypes {
		p := e.statePath(sshd.HostKeyFile(typ))
		if err := e.remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing the previous instance's host key %s: %w", p, err)
		}
	}
	e.sshKeys.mu.Lock()
	e.sshKeys.keys = nil
	e.sshKeys.mu.Unlock()
	if err := e.loadHostKeys(); err != nil {
		return err
	}
	for _, k := range e.sshKeys.signers() {
		e.Log.Info("SSH host key generated", "type", k.PublicKey().Type(), "fingerprint", sshFingerprint(k.PublicKey()))
	}
	return nil
}

// loadHostKeys loads (or makes) the ed25519 and ECDSA keys now and the RSA
// key in the background when Env.RSAHostKey is set.
func (e *Env) loadHostKeys() error {
	for _, typ := range []string{sshd.KeyEd25519, sshd.KeyECDSA} {
		k, err := sshd.LoadOrCreateHostKeyAt(e.Root, e.statePath(sshd.HostKeyFile(typ)), typ)
		if err != nil {
			return err
		}
		e.sshKeys.add(k)
		if typ == sshd.KeyEd25519 {
			e.HostKey = k
		}
	}
	if !e.RSAHostKey {
		return nil
	}
	rsaPath := e.statePath(sshd.HostKeyFile(sshd.KeyRSA))
	if _, err := e.stat(rsaPath); err == nil {
		// Made on an earlier boot: loading it is quick.
		k, err := sshd.LoadOrCreateHostKeyAt(e.Root, rsaPath, sshd.KeyRSA)
		if err != nil {
			return err
		}
		e.sshKeys.add(k)
		return nil
	}
	e.startRSAHostKey()
	return nil
}

func (e *Env) startRSAHostKey() {
	ks := &e.sshKeys
	ks.mu.Lock()
	if ks.rsa != nil {
		ks.mu.Unlock()
		return
	}
	done := make(chan struct{})
	ks.rsa = done
	ks.mu.Unlock()
	p := e.statePath(sshd.HostKeyFile(sshd.KeyRSA))
	gate := ks.readyGate()
	go func() {
		defer close(done)
		<-gate // wait until the boot is ready
		k, err := sshd.LoadOrCreateHostKeyAt(e.Root, p, sshd.KeyRSA)
		if err != nil {
			e.Log.Warn("no RSA host key: clients that accept only RSA host keys cannot connect", "err", err)
			return
		}
		ks.add(k)
		e.Log.Info("SSH host key ready", "type", k.PublicKey().Type(), "fingerprint", sshFingerprint(k.PublicKey()))
	}()
}

func (ks *sshKeySet) readyGate() chan struct{} {
	ks.readyOnce.Do(func() { ks.ready = make(chan struct{}) })
	return ks.ready
}

// sshReady lets the RSA host key be generated: the boot is ready.
func (e *Env) sshReady() {
	g := e.sshKeys.readyGate()
	select {
	case <-g:
	default:
		close(g)
	}
}

// WaitSSHHostKeys waits until the background RSA host key is done (or ctx
// ends) and returns the public host keys.
func (e *Env) WaitSSHHostKeys(ctx context.Context) []gossh.PublicKey {
	e.sshKeys.mu.Lock()
	done := e.sshKeys.rsa
	e.sshKeys.mu.Unlock()
	if done != nil {
		select {
		case <-done:
		case <-ctx.Done():
		}
	}
	var pubs []gossh.PublicKey
	for _, k := range e.sshKeys.signers() {
		pubs = append(pubs, k.PublicKey())
	}
	return pubs
}

// sshHostKeys is the host keys for events and the status file.
func (e *Env) sshHostKeys() []callback.HostKey {
	var out []callback.HostKey
	for _, k := range e.sshKeys.signers() {
		out = append(out, callback.HostKey{Type: k.PublicKey().Type(), Fingerprint: sshFingerprint(k.PublicKey())})
	}
	return out
}

func startSSH(ctx context.Context, e *Env) error {
	if len(e.sshKeys.signers()) == 0 {
		if err := e.loadHostKeys(); err != nil {
			return err
		}
	}
	p := e.Plan
	cfg := sshd.Config{
		Log:                  e.Log,
		UserCAKeys:           p.SSH.UserCAKeys,
		AllowTCPForwarding:   p.SSH.TCPForwarding,
		AllowAgentForwarding: p.SSH.AgentForwarding,
		Ciphers:              p.SSH.Ciphers,
		PermitRootLogin:      p.SSH.PermitRootLogin,
		// Expired accounts are refused and expired passwords must be
		// changed, whatever the login method (ovfinit.user.expire-password).
		Accounts: sshd.ShadowAccountsAt(e.Root, "/etc/shadow"),
		OnLogin:  e.sshLogin,
		// Keys from ovfinit's own store (the environment's user and every
		// reservation) work even where the OS has no sshd, or where
		// OpenSSH's ownership rules would refuse ~/.ssh/authorized_keys.
		// Their options (command=, from=, no-pty, ...) are kept and
		// enforced by the server like those of any authorized_keys line.
		StoredKeys: func(user string) ([]sshd.AuthorizedKey, error) {
			lines, err := users.StoredKeys(e.Root, e.StateDir, user)
			keys, skipped := sshd.ParseAuthorizedKeys([]byte(strings.Join(lines, "\n")), "key store of "+user)
			for _, msg := range skipped {
				e.Log.Warn("ssh key store line ignored", "user", user, "where", msg)
			}
			return keys, err
		},
		Limits: sshd.Limits{
			MaxAuthTries:      p.SSH.MaxAuthTries,
			LoginGraceTime:    p.SSH.LoginGraceTime,
			MaxFailedLogins:   p.SSH.MaxFailedLogins,
			MaxSessions:       p.SSH.MaxSessions,
			IdleTimeout:       p.SSH.IdleTimeout,
			KeepaliveInterval: p.SSH.KeepaliveInterval,

			MaxSessionsPerConn: p.SSH.MaxSessionsPerConn,
			Startups:           p.SSH.Startups,
		},
	}
	if p.SSH.PasswordAuth {
		check, err := sshd.ShadowPasswordsAt(e.Root, "/etc/shadow")
		if err != nil {
			return fatal(&PropertyError{Key: PropSSHPasswordAuth, Line: e.OVF.PropertyLine(PropSSHPasswordAuth), Err: err})
		}
		cfg.CheckPassword = check
	}
	if argv, err := sshd.SFTPCommand(); err != nil {
		e.Log.Warn("SFTP disabled", "err", err)
	} else {
		cfg.SFTPCommand = argv
	}
	osSSHD := e.sshServer() == SSHServerOS
	writeOS := p.SSH.WriteOSHostKeys || osSSHD
	if writeOS {
		for _, k := range e.sshKeys.signers() {
			if err := writeOSHostKey(e, k); err != nil {
				return err
			}
		}
	}

	keys := e.sshKeys.signers()
	cfg.HostKeys = keys
	var (
		srv  SSHServer
		port int
		err  error
	)
	if osSSHD {
		// The image's OpenSSH serves the port, with the keys just written;
		// it starts once ovfinit is ready (the unit's Before=ssh.service).
		// The reported port stays the planned one: OpenSSH's.
		e.Log.Info("the image's OpenSSH serves SSH with this instance's host keys", "port", p.SSHPort, "fingerprint", sshFingerprint(e.HostKey.PublicKey()))
		if p.SSH.AltPort == 0 {
			e.sshKeys.mu.Lock()
			e.sshKeys.onAdd = func(k gossh.Signer) {
				if err := writeOSHostKey(e, k); err != nil {
					e.Log.Warn("writing host key to /etc/ssh", "err", err)
				}
			}
			e.sshKeys.mu.Unlock()
			return nil
		}
		// A second port for ovfinit's own server, never the OS's.
		cfg.Addr = net.JoinHostPort(e.SSHHost, strconv.Itoa(p.SSH.AltPort))
		if srv, err = e.StartSSH(cfg); err != nil {
			return fatal(&PropertyError{Key: PropSSHAltPort, Line: e.OVF.PropertyLine(PropSSHAltPort),
				Err: fmt.Errorf("cannot listen on %s: %w", cfg.Addr, err)})
		}
		e.SSH = srv
	} else {
		if srv, port, err = e.listenSSH(cfg); err != nil {
			return err
		}
		e.SSH = srv
		p.SSHPort = port // the port actually used, for the ready event
	}

	// Keys that finished in the background from now on join the server.
	ks := &e.sshKeys
	ks.mu.Lock()
	if a, ok := srv.(interface{ AddHostKey(gossh.Signer) }); ok {
		ks.srv = a
	}
	if writeOS {
		ks.onAdd = func(k gossh.Signer) {
			if err := writeOSHostKey(e, k); err != nil {
				e.Log.Warn("writing host key to /etc/ssh", "err", err)
			}
		}
	}
	missed := slices.DeleteFunc(slices.Clone(ks.keys), func(k gossh.Signer) bool { return slices.Contains(keys, k) })
	ks.mu.Unlock()
	for _, k := range missed {
		ks.add(k)
	}
	e.Log.Info("SSH server listening", "addr", srv.Addr().String(), "fingerprint", sshFingerprint(e.HostKey.PublicKey()))
	return nil
}

// sshServer resolves ovfinit.ssh.server: auto is os when the image has
// OpenSSH's server (/usr/sbin/sshd under the root), else embedded.
func (e *Env) sshServer() string {
	switch s := e.Plan.SSH.Server; s {
	case SSHServerEmbedded, SSHServerOS:
		return s
	}
	if fi, err := e.stat("/usr/sbin/sshd"); err == nil && fi.Mode().IsRegular() {
		return SSHServerOS
	}
	return SSHServerEmbedded
}

// listenSSH starts the server on the planned port, or on the alternative
// port when the first is taken.
func (e *Env) listenSSH(cfg sshd.Config) (SSHServer, int, error) {
	p := e.Plan
	try := func(port int) (SSHServer, error) {
		cfg.Addr = net.JoinHostPort(e.SSHHost, strconv.Itoa(port))
		return e.StartSSH(cfg)
	}
	srv, err := try(p.SSHPort)
	if err == nil {
		return srv, p.SSHPort, nil
	}
	addr := net.JoinHostPort(e.SSHHost, strconv.Itoa(p.SSHPort))
	if p.SSH.AltPort != 0 && errors.Is(err, syscall.EADDRINUSE) {
		e.Log.Warn("SSH port taken (another SSH server?); using the alternative port", "port", p.SSHPort, "alt_port", p.SSH.AltPort)
		srv, aerr := try(p.SSH.AltPort)
		if aerr == nil {
			return srv, p.SSH.AltPort, nil
		}
		return nil, 0, fatal(&PropertyError{Key: PropSSHAltPort, Line: e.OVF.PropertyLine(PropSSHAltPort),
			Err: fmt.Errorf("%s is taken and so is the alternative port %d: %w", addr, p.SSH.AltPort, aerr)})
	}
	return nil, 0, fatal(&PropertyError{Key: PropSSHPort, Line: e.OVF.PropertyLine(PropSSHPort),
		Err: fmt.Errorf("cannot listen on %s (another SSH server may hold the port; set %s to fall back): %w", addr, PropSSHAltPort, err)})
}

// sshLogin reports a login to the log (the server did) and the manager.
func (e *Env) sshLogin(l sshd.Login) {
	// The record `ovfinit sanitize --if-no-login` reads.
	if err := users.RecordLogin(e.Root, e.StateDir, users.Login{User: l.User, From: l.From, Fingerprint: l.Fingerprint, Time: l.Time}); err != nil {
		e.Log.Warn("login not recorded: sanitize --if-no-login will not see it", "user", l.User, "err", err)
	}
	d := e.data("")
	d.Message = fmt.Sprintf("%s logged in from %s with %s", l.User, l.From, l.Method)
	if l.Fingerprint != "" {
		d.Message += " " + l.Fingerprint
	}
	e.Events.Emit(callback.TypeLogin, d)
}

// writeOSHostKey copies k's file from the state directory to
// <root>/etc/ssh/ssh_host_<type>_key (0600) with its .pub (0644), for an OS
// sshd, replacing what is there.
func writeOSHostKey(e *Env, k gossh.Signer) error {
	root := e.Root
	typ := sshd.KeyEd25519
	switch k.PublicKey().Type() {
	case gossh.KeyAlgoRSA:
		typ = sshd.KeyRSA
	case gossh.KeyAlgoECDSA256, gossh.KeyAlgoECDSA384, gossh.KeyAlgoECDSA521:
		typ = sshd.KeyECDSA
	}
	priv, err := e.readFile(e.statePath(sshd.HostKeyFile(typ)))
	if err != nil {
		return fmt.Errorf("host key for /etc/ssh: %w", err)
	}
	p := path.Join("/etc/ssh", sshd.HostKeyFile(typ))
	if err := rootfs.WriteFileAt(root, p, priv, 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	if err := rootfs.WriteFileAt(root, p+".pub", sshd.MarshalPublicKey(k.PublicKey()), 0o644); err != nil {
		return fmt.Errorf("writing %s.pub: %w", p, err)
	}
	return nil
}

func sshFingerprint(k gossh.PublicKey) string { return sshd.Fingerprint(k) }
