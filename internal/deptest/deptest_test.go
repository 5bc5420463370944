package deptest

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// guest are the packages that run inside the VM, as `go list` patterns
// relative to the module root.
var guest = []string{"./agent/...", "./ovfenv/...", "./netcfg/...", "./users/...", "./sshd/...", "./scripts/...", "./callback/...", "./internal/..."}

// bad are import path prefixes no guest package may depend on, and why.
var bad = map[string]string{
	"github.com/ovfinit/ovfinit/manager":   "manager tooling (env make, descriptor, ova, watch --web)",
	"github.com/ovfinit/ovfinit/packaging": "packaging tooling",
	"github.com/ovfinit/ovfinit/cmd":       "the command line",
	"github.com/ovfinit/ovfinit/e2e":       "the VM tests",
	"github.com/diskfs/go-diskfs":          "ISO writing is the manager's (manager/envmake)",
	"github.com/goreleaser/nfpm":           "Linux packaging",
	"github.com/vmware/govmomi":            "vSphere client (tests, manager)",
	"github.com/spf13/cobra":               "the command line (cmd/ovfinit)",
	"github.com/go-git/":                   "nfpm's dependencies",
}

// pkg is what the test reads of `go list -json`.
type pkg struct {
	ImportPath string
	Standard   bool
	CgoFiles   []string
	Imports    []string
	Deps       []string
}

func TestGuestDeps(t *testing.T) {
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := exec.LookPath(gobin); err != nil {
		// Also the Windows test binary under Wine: it sees the Linux
		// host's GOROOT but cannot run its go command.
		t.Skipf("no go command to run at %s: %v", gobin, err)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, goos := range []string{"linux", "windows", "freebsd"} {
		t.Run(goos, func(t *testing.T) {
			// Cgo enabled, so a package that would use it (import "C",
			// or the standard library's cgo paths pulled in on purpose)
			// shows its cgo files.
			cmd := exec.CommandContext(t.Context(), gobin, append([]string{"list", "-json", "-deps"}, guest...)...)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH=amd64", "CGO_ENABLED=1")
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("GOOS=%s go list -deps: %v\n%s", goos, err, stderr.String())
			}
			var pkgs []pkg
			for dec := json.NewDecoder(strings.NewReader(string(out))); ; {
				var p pkg
				if err := dec.Decode(&p); errors.Is(err, io.EOF) {
					break
				} else if err != nil {
					t.Fatalf("reading go list output: %v", err)
				}
				pkgs = append(pkgs, p)
			}
			if len(pkgs) < 50 {
				t.Fatalf("go list gave %d packages, want the guest packages and their dependencies", len(pkgs))
			}
			isGuest := map[string]bool{}
			for _, p := range pkgs {
				for _, g := range guest {
					if strings.HasPrefix(p.ImportPath, "github.com/ovfinit/ovfinit/"+strings.TrimSuffix(strings.TrimPrefix(g, "./"), "/...")) {
						isGuest[p.ImportPath] = true
					}
				}
			}
			for _, p := range pkgs {
				for prefix, why := range bad {
					if strings.HasPrefix(p.ImportPath, prefix) {
						t.Errorf("GOOS=%s: a guest package depends on %s: %s (%s)", goos, p.ImportPath, why, importers(pkgs, p.ImportPath))
					}
				}
				// The standard library's own cgo paths (net, os/user) are
				// off in the release build (CGO_ENABLED=0); a package of
				// ours or a module's that needs cgo would not be.
				if !p.Standard && (len(p.CgoFiles) > 0 || slices.Contains(p.Imports, "runtime/cgo")) {
					t.Errorf("GOOS=%s: %s uses cgo (%s); the agent is a static binary", goos, p.ImportPath, strings.Join(p.CgoFiles, ", "))
				}
			}
			if len(isGuest) < 8 {
				t.Errorf("GOOS=%s: found %d guest packages, want at least 8: %v", goos, len(isGuest), isGuest)
			}
		})
	}
}

// importers names the packages of pkgs that import path directly.
func importers(pkgs []pkg, path string) string {
	var by []string
	for _, p := range pkgs {
		for _, i := range p.Imports {
			if i == path {
				by = append(by, p.ImportPath)
			}
		}
	}
	return "imported by " + strings.Join(by, ", ")
}
