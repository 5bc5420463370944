package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/ovfenv"
	"github.com/ovfinit/ovfinit/scripts"
)

// ImageScriptsDir is where image builders put scripts, under the root
// (scripts.ImageDir).
func ImageScriptsDir(goos string) string { return scripts.ImageDir(goos) }

// scriptSource is one script to run, compiled.
type scriptSource struct {
	prog    *scripts.Program // its Name is the script's in positions and logs: "50-app.star", "ovfinit.script", "user-data"
	library fs.FS            // load() resolves here; nil for the environment's scripts
}

// step is the script as the runner sees it: a per-script step whose
// frequency its header declares, recorded in the state next to the steps'
// as "script:<name>".
func (s *scriptSource) step() Step {
	return Step{Name: "script:" + s.prog.Name, Freq: s.prog.Header.Frequency}
}

// checkScripts finds, compiles and checks every script this boot may run,
// once, for validate: the image's (ovfinit.scripts' order, or name order),
// then ovfinit.script and user-data, which BuildPlan compiled. The script
// step runs what it leaves in p.Scripts.
func (e *Env) checkScripts(p *Plan) error {
	list, err := collectScripts(e, &p.Scripts, e.goos())
	p.Scripts.list = list
	return err
}

// collectScripts gathers the scripts in the order they run: the image's
// (scripts.FindImage: ovfinit.scripts' order, or name order),
// ovfinit.script, user-data. Every one is parsed and checked before any
// runs.
func collectScripts(e *Env, sp *ScriptPlan, goos string) ([]*scriptSource, error) {
	img, err := scripts.FindImage(e.Root, ImageScriptsDir(goos), sp.Image, sp.Dialect)
	errs := []error{err}
	for _, n := range img.Missing {
		errs = append(errs, &PropertyError{Key: ovfenv.KeyScripts.Name, Line: e.OVF.PropertyLine(ovfenv.KeyScripts.Name),
			Err: fmt.Errorf("no script %s in %s", n, ImageScriptsDir(goos))})
	}
	var out []*scriptSource
	for _, prog := range img.Programs {
		out = append(out, &scriptSource{prog: prog, library: img.Library})
	}
	for _, prog := range []*scripts.Program{sp.Script, sp.UserData} {
		if prog != nil {
			out = append(out, &scriptSource{prog: prog})
		}
	}
	return out, errors.Join(errs...)
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

// idleScripts is the script step's Idle.
func idleScripts(e *Env) string {
	if e.Plan != nil && len(e.Plan.Scripts.list) == 0 {
		return fmt.Sprintf("no scripts: no %s, no Starlark %s, nothing in %s", ovfenv.KeyScript.Name, ovfenv.KeyUserData.Name, ImageScriptsDir(e.goos()))
	}
	return ""
}

func runScripts(ctx context.Context, e *Env) (Result, error) {
	if why := idleScripts(e); why != "" {
		return skipped("%s", why), nil
	}
	list := e.Plan.Scripts.list
	sp := &e.Plan.Scripts
	host, err := scripts.NewLiveHost(e.Root)
	if err != nil {
		return Result{}, err
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
	// The script's redactor also knows the URLs' credentials and
	// user-data's passwords (learnSecrets, planCloud).
	envSecrets, _ := e.OVF.Secrets()
	secrets := append(envSecrets, e.Redact.Secrets()...)
	ran, optionalFailed := 0, 0
	for _, s := range list {
		step, name, optional := s.step(), s.prog.Name, s.prog.Header.Optional
		if r, done := e.alreadyRan(step); done {
			e.Log.Info("script skipped", "script", name, "frequency", step.Freq.String(), "reason", "already ran at "+r.At.Format("2006-01-02T15:04:05Z07:00"))
			continue
		}
		e.Log.Info("script started", "script", name, "frequency", step.Freq.String(), "optional", optional)
		t0 := e.Now()
		err := s.prog.Run(ctx, scripts.Env{
			OVF: e.OVF, InstanceID: e.InstanceID, Host: host,
			Log:      e.Log.With("script", name),
			MaxSteps: sp.MaxSteps, Timeout: sp.Timeout,
			Secrets: secrets, Library: s.library,
			System: e.scriptSystem(),
		})
		ran++
		if err != nil {
			var se *scripts.ScriptError
			if errors.As(err, &se) {
				e.Log.Error("script failed", "script", name, "err", se.Error(), "backtrace", se.Backtrace)
				err = &scriptError{se: se}
			}
			if ctx.Err() != nil {
				return Result{}, fmt.Errorf("agent stopping: %w", err)
			}
			if optional {
				optionalFailed++
				e.Log.Warn("optional script failed; going on", "script", name)
				continue
			}
			if se != nil && se.Retry {
				return Result{}, err // retryable: the script asked for it
			}
			return Result{}, fatal(err) // a script fails the same way each time it runs
		}
		e.Log.Info("script finished", "script", name, "duration", e.Now().Sub(t0))
		if err := e.recordRan(step); err != nil {
			return Result{}, err
		}
	}
	if ran == 0 {
		return skipped("every script already ran for instance %s", e.InstanceID), nil
	}
	if optionalFailed > 0 {
		e.Log.Warn("optional scripts failed", "count", optionalFailed)
	}
	return Result{}, nil
}
