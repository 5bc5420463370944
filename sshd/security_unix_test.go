//go:build unix

package sshd

import (
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-crypt/crypt/algorithm/shacrypt"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/ovfinit/ovfinit/internal/fuzzmin"
	"github.com/pkg/sftp"
	gossh "golang.org/x/crypto/ssh"
)

// TestMain lets the test binary act as the sftp-server helper, as the
// ovfinit binary does: the server re-executes it as the user.
func TestMain(m *testing.M) {
	if len(os.Args) == 2 && os.Args[1] == SFTPServerArg {
		if err := ServeSFTP(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "sftp-server:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	flag.Parse()
	fuzzmin.Bound() // the fuzzers stall minimizing otherwise (package fuzzmin)
	os.Exit(m.Run())
}

// TestNeverAcceptsEveryone: gliderssh lets everyone in when no auth handler
// is set. A server with no keys, no CA and no password must refuse every
// method, "none" above all.
func TestNeverAcceptsEveryone(t *testing.T) {
	ts := startServerConfig(t, map[string]*User{"alice": testUser("alice", t.TempDir())}, nil, nil, nil)
	if ts.srv.srv.PublicKeyHandler == nil {
		t.Fatalf("New left gliderssh's PublicKeyHandler nil: gliderssh would set NoClientAuth")
	}
	if ts.srv.srv.PasswordHandler != nil || ts.srv.srv.KeyboardInteractiveHandler != nil {
		t.Errorf("password or keyboard-interactive handler set without Config.CheckPassword")
	}
	for name, auth := range map[string][]gossh.AuthMethod{
		"none":     nil,
		"password": {gossh.Password("")},
		"any key":  {gossh.PublicKeys(newClientKey(t))},
		"keyboard-interactive": {gossh.KeyboardInteractive(func(string, string, []string, []bool) ([]string, error) {
			return nil, nil
		})},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := ts.dial("alice", auth...)
			if err == nil {
				c.Close()
				t.Fatalf("Dial(alice, %s) succeeded on a server with no credentials, want refused", name)
			}
		})
	}
}

func TestCertificates(t *testing.T) {
	ca, otherCA, key := newClientKey(t), newClientKey(t), newClientKey(t)
	var logins []Login
	var mu sync.Mutex
	ts := startServerConfig(t,
		map[string]*User{"alice": testUser("alice", t.TempDir()), "bob": testUser("bob", t.TempDir())}, nil,
		func(c *Config) {
			c.UserCAKeys = []gossh.PublicKey{ca.PublicKey()}
			c.OnLogin = func(l Login) { mu.Lock(); logins = append(logins, l); mu.Unlock() }
		}, nil)
	past := time.Now().Add(-2 * time.Hour)
	tests := []struct {
		name   string
		user   string
		signer gossh.Signer
		wantOK bool
	}{
		{"valid", "alice", signCert(t, ca, key, nil), true},
		{"expired", "alice", signCert(t, ca, key, func(c *gossh.Certificate) {
			c.ValidAfter, c.ValidBefore = uint64(past.Unix()), uint64(past.Add(time.Hour).Unix())
		}), false},
		{"not yet valid", "alice", signCert(t, ca, key, func(c *gossh.Certificate) {
			c.ValidAfter = uint64(time.Now().Add(time.Hour).Unix())
			c.ValidBefore = uint64(time.Now().Add(2 * time.Hour).Unix())
		}), false},
		{"signed by another CA", "alice", signCert(t, otherCA, key, nil), false},
		{"principal is another user", "bob", signCert(t, ca, key, nil), false},
		{"no principals", "alice", signCert(t, ca, key, func(c *gossh.Certificate) { c.ValidPrincipals = nil }), false},
		{"host certificate", "alice", signCert(t, ca, key, func(c *gossh.Certificate) { c.CertType = gossh.HostCert }), false},
		{"source-address elsewhere", "alice", signCert(t, ca, key, func(c *gossh.Certificate) {
			c.CriticalOptions = map[string]string{"source-address": "192.0.2.0/24"}
		}), false},
		{"source-address here", "alice", signCert(t, ca, key, func(c *gossh.Certificate) {
			c.CriticalOptions = map[string]string{"source-address": "10.0.0.1,127.0.0.0/8"}
		}), true},
		{"force-command", "alice", signCert(t, ca, key, func(c *gossh.Certificate) {
			c.CriticalOptions = map[string]string{"force-command": "true"}
		}), false},
		{"plain key of the cert", "alice", key, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ts.dial(tt.user, gossh.PublicKeys(tt.signer))
			if c != nil {
				defer c.Close()
			}
			if (err == nil) != tt.wantOK {
				t.Fatalf("Dial(%s, cert %s) error = %v, want ok=%v", tt.user, tt.name, err, tt.wantOK)
			}
			if tt.wantOK {
				if out, _, _ := run(t, c, "echo ok", ""); out != "ok\n" {
					t.Errorf("Run(echo ok) = %q", out)
				}
			}
		})
	}
	if !strings.Contains(ts.logs.String(), "certificate refused") {
		t.Errorf("logs lack a certificate refusal")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(logins) == 0 {
		t.Fatal("OnLogin never called")
	}
	want := Login{User: "alice", Fingerprint: Fingerprint(key.PublicKey()), Method: "certificate"}
	if diff := cmp.Diff(want, logins[0], cmpopts.IgnoreFields(Login{}, "From", "Time")); diff != "" {
		t.Errorf("OnLogin (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(logins[0].From, "127.0.0.1:") || logins[0].Time.IsZero() {
		t.Errorf("OnLogin From = %q, Time = %v; want 127.0.0.1:port and a time", logins[0].From, logins[0].Time)
	}
}

func writeShadow(t *testing.T, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "shadow")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func sha512Hash(t *testing.T, pw string) string {
	t.Helper()
	h, err := shacrypt.NewSHA512()
	if err != nil {
		t.Fatal(err)
	}
	d, err := h.Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	return d.Encode()
}

func TestPasswordAuth(t *testing.T) {
	shadow := writeShadow(t,
		"alice:"+sha512Hash(t, "correct horse")+":19000:0:99999:7:::",
		"locked:!"+sha512Hash(t, "pw")+":19000:0:99999:7:::",
		"empty::19000:0:99999:7:::",
		// yescrypt, made by Debian 12's libxcrypt: perl -e 'print crypt("yes pw", q($y$j9T$F5Jx5fExrKuPp53xLKQ..1$))'
		"yes:$y$j9T$F5Jx5fExrKuPp53xLKQ..1$0UxoHASLn0DrD5O1HxEygQE7H4umbK3Yu1KT9RPJhB7:19000:0:99999:7:::",
	)
	check, err := ShadowPasswords(shadow)
	if err != nil {
		t.Fatal(err)
	}
	users := map[string]*User{}
	for _, n := range []string{"alice", "locked", "empty", "yes", "nobody-here"} {
		users[n] = testUser(n, t.TempDir())
	}
	// Test users have the test's uid: 0 when run as root, and root may use
	// a password only with PermitRootLogin yes (TestPermitRootLogin).
	on := startServerConfig(t, users, nil, func(c *Config) { c.CheckPassword = check; c.PermitRootLogin = RootLoginYes }, nil)
	off := startServer(t, users, nil, nil)
	tests := []struct {
		name, user, pw string
		srv            *testServer
		wantOK         bool
	}{
		{"right password", "alice", "correct horse", on, true},
		{"wrong password", "alice", "wrong", on, false},
		{"locked account", "locked", "pw", on, false},
		{"empty hash", "empty", "", on, false},
		{"no shadow entry", "nobody-here", "", on, false},
		{"unknown user", "mallory", "x", on, false},
		{"right password when disabled", "alice", "correct horse", off, false},
		{"yescrypt", "yes", "yes pw", on, true},
		{"yescrypt wrong", "yes", "yes pw!", on, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.srv.dial(tt.user, gossh.Password(tt.pw))
			if c != nil {
				c.Close()
			}
			if (err == nil) != tt.wantOK {
				t.Errorf("Dial(%s, password %q) error = %v, want ok=%v", tt.user, tt.pw, err, tt.wantOK)
			}
		})
	}
	if logs := on.logs.String(); strings.Contains(logs, "correct horse") || !strings.Contains(logs, "ssh password refused") {
		t.Errorf("logs hold the password or lack the refusal:\n%s", logs)
	}
}

func TestStoredKeysMerged(t *testing.T) {
	fileKey, storeKey, other := newClientKey(t), newClientKey(t), newClientKey(t)
	ts := startServerConfig(t, map[string]*User{"alice": testUser("alice", t.TempDir())},
		map[string][]gossh.PublicKey{"alice": {fileKey.PublicKey()}},
		func(c *Config) {
			c.StoredKeys = func(user string) ([]AuthorizedKey, error) {
				if user == "alice" {
					return plainKeys(storeKey.PublicKey()), nil
				}
				return nil, nil
			}
		}, nil)
	for _, tc := range []struct {
		name   string
		key    gossh.Signer
		wantOK bool
	}{{"authorized_keys", fileKey, true}, {"store", storeKey, true}, {"neither", other, false}} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ts.dial("alice", gossh.PublicKeys(tc.key))
			if c != nil {
				c.Close()
			}
			if (err == nil) != tc.wantOK {
				t.Errorf("Dial(alice, %s key) error = %v, want ok=%v", tc.name, err, tc.wantOK)
			}
		})
	}
}

// TestFailedLoginFlood: 1,000 rapid failed logins from one address are rate
// limited (refused before the key exchange once over the limit, logged once
// per window), while a client from another address is still served.
func TestFailedLoginFlood(t *testing.T) {
	good, bad := newClientKey(t), newClientKey(t)
	ts := startServer(t, map[string]*User{"alice": testUser("alice", t.TempDir())},
		map[string][]gossh.PublicKey{"alice": {good.PublicKey()}}, nil)
	start := time.Now()
	handshakes := 0
	for i := range 1000 {
		c, err := ts.dialFrom("127.0.0.1", "alice", gossh.PublicKeys(bad))
		if err == nil {
			c.Close()
			t.Fatalf("attempt %d with a wrong key succeeded", i)
		}
		if strings.Contains(err.Error(), "unable to authenticate") {
			handshakes++
		}
	}
	t.Logf("1000 failed logins in %v; %d reached authentication", time.Since(start), handshakes)
	// A failure counts when its connection closes, so a connection or two
	// still closing when the next arrives may slip past the limit.
	if max := DefaultMaxFailedLogins + 3; handshakes > max {
		t.Errorf("%d of 1000 failed logins reached authentication, want at most %d (rate limit)", handshakes, max)
	}
	// The flooding address is refused even with the right key...
	if c, err := ts.dialFrom("127.0.0.1", "alice", gossh.PublicKeys(good)); err == nil {
		c.Close()
		t.Errorf("right key from the flooding address accepted during the window, want refused")
	}
	// ...while another address is served.
	c, err := ts.dialFrom("127.0.0.2", "alice", gossh.PublicKeys(good))
	if err != nil {
		t.Fatalf("login from 127.0.0.2 during a flood from 127.0.0.1 = %v, want ok", err)
	}
	defer c.Close()
	if out, _, _ := run(t, c, "echo ok", ""); out != "ok\n" {
		t.Errorf("Run(echo ok) = %q", out)
	}
	if n := strings.Count(ts.logs.String(), "ssh connection refused: too many failed logins"); n != 1 {
		t.Errorf("rate-limit refusal logged %d times, want once per window", n)
	}
}

func TestAcceptEnv(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{{"LANG", true}, {"LC_ALL", true}, {"COLORTERM", true}, {"LD_PRELOAD", false}, {"PATH", false}, {"LANGUAGE", false}}
	for _, tt := range tests {
		if got := acceptEnv(DefaultAcceptEnv, tt.name); got != tt.want {
			t.Errorf("acceptEnv(DefaultAcceptEnv, %q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSFTP(t *testing.T) {
	key := newClientKey(t)
	home := t.TempDir()
	ts := startServerConfig(t, map[string]*User{"alice": testUser("alice", home)},
		map[string][]gossh.PublicKey{"alice": {key.PublicKey()}},
		func(c *Config) { c.SFTPCommand = selfCommand(SFTPServerArg) }, nil)
	c := ts.mustDial(t, "alice", key)
	sc, err := sftp.NewClient(c)
	if err != nil {
		t.Fatalf("sftp.NewClient: %v", err)
	}
	defer sc.Close()
	data := make([]byte, 3<<20+17)
	rand.Read(data)
	f, err := sc.Create("up.bin")
	if err != nil {
		t.Fatalf("sftp Create: %v", err)
	}
	if _, err := f.ReadFrom(strings.NewReader(string(data))); err != nil {
		t.Fatalf("sftp write: %v", err)
	}
	f.Close()
	got, err := os.ReadFile(filepath.Join(home, "up.bin"))
	if err != nil || string(got) != string(data) {
		t.Fatalf("uploaded file: %d bytes, %v; want the %d bytes sent (relative to the home directory)", len(got), err, len(data))
	}
	g, err := sc.Open("up.bin")
	if err != nil {
		t.Fatal(err)
	}
	back, err := io.ReadAll(g)
	g.Close()
	if err != nil || string(back) != string(data) {
		t.Errorf("downloaded %d bytes, %v; want %d", len(back), err, len(data))
	}
}

func TestLocalForwardingWhenEnabled(t *testing.T) {
	key := newClientKey(t)
	ts := startServerConfig(t, map[string]*User{"alice": testUser("alice", t.TempDir())},
		map[string][]gossh.PublicKey{"alice": {key.PublicKey()}},
		func(c *Config) { c.AllowTCPForwarding = true }, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		conn, err := ln.Accept()
		if err == nil {
			io.WriteString(conn, "hello through the tunnel")
			conn.Close()
		}
	}()
	c := ts.mustDial(t, "alice", key)
	conn, err := c.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("direct-tcpip with forwarding enabled: %v", err)
	}
	defer conn.Close()
	got, _ := io.ReadAll(conn)
	if string(got) != "hello through the tunnel" {
		t.Errorf("through the tunnel = %q", got)
	}
}

// selfCommand runs this test binary again with args; under make cross-test
// (qemu-user, OVFINIT_QEMU_USER naming the emulator) through the emulator.
func selfCommand(args ...string) []string {
	if q := os.Getenv("OVFINIT_QEMU_USER"); q != "" {
		if p, err := exec.LookPath(q); err == nil {
			q = p // the server runs its argv as given, without a PATH search
		}
		return append([]string{q, os.Args[0]}, args...)
	}
	return append([]string{os.Args[0]}, args...)
}
