//go:build unix

package packaging

import (
	"os"
	"path/filepath"
	"testing"
)

// TestInstallStaysInImage: an image whose lib is an absolute link (lib ->
// /usr/lib) gets the unit in its own /usr/lib, never the build host's
// directory of that name (issue 13: the old lexical join followed it).
func TestInstallStaysInImage(t *testing.T) {
	host := t.TempDir() // stands for the build host's /usr/lib
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, host), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(host, filepath.Join(root, "lib")); err != nil {
		t.Fatal(err)
	}
	files := []File{
		{Path: "/lib/systemd/system/ovfinit.service", Data: "[Unit]\n", Mode: 0o644},
		{Path: "/lib/systemd/system/multi-user.target.wants/ovfinit.service", Link: "/lib/systemd/system/ovfinit.service"},
	}
	if err := Install(root, files, ""); err != nil {
		t.Fatalf("Install = %v", err)
	}
	if _, err := os.Lstat(filepath.Join(host, "systemd")); err == nil {
		t.Fatalf("Install wrote into the build host's directory %s", host)
	}
	if b, err := os.ReadFile(filepath.Join(root, host, "systemd/system/ovfinit.service")); err != nil || string(b) != "[Unit]\n" {
		t.Errorf("unit inside the image = %q, %v; want it written there", b, err)
	}
	if _, err := Uninstall(root, files); err != nil {
		t.Errorf("Uninstall = %v", err)
	}
	if _, err := os.Lstat(filepath.Join(root, host, "systemd/system/ovfinit.service")); err == nil {
		t.Errorf("Uninstall left the unit")
	}
}

// TestDetectInitStaysInImage: an image whose lib is an absolute link to the
// build host's directory (a temporary directory standing for it, with
// systemd) is judged by what the image has, never by the build host's init.
func TestDetectInitStaysInImage(t *testing.T) {
	hostLib := t.TempDir()
	os.MkdirAll(filepath.Join(hostLib, "systemd"), 0o755)
	os.WriteFile(filepath.Join(hostLib, "systemd", "systemd"), []byte("#!/bin/sh\n"), 0o755)
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc", "init.d"), 0o755)
	if err := os.Symlink(hostLib, filepath.Join(root, "lib")); err != nil {
		t.Fatal(err)
	}
	if got, err := DetectInit(root); got != SysV {
		t.Errorf("DetectInit(image with lib -> %s and /etc/init.d) = %q, %v; want %q, not the build host's systemd", hostLib, got, err, SysV)
	}
}
