package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

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
	g := vm.GuestEnv{
		InstanceID: id, Hostname: guestHostname, User: guestUser,
		PublicKey:   strings.TrimSpace(string(ssh.MarshalAuthorizedKey(h.signer.PublicKey()))),
		CallbackURL: h.rec.GuestURL(), Script: script,
	}
	x, err := vm.EnvironmentXML(append(g.Properties(), vm.Property{Key: "app.greeting", Value: "hello world"}))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(h.dir, id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	iso, err := vm.BuildISO(dir, x)
	if err != nil {
		t.Fatalf("BuildISO: %v", err)
	}
	return iso
}

// bootToEnd starts a VM and returns it with its ready or failed event.
func (h *harness) bootToEnd(t *testing.T, iso string) (*vm.Machine, vm.Event) {
	t.Helper()
	h.rec.Reset()
	o := vm.Options{Assets: h.assets, ISO: iso, Disk: h.disk,
		SerialLog: filepath.Join(h.dir, strings.ReplaceAll(t.Name(), "/", "_")+".serial")}
	if os.Getenv("OVFINIT_E2E_CONSOLE") != "" {
		o.Console = t.Output()
	}
	m, err := vm.Boot(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("qemu command line:\n%s", m.CommandLine())
			t.Logf("serial console (last 60 lines):\n%s", m.Tail(60))
		}
		m.Kill()
	})
	ctx, cancel := context.WithTimeout(t.Context(), bootTimeout)
	defer cancel()
	ctx, stop := m.Context(ctx)
	defer stop()
	end, err := h.rec.Wait(ctx, vm.TypeReady, vm.TypeFailed)
	if err != nil {
		t.Fatalf("no ready or failed event within %v of qemu start: %v", bootTimeout, err)
	}
	return m, end
}

func TestScriptsVM(t *testing.T) {
	requireVM(t)
	h := &harness{dir: t.TempDir()}
	var err error
	if h.assets, err = vm.Prepare(t.Context(), h.dir); err != nil {
		t.Fatalf("preparing the VM: %v", err)
	}
	if h.rec, err = vm.NewRecorder(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.rec.Close() })
	h.disk = filepath.Join(h.dir, "state.img")
	if err := vm.NewDisk(h.disk); err != nil {
		t.Fatalf("NewDisk: %v", err)
	}
	h.signer = newSigner(t)

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
		ctx, cancel := context.WithTimeout(context.Background(), poweroffTimeout)
		defer cancel()
		if err := m.Poweroff(ctx); err != nil {
			t.Errorf("Poweroff: %v", err)
		}
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
