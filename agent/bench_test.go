package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ovfinit/ovfinit/netcfg"
	"github.com/ovfinit/ovfinit/ovfenv"
	"github.com/ovfinit/ovfinit/sshd"
)

// BenchmarkFirstBoot runs the whole pipeline of a first boot (the VM
// test's environment: host name, user and key, static network, SSH port,
// a script, the callback) against fakes: a temp root, a network that
// records its ops, an SSH server that is not started, events recorded. It
// is our code alone, without the emulator, the kernel or the disk, so it
// separates what the agent costs from what the guest costs (issue 20,
// point 6). With -v it logs where the time went per step.
//
//	go test ./agent -run '^$' -bench FirstBoot -benchmem -v
func BenchmarkFirstBoot(b *testing.B) {
	xml := fullEnv("i-bench")
	perStep := map[string]time.Duration{}
	var runs int
	for b.Loop() {
		b.StopTimer()
		root := benchRoot(b)
		e := benchEnv(root, xml)
		steps := Steps()
		for i := range steps {
			name, run := steps[i].Name, steps[i].Run
			steps[i].Run = func(ctx context.Context, e *Env) (Result, error) {
				t0 := time.Now()
				res, err := run(ctx, e)
				perStep[name] += time.Since(t0)
				return res, err
			}
		}
		b.StartTimer()
		if err := Run(context.Background(), e, steps); err != nil {
			b.Fatalf("Run() = %v", err)
		}
		runs++
		b.StopTimer()
		os.RemoveAll(root)
		b.StartTimer()
	}
	if runs == 0 {
		return
	}
	names := slices.SortedFunc(func(yield func(string) bool) {
		for n := range perStep {
			if !yield(n) {
				return
			}
		}
	}, func(a, c string) int { return int(perStep[c] - perStep[a]) })
	var sb strings.Builder
	var sum time.Duration
	for _, n := range names {
		sum += perStep[n]
		fmt.Fprintf(&sb, "  %-22s %8.1f µs\n", n, float64(perStep[n].Microseconds())/float64(runs))
	}
	b.Logf("per first boot, in the steps %.1f µs (of %d runs):\n%s", float64(sum.Microseconds())/float64(runs), runs, sb.String())
}

// benchRoot is newMachine's image root, made for a benchmark.
func benchRoot(b *testing.B) string {
	root, err := os.MkdirTemp("", "ovfinit-bench-root")
	if err != nil {
		b.Fatal(err)
	}
	writeImageRoot(b, root)
	return root
}

// benchEnv is machine.env with the real clock and the log formatted (as
// the agent formats it for the console) into io.Discard.
func benchEnv(root, xml string) *Env {
	n := &fakeNet{}
	return &Env{
		Log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		Root:     root,
		StateDir: "/var/lib/ovfinit",
		OS:       "linux",
		BootID:   NewBootID(),
		Live:     true,
		Now:      time.Now,
		Events:   &fakeEvents{},
		FindEnv: func(ctx context.Context, e *Env) (*ovfenv.Source, error) {
			return &ovfenv.Source{Transport: "iso", Location: "/dev/sr0", Data: []byte(xml)}, nil
		},
		Network:     func(string) (netcfg.System, error) { return n, nil },
		SetHostname: func(_ context.Context, _, _ string) (bool, error) { return false, nil },
		SystemUUID:  func(string) (string, error) { return "4c4c4544-0000-1000-8000-000000000001", nil },
		CreateUser:  testCreateUser,
		Commands:    &recordRunner{},
		StartSSH:    func(cfg sshd.Config) (SSHServer, error) { return &fakeSSH{cfg: cfg}, nil },
	}
}
