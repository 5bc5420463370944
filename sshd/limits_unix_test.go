//go:build unix

package sshd

import (
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// waitSessions waits until the server counts want open sessions, and fails
// with what it counts after 20 s.
func waitSessions(t *testing.T, ts *testServer, want int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for ts.srv.sessions.Load() != want {
		if time.Now().After(deadline) {
			t.Fatalf("server counts %d open sessions, want %d: session slots leaked", ts.srv.sessions.Load(), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSignalsAfterExitFreeSession: signals a client sends once the
// session's command has exited (here while a background child still
// writes to the terminal, so the session is not closed yet) must not block
// gliderssh's request loop: the old server stopped reading them and, with
// its 32-signal buffer full, the loop held the session lock forever, so the
// session never ended and its slot was never freed.
func TestSignalsAfterExitFreeSession(t *testing.T) {
	key := newClientKey(t)
	ts := startServer(t, map[string]*User{"alice": testUser("alice", t.TempDir())},
		map[string][]gossh.PublicKey{"alice": {key.PublicKey()}}, nil)
	c := ts.mustDial(t, "alice", key)
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.RequestPty("vt100", 24, 80, gossh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	out, err := sess.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	// The shell exits at once; its child writes for about 3 s more.
	if err := sess.Start(`trap "" HUP; (for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo tick; sleep 0.25; done) & echo started`); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 512)
	got := ""
	for !strings.Contains(got, "tick") {
		n, err := out.Read(buf)
		if err != nil {
			t.Fatalf("reading the session's output: %v (got %q)", err, got)
		}
		got += string(buf[:n])
	}
	go io.Copy(io.Discard, out)
	time.Sleep(300 * time.Millisecond) // the shell has exited by now
	for range 200 {
		if err := sess.Signal(gossh.Signal("USR2")); err != nil {
			break // the session ended
		}
	}
	c.Close()
	waitSessions(t, ts, 0)
	// The server still serves.
	c2 := ts.mustDial(t, "alice", key)
	if out, _, _ := run(t, c2, "echo ok", ""); out != "ok\n" {
		t.Errorf("Run(echo ok) after a signal flood = %q", out)
	}
}

// TestSignalFloodNologin: an account whose shell refuses logins (nologin)
// opens session after session and floods each with signals. Every slot must
// come back, so that with MaxSessions 4 another account still gets in.
func TestSignalFloodNologin(t *testing.T) {
	key := newClientKey(t)
	mallory := testUser("mallory", t.TempDir())
	falsePath, err := exec.LookPath("false")
	if err != nil {
		t.Skipf("no false(1) to stand for nologin: %v", err)
	}
	mallory.Shell = falsePath
	ts := startServerConfig(t, map[string]*User{"alice": testUser("alice", t.TempDir()), "mallory": mallory},
		map[string][]gossh.PublicKey{"alice": {key.PublicKey()}, "mallory": {key.PublicKey()}},
		func(c *Config) { c.Limits.MaxSessions = 4 }, nil)
	for i := range 20 {
		c := ts.mustDial(t, "mallory", key)
		sess, err := c.NewSession()
		if err != nil {
			t.Fatalf("session %d as mallory: %v", i, err)
		}
		if err := sess.Start("x"); err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		for range 500 {
			if sess.Signal(gossh.Signal("USR2")) != nil {
				break
			}
		}
		c.Close()
		waitSessions(t, ts, 0)
	}
	c := ts.mustDial(t, "alice", key)
	if out, _, _ := run(t, c, "echo ok", ""); out != "ok\n" {
		t.Errorf("Run(echo ok) as alice after the flood = %q", out)
	}
}

// TestWindowChangesNeverBlock: window changes to a PTY session whose
// command could not start (its shell is missing), or to an SFTP session
// that asked for a PTY, are never read by a handler; they must not block
// the request loop, which would keep the session, and its slot, forever.
func TestWindowChangesNeverBlock(t *testing.T) {
	key := newClientKey(t)
	broken := testUser("broken", t.TempDir())
	broken.Shell = "/nonexistent/shell"
	ts := startServerConfig(t, map[string]*User{"alice": testUser("alice", t.TempDir()), "broken": broken},
		map[string][]gossh.PublicKey{"alice": {key.PublicKey()}, "broken": {key.PublicKey()}},
		func(c *Config) { c.SFTPCommand = selfCommand(SFTPServerArg) }, nil)

	t.Run("shell missing", func(t *testing.T) {
		c := ts.mustDial(t, "broken", key)
		sess, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		if err := sess.RequestPty("vt100", 24, 80, gossh.TerminalModes{}); err != nil {
			t.Fatal(err)
		}
		if err := sess.Start("true"); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			sess.WindowChange(30+i, 90)
		}
		sess.Wait() // exit status 1: the shell could not start
		c.Close()
		waitSessions(t, ts, 0)
	})
	t.Run("sftp with a pty", func(t *testing.T) {
		c := ts.mustDial(t, "alice", key)
		sess, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		if err := sess.RequestPty("vt100", 24, 80, gossh.TerminalModes{}); err != nil {
			t.Fatal(err)
		}
		stdin, _ := sess.StdinPipe()
		if err := sess.RequestSubsystem("sftp"); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			sess.WindowChange(30+i, 90)
		}
		stdin.Close() // the SFTP server ends at EOF
		sess.Wait()
		c.Close()
		waitSessions(t, ts, 0)
	})
}

// TestEnvRequestsCapped: a session keeps at most maxEnvVars variables and
// maxEnvBytes bytes of them; requests beyond are refused and keep nothing.
// (The old server kept every "env" request: 20,000 of 16 KiB took its RSS
// from 5 MB to 375 MB.)
func TestEnvRequestsCapped(t *testing.T) {
	t.Run("count", func(t *testing.T) {
		_, sess := aliceSession(t)
		accepted := 0
		for i := range maxEnvVars + 72 {
			if sess.Setenv(fmt.Sprintf("LC_V%d", i), "x") == nil {
				accepted++
			}
		}
		if accepted != maxEnvVars {
			t.Errorf("%d of %d env requests accepted, want %d", accepted, maxEnvVars+72, maxEnvVars)
		}
		// A name AcceptEnv does not allow is answered yes and dropped.
		if err := sess.Setenv("FOO", "bar"); err != nil {
			t.Errorf("Setenv(FOO) = %v, want nil (ignored)", err)
		}
		out, err := sess.Output(`env | grep -c '^LC_V'; echo "FOO=$FOO"`)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("%d\nFOO=\n", maxEnvVars); string(out) != want {
			t.Errorf("session environment: %q, want %q", out, want)
		}
	})
	t.Run("bytes", func(t *testing.T) {
		_, sess := aliceSession(t)
		big := strings.Repeat("b", maxEnvBytes/2)
		for i, want := range []bool{true, false, false} {
			err := sess.Setenv(fmt.Sprintf("LC_BIG%d", i), big)
			if (err == nil) != want {
				t.Errorf("Setenv of a %d-byte variable #%d = %v, want accepted %v", len(big), i, err, want)
			}
		}
		if err := sess.Setenv("LC_SMALL", "s"); err != nil {
			t.Errorf("Setenv of a small variable under the byte limit = %v, want accepted", err)
		}
		out, err := sess.Output(`env | grep -c '^LC_'`)
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != "2\n" {
			t.Errorf("LC_ variables in the session: %q, want 2", out)
		}
	})
}
