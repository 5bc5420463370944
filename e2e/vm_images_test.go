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

// The image harness (issue 20): every real-image test takes its image by
// name (debian-<name> in the e2e cache, built by prepare.sh), builds the
// agent, its .deb, the image disk with the .deb installed and the boot
// initramfs with newImageHarness, and boots it with imageBoot,
// imageBootToEnd or startImage. The serial console goes to a file per
// boot; a failed test logs the qemu command line, the console's tail and
// what the recorder refused (harness.start).

// imageSuites are the Debian releases every image test of make test runs
// on, one subtest each: Debian 12 (ifupdown, isc-dhcp-client) and Debian
// 13 (ifupdown, dhcpcd).
var imageSuites = []string{"bookworm", "trixie"}

// forEachSuite runs test once per release of imageSuites, as a subtest
// named after it.
func forEachSuite(t *testing.T, test func(t *testing.T, suite string)) {
	t.Helper()
	requireVM(t)
	for _, suite := range imageSuites {
		t.Run(suite, func(t *testing.T) { test(t, suite) })
	}
}

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
//     host key is new.
//
// TestDebianImageFailed boots the failures (a bad host name among them)
// on a fresh disk of each release.
func TestDebianImage(t *testing.T) { forEachSuite(t, testDebianImage) }

func testDebianImage(t *testing.T, suite string) {
	start := time.Now()
	h := newImageHarness(t, suite)

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
	client = checkReboot(t, h, b, fp1, id1)
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
	t.Logf("%s: wall time %v", suite, time.Since(start).Round(time.Millisecond))
}

// checkReboot checks a reboot of instance id that reached ready (b): the
// per-instance steps skipped, the per-boot ones run, the host key the
// first boot's (fp1), and the environment still applied. It returns the
// user's SSH client, for the caller to check more and close.
func checkReboot(t *testing.T, h *imageHarness, b *booted, fp1, id string) *ssh.Client {
	t.Helper()
	checkSteps(t, b, stepStatuses("ok", "skipped"))
	client, hostKey := h.dial(t, b.m, h.signer)
	if fp := checkHostKey(t, b.ready, hostKey); fp != fp1 {
		t.Errorf("after a reboot of the same instance the host key is %s, want the first boot's %s", fp, fp1)
	}
	checkGuest(t, client, id)
	return client
}

// TestDebianImageFailed boots the Debian 12 and 13 images, each a fresh
// disk with the image builder's key for root baked in (no host keys, no
// users: an image sealed for capture), with bad environments. Each must
// reach the manager as a failed event, apply nothing of the environment
// (no user, the image's host name), and leave the machine reachable for
// diagnosis and not degraded: the image's OpenSSH starts with the
// instance's host keys (ovfinit wrote them: the image has none) and lets
// root in with the builder's key, no unit failed.
//
//  1. a truncated ovf-env.xml, cut after its callback URL;
//  2. a bad host name, on the same disk.
func TestDebianImageFailed(t *testing.T) { forEachSuite(t, testDebianImageFailed) }

func testDebianImageFailed(t *testing.T, suite string) {
	builder := newSigner(t)
	h := newImageHarness(t, suite, builderKey(builder))
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
	m, end := h.imageBootToEnd(t, h.rawISO(t, "truncated", []byte(x[:cut])))
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
	m, end = h.imageBootToEnd(t, h.isoOf(t, "bad", bad))
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

// newImageHarness finds the image debian-<image> prepare.sh built
// (bookworm, trixie, bookworm-netplan...), skipping the test without it
// (failing it under OVFINIT_E2E=require) or without root, and builds the
// agent, its .deb, the image disk (the tree with the .deb installed and
// extra baked in) and the boot initramfs.
func newImageHarness(t *testing.T, image string, extra ...vm.ImageFile) *imageHarness {
	t.Helper()
	tree, err := vm.ImageTree(image)
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
	if err := vm.BuildImageDisk(ctx, tree, h.deb, h.disk, 1536, extra...); err != nil {
		t.Fatal(err)
	}
	t.Logf("image disk (dpkg -i, mkfs.ext4 -d) made in %v", time.Since(t0).Round(time.Millisecond))
	initrd := filepath.Join(h.dir, "boot.cpio.gz")
	if err := vm.BuildBootInitramfs(ctx, k, initrd); err != nil {
		t.Fatal(err)
	}
	h.assets = &vm.Assets{Kernel: k, Agent: agent, Initramfs: initrd}
	h.startRecorder(t, "") // signed, every message checked at the end (helpers_test.go)
	t.Logf("debian-%s: agent, .deb, disk and initramfs made in %v", image, time.Since(start).Round(time.Millisecond))
	return h
}

// builderKey is signer's public key baked in as root's authorized key, as
// an image builder keeps a way in for itself.
func builderKey(signer ssh.Signer) vm.ImageFile {
	return vm.ImageFile{Path: "/root/.ssh/authorized_keys", Mode: 0o600, Data: ssh.MarshalAuthorizedKey(signer.PublicKey())}
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

// imageBootToEnd is bootToEnd for an image: the machine and the agent's
// ready or failed event.
func (h *harness) imageBootToEnd(t *testing.T, iso string) (*vm.Machine, vm.Event) {
	t.Helper()
	m, end := h.bootToEnd(t, iso, h.imageOptions)
	t.Logf("%s %v after qemu start", end.Type, end.Received.Sub(m.Started).Round(time.Millisecond))
	return m, end
}

// startImage starts the image with iso on the CD-ROM and waits for
// nothing (an environment with no callback: the caller waits for SSH or
// the console); opts change the image's options.
func (h *harness) startImage(t *testing.T, iso string, opts ...func(*vm.Options)) *vm.Machine {
	t.Helper()
	o := vm.Options{Assets: h.assets, ISO: iso, Disk: h.disk}
	h.imageOptions(&o)
	for _, f := range opts {
		f(&o)
	}
	return h.start(t, o)
}

// rawISO writes env, an ovf-env.xml as is (truncated, or written for
// cloud-init), into an ISO in its own directory, name.
func (h *harness) rawISO(t *testing.T, name string, env []byte) string {
	t.Helper()
	dir := filepath.Join(h.dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	iso, err := vm.BuildISO(dir, env)
	if err != nil {
		t.Fatalf("BuildISO: %v", err)
	}
	return iso
}

// poweroffAsRoot powers the guest off from a root shell (ssh with signer,
// root's key baked in by builderKey): init systems without an ACPI power
// button handler (sysvinit, OpenRC without acpid) ignore Shutdown.
func poweroffAsRoot(t *testing.T, m *vm.Machine, signer ssh.Signer) {
	t.Helper()
	c, _ := dialAs(t, m, "root", signer)
	// The connection drops as the guest goes down: the error says
	// nothing.
	runSSH(c, "/sbin/poweroff")
	c.Close()
	t0 := time.Now()
	select {
	case <-m.Done():
		t.Logf("powered off in %v", time.Since(t0).Round(time.Millisecond))
	case <-time.After(poweroffTimeout):
		m.Kill()
		t.Fatalf("the guest did not power off within %v of /sbin/poweroff\n%s", poweroffTimeout, m.Tail(40))
	}
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
	// The NIC has udev's predictable name: ovfinit brought it up only once
	// udev had renamed it (a NIC up too early keeps eth0: "Network
	// interface 'eth0' is already up, cannot rename to 'ens2'").
	if out, _ := runSSH(c, "ls /sys/class/net; journalctl -b --no-pager -q --grep 'cannot rename' || true"); strings.Contains(out, "eth0") || strings.Contains(out, "cannot rename") {
		t.Errorf("NICs and udev's rename failures:\n%s\nwant the NIC renamed by udev (no eth0)", out)
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
	// ovfinit can be ready before the rest of the boot (dbus among it,
	// which systemctl needs as a user) has finished: ask until it has.
	var out string
	for deadline := time.Now().Add(imageBootTimeout); ; time.Sleep(time.Second) {
		out, _ = runSSH(c, "systemctl is-system-running --wait")
		if s := strings.TrimSpace(out); s == "running" || s == "degraded" || s == "maintenance" || s == "stopping" || time.Now().After(deadline) {
			break
		}
	}
	if strings.TrimSpace(out) != "running" {
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
