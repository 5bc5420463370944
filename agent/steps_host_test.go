package agent

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovfinit/ovfinit/callback"
	"github.com/ovfinit/ovfinit/ovfenv"
)

// A host name that needs a restart (a Windows computer name) does not stop
// the boot: the step, ready and the status say the reboot is pending. A
// restart of the agent before the machine's (the running name is still
// the old one) neither sets the name again nor forgets to say it is
// pending; the boot after the machine's restart (the running name is the
// new one) redoes no per-instance step and says nothing is pending
// (issue 17).
func TestHostnameRebootPending(t *testing.T) {
	m := newMachine(t)
	calls := 0
	boot := func(running string) (*Env, *fakeEvents) {
		e, ev := m.env(envXML("instance-id", "i-1", "hostname", "win1.example.com"))
		e.OS = "windows"
		e.SetHostname = func(_ context.Context, fqdn, short string) (bool, error) {
			calls++
			if fqdn != "win1.example.com" || short != "win1" {
				t.Errorf("SetHostname(%q, %q), want win1.example.com, win1", fqdn, short)
			}
			return true, nil
		}
		e.RunningHostname = func() (string, error) { return running, nil }
		if err := Run(context.Background(), e, Steps()); err != nil {
			t.Fatalf("Run() = %v, want ready", err)
		}
		return e, ev
	}
	messages := func(ev *fakeEvents) (hostnameStep, ready string) {
		for _, r := range ev.events {
			if r.Type == callback.TypeStepFinished && r.Data.Step == "hostname" {
				hostnameStep = r.Data.Message
			}
			if r.Type == callback.TypeReady {
				ready = r.Data.Message
			}
		}
		return
	}
	status := func(e *Env) *Status {
		t.Helper()
		b, err := os.ReadFile(PublicStatusPath(e.Root, e.StatusDir))
		if err != nil {
			t.Fatal(err)
		}
		var st Status
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatal(err)
		}
		return &st
	}

	e, ev := boot("WIN-OLD")
	finished, ready := messages(ev)
	if !strings.Contains(finished, "reboot pending") || !strings.Contains(ready, "reboot pending") {
		t.Errorf("first boot: hostname finished = %q, ready = %q; want both to say the reboot is pending", finished, ready)
	}
	if st := status(e); st.Phase != PhaseReady || !strings.Contains(st.Message, "reboot pending") {
		t.Errorf("first boot: status = %s %q, want ready saying the reboot is pending", st.Phase, st.Message)
	}
	if _, err := os.Stat(filepath.Join(m.root, "etc", "hostname")); err == nil {
		t.Error("etc/hostname written for Windows, which keeps the name in its registry")
	}

	// The agent restarts; the machine has not.
	e, ev = boot("WIN-OLD")
	if _, ready := messages(ev); !strings.Contains(ready, "reboot pending") {
		t.Errorf("agent restarted before the machine: ready = %q, want it to still say the reboot is pending", ready)
	}
	if st := status(e); !strings.Contains(st.Message, "reboot pending") {
		t.Errorf("agent restarted before the machine: status message = %q, want the reboot pending", st.Message)
	}

	// The machine has restarted: the new name is the running one.
	e, ev = boot("WIN1")
	if _, ready := messages(ev); ready != "" {
		t.Errorf("after the restart: ready message = %q, want none (nothing pending)", ready)
	}
	st := status(e)
	if st.Message != "" {
		t.Errorf("after the restart: status message = %q, want none", st.Message)
	}
	for _, s := range st.Steps {
		if s.Frequency == PerInstance.String() && s.Status != callback.StatusSkipped {
			t.Errorf("after the restart: per-instance step %s is %s, want skipped (already ran for i-1)", s.Name, s.Status)
		}
	}
	if calls != 1 {
		t.Errorf("SetHostname called %d times over three runs of one instance, want 1", calls)
	}
}

// A name Windows cannot take fails the step naming the property.
func TestHostnameNetBIOSRefused(t *testing.T) {
	m := newMachine(t)
	e, _ := m.env(envXML("instance-id", "i-1", "hostname", "averyveryverylongname.example.com"))
	e.OS = "windows"
	e.SetHostname = func(context.Context, string, string) (bool, error) {
		t.Error("SetHostname called for a name Windows refuses")
		return false, nil
	}
	err := Run(context.Background(), e, Steps())
	if err == nil || !strings.Contains(err.Error(), ovfenv.KeyHostname.Name) || !strings.Contains(err.Error(), "15") {
		t.Errorf("Run() = %v, want an error naming %s and the 15-character limit", err, ovfenv.KeyHostname.Name)
	}
}
