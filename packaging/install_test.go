package packaging

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ovfinit/ovfinit/internal/wine"
)

// hostPerm is how a file written with mode perm reads back on this host:
// installing into a root from a Windows host cannot give the files Unix
// modes, only the read-only attribute (0444, else 0666).
func hostPerm(perm os.FileMode) os.FileMode {
	if runtime.GOOS != "windows" {
		return perm
	}
	if perm&0o200 == 0 {
		return 0o444
	}
	return 0o666
}

// skipWithoutSymlinks skips under Wine 8.0, whose CreateSymbolicLinkW
// reports success and creates nothing.
func skipWithoutSymlinks(t *testing.T) {
	t.Helper()
	wine.SkipMissing(t, "CreateSymbolicLinkW", "it reports success and creates no link")
}

func TestPlanInstall(t *testing.T) {
	s := Service{Bin: DefaultBin}
	tests := []struct {
		init Init
		want []string
	}{
		{Systemd, []string{
			"file /usr/local/sbin/ovfinit 0755 (the ovfinit binary)",
			"file /etc/systemd/system/ovfinit.service 0644",
			"file /etc/default/ovfinit 0644",
			"link /etc/systemd/system/multi-user.target.wants/ovfinit.service -> /etc/systemd/system/ovfinit.service",
			"file /etc/systemd/system/ssh.service.d/ovfinit-handover.conf 0644",
			"file /etc/systemd/system/sshd.service.d/ovfinit-handover.conf 0644",
			"file /etc/systemd/system/systemd-tmpfiles-setup-dev-early.service.d/ovfinit-startup-share.conf 0644",
			"file /etc/systemd/system/systemd-tmpfiles-setup-dev.service.d/ovfinit-startup-share.conf 0644",
			"file /etc/systemd/system/systemd-udevd.service.d/ovfinit-startup-share.conf 0644",
			"file /etc/systemd/system/systemd-udev-trigger.service.d/ovfinit-startup-share.conf 0644",
		}},
		{SysV, []string{
			"file /usr/local/sbin/ovfinit 0755 (the ovfinit binary)",
			"file /etc/init.d/ovfinit 0755",
			"file /etc/default/ovfinit 0644",
			"link /etc/rc2.d/S01ovfinit -> ../init.d/ovfinit",
			"link /etc/rc3.d/S01ovfinit -> ../init.d/ovfinit",
			"link /etc/rc4.d/S01ovfinit -> ../init.d/ovfinit",
			"link /etc/rc5.d/S01ovfinit -> ../init.d/ovfinit",
			"link /etc/rc0.d/K01ovfinit -> ../init.d/ovfinit",
			"link /etc/rc1.d/K01ovfinit -> ../init.d/ovfinit",
			"link /etc/rc6.d/K01ovfinit -> ../init.d/ovfinit",
		}},
		{OpenRC, []string{
			"file /usr/local/sbin/ovfinit 0755 (the ovfinit binary)",
			"file /etc/init.d/ovfinit 0755",
			"file /etc/conf.d/ovfinit 0644",
			"link /etc/runlevels/default/ovfinit -> /etc/init.d/ovfinit",
		}},
		{FreeBSD, []string{
			"file /usr/local/sbin/ovfinit 0755 (the ovfinit binary)",
			"file /usr/local/etc/rc.d/ovfinit 0755",
			"file /etc/rc.conf.d/ovfinit 0644",
		}},
	}
	for _, tt := range tests {
		t.Run(string(tt.init), func(t *testing.T) {
			files, err := PlanInstall(tt.init, s)
			if err != nil {
				t.Fatalf("PlanInstall(%q) error: %v", tt.init, err)
			}
			var got []string
			for _, f := range files {
				line := f.String()
				if i := strings.Index(line, " ("); i > 0 && !f.FromBin {
					line = line[:i]
				}
				got = append(got, line)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("PlanInstall(%q) (-want +got):\n%s", tt.init, diff)
			}
		})
	}
}

func TestPlanInstallRefuses(t *testing.T) {
	tests := []struct {
		name string
		init Init
		s    Service
		want string
	}{
		{"windows offline", Windows, Service{Bin: DefaultBin}, "registry"},
		{"windows offline, Windows bin", Windows, Service{Bin: `C:\Program Files\ovfinit\ovfinit.exe`}, "registry"},
		{"relative bin", Systemd, Service{Bin: "ovfinit"}, "--bin"},
		{"newline arg", SysV, Service{Bin: DefaultBin, Args: []string{"a\nb"}}, "newlines"},
		{"unknown init", Init("launchd"), Service{Bin: DefaultBin}, "not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := PlanInstall(tt.init, tt.s)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("PlanInstall(%q, %+v) = %v, want an error containing %q", tt.init, tt.s, err, tt.want)
			}
		})
	}
	if _, err := PlanInstall(Init("launchd"), Service{Bin: DefaultBin}); !errors.Is(err, ErrUnsupportedInit) {
		t.Errorf("PlanInstall(launchd) = %v, want ErrUnsupportedInit", err)
	}
}

func TestDetectInit(t *testing.T) {
	tests := []struct {
		files []string
		want  Init
	}{
		{[]string{"etc/init.d/", "lib/systemd/systemd"}, Systemd},
		{[]string{"usr/lib/systemd/systemd"}, Systemd},
		{[]string{"etc/init.d/", "sbin/openrc-run"}, OpenRC},
		{[]string{"etc/rc.subr"}, FreeBSD},
		{[]string{"etc/init.d/"}, SysV},
		{[]string{"Windows/System32/"}, Windows},
		{nil, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.files, ","), func(t *testing.T) {
			root := t.TempDir()
			for _, f := range tt.files {
				p := filepath.Join(root, f)
				if strings.HasSuffix(f, "/") {
					os.MkdirAll(p, 0o755)
					continue
				}
				os.MkdirAll(filepath.Dir(p), 0o755)
				os.WriteFile(p, nil, 0o755)
			}
			got, err := DetectInit(root)
			if got != tt.want || (tt.want == "") != errors.Is(err, ErrUnsupportedInit) {
				t.Errorf("DetectInit(%v) = %q, %v; want %q", tt.files, got, err, tt.want)
			}
		})
	}
}

func TestInstallUninstall(t *testing.T) {
	for _, init := range []Init{Systemd, SysV, OpenRC, FreeBSD} {
		t.Run(string(init), func(t *testing.T) {
			root := t.TempDir()
			bin := filepath.Join(t.TempDir(), "ovfinit")
			os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755)
			files, err := PlanInstall(init, Service{Bin: DefaultBin, Args: []string{"--wait-env", "5m"}})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				if f.Link != "" {
					skipWithoutSymlinks(t)
				}
			}
			// An administrator's defaults file survives install and uninstall.
			custom := []byte("OVFINIT_ARGS=\"--log-level debug\"\n")
			for _, f := range files {
				if isDefaults(f.Path) {
					os.MkdirAll(filepath.Dir(filepath.Join(root, f.Path)), 0o755)
					os.WriteFile(filepath.Join(root, f.Path), custom, 0o644)
				}
			}
			if err := Install(root, files, bin); err != nil {
				t.Fatalf("Install: %v", err)
			}
			for _, f := range files {
				p := filepath.Join(root, f.Path)
				fi, err := os.Lstat(p)
				if err != nil {
					t.Errorf("after Install, %s: %v", f.Path, err)
					continue
				}
				switch {
				case f.Link != "":
					if target, _ := os.Readlink(p); target != f.Link {
						t.Errorf("%s links to %q, want %q", f.Path, target, f.Link)
					}
					if _, err := os.Stat(filepath.Join(root, linkTarget(f))); err != nil {
						t.Errorf("%s: dangling link in the root: %v", f.Path, err)
					}
				case fi.Mode().Perm() != hostPerm(f.Mode):
					t.Errorf("%s mode %04o, want %04o", f.Path, fi.Mode().Perm(), hostPerm(f.Mode))
				}
				if isDefaults(f.Path) {
					if got, _ := os.ReadFile(p); string(got) != string(custom) {
						t.Errorf("Install replaced the administrator's %s: %q", f.Path, got)
					}
				}
			}
			if !Installed(root, init) {
				t.Errorf("Installed(root, %s) = false after Install", init)
			}
			// Installing again over an installed tree works (links replaced).
			if err := Install(root, files, bin); err != nil {
				t.Fatalf("second Install: %v", err)
			}
			removed, err := Uninstall(root, files)
			if err != nil {
				t.Fatalf("Uninstall: %v", err)
			}
			if len(removed) != len(files)-countDefaults(files) {
				t.Errorf("Uninstall removed %v, want every file but the defaults", removed)
			}
			if Installed(root, init) {
				t.Errorf("Installed(root, %s) = true after Uninstall", init)
			}
			if again, err := Uninstall(root, files); err != nil || len(again) != 0 {
				t.Errorf("second Uninstall = %v, %v; want nothing removed and no error", again, err)
			}
		})
	}
}

func countDefaults(files []File) int {
	n := 0
	for _, f := range files {
		if isDefaults(f.Path) {
			n++
		}
	}
	return n
}

// TestScriptsParse runs sh -n over the generated scripts, with every shell
// at hand: dash (Debian's /bin/sh), busybox sh (the e2e guest), bash.
func TestScriptsParse(t *testing.T) {
	s := Service{Bin: "/usr/sbin/ovfinit", Args: []string{"--env", "/tmp/it's here.xml"}}
	scripts := map[string]string{"sysv": s.SysVScript(), "openrc": s.OpenRCScript(), "freebsd": s.FreeBSDScript()}
	shells := [][]string{{"dash", "-n"}, {"busybox", "sh", "-n"}, {"bash", "-n"}}
	ran := 0
	for name, script := range scripts {
		for _, sh := range shells {
			if _, err := exec.LookPath(sh[0]); err != nil {
				continue
			}
			ran++
			cmd := exec.Command(sh[0], sh[1:]...)
			cmd.Stdin = strings.NewReader(script)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s -n on the %s script: %v\n%s", sh[0], name, err, out)
			}
		}
		if strings.Contains(script, "{{") {
			t.Errorf("the %s script contains {{, which kardianos' template engine would read", name)
		}
	}
	if ran == 0 {
		t.Skip("no sh to check the scripts with")
	}
}

// TestSystemdVerify runs systemd-analyze verify on the unit, with its
// ExecStart pointing at a real executable.
func TestSystemdVerify(t *testing.T) {
	if os.Getenv("OVFINIT_QEMU_USER") != "" {
		t.Skip("under qemu-user: systemd-analyze is a host (amd64) program; the unit is checked in the amd64 run")
	}
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed (apt-get install systemd)")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "ovfinit")
	os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755)
	unit := filepath.Join(dir, "ovfinit.service")
	os.WriteFile(unit, []byte(Service{Bin: bin, Args: []string{"--wait-env", "5m"}}.SystemdUnit()), 0o644)
	out, err := exec.Command(sa, "verify", unit).CombinedOutput()
	// verify warns about units it cannot find on this host (ssh.service);
	// anything about ovfinit.service itself is a failure.
	var bad []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "ovfinit.service") {
			bad = append(bad, line)
		}
	}
	if err != nil || len(bad) > 0 {
		t.Errorf("systemd-analyze verify ovfinit.service: %v\n%s", err, out)
	}
}

func TestSystemdUnitContent(t *testing.T) {
	u := Service{Bin: "/usr/sbin/ovfinit", Args: []string{"--env", "/a b/x$y.xml"}}.SystemdUnit()
	for _, want := range []string{
		"Type=notify",
		// Early, as cloud-init-local (issue 20).
		"DefaultDependencies=no",
		"After=systemd-remount-fs.service systemd-sysusers.service systemd-journald.socket",
		"RequiresMountsFor=/var/lib/ovfinit /var/log/ovfinit /home",
		"Wants=network-pre.target",
		"Before=network-pre.target network-online.target ssh.service sshd.service shutdown.target",
		"Conflicts=shutdown.target",
		`ExecStart=/usr/sbin/ovfinit run --env "/a b/x$$y.xml" $OVFINIT_ARGS`,
		"EnvironmentFile=-/etc/default/ovfinit",
		"WantedBy=multi-user.target",
		// The SSH server comes back after a crash, not after a failed boot,
		// and not in a loop.
		"Restart=on-failure",
		"RestartSec=5s",
		"RestartPreventExitStatus=1",
		// A failed boot that was reported does not fail the unit: the
		// boot would end degraded (issue 20).
		"SuccessExitStatus=1",
		"StartLimitIntervalSec=10min",
		"StartLimitBurst=5",
		// The agent the first boot waits for gets the CPU first.
		"StartupCPUWeight=1000",
	} {
		if !strings.Contains(u, want+"\n") {
			t.Errorf("SystemdUnit() lacks line %q:\n%s", want, u)
		}
	}
	if strings.Contains(u, "Restart=no") {
		t.Errorf("SystemdUnit() has Restart=no: a crash of the SSH server would leave the VM without one:\n%s", u)
	}
}

func TestRemoveSysVLinks(t *testing.T) {
	skipWithoutSymlinks(t)
	root := t.TempDir()
	for _, l := range []string{"etc/rc2.d/S50ovfinit", "etc/rc0.d/K01ovfinit", "etc/rcS.d/S01ovfinit", "etc/rc2.d/S02ssh"} {
		os.MkdirAll(filepath.Join(root, filepath.Dir(l)), 0o755)
		if err := os.Symlink("../init.d/x", filepath.Join(root, l)); err != nil {
			t.Fatal(err)
		}
	}
	if err := RemoveSysVLinks(root); err != nil {
		t.Fatal(err)
	}
	left, _ := filepath.Glob(filepath.Join(root, "etc/rc?.d/*"))
	if len(left) != 1 || !strings.HasSuffix(left[0], "S02ssh") {
		t.Errorf("after RemoveSysVLinks: %v, want only S02ssh", left)
	}
}

// TestInstallMakesNewTree: `install --root DIR` with a DIR that does not
// exist yet makes it, as the packaged VM test does.
func TestInstallMakesNewTree(t *testing.T) {
	wine.SkipMissing(t, "CreateSymbolicLinkW", "it fails with \"Request not supported\" (the unit's enable link)")
	root := filepath.Join(t.TempDir(), "tree")
	bin := filepath.Join(t.TempDir(), "ovfinit")
	os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755)
	files, err := PlanInstall(Systemd, Service{Bin: DefaultBin})
	if err != nil {
		t.Fatal(err)
	}
	if err := Install(root, files, bin); err != nil {
		t.Fatalf("Install(a new tree) = %v, want the tree made", err)
	}
	if !Installed(root, Systemd) {
		t.Errorf("Installed(%s) = false after Install", root)
	}
}
