package rootfs

import (
	"os"
	"path/filepath"
	"testing"
)

// ReadDir of the root itself lists it on every OS (a spool directory is
// opened as the root; on Windows this failed with "names the root
// directory").
func TestReadDirRoot(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, name := range []string{"/", "."} {
		ents, err := f.ReadDir(name)
		if err != nil || len(ents) != 1 || ents[0].Name() != "a" {
			t.Errorf("ReadDir(%q) = %v, %v; want [a]", name, ents, err)
		}
	}
}
