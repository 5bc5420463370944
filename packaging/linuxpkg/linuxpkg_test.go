package linuxpkg

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ovfinit/ovfinit/internal/debroot"
)

func fakeBinary(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ovfinit")
	if err := os.WriteFile(p, []byte("#!/bin/sh\necho ovfinit\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func build(t *testing.T, format string) (Options, string) {
	t.Helper()
	o := Options{Binary: fakeBinary(t), Arch: "amd64", Version: "1.2.3", MTime: time.Unix(1700000000, 0)}
	name, err := FileName(o, format)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Build(o, format, &buf); err != nil {
		t.Fatalf("Build(%s): %v", format, err)
	}
	p := filepath.Join(t.TempDir(), name)
	os.WriteFile(p, buf.Bytes(), 0o644)
	return o, p
}

func TestScriptsParse(t *testing.T) {
	for name, s := range map[string]string{"postinstall": PostInstall, "preremove": PreRemove, "postremove": PostRemove} {
		for _, sh := range []string{"dash", "bash"} {
			if _, err := exec.LookPath(sh); err != nil {
				continue
			}
			cmd := exec.Command(sh, "-n")
			cmd.Stdin = strings.NewReader(s)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s -n %s: %v\n%s", sh, name, err, out)
			}
		}
	}
}

func TestBuildReproducible(t *testing.T) {
	for _, f := range Formats {
		t.Run(f, func(t *testing.T) {
			o := Options{Binary: fakeBinary(t), Arch: "arm64", Version: "1.2.3", MTime: time.Unix(1700000000, 0)}
			var a, b bytes.Buffer
			if err := Build(o, f, &a); err != nil {
				t.Fatal(err)
			}
			if err := Build(o, f, &b); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Errorf("two %s builds of the same input differ", f)
			}
			if a.Len() == 0 {
				t.Errorf("empty %s package", f)
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	var buf bytes.Buffer
	if err := Build(Options{Binary: "/nonexistent", Arch: "amd64", Version: "1"}, "deb", &buf); err == nil || !strings.Contains(err.Error(), "--bin") {
		t.Errorf("Build with a missing binary = %v, want an error naming --bin", err)
	}
	if err := Build(Options{Binary: fakeBinary(t), Arch: "amd64", Version: "1"}, "msi", &buf); err == nil {
		t.Error("Build(msi) = nil error, want unknown format")
	}
}

// TestAPKContents reads the .apk (concatenated gzip'd tar segments).
func TestAPKContents(t *testing.T) {
	_, p := build(t, "apk")
	f, _ := os.Open(p)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var names []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("reading %s: %v", p, err)
		}
		if h.Typeflag == tar.TypeReg {
			names = append(names, h.Name)
		}
	}
	for _, want := range []string{".PKGINFO", ".post-install", ".pre-deinstall", ".post-deinstall", "usr/sbin/ovfinit", "etc/init.d/ovfinit", "etc/conf.d/ovfinit", "etc/default/ovfinit"} {
		if !contains(names, want) {
			t.Errorf("apk lacks %s; has %v", want, names)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestDeb checks the .deb with dpkg-deb, then installs it into a
// throwaway root with dpkg --root (maintainer scripts run chrootless, with
// $DPKG_ROOT), checks the service is enabled, and purges it.
func TestDeb(t *testing.T) {
	if os.Getenv("OVFINIT_QEMU_USER") != "" {
		t.Skip("under qemu-user: dpkg is a host program; the .deb is checked in the amd64 run")
	}
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("dpkg-deb not installed (not a Debian host)")
	}
	_, p := build(t, "deb")
	out, err := exec.Command("dpkg-deb", "-c", p).CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg-deb -c: %v\n%s", err, out)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if strings.HasPrefix(fields[0], "-") {
			got = append(got, fields[0]+" "+fields[1]+" "+fields[len(fields)-1])
		}
	}
	sort.Strings(got)
	want := []string{
		"-rw-r--r-- root/root ./etc/default/ovfinit",
		"-rw-r--r-- root/root ./usr/lib/systemd/system/ovfinit.service",
		"-rw-r--r-- root/root ./usr/lib/systemd/system/ssh.service.d/ovfinit-handover.conf",
		"-rw-r--r-- root/root ./usr/lib/systemd/system/sshd.service.d/ovfinit-handover.conf",
		"-rw-r--r-- root/root ./usr/lib/systemd/system/systemd-tmpfiles-setup-dev-early.service.d/ovfinit-startup-share.conf",
		"-rw-r--r-- root/root ./usr/lib/systemd/system/systemd-tmpfiles-setup-dev.service.d/ovfinit-startup-share.conf",
		"-rw-r--r-- root/root ./usr/lib/systemd/system/systemd-udev-trigger.service.d/ovfinit-startup-share.conf",
		"-rw-r--r-- root/root ./usr/lib/systemd/system/systemd-udevd.service.d/ovfinit-startup-share.conf",
		"-rwxr-xr-x root/root ./etc/init.d/ovfinit", // sysvinit and Debian's OpenRC
		"-rwxr-xr-x root/root ./usr/sbin/ovfinit",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("dpkg-deb -c (-want +got):\n%s", diff)
	}
	ctl := t.TempDir()
	if out, err := exec.Command("dpkg-deb", "-e", p, ctl).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -e: %v\n%s", err, out)
	}
	for name, want := range map[string]string{"postinst": PostInstall, "prerm": PreRemove, "postrm": PostRemove, "conffiles": "/etc/default/ovfinit\n"} {
		if got, _ := os.ReadFile(filepath.Join(ctl, name)); string(got) != want {
			t.Errorf("control %s = %q, want %q", name, got, want)
		}
	}

	if _, err := exec.LookPath("dpkg"); err != nil || os.Geteuid() != 0 {
		t.Skip("installing into a root needs dpkg and root")
	}
	if _, err := exec.LookPath("systemctl"); err != nil {
		t.Skip("systemctl not installed: postinst cannot enable the unit offline")
	}
	root := t.TempDir()
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates", "usr/lib/systemd/system", "etc"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), nil, 0o644)
	os.WriteFile(filepath.Join(root, "var/lib/dpkg/available"), nil, 0o644)
	dpkg := func(args ...string) {
		t.Helper()
		args = append([]string{"--root=" + root, "--force-script-chrootless", "--log=/dev/null"}, args...)
		if out, err := exec.Command("dpkg", args...).CombinedOutput(); err != nil {
			t.Fatalf("dpkg %v: %v\n%s", args, err, out)
		}
	}
	dpkg("-i", p)
	link := filepath.Join(root, "etc/systemd/system/multi-user.target.wants/ovfinit.service")
	if target, err := os.Readlink(link); err != nil || target != UnitPath {
		t.Errorf("after install, the enable link = %q, %v; want -> %s", target, err, UnitPath)
	}
	if _, err := os.Stat(filepath.Join(root, "usr/sbin/ovfinit")); err != nil {
		t.Errorf("after install: %v", err)
	}
	// State and logs from a boot, which purge must delete.
	os.MkdirAll(filepath.Join(root, "var/lib/ovfinit"), 0o700)
	os.WriteFile(filepath.Join(root, "var/lib/ovfinit/state.json"), []byte("{}"), 0o600)
	dpkg("--purge", "ovfinit")
	for _, gone := range []string{"usr/sbin/ovfinit", UnitPath[1:], "etc/default/ovfinit", "var/lib/ovfinit", "etc/systemd/system/multi-user.target.wants/ovfinit.service"} {
		if _, err := os.Lstat(filepath.Join(root, gone)); err == nil {
			t.Errorf("after purge, %s is still there", gone)
		}
	}
}

// TestDebInDebianRoot installs the .deb with dpkg inside a real Debian root
// (bookworm minbase with systemd, made by debootstrap in make prepare),
// mounted through an overlay so the cached root stays clean: postinst must
// enable the unit with the root's own systemctl, systemd-analyze verify must
// accept the unit there, and purge must remove everything.
func TestDebInDebianRoot(t *testing.T) {
	if os.Getenv("OVFINIT_QEMU_USER") != "" {
		t.Skip("under qemu-user: chroot into an amd64 root; checked in the amd64 run")
	}
	merged := debroot.Overlay(t, t.TempDir())

	_, p := build(t, "deb")
	data, _ := os.ReadFile(p)
	os.WriteFile(filepath.Join(merged, "tmp", "ovfinit.deb"), data, 0o644)
	chroot := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("chroot", append([]string{merged}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("chroot %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	chroot("dpkg", "-i", "/tmp/ovfinit.deb")
	link := filepath.Join(merged, "etc/systemd/system/multi-user.target.wants/ovfinit.service")
	if target, err := os.Readlink(link); err != nil || !strings.HasSuffix(target, "/systemd/system/ovfinit.service") {
		t.Errorf("after dpkg -i, the enable link = %q, %v; want -> .../systemd/system/ovfinit.service", target, err)
	}
	chroot("systemd-analyze", "verify", "ovfinit.service")
	if out := chroot("/usr/sbin/ovfinit"); !strings.Contains(out, "ovfinit") {
		t.Errorf("the installed binary printed %q", out)
	}
	chroot("dpkg", "--purge", "ovfinit")
	for _, gone := range []string{"usr/sbin/ovfinit", UnitPath[1:], "etc/default/ovfinit", "etc/systemd/system/multi-user.target.wants/ovfinit.service"} {
		if _, err := os.Lstat(filepath.Join(merged, gone)); err == nil {
			t.Errorf("after purge, %s is still there", gone)
		}
	}
}
