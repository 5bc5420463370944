package main

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
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
