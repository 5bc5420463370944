package sshd

import (
	"context"
	"runtime"
	"sync"
	"time"
)

// kexGate staggers key exchanges: at most one per CPU runs at a time, and
// a new connection waits for a slot at most kexWait, then goes ahead
// anyway. A key exchange is the server's costly part of a login (the
// shared secret, the host key's signature): clients that connect
// together on one CPU share it and all log in late (in Debian 13 boots
// under emulation a probe's connections were accepted together, 0.8-1.4
// s after the server listened); taking turns, the first of four logs in
// in half the time and the last at about the same
// (BenchmarkKexGateLogins).
//
// The wait is bounded and a slot is held only until the client's first
// authentication request (or the close), so a client that connects and
// stalls delays the others by kexWait at most, once each, and never
// shuts them out: the grace timer and Limits.Startups deal with it as
// before.
type kexGate struct {
	slots chan struct{}
	wait  time.Duration
}

// kexWait bounds how long a connection waits for another's key exchange.
const kexWait = 500 * time.Millisecond

func newKexGate() *kexGate {
	return &kexGate{slots: make(chan struct{}, max(1, runtime.NumCPU())), wait: kexWait}
}

// enter takes a slot, waiting at most g.wait (or until ctx ends). leave
// frees the slot, if one was taken; calling it again does nothing.
func (g *kexGate) enter(ctx context.Context) (leave func()) {
	t := time.NewTimer(g.wait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return sync.OnceFunc(func() { <-g.slots })
	case <-t.C:
	case <-ctx.Done():
	}
	return func() {}
}
