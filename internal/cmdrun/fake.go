package cmdrun

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
)

// Fake is a Runner for tests: it records every command and answers from
// Answers. It is safe for concurrent use.
type Fake struct {
	// Answers maps a command line (Line: the argv joined by spaces) to
	// what the command does: its standard output and error.
	Answers map[string]func() ([]byte, error)
	// Unknown answers a command that is not in Answers; nil means it
	// succeeds with no output. NotFound fails it as a missing program.
	Unknown func(c Cmd) (Result, error)

	mu    sync.Mutex
	calls []Cmd
}

// Line is how Fake names a command: its argv joined by single spaces.
func Line(argv []string) string { return strings.Join(argv, " ") }

// Run implements Runner.
func (f *Fake) Run(ctx context.Context, c Cmd) (Result, error) {
	f.mu.Lock()
	f.calls = append(f.calls, Cmd{Argv: append([]string(nil), c.Argv...), Env: append([]string(nil), c.Env...), Stdin: append([]byte(nil), c.Stdin...)})
	answer, ok := f.Answers[Line(c.Argv)]
	unknown := f.Unknown
	f.mu.Unlock()
	switch {
	case ok:
		out, err := answer()
		code := 0
		if err != nil {
			code = 1
		}
		return Result{Stdout: out, Code: code}, err
	case unknown != nil:
		return unknown(c)
	}
	return Result{}, nil
}

// SetAnswer sets the answer to line, safely while commands run.
func (f *Fake) SetAnswer(line string, answer func() ([]byte, error)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Answers == nil {
		f.Answers = map[string]func() ([]byte, error){}
	}
	f.Answers[line] = answer
}

// Calls returns every command run so far, in order.
func (f *Fake) Calls() []Cmd {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Cmd(nil), f.calls...)
}

// Lines returns the command line (Line) of every command run so far; nil
// when none was.
func (f *Fake) Lines() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var lines []string
	for _, c := range f.calls {
		lines = append(lines, Line(c.Argv))
	}
	return lines
}

// NotFound is a Fake.Unknown that fails every command as a program that
// is not installed, as Exec does.
func NotFound(c Cmd) (Result, error) {
	name := ""
	if len(c.Argv) > 0 {
		name = c.Argv[0]
	}
	return Result{Code: -1}, fmt.Errorf("%s: exec: %q: %w", Quote(c.Argv), name, exec.ErrNotFound)
}
