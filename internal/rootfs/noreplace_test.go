package rootfs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteFileNoReplace: with NoReplace a new file appears whole, and an
// existing one is never replaced (host keys rely on it).
func TestWriteFileNoReplace(t *testing.T) {
	dir := t.TempDir()
	f, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	o := Keep
	o.NoReplace = true
	if err := f.WriteFile("/a/key", []byte("first"), 0o600, o); err != nil {
		t.Fatalf("WriteFile(new, NoReplace) = %v, want nil", err)
	}
	if err := f.WriteFile("/a/key", []byte("second"), 0o600, o); !errors.Is(err, fs.ErrExist) {
		t.Errorf("WriteFile(existing, NoReplace) = %v, want an error wrapping fs.ErrExist", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a", "key")); string(b) != "first" {
		t.Errorf("key = %q after a NoReplace write over it, want %q", b, "first")
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "a")); len(ents) != 1 {
		t.Errorf("directory holds %d entries, want only the key (no temporary file left)", len(ents))
	}
}
