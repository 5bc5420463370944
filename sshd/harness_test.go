package sshd

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/user"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newClientKey(t testing.TB) gossh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type testServer struct {
	srv      *Server
	addr     string
	hostKey  gossh.PublicKey
	logs     *syncBuffer
	serveErr chan error
}

// startServer serves on 127.0.0.1:0 with users and their keys; adjust, if
// not nil, runs after New and before Serve.
func startServer(t testing.TB, users map[string]*User, keys map[string][]gossh.PublicKey, adjust func(*Server)) *testServer {
	t.Helper()
	return startServerConfig(t, users, keys, nil, adjust)
}

// startServerConfig is startServer with cfgFn, if not nil, changing the
// Config before New.
func startServerConfig(t testing.TB, users map[string]*User, keys map[string][]gossh.PublicKey, cfgFn func(*Config), adjust func(*Server)) *testServer {
	t.Helper()
	hk, _ := newHostKeyFile(t, KeyEd25519)
	logs := &syncBuffer{}
	opts := &slog.HandlerOptions{Level: slog.LevelDebug}
	log := slog.New(slog.NewMultiHandler(slog.NewTextHandler(t.Output(), opts), slog.NewTextHandler(logs, opts)))
	cfg := Config{
		HostKeys: []gossh.Signer{hk},
		Log:      log,
		LookupUser: func(name string) (*User, error) {
			if u, ok := users[name]; ok {
				c := *u
				return &c, nil
			}
			return nil, fmt.Errorf("user %q: %w", name, ErrUnknownUser)
		},
		AuthorizedKeys: func(u *User) ([]AuthorizedKey, error) {
			return plainKeys(keys[u.Name]...), nil
		},
	}
	if cfgFn != nil {
		cfgFn(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if adjust != nil {
		adjust(srv)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{srv: srv, addr: l.Addr().String(), hostKey: hk.PublicKey(), logs: logs, serveErr: make(chan error, 1)}
	go func() { ts.serveErr <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		select {
		case err := <-ts.serveErr:
			if !errors.Is(err, ErrServerClosed) {
				t.Errorf("Serve() = %v, want ErrServerClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Serve did not return after Shutdown")
		}
	})
	return ts
}

func (ts *testServer) dial(user string, auth ...gossh.AuthMethod) (*gossh.Client, error) {
	return gossh.Dial("tcp", ts.addr, &gossh.ClientConfig{
		User:            user,
		Auth:            auth,
		HostKeyCallback: gossh.FixedHostKey(ts.hostKey),
		Timeout:         10 * time.Second,
	})
}

// aliceSession starts a server whose one user, alice, logs in with a fresh
// key, and opens a session as alice (closed at the test's end).
func aliceSession(t *testing.T) (*testServer, *gossh.Session) {
	t.Helper()
	key := newClientKey(t)
	ts := startServer(t, map[string]*User{"alice": testUser("alice", t.TempDir())},
		map[string][]gossh.PublicKey{"alice": {key.PublicKey()}}, nil)
	sess, err := ts.mustDial(t, "alice", key).NewSession()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sess.Close() })
	return ts, sess
}

func (ts *testServer) mustDial(t *testing.T, user string, key gossh.Signer) *gossh.Client {
	t.Helper()
	c, err := ts.dial(user, gossh.PublicKeys(key))
	if err != nil {
		t.Fatalf("dial as %q: %v", user, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// run execs cmd with stdin and returns stdout, stderr and the exit status
// (-1 when the session ended without one).
func run(t *testing.T, c *gossh.Client, cmd, stdin string) (stdout, stderr string, status int) {
	t.Helper()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatalf("NewSession: %v", err)
	}
	defer sess.Close()
	var out, errOut bytes.Buffer
	sess.Stdout, sess.Stderr = &out, &errOut
	sess.Stdin = strings.NewReader(stdin)
	err = sess.Run(cmd)
	var ee *gossh.ExitError
	switch {
	case err == nil:
		status = 0
	case errors.As(err, &ee):
		status = ee.ExitStatus()
	default:
		t.Fatalf("Run(%q) = %v, want an exit status", cmd, err)
	}
	return out.String(), errOut.String(), status
}

// testUser is an account the server may log in: on Unix with the test's
// own uid (so no credential switch) and /bin/sh; on Windows, which has no
// uids, the server's own account with the machine's shell (cmd.exe).
func testUser(name string, home string) *User {
	if runtime.GOOS == "windows" {
		return &User{Name: name, Home: home}
	}
	uid := uint32(os.Geteuid())
	return &User{Name: name, UID: uid, GID: uint32(os.Getegid()), Home: home, Shell: "/bin/sh"}
}

// loginName is the account a test server logs in: "alice" on Unix (any
// name maps to the test's own uid); on Windows, where a server can log in
// only the account it runs as, that account's name without its domain.
func loginName(t testing.TB) string {
	t.Helper()
	if runtime.GOOS != "windows" {
		return "alice"
	}
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return me.Username[strings.LastIndexByte(me.Username, '\\')+1:]
}

// lines is out with Windows' line ends made "\n": cmd.exe's echo ends its
// line with "\r\n".
func lines(out string) string { return strings.ReplaceAll(out, "\r\n", "\n") }

// dialFrom dials the server from a given loopback source address.
func (ts *testServer) dialFrom(src, user string, auth ...gossh.AuthMethod) (*gossh.Client, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
	conn, err := d.Dial("tcp", ts.addr)
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	cc, chans, reqs, err := gossh.NewClientConn(conn, ts.addr, &gossh.ClientConfig{
		User: user, Auth: auth, HostKeyCallback: gossh.FixedHostKey(ts.hostKey),
	})
	if err != nil {
		conn.Close()
		return nil, err
	}
	conn.SetDeadline(time.Time{})
	return gossh.NewClient(cc, chans, reqs), nil
}

// greeted reports whether the server sent its SSH version on conn (it was
// admitted) rather than closing it (refused).
func greeted(t *testing.T, conn net.Conn) bool {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer conn.SetReadDeadline(time.Time{})
	line, err := bufio.NewReader(conn).ReadString('\n')
	if strings.HasPrefix(line, "SSH-2.0-") {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("server neither greeted nor closed a new connection within 10 s")
	}
	return false
}

// signCert is key certified by ca for the principal "alice".
func signCert(t *testing.T, ca gossh.Signer, key gossh.Signer, mod func(*gossh.Certificate)) gossh.Signer {
	t.Helper()
	now := time.Now()
	c := &gossh.Certificate{
		Key:             key.PublicKey(),
		Serial:          1,
		CertType:        gossh.UserCert,
		KeyId:           "test",
		ValidPrincipals: []string{"alice"},
		ValidAfter:      uint64(now.Add(-time.Minute).Unix()),
		ValidBefore:     uint64(now.Add(time.Hour).Unix()),
		Permissions:     gossh.Permissions{Extensions: map[string]string{"permit-pty": ""}},
	}
	if mod != nil {
		mod(c)
	}
	if err := c.SignCert(rand.Reader, ca); err != nil {
		t.Fatal(err)
	}
	s, err := gossh.NewCertSigner(c, key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// serveTCP listens on 127.0.0.1 (a port forwarding's destination) and
// hands each connection to serve; it stops when the test ends.
func serveTCP(t *testing.T, serve func(net.Conn)) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			serve(conn)
		}
	}()
	return ln
}
