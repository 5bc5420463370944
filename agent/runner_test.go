package agent

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ovfinit/ovfinit/callback"
)

// TestStepResults: the runner derives a step's status line and its
// step.finished event from the step's return, once: a noted Result is ok
// with its note, a skipped one is "skipped" and not recorded as run (it
// runs again next boot), an error is "failed" with its text.
func TestStepResults(t *testing.T) {
	m := newMachine(t)
	runs := map[string]int{}
	steps := func(fail bool) []Step {
		st := append([]Step{}, Steps()[:4]...) // find, parse, identity, validate
		st = append(st,
			Step{Name: "noted", Freq: PerInstance, Run: func(context.Context, *Env) (Result, error) {
				runs["noted"]++
				return noted("%d things done", 3), nil
			}},
			Step{Name: "quiet", Freq: PerBoot, Run: func(context.Context, *Env) (Result, error) {
				runs["quiet"]++
				return Result{}, nil
			}},
			Step{Name: "nothing", Freq: PerInstance, Run: func(context.Context, *Env) (Result, error) {
				runs["nothing"]++
				return skipped("no %s here", "thing"), nil
			}},
			// Known idle before it starts: never run, not started.
			Step{Name: "idle", Freq: PerInstance, Idle: func(*Env) string { return "no work today" }, Run: func(context.Context, *Env) (Result, error) {
				runs["idle"]++
				return Result{}, nil
			}},
			// Idle says it has work: it runs.
			Step{Name: "busy", Freq: PerBoot, Idle: func(*Env) string { return "" }, Run: func(context.Context, *Env) (Result, error) {
				runs["busy"]++
				return Result{}, nil
			}},
		)
		if fail {
			st = append(st, Step{Name: "broken", Freq: PerBoot, Run: func(context.Context, *Env) (Result, error) {
				return noted("ignored"), errors.New("disk on fire")
			}})
		}
		return st
	}
	type line struct{ Name, Status, Message string }
	finished := func(ev *fakeEvents) []line {
		var out []line
		for _, r := range ev.events {
			if r.Type == callback.TypeStepFinished && len(out) < 16 {
				switch r.Data.Step {
				case "noted", "quiet", "nothing", "idle", "busy", "broken":
					out = append(out, line{r.Data.Step, r.Data.Status, r.Data.Message})
				}
			}
		}
		return out
	}
	statusLines := func() []line {
		st, err := LoadStatus(m.root, "/var/lib/ovfinit", "")
		if err != nil {
			t.Fatalf("LoadStatus() = %v", err)
		}
		var out []line
		for _, s := range st.Steps {
			switch s.Name {
			case "noted", "quiet", "nothing", "idle", "busy", "broken":
				out = append(out, line{s.Name, s.Status, s.Message})
			}
		}
		return out
	}

	e, ev := m.env(envXML("instance-id", "i-1"))
	if err := Run(context.Background(), e, steps(false)); err != nil {
		t.Fatalf("Run() = %v", err)
	}
	want := []line{
		{"noted", callback.StatusOK, "3 things done"},
		{"quiet", callback.StatusOK, ""},
		{"nothing", callback.StatusSkipped, "no thing here"},
		{"idle", callback.StatusSkipped, "no work today"},
		{"busy", callback.StatusOK, ""},
	}
	if diff := cmp.Diff(want, finished(ev)); diff != "" {
		t.Errorf("first boot step.finished events (-want +got):\n%s", diff)
	}
	var startedSteps []string
	for _, r := range ev.events {
		if r.Type == callback.TypeStepStarted {
			startedSteps = append(startedSteps, r.Data.Step)
		}
	}
	if contains(startedSteps, "idle") || !contains(startedSteps, "busy") || !contains(startedSteps, "nothing") {
		t.Errorf("step.started for %v: want one for busy and nothing (which skips once started), none for idle", startedSteps)
	}
	if diff := cmp.Diff(want, statusLines()); diff != "" {
		t.Errorf("first boot status lines (-want +got):\n%s", diff)
	}

	// Second boot, same instance: the noted step already ran, the skipped
	// one was not recorded and runs again; then a failure.
	e, ev = m.env(envXML("instance-id", "i-1"))
	err := Run(context.Background(), e, steps(true))
	if err == nil {
		t.Fatal("Run() with a failing step = nil, want its error")
	}
	if diff := cmp.Diff(map[string]int{"noted": 1, "quiet": 2, "nothing": 2, "busy": 2}, runs); diff != "" {
		t.Errorf("runs per step (-want +got):\n%s", diff)
	}
	got := finished(ev)
	if len(got) != 6 || got[0].Status != callback.StatusSkipped || got[1] != want[1] || got[2] != want[2] || got[3] != want[3] || got[4] != want[4] ||
		got[5] != (line{"broken", callback.StatusFailed, "disk on fire"}) {
		t.Errorf("second boot step.finished events = %+v, want noted skipped (already ran), quiet ok, nothing and idle skipped, busy ok, broken failed", got)
	}
}

// TestStatusCoalesced: with a StatusInterval the progress writes of the
// status file are coalesced (a step that reads it finds an earlier state
// while the interval has not passed), the latest state still arrives once
// it has, and the end of the boot is written at once over any update
// still waiting.
func TestStatusCoalesced(t *testing.T) {
	stepNow := func(m *machine) string {
		st, err := LoadStatus(m.root, "/var/lib/ovfinit", "")
		if err != nil {
			t.Fatalf("LoadStatus() = %v", err)
		}
		return st.Step
	}
	run := func(interval, wait time.Duration) (seen string, m *machine) {
		m = newMachine(t)
		e, _ := m.env(envXML("instance-id", "i-1"))
		e.StatusInterval = interval
		st := append([]Step{}, Steps()[:4]...) // find, parse, identity, validate
		st = append(st, Step{Name: "look", Freq: PerBoot, Run: func(context.Context, *Env) (Result, error) {
			time.Sleep(wait)
			seen = stepNow(m)
			return Result{}, nil
		}})
		if err := Run(context.Background(), e, st); err != nil {
			t.Fatalf("Run() = %v", err)
		}
		return seen, m
	}
	seen, m := run(time.Hour, 0)
	if seen == "look" {
		t.Errorf("with an hour's interval the step found itself in the status file: not coalesced")
	}
	end, err := LoadStatus(m.root, "/var/lib/ovfinit", "")
	if err != nil || end.Phase != PhaseReady || len(end.Steps) != 5 {
		t.Fatalf("status after Run = %+v, %v; want ready with 5 steps", end, err)
	}
	if seen, _ := run(20*time.Millisecond, 500*time.Millisecond); seen != "look" {
		t.Errorf("the status file says step %q once the interval passed, want the running step \"look\"", seen)
	}
}
