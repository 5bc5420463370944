//go:build unix

package rootfs

import (
	"os"
	"path/filepath"
	"testing"
)

// TestWriteFileNoSync: a write with NoSync replaces the file atomically
// like any other, without an fsync of the file or its directory; a
// normal write makes both. The agent's status between steps is written
// so (about 150 fsyncs per first boot before, issue 20).
func TestWriteFileNoSync(t *testing.T) {
	calls := 0
	fsync = func(fd int) error { calls++; return nil }
	t.Cleanup(func() { fsync = realFsync })
	root := t.TempDir()
	for _, tc := range []struct {
		name      string
		write     func(name string, data []byte) error
		wantSyncs int
	}{
		{"WriteFileAt", func(n string, d []byte) error { return WriteFileAt(root, n, d, 0o644) }, 2},
		{"WriteFileAtNoSync", func(n string, d []byte) error { return WriteFileAtNoSync(root, n, d, 0o644) }, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i, content := range []string{"one\n", "two\n"} {
				calls = 0
				if err := tc.write("/var/lib/ovfinit/status.json", []byte(content)); err != nil {
					t.Fatalf("%s(status.json) = %v", tc.name, err)
				}
				if calls != tc.wantSyncs {
					t.Errorf("write %d: %s made %d fsyncs, want %d", i, tc.name, calls, tc.wantSyncs)
				}
				b, err := os.ReadFile(filepath.Join(root, "var/lib/ovfinit/status.json"))
				if err != nil || string(b) != content {
					t.Errorf("status.json = %q, %v; want %q", b, err, content)
				}
			}
			left, _ := filepath.Glob(filepath.Join(root, "var/lib/ovfinit/.status.json.ovfinit-*"))
			if len(left) != 0 {
				t.Errorf("temporary files left: %q", left)
			}
		})
	}
}
