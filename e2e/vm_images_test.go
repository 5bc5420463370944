package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ovfinit/ovfinit/e2e/vm"
)

// imageBootTimeout is qemu start to ready for a systemd image under TCG:
// the image's own boot takes most of it (3 min on a loaded 2-core host,
// more than 6 min at a load of 20).
const imageBootTimeout = 10 * time.Minute

// TestDebianImage boots real Debian 12 and 13 images (debootstrapped by
// prepare.sh: systemd, udev, OpenSSH, ifupdown with the release's DHCP
// client) with the .deb from this tree installed by dpkg, as
// docs/image-builders.md says, one boot sequence per release:
//
//  1. a first boot: ready, a key login as the environment's user to the
//     image's OpenSSH (ovfinit.ssh.server=auto) with the host key ready
//     reported, no failed unit and is-system-running = running, ovfinit's
//     log lines and the fingerprint block on the serial console, each log
//     line once in the journal;
//  2. a reboot of the same instance: the per-instance steps are skipped,
//     the host key is the same;
//  3. a new instance id on the same disk: everything runs again and the
//     host key is new;
//  4. a bad host name: the failed event reaches the manager.
//
// TestDebianImageFailed boots the failures on a fresh disk.
func TestDebianImage(t *testing.T) {
	requireVM(t)
	for _, suite := range []string{"bookworm", "trixie"} {
		t.Run(suite, func(t *testing.T) { testDebianImage(t, suite) })
	}
}

func testDebianImage(t *testing.T, suite string) {
	tree, err := vm.ImageTree(suite)
	if err != nil {
		if os.Getenv("OVFINIT_E2E") == "require" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	if os.Geteuid() != 0 {
		t.Skip("making the image disk needs root (overlay mount, chroot dpkg)")
	}
	start := time.Now()
	h := newImageHarness(t, tree)
	t.Logf("%s: agent, .deb, disk and initramfs made in %v", suite, time.Since(start).Round(time.Millisecond))

	// 1. First boot.
	const id1 = "e2e-image-1"
	b := h.imageBoot(t, h.imageISO(t, id1), id1)
	checkSteps(t, b, stepStatuses("ok", "ok"))
	client, hostKey := h.dial(t, b.m, h.signer)
	fp1 := checkHostKey(t, b.ready, hostKey)
	checkGuest(t, client, id1)
	checkSystem(t, client)
	// The journal has each line once (the user is in systemd-journal).
	const line = "the image's OpenSSH serves SSH"
	if out := mustSSH(t, client, "journalctl -b -u ovfinit -o cat --no-pager"); strings.Count(out, line) != 1 {
		t.Errorf("journal of ovfinit has %q %d times, want once:\n%s", line, strings.Count(out, line), out)
	}
	logUnitTime(t, client)
	client.Close()
	// The block comes once the RSA key, made after ready, is done.
	for _, want := range []string{`msg="` + line, "-----BEGIN SSH HOST KEY FINGERPRINTS-----", fp1, "-----END SSH HOST KEY FINGERPRINTS-----"} {
		if !eventually(2*time.Minute, func() bool { return strings.Contains(strings.Join(b.m.Serial(), "\n"), want) }) {
			t.Errorf("the serial console lacks %q", want)
		}
	}
	h.shutdown(t, b.m)

	// 2. Reboot of the same instance.
	b = h.imageBoot(t, h.imageISO(t, id1), id1)
	checkSteps(t, b, stepStatuses("ok", "skipped"))
	client, hostKey = h.dial(t, b.m, h.signer)
	if fp := checkHostKey(t, b.ready, hostKey); fp != fp1 {
		t.Errorf("after a reboot of the same instance the host key is %s, want the first boot's %s", fp, fp1)
	}
	checkGuest(t, client, id1)
	checkSystem(t, client)
	client.Close()
	h.shutdown(t, b.m)

	// 3. A new instance id: a new host key, everything again.
	const id2 = "e2e-image-2"
	b = h.imageBoot(t, h.imageISO(t, id2), id2)
	checkSteps(t, b, stepStatuses("ok", "ok"))
	client, hostKey = h.dial(t, b.m, h.signer)
	if fp := checkHostKey(t, b.ready, hostKey); fp == fp1 {
		t.Errorf("a new instance kept the old instance's host key %s", fp)
	}
	checkGuest(t, client, id2)
	checkSystem(t, client)
	client.Close()
	h.shutdown(t, b.m)

	// 4. A bad host name: refused before anything is applied, and the
	// failed event still reaches the manager (fail-safe DHCP on the NIC).
	bad := h.env("e2e-image-bad").Properties()
	for i := range bad {
		if bad[i].Key == "hostname" {
			bad[i].Value = "bad_host!"
		}
	}
	m, end := h.bootToEnd(t, h.isoOf(t, "bad", bad), h.imageOptions)
	if end.Type != vm.TypeFailed || !strings.Contains(string(end.Raw), "hostname") {
		t.Errorf("bad host name: the manager got %s %s, want a failed event naming hostname", end.Type, end.Raw)
	}
	h.shutdown(t, m)
	t.Logf("%s: wall time %v", suite, time.Since(start).Round(time.Millisecond))
}

// TestDebianImageFailed boots the Debian 12 image, a fresh disk with the
// image builder's key for root baked in (no host keys, no users: an image
// sealed for capture), with bad environments. Each must reach the manager
// as a failed event, apply nothing of the environment (no user, the
// image's host name), and leave the machine reachable for diagnosis and
// not degraded: the image's OpenSSH starts with the instance's host keys
// (ovfinit wrote them: the image has none) and lets root in with the
// builder's key, no unit failed.
//
//  1. a truncated ovf-env.xml, cut after its callback URL;
//  2. a bad host name, on the same disk.
func TestDebianImageFailed(t *testing.T) {
	requireVM(t)
	tree, err := vm.ImageTree("bookworm")
	if err != nil {
		if os.Getenv("OVFINIT_E2E") == "require" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	if os.Geteuid() != 0 {
		t.Skip("making the image disk needs root (overlay mount, chroot dpkg)")
	}
	h := newImageHarness(t, tree)
	builder := newSigner(t)
	if err := vm.BuildImageDisk(t.Context(), h.tree, h.deb, h.disk, 1536,
		vm.ImageFile{Path: "/root/.ssh/authorized_keys", Mode: 0o600, Data: ssh.MarshalAuthorizedKey(builder.PublicKey())}); err != nil {
		t.Fatal(err)
	}
	// diagnose logs in as root with the builder's key and checks the
	// boot is not degraded and nothing of the environment was applied.
	diagnose := func(m *vm.Machine) {
		t.Helper()
		client, _ := dialAs(t, m, "root", builder)
		defer client.Close()
		checkNotDegraded(t, client)
		if out, _ := runSSH(client, "systemctl is-active ssh.service"); strings.TrimSpace(out) != "active" {
			t.Errorf("the image's OpenSSH: systemctl is-active ssh = %q, want active", out)
		}
		if out, _ := runSSH(client, "hostname; getent passwd "+guestUser+"; /usr/sbin/ovfinit status; echo rc=$?"); !strings.HasPrefix(out, "debian\n") ||
			strings.Contains(out, guestUser+":") || !strings.Contains(out, "failed") || !strings.HasSuffix(strings.TrimSpace(out), "rc=1") {
			t.Errorf("after the refused environment: hostname, getent passwd %s, ovfinit status =\n%s\nwant the image's host name debian, no such user, status failed (exit 1)", guestUser, out)
		}
	}

	// 1. Truncated.
	x := string(envXML(t, h.env("e2e-image-truncated").Properties()))
	cut := strings.Index(x, `oe:key="ovfinit.script"`)
	if cut < 0 || !strings.Contains(x[:cut], "ovfinit.callback.url") {
		t.Fatalf("the environment has no script property after the callback URL to cut at:\n%s", x)
	}
	dir := filepath.Join(h.dir, "truncated")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	iso, err := vm.BuildISO(dir, []byte(x[:cut]))
	if err != nil {
		t.Fatal(err)
	}
	m, end := h.bootToEnd(t, iso, h.imageOptions)
	if end.Type != vm.TypeFailed || !strings.Contains(string(end.Raw), "line") || !strings.Contains(string(end.Raw), `"retry":false`) {
		t.Errorf("truncated environment: the manager got %s %s, want a failed event naming the line, retry false", end.Type, end.Raw)
	}
	diagnose(m)
	h.shutdown(t, m)

	// 2. A bad host name.
	bad := h.env("e2e-image-bad").Properties()
	for i := range bad {
		if bad[i].Key == "hostname" {
			bad[i].Value = "bad_host!"
		}
	}
	m, end = h.bootToEnd(t, h.isoOf(t, "bad", bad), h.imageOptions)
	if end.Type != vm.TypeFailed || !strings.Contains(string(end.Raw), "hostname") {
		t.Errorf("bad host name: the manager got %s %s, want a failed event naming hostname", end.Type, end.Raw)
	}
	diagnose(m)
	h.shutdown(t, m)
}

// imageHarness is a harness whose disk is a real image: tree with deb.
type imageHarness struct {
	*harness
	tree, deb string
}

// newImageHarness builds the agent, its .deb, the image disk (tree with the
// .deb installed) and the boot initramfs.
func newImageHarness(t *testing.T, tree string) *imageHarness {
	t.Helper()
	ctx := t.Context()
	h := &imageHarness{harness: &harness{dir: t.TempDir(), signer: newSigner(t), bootTimeout: imageBootTimeout}, tree: tree}
	k, err := vm.FindKernel()
	if err != nil {
		t.Fatal(err)
	}
	agent, err := vm.Agent(ctx, h.dir)
	if err != nil {
		t.Fatal(err)
	}
	if h.deb, err = vm.BuildDeb(ctx, agent, h.dir); err != nil {
		t.Fatal(err)
	}
	h.disk = filepath.Join(h.dir, "image.img")
	t0 := time.Now()
	if err := vm.BuildImageDisk(ctx, tree, h.deb, h.disk, 1536); err != nil {
		t.Fatal(err)
	}
	t.Logf("image disk (dpkg -i, mkfs.ext4 -d) made in %v", time.Since(t0).Round(time.Millisecond))
	initrd := filepath.Join(h.dir, "boot.cpio.gz")
	if err := vm.BuildBootInitramfs(ctx, k, initrd); err != nil {
		t.Fatal(err)
	}
	h.assets = &vm.Assets{Kernel: k, Agent: agent, Initramfs: initrd}
	h.startRecorder(t, "") // signed, every message checked at the end (helpers_test.go)
	return h
}

// imageOptions boots the image disk instead of the busybox initramfs.
func (h *harness) imageOptions(o *vm.Options) {
	o.Cmdline = vm.ImageCmdline
	o.MonitorSocket = filepath.Join(h.dir, "monitor.sock")
	o.MemoryMB = 768
}

// imageISO is the standard environment for id, the user also in
// systemd-journal (to read the journal).
func (h *harness) imageISO(t *testing.T, id string) string {
	t.Helper()
	return h.isoOf(t, id, append(h.env(id).Properties(), vm.Property{Key: "ovfinit.user.groups", Value: "systemd-journal"}))
}

// imageBoot is boot for an image: the environment on the CD-ROM, the
// image as the disk, the wait sized for systemd under TCG.
func (h *harness) imageBoot(t *testing.T, iso, id string) *booted {
	t.Helper()
	return h.boot(t, iso, id, h.imageOptions)
}

// shutdown presses the power button and waits for the guest to power off.
func (h *harness) shutdown(t *testing.T, m *vm.Machine) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), poweroffTimeout)
	defer cancel()
	t0 := time.Now()
	if err := m.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v\n%s", err, m.Tail(40))
	}
	t.Logf("shut down in %v", time.Since(t0).Round(time.Millisecond))
}

// checkSystem checks the boot is not degraded: is-system-running says
// running, no unit failed, and the image's OpenSSH runs.
func checkSystem(t *testing.T, c *ssh.Client) {
	t.Helper()
	checkNotDegraded(t, c)
	if out, _ := runSSH(c, "systemctl is-active ssh.service"); strings.TrimSpace(out) != "active" {
		t.Errorf("the image's OpenSSH: systemctl is-active ssh = %q, want active", out)
	}
	// A normal user reads the public status: exit 0 for ready, not 1.
	if out, _ := runSSH(c, "/usr/sbin/ovfinit status; echo rc=$?"); !strings.Contains(out, "ready") || !strings.HasSuffix(strings.TrimSpace(out), "rc=0") {
		t.Errorf("ovfinit status as the user = %q, want ready and exit 0", out)
	}
}

// checkNotDegraded checks is-system-running says running and no unit
// failed.
func checkNotDegraded(t *testing.T, c *ssh.Client) {
	t.Helper()
	if out, _ := runSSH(c, "systemctl is-system-running --wait"); strings.TrimSpace(out) != "running" {
		failed, _ := runSSH(c, "systemctl --failed --no-legend --plain; journalctl -b -p warning --no-pager | tail -n 40")
		t.Errorf("systemctl is-system-running = %q, want running; failed units and warnings:\n%s", strings.TrimSpace(out), failed)
	}
	if out := mustSSH(t, c, "systemctl --failed --no-legend --plain"); strings.TrimSpace(out) != "" {
		t.Errorf("failed units:\n%s", out)
	}
}

// logUnitTime logs how long ovfinit.service took in guest time, from its
// start to ready (READY=1), and when it started after the kernel.
func logUnitTime(t *testing.T, c *ssh.Client) {
	t.Helper()
	out, err := runSSH(c, "systemctl show ovfinit -p InactiveExitTimestampMonotonic -p ActiveEnterTimestampMonotonic; systemctl show -p UserspaceTimestampMonotonic")
	if err != nil {
		t.Logf("unit times: %v %s", err, out)
		return
	}
	v := map[string]float64{}
	for _, l := range strings.Fields(out) {
		k, s, _ := strings.Cut(l, "=")
		n, _ := strconv.ParseFloat(s, 64)
		v[k] = n / 1e6
	}
	t.Logf("guest time: userspace at %.2f s, ovfinit.service started at %.2f s, ready at %.2f s: unit time %.2f s",
		v["UserspaceTimestampMonotonic"], v["InactiveExitTimestampMonotonic"], v["ActiveEnterTimestampMonotonic"],
		v["ActiveEnterTimestampMonotonic"]-v["InactiveExitTimestampMonotonic"])
	// What ovfinit waited for before it started.
	if out, err := runSSH(c, "systemd-analyze critical-chain --no-pager ovfinit.service"); err == nil {
		t.Logf("systemd-analyze critical-chain ovfinit.service:\n%s", out)
	}
}
