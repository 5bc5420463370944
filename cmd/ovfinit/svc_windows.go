package main

import (
	"context"

	"github.com/kardianos/service"
	"github.com/ovfinit/ovfinit/packaging"
)

// asService runs fn under the Windows service manager when it started us
// (it must hear back within 30 s, and stops us through the SCM, not a
// signal); interactively it just runs fn.
func asService(ctx context.Context, fn func(context.Context) error) error {
	if service.Interactive() {
		return fn(ctx)
	}
	// The MSI cannot set recovery actions (wixl has no
	// ServiceConfigFailureActions): set them here, best effort; `ovfinit
	// install` has set them already.
	_ = packaging.SetRecovery()
	p := &winProgram{fn: fn, done: make(chan error, 1)}
	p.ctx, p.cancel = context.WithCancel(ctx)
	s, err := packaging.NewLive(packaging.Service{Bin: defaultBin()}, p)
	if err != nil {
		return err
	}
	if err := s.Run(); err != nil {
		return err
	}
	return <-p.done
}

type winProgram struct {
	fn     func(context.Context) error
	ctx    context.Context
	cancel context.CancelFunc
	done   chan error
}

// Start must return at once: the pipeline runs in the background.
func (p *winProgram) Start(service.Service) error {
	go func() { p.done <- p.fn(p.ctx) }()
	return nil
}

// Stop cancels the pipeline and waits for run's clean shutdown.
func (p *winProgram) Stop(service.Service) error {
	p.cancel()
	err := <-p.done
	p.done <- err
	return nil
}
