//go:build unix

package users

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovfinit/ovfinit/internal/imagelink"
)

// TestReadImageStaysInImage: the account database of an offline image tree
// whose etc is an absolute link to the build host's directory (a temporary
// directory standing for it) is the image's, where the link leads when
// resolved in the tree, never the build host's (issue 13, defect 1).
func TestReadImageStaysInImage(t *testing.T) {
	tree := imagelink.New(t, "", "etc")
	hostEtc, root := tree.Host, tree.Root
	for dir, passwd := range map[string]string{
		tree.Host:   "root:x:0:0:root:/root:/bin/sh\nbuildhost:x:1000:1000::/home/buildhost:/bin/sh\n",
		tree.Inside: "root:x:0:0:root:/root:/bin/sh\nimageuser:x:1000:1000::/home/imageuser:/bin/sh\n",
	} {
		os.WriteFile(filepath.Join(dir, "passwd"), []byte(passwd), 0o644)
		os.WriteFile(filepath.Join(dir, "group"), []byte("root:x:0:\n"), 0o644)
	}
	img, err := ReadImage(root)
	if err != nil {
		t.Fatalf("ReadImage(image with etc -> %s) = %v", hostEtc, err)
	}
	if img.DB.HasUser("buildhost") || !img.DB.HasUser("imageuser") {
		t.Errorf("ReadImage(image with etc -> %s): buildhost %v, imageuser %v; want the image's accounts, not the build host's", hostEtc, img.DB.HasUser("buildhost"), img.DB.HasUser("imageuser"))
	}
}

// TestPlanSealStaysInImage: sealing an offline image tree whose var is an
// absolute link to the build host's directory lists the image's logs (where
// the link leads when resolved in the tree), never the build host's.
func TestPlanSealStaysInImage(t *testing.T) {
	tree := imagelink.New(t, "", "var")
	hostVar, root := tree.Host, tree.Root
	for dir, log := range map[string]string{tree.Host: "host.log", tree.Inside: "image.log"} {
		if err := os.MkdirAll(filepath.Join(dir, "log"), 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "log", log), []byte("a line\n"), 0o644)
	}
	items, err := PlanSeal(root, "/var/lib/ovfinit", "")
	if err != nil {
		t.Fatalf("PlanSeal() = %v", err)
	}
	var got []string
	for _, it := range items {
		if strings.HasPrefix(it.Path, "/var/log/") {
			got = append(got, it.Action+" "+it.Path)
		}
	}
	if len(got) != 1 || got[0] != "truncate /var/log/image.log" {
		t.Errorf("PlanSeal(image with var -> %s) logs = %q, want [truncate /var/log/image.log], never the build host's", hostVar, got)
	}
}
