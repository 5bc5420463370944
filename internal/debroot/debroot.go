// Package debroot gives tests a writable copy of the Debian root that make
// prepare debootstraps (e2e/prepare.sh), mounted through an overlay so that
// the cached root stays clean: for tests that install into a real Debian
// system with chroot.
package debroot

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// DefaultCacheDir is prepare.sh's cache when OVFINIT_E2E_CACHE is unset.
const DefaultCacheDir = "/var/cache/ovfinit-e2e"

// Dir is the cached Debian root: $OVFINIT_E2E_CACHE/debian-root.
func Dir() string {
	cache := os.Getenv("OVFINIT_E2E_CACHE")
	if cache == "" {
		cache = DefaultCacheDir
	}
	return filepath.Join(cache, "debian-root")
}

// Overlay mounts the cached Debian root writable through an overlay in
// dir (upper, work and the merged root), unmounted when the test ends,
// and returns the merged root. It skips the test when prepare has made no
// root, when it does not run as root, or when no overlay can be mounted.
func Overlay(t testing.TB, dir string) string {
	t.Helper()
	lower := Dir()
	if _, err := os.Stat(filepath.Join(lower, ".ready")); err != nil {
		t.Skipf("no Debian root at %s: run make prepare (it debootstraps one)", lower)
	}
	if os.Geteuid() != 0 {
		t.Skip("mounting an overlay and chroot need root")
	}
	upper, work, merged := filepath.Join(dir, "upper"), filepath.Join(dir, "work"), filepath.Join(dir, "root")
	for _, d := range []string{upper, work, merged} {
		os.Mkdir(d, 0o755)
	}
	mount := exec.Command("mount", "-t", "overlay", "overlay", "-o", "lowerdir="+lower+",upperdir="+upper+",workdir="+work, merged)
	if out, err := mount.CombinedOutput(); err != nil {
		t.Skipf("cannot mount an overlay here: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", merged).Run() })
	return merged
}
