//go:build unix

package ovfenv

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/ovfinit/ovfinit/internal/cmdrun"
)

// TestSeedStaysInImage: in an offline image tree whose var is an absolute
// link to the build host's directory (a temporary directory standing for
// it), the seed transport reads the image's seed, where the link leads when
// resolved in the tree, never the build host's (issue 13, defect 1).
func TestSeedStaysInImage(t *testing.T) {
	hostVar := filepath.Join(t.TempDir(), "host-var")
	writeFile(t, filepath.Join(hostVar, "lib/ovfinit/seed/ovf-env.xml"), []byte("<Environment>the build host's</Environment>"))
	root := t.TempDir()
	if err := os.Symlink(hostVar, filepath.Join(root, "var")); err != nil {
		t.Fatal(err)
	}
	o := TransportOptions{Root: root, Offline: true, Run: &cmdrun.Fake{Unknown: cmdrun.NotFound}}
	if src, err := transport(t, o, TransportSeed).Probe(t.Context()); !errors.Is(err, ErrNoEnvironment) {
		t.Fatalf("seed Probe() on an image with var -> %s and no seed of its own = %+v, %v; want ErrNoEnvironment, not the build host's seed", hostVar, src, err)
	}
	writeFile(t, filepath.Join(root, hostVar, "lib/ovfinit/seed/ovf-env.xml"), sampleEnv)
	src, err := transport(t, o, TransportSeed).Probe(t.Context())
	if err != nil || !bytes.Equal(src.Data, sampleEnv) {
		t.Errorf("seed Probe() = %+v, %v; want the image's seed", src, err)
	}
}
