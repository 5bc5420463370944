package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// TestCPUProfile: OVFINIT_CPUPROFILE gets a profile (gzip, as pprof
// writes it) under the root, mode 0600, and never through a link.
func TestCPUProfile(t *testing.T) {
	root := t.TempDir()
	t.Setenv(cpuProfileEnv, "/run/ovfinit/cpu.pprof")
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	stop := startCPUProfile(root, log)
	for i := 0; i < 1e6; i++ {
		_ = filepath.Join("a", "b")
	}
	stop()
	p := filepath.Join(root, "run/ovfinit/cpu.pprof")
	b, err := os.ReadFile(p)
	if err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Fatalf("profile %s: %d bytes, %v; want a gzipped profile (log: %s)", p, len(b), err, logs.String())
	}
	if fi, _ := os.Stat(p); runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("profile mode %v, want 0600", fi.Mode().Perm())
	}

	if runtime.GOOS == "windows" {
		return
	}
	outside := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(outside, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(p)
	if err := os.Symlink(outside, p); err != nil {
		t.Fatal(err)
	}
	logs.Reset()
	startCPUProfile(root, log)()
	if b, _ := os.ReadFile(outside); string(b) != "keep" {
		t.Errorf("the profile was written through a link: %q", b)
	}
	if !bytes.Contains(logs.Bytes(), []byte("no CPU profile")) {
		t.Errorf("a link in the profile's place was not reported: %s", logs.String())
	}
}
