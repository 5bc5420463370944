package main

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/ovfinit/ovfinit/agent"
	"github.com/ovfinit/ovfinit/sshd"
)

// Process-wide policy for a process whose main work is the SSH server
// (`ovfinit run`, `ovfinit sshd`): the library packages never change the
// runtime's settings; this file does, once, for the whole process.

// GC settings tuneGC applies when the environment sets none.
const (
	tunedGCPercent   = 400
	tunedMemoryLimit = 36 << 20
)

// tuneGC sets the garbage collector for a long-running SSH server, unless
// GOGC or GOMEMLIMIT are set in the environment: GOGC 400, so that bulk
// transfers (x/crypto allocates a fresh buffer for every received packet)
// collect a quarter as often, with a 36 MiB soft memory limit so the heap
// stays small under many sessions. Measured with sshd's BenchmarkStream:
// about 15% more throughput than GOGC 100 (docs/performance.md).
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(tunedGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(tunedMemoryLimit)
	}
}

// procPolicy runs the process's Go code on one CPU (GOMAXPROCS 1) while at
// most one SSH session is open, and on all of them (GOMAXPROCS as found)
// while more are. A single transfer moves every packet between x/crypto's
// reader goroutine and the session's copy goroutine; on one P that hand-off
// stays on one thread instead of waking another (futex, epoll, a context
// switch per packet), which measured 20% more upload throughput and 25% less
// CPU per GiB (docs/performance.md). It is fed by sshd.Config.OnSessions.
type procPolicy struct {
	mu       sync.Mutex
	max, cur int
	stopped  bool
}

// newProcPolicy returns the policy, or nil when it does not apply: the
// environment sets GOMAXPROCS, or there is one CPU.
func newProcPolicy() *procPolicy {
	if os.Getenv("GOMAXPROCS") != "" {
		return nil
	}
	n := runtime.GOMAXPROCS(0)
	if n < 2 {
		return nil
	}
	return &procPolicy{max: n, cur: n}
}

// sessions sets GOMAXPROCS for open sessions (sshd.Config.OnSessions).
func (p *procPolicy) sessions(open int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	want := p.max
	if open <= 1 && !p.stopped {
		want = 1
	}
	p.set(want)
}

// stop gives the process all its CPUs back, for good: the server is shut
// down.
func (p *procPolicy) stop() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	p.set(p.max)
}

func (p *procPolicy) set(n int) {
	if n != p.cur {
		runtime.GOMAXPROCS(n)
		p.cur = n
	}
}

// serverPolicy applies the policy to cfg: the GC settings now, GOMAXPROCS
// by the sessions open. The returned stop undoes the latter.
func serverPolicy(cfg *sshd.Config) (stop func()) {
	tuneGC()
	p := newProcPolicy()
	if p == nil {
		return func() {}
	}
	cfg.OnSessions = p.sessions
	return p.stop
}

// policySSH is the agent's SSH server with the process policy.
type policySSH struct {
	agent.SSHServer
	stop func()
}

func (s policySSH) Shutdown(ctx context.Context) error {
	defer s.stop()
	return s.SSHServer.Shutdown(ctx)
}

// withServerPolicy wraps the agent's StartSSH seam so that the server it
// starts runs under the process policy.
func withServerPolicy(start func(sshd.Config) (agent.SSHServer, error)) func(sshd.Config) (agent.SSHServer, error) {
	return func(cfg sshd.Config) (agent.SSHServer, error) {
		stop := serverPolicy(&cfg)
		srv, err := start(cfg)
		if err != nil {
			stop()
			return nil, err
		}
		return policySSH{SSHServer: srv, stop: stop}, nil
	}
}
