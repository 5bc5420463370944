package fsutil

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// winPerm is what os.Stat reports for a file created with perm: on Windows
// only the read-only attribute exists, shown as 0444, else 0666.
func winPerm(perm os.FileMode) os.FileMode {
	if runtime.GOOS != "windows" {
		return perm
	}
	if perm&0o200 == 0 {
		return 0o444
	}
	return 0o666
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a", "b", "f")
	if err := WriteFile(p, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("two"), 0o640); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil || string(got) != "two" {
		t.Fatalf("ReadFile = %q, %v, want %q", got, err, "two")
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm() != winPerm(0o640) {
		t.Errorf("mode = %v, want %v", fi.Mode().Perm(), winPerm(0o640))
	}
	ents, _ := os.ReadDir(filepath.Dir(p))
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries, want 1 (temp file left behind?)", len(ents))
	}
}

func TestReadFileLimit(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, []byte("12345"), 0o600)
	if got, err := ReadFileLimit(p, 5); err != nil || string(got) != "12345" {
		t.Errorf("ReadFileLimit(5) = %q, %v, want 12345", got, err)
	}
	if _, err := ReadFileLimit(p, 4); err == nil {
		t.Errorf("ReadFileLimit(4) of a 5-byte file succeeded, want error")
	}
}
