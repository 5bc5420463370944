package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
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
			result := "fatal"
			if retry {
				result = "retry"
			}
			d := e.data(s.Name)
			d.Status, d.Message, d.Result, d.Retry = "failed", err.Error(), result, &retry
			d.DurationMS = e.Now().Sub(start).Milliseconds()
			e.Events.Emit(callback.TypeFailed, d)
			e.Log.Error("boot failed", "step", s.Name, "err", err, "retry", retry)
			return fmt.Errorf("step %s: %w", s.Name, err)
		}
	}
	st.Phase, st.Step, st.SSHHostKeys = PhaseReady, "", e.hostKeys()
	st.InstanceID = e.InstanceID
	e.writeStatus(st)
	d := e.data("")
	d.Result, d.Percent = "ready", 100
	d.DurationMS = e.Now().Sub(start).Milliseconds()
	d.Hostname = hostnameOf(e)
	if e.RebootPending {
		d.Message = "reboot pending: a change (the host name) takes effect at the next restart"
	}
	d.Addresses = addresses(e)
	if e.Plan != nil {
		d.SSHPort = e.Plan.SSHPort
	}
	e.Events.Emit(callback.TypeReady, d)
	e.sshReady() // background work that must not delay ready may start
	e.Log.Info("ready", "instance", e.InstanceID, "duration", time.Duration(d.DurationMS)*time.Millisecond)
	return nil
}

func (e *Env) runStep(ctx context.Context, s Step, st *Status, startPct, endPct int) error {
	if s.Freq != PerBoot {
		if e.State == nil {
			return fmt.Errorf("internal error: %s step %q runs before the instance is known", s.Freq, s.Name)
		}
		if r, done := e.State.Done(s.Freq, e.InstanceID, s.Name); done {
			msg := fmt.Sprintf("already ran for instance %s (boot %s at %s)", e.InstanceID, r.Boot, r.At.Format(time.RFC3339))
			e.Log.Info("step skipped", "step", s.Name, "frequency", s.Freq.String(), "reason", msg)
			st.Steps = append(st.Steps, StepStatus{Name: s.Name, Frequency: s.Freq.String(), Status: "skipped", Start: e.Now(), Message: msg})
			d := e.data(s.Name)
			d.Status, d.Message, d.Percent = "skipped", msg, endPct
			e.Events.Emit(callback.TypeStepFinished, d)
			return nil
		}
	}

	e.Log.Info("step started", "step", s.Name, "frequency", s.Freq.String())
	st.Step = s.Name
	t0 := e.Now()
	st.Steps = append(st.Steps, StepStatus{Name: s.Name, Frequency: s.Freq.String(), Status: "running", Start: t0})
	cur := &st.Steps[len(st.Steps)-1]
	e.writeStatus(st)
	d := e.data(s.Name)
	d.Status, d.Percent = "started", startPct
	e.Events.Emit(callback.TypeStepStarted, d)

	e.stepNote = ""
	err := s.Run(ctx, e)
	dur := e.Now().Sub(t0)
	st.InstanceID = e.InstanceID
	cur.DurationMS = dur.Milliseconds()
	d = e.data(s.Name)
	d.DurationMS, d.Percent = dur.Milliseconds(), endPct

	var sk *skipError
	switch {
	case errors.As(err, &sk):
		cur.Status, cur.Message = "skipped", sk.reason
		d.Status, d.Message = "skipped", sk.reason
		e.Log.Info("step skipped", "step", s.Name, "reason", sk.reason)
	case err != nil:
		cur.Status, cur.Message = "failed", err.Error()
		d.Status, d.Message = "failed", err.Error()
		e.Events.Emit(callback.TypeStepFinished, d)
		e.Log.Error("step failed", "step", s.Name, "duration", dur, "err", err)
		return err
	default:
		cur.Status = "ok"
		d.Status = "ok"
		cur.Message, d.Message = e.stepNote, e.stepNote
		e.Log.Info("step finished", "step", s.Name, "duration", dur)
		if s.Freq != PerBoot {
			e.State.Record(s.Freq, e.InstanceID, s.Name, StepRecord{At: e.Now().UTC(), Boot: e.BootID})
			if err := e.State.Save(e.Root, e.statePath("state.json")); err != nil {
				return fmt.Errorf("saving state: %w", err)
			}
		}
	}
	e.Events.Emit(callback.TypeStepFinished, d)
	e.writeStatus(st)
	return nil
}

// data starts an event's data with what every event carries.
func (e *Env) data(step string) callback.Data {
	d := callback.Data{InstanceID: e.InstanceID, Boot: e.BootID, Step: step, SSHHostKeys: e.hostKeys()}
	if e.Plan != nil {
		d.Attempt = e.Plan.Attempt
	}
	return d
}

func (e *Env) hostKeys() []callback.HostKey { return e.sshHostKeys() }

// writeStatus writes the status twice, redacted: in full for root
// (PrivateStatusPath, 0600), and without the scripts' own text for
// everyone (PublicStatusPath, 0644).
func (e *Env) writeStatus(st *Status) {
	st.Updated = e.Now()
	full := st.redacted(e.Redact)
	if err := full.write(e.Root, PrivateStatusName(e.StateDir), 0o600); err != nil {
		e.Log.Warn("cannot write status file", "err", err)
	}
	if err := full.public().writePublic(e.Root, e.StatusDir); err != nil {
		e.Log.Warn("cannot write status file", "err", err)
	}
}
