package sshd

// Authentication, key options and session limits, on every OS: the tests
// log in loginName (on Windows the account the server runs as) and run
// no command but `echo`, which cmd.exe and sh both have.

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

func TestCertificatesRefusedWithoutCA(t *testing.T) {
	alice := loginName(t)
	ca, key := newClientKey(t), newClientKey(t)
	ts := startServer(t, map[string]*User{alice: testUser(alice, t.TempDir())},
		map[string][]gossh.PublicKey{alice: {ca.PublicKey()}}, nil) // the CA key as a plain key must not bless certs
	if c, err := ts.dial(alice, gossh.PublicKeys(signCert(t, ca, key, nil))); err == nil {
		c.Close()
		t.Fatalf("certificate accepted with no user CA configured")
	}
}

func TestMaxAuthTries(t *testing.T) {
	alice := loginName(t)
	good := newClientKey(t)
	ts := startServerConfig(t, map[string]*User{alice: testUser(alice, t.TempDir())},
		map[string][]gossh.PublicKey{alice: {good.PublicKey()}},
		func(c *Config) { c.Limits.MaxAuthTries = 2 }, nil)
	bad := []gossh.Signer{newClientKey(t), newClientKey(t), newClientKey(t)}
	if c, err := ts.dial(alice, gossh.PublicKeys(append(bad, good)...)); err == nil {
		c.Close()
		t.Errorf("login after 3 wrong keys succeeded with MaxAuthTries 2, want refused")
	}
	if c, err := ts.dial(alice, gossh.PublicKeys(bad[0], good)); err != nil {
		t.Errorf("login after 1 wrong key = %v, want ok with MaxAuthTries 2", err)
	} else {
		c.Close()
	}
}

func TestFailedLoginWindowExpires(t *testing.T) {
	l := newFailLimiter(2, time.Minute)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l.now = func() time.Time { return now }
	l.fail("a")
	l.fail("a")
	if !l.limited("a") || l.limited("b") {
		t.Fatalf("limited(a), limited(b) = %v, %v after 2 failures of a; want true, false", l.limited("a"), l.limited("b"))
	}
	now = now.Add(time.Minute)
	if l.limited("a") {
		t.Errorf("limited(a) after the window = true, want false")
	}
}

// TestLoginGraceTime: a client that never finishes the handshake is dropped
// at the grace time, logged, and the server keeps serving.
func TestLoginGraceTime(t *testing.T) {
	alice := loginName(t)
	good := newClientKey(t)
	ts := startServerConfig(t, map[string]*User{alice: testUser(alice, t.TempDir())},
		map[string][]gossh.PublicKey{alice: {good.PublicKey()}},
		func(c *Config) { c.Limits.LoginGraceTime = 300 * time.Millisecond }, nil)
	conn, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	banner, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(banner, "SSH-2.0-") {
		t.Fatalf("server banner = %q, %v", banner, err)
	}
	// Send nothing; the server must hang up.
	_, err = io.Copy(io.Discard, r)
	if err != nil {
		t.Fatalf("reading until the server hangs up: %v (not dropped within 10s)", err)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("dropped after %v, before the 300ms grace time", d)
	}
	if !strings.Contains(ts.logs.String(), "not authenticated within the login grace time") {
		t.Errorf("logs lack the grace-time drop")
	}
	c := ts.mustDial(t, alice, good)
	if out, _, _ := run(t, c, "echo ok", ""); lines(out) != "ok\n" {
		t.Errorf("Run(echo ok) after a grace drop = %q", out)
	}
}

func TestMaxSessions(t *testing.T) {
	alice := loginName(t)
	key := newClientKey(t)
	ts := startServerConfig(t, map[string]*User{alice: testUser(alice, t.TempDir())},
		map[string][]gossh.PublicKey{alice: {key.PublicKey()}},
		func(c *Config) { c.Limits.MaxSessions = 1 }, nil)
	c := ts.mustDial(t, alice, key)
	s1, err := c.NewSession()
	if err != nil {
		t.Fatalf("first session: %v", err)
	}
	if s2, err := c.NewSession(); err == nil {
		s2.Close()
		t.Errorf("second session opened with MaxSessions 1, want refused")
	}
	s1.Close()
	// The slot is freed once the first one ends.
	deadline := time.Now().Add(5 * time.Second)
	for {
		s3, err := c.NewSession()
		if err == nil {
			s3.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no session possible after the first closed: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestKeepalive(t *testing.T) {
	alice := loginName(t)
	key := newClientKey(t)
	ts := startServerConfig(t, map[string]*User{alice: testUser(alice, t.TempDir())},
		map[string][]gossh.PublicKey{alice: {key.PublicKey()}},
		func(c *Config) { c.Limits.KeepaliveInterval = 50 * time.Millisecond }, nil)
	conn, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	cc, _, reqs, err := gossh.NewClientConn(conn, ts.addr, &gossh.ClientConfig{
		User: alice, Auth: []gossh.AuthMethod{gossh.PublicKeys(key)}, HostKeyCallback: gossh.FixedHostKey(ts.hostKey),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	select {
	case r := <-reqs:
		if r.Type != "keepalive@openssh.com" || !r.WantReply {
			t.Errorf("global request %q (want reply %v), want keepalive@openssh.com with a reply wanted", r.Type, r.WantReply)
		}
		r.Reply(false, nil)
	case <-time.After(5 * time.Second):
		t.Fatal("no keepalive within 5s at a 50ms interval")
	}
	// A client that stops answering is dropped after 3 missed keepalives.
	done := make(chan error, 1)
	go func() { done <- cc.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("connection not dropped after keepalives went unanswered")
	}
	if !strings.Contains(ts.logs.String(), "keepalives unanswered") {
		t.Errorf("logs lack the keepalive drop")
	}
}

// TestMaxChannelsPerConn: port forwardings count against the connection's
// channel limit while open.
func TestMaxChannelsPerConn(t *testing.T) {
	alice := loginName(t)
	key := newClientKey(t)
	ts := startServerConfig(t, map[string]*User{alice: testUser(alice, t.TempDir())},
		map[string][]gossh.PublicKey{alice: {key.PublicKey()}},
		func(c *Config) { c.AllowTCPForwarding = true; c.Limits.MaxChannelsPerConn = 5 }, nil)
	ln := serveTCP(t, func(conn net.Conn) {
		t.Cleanup(func() { conn.Close() })
	})
	c := ts.mustDial(t, alice, key)
	var open []net.Conn
	for i := range 5 {
		conn, err := c.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatalf("forwarding %d of 5: %v", i+1, err)
		}
		open = append(open, conn)
	}
	if conn, err := c.Dial("tcp", ln.Addr().String()); err == nil {
		conn.Close()
		t.Fatalf("forwarding 6 opened, want refused (MaxChannelsPerConn 5)")
	}
	if _, err := c.NewSession(); err == nil {
		t.Fatalf("session opened with 5 forwardings open, want refused (MaxChannelsPerConn 5)")
	}
	open[0].Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		conn, err := c.Dial("tcp", ln.Addr().String())
		if err == nil {
			conn.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no forwarding after one closed: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMaxSessionsPerConn: one connection opens at most MaxSessionsPerConn
// sessions (OpenSSH's MaxSessions, 10); another connection still gets its
// own, and a slot is back once its session ends.
func TestMaxSessionsPerConn(t *testing.T) {
	alice := loginName(t)
	key := newClientKey(t)
	ts := startServer(t, map[string]*User{alice: testUser(alice, t.TempDir())},
		map[string][]gossh.PublicKey{alice: {key.PublicKey()}}, nil)
	c := ts.mustDial(t, alice, key)
	var open []*gossh.Session
	for i := range DefaultMaxSessionsPerConn {
		s, err := c.NewSession()
		if err != nil {
			t.Fatalf("session %d of %d on one connection: %v", i+1, DefaultMaxSessionsPerConn, err)
		}
		open = append(open, s)
	}
	if s, err := c.NewSession(); err == nil {
		s.Close()
		t.Fatalf("session %d on one connection opened, want refused (MaxSessionsPerConn %d)", DefaultMaxSessionsPerConn+1, DefaultMaxSessionsPerConn)
	}
	for range 3 {
		if s, err := c.NewSession(); err == nil {
			s.Close()
			t.Fatalf("a session over the per-connection limit opened")
		}
	}
	if n := strings.Count(ts.logs.String(), "too many open sessions on this connection"); n != 1 {
		t.Errorf("per-connection refusal logged %d times for 4 refusals, want once per connection", n)
	}
	c2 := ts.mustDial(t, alice, key)
	if out, _, _ := run(t, c2, "echo ok", ""); lines(out) != "ok\n" {
		t.Errorf("Run(echo ok) on a second connection = %q", out)
	}
	if err := open[0].Run("exit 0"); err != nil { // sh and cmd.exe alike
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		s, err := c.NewSession()
		if err == nil {
			s.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no session on the connection after one of its sessions ended: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
