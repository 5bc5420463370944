package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ovfinit/ovfinit/agent"
	"github.com/ovfinit/ovfinit/ovfenv"
)

// nobody is the user the status test reads as.
const nobody = 65534

// TestStatusAsNobody (issue 18, item 5): after a real `ovfinit run` in a
// temporary root, `ovfinit status` run by an unprivileged user (uid and
// gid 65534, no supplementary groups) reads the world-readable status
// without error and exits with the status's code, --long prints the
// timeline and --json the steps with their start; the full status and the
// state directory stay out of that user's reach, and the script's own text
// (which holds a secret-looking word) is in none of what it sees.
func TestStatusAsNobody(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary: not with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: runs ovfinit as root, then `status` as uid 65534")
	}
	bin := buildOvfinit(t)
	ns := newNetNS(t) // the agent's SSH server listens there

	tests := []struct {
		name     string
		script   string
		wantCode int
		want     []string // in the plain output
	}{
		{"ready", `print("hello")`, exitOK, []string{"phase:    ready", "script"}},
		{"failed", `fail("db password s3cr3t-xyz wrong")`, exitFailed, []string{"phase:    failed", agent.HiddenMessage}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := worldTempDir(t)
			for name, data := range map[string]string{
				"etc/passwd": "root:x:0:0:root:/root:/bin/sh\n",
				"etc/group":  "root:x:0:\n",
			} {
				p := filepath.Join(root, name)
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			env := &ovfenv.Environment{Properties: []ovfenv.Property{
				{Key: "instance-id", Value: "i-" + tt.name},
				{Key: "ovfinit.ssh.port", Value: "2222"},
				{Key: "ovfinit.script", Value: base64.StdEncoding.EncodeToString([]byte(tt.script))},
			}}
			doc, err := env.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			envFile := filepath.Join(t.TempDir(), "ovf-env.xml")
			if err := os.WriteFile(envFile, doc, 0o600); err != nil {
				t.Fatal(err)
			}
			// The agent stays up as the SSH server once the pipeline is
			// done: wait for the outcome in the full status, then stop it.
			run, log := startBin(t, ns, bin, "run", "run", "--root", root, "--env", envFile, "--log-file", "")
			t.Cleanup(func() { run.Process.Kill(); run.Wait() })
			deadline := time.Now().Add(2 * time.Minute)
			for {
				st, err := agent.ReadStatus(agent.PrivateStatusPath(root, defaultStateDir))
				if err == nil && st.Phase != agent.PhaseRunning {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no outcome in the status after 2 minutes (%v); run's log:\n%s", err, readLog(log))
				}
				time.Sleep(50 * time.Millisecond)
			}
			run.Process.Signal(syscall.SIGTERM)
			run.Wait()

			// The user cannot read the state directory at all.
			if out, code, _ := asNobody(t, "cat", agent.PrivateStatusPath(root, defaultStateDir)); code == 0 {
				t.Fatalf("uid %d read the full status: %s", nobody, out)
			}
			out, code, stderr := asNobody(t, bin, "status", "--root", root)
			if code != tt.wantCode {
				t.Errorf("status as uid %d = exit %d, want %d\nstdout:\n%s\nstderr:\n%s", nobody, code, tt.wantCode, out, stderr)
			}
			if strings.Contains(stderr, "permission denied") {
				t.Errorf("status as uid %d: stderr %q", nobody, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("status as uid %d = %q, want it to contain %q", nobody, out, w)
				}
			}

			long, code, stderr := asNobody(t, bin, "status", "--root", root, "--long")
			if code != tt.wantCode || !strings.Contains(long, "OFFSET") || !strings.Contains(long, "slowest:") {
				t.Errorf("status --long as uid %d = exit %d,\n%s\n%s\nwant exit %d and the timeline", nobody, code, long, stderr, tt.wantCode)
			}
			js, code, stderr := asNobody(t, bin, "status", "--root", root, "--json")
			var st agent.Status
			if err := json.Unmarshal([]byte(js), &st); err != nil || code != tt.wantCode {
				t.Fatalf("status --json as uid %d = exit %d, %v\n%s\n%s", nobody, code, err, js, stderr)
			}
			names := []string{}
			for _, s := range st.Steps {
				names = append(names, s.Name)
				if s.Start.IsZero() || s.Start.Before(st.Started) {
					t.Errorf("status --json: step %s started %v, want a time from the boot's start %v on", s.Name, s.Start, st.Started)
				}
			}
			if !slices.Contains(names, agent.ScriptStep) {
				t.Errorf("status --json steps = %v, want %s among them", names, agent.ScriptStep)
			}
			for what, text := range map[string]string{"plain": out, "--long": long, "--json": js} {
				if strings.Contains(text, "s3cr3t") {
					t.Errorf("status %s as uid %d shows the script's text:\n%s", what, nobody, text)
				}
			}
			t.Logf("status --long as uid %d:\n%s", nobody, long)

			// After a reboot /run is empty until the agent runs again.
			if err := os.RemoveAll(filepath.Join(root, agent.DefaultStatusDir)); err != nil {
				t.Fatal(err)
			}
			_, code, stderr = asNobody(t, bin, "status", "--root", root)
			if code != exitNoStatus || !strings.Contains(stderr, "not run in this boot yet") {
				t.Errorf("status as uid %d without the public copy = exit %d, %q; want exit %d and 'not run in this boot yet'", nobody, code, stderr, exitNoStatus)
			}
		})
	}
}

// worldTempDir returns a new temporary directory that every user may
// enter (t.TempDir and its parent are 0700).
func worldTempDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	for _, p := range []string{filepath.Dir(d), d} {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// asNobody runs a program as uid/gid 65534 without supplementary groups,
// the test binary's directories made enterable for it.
func asNobody(t *testing.T, name string, args ...string) (stdout string, code int, stderr string) {
	t.Helper()
	if filepath.IsAbs(name) {
		for d := filepath.Dir(name); d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	cmd := exec.CommandContext(t.Context(), name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody, Groups: []uint32{}}}
	cmd.Dir = "/"
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("%s: %v", name, err)
	}
	return o.String(), code, e.String()
}
