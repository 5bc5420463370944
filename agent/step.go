package agent

import (
	"context"
	"errors"
	"fmt"

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

// Step is one unit of the first-boot pipeline.
type Step struct {
	Name string
	Freq Frequency
	Run  func(ctx context.Context, e *Env) error
}

// skipError is returned by a step that had nothing to do; the runner reports
// it as "skipped" with the reason, not as a failure.
type skipError struct{ reason string }

func (s *skipError) Error() string { return s.reason }

// skip makes a step report "skipped" with the reason.
func skip(format string, args ...any) error {
	return &skipError{reason: fmt.Sprintf(format, args...)}
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
