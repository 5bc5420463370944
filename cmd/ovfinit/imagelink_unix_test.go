//go:build unix

package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ovfinit/ovfinit/internal/imagelink"
)

// TestRunStaysInImage: `run --root` against an offline image tree whose var
// is an absolute link to the build host's directory (here a temporary
// directory standing for it) keeps its log file, callback spool and status
// inside the image, where the link leads when resolved in the tree, and
// writes nothing into the host's directory (issue 13, defect 1).
func TestRunStaysInImage(t *testing.T) {
	tree := imagelink.New(t, testRoot(t, ""), "var")
	root, hostVar := tree.Root, tree.Host
	env := filepath.Join(t.TempDir(), "ovf-env.xml")
	os.WriteFile(env, []byte(`<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1"><PropertySection>`), 0o600)
	out, code := execute(t, "run", "--root", root, "--env", env)
	if code != exitFailed {
		t.Fatalf("run with a truncated env = exit %d, %q", code, out)
	}
	if leaked := tree.Leaked(); len(leaked) > 0 {
		t.Errorf("run --root on an image with var -> %s wrote onto the build host: %v", hostVar, leaked)
	}
	inImage := tree.Inside
	for _, p := range []string{"log/ovfinit/ovfinit.log", "lib/ovfinit/status.private.json", "lib/ovfinit/spool"} {
		if _, err := os.Lstat(filepath.Join(inImage, p)); err != nil {
			t.Errorf("run --root: %v; want /var/%s inside the image", err, p)
		}
	}
	if _, code := execute(t, "status", "--root", root); code != exitFailed {
		t.Errorf("status --root after the failed run = exit %d, want %d (the image's status)", code, exitFailed)
	}
}
