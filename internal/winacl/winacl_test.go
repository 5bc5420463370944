package winacl

import (
	"path/filepath"
	"runtime"
	"testing"
)

func TestMkdirAllMakesTree(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b", "c")
	if err := MkdirAll(dir, 0o700); err != nil {
		t.Fatalf("MkdirAll(%s) = %v", dir, err)
	}
	if err := MkdirAll(dir, 0o700); err != nil {
		t.Fatalf("MkdirAll(%s) again = %v", dir, err)
	}
	if _, err := DACL(dir); (err == nil) != (runtime.GOOS == "windows") {
		t.Errorf("DACL on %s = %v", runtime.GOOS, err)
	}
}
