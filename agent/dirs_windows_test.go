package agent

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// On Windows the state and runtime directories are made, with their DACL,
// before the first step writes (issue 17 bug 3), and EndBoot deletes the
// runtime directory's secrets, as the end of the boot empties a tmpfs.
func TestWindowsDirsAndEndBoot(t *testing.T) {
	root := t.TempDir()
	e := &Env{Root: root, StateDir: "/ProgramData/ovfinit/state"}
	if err := secureDirs(e); err != nil {
		t.Fatalf("secureDirs() = %v", err)
	}
	run := filepath.Join(root, filepath.FromSlash(DefaultRuntimeDir))
	for _, d := range []string{filepath.Join(root, "ProgramData", "ovfinit", "state"), run} {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			t.Fatalf("stat %s = %v, %v; want a directory", d, fi, err)
		}
		checkPrivate(t, d)
	}
	if err := e.writeFile(e.runtimePath(savedCallbackFile), []byte(`{"secret":"x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	checkPrivate(t, filepath.Join(run, savedCallbackFile))
	if err := e.EndBoot(); err != nil {
		t.Fatalf("EndBoot() = %v", err)
	}
	if ents, err := os.ReadDir(run); err != nil || len(ents) != 0 {
		t.Errorf("runtime directory after EndBoot = %v, %v; want it empty", ents, err)
	}
}

// The system drive's root is the running system, as "/" is: the Wine
// end-to-end run names C:\ because "/" is the current drive, Z: there.
func TestLiveRootWindows(t *testing.T) {
	t.Setenv("SystemDrive", "C:")
	for root, want := range map[string]bool{"/": true, `\`: true, `C:\`: true, `c:\`: true, `C:\img`: false, t.TempDir(): false} {
		if got := liveRoot(root); got != want {
			t.Errorf("liveRoot(%q) = %v, want %v", root, got, want)
		}
	}
}

// A machine reset or powered off hard never ran EndBoot: the next start
// deletes the runtime directory's files written before Windows started
// (Windows has no tmpfs that would lose them), and keeps this boot's (an
// agent restarted in the same boot).
func TestWindowsStaleSecretsDeleted(t *testing.T) {
	root := t.TempDir()
	run := filepath.Join(root, filepath.FromSlash(DefaultRuntimeDir))
	if err := os.MkdirAll(run, 0o700); err != nil {
		t.Fatal(err)
	}
	old, fresh := filepath.Join(run, savedCallbackFile), filepath.Join(run, "ovf-env.xml")
	for _, p := range []string{old, fresh} {
		if err := os.WriteFile(p, []byte("secret"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	long := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC) // before any boot of this machine
	if err := os.Chtimes(old, long, long); err != nil {
		t.Fatal(err)
	}
	e := &Env{Root: root, Log: slog.New(slog.NewTextHandler(t.Output(), nil))}
	if err := secureDirs(e); err != nil {
		t.Fatalf("secureDirs() = %v", err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("stat %s (written in 2001, before this boot) = %v; want it deleted", old, err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("stat %s (written in this boot) = %v; want it kept", fresh, err)
	}
}
