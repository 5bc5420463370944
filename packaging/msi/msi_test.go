package msi

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestProductVersion(t *testing.T) {
	tests := []struct{ in, want string }{
		{"v1.2.3", "1.2.3"}, {"1.2.3~rc1", "1.2.3"}, {"0.0.0~git1a2b3c4", "0.0.0"}, {"2", "2.0.0"}, {"v1.4", "1.4.0"},
	}
	for _, tt := range tests {
		if got, err := ProductVersion(tt.in); err != nil || got != tt.want {
			t.Errorf("ProductVersion(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := ProductVersion("dev"); err == nil {
		t.Errorf("ProductVersion(%q) = nil error, want one", "dev")
	}
}

// TestBuild builds the MSI with wixl and reads its service tables back with
// msiinfo. It cannot install it: there is no Windows here (docs/testing.md).
func TestBuild(t *testing.T) {
	if os.Getenv("OVFINIT_QEMU_USER") != "" {
		t.Skip("under qemu-user: wixl and msiinfo are host programs; checked in the amd64 run")
	}
	for _, tool := range []string{"wixl", "msiinfo"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (apt-get install wixl msitools)", tool)
		}
	}
	dir := t.TempDir()
	exe := filepath.Join(dir, "ovfinit.exe")
	os.WriteFile(exe, []byte("MZ fake"), 0o644)
	out := filepath.Join(dir, "ovfinit.msi")
	if err := Build(t.Context(), exe, "v1.2.3", "x64", out); err != nil {
		t.Fatal(err)
	}
	export := func(table string) string {
		b, err := exec.Command("msiinfo", "export", out, table).CombinedOutput()
		if err != nil {
			t.Fatalf("msiinfo export %s: %v\n%s", table, err, b)
		}
		return string(b)
	}
	for table, wants := range map[string][]string{
		// ServiceType 16 own process, StartType 2 automatic, ErrorControl 1 normal.
		"ServiceInstall": {"\tovfinit\tovfinit first-boot agent\t16\t2\t1\t", "\trun\tMain\t"},
		// Event 162 = stop on install and uninstall (0x2|0x20) + delete on uninstall (0x80).
		"ServiceControl": {"\tovfinit\t162\t"},
		"File":           {"ovfinit.exe"},
		"Property":       {"ProductVersion\t1.2.3", "UpgradeCode\t{" + UpgradeCode + "}"},
	} {
		got := export(table)
		for _, w := range wants {
			if !strings.Contains(got, w) {
				t.Errorf("MSI table %s lacks %q:\n%s", table, w, got)
			}
		}
	}
}
