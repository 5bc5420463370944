//go:build linux

package agent

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/ovfenv"
	"github.com/ovfinit/ovfinit/sshd"
)

// The interim server is for systemd images (sshd.HandoverInstalled), and
// its handover socket is a Unix socket.

// TestInterimSSH: with OpenSSH in the image and ovfinit.ssh.server=auto on
// a systemd system with the handover drop-in (InterimSSH), ovfinit's own
// server answers on OpenSSH's port with the instance's host keys until
// OpenSSH asks for the port (sshd.RequestHandover, what the drop-in runs);
// then it stops listening. An explicit `os`, or no drop-in, leaves the
// port alone; a port already taken leaves the boot alone.
func TestInterimSSH(t *testing.T) {
	tests := []struct {
		name        string
		props       []string
		interim     bool // Env.InterimSSH
		taken       bool // port 22 is taken
		wantInterim bool
	}{
		{"auto", nil, true, false, true},
		{"auto, no drop-in", nil, false, false, false},
		{"os asks for OpenSSH alone", []string{ovfenv.KeySSHServer.Name, "os"}, true, false, false},
		{"auto, port taken", nil, true, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMachine(t)
			os.MkdirAll(filepath.Join(m.root, "usr/sbin"), 0o755)
			if err := os.WriteFile(filepath.Join(m.root, "usr/sbin/sshd"), []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			e, ev := m.env(envXML(append([]string{"instance-id", "i-1"}, tt.props...)...))
			e.InterimSSH = tt.interim
			var started []*fakeSSH
			e.StartSSH = func(cfg sshd.Config) (SSHServer, error) {
				if tt.taken {
					return nil, &net.OpError{Op: "listen", Net: "tcp", Err: os.NewSyscallError("bind", syscall.EADDRINUSE)}
				}
				f := &fakeSSH{cfg: cfg}
				started = append(started, f)
				return f, nil
			}
			if err := Run(context.Background(), e, Steps()); err != nil {
				t.Fatalf("Run() = %v", err)
			}
			defer func() {
				if e.SSHHandover != nil {
					e.SSHHandover.Close()
				}
			}()
			ready := ev.events[len(ev.events)-1]
			if ready.Type != callback.TypeReady || ready.Data.SSHPort != 22 {
				t.Errorf("ready event %s port %d, want ready on port 22", ready.Type, ready.Data.SSHPort)
			}
			if !tt.wantInterim {
				if len(started) != 0 || e.SSH != nil || e.SSHHandedOver() != nil {
					t.Fatalf("an interim server was started (%d)", len(started))
				}
				return
			}
			if len(started) != 1 || e.SSH != started[0] {
				t.Fatalf("started %d servers, want the interim one as Env.SSH", len(started))
			}
			f := started[0]
			if _, p, _ := net.SplitHostPort(f.cfg.Addr); p != "22" {
				t.Errorf("interim server on %q, want OpenSSH's port 22", f.cfg.Addr)
			}
			pub, err := os.ReadFile(filepath.Join(m.root, "etc/ssh/ssh_host_ed25519_key.pub"))
			if err != nil {
				t.Fatal(err)
			}
			k, _, _, _, err := gossh.ParseAuthorizedKey(pub)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(f.cfg.HostKeys, func(s gossh.Signer) bool { return bytes.Equal(s.PublicKey().Marshal(), k.Marshal()) }) {
				t.Errorf("the interim server does not have /etc/ssh's host key %s", sshd.Fingerprint(k))
			}
			select {
			case <-e.SSHHandedOver():
				t.Fatal("handed over before anyone asked")
			default:
			}
			sock := filepath.Join(m.root, filepath.FromSlash(e.runtimePath(HandoverSocket)))
			handed, err := sshd.RequestHandover(t.Context(), sock)
			if err != nil || !handed {
				t.Fatalf("RequestHandover() = %v, %v; want handed over", handed, err)
			}
			select {
			case <-e.SSHHandedOver():
			case <-time.After(10 * time.Second):
				t.Fatal("SSHHandedOver not closed after the handover")
			}
			f.mu.Lock()
			stopped := f.stopped
			f.mu.Unlock()
			if !stopped {
				t.Error("the interim server still listens after the handover")
			}
		})
	}
}
