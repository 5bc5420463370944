//go:build unix

package agent

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/ovfinit/ovfinit/internal/imagelink"
)

// TestOfflineWriteStaysInImage: in an offline image tree whose etc is an
// absolute link to the build host's directory, writing the host name must
// fail or land inside the image, never change the build host's file
// (issue 13, defect 1). The "host" here is a temporary directory.
func TestOfflineWriteStaysInImage(t *testing.T) {
	tree := imagelink.New(t, "", "etc")
	host, root := tree.Host, tree.Root
	for _, f := range []string{"hostname", "hosts"} {
		if err := os.WriteFile(filepath.Join(host, f), []byte("build-host\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e := &Env{Root: root, Log: slog.New(slog.NewTextHandler(t.Output(), nil)), Boot: Boot{Plan: &Plan{Hostname: "web1.example.com"}}}
	_, err := setHostname(context.Background(), e)
	for _, f := range []string{"hostname", "hosts"} {
		if b, _ := os.ReadFile(filepath.Join(host, f)); string(b) != "build-host\n" {
			t.Errorf("setHostname on an image with etc -> %s changed the build host's %s to %q (err %v)", host, f, b, err)
		}
	}
	if err == nil {
		if b, rerr := os.ReadFile(filepath.Join(tree.Inside, "hostname")); rerr != nil || string(b) != "web1\n" {
			t.Errorf("setHostname = nil, but the image's hostname (%s inside the root) = %q, %v", host, b, rerr)
		}
	}
}

// TestOfflineStateStaysInImage: a whole boot against an offline image tree
// whose var and run are absolute links to the build host's directories
// must keep its state, status, saved environment, callback configuration
// and host keys inside the image (or fail), never write into the build
// host's directories (issue 13, defect 1). The "host" is a temporary
// directory outside the tree; the image has the same path inside it, where
// the links lead when resolved in the image.
func TestOfflineStateStaysInImage(t *testing.T) {
	m := newMachine(t)
	vr, run := imagelink.New(t, m.root, "var"), imagelink.New(t, m.root, "run")
	e, _, err := m.boot(fullEnv("i-1"))
	var leaked []string
	for _, tr := range []imagelink.Tree{vr, run} {
		for _, p := range tr.Leaked() {
			if fi, serr := os.Stat(filepath.Join(tr.Host, p)); serr == nil && !fi.IsDir() {
				leaked = append(leaked, filepath.Join(tr.Host, p))
			}
		}
	}
	if len(leaked) > 0 {
		t.Errorf("a boot of an image with var -> %s and run -> %s wrote onto the build host: %v (Run err %v)", vr.Host, run.Host, leaked, err)
	}
	if err != nil {
		t.Fatalf("Run() = %v, want a boot that keeps its state inside the image", err)
	}
	st, lerr := LoadState(m.root, e.statePath("state.json"))
	if lerr != nil || st.Instance != "i-1" {
		t.Errorf("Run() = nil, but the image's state = %+v, %v; want instance i-1 inside the tree", st, lerr)
	}
	if s, serr := LoadStatus(m.root, e.StateDir, e.StatusDir); serr != nil || s.Phase != PhaseReady {
		t.Errorf("Run() = nil, but the image's status = %+v, %v; want ready inside the tree", s, serr)
	}
}
