package scripts

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/ovfinit/ovfinit/internal/redact"
	"github.com/ovfinit/ovfinit/ovfenv"
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

// Env is what a script may see and touch. Builtins reach the machine only
// through Host, so a test hands in a LiveHost over t.TempDir() and a dry run
// a DryRun.
type Env struct {
	// OVF is the environment ovf.* reads; nil means an empty one.
	OVF *ovfenv.Environment
	// InstanceID is ovf.instance_id.
	InstanceID string
	// Host is what the builtins act on. nil means a LiveHost on Root.
	Host Host
	// Root is the directory a nil Host's paths are resolved in: "/" on the
	// live system, t.TempDir() in a test. Ignored when Host is set.
	Root string
	// Log receives print(), log.*(), commands and progress; nil discards it.
	Log *slog.Logger
	// MaxSteps limits the Starlark computation steps; 0 means DefaultMaxSteps.
	MaxSteps uint64
	// Timeout limits the wall-clock run time; 0 means DefaultTimeout.
	Timeout time.Duration
	// Dialect is the language options (while loops, recursion).
	Dialect Dialect
	// Secrets are values never to be logged: each, and every form
	// derived from it that redact.Forms lists (upper case, JSON, %q,
	// base64, ...), is replaced by "[redacted]" in the script's log lines,
	// its progress messages and its errors. Values shorter than
	// redact.MinLen are not searched for.
	Secrets []string
	// Library is where load() finds modules ("_lib.star"); nil refuses
	// load(). The agent sets it to the image's scripts directory for the
	// scripts in it, and to nothing else.
	Library fs.FS
	// HTTP does the requests of the http module, which exists only when
	// Dialect.HTTP is set. nil means the Host's own when it is an
	// HTTPClient (a DryRun: a dry run never touches the network), else a
	// LiveHTTP.
	HTTP HTTPClient
	// System is the manager's system protocol for the system module; nil
	// in a VM that is in no system (its builtins then fail, ErrNoSystem).
	System System

	redactor *redact.Redactor // of Secrets, set by Run
}

// Dialect are the language switches a property may turn on.
type Dialect struct {
	// AllowWhile allows while loops and recursion, so a script may run
	// until its step limit instead of over a finite sequence.
	AllowWhile bool
	// HTTP predeclares the http module (ovfinit.script.http=true).
	// Without it, http is an undefined name and a script using it does
	// not pass Check.
	HTTP bool
}

// ScriptError is a script's own failure: a syntax error, a runtime error,
// fail(), the step limit or the time limit. Errors of the caller (an Env
// that can not work) are plain errors.
type ScriptError struct {
	Script    string // the name passed to Run or Check
	Pos       string // file:line:col of the failing statement, in the script
	Msg       string
	Backtrace string // the Starlark call stack, innermost last; empty for syntax errors
	// Retry is fail(..., retry=True): the script says a later attempt may
	// succeed (a sibling VM not up yet, say).
	Retry bool
	cause error
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

// fileOptions returns the dialect. Top-level if/for and global
// reassignment make plain customization scripts natural; while loops and
// recursion stay off unless the Dialect allows them, so every loop is over a
// finite sequence.
func (d Dialect) fileOptions() *syntax.FileOptions {
	return &syntax.FileOptions{
		Set:             true,
		TopLevelControl: true,
		GlobalReassign:  true,
		While:           d.AllowWhile,
		Recursion:       d.AllowWhile,
	}
}

// names are the predeclared names of the dialect.
func (d Dialect) names() []string {
	if d.HTTP {
		return append(slices.Clip(predeclaredNames), "http")
	}
	return predeclaredNames
}

func (d Dialect) isPredeclared(name string) bool { return slices.Contains(d.names(), name) }

// Program is a script parsed, checked and compiled once, by Compile, and
// run later, by Program.Run, without being compiled again.
type Program struct {
	Name    string // in positions and logs
	Header  Header // what the script declares about itself
	dialect Dialect
	prog    *starlark.Program
}

// Compile parses, resolves and compiles src without running it: a bad
// header, syntax errors and undefined names come back as a *ScriptError
// naming file:line:col (all of them, one per line, in Msg).
func Compile(name string, src []byte, d Dialect) (*Program, error) {
	h, err := ParseHeader(name, src)
	if err != nil {
		return nil, err
	}
	_, prog, err := starlark.SourceProgramOptions(d.fileOptions(), name, src, d.isPredeclared)
	if err != nil {
		return nil, compileError(name, err, d)
	}
	return &Program{Name: name, Header: h, dialect: d, prog: prog}, nil
}

// Check is Compile for its errors only.
func Check(name string, src []byte, d Dialect) error {
	_, err := Compile(name, src, d)
	return err
}

// httpOffHint follows "undefined: http" when the http module is off.
const httpOffHint = " (the http module is off: the property ovfinit.script.http=true turns it on)"

// compileError turns a parse or resolve error into a *ScriptError.
func compileError(name string, err error, d Dialect) error {
	var serr syntax.Error
	var rerrs resolve.ErrorList
	switch {
	case errors.As(err, &serr):
		return &ScriptError{Script: name, Pos: serr.Pos.String(), Msg: serr.Msg, cause: err}
	case errors.As(err, &rerrs) && len(rerrs) > 0:
		hint := func(m string) string {
			if !d.HTTP && m == "undefined: http" {
				return m + httpOffHint
			}
			return m
		}
		msg := hint(rerrs[0].Msg)
		for _, e := range rerrs[1:] {
			msg += "\n" + e.Pos.String() + ": " + hint(e.Msg)
		}
		return &ScriptError{Script: name, Pos: rerrs[0].Pos.String(), Msg: msg, cause: err}
	}
	return &ScriptError{Script: name, Msg: err.Error(), cause: err}
}

// threadContextKey is the thread-local key of the run's context.
const threadContextKey = "ovfinit.context"

// Run compiles src and runs it under the name name (used in positions),
// with the builtins bound to env. It returns a *ScriptError for anything
// the script did wrong, and stops the script when ctx ends, after
// env.Timeout, or after env.MaxSteps steps.
func Run(ctx context.Context, name string, src []byte, env Env) error {
	p, err := Compile(name, src, env.Dialect)
	if err != nil {
		return redactError(err, redact.New(env.Secrets...))
	}
	return p.Run(ctx, env)
}

// Run runs the compiled script as the package's Run does, in the dialect
// it was compiled for (env.Dialect is not read).
func (p *Program) Run(ctx context.Context, env Env) (err error) {
	name := p.Name
	env.Dialect = p.dialect
	if env.MaxSteps == 0 {
		env.MaxSteps = DefaultMaxSteps
	}
	if env.Timeout <= 0 {
		env.Timeout = DefaultTimeout
	}
	env.redactor = redact.New(env.Secrets...)
	env.Log = redactLogger(env.Log, env.redactor)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("scripts: not running %s: %w", name, context.Cause(ctx))
	}
	if env.Host == nil {
		if env.Root == "" {
			return errors.New("scripts: Env.Host is nil and Env.Root is empty")
		}
		live, err := NewLiveHost(env.Root)
		if err != nil {
			return fmt.Errorf("scripts: %w", err)
		}
		defer live.Close()
		env.Host = live
	}
	info, err := env.Host.Info()
	if err != nil {
		return fmt.Errorf("scripts: describing the host: %w", err)
	}
	if env.Dialect.HTTP && env.HTTP == nil {
		if c, ok := env.Host.(HTTPClient); ok {
			env.HTTP = c
		} else {
			env.HTTP = &LiveHTTP{}
		}
	}
	predeclared := newModules(&env, env.Host, info)
	opts := env.Dialect.fileOptions()
	prog := p.prog

	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, env.Timeout)
	defer cancel()
	r := &runner{env: &env, ctx: ctx, predeclared: predeclared, opts: opts, loaded: map[string]*loadEntry{}}
	thread := r.newThread(name)
	stop := context.AfterFunc(ctx, func() {
		if parent.Err() != nil {
			r.cancel("canceled: " + context.Cause(parent).Error())
		} else {
			r.cancel(fmt.Sprintf("time limit of %v exceeded", env.Timeout))
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
	case r.stepLimit.Load():
		serr.cause = ErrStepLimit
	case ctx.Err() != nil:
		serr.cause = context.Cause(ctx)
	}
	return redactError(serr, env.redactor)
}

// runner is one Run: the threads it made (the script's and one per loaded
// module), so that a timeout stops all of them, and the modules loaded.
type runner struct {
	env         *Env
	ctx         context.Context
	predeclared starlark.StringDict
	opts        *syntax.FileOptions
	stepLimit   atomic.Bool

	mu       sync.Mutex
	threads  []*starlark.Thread
	canceled string
	loaded   map[string]*loadEntry
}

type loadEntry struct {
	globals starlark.StringDict
	err     error // nil with nil globals: being loaded (a cycle)
}

func (r *runner) newThread(name string) *starlark.Thread {
	t := &starlark.Thread{
		Name: name,
		Print: func(thread *starlark.Thread, msg string) {
			r.env.Log.Info(msg, "pos", thread.CallFrame(1).Pos.String())
		},
		OnMaxSteps: func(thread *starlark.Thread) {
			r.stepLimit.Store(true)
			thread.Cancel(fmt.Sprintf("more than %d steps", r.env.MaxSteps))
		},
		Load: r.load,
	}
	t.SetLocal(threadContextKey, r.ctx)
	t.SetMaxExecutionSteps(r.env.MaxSteps)
	r.mu.Lock()
	r.threads = append(r.threads, t)
	if r.canceled != "" {
		t.Cancel(r.canceled)
	}
	r.mu.Unlock()
	return t
}

func (r *runner) cancel(reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.canceled = reason
	for _, t := range r.threads {
		t.Cancel(reason)
	}
}

// load implements load("name.star", ...): only plain file names from
// Env.Library, each run once per Run, cycles refused.
func (r *runner) load(_ *starlark.Thread, module string) (starlark.StringDict, error) {
	if r.env.Library == nil {
		return nil, errors.New("load() is only available to the scripts in the image's scripts directory")
	}
	if !fs.ValidPath(module) || strings.ContainsAny(module, `/\`) || !strings.HasSuffix(module, ".star") {
		return nil, fmt.Errorf("load(%q): want the file name of a .star script in the same directory", module)
	}
	if e, ok := r.loaded[module]; ok {
		if e.globals == nil && e.err == nil {
			return nil, fmt.Errorf("load(%q): cycle in load graph", module)
		}
		return e.globals, e.err
	}
	src, err := fs.ReadFile(r.env.Library, module)
	if err != nil {
		return nil, fmt.Errorf("load(%q): %w", module, err)
	}
	e := &loadEntry{}
	r.loaded[module] = e
	e.globals, e.err = starlark.ExecFileOptions(r.opts, r.newThread(module), module, src, r.predeclared)
	if e.err != nil {
		// Keep the loaded file's own position in the message.
		var ee *starlark.EvalError
		if errors.As(e.err, &ee) {
			e.err = runtimeError(module, e.err)
		} else {
			e.err = compileError(module, e.err, r.env.Dialect)
		}
		if e.globals == nil {
			e.globals = starlark.StringDict{}
		}
	}
	return e.globals, e.err
}

// runtimeError turns an error from running a program into a *ScriptError
// positioned at the innermost frame of the script (not of a builtin).
func runtimeError(name string, err error) *ScriptError {
	var eerr *starlark.EvalError
	if !errors.As(err, &eerr) {
		return &ScriptError{Script: name, Msg: err.Error(), cause: err}
	}
	e := &ScriptError{Script: name, Msg: eerr.Msg, Backtrace: eerr.Backtrace(), cause: eerr.Unwrap()}
	var fe *FailError
	if errors.As(err, &fe) {
		e.Retry = fe.Retry
	}
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
