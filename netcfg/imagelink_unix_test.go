//go:build unix

package netcfg

import (
	"os"
	"path/filepath"
	"testing"
)

// TestDetectManagerStaysInImage: an offline image tree whose usr is an
// absolute link to the build host's directory (a temporary directory
// standing for it, with NetworkManager) is judged by what the image has,
// where the link leads when resolved in the tree, never by the build host's
// programs (issue 13, defect 1).
func TestDetectManagerStaysInImage(t *testing.T) {
	hostUsr := filepath.Join(t.TempDir(), "host-usr")
	if err := os.MkdirAll(filepath.Join(hostUsr, "sbin"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(hostUsr, "sbin", "NetworkManager"), []byte("#!/bin/sh\n"), 0o755)
	root := t.TempDir()
	if err := os.Symlink(hostUsr, filepath.Join(root, "usr")); err != nil {
		t.Fatal(err)
	}
	if m := DetectManager(root); m != ManagerNone {
		t.Errorf("DetectManager(image with usr -> %s, no manager of its own) = %q, want %q: the build host's NetworkManager is not the image's", hostUsr, m, ManagerNone)
	}
}
