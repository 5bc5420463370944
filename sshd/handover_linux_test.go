//go:build linux

package sshd

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// TestHandover: OpenSSH's service asks (RequestHandover) and the interim
// server stops listening: a session opened before goes on, a new
// connection is refused, every later request is answered, and release
// runs once. Without a socket, or with nobody listening, there is nothing
// to hand over and no error.
func TestHandover(t *testing.T) {
	key := newClientKey(t)
	ts := startServer(t, map[string]*User{"alice": testUser("alice", t.TempDir())},
		map[string][]gossh.PublicKey{"alice": {key.PublicKey()}}, nil)
	c := ts.mustDial(t, "alice", key)
	defer c.Close()

	sock := filepath.Join(t.TempDir(), "handover.sock")
	if handed, err := RequestHandover(t.Context(), sock); handed || err != nil {
		t.Fatalf("RequestHandover() with no socket = %v, %v; want false, nil", handed, err)
	}
	var releases atomic.Int32
	h, err := ListenHandover(sock, func() error { releases.Add(1); return ts.srv.StopListening() })
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if handed, err := RequestHandover(t.Context(), sock); !handed || err != nil {
			t.Fatalf("request %d: RequestHandover() = %v, %v; want handed over", i, handed, err)
		}
	}
	if n := releases.Load(); n != 1 {
		t.Errorf("release ran %d times, want once", n)
	}
	select {
	case <-h.Released():
	default:
		t.Error("Released() not closed after the handover")
	}
	if c2, err := ts.dial("alice", gossh.PublicKeys(key)); err == nil {
		c2.Close()
		t.Error("a new connection was accepted after the handover")
	}
	sess, err := c.NewSession()
	if err != nil {
		t.Fatalf("the open connection lost its sessions: %v", err)
	}
	out, err := sess.Output("echo still here")
	sess.Close()
	if err != nil || strings.TrimSpace(string(out)) != "still here" {
		t.Errorf("session after the handover: %q, %v", out, err)
	}
	if err := h.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket left behind after Close: %v", err)
	}
	// A stale socket file (a crashed run) is no interim server either.
	if err := os.WriteFile(sock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if handed, err := RequestHandover(ctx, sock); handed || err != nil {
		t.Errorf("RequestHandover() on a stale file = %v, %v; want false, nil", handed, err)
	}
}
