package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

type closeBuffer struct {
	bytes.Buffer
	closed bool
}

func (c *closeBuffer) Close() error { c.closed = true; return nil }

// TestConsoleWriter: under systemd (stderr is the journal stream) the log
// lines go to the system console and not to stderr, where the journal
// handler's copy would double them; elsewhere they go to stderr.
func TestConsoleWriter(t *testing.T) {
	tests := []struct {
		name          string
		journal       bool
		openErr       error
		wantStderr    bool
		wantOnConsole bool
	}{
		{"plain stderr", false, nil, true, false},
		{"journal stream", true, nil, false, true},
		{"journal stream, no console", true, errors.New("no such device"), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			con := &closeBuffer{}
			w, closeFn := consoleWriter(&stderr, tt.journal, func() (io.WriteCloser, error) {
				if tt.openErr != nil {
					return nil, tt.openErr
				}
				return con, nil
			})
			log, err := newLogger(w, "info")
			if err != nil {
				t.Fatal(err)
			}
			log.Info("step done", slog.String("step", "network"))
			closeFn()
			if got := strings.Contains(stderr.String(), "step done"); got != tt.wantStderr {
				t.Errorf("line on stderr = %v (%q), want %v", got, stderr.String(), tt.wantStderr)
			}
			if got := strings.Contains(con.String(), "step done"); got != tt.wantOnConsole {
				t.Errorf("line on the console = %v (%q), want %v", got, con.String(), tt.wantOnConsole)
			}
			if tt.journal && tt.openErr == nil && !con.closed {
				t.Errorf("the console was not closed")
			}
		})
	}
}

// gatedWriter is a console that takes nothing until open is closed.
type gatedWriter struct {
	open chan struct{}
	mu   sync.Mutex
	buf  bytes.Buffer
}

func (g *gatedWriter) Write(p []byte) (int, error) {
	<-g.open
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.Write(p)
}

func (g *gatedWriter) String() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.String()
}

// TestAsyncConsole: a console that takes nothing does not hold up the
// writer; once it takes its output again, every line queued reaches it
// whole and in order, then a note for the lines that did not fit the
// queue, and Close waits for all of it. It fails when lines are written to
// the console in the writer's turn (the first Write would block).
func TestAsyncConsole(t *testing.T) {
	g := &gatedWriter{open: make(chan struct{})}
	a := newAsyncConsole(g, 40)
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		for i := range 6 {
			fmt.Fprintf(a, "line %d of ten\n", i) // 15 bytes each
		}
	}()
	select {
	case <-wrote:
	case <-time.After(10 * time.Second):
		t.Fatal("Write waited for the console")
	}
	close(g.open)
	a.Close(10 * time.Second)
	got := g.String()
	// How many lines fit depends on when the loop took the queue (before
	// or after some of the writes, with the drops counted so far), so the
	// check is of what must hold whatever the timing: the lines that
	// reach the console are whole and in order, each note comes where
	// lines went missing and counts them, every line is either there or
	// counted, and something was dropped (the queue holds two lines).
	next, counted, notes := 0, 0, 0
	for _, l := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
		var n int
		if _, err := fmt.Sscanf(l, "ovfinit: %d console lines dropped", &n); err == nil {
			next += n
			counted += n
			notes++
			continue
		}
		if want := fmt.Sprintf("line %d of ten", next); l != want {
			t.Fatalf("console line %q, want %q (all: %q)", l, want, got)
		}
		next++
	}
	if next != 6 || notes == 0 || counted == 0 {
		t.Errorf("console got %q: %d lines accounted for (want 6), %d notes counting %d dropped (want some)", got, next, notes, counted)
	}
	fmt.Fprintln(a, "after close")
	if strings.Contains(g.String(), "after close") {
		t.Errorf("a line written after Close reached the console")
	}
}

// TestAsyncConsoleCloseStuck: a console that never takes its output again
// holds up ovfinit's exit by the wait given to Close, no longer.
func TestAsyncConsoleCloseStuck(t *testing.T) {
	g := &gatedWriter{open: make(chan struct{})}
	defer close(g.open)
	a := newAsyncConsole(g, 1<<10)
	fmt.Fprintln(a, "stuck")
	start := time.Now()
	a.Close(50 * time.Millisecond)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v with a stuck console, want about 50ms", d)
	}
}
