package e2e

import (
	"strings"
	"testing"

	"github.com/ovfinit/ovfinit/e2e/vm"
)

// The good script writes a file from a property and reports progress; the
// broken one fails at line 3, which the manager must see.
const (
	goodScript = `# frequency: per-instance
greeting = ovf.property("app.greeting")
progress(40, "writing the greeting")
answer = exec.run(["/bin/sh", "-c", "echo $((6 * 7))"]).stdout.strip()
file.write("/etc/ovfinit-e2e-greeting", "%s from %s, answer %s\n" % (greeting, ovf.platform.kind, answer), mode = 0o640, owner = "ovfuser")
progress(100, "greeting written")
`
	brokenScript = `x = 1
log.info("about to break")
y = x // 0
`
)

// scriptISO writes an environment with a script and an extra property.
func (h *harness) scriptISO(t *testing.T, id, script string) string {
	t.Helper()
	g := h.env(id)
	g.Script = script
	return h.isoOf(t, id, append(g.Properties(), vm.Property{Key: "app.greeting", Value: "hello world"}))
}

func TestScriptsVM(t *testing.T) {
	requireVM(t)
	h := newHarness(t, setup{})

	if !t.Run("property to file with progress", func(t *testing.T) {
		m, end := h.bootToEnd(t, h.scriptISO(t, "e2e-script-1", goodScript))
		if end.Type != vm.TypeReady {
			t.Fatalf("agent reported %s, want ready: %s", end.Type, end.Raw)
		}
		var progress []string
		for _, e := range h.rec.Events() {
			if e.Type == vm.TypeProgress {
				progress = append(progress, e.Data.Step+": "+e.Data.Message)
			}
		}
		want := []string{"script: 40% writing the greeting", "script: 100% greeting written"}
		if strings.Join(progress, "\n") != strings.Join(want, "\n") {
			t.Errorf("progress events the host saw = %q, want %q", progress, want)
		}
		client, _ := h.dial(t, m, h.signer)
		defer client.Close()
		out, err := runSSH(client, "cat /etc/ovfinit-e2e-greeting; stat -c %a /etc/ovfinit-e2e-greeting")
		if want := "hello world from qemu, answer 42\n640\n"; err != nil || out != want {
			t.Errorf("greeting file and mode = %q (%v), want %q", out, err, want)
		}
		poweroff(t, m)
	}) {
		t.FailNow()
	}

	t.Run("broken script fails the boot with its line", func(t *testing.T) {
		_, end := h.bootToEnd(t, h.scriptISO(t, "e2e-script-2", brokenScript))
		if end.Type != vm.TypeFailed {
			t.Fatalf("agent reported %s, want failed: %s", end.Type, end.Raw)
		}
		if end.Data.Step != "script" {
			t.Errorf("failed event step = %q, want script", end.Data.Step)
		}
		for _, w := range []string{"ovfinit.script:3:7: floored division by zero", "Traceback"} {
			if !strings.Contains(end.Data.Message, w) {
				t.Errorf("failed event message = %q, want it to contain %q", end.Data.Message, w)
			}
		}
		if end.Data.Retry {
			t.Errorf("failed event retry = true, want false for a script error")
		}
	})
}
