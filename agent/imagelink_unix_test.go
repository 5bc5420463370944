//go:build unix

package agent

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

// TestOfflineWriteStaysInImage: in an offline image tree whose etc is an
// absolute link to the build host's directory, writing the host name must
// fail or land inside the image, never change the build host's file
// (issue 13, defect 1). The "host" here is a temporary directory.
func TestOfflineWriteStaysInImage(t *testing.T) {
	host := t.TempDir()
	for _, f := range []string{"hostname", "hosts"} {
		if err := os.WriteFile(filepath.Join(host, f), []byte("build-host\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	root := t.TempDir()
	if err := os.Symlink(host, filepath.Join(root, "etc")); err != nil {
		t.Fatal(err)
	}
	e := &Env{Root: root, Log: slog.New(slog.NewTextHandler(t.Output(), nil)), Plan: &Plan{Hostname: "web1.example.com"}}
	err := setHostname(context.Background(), e)
	for _, f := range []string{"hostname", "hosts"} {
		if b, _ := os.ReadFile(filepath.Join(host, f)); string(b) != "build-host\n" {
			t.Errorf("setHostname on an image with etc -> %s changed the build host's %s to %q (err %v)", host, f, b, err)
		}
	}
	if err == nil {
		if b, rerr := os.ReadFile(filepath.Join(root, host, "hostname")); rerr != nil || string(b) != "web1\n" {
			t.Errorf("setHostname = nil, but the image's hostname (%s inside the root) = %q, %v", host, b, rerr)
		}
	}
}
