package sshd

// The limits on connections not yet authenticated, on every OS: the one
// command they run is `echo ok`, which cmd.exe and sh both have.

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// TestMaxStartups: connections not yet authenticated, idle ones and ones
// stopped in the version or key exchange alike, are limited (MaxStartups
// full): beyond the limit new ones are closed at once; authenticated
// connections do not count; once the idle ones go, logins work again.
func TestMaxStartups(t *testing.T) {
	key, alice := newClientKey(t), loginName(t)
	ts := startServerConfig(t, map[string]*User{alice: testUser(alice, t.TempDir())},
		map[string][]gossh.PublicKey{alice: {key.PublicKey()}},
		func(c *Config) { c.Limits.Startups = StartupLimits{Start: 5, Full: 5, PerSource: 100} }, nil)

	// Authenticated connections are not startups.
	for range 8 {
		ts.mustDial(t, alice, key)
	}
	var idle []net.Conn
	admitted := 0
	for i := range 20 {
		conn, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, conn)
		if i%2 == 1 {
			io.WriteString(conn, "SSH-2.0-stalled\r\n") // then nothing: stuck in the key exchange
		}
		if greeted(t, conn) {
			admitted++
		}
	}
	if admitted != 5 {
		t.Errorf("%d of 20 idle connections admitted, want 5 (MaxStartups full 5)", admitted)
	}
	if n := ts.srv.startups.open(); n != 5 {
		t.Errorf("server counts %d unauthenticated connections, want 5", n)
	}
	if c, err := ts.dialFrom("127.0.0.2", alice, gossh.PublicKeys(key)); err == nil {
		c.Close()
		t.Errorf("login while 5 unauthenticated connections are open succeeded, want refused (full)")
	}
	if n := strings.Count(ts.logs.String(), "ssh connection refused: too many unauthenticated connections"); n != 1 {
		t.Errorf("refusals logged %d times, want once (rate limited)", n)
	}
	for _, c := range idle {
		c.Close()
	}
	deadline := time.Now().Add(20 * time.Second)
	for ts.srv.startups.open() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("server still counts %d unauthenticated connections after they closed", ts.srv.startups.open())
		}
		time.Sleep(20 * time.Millisecond)
	}
	c := ts.mustDial(t, alice, key)
	if out, _, _ := run(t, c, "echo ok", ""); lines(out) != "ok\n" {
		t.Errorf("Run(echo ok) after the idle connections closed = %q", out)
	}
}

// TestPerSourceStartups: one address holds at most PerSource
// unauthenticated connections; another address still logs in.
func TestPerSourceStartups(t *testing.T) {
	key, alice := newClientKey(t), loginName(t)
	ts := startServerConfig(t, map[string]*User{alice: testUser(alice, t.TempDir())},
		map[string][]gossh.PublicKey{alice: {key.PublicKey()}},
		func(c *Config) { c.Limits.Startups = StartupLimits{PerSource: 3} }, nil)
	admitted := 0
	for range 10 {
		conn, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if greeted(t, conn) {
			admitted++
		}
	}
	if admitted != 3 {
		t.Errorf("%d of 10 idle connections from 127.0.0.1 admitted, want 3 (per source)", admitted)
	}
	c, err := ts.dialFrom("127.0.0.2", alice, gossh.PublicKeys(key))
	if err != nil {
		t.Fatalf("login from 127.0.0.2 while 127.0.0.1 holds its limit = %v, want ok", err)
	}
	defer c.Close()
	if !strings.Contains(ts.logs.String(), "too many unauthenticated connections from this source") {
		t.Errorf("logs lack the per-source refusal")
	}
}

// TestLoginGraceTimeKeyExchange: a connection that sent its version and
// stopped in the key exchange is dropped at the login grace time, and no
// longer counts as a startup.
func TestLoginGraceTimeKeyExchange(t *testing.T) {
	ts := startServerConfig(t, map[string]*User{"alice": testUser("alice", t.TempDir())}, nil,
		func(c *Config) { c.Limits.LoginGraceTime = 300 * time.Millisecond }, nil)
	conn, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "SSH-2.0-stalled\r\n")
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	// The server's version and KEXINIT, then its hang-up.
	if _, err := io.Copy(io.Discard, conn); err != nil {
		t.Fatalf("reading until the server hangs up: %v (not dropped within 10 s)", err)
	}
	if ts.srv.startups.open() != 0 {
		t.Errorf("server counts %d unauthenticated connections after the drop, want 0", ts.srv.startups.open())
	}
}
