package agent

import (
	"context"
	"errors"
	"fmt"
)

// Frequency says how often a step runs.
type Frequency int

const (
	// PerBoot steps run on every boot.
	PerBoot Frequency = iota + 1
	// PerInstance steps run once for each instance id: again when the
	// manager deploys the image as a new instance, not on a reboot.
	PerInstance
	// Once steps run once in the life of the image's state directory.
	Once
)

func (f Frequency) String() string {
	switch f {
	case PerBoot:
		return "per-boot"
	case PerInstance:
		return "per-instance"
	case Once:
		return "once"
	}
	return fmt.Sprintf("Frequency(%d)", int(f))
}

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
