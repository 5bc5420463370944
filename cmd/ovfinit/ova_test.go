package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestOVACmd(t *testing.T) {
	dir := t.TempDir()
	disk := filepath.Join(dir, "disk.raw")
	os.WriteFile(disk, make([]byte, 1<<20), 0o644)
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--disk", disk, "--name", "x"}, exitUsage, "-o"},
		{[]string{"--disk", disk, "--name", "x y", "-o", filepath.Join(dir, "x.ova")}, exitUsage, "--name"},
		{[]string{"--disk", disk, "--name", "x", "--prop-default", "k", "-o", filepath.Join(dir, "x.ova")}, exitUsage, "--prop-default"},
		{[]string{"--disk", filepath.Join(dir, "none"), "--name", "x", "-o", filepath.Join(dir, "x.ova")}, exitUsage, "--disk"},
	}
	if _, err := exec.LookPath("qemu-img"); err == nil {
		tests = append(tests, struct {
			args []string
			code int
			want string
		}{[]string{"--disk", disk, "--name", "x", "--cpus", "1", "--memory", "256", "--prop-default", "hostname=app", "-o", filepath.Join(dir, "x.ova")}, exitOK, "wrote"})
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, code := execute(t, append([]string{"ova"}, tt.args...)...)
			if code != tt.code || !strings.Contains(out, tt.want) {
				t.Errorf("ova %v = exit %d, %q; want exit %d and %q", tt.args, code, out, tt.code, tt.want)
			}
		})
	}
}
