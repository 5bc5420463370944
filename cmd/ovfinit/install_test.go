package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovfinit/ovfinit/internal/wine"
)

func TestInstallRoot(t *testing.T) {
	tests := []struct {
		init, marker string // marker makes DetectInit find the init system
		want         []string
	}{
		{"auto", "lib/systemd/systemd", []string{"etc/systemd/system/ovfinit.service", "etc/systemd/system/multi-user.target.wants/ovfinit.service", "usr/local/sbin/ovfinit", "etc/default/ovfinit"}},
		{"sysv", "", []string{"etc/init.d/ovfinit", "etc/rc2.d/S01ovfinit", "usr/local/sbin/ovfinit"}},
		{"freebsd", "", []string{"usr/local/etc/rc.d/ovfinit", "etc/rc.conf.d/ovfinit"}},
	}
	for _, tt := range tests {
		t.Run(tt.init, func(t *testing.T) {
			if tt.init != "freebsd" {
				wine.SkipMissing(t, "CreateSymbolicLinkW", "it fails with \"Request not supported\" (the init system's enable links)")
			}
			root := t.TempDir()
			if tt.marker != "" {
				os.MkdirAll(filepath.Join(root, filepath.Dir(tt.marker)), 0o755)
				os.WriteFile(filepath.Join(root, tt.marker), nil, 0o755)
			}
			out, code := execute(t, "install", "--root", root, "--init", tt.init, "--port", "2222", "--", "--wait-env", "5m")
			if code != exitOK {
				t.Fatalf("install --root --init %s = exit %d, %q", tt.init, code, out)
			}
			for _, p := range tt.want {
				if _, err := os.Lstat(filepath.Join(root, p)); err != nil { // links are absolute in the image
					t.Errorf("install --init %s: %s missing: %v", tt.init, p, err)
				}
			}
			svc := filepath.Join(root, tt.want[0])
			if data, _ := os.ReadFile(svc); !strings.Contains(string(data), "run --ssh-port 2222 --wait-env 5m") {
				t.Errorf("%s does not pass --port and the flags after --:\n%s", tt.want[0], data)
			}
			out, code = execute(t, "uninstall", "--root", root, "--init", tt.init)
			if code != exitOK || !strings.Contains(out, "removed /"+tt.want[0]) {
				t.Errorf("uninstall --root = exit %d, %q; want it to remove %s", code, out, tt.want[0])
			}
			if _, err := os.Stat(svc); err == nil {
				t.Errorf("uninstall left %s", tt.want[0])
			}
		})
	}
}

func TestInstallRootErrors(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--init", "auto"}, exitFailed, "not supported"},
		{[]string{"--init", "launchd"}, exitUsage, "--init \"launchd\""},
		{[]string{"--init", "windows"}, exitFailed, "registry"},
		// A Windows --bin for a Windows image: the registry is the reason,
		// not the path (it was "--bin must be absolute", exit 2).
		{[]string{"--init", "windows", "--bin", `C:\Program Files\ovfinit\ovfinit.exe`}, exitFailed, "registry"},
		{[]string{"--init", "systemd", "--bin", "rel/ovfinit"}, exitUsage, "--bin"},
		{[]string{"--init", "systemd", "--port", "0"}, exitUsage, "--port 0"},
		{[]string{"--init", "systemd", "--port", "70000"}, exitUsage, "--port 70000"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			root := t.TempDir()
			out, code := execute(t, append([]string{"install", "--root", root}, tt.args...)...)
			if code != tt.code || !strings.Contains(out, tt.want) {
				t.Errorf("install %v = exit %d, %q; want exit %d and %q", tt.args, code, out, tt.code, tt.want)
			}
			if entries, _ := os.ReadDir(root); len(entries) != 0 {
				t.Errorf("install %v failed but wrote into the root: %v", tt.args, entries)
			}
		})
	}
}

// "/" is the running system on every OS (on Windows filepath.Clean makes it
// "\\", which was taken for an image tree).
func TestInstallOffline(t *testing.T) {
	for _, tt := range []struct {
		root string
		want bool
	}{{"/", false}, {"", false}, {string(filepath.Separator), false}, {t.TempDir(), true}} {
		root, want := tt.root, tt.want
		if got := (&installFlags{root: root}).offline(); got != want {
			t.Errorf("installFlags{root: %q}.offline() = %v, want %v", root, got, want)
		}
	}
}
