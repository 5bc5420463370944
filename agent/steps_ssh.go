package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strconv"

	gossh "golang.org/x/crypto/ssh"

	"github.com/ovfinit/ovfinit/sshd"
)

const hostKeyFile = "ssh_host_ed25519_key"

// generateHostKey makes a new host key for a new instance: two VMs made from
// one template must never share one.
func generateHostKey(ctx context.Context, e *Env) error {
	path := e.statePath(hostKeyFile)
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing the previous instance's host key: %w", err)
	}
	k, err := sshd.LoadOrCreateHostKey(path)
	if err != nil {
		return err
	}
	e.HostKey = k
	e.Log.Info("SSH host key generated", "fingerprint", sshFingerprint(k.PublicKey()))
	return nil
}

func startSSH(ctx context.Context, e *Env) error {
	if e.HostKey == nil {
		k, err := sshd.LoadOrCreateHostKey(e.statePath(hostKeyFile))
		if err != nil {
			return err
		}
		e.HostKey = k
	}
	addr := net.JoinHostPort(e.SSHHost, strconv.Itoa(e.Plan.SSHPort))
	srv, err := e.StartSSH(sshd.Config{Addr: addr, HostKeys: []gossh.Signer{e.HostKey}, Log: e.Log})
	if err != nil {
		return fatal(&PropertyError{Key: PropSSHPort, Line: e.OVF.PropertyLine(PropSSHPort),
			Err: fmt.Errorf("cannot listen on %s (another SSH server may hold the port): %w", addr, err)})
	}
	e.SSH = srv
	e.Log.Info("SSH server listening", "addr", srv.Addr().String(), "fingerprint", sshFingerprint(e.HostKey.PublicKey()))
	return nil
}

func sshFingerprint(k gossh.PublicKey) string { return sshd.Fingerprint(k) }
