package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/internal/rootfs"
	"github.com/ovfinit/ovfinit/ovfenv"
	"github.com/ovfinit/ovfinit/scripts"
)

// ImageScriptsDir is where image builders put scripts, under the root:
// /etc/ovfinit/scripts.d, or %ProgramData%\ovfinit\scripts.d on Windows.
func ImageScriptsDir(goos string) string {
	if goos == "windows" {
		return "/ProgramData/ovfinit/scripts.d"
	}
	return "/etc/ovfinit/scripts.d"
}

// scriptSource is one script to run.
type scriptSource struct {
	name    string // in positions and logs: "50-app.star", "ovfinit.script", "user-data"
	src     []byte
	header  scripts.Header
	library fs.FS // load() resolves here; nil for the environment's scripts
}

// stateKey is the script's key in the agent state, next to the steps'.
func (s *scriptSource) stateKey() string { return "script:" + s.name }

func scriptFreq(f string) Frequency {
	switch f {
	case scripts.PerBoot:
		return PerBoot
	case scripts.Once:
		return Once
	}
	return PerInstance
}

// collectScripts gathers the scripts in the order they run: the image's
// (ovfinit.scripts' order, or name order), ovfinit.script, user-data.
// Every one is parsed and checked before any runs.
func collectScripts(e *Env, sp *ScriptPlan, goos string) ([]*scriptSource, error) {
	var out []*scriptSource
	var errs []error
	dir := ImageScriptsDir(goos)
	lib := rootfs.DirFS(e.Root, dir)
	names := sp.Image
	if names == nil {
		var entries []fs.DirEntry
		err := e.withRoot(func(f *rootfs.FS) (err error) { entries, err = f.ReadDir(dir); return err })
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("reading %s: %w", ImageScriptsDir(goos), err)
		}
		for _, en := range entries {
			n := en.Name()
			if strings.HasSuffix(n, ".star") && !strings.HasPrefix(n, "_") && !strings.HasPrefix(n, ".") && en.Type().IsRegular() {
				names = append(names, n)
			}
		}
		slices.Sort(names)
	}
	for _, n := range names {
		src, err := fs.ReadFile(lib, n)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && sp.Image != nil {
				errs = append(errs, &PropertyError{Key: PropScriptList, Line: e.OVF.PropertyLine(PropScriptList),
					Err: fmt.Errorf("no script %s in %s", n, ImageScriptsDir(goos))})
			} else {
				errs = append(errs, fmt.Errorf("reading image script: %w", err))
			}
			continue
		}
		out = append(out, &scriptSource{name: n, src: src, library: lib})
	}
	if sp.Script != nil {
		out = append(out, &scriptSource{name: PropScript, src: sp.Script})
	}
	if sp.UserData != nil {
		out = append(out, &scriptSource{name: PropUserData, src: sp.UserData})
	}
	for _, s := range out {
		h, err := scripts.ParseHeader(s.name, s.src)
		if err == nil {
			err = scripts.Check(s.name, s.src, sp.Dialect)
		}
		if err != nil {
			errs = append(errs, err)
		}
		s.header = h
	}
	return out, errors.Join(errs...)
}

// secretValues are the values of the environment's secret properties, which
// the scripts may read but never log: those the key table marks Secret and
// those whose name says so (ovfenv.IsSecret: "password", "secret", "token",
// ...), since a vApp's own keys are not in the table.
func secretValues(env *ovfenv.Environment) []string {
	var out []string
	for _, p := range env.Properties {
		if ovfenv.IsSecret(p.Key) && p.Value != "" {
			out = append(out, p.Value)
		}
	}
	return out
}

// scriptError is a script's failure as the pipeline reports it: the
// position and message, then the Starlark backtrace.
type scriptError struct{ se *scripts.ScriptError }

func (s *scriptError) Error() string {
	if s.se.Backtrace == "" {
		return s.se.Error()
	}
	return s.se.Error() + "\n" + strings.TrimSpace(s.se.Backtrace)
}

func (s *scriptError) Unwrap() error { return s.se }

func runScripts(ctx context.Context, e *Env) error {
	return runScriptsFor(ctx, e, e.goos())
}

func runScriptsFor(ctx context.Context, e *Env, goos string) error {
	sp := &e.Plan.Scripts
	list, err := collectScripts(e, sp, goos)
	if err != nil {
		return fatal(err)
	}
	if len(list) == 0 {
		return skip("no scripts: no %s, no Starlark %s, nothing in %s", PropScript, PropUserData, ImageScriptsDir(goos))
	}
	host, err := scripts.NewLiveHost(e.Root)
	if err != nil {
		return err
	}
	defer host.Close()
	if !e.Live {
		host.ExecDisabled = "the root directory is not / (an offline image)"
	}
	host.OnProgress = func(percent int, message string) {
		d := e.data("script")
		// scripts.Run redacted the message already; the events are
		// redacted again on their way to the sender (Env.Redact).
		d.Message = fmt.Sprintf("%d%% %s", percent, message)
		e.Events.Emit(callback.TypeProgress, d)
	}
	// The script's redactor also knows the URLs' credentials (learnSecrets).
	secrets := append(secretValues(e.OVF), e.Redact.Secrets()...)
	ran, optionalFailed := 0, 0
	for _, s := range list {
		freq := scriptFreq(s.header.Frequency)
		if r, done := e.State.Done(freq, e.InstanceID, s.stateKey()); done {
			e.Log.Info("script skipped", "script", s.name, "frequency", freq.String(), "reason", "already ran at "+r.At.Format("2006-01-02T15:04:05Z07:00"))
			continue
		}
		e.Log.Info("script started", "script", s.name, "frequency", freq.String(), "optional", s.header.Optional)
		t0 := e.Now()
		err := scripts.Run(ctx, s.name, s.src, scripts.Env{
			OVF: e.OVF, InstanceID: e.InstanceID, Host: host,
			Log:      e.Log.With("script", s.name),
			MaxSteps: sp.MaxSteps, Timeout: sp.Timeout, Dialect: sp.Dialect,
			Secrets: secrets, Library: s.library,
		})
		ran++
		if err != nil {
			var se *scripts.ScriptError
			if errors.As(err, &se) {
				e.Log.Error("script failed", "script", s.name, "err", se.Error(), "backtrace", se.Backtrace)
				err = &scriptError{se: se}
			}
			if ctx.Err() != nil {
				return fmt.Errorf("agent stopping: %w", err)
			}
			if s.header.Optional {
				optionalFailed++
				e.Log.Warn("optional script failed; going on", "script", s.name)
				continue
			}
			if se != nil && se.Retry {
				return err // retryable: the script asked for it
			}
			return fatal(err) // a script fails the same way each time it runs
		}
		e.Log.Info("script finished", "script", s.name, "duration", e.Now().Sub(t0))
		if freq != PerBoot {
			e.State.Record(freq, e.InstanceID, s.stateKey(), StepRecord{At: e.Now().UTC(), Boot: e.BootID})
			if err := e.State.Save(e.Root, e.statePath("state.json")); err != nil {
				return fmt.Errorf("saving state: %w", err)
			}
		}
	}
	if ran == 0 {
		return skip("every script already ran for instance %s", e.InstanceID)
	}
	if optionalFailed > 0 {
		e.Log.Warn("optional scripts failed", "count", optionalFailed)
	}
	return nil
}
