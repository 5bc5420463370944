package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ovfinit/ovfinit/internal/wine"
)

// TestRunLogFile: run logs to the file under --root as well as the console.
func TestRunLogFile(t *testing.T) {
	root := t.TempDir()
	env := filepath.Join(root, "ovf-env.xml")
	os.WriteFile(env, []byte(`<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1"><PropertySection>`), 0o600)
	out, code := execute(t, "run", "--root", root, "--env", env)
	if code != exitFailed {
		t.Fatalf("run with a truncated env = exit %d, %q", code, out)
	}
	p := filepath.Join(root, defaultLogFile)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("log file: %v", err)
	}
	if !strings.Contains(string(data), "parse-environment") {
		t.Errorf("%s does not mention the failed step:\n%s", p, data)
	}
	if runtime.GOOS == "windows" {
		wine.CheckPrivate(t, p) // %ProgramData%\ovfinit\log's DACL
	} else if fi, _ := os.Stat(p); fi.Mode().Perm()&0o007 != 0 {
		t.Errorf("%s mode %04o: world-readable", p, fi.Mode().Perm())
	}
	// --log-file "" logs to the console only.
	root2 := t.TempDir()
	execute(t, "run", "--root", root2, "--env", env, "--log-file", "")
	if _, err := os.Stat(filepath.Join(root2, defaultLogFile)); err == nil {
		t.Errorf("run --log-file \"\" wrote %s", defaultLogFile)
	}
}

// TestLogFileRotates: the log file is rotated by size, one old copy kept,
// so a server that logs for months cannot fill /var.
func TestLogFileRotates(t *testing.T) {
	old := logFileMax
	logFileMax = 4096
	t.Cleanup(func() { logFileMax = old })
	root := t.TempDir()
	p := filepath.Join(root, defaultLogFile)
	os.MkdirAll(filepath.Dir(p), 0o750)
	// A file already over the limit (an earlier boot's) is rotated at the
	// first write.
	os.WriteFile(p, []byte(strings.Repeat("old line\n", 1000)), 0o640)
	log, closeLog, err := addLogSinks(slog.New(slog.DiscardHandler), "info", root, defaultLogFile)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 500 {
		log.Info("a line long enough to fill the file in a few hundred records", "i", i)
	}
	closeLog()
	for _, f := range []string{p, p + ".1"} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatalf("%s: %v (want the log and one rotated copy)", f, err)
		}
		if fi.Size() > logFileMax {
			t.Errorf("%s is %d bytes, want at most %d", f, fi.Size(), logFileMax)
		}
		if runtime.GOOS == "windows" {
			wine.CheckPrivate(t, f)
		} else if fi.Mode().Perm() != 0o640 {
			t.Errorf("%s mode %04o, want 0640", f, fi.Mode().Perm())
		}
	}
	if _, err := os.Stat(p + ".2"); err == nil {
		t.Errorf("%s.2 exists: want one old copy only", p)
	}
	data, _ := os.ReadFile(p)
	if !strings.Contains(string(data), "i=499") {
		t.Errorf("the last record is not in %s", p)
	}
}
