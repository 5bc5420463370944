package agent

import (
	"context"
	"errors"
	"fmt"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/internal/freq"
)

// Frequency says how often a step runs; a script's header declares one of
// the same (internal/freq).
type Frequency = freq.Frequency

// The frequencies.
const (
	PerBoot     = freq.PerBoot
	PerInstance = freq.PerInstance
	Once        = freq.Once
)

// Step is one unit of the first-boot pipeline. Run says how it ended: an
// error fails the boot; otherwise its Result (ok, or skipped with the
// reason) is what the runner writes to the status file and the
// step.finished event, once.
type Step struct {
	Name string
	Freq Frequency
	// Idle, when set, says before the step starts why it has nothing to
	// do this boot ("" when it has work): no bootcmd in user-data, no
	// scripts. Such a step is reported as one that already ran is: one
	// "step skipped" line and a step.finished event, skipped, with the
	// reason; no step.started, and Run is not called. Run checks the
	// same itself (skipped), for callers without the runner.
	Idle func(e *Env) string
	Run  func(ctx context.Context, e *Env) (Result, error)
}

// Result is how a step that did not fail ended: callback.StatusOK (the zero
// Result: ok, no note) or callback.StatusSkipped, with a note (what it did,
// why it had nothing to do).
type Result struct {
	Status string
	Note   string
}

// noted is an ok Result with a note (which transport the environment came
// from, how many files were written).
func noted(format string, args ...any) Result {
	return Result{Status: callback.StatusOK, Note: fmt.Sprintf(format, args...)}
}

// skipped is the Result of a step that had nothing to do, with the reason:
// the runner reports it as "skipped", not as a failure, and does not record
// it as run.
func skipped(format string, args ...any) Result {
	return Result{Status: callback.StatusSkipped, Note: fmt.Sprintf(format, args...)}
}

// failure carries whether a retry of the deployment could help.
type failure struct {
	err   error
	retry bool
}

func (f *failure) Error() string { return f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

// fatal marks an error that a retry cannot fix: bad input, above all.
func fatal(err error) error {
	if err == nil {
		return nil
	}
	return &failure{err: err, retry: false}
}

// Retryable reports whether redeploying could help with err. Errors not
// marked otherwise are taken to be transient (a device that did not appear,
// an I/O error), so the manager may try again.
func Retryable(err error) bool {
	var f *failure
	if errors.As(err, &f) {
		return f.retry
	}
	return true
}
