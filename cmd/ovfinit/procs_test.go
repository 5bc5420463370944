package main

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/ovfinit/ovfinit/agent"
	"github.com/ovfinit/ovfinit/sshd"
	gossh "golang.org/x/crypto/ssh"
)

// TestProcPolicy: GOMAXPROCS 1 with at most one session open, the original
// value with two, and back for good once the server is shut down; the
// policy reaches the server through the agent's StartSSH seam.
func TestProcPolicy(t *testing.T) {
	if os.Getenv("GOMAXPROCS") != "" {
		t.Skip("GOMAXPROCS is set in the environment: the policy does nothing")
	}
	orig := runtime.GOMAXPROCS(0)
	if orig < 2 {
		t.Skip("one CPU: the policy does nothing")
	}
	t.Cleanup(func() { runtime.GOMAXPROCS(orig) })
	gc := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(gc) })
	limit := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(limit) })

	var cfg sshd.Config
	start := withServerPolicy(func(c sshd.Config) (agent.SSHServer, error) {
		cfg = c
		return fakeServer{}, nil
	})
	srv, err := start(sshd.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OnSessions == nil {
		t.Fatal("the server was started without OnSessions: no GOMAXPROCS policy")
	}
	if os.Getenv("GOGC") == "" {
		if got := debug.SetGCPercent(tunedGCPercent); got != tunedGCPercent {
			t.Errorf("GOGC after start = %d, want %d", got, tunedGCPercent)
		}
	}
	for _, step := range []struct {
		what string
		open int
		want int
	}{
		{"with no session", 0, 1},
		{"with one session", 1, 1},
		{"with two sessions", 2, orig},
		{"after one of two sessions closed", 1, 1},
	} {
		cfg.OnSessions(step.open)
		if got := runtime.GOMAXPROCS(0); got != step.want {
			t.Fatalf("GOMAXPROCS %s = %d, want %d", step.what, got, step.want)
		}
	}
	srv.Shutdown(context.Background())
	if got := runtime.GOMAXPROCS(0); got != orig {
		t.Fatalf("GOMAXPROCS after Shutdown = %d, want %d", got, orig)
	}
	cfg.OnSessions(0) // a late report after Shutdown changes nothing
	if got := runtime.GOMAXPROCS(0); got != orig {
		t.Errorf("GOMAXPROCS after a report past Shutdown = %d, want %d", got, orig)
	}
}

// fakeServer stands for a started server: the policy only wraps it.
type fakeServer struct{}

func (fakeServer) Addr() net.Addr                     { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
func (fakeServer) Shutdown(ctx context.Context) error { return nil }
func (fakeServer) AddHostKey(gossh.Signer)            {}
func (fakeServer) StopListening() error               { return nil }

// TestProcessPolicyOnlyInCmd: no library package changes the runtime's
// process-wide settings (GOMAXPROCS, the GC percent, the memory limit);
// only this command does (procs.go), so a program that embeds sshd or agent
// keeps its own.
func TestProcessPolicyOnlyInCmd(t *testing.T) {
	banned := map[string]bool{"runtime.GOMAXPROCS": true, "debug.SetGCPercent": true, "debug.SetMemoryLimit": true}
	root := moduleRoot(t)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "cmd", "testdata", "e2e", ".git":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && banned[x.Name+"."+sel.Sel.Name] {
				t.Errorf("%s calls %s.%s: process-wide policy belongs in cmd/ovfinit (procs.go)", p, x.Name, sel.Sel.Name)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
