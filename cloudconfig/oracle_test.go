package cloudconfig

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// acceptDocs are testdata/accept/*.yaml: documents ovfinit applies whole.
func acceptDocs(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "accept", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/accept documents: %v", err)
	}
	return files
}

func TestAcceptDocs(t *testing.T) {
	for _, f := range acceptDocs(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(data); err != nil {
			t.Errorf("Parse(%s) = %v, want it accepted", f, err)
		}
	}
}

// cloudInitTree is Debian's cloud-init package unpacked by e2e/prepare.sh
// (not installed: it would run at boot); "" when it is not there.
func cloudInitTree() string {
	cache := os.Getenv("OVFINIT_E2E_CACHE")
	if cache == "" {
		cache = "/var/cache/ovfinit-e2e"
	}
	dir := filepath.Join(cache, "cloud-init")
	if _, err := os.Stat(filepath.Join(dir, ".ready")); err != nil {
		return ""
	}
	return dir
}

// schemaCheck validates each file with cloud-init's own schema and prints
// "valid FILE" or "invalid FILE: why", one line each.
const schemaCheck = `
import sys
from cloudinit.config import schema
s = schema.get_schema()
for f in sys.argv[1:]:
    try:
        schema.validate_cloudconfig_file(f, s, annotate=False)
        print("valid", f)
    except Exception as e:
        print("invalid", f + ":", str(e).replace("\n", " "))
`

// TestCloudInitAgrees: every document ovfinit accepts is valid for
// cloud-init's own schema (Debian 12's cloud-init 22.4 as the oracle), so
// ovfinit does not apply what cloud-init would refuse.
func TestCloudInitAgrees(t *testing.T) {
	tree := cloudInitTree()
	if tree == "" {
		t.Skip("cloud-init is not unpacked in the e2e cache (run e2e/prepare.sh)")
	}
	if _, err := exec.LookPath("/usr/bin/python3"); err != nil {
		// The Windows test binary under Wine sees the Linux cache
		// but cannot run the host's python3.
		t.Skipf("cloud-init's schema check needs the Linux host's python3: %v", err)
	}
	files := acceptDocs(t)
	cmd := exec.Command("/usr/bin/python3", append([]string{"-c", schemaCheck}, files...)...)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+filepath.Join(tree, "usr/lib/python3/dist-packages"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cloud-init's schema check: %v\n%s", err, out)
	}
	valid, invalid := 0, 0
	for _, l := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(l, "valid "):
			valid++
		case strings.HasPrefix(l, "invalid "):
			invalid++
			t.Errorf("ovfinit accepts what cloud-init refuses: %s", l)
		}
	}
	if valid+invalid != len(files) {
		t.Fatalf("cloud-init gave %d verdicts for %d documents:\n%s", valid+invalid, len(files), out)
	}
	t.Logf("cloud-init's schema: %d of %d accepted documents valid", valid, len(files))
}
