package agent

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ovfinit/ovfinit/ovfenv"

	"github.com/google/go-cmp/cmp"
	gossh "golang.org/x/crypto/ssh"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/sshd"
	"github.com/ovfinit/ovfinit/users"
)

const caKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGhxBzpTf4AKAOHLOmPFdsKJpePoxHBCf5ELbSOkYhGk ca@example"

func TestSSHHostKeysRSAInBackground(t *testing.T) {
	m := newMachine(t)
	e, ev := m.env(envXML("instance-id", "i-1", ovfenv.KeySSHWriteOSHostKeys.Name, "true", "ovfinit.callback.url", "http://10.0.2.2:8080/events"))
	e.RSAHostKey = true
	srv := &fakeSSH{}
	e.StartSSH = func(cfg sshd.Config) (SSHServer, error) {
		srv.cfg = cfg
		return srv, nil
	}
	if err := Run(context.Background(), e, Steps()); err != nil {
		t.Fatalf("Run() = %v", err)
	}
	for _, r := range ev.events {
		if r.Type == callback.TypeReady && len(r.Data.SSHHostKeys) != 2 {
			t.Errorf("first boot ready lists %d host keys, want 2 (RSA is made after ready)", len(r.Data.SSHHostKeys))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pubs := e.WaitSSHHostKeys(ctx)
	var types []string
	for _, k := range pubs {
		types = append(types, k.Type())
	}
	if want := []string{gossh.KeyAlgoED25519, gossh.KeyAlgoECDSA256, gossh.KeyAlgoRSA}; !cmp.Equal(types, want) {
		t.Fatalf("host key types = %v, want %v", types, want)
	}
	// The RSA key reached the server whether it was ready before or after start.
	inCfg := len(srv.cfg.HostKeys) == 3
	srv.mu.Lock()
	added := len(srv.added)
	srv.mu.Unlock()
	if !inCfg && added != 1 {
		t.Errorf("RSA key neither in the server's config (%d keys) nor added later (%d)", len(srv.cfg.HostKeys), added)
	}
	for _, typ := range sshd.HostKeyTypes {
		for _, dir := range []string{"var/lib/ovfinit", "etc/ssh"} {
			checkPrivate(t, filepath.Join(m.root, dir, sshd.HostKeyFile(typ)))
		}
		pub, err := os.ReadFile(filepath.Join(m.root, "etc/ssh", sshd.HostKeyFile(typ)+".pub"))
		if err != nil || !strings.HasPrefix(string(pub), "ssh-") && !strings.HasPrefix(string(pub), "ecdsa-") {
			t.Errorf("%s.pub = %q, %v", typ, pub, err)
		}
	}
	block := sshd.FingerprintBlock(pubs, "")
	if strings.Count(block, "\n") != 5 || !strings.Contains(block, "(RSA)") {
		t.Errorf("fingerprint block:\n%s\nwant three keys", block)
	}
	// A reboot loads all three before the server starts.
	e2, ev2 := m.env(envXML("instance-id", "i-1", "ovfinit.callback.url", "http://10.0.2.2:8080/events"))
	e2.RSAHostKey = true
	if err := Run(context.Background(), e2, Steps()); err != nil {
		t.Fatalf("second Run() = %v", err)
	}
	if ready := ev2.events[len(ev2.events)-1]; len(ready.Data.SSHHostKeys) != 3 {
		t.Errorf("reboot ready lists %v, want all three host keys", ready.Data.SSHHostKeys)
	}
	// A login is reported to the manager.
	e.sshLogin(sshd.Login{User: "alice", From: "10.0.0.9:5555", Fingerprint: "SHA256:abc", Method: "publickey", Time: time.Now()})
	last := ev.events[len(ev.events)-1]
	if last.Type != callback.TypeLogin || !strings.Contains(last.Data.Message, "alice logged in from 10.0.0.9:5555 with publickey SHA256:abc") {
		t.Errorf("last event = %+v, want a login event naming user, address and key", last)
	}
	// ... and recorded for `ovfinit sanitize --if-no-login`.
	if l, ok, err := users.LastLogin(m.root, "/var/lib/ovfinit", "alice"); err != nil || !ok || l.From != "10.0.0.9:5555" || l.Fingerprint != "SHA256:abc" {
		t.Errorf("LastLogin(alice) = %+v, %v, %v; want the login just reported", l, ok, err)
	}
}

// TestSSHStoredKeys: the server takes keys from ovfinit's key store (what
// the user step and `ovfinit reserve` fill), not only ~/.ssh.
func TestSSHStoredKeys(t *testing.T) {
	m := newMachine(t)
	if _, _, err := m.boot(fullEnv("i-keys")); err != nil {
		t.Fatal(err)
	}
	if m.ssh == nil || m.ssh.cfg.StoredKeys == nil {
		t.Fatalf("sshd config has no StoredKeys hook")
	}
	keys, err := m.ssh.cfg.StoredKeys("ovfuser")
	if err != nil || len(keys) != 1 {
		t.Fatalf("StoredKeys(ovfuser) = %d keys, %v; want the environment's one key", len(keys), err)
	}
	if keys, _ := m.ssh.cfg.StoredKeys("nobody"); len(keys) != 0 {
		t.Errorf("StoredKeys(nobody) = %v, want none", keys)
	}
}

func TestSSHAltPort(t *testing.T) {
	tests := []struct {
		name     string
		props    []string
		wantPort int
		wantErr  string
	}{
		{"free port", []string{ovfenv.KeySSHPort.Name, "2200"}, 2200, ""},
		{"taken, alternative", []string{ovfenv.KeySSHPort.Name, "22", ovfenv.KeySSHAltPort.Name, "2222"}, 2222, ""},
		{"taken, no alternative", []string{ovfenv.KeySSHPort.Name, "22"}, 0, "property ovfinit.ssh.port"},
		{"both taken", []string{ovfenv.KeySSHPort.Name, "22", ovfenv.KeySSHAltPort.Name, "23"}, 0, "property ovfinit.ssh.alt-port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMachine(t)
			e, ev := m.env(envXML(append([]string{"instance-id", "i-1"}, tt.props...)...))
			e.StartSSH = func(cfg sshd.Config) (SSHServer, error) {
				if strings.HasSuffix(cfg.Addr, ":22") || strings.HasSuffix(cfg.Addr, ":23") {
					return nil, &net.OpError{Op: "listen", Net: "tcp", Err: os.NewSyscallError("bind", syscall.EADDRINUSE)}
				}
				return &fakeSSH{cfg: cfg}, nil
			}
			err := Run(context.Background(), e, Steps())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Run() = %v, want an error naming %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Run() = %v", err)
			}
			ready := ev.events[len(ev.events)-1]
			if ready.Type != callback.TypeReady || ready.Data.SSHPort != tt.wantPort {
				t.Errorf("ready event %s port %d, want ready on port %d", ready.Type, ready.Data.SSHPort, tt.wantPort)
			}
		})
	}
}

// TestImageDefaultSSHPort: run --ssh-port (what `install --port` bakes in)
// is the port when the environment sets none, and the property still wins.
func TestImageDefaultSSHPort(t *testing.T) {
	tests := []struct {
		name  string
		props []string
		want  int
	}{
		{"image default", []string{"instance-id", "i-p"}, 2200},
		{"property wins", []string{"instance-id", "i-p", "ovfinit.ssh.port", "2022"}, 2022},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMachine(t)
			e, _ := m.env(envXML(tt.props...))
			e.DefaultSSHPort = 2200
			if err := Run(context.Background(), e, Steps()); err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(m.ssh.cfg.Addr, fmt.Sprintf(":%d", tt.want)) {
				t.Errorf("sshd listens on %q, want port %d", m.ssh.cfg.Addr, tt.want)
			}
		})
	}
}

// TestSSHAccountPolicy: ovfinit.user.expire-password reaches the embedded
// server (the user's shadow entry says "must change", and the server reads
// that file), and ovfinit.ssh.permit-root-login is passed on.
func TestSSHAccountPolicy(t *testing.T) {
	m := newMachine(t)
	if _, _, err := m.boot(envXML("instance-id", "i-expire", "ovfinit.user", "ovfuser", "password", "first pw",
		ovfenv.KeyUserExpirePassword.Name, "true", ovfenv.KeySSHPermitRootLogin.Name, "no")); err != nil {
		t.Fatal(err)
	}
	if m.ssh == nil || m.ssh.cfg.Accounts == nil {
		t.Fatalf("sshd config has no Accounts hook: shadow expiry would not be enforced")
	}
	e, err := m.ssh.cfg.Accounts(&sshd.User{Name: "ovfuser"})
	if err != nil || e == nil || e.LastChange != 0 {
		t.Errorf("Accounts(ovfuser) = %+v, %v; want the shadow entry with last change day 0", e, err)
	}
	if got := m.ssh.cfg.PermitRootLogin; got != sshd.RootLoginNo {
		t.Errorf("sshd PermitRootLogin = %q, want %q", got, sshd.RootLoginNo)
	}
}

// TestSSHServerPolicy: ovfinit.ssh.server. In an image with OpenSSH
// (/usr/sbin/sshd) the default (auto) leaves port 22 to it: the boot does
// not fail on the port OpenSSH will hold, the instance's host keys are in
// /etc/ssh, and the ready event reports port 22 with those keys'
// fingerprints. The embedded server listens only on the alternative port.
// Without OpenSSH, or with embedded, ovfinit's server takes the port.
func TestSSHServerPolicy(t *testing.T) {
	tests := []struct {
		name       string
		sshd       bool // the image has /usr/sbin/sshd
		props      []string
		wantListen string // the embedded server's port; "" for none
		wantOSKeys bool
	}{
		{"auto with OpenSSH", true, nil, "", true},
		{"auto with OpenSSH and an alt port", true, []string{ovfenv.KeySSHAltPort.Name, "2222"}, "2222", true},
		{"os without alt port", false, []string{ovfenv.KeySSHServer.Name, "os"}, "", true},
		{"auto without OpenSSH", false, nil, "22", false},
		{"embedded in an image with OpenSSH", true, []string{ovfenv.KeySSHServer.Name, "embedded", ovfenv.KeySSHPort.Name, "2200"}, "2200", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMachine(t)
			if tt.sshd {
				os.MkdirAll(filepath.Join(m.root, "usr/sbin"), 0o755)
				if err := os.WriteFile(filepath.Join(m.root, "usr/sbin/sshd"), []byte("#!/bin/sh\n"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			e, ev := m.env(envXML(append([]string{"instance-id", "i-1"}, tt.props...)...))
			var listened []string
			e.StartSSH = func(cfg sshd.Config) (SSHServer, error) {
				listened = append(listened, cfg.Addr)
				if strings.HasSuffix(cfg.Addr, ":22") && tt.sshd {
					// OpenSSH holds it (as on a later boot, or started early).
					return nil, &net.OpError{Op: "listen", Net: "tcp", Err: os.NewSyscallError("bind", syscall.EADDRINUSE)}
				}
				return &fakeSSH{cfg: cfg}, nil
			}
			// The image's OpenSSH gets its keys in the host-key step,
			// before the network step, not on the way to ready.
			steps := Steps()
			keysBeforeNet := false
			for i := range steps {
				if steps[i].Name == "network" {
					run := steps[i].Run
					steps[i].Run = func(ctx context.Context, e *Env) (Result, error) {
						_, err := os.Stat(filepath.Join(m.root, "etc/ssh/ssh_host_ecdsa_key"))
						keysBeforeNet = err == nil
						return run(ctx, e)
					}
				}
			}
			if err := Run(context.Background(), e, steps); err != nil {
				t.Fatalf("Run() = %v", err)
			}
			if keysBeforeNet != tt.wantOSKeys {
				t.Errorf("OpenSSH's host keys in /etc/ssh before the network step: %v, want %v", keysBeforeNet, tt.wantOSKeys)
			}
			var ports []string
			for _, a := range listened {
				_, p, _ := net.SplitHostPort(a)
				ports = append(ports, p)
			}
			if tt.wantListen == "" && len(ports) != 0 || tt.wantListen != "" && !slices.Equal(ports, []string{tt.wantListen}) {
				t.Errorf("embedded server listened on %v, want %q", ports, tt.wantListen)
			}
			ready := ev.events[len(ev.events)-1]
			wantPort := 22
			if !tt.wantOSKeys {
				wantPort, _ = strconv.Atoi(tt.wantListen)
			}
			if ready.Type != callback.TypeReady || ready.Data.SSHPort != wantPort {
				t.Errorf("ready event %s port %d, want ready on port %d", ready.Type, ready.Data.SSHPort, wantPort)
			}
			pub, err := os.ReadFile(filepath.Join(m.root, "etc/ssh/ssh_host_ed25519_key.pub"))
			if !tt.wantOSKeys {
				if err == nil {
					t.Errorf("/etc/ssh/ssh_host_ed25519_key.pub written with the embedded server")
				}
				return
			}
			if err != nil {
				t.Fatalf("the OS host key: %v", err)
			}
			k, _, _, _, err := gossh.ParseAuthorizedKey(pub)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(ready.Data.SSHHostKeys, func(h callback.HostKey) bool { return h.Fingerprint == sshd.Fingerprint(k) }) {
				t.Errorf("ready reports host keys %v, want the one in /etc/ssh (%s)", ready.Data.SSHHostKeys, sshd.Fingerprint(k))
			}
		})
	}
}
