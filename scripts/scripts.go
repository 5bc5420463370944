package scripts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Defaults for the zero limits of Env.
const (
	DefaultMaxSteps = 10_000_000
	DefaultTimeout  = 5 * time.Minute
)

// ErrStepLimit is the cause (errors.Is) of a ScriptError for a script that
// ran more than Env.MaxSteps Starlark steps. A script that ran out of time
// has context.DeadlineExceeded as its cause.
var ErrStepLimit = errors.New("step limit exceeded")

// Env is what a script may touch. Builtins reach the machine only through
// it, so a test (or a dry run) hands in a temporary directory and a map.
type Env struct {
	// Property looks up an OVF property; nil means there are none.
	Property func(key string) (string, bool)
	// Root is the directory every path a script names is resolved in: "/"
	// on the live system, an image's mount point offline, t.TempDir() in a
	// test. Paths may not leave it, by ".." or by symbolic link.
	Root string
	// Log receives print() and log.*() output; nil discards it.
	Log *slog.Logger
	// MaxSteps limits the Starlark computation steps; 0 means DefaultMaxSteps.
	MaxSteps uint64
	// Timeout limits the wall-clock run time; 0 means DefaultTimeout.
	Timeout time.Duration
}

// ScriptError is a script's own failure: a syntax error, a runtime error,
// fail(), the step limit or the time limit. Errors of the caller (an Env
// that can not work) are plain errors.
type ScriptError struct {
	Script    string // the name passed to Run or Check
	Pos       string // file:line:col of the failing statement, in the script
	Msg       string
	Backtrace string // the Starlark call stack, innermost last; empty for syntax errors
	cause     error
}

// Error returns "file:line:col: message".
func (e *ScriptError) Error() string {
	if e.Pos == "" {
		return e.Script + ": " + e.Msg
	}
	return e.Pos + ": " + e.Msg
}

// Unwrap returns the cause: ErrStepLimit, a context error, or the Go error a
// builtin returned (for example one matching fs.ErrNotExist).
func (e *ScriptError) Unwrap() error { return e.cause }

// fileOptions are the dialect. Top-level if/for and global reassignment make
// plain customization scripts natural; while loops and recursion stay off,
// so every loop is over a finite sequence.
var fileOptions = &syntax.FileOptions{
	Set:             true,
	TopLevelControl: true,
	GlobalReassign:  true,
}

// predeclaredNames are the modules every script sees, besides Starlark's
// universe (print, fail, len, ...).
var predeclaredNames = map[string]bool{"ovf": true, "file": true, "log": true}

// Check parses and resolves src without running it: syntax errors and
// undefined names come back as a *ScriptError naming file:line:col (all of
// them, one per line, in Msg).
func Check(name string, src []byte) error {
	_, _, err := starlark.SourceProgramOptions(fileOptions, name, src, func(s string) bool { return predeclaredNames[s] })
	if err != nil {
		return compileError(name, err)
	}
	return nil
}

// compileError turns a parse or resolve error into a *ScriptError.
func compileError(name string, err error) error {
	var serr syntax.Error
	var rerrs resolve.ErrorList
	switch {
	case errors.As(err, &serr):
		return &ScriptError{Script: name, Pos: serr.Pos.String(), Msg: serr.Msg, cause: err}
	case errors.As(err, &rerrs) && len(rerrs) > 0:
		msg := rerrs[0].Msg
		for _, e := range rerrs[1:] {
			msg += "\n" + e.Error()
		}
		return &ScriptError{Script: name, Pos: rerrs[0].Pos.String(), Msg: msg, cause: err}
	}
	return &ScriptError{Script: name, Msg: err.Error(), cause: err}
}

// threadContextKey is the thread-local key of the run's context.
const threadContextKey = "ovfinit.context"

// Run parses src and runs it under the name name (used in positions), with
// the modules ovf, file and log bound to env. It returns a *ScriptError for
// anything the script did wrong, and stops the script when ctx ends, after
// env.Timeout, or after env.MaxSteps steps.
func Run(ctx context.Context, name string, src []byte, env Env) error {
	if env.Root == "" {
		return errors.New("scripts: Env.Root is empty")
	}
	if env.Log == nil {
		env.Log = slog.New(slog.DiscardHandler)
	}
	if env.MaxSteps == 0 {
		env.MaxSteps = DefaultMaxSteps
	}
	if env.Timeout <= 0 {
		env.Timeout = DefaultTimeout
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("scripts: not running %s: %w", name, context.Cause(ctx))
	}
	root, err := os.OpenRoot(env.Root)
	if err != nil {
		return fmt.Errorf("scripts: opening root directory: %w", err)
	}
	defer root.Close()

	predeclared := newModules(&env, root)
	_, prog, err := starlark.SourceProgramOptions(fileOptions, name, src, predeclared.Has)
	if err != nil {
		return compileError(name, err)
	}

	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, env.Timeout)
	defer cancel()
	var stepLimit atomic.Bool
	thread := &starlark.Thread{
		Name: name,
		Print: func(thread *starlark.Thread, msg string) {
			env.Log.Info(msg, "pos", thread.CallFrame(1).Pos.String())
		},
		OnMaxSteps: func(thread *starlark.Thread) {
			stepLimit.Store(true)
			thread.Cancel(fmt.Sprintf("more than %d steps", env.MaxSteps))
		},
	}
	thread.SetLocal(threadContextKey, ctx)
	thread.SetMaxExecutionSteps(env.MaxSteps)
	stop := context.AfterFunc(ctx, func() {
		if parent.Err() != nil {
			thread.Cancel("canceled: " + context.Cause(parent).Error())
		} else {
			thread.Cancel(fmt.Sprintf("time limit of %v exceeded", env.Timeout))
		}
	})
	defer stop()

	start := time.Now()
	_, err = prog.Init(thread, predeclared)
	env.Log.Debug("script finished", "script", name, "steps", thread.ExecutionSteps(), "duration", time.Since(start))
	if err == nil {
		return nil
	}
	serr := runtimeError(name, err)
	switch {
	case stepLimit.Load():
		serr.cause = ErrStepLimit
	case ctx.Err() != nil:
		serr.cause = context.Cause(ctx)
	}
	return serr
}

// runtimeError turns an error from running a program into a *ScriptError
// positioned at the innermost frame of the script (not of a builtin).
func runtimeError(name string, err error) *ScriptError {
	var eerr *starlark.EvalError
	if !errors.As(err, &eerr) {
		return &ScriptError{Script: name, Msg: err.Error(), cause: err}
	}
	e := &ScriptError{Script: name, Msg: eerr.Msg, Backtrace: eerr.Backtrace(), cause: eerr.Unwrap()}
	for i := len(eerr.CallStack) - 1; i >= 0; i-- {
		if pos := eerr.CallStack[i].Pos; pos.IsValid() && pos.Filename() != "<builtin>" {
			e.Pos = pos.String()
			break
		}
	}
	e.Msg = strings.TrimSpace(e.Msg)
	return e
}

// threadContext returns the run's context, for builtins that do I/O.
func threadContext(thread *starlark.Thread) context.Context {
	if ctx, ok := thread.Local(threadContextKey).(context.Context); ok {
		return ctx
	}
	return context.Background()
}
