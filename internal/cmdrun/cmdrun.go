// Package cmdrun is the one way guest code runs an external command
// (modprobe, vmware-rpctool, useradd, netsh, a script's exec.run): a
// Runner takes a Cmd and gives its Result.
//
// Exec, the live Runner, logs the quoted argv before the command starts,
// keeps a bounded copy of standard output and standard error, stops the
// command when the context ends, and on failure returns an error that
// names the command and carries the tail of its standard error (an
// *ExitError when it ran and exited non-zero). Standard input is never
// logged: it may carry a password hash.
//
// Fake, the Runner of tests, records every command and answers from a
// table, so a test compares the command lines it wanted with those run.
// Ignition's LogCmd (internal/log/log.go) is the model.
package cmdrun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Cmd is one command to run.
type Cmd struct {
	Argv  []string // Argv[0] is looked up in PATH unless it holds a separator
	Env   []string // "KEY=value" added to the agent's own environment
	Stdin []byte   // nil: no input; never logged
}

// Result is what a command gave.
type Result struct {
	Stdout, Stderr []byte // at most MaxOutput bytes each; the rest is dropped
	Code           int    // exit code; -1 when it did not start or a signal ended it
}

// Runner runs one command. An error means the command did not start, or
// ran and did not exit 0 (an *ExitError, whose Code the Result has too).
type Runner interface {
	Run(ctx context.Context, c Cmd) (Result, error)
}

// Limits on what is kept of a command's output.
const (
	// MaxOutput bounds Result.Stdout and Result.Stderr: a chatty command
	// cannot exhaust the agent's memory.
	MaxOutput = 4 << 20
	// MaxErrStderr bounds the standard error an error message carries (its
	// last bytes: where a command says why it failed).
	MaxErrStderr = 2 << 10
	// WaitDelay is how long Exec waits for the output pipes to close after
	// the command exits or is killed (a child it left behind may hold them).
	WaitDelay = 5 * time.Second
)

// ExitError is a command that ran and exited non-zero, or was ended by a
// signal (the context's deadline, say).
type ExitError struct {
	Argv   []string
	Code   int    // -1 for a signal
	Stderr string // its standard error, trimmed, the last MaxErrStderr bytes
	Err    error  // the *exec.ExitError
}

func (e *ExitError) Error() string {
	msg := Quote(e.Argv) + ": " + e.Err.Error()
	if e.Stderr != "" {
		msg += ": " + e.Stderr
	}
	return msg
}

func (e *ExitError) Unwrap() error { return e.Err }

// Exec is the Runner of a live system, through os/exec.
type Exec struct {
	// Log receives the quoted argv of every command (debug level) and why
	// one failed; nil discards it.
	Log *slog.Logger
}

// Run implements Runner.
func (x Exec) Run(ctx context.Context, c Cmd) (Result, error) {
	res := Result{Code: -1}
	if len(c.Argv) == 0 || c.Argv[0] == "" {
		return res, errors.New("running a command: empty argv")
	}
	log := x.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	argv := Quote(c.Argv)
	log.Debug("running command", "argv", argv)
	cmd := exec.CommandContext(ctx, c.Argv[0], c.Argv[1:]...)
	if len(c.Env) > 0 {
		cmd.Env = append(os.Environ(), c.Env...)
	}
	if c.Stdin != nil {
		cmd.Stdin = bytes.NewReader(c.Stdin)
	}
	stdout, stderr := &limitedBuffer{limit: MaxOutput}, &limitedBuffer{limit: MaxOutput}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = WaitDelay
	start := time.Now()
	err := cmd.Run()
	res.Stdout, res.Stderr = stdout.Bytes(), stderr.Bytes()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		res.Code = 0
		return res, nil
	case errors.As(err, &exitErr):
		res.Code = exitErr.ExitCode()
		e := &ExitError{Argv: c.Argv, Code: res.Code, Stderr: Tail(res.Stderr, MaxErrStderr), Err: exitErr}
		log.Debug("command failed", "argv", argv, "code", res.Code, "stderr", e.Stderr, "duration", time.Since(start).Round(time.Millisecond))
		return res, e
	default:
		log.Debug("command did not start", "argv", argv, "error", err)
		return res, fmt.Errorf("%s: %w", argv, err)
	}
}

// Run runs argv with r and returns only whether it worked.
func Run(ctx context.Context, r Runner, argv ...string) error {
	_, err := r.Run(ctx, Cmd{Argv: argv})
	return err
}

// Output runs argv with r and returns its standard output.
func Output(ctx context.Context, r Runner, argv ...string) ([]byte, error) {
	res, err := r.Run(ctx, Cmd{Argv: argv})
	return res.Stdout, err
}

// Quote returns argv as one line for logs and errors: an argument is
// written as is when that is unambiguous, double-quoted (Go syntax) when
// it is empty or has a space, a quote, a shell metacharacter or a
// character that does not print.
func Quote(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsFunc(a, needsQuote) {
			q[i] = strconv.Quote(a)
		} else {
			q[i] = a
		}
	}
	return strings.Join(q, " ")
}

func needsQuote(r rune) bool {
	return !unicode.IsPrint(r) || unicode.IsSpace(r) || strings.ContainsRune("\"'\\$`;&|<>()*?[]{}#~!", r)
}

// Tail returns the last n bytes of b, trimmed of surrounding white space,
// prefixed with "..." when something was cut.
func Tail(b []byte, n int) string {
	s := strings.TrimSpace(string(b))
	if len(s) <= n {
		return s
	}
	return "..." + strings.ToValidUTF8(s[len(s)-n:], "")
}

// limitedBuffer keeps the first limit bytes written and drops the rest
// (reporting them written, so the command is not stopped by a short write).
// The buffer is a field, not embedded: an embedded bytes.Buffer would give
// it a ReadFrom, which io.Copy (os/exec) prefers to Write, and no bound.
type limitedBuffer struct {
	buf   bytes.Buffer
	limit int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.limit - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *limitedBuffer) Bytes() []byte { return b.buf.Bytes() }
