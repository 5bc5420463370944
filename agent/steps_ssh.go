package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/ovfenv"
	"github.com/ovfinit/ovfinit/sshd"
	"github.com/ovfinit/ovfinit/users"
)

// hostKeys is the instance's host key set (sshd.HostKeys), made on first
// use: its files are in the state directory, the RSA key (RSAHostKey) is
// made in the background after ready.
func (e *Env) hostKeys() *sshd.HostKeys {
	if e.sshKeys == nil {
		e.sshKeys = sshd.NewHostKeys(sshd.HostKeysConfig{Root: e.Root, Dir: e.statePath(""), RSA: e.RSAHostKey, GenerateRSA: e.GenerateRSA, Log: e.Log})
	}
	return e.sshKeys
}

// generateHostKey makes new host keys for a new instance: two VMs made from
// one template must never share one.
func generateHostKey(ctx context.Context, e *Env) (Result, error) {
	if err := e.hostKeys().Regenerate(); err != nil {
		return Result{}, err
	}
	e.HostKey = e.hostKeys().Primary()
	// The image's OpenSSH gets them now, while udev still names the NICs,
	// not on the way from the network to the ready event (the sshd step
	// then finds them in place).
	if e.Plan != nil && e.writesOSHostKeys() {
		for _, k := range e.hostKeys().Signers() {
			if err := e.hostKeys().CopyToOpenSSH(k); err != nil {
				return Result{}, err
			}
		}
	}
	return Result{}, nil
}

// writesOSHostKeys says whether the host keys go to /etc/ssh too: for
// the image's OpenSSH, or when ovfinit.ssh.write-os-host-keys asks.
func (e *Env) writesOSHostKeys() bool {
	return e.Plan.SSH.WriteOSHostKeys || e.sshServer() == SSHServerOS
}

// WaitSSHHostKeys waits until the background RSA host key is done (or ctx
// ends) and returns the public host keys.
func (e *Env) WaitSSHHostKeys(ctx context.Context) []gossh.PublicKey {
	return e.hostKeys().Wait(ctx)
}

// sshHostKeys is the host keys for events and the status file.
func (e *Env) sshHostKeys() []callback.HostKey {
	var out []callback.HostKey
	for _, k := range e.hostKeys().Signers() {
		out = append(out, callback.HostKey{Type: k.PublicKey().Type(), Fingerprint: sshd.Fingerprint(k.PublicKey()),
			Key: strings.TrimSpace(string(gossh.MarshalAuthorizedKey(k.PublicKey())))})
	}
	return out
}

func startSSH(ctx context.Context, e *Env) (Result, error) {
	keys := e.hostKeys()
	if e.HostKey == nil {
		if err := keys.Load(); err != nil {
			return Result{}, err
		}
		e.HostKey = keys.Primary()
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
			return Result{}, fatal(&PropertyError{Key: ovfenv.KeySSHPasswordAuth.Name, Line: e.OVF.PropertyLine(ovfenv.KeySSHPasswordAuth.Name), Err: err})
		}
		cfg.CheckPassword = check
	}
	if argv, err := sshd.SFTPCommand(); err != nil {
		e.Log.Warn("SFTP disabled", "err", err)
	} else {
		cfg.SFTPCommand = argv
	}
	cfg.HostKeys = keys.Signers()
	osSSHD := e.sshServer() == SSHServerOS
	writeOS := e.writesOSHostKeys()
	if writeOS { // in place since the host-key step, unless changed since
		for _, k := range cfg.HostKeys {
			if err := keys.CopyToOpenSSH(k); err != nil {
				return Result{}, err
			}
		}
	}
	copyLate := func(k gossh.Signer) {
		if err := keys.CopyToOpenSSH(k); err != nil {
			e.Log.Warn("writing host key to /etc/ssh", "err", err)
		}
	}

	var srv SSHServer
	if osSSHD {
		// The image's OpenSSH serves the port, with the keys just written;
		// it starts once ovfinit is ready (the unit's Before=ssh.service).
		// The reported port stays the planned one: OpenSSH's.
		e.Log.Info("the image's OpenSSH serves SSH with this instance's host keys", "port", p.SSHPort, "fingerprint", sshd.Fingerprint(e.HostKey.PublicKey()))
		e.Boot.SSHPort = p.SSHPort
		if p.SSH.AltPort == 0 {
			interim := e.interimSSH(cfg)
			keys.Follow(cfg.HostKeys, func(k gossh.Signer) {
				copyLate(k)
				if interim != nil {
					interim.AddHostKey(k)
				}
			})
			return Result{}, nil
		}
		// A second port for ovfinit's own server, never the OS's.
		cfg.Addr = net.JoinHostPort(e.SSHHost, strconv.Itoa(p.SSH.AltPort))
		var err error
		if srv, err = e.StartSSH(cfg); err != nil {
			return Result{}, fatal(&PropertyError{Key: ovfenv.KeySSHAltPort.Name, Line: e.OVF.PropertyLine(ovfenv.KeySSHAltPort.Name),
				Err: fmt.Errorf("cannot listen on %s: %w", cfg.Addr, err)})
		}
		e.SSH = srv
	} else {
		var port int
		var err error
		if srv, port, err = e.listenSSH(cfg); err != nil {
			return Result{}, err
		}
		e.SSH = srv
		e.Boot.SSHPort = port // the port actually used, for the ready event
	}

	// Keys that finish in the background join the server (and /etc/ssh).
	keys.Follow(cfg.HostKeys, func(k gossh.Signer) {
		srv.AddHostKey(k)
		if writeOS {
			copyLate(k)
		}
	})
	e.Log.Info("SSH server listening", "addr", srv.Addr().String(), "fingerprint", sshd.Fingerprint(e.HostKey.PublicKey()))
	return Result{}, nil
}

// HandoverSocket is the interim server's handover socket in the runtime
// directory (`ovfinit ssh-handover` connects to it).
const HandoverSocket = "ssh-handover.sock"

// interimSSH starts ovfinit's server on OpenSSH's port, to answer until the
// image's OpenSSH starts: its service's drop-in asks for the port
// (sshd.Handover), the listener closes, open sessions go on. Only with
// ovfinit.ssh.server=auto (os asks for OpenSSH alone) and InterimSSH. The
// server has the keys just copied to /etc/ssh, so the host keys reported
// are those of whichever server answers. nil when it is not started.
func (e *Env) interimSSH(cfg sshd.Config) SSHServer {
	p := e.Plan
	if !e.InterimSSH || p.SSH.Server != SSHServerAuto {
		return nil
	}
	cfg.Addr = net.JoinHostPort(e.SSHHost, strconv.Itoa(p.SSHPort))
	srv, err := e.StartSSH(cfg)
	if err != nil {
		e.Log.Info("no interim SSH server: OpenSSH's port is taken", "port", p.SSHPort, "err", err)
		return nil
	}
	sock := filepath.Join(e.Root, filepath.FromSlash(e.runtimePath(HandoverSocket)))
	h, err := sshd.ListenHandover(sock, srv.StopListening)
	if err != nil {
		e.Log.Warn("no interim SSH server: OpenSSH could not ask for its port", "err", err)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		return nil
	}
	e.SSH, e.SSHHandover = srv, h
	e.Log.Info("ovfinit's SSH server answers on OpenSSH's port until OpenSSH starts", "addr", srv.Addr().String())
	return srv
}

// SSHHandedOver is closed once ovfinit's interim server has given its port
// to OpenSSH; nil (never closed) when there is no interim server.
func (e *Env) SSHHandedOver() <-chan struct{} {
	if e.SSHHandover == nil {
		return nil
	}
	return e.SSHHandover.Released()
}

// sshServer resolves ovfinit.ssh.server: auto is os when the image has
// OpenSSH's server (sshd.HasOpenSSH), else embedded.
func (e *Env) sshServer() string {
	switch s := e.Plan.SSH.Server; s {
	case SSHServerEmbedded, SSHServerOS:
		return s
	}
	if sshd.HasOpenSSH(e.Root) {
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
		return nil, 0, fatal(&PropertyError{Key: ovfenv.KeySSHAltPort.Name, Line: e.OVF.PropertyLine(ovfenv.KeySSHAltPort.Name),
			Err: fmt.Errorf("%s is taken and so is the alternative port %d: %w", addr, p.SSH.AltPort, aerr)})
	}
	return nil, 0, fatal(&PropertyError{Key: ovfenv.KeySSHPort.Name, Line: e.OVF.PropertyLine(ovfenv.KeySSHPort.Name),
		Err: fmt.Errorf("cannot listen on %s (another SSH server may hold the port; set %s to fall back): %w", addr, ovfenv.KeySSHAltPort.Name, err)})
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

// hostPublicKeys is the host keys' public halves (phone_home posts them).
func (e *Env) hostPublicKeys() []gossh.PublicKey {
	var out []gossh.PublicKey
	for _, s := range e.hostKeys().Signers() {
		out = append(out, s.PublicKey())
	}
	return out
}
