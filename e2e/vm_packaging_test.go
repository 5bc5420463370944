package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ovfinit/ovfinit/e2e/vm"
	"github.com/ovfinit/ovfinit/internal/debroot"
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
	dir := t.TempDir()
	agent, err := vm.Agent(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	tree := filepath.Join(dir, "tree")
	install := exec.CommandContext(ctx, agent, "install", "--root", tree, "--init", "sysv", "--bin", "/bin/ovfinit", "--", "--wait-env", "60s")
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", install.Args, err, out)
	}
	h := newHarness(t, setup{dir: dir, initramfs: vm.InitramfsOptions{Agent: agent, Tree: tree, Start: "/etc/init.d/ovfinit start"}})

	const id = "e2e-packaged-1"
	b := h.boot(t, h.iso(t, id), id)
	defer h.poweroff(t, b)
	checkSteps(t, b, stepStatuses("ok", "ok"))
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
	if !eventually(30*time.Second, func() bool { return strings.Contains(strings.Join(b.m.Serial(), "\n"), "ovfinit: ready (pid ") }) {
		t.Errorf("the console never showed the init script's \"ovfinit: ready\"")
	}
	t.Logf("TestPackagedBoot wall time %v", time.Since(start).Round(time.Millisecond))
}

// TestLiveInstallInDebianRoot runs `ovfinit install` and `uninstall` on a
// "running system" without --root: inside a chroot of the Debian root make
// prepare debootstraps (through an overlay). No systemd runs there, so
// kardianos/service picks SysV init: this checks that our own SysV script
// reaches /etc/init.d through kardianos' template engine unchanged, and that
// start/stop refuse clearly once it is gone. (A live systemd install cannot
// be tested without booting systemd.)
func TestLiveInstallInDebianRoot(t *testing.T) {
	dir := t.TempDir()
	merged := debroot.Overlay(t, dir)
	agent, err := vm.BuildAgent(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	// os.Executable needs /proc.
	if out, err := exec.Command("mount", "-t", "proc", "proc", filepath.Join(merged, "proc")).CombinedOutput(); err != nil {
		t.Fatalf("mounting /proc in the root: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", filepath.Join(merged, "proc")).Run() })
	data, _ := os.ReadFile(agent)
	os.WriteFile(filepath.Join(merged, "tmp/ovfinit"), data, 0o755)

	chroot := func(args ...string) (string, error) {
		out, err := exec.Command("chroot", append([]string{merged}, args...)...).CombinedOutput()
		return string(out), err
	}
	if out, err := chroot("/tmp/ovfinit", "install", "--", "--wait-env", "5m"); err != nil || !strings.Contains(out, "(sysv)") {
		t.Fatalf("ovfinit install in the chroot = %v, %q; want a SysV install", err, out)
	}
	if links, _ := filepath.Glob(filepath.Join(merged, "etc/rc2.d/S*ovfinit")); len(links) != 1 {
		t.Errorf("after install, rc2.d start links = %v, want one", links)
	}
	script, err := os.ReadFile(filepath.Join(merged, "etc/init.d/ovfinit"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# X-Start-Before:    ssh sshd", "BIN=/usr/local/sbin/ovfinit", `/usr/local/sbin/ovfinit run --wait-env 5m $OVFINIT_ARGS`, `status --wait --timeout 20m`} {
		if !strings.Contains(string(script), want) {
			t.Errorf("/etc/init.d/ovfinit written by kardianos lacks %q:\n%s", want, script)
		}
	}
	if out, err := chroot("/usr/local/sbin/ovfinit", "version"); err != nil || !strings.HasPrefix(out, "ovfinit ") {
		t.Errorf("the installed copy: %v, %q", err, out)
	}
	if out, err := chroot("/usr/local/sbin/ovfinit", "uninstall"); err != nil {
		t.Fatalf("ovfinit uninstall in the chroot: %v, %q", err, out)
	}
	links, _ := filepath.Glob(filepath.Join(merged, "etc/rc?.d/*ovfinit"))
	for _, gone := range append([]string{"etc/init.d/ovfinit", "usr/local/sbin/ovfinit"}, links...) {
		gone = strings.TrimPrefix(gone, merged+"/")
		if _, err := os.Lstat(filepath.Join(merged, gone)); err == nil {
			t.Errorf("after uninstall, /%s is still there", gone)
		}
	}
	if out, err := chroot("/tmp/ovfinit", "start"); err == nil || !strings.Contains(out, "not installed") {
		t.Errorf("ovfinit start after uninstall = %v, %q; want a 'not installed' error", err, out)
	}
}
