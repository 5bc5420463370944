// Package fleetsim simulates a fleet of booting VMs for the web view's
// browser test, its screenshot and its benchmark: each simulated agent is
// a real callback.Sender posting signed events, in order, to a receiver
// such as `ovfinit watch`, with the steps, durations, host keys and
// outcomes of a real first boot.
package fleetsim

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"strings"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/ovfinit/ovfinit/callback"
)

// Steps are the pipeline's steps as a first boot reports them, with a
// typical duration in milliseconds (docs/performance.md).
var Steps = []struct {
	Name string
	MS   int
}{
	{"find-environment", 77}, {"parse-environment", 9}, {"validate", 50}, {"hostname", 27},
	{"network", 28}, {"user", 66}, {"host-key", 25}, {"sshd", 24}, {"script", 140},
}

// EventsPerAgent is how many events a ready agent sends: a started and a
// finished event per step, one script progress event and ready.
var EventsPerAgent = 2*len(Steps) + 2

// Agent is one simulated VM.
type Agent struct {
	Instance string
	Index    int
	Result   string // callback.ResultReady, ResultFatal or ResultRetry
	FailStep string // the step a failing agent fails at
	Reason   string // its message
	Slow     string // a step that takes 8 times as long
	Factor   float64
}

// Fleet returns n agents named prefix-01... whose durations vary
// deterministically; failures maps an index to the agent's failure.
func Fleet(prefix string, n int, failures map[int]Agent) []Agent {
	out := make([]Agent, n)
	width := len(fmt.Sprint(n))
	for i := range out {
		a := Agent{Instance: fmt.Sprintf("%s-%0*d", prefix, width, i+1), Index: i, Result: callback.ResultReady,
			Factor: 0.7 + float64((i*37)%100)/100}
		if i%7 == 3 {
			a.Slow = "network"
		}
		if i%11 == 5 {
			a.Slow = "script"
		}
		if f, ok := failures[i]; ok {
			a.Result, a.FailStep, a.Reason = f.Result, f.FailStep, f.Reason
		}
		out[i] = a
	}
	return out
}

// Options of Run.
type Options struct {
	URL    string
	Secret []byte
	// Scale multiplies the real time an agent spends in each step (1: the
	// durations of Steps, times Factor); 0 sends as fast as possible, the
	// durations still reported in durationMs.
	Scale float64
	// Pause, when set, is called before each step with its index (and with
	// len(Steps) before the outcome): a test holds agents there.
	Pause func(a Agent, step int)
}

// Run sends a's boot and waits until every event is delivered or ctx
// ends.
func (a Agent) Run(ctx context.Context, o Options) error {
	s := callback.NewSender(nil, fmt.Sprintf("%08x", 0x5eed0000+a.Index))
	defer s.Close()
	cfg := callback.Config{URL: o.URL, InstanceID: a.Instance, Attempt: 1, Secret: o.Secret,
		InitialInterval: 10 * time.Millisecond, MaxInterval: 200 * time.Millisecond, MaxElapsed: time.Minute}
	if err := s.Start(cfg); err != nil {
		return err
	}
	key := hostKey(a.Index)
	keys := []callback.HostKey{{Type: key.Type(), Fingerprint: gossh.FingerprintSHA256(key),
		Key: strings.TrimSpace(string(gossh.MarshalAuthorizedKey(key)))}}
	start := time.Now()
	for i, st := range Steps {
		if o.Pause != nil {
			o.Pause(a, i)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d := callback.Data{Step: st.Name, Status: callback.StatusStarted, Percent: 100 * i / len(Steps)}
		if i >= 7 {
			d.SSHHostKeys = keys
		}
		s.Emit(callback.TypeStepStarted, d)
		ms := float64(st.MS) * a.Factor
		if st.Name == a.Slow {
			ms *= 8
		}
		if st.Name == "script" {
			sleep(ctx, time.Duration(ms*o.Scale/2)*time.Millisecond)
			s.Emit(callback.TypeProgress, callback.Data{Step: st.Name, Percent: d.Percent, Message: "50% installing packages", SSHHostKeys: d.SSHHostKeys})
			sleep(ctx, time.Duration(ms*o.Scale/2)*time.Millisecond)
		} else {
			sleep(ctx, time.Duration(ms*o.Scale)*time.Millisecond)
		}
		d.Status, d.Percent, d.DurationMS = callback.StatusOK, 100*(i+1)/len(Steps), int64(ms)
		if st.Name == a.FailStep {
			d.Status, d.Message = callback.StatusFailed, a.Reason
			s.Emit(callback.TypeStepFinished, d)
			retry := a.Result == callback.ResultRetry
			s.Emit(callback.TypeFailed, callback.Data{Step: st.Name, Result: a.Result, Retry: &retry, Message: a.Reason,
				DurationMS: time.Since(start).Milliseconds()})
			return s.Wait(ctx)
		}
		s.Emit(callback.TypeStepFinished, d)
	}
	if o.Pause != nil {
		o.Pause(a, len(Steps))
	}
	s.Emit(callback.TypeReady, callback.Data{Result: callback.ResultReady, Percent: 100, DurationMS: max(time.Since(start).Milliseconds(), totalMS(a)),
		Hostname: a.Instance + ".lab.example", Addresses: []string{fmt.Sprintf("10.0.%d.%d/24", a.Index/250, 10+a.Index%250)}, SSHPort: 22, SSHHostKeys: keys})
	return s.Wait(ctx)
}

// totalMS is the sum of the durations a reports.
func totalMS(a Agent) int64 {
	var t float64
	for _, st := range Steps {
		ms := float64(st.MS) * a.Factor
		if st.Name == a.Slow {
			ms *= 8
		}
		t += float64(int64(ms))
	}
	return int64(t)
}

// hostKey is agent i's SSH host key, the same on every run.
func hostKey(i int) gossh.PublicKey {
	seed := make([]byte, ed25519.SeedSize)
	copy(seed, fmt.Sprintf("fleetsim host key %d", i))
	pub, err := gossh.NewPublicKey(ed25519.NewKeyFromSeed(seed).Public())
	if err != nil {
		panic(err) // an ed25519 key always converts
	}
	return pub
}

func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
