//go:build unix

package callback

import (
	"path/filepath"
	"testing"

	"github.com/ovfinit/ovfinit/internal/imagelink"
)

// TestSpoolStaysInImage: a spool opened under an offline image tree whose
// var is an absolute link to the build host's directory (a temporary
// directory standing for it) keeps its files inside the image, where the
// link leads when resolved in the tree, never in the host's directory
// (issue 13, defect 1).
func TestSpoolStaysInImage(t *testing.T) {
	tree := imagelink.New(t, "", "var")
	root, hostVar := tree.Root, tree.Host
	s := NewSender(testLogger(t), "boot1")
	defer s.Close()
	emitSteps(s, 1, 1)
	err := s.OpenSpoolAt(root, "/var/lib/ovfinit/spool")
	emitSteps(s, 2, 2)
	if ents := tree.Leaked(); len(ents) > 0 {
		t.Errorf("OpenSpoolAt(image with var -> %s) = %v and wrote onto the build host: %v", hostVar, err, ents)
	}
	if err != nil {
		t.Fatalf("OpenSpoolAt() = %v, want the spool inside the image", err)
	}
	if got := spoolIDs(t, filepath.Join(root, hostVar, "lib/ovfinit/spool")); len(got) != 3 {
		t.Errorf("spool inside the image = %v, want the 3 events", got)
	}
}
