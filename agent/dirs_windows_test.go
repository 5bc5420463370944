package agent

import (
	"os"
	"path/filepath"
	"testing"
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
