package users

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestReplaceKeepsLabel checks that a replaced database file keeps the
// SELinux label of the one it replaces (the xattr is copied; the kernel
// need not run SELinux for the attribute to be stored, but root must).
func TestReplaceKeepsLabel(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, baseSystem)
	label := []byte("system_u:object_r:passwd_file_t:s0\x00")
	for _, f := range []string{"etc/passwd", "etc/shadow"} {
		if err := unix.Setxattr(filepath.Join(root, f), selinuxXattr, label, 0); err != nil {
			t.Skipf("cannot set %s here (need root and a file system with security xattrs): %v", selinuxXattr, err)
		}
	}
	m := &Manager{Root: root, Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return testDay }}
	if _, err := m.Ensure(context.Background(), User{Name: "bob"}); err != nil {
		t.Fatalf("Ensure() = %v", err)
	}
	for _, f := range []string{"etc/passwd", "etc/shadow", "etc/passwd-"} {
		if got := getLabel(filepath.Join(root, f)); !bytes.Equal(got, label) {
			t.Errorf("label of %s = %q, want %q", f, got, label)
		}
	}
	if got := getLabel(filepath.Join(root, "etc/group")); got != nil {
		t.Errorf("label of etc/group = %q, want none (it had none)", got)
	}
	if _, err := os.Stat(filepath.Join(root, "etc/passwd")); err != nil {
		t.Fatal(err)
	}
}
