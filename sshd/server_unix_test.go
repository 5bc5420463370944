//go:build unix

package sshd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

func TestAuthMatrix(t *testing.T) {
	alice, bob, stranger := newClientKey(t), newClientKey(t), newClientKey(t)
	ts := startServer(t,
		map[string]*User{"alice": testUser("alice", t.TempDir()), "bob": testUser("bob", t.TempDir())},
		map[string][]gossh.PublicKey{"alice": {alice.PublicKey()}, "bob": {bob.PublicKey()}},
		nil)

	tests := []struct {
		name   string
		user   string
		auth   []gossh.AuthMethod
		wantOK bool
	}{
		{"no key", "alice", nil, false},
		{"wrong key", "alice", []gossh.AuthMethod{gossh.PublicKeys(stranger)}, false},
		{"another user's key", "alice", []gossh.AuthMethod{gossh.PublicKeys(bob)}, false},
		{"unknown user", "mallory", []gossh.AuthMethod{gossh.PublicKeys(alice)}, false},
		{"password", "alice", []gossh.AuthMethod{gossh.Password("alice")}, false},
		{"keyboard-interactive", "alice", []gossh.AuthMethod{gossh.KeyboardInteractive(
			func(string, string, []string, []bool) ([]string, error) { return nil, nil })}, false},
		{"right key", "alice", []gossh.AuthMethod{gossh.PublicKeys(alice)}, true},
		{"wrong key then right key", "alice", []gossh.AuthMethod{gossh.PublicKeys(stranger, alice)}, true},
		{"bob's own key", "bob", []gossh.AuthMethod{gossh.PublicKeys(bob)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ts.dial(tt.user, tt.auth...)
			if c != nil {
				defer c.Close()
			}
			if (err == nil) != tt.wantOK {
				t.Fatalf("Dial(user %q, %s) error = %v, want ok=%v", tt.user, tt.name, err, tt.wantOK)
			}
			if !tt.wantOK && !strings.Contains(err.Error(), "unable to authenticate") {
				t.Errorf("Dial(user %q, %s) error = %v, want an authentication failure", tt.user, tt.name, err)
			}
			if tt.wantOK {
				if out, _, status := run(t, c, "echo ok", ""); out != "ok\n" || status != 0 {
					t.Errorf("Run(echo ok) = %q, status %d, want \"ok\\n\", 0", out, status)
				}
			}
		})
	}

	logs := ts.logs.String()
	for _, want := range []string{
		"ssh login accepted",
		"user=alice",
		Fingerprint(alice.PublicKey()),
		"ssh public key refused",
		Fingerprint(stranger.PublicKey()),
		"user=mallory",
		ErrUnknownUser.Error(),
		"ssh connection refused",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q", want)
		}
	}
	// Key material never reaches the log, only fingerprints.
	for _, k := range []gossh.Signer{alice, bob, stranger} {
		blob := strings.Fields(string(gossh.MarshalAuthorizedKey(k.PublicKey())))[1]
		if strings.Contains(logs, blob) {
			t.Errorf("logs contain the public key blob %q", blob)
		}
	}
}

func TestUnprivilegedServerLogsInOnlyItself(t *testing.T) {
	me, other := newClientKey(t), newClientKey(t)
	const myUID = 4242
	ts := startServer(t,
		map[string]*User{
			"me":    {Name: "me", UID: myUID, GID: myUID, Home: t.TempDir(), Shell: "/bin/sh"},
			"other": {Name: "other", UID: myUID + 1, GID: myUID + 1, Home: t.TempDir(), Shell: "/bin/sh"},
		},
		map[string][]gossh.PublicKey{"me": {me.PublicKey()}, "other": {other.PublicKey()}},
		func(s *Server) { s.euid = myUID }) // pretend not to be root

	tests := []struct {
		user   string
		key    gossh.Signer
		wantOK bool
	}{
		{"me", me, true},
		{"other", other, false},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			c, err := ts.dial(tt.user, gossh.PublicKeys(tt.key))
			if c != nil {
				c.Close()
			}
			if (err == nil) != tt.wantOK {
				t.Errorf("Dial(user %q) error = %v, want ok=%v", tt.user, err, tt.wantOK)
			}
		})
	}
	if logs := ts.logs.String(); !strings.Contains(logs, "not root") || !strings.Contains(logs, "user=other") {
		t.Errorf("no log line explains why %q was refused; logs:\n%s", "other", logs)
	}
}

func TestExec(t *testing.T) {
	key := newClientKey(t)
	home := t.TempDir()
	ts := startServer(t,
		map[string]*User{
			"alice":    testUser("alice", home),
			"homeless": testUser("homeless", filepath.Join(home, "missing")),
			"noshell":  {Name: "noshell", UID: uint32(os.Geteuid()), GID: uint32(os.Getegid()), Home: home},
			"badshell": {Name: "badshell", UID: uint32(os.Geteuid()), GID: uint32(os.Getegid()), Home: home, Shell: "/nonexistent/shell"},
		},
		map[string][]gossh.PublicKey{"alice": {key.PublicKey()}, "homeless": {key.PublicKey()}, "noshell": {key.PublicKey()}, "badshell": {key.PublicKey()}},
		nil)
	alice := ts.mustDial(t, "alice", key)

	tests := []struct {
		name             string
		client           *gossh.Client
		cmd, stdin       string
		wantOut, wantErr string
		wantStatus       int
	}{
		{name: "stdout and exit status", client: alice, cmd: "echo hi; exit 3", wantOut: "hi\n", wantStatus: 3},
		{name: "stderr", client: alice, cmd: "echo oops >&2; exit 1", wantErr: "oops\n", wantStatus: 1},
		{name: "stdin", client: alice, cmd: "tr a-z A-Z", stdin: "abc\n", wantOut: "ABC\n"},
		{name: "quoting reaches the shell", client: alice, cmd: `printf '%s|' "a b" c`, wantOut: "a b|c|"},
		{name: "environment", client: alice, cmd: `echo "$HOME|$USER|$LOGNAME|$SHELL|$TERM|$(pwd)"`,
			wantOut: fmt.Sprintf("%s|alice|alice|/bin/sh||%s\n", home, home)},
		{name: "PATH is set", client: alice, cmd: `test -n "$PATH" && echo yes`, wantOut: "yes\n"},
		{name: "missing home falls back to /", client: ts.mustDial(t, "homeless", key), cmd: "pwd", wantOut: "/\n"},
		{name: "empty shell means /bin/sh", client: ts.mustDial(t, "noshell", key), cmd: `echo "$SHELL"`, wantOut: "/bin/sh\n"},
		{name: "missing shell", client: ts.mustDial(t, "badshell", key), cmd: "true", wantStatus: 1,
			wantErr: "ovfinit sshd: starting /nonexistent/shell: fork/exec /nonexistent/shell: no such file or directory\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, status := run(t, tt.client, tt.cmd, tt.stdin)
			if out != tt.wantOut || errOut != tt.wantErr || status != tt.wantStatus {
				t.Errorf("Run(%q) = stdout %q, stderr %q, status %d; want %q, %q, %d",
					tt.cmd, out, errOut, status, tt.wantOut, tt.wantErr, tt.wantStatus)
			}
		})
	}
}

func TestClientEnvironment(t *testing.T) {
	ts, sess := aliceSession(t)
	for k, v := range map[string]string{"LANG": "C.UTF-8", "LC_TIME": "C", "FOO": "bar", "HOME": "/evil"} {
		if err := sess.Setenv(k, v); err != nil {
			t.Fatalf("Setenv(%s): %v", k, err)
		}
	}
	out, err := sess.Output(`echo "$LANG|$LC_TIME|$FOO|$HOME"`)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(out), "C.UTF-8|C||"+ts.mustUserHome(t, "alice")+"\n"; got != want {
		t.Errorf("client env: got %q, want %q (LANG and LC_* pass, others do not)", got, want)
	}
}

func (ts *testServer) mustUserHome(t *testing.T, name string) string {
	u, err := ts.srv.cfg.LookupUser(name)
	if err != nil {
		t.Fatal(err)
	}
	return u.Home
}

func TestSignal(t *testing.T) {
	_, sess := aliceSession(t)
	out, err := sess.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Start("echo started; exec sleep 30"); err != nil {
		t.Fatal(err)
	}
	line := make([]byte, len("started\n"))
	if _, err := io.ReadFull(out, line); err != nil {
		t.Fatalf("reading start marker: %v", err)
	}
	if err := sess.Signal(gossh.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err = sess.Wait()
	var ee *gossh.ExitError
	if !errors.As(err, &ee) || ee.Signal() != "TERM" {
		t.Errorf("Wait() after SIGTERM = %v, want exit signal TERM", err)
	}
}

func TestPTYShell(t *testing.T) {
	_, sess := aliceSession(t)
	if err := sess.RequestPty("vt100", 24, 80, gossh.TerminalModes{}); err != nil {
		t.Fatalf("RequestPty: %v", err)
	}
	stdin, err := sess.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := &syncBuffer{}
	sess.Stdout = out
	if err := sess.Shell(); err != nil {
		t.Fatalf("Shell: %v", err)
	}
	if err := sess.WindowChange(50, 100); err != nil {
		t.Fatalf("WindowChange: %v", err)
	}
	// The window change races the typed input, so the shell polls for it.
	// $((...)) keeps the echoed input from matching the expected output.
	script := `echo "term=$TERM"; test -t 0 && echo tty-$((1+1)); ` +
		`n=0; while [ "$(stty size)" != "50 100" ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n+1)); done; ` +
		`echo size=$(stty size | tr ' ' x); exit 5` + "\n"
	if _, err := io.WriteString(stdin, script); err != nil {
		t.Fatal(err)
	}
	err = sess.Wait()
	var ee *gossh.ExitError
	if !errors.As(err, &ee) || ee.ExitStatus() != 5 {
		t.Errorf("Wait() = %v, want exit status 5", err)
	}
	got := out.String()
	for _, want := range []string{"term=vt100", "tty-2", "size=50x100"} {
		if !strings.Contains(got, want) {
			t.Errorf("PTY output lacks %q; output:\n%q", want, got)
		}
	}
}

// A window change before the shell starts must neither hang the session
// (gliderssh would block its request loop) nor be lost.
func TestPTYWindowChangeBeforeShell(t *testing.T) {
	_, sess := aliceSession(t)
	if err := sess.RequestPty("vt100", 24, 80, gossh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	for _, size := range [][2]int{{30, 90}, {33, 99}} {
		if err := sess.WindowChange(size[0], size[1]); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan struct{})
	var out []byte
	var err error
	go func() {
		defer close(done)
		out, err = sess.Output(`n=0; while [ "$(stty size)" != "33 99" ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n+1)); done; stty size`)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("session hung after a window change sent before exec")
	}
	if err != nil || string(out) != "33 99\r\n" {
		t.Errorf("stty size after early window changes = %q, %v; want \"33 99\\r\\n\"", out, err)
	}
}

func TestPTYExec(t *testing.T) {
	_, sess := aliceSession(t)
	if err := sess.RequestPty("xterm", 24, 80, gossh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	out, err := sess.Output(`test -t 1 && echo "tty $TERM"`)
	if err != nil {
		t.Fatalf("Output: %v", err)
	}
	if got, want := string(out), "tty xterm\r\n"; got != want {
		t.Errorf("exec on a PTY = %q, want %q", got, want)
	}
}

func TestRunAsOtherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("switching users needs root")
	}
	key := newClientKey(t)
	nobody := &User{Name: "nobody-test", UID: 65534, GID: 65534, Groups: []uint32{65534, 4242}, Home: "/nonexistent", Shell: "/bin/sh"}
	ts := startServer(t, map[string]*User{"nobody-test": nobody},
		map[string][]gossh.PublicKey{"nobody-test": {key.PublicKey()}}, nil)
	c := ts.mustDial(t, "nobody-test", key)

	out, errOut, status := run(t, c, "id -u; id -g; id -G; pwd", "")
	if want := "65534\n65534\n65534 4242\n/\n"; out != want || status != 0 {
		t.Errorf("Run(id) = %q (stderr %q), status %d; want %q, 0", out, errOut, status, want)
	}

	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if err := sess.RequestPty("vt100", 24, 80, gossh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	got, err := sess.Output(`echo "uid=$(id -u) owner=$(stat -c %u "$(tty)")"`)
	if err != nil {
		t.Fatalf("PTY Output: %v", err)
	}
	if want := "uid=65534 owner=65534\r\n"; string(got) != want {
		t.Errorf("PTY exec as nobody = %q, want %q", got, want)
	}
}

func TestRefusedFeatures(t *testing.T) {
	key := newClientKey(t)
	ts := startServer(t, map[string]*User{"alice": testUser("alice", t.TempDir())},
		map[string][]gossh.PublicKey{"alice": {key.PublicKey()}}, nil)
	c := ts.mustDial(t, "alice", key)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	t.Run("local forwarding", func(t *testing.T) {
		if conn, err := c.Dial("tcp", ln.Addr().String()); err == nil {
			conn.Close()
			t.Errorf("Dial(direct-tcpip %s) succeeded, want refused", ln.Addr())
		}
	})
	t.Run("remote forwarding", func(t *testing.T) {
		if l, err := c.Listen("tcp", "127.0.0.1:0"); err == nil {
			l.Close()
			t.Errorf("Listen(tcpip-forward) succeeded, want refused")
		}
	})
	t.Run("sftp subsystem", func(t *testing.T) {
		sess, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Close()
		if err := sess.RequestSubsystem("sftp"); err == nil {
			t.Errorf("RequestSubsystem(sftp) succeeded, want refused")
		}
	})
	t.Run("agent forwarding", func(t *testing.T) {
		sess, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		defer sess.Close()
		if err := agent.RequestAgentForwarding(sess); err == nil {
			t.Errorf("RequestAgentForwarding succeeded, want refused")
		}
		// The session is still usable afterwards.
		if out, err := sess.Output("echo still-ok"); err != nil || string(out) != "still-ok\n" {
			t.Errorf("Output after refused agent forwarding = %q, %v; want \"still-ok\\n\"", out, err)
		}
	})
}

func TestShutdown(t *testing.T) {
	key := newClientKey(t)
	ts := startServer(t, map[string]*User{"alice": testUser("alice", t.TempDir())},
		map[string][]gossh.PublicKey{"alice": {key.PublicKey()}}, nil)
	sess, err := ts.mustDial(t, "alice", key).NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	out, _ := sess.StdoutPipe()
	if err := sess.Start("echo started; sleep 60"); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(out, make([]byte, len("started\n"))); err != nil {
		t.Fatal(err)
	}

	const deadline = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	err = ts.srv.Shutdown(ctx)
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown with an open session = %v, want context.DeadlineExceeded", err)
	}
	if took > deadline+time.Second {
		t.Errorf("Shutdown took %v, want about %v", took, deadline)
	}
	select {
	case err := <-ts.serveErr:
		if !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve() = %v, want ErrServerClosed", err)
		}
		ts.serveErr <- err // for the cleanup's check
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after Shutdown")
	}
	waitDone := make(chan error, 1)
	go func() { waitDone <- sess.Wait() }()
	select {
	case <-waitDone:
	case <-time.After(5 * time.Second):
		t.Error("the open session did not end after Shutdown's deadline")
	}
	if _, err := ts.dial("alice", gossh.PublicKeys(key)); err == nil {
		t.Error("Dial after Shutdown succeeded")
	}
	// Serve on a shut-down server refuses at once.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.srv.Serve(l); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Shutdown = %v, want ErrServerClosed", err)
	}
}

func TestShutdownIdle(t *testing.T) {
	key := newClientKey(t)
	ts := startServer(t, map[string]*User{"alice": testUser("alice", t.TempDir())},
		map[string][]gossh.PublicKey{"alice": {key.PublicKey()}}, nil)
	c := ts.mustDial(t, "alice", key)
	run(t, c, "true", "")
	c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ts.srv.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown with no open connection = %v, want nil", err)
	}
}

func TestListenAndServe(t *testing.T) {
	hk, _ := newHostKeyFile(t, KeyEd25519)
	key := newClientKey(t)
	srv, err := New(Config{
		Addr:           "127.0.0.1:0",
		HostKeys:       []gossh.Signer{hk},
		LookupUser:     func(string) (*User, error) { return testUser("alice", t.TempDir()), nil },
		AuthorizedKeys: func(*User) ([]AuthorizedKey, error) { return plainKeys(key.PublicKey()), nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if a := srv.Addr(); a != nil {
		t.Errorf("Addr() before serving = %v, want nil", a)
	}
	done := make(chan error, 1)
	go func() { done <- srv.ListenAndServe() }()
	var addr net.Addr
	for i := 0; i < 200 && addr == nil; i++ {
		time.Sleep(10 * time.Millisecond)
		addr = srv.Addr()
	}
	if addr == nil {
		t.Fatal("Addr() stayed nil after ListenAndServe")
	}
	c, err := gossh.Dial("tcp", addr.String(), &gossh.ClientConfig{
		User: "alice", Auth: []gossh.AuthMethod{gossh.PublicKeys(key)}, HostKeyCallback: gossh.FixedHostKey(hk.PublicKey()),
	})
	if err != nil {
		t.Fatalf("Dial(%s): %v", addr, err)
	}
	c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown() = %v", err)
	}
	if err := <-done; !errors.Is(err, ErrServerClosed) {
		t.Errorf("ListenAndServe() = %v, want ErrServerClosed", err)
	}
}

// TestOnIdle checks that Config.OnIdle runs once the server has had no
// connection for IdleDelay, never while a connection is open, and once per
// idle period.
func TestOnIdle(t *testing.T) {
	key := newClientKey(t)
	calls := make(chan struct{}, 16)
	ts := startServerConfig(t, map[string]*User{"alice": testUser("alice", t.TempDir())},
		map[string][]gossh.PublicKey{"alice": {key.PublicKey()}},
		func(c *Config) {
			c.IdleDelay = 100 * time.Millisecond
			c.OnIdle = func() { calls <- struct{}{} }
		}, nil)
	want := func(what string) {
		t.Helper()
		select {
		case <-calls:
		case <-time.After(5 * time.Second):
			t.Fatalf("OnIdle not called %s", what)
		}
	}
	none := func(what string) {
		t.Helper()
		select {
		case <-calls:
			t.Fatalf("OnIdle called %s", what)
		case <-time.After(500 * time.Millisecond):
		}
	}
	want("after Serve started")
	none("a second time without a connection in between")
	c := ts.mustDial(t, "alice", key)
	none("while a connection is open")
	c.Close()
	want("after the last connection closed")
	none("a second time after one idle period")
}

// TestOnSessions: Config.OnSessions hears the open sessions when Serve
// starts and at every change, the latest count last (cmd/ovfinit sets
// GOMAXPROCS from it).
func TestOnSessions(t *testing.T) {
	var mu sync.Mutex
	last := -1
	key := newClientKey(t)
	ts := startServerConfig(t, map[string]*User{"alice": testUser("alice", t.TempDir())},
		map[string][]gossh.PublicKey{"alice": {key.PublicKey()}},
		func(c *Config) {
			c.OnSessions = func(n int) {
				mu.Lock()
				defer mu.Unlock()
				last = n
			}
		}, nil)
	wantOpen := func(what string, want int) {
		t.Helper()
		// Sessions end asynchronously on the server: poll briefly.
		deadline := time.Now().Add(5 * time.Second)
		get := func() int { mu.Lock(); defer mu.Unlock(); return last }
		for get() != want && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if got := get(); got != want {
			t.Fatalf("OnSessions %s = %d, want %d", what, got, want)
		}
	}
	wantOpen("with no session", 0)
	c := ts.mustDial(t, "alice", key)
	s1, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	wantOpen("with one session", 1)
	s2, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	wantOpen("with two sessions", 2)
	s2.Close()
	wantOpen("after one of two sessions closed", 1)
	s1.Close()
	wantOpen("after both closed", 0)
}
