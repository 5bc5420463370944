package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ovfinit/ovfinit/agent"
)

// execute runs the CLI with args and returns its output and exit code, as
// main would exit.
func execute(t *testing.T, args ...string) (string, int) {
	t.Helper()
	var out bytes.Buffer
	root := newRoot()
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&out)
	_, err := root.ExecuteC()
	var ee *exitError
	switch {
	case err == nil:
		return out.String(), exitOK
	case errors.As(err, &ee):
		if ee.err != nil {
			out.WriteString(ee.err.Error())
		}
		return out.String(), ee.code
	default:
		return out.String() + err.Error(), exitUsage
	}
}

func writeStatus(t *testing.T, root, phase string) {
	t.Helper()
	retry := false
	st := &agent.Status{Phase: phase, InstanceID: "i-1", Boot: "b1", Started: time.Now(), Steps: []agent.StepStatus{{Name: "hostname", Frequency: "per-instance", Status: "ok"}}}
	if phase == agent.PhaseFailed {
		st.Step, st.Message, st.Retry = "validate", "property ovfinit.net.mac: no network interface has this MAC address", &retry
	}
	if err := st.Write(root, ""); err != nil {
		t.Fatal(err)
	}
}

func TestStatusExitCodes(t *testing.T) {
	tests := []struct {
		phase    string // "" means no status file
		args     []string
		wantCode int
		wantOut  string
	}{
		{"", nil, exitNoStatus, "has not run here"},
		{agent.PhaseReady, nil, exitOK, "phase:    ready"},
		{agent.PhaseFailed, nil, exitFailed, "no network interface has this MAC"},
		{agent.PhaseRunning, nil, exitRunning, "phase:    running"},
		{agent.PhaseRunning, []string{"--wait", "--timeout", "300ms"}, exitRunning, "phase:    running"},
		{agent.PhaseReady, []string{"--wait"}, exitOK, "hostname"},
		{"", []string{"--wait", "--timeout", "300ms"}, exitRunning, "no status"},
	}
	for _, tt := range tests {
		t.Run(tt.phase+strings.Join(tt.args, " "), func(t *testing.T) {
			root := t.TempDir()
			if tt.phase != "" {
				writeStatus(t, root, tt.phase)
			}
			out, code := execute(t, append([]string{"status", "--root", root}, tt.args...)...)
			if code != tt.wantCode || !strings.Contains(out, tt.wantOut) {
				t.Errorf("status %v = exit %d, output %q; want exit %d and %q", tt.args, code, out, tt.wantCode, tt.wantOut)
			}
		})
	}
}

// TestStatusShowsScriptMessageToRoot (issue 13, defect 9): the
// world-readable status.json holds no script text; `ovfinit status` shows
// it from the root-only copy when it can read it, and says it is hidden
// when it cannot.
func TestStatusShowsScriptMessageToRoot(t *testing.T) {
	root := t.TempDir()
	retry := false
	st := &agent.Status{Phase: agent.PhaseFailed, InstanceID: "i-1", Boot: "b1", Started: time.Now(),
		Step: agent.ScriptStep, Message: "ovfinit.script:3:5: fail: database [redacted] unreachable", Retry: &retry,
		Steps: []agent.StepStatus{{Name: agent.ScriptStep, Frequency: "per-boot", Status: "failed", Message: "ovfinit.script:3:5: fail: database [redacted] unreachable"}}}
	pub := *st
	pub.Message = agent.HiddenMessage
	pub.Steps = []agent.StepStatus{{Name: agent.ScriptStep, Frequency: "per-boot", Status: "failed", Message: agent.HiddenMessage}}
	if err := pub.Write(root, ""); err != nil {
		t.Fatal(err)
	}
	out, code := execute(t, "status", "--root", root)
	if code != exitFailed || !strings.Contains(out, "root only") {
		t.Errorf("status without the private copy = exit %d, %q; want exit 1 and the hidden-message note", code, out)
	}
	b, _ := json.Marshal(st)
	os.MkdirAll(filepath.Dir(agent.PrivateStatusPath(root, defaultStateDir)), 0o700)
	if err := os.WriteFile(agent.PrivateStatusPath(root, defaultStateDir), b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, code = execute(t, "status", "--root", root)
	if code != exitFailed || !strings.Contains(out, "failed:   script: ovfinit.script:3:5: fail: database [redacted] unreachable") {
		t.Errorf("status with the private copy = exit %d, %q; want exit 1 and the script's message", code, out)
	}
}

func TestStatusJSON(t *testing.T) {
	root := t.TempDir()
	writeStatus(t, root, agent.PhaseFailed)
	out, code := execute(t, "status", "--root", root, "--json")
	var st agent.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil || code != exitFailed || st.Retry == nil || *st.Retry {
		t.Errorf("status --json = exit %d, %q (%v); want exit 1 and JSON with retry=false", code, out, err)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"bogus"}, {"status", "--nope"}, {"run", "extra-arg"}, {"run", "--log-level", "loud"}} {
		if out, code := execute(t, args...); code != exitUsage {
			t.Errorf("ovfinit %v = exit %d (%q), want %d", args, code, out, exitUsage)
		}
	}
}

func TestRunBadEnvFile(t *testing.T) {
	root := t.TempDir()
	env := filepath.Join(root, "ovf-env.xml")
	os.WriteFile(env, []byte(`<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1"><PropertySection>`), 0o600)
	out, code := execute(t, "run", "--root", root, "--env", env, "--log-level", "error")
	if code != exitFailed || !strings.Contains(out, "parse-environment") {
		t.Errorf("run with a truncated --env = exit %d, %q; want exit 1 naming parse-environment", code, out)
	}
	// The status file tells the same story, for `ovfinit status`.
	if _, code := execute(t, "status", "--root", root); code != exitFailed {
		t.Errorf("status after a failed run = exit %d, want %d", code, exitFailed)
	}
	if _, code := execute(t, "run", "--root", root, "--env", filepath.Join(root, "missing.xml")); code != exitFailed {
		t.Errorf("run with a missing --env = exit %d, want %d", code, exitFailed)
	}
}

func TestVersion(t *testing.T) {
	out, code := execute(t, "version")
	if code != 0 || !strings.HasPrefix(out, "ovfinit dev (commit unknown, go") {
		t.Errorf("version = %d, %q", code, out)
	}
}
