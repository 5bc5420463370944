package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ovfinit/ovfinit/e2e/vm"
)

// TestPackagedBoot boots the agent the way a packaged image starts it. The
// guest is a busybox initramfs, not systemd, so the honest equivalent is:
// the image build step runs `ovfinit install --root TREE --init sysv` (the
// agent installing itself into an image tree, as docs/image-builders.md
// says), the tree goes into the initramfs, and /init runs the generated
// /etc/init.d/ovfinit start, which forks `ovfinit run` with the service's
// flags and returns once `ovfinit status --wait` says ready. The systemd
// unit itself is checked by systemd-analyze verify (packaging tests).
func TestPackagedBoot(t *testing.T) {
	requireVM(t)
	ctx := t.Context()
	start := time.Now()
	h := &harness{dir: t.TempDir()}
	k, err := vm.FindKernel()
	if err != nil {
		t.Fatal(err)
	}
	agent := os.Getenv("OVFINIT_E2E_AGENT")
	if agent == "" {
		if agent, err = vm.BuildAgent(ctx, h.dir); err != nil {
			t.Fatal(err)
		}
	}
	tree := filepath.Join(h.dir, "tree")
	install := exec.CommandContext(ctx, agent, "install", "--root", tree, "--init", "sysv", "--bin", "/bin/ovfinit", "--", "--wait-env", "60s")
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", install.Args, err, out)
	}
	initrd := filepath.Join(h.dir, "initramfs.cpio.gz")
	if err := vm.BuildInitramfs(ctx, initrd, vm.InitramfsOptions{Kernel: k, Agent: agent, Tree: tree, Start: "/etc/init.d/ovfinit start"}); err != nil {
		t.Fatal(err)
	}
	h.assets = &vm.Assets{Kernel: k, Agent: agent, Initramfs: initrd}
	if h.rec, err = vm.NewRecorder(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.rec.Close() })
	h.disk = filepath.Join(h.dir, "state.img")
	if err := vm.NewDisk(h.disk); err != nil {
		t.Fatalf("NewDisk: %v", err)
	}
	h.signer = newSigner(t)

	const id = "e2e-packaged-1"
	b := h.boot(t, h.iso(t, id), id)
	defer h.poweroff(t, b)
	want := map[string]string{}
	for _, s := range append(append([]string{}, perBootSteps...), perInstanceSteps...) {
		want[s] = "ok"
	}
	checkSteps(t, b, want)
	client, hostKey := h.dial(t, b.m, h.signer)
	defer client.Close()
	checkHostKey(t, b.ready, hostKey)
	checkGuest(t, client, id)

	// The agent runs with the command line from the init script.
	out, err := runSSH(client, `tr '\0' ' ' </proc/$(cat /run/ovfinit.pid)/cmdline`)
	if err != nil || strings.TrimSpace(out) != "/bin/ovfinit run --wait-env 60s" {
		t.Errorf("the agent's command line = %q (%v), want /bin/ovfinit run --wait-env 60s (the service's)", out, err)
	}
	// The log directory is there and closed to the user (so the file in it,
	// 0640, cannot be checked from here; cmd/ovfinit tests check it).
	out, err = runSSH(client, "ls -ldn /var/log/ovfinit")
	if f := strings.Fields(out); err != nil || len(f) < 4 || f[0] != "drwxr-x---" || f[2] != "0" {
		t.Errorf("ls -ldn /var/log/ovfinit = %q (%v), want drwxr-x--- owned by uid 0", out, err)
	}
	// The init script returned only once the agent was ready.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(strings.Join(b.m.Serial(), "\n"), "ovfinit: ready (pid ") {
		if time.Now().After(deadline) {
			t.Errorf("the console never showed the init script's \"ovfinit: ready\"")
			break
		}
		time.Sleep(time.Second)
	}
	t.Logf("TestPackagedBoot wall time %v", time.Since(start).Round(time.Millisecond))
}
