package agent

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/ovfinit/ovfinit/callback"
)

// Run runs the steps in order. Every step is logged, reported to the manager
// (step.started, step.finished) and recorded in the status file; a per-instance
// or once step that already ran is reported as skipped. The first failure
// stops the pipeline with a `failed` event that says whether a retry could
// help; success ends with `ready`.
func Run(ctx context.Context, e *Env, steps []Step) error {
	e.redactOutputs()
	defer e.closeNetwork() // when the network step did not run
	defer e.outcomeEmitted()
	if err := secureDirs(e); err != nil {
		return err
	}
	start := e.Now()
	st := &Status{Phase: PhaseRunning, Boot: e.BootID, PID: os.Getpid(), Started: start}
	e.writeStatus(st)
	for i, s := range steps {
		// percent: how far the boot is when the step starts and ends.
		if err := e.runStep(ctx, s, st, i*100/len(steps), (i+1)*100/len(steps)); err != nil {
			retry := Retryable(err)
			st.Phase, st.Message, st.Retry = PhaseFailed, err.Error(), &retry
			e.writeStatus(st)
			result := callback.ResultFatal
			if retry {
				result = callback.ResultRetry
			}
			d := e.data(s.Name)
			d.Status, d.Message, d.Result, d.Retry = callback.StatusFailed, err.Error(), result, &retry
			d.DurationMS = e.Now().Sub(start).Milliseconds()
			e.Events.Emit(callback.TypeFailed, d)
			e.Log.Error("boot failed", "step", s.Name, "err", err, "retry", retry)
			e.failSafeNetwork(ctx)
			e.failSafeSSH()
			return fmt.Errorf("step %s: %w", s.Name, err)
		}
	}
	e.checkRebootPending()
	st.Phase, st.Step, st.SSHHostKeys = PhaseReady, "", e.sshHostKeys()
	st.InstanceID = e.InstanceID
	if e.RebootPending {
		st.Message = rebootPendingMessage
	}
	e.writeStatus(st)
	d := e.data("")
	d.Result, d.Percent = callback.ResultReady, 100
	d.DurationMS = e.Now().Sub(start).Milliseconds()
	d.Hostname = hostnameOf(e)
	if e.RebootPending {
		d.Message = rebootPendingMessage
	}
	d.Addresses = addresses(e)
	d.SSHPort = e.Boot.SSHPort
	e.Events.Emit(callback.TypeReady, d)
	e.hostKeys().Ready() // background work that must not delay ready may start
	for _, f := range e.afterReady {
		f()
	}
	e.Log.Info("ready", "instance", e.InstanceID, "duration", time.Duration(d.DurationMS)*time.Millisecond)
	return nil
}

func (e *Env) runStep(ctx context.Context, s Step, st *Status, startPct, endPct int) error {
	if s.Freq != PerBoot {
		if e.State == nil {
			return fmt.Errorf("internal error: %s step %q runs before the instance is known", s.Freq, s.Name)
		}
		if r, done := e.alreadyRan(s); done {
			e.skipUnstarted(s, st, endPct, fmt.Sprintf("already ran for instance %s (boot %s at %s)", e.InstanceID, r.Boot, r.At.Format(time.RFC3339)))
			return nil
		}
	}
	if s.Idle != nil {
		if why := s.Idle(e); why != "" {
			e.skipUnstarted(s, st, endPct, why)
			return nil
		}
	}

	e.Log.Info("step started", "step", s.Name, "frequency", s.Freq.String())
	st.Step = s.Name
	t0 := e.Now()
	st.Steps = append(st.Steps, StepStatus{Name: s.Name, Frequency: s.Freq.String(), Status: PhaseRunning, Start: t0})
	cur := &st.Steps[len(st.Steps)-1]
	e.writeStatus(st)
	d := e.data(s.Name)
	d.Status, d.Percent = callback.StatusStarted, startPct
	e.Events.Emit(callback.TypeStepStarted, d)

	res, err := resultOf(s.Run(ctx, e))
	dur := e.Now().Sub(t0)
	st.InstanceID = e.InstanceID
	cur.DurationMS = dur.Milliseconds()
	d = e.data(s.Name)
	d.DurationMS, d.Percent = dur.Milliseconds(), endPct

	res.apply(cur, &d)
	if err != nil {
		e.Events.Emit(callback.TypeStepFinished, d)
		e.Log.Error("step failed", "step", s.Name, "duration", dur, "err", err)
		return err
	}
	if res.Status == callback.StatusSkipped {
		e.Log.Info("step skipped", "step", s.Name, "reason", res.Note)
	} else {
		e.Log.Info("step finished", "step", s.Name, "duration", dur)
		if err := e.recordRan(s); err != nil {
			return err
		}
	}
	e.Events.Emit(callback.TypeStepFinished, d)
	e.writeStatus(st)
	return nil
}

// OutcomeWait bounds how long work held back for the boot's outcome
// (outcomeSent) waits for the manager to take the ready or failed event.
const OutcomeWait = 10 * time.Second

// eventsWaiter is Events that can wait until what was emitted so far has
// been delivered (callback.Sender).
type eventsWaiter interface {
	Wait(ctx context.Context) error
}

// The sender ovfinit run uses can wait: without it, the hand-over would
// no longer wait for the ready event, without a word.
var _ eventsWaiter = (*callback.Sender)(nil)

// waiterOf returns ev's Wait, under the redaction wrapper, if it has one.
func waiterOf(ev Events) (eventsWaiter, bool) {
	if x, ok := ev.(redactedEvents); ok {
		ev = x.Events
	}
	w, ok := ev.(eventsWaiter)
	return w, ok
}

// outcomeSent returns a channel closed once the manager has the boot's
// outcome: the ready or failed event (and every event before it) has been
// delivered, or given up on, or OutcomeWait has passed since it was
// emitted. Work a booting machine can do a little later (the image's DHCP
// client taking over a lease of ovfinit's own) waits for it, so that on a
// single emulated CPU it does not come out of the time to the ready event.
func (e *Env) outcomeSent() <-chan struct{} {
	e.outcomeOnce.Do(func() { e.outcome = make(chan struct{}) })
	return e.outcome
}

// DefaultHandOverSettle is Env.HandOverSettle on a live system. The
// manager's first logins follow the ready event at once; in a Debian 13
// guest under emulation the image's DHCP client, started then (systemd-run
// asking PID 1 for a scope, dhcpcd and its hooks), took the CPU from them
// for 1-3 s. The lease it takes over lasts hours (its renewal time, T1, is
// half of it), and its address and routes stay on the NIC meanwhile.
const DefaultHandOverSettle = 5 * time.Second

// handOverReleased returns a channel closed HandOverSettle after
// outcomeSent, or sooner once FinishHandOver is called: when the image's
// DHCP client may take over a lease of ovfinit's own.
func (e *Env) handOverReleased() <-chan struct{} {
	sent := e.outcomeSent()
	if e.HandOverSettle <= 0 {
		return sent
	}
	now := e.finishNow()
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		<-sent
		t := time.NewTimer(e.HandOverSettle)
		defer t.Stop()
		select {
		case <-t.C:
		case <-now:
		}
	}()
	return ch
}

// finishNow is closed by FinishHandOver.
func (e *Env) finishNow() chan struct{} {
	e.handOverNowOnce.Do(func() { e.handOverNow = make(chan struct{}) })
	return e.handOverNow
}

// FinishHandOver, for a process about to exit after Run: it releases a
// hand-over still in its settle time (once the manager has the outcome),
// and waits until the image's DHCP client has been run or ctx ends. A
// hand-over left pending would die with the process, and nothing would
// renew the lease.
func (e *Env) FinishHandOver(ctx context.Context) error {
	now := e.finishNow()
	e.handOverNowShut.Do(func() { close(now) })
	if e.handOverWait == nil {
		return nil
	}
	return e.handOverWait(ctx)
}

// outcomeEmitted, when Run returns (its outcome emitted, or no event will
// come), closes outcomeSent once the events are delivered, or at the
// latest after OutcomeWait; at once when the Events cannot say.
func (e *Env) outcomeEmitted() {
	e.outcomeSent()
	shut := func() { e.outcomeShut.Do(func() { close(e.outcome) }) }
	w, ok := waiterOf(e.Events)
	if !ok {
		shut()
		return
	}
	go func() {
		defer shut()
		ctx, cancel := context.WithTimeout(context.Background(), OutcomeWait)
		defer cancel()
		_ = w.Wait(ctx) // delivered, given up, not started or late: go on alike
	}()
}

// skipUnstarted reports a step that is not started (it already ran for
// this instance, or has nothing to do): one log line, its status line,
// and a step.finished event, skipped, with why. Half the events and lines
// of a step that starts and skips, and no status write of its own: a
// first boot skips most steps, and under emulation each of those costs
// tens of milliseconds before the ready event.
func (e *Env) skipUnstarted(s Step, st *Status, endPct int, why string) {
	e.Log.Info("step skipped", "step", s.Name, "frequency", s.Freq.String(), "reason", why)
	res := Result{Status: callback.StatusSkipped, Note: why}
	st.Steps = append(st.Steps, StepStatus{Name: s.Name, Frequency: s.Freq.String(), Start: e.Now()})
	d := e.data(s.Name)
	d.Percent = endPct
	res.apply(&st.Steps[len(st.Steps)-1], &d)
	e.Events.Emit(callback.TypeStepFinished, d)
}

// resultOf is how the runner reads a step's return: an error is
// StatusFailed with its text (and the error is returned); otherwise the
// step's Result, ok when it left the status empty.
func resultOf(res Result, err error) (Result, error) {
	if err != nil {
		return Result{Status: callback.StatusFailed, Note: err.Error()}, err
	}
	if res.Status == "" {
		res.Status = callback.StatusOK
	}
	return res, nil
}

// apply writes the result into the step's status line and its event.
func (r Result) apply(st *StepStatus, d *callback.Data) {
	st.Status, st.Message = r.Status, r.Note
	d.Status, d.Message = r.Status, r.Note
}

// alreadyRan reports whether a per-instance or once step (or script) has
// run for this instance, and when; a per-boot one never has.
func (e *Env) alreadyRan(s Step) (StepRecord, bool) {
	if s.Freq == PerBoot {
		return StepRecord{}, false
	}
	return e.State.Done(s.Freq, e.InstanceID, s.Name)
}

// recordRan records that a per-instance or once step (or script) ran, and
// saves the state.
func (e *Env) recordRan(s Step) error {
	if s.Freq == PerBoot {
		return nil
	}
	e.State.Record(s.Freq, e.InstanceID, s.Name, StepRecord{At: e.Now().UTC(), Boot: e.BootID})
	if err := e.State.Save(e.Root, e.statePath("state.json")); err != nil {
		return fmt.Errorf("saving state: %w", err)
	}
	return nil
}

// data starts an event's data with what every event carries.
func (e *Env) data(step string) callback.Data {
	d := callback.Data{InstanceID: e.InstanceID, Boot: e.BootID, Step: step, SSHHostKeys: e.sshHostKeys()}
	if e.Plan != nil {
		d.Attempt = e.Plan.Attempt
	}
	return d
}

// writeStatus writes the status twice, redacted: in full for root
// (PrivateStatusPath, 0600), and without the scripts' own text for
// everyone (PublicStatusPath, 0644). While steps run it writes at most one
// progress update per StatusInterval (the latest, a timer writes it when
// the interval has passed); the end (ready or failed) is written at once,
// over any update still waiting.
func (e *Env) writeStatus(st *Status) {
	st.Updated = e.Now()
	full := st.redacted(e.Redact)
	w := &e.statusW
	w.mu.Lock()
	defer w.mu.Unlock()
	if st.Phase == PhaseRunning && e.StatusInterval > 0 {
		if wait := e.StatusInterval - time.Since(w.last); !w.last.IsZero() && wait > 0 {
			w.pending = full
			if w.timer == nil {
				w.timer = time.AfterFunc(wait, func() {
					w.mu.Lock()
					defer w.mu.Unlock()
					w.timer = nil
					if w.pending != nil {
						e.writeStatusNow(w.pending)
						w.pending = nil
					}
				})
			}
			return
		}
	}
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
	w.pending = nil
	e.writeStatusNow(full)
}

// statusWriter is writeStatus's record of its last write and of the update
// waiting for the interval to pass.
type statusWriter struct {
	mu      sync.Mutex
	last    time.Time
	pending *Status
	timer   *time.Timer
}

// writeStatusNow writes full (redacted) to both status files; the caller
// holds statusW.mu.
func (e *Env) writeStatusNow(full *Status) {
	e.statusW.last = time.Now()
	if err := full.write(e.Root, PrivateStatusName(e.StateDir), 0o600); err != nil {
		e.Log.Warn("cannot write status file", "err", err)
	}
	if err := full.public().writePublic(e.Root, e.StatusDir); err != nil {
		e.Log.Warn("cannot write status file", "err", err)
	}
}
