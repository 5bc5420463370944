package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	if fi, _ := os.Stat(p); fi.Mode().Perm()&0o007 != 0 {
		t.Errorf("%s mode %04o: world-readable", p, fi.Mode().Perm())
	}
	// --log-file "" logs to the console only.
	root2 := t.TempDir()
	execute(t, "run", "--root", root2, "--env", env, "--log-file", "")
	if _, err := os.Stat(filepath.Join(root2, defaultLogFile)); err == nil {
		t.Errorf("run --log-file \"\" wrote %s", defaultLogFile)
	}
}
