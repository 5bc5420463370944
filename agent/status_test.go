package agent

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ovfinit/ovfinit/internal/wine"
)

// TestPublicStatusModes (issue 18): the world-readable status lives apart
// from the state directory, in a directory any user can enter (0755 even
// when it was made 0700, as a umask of 077 does) and as a file any user
// can read (0644); a symlink in its place is refused, not followed.
func TestPublicStatusModes(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, DefaultStatusDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	st := &Status{Phase: PhaseReady, Boot: "b1", Steps: []StepStatus{{Name: "hostname", Status: "ok"}}}
	if err := st.writePublic(root, ""); err != nil {
		t.Fatalf("writePublic() = %v", err)
	}
	p := PublicStatusPath(root, "")
	if want := filepath.Join(root, filepath.FromSlash(DefaultStatusDir), "status.json"); p != want {
		t.Errorf("PublicStatusPath(%q, \"\") = %q, want %q", root, p, want)
	}
	if runtime.GOOS == "windows" {
		// No modes there: the directory keeps ProgramData's DACL (users
		// may read), apart from %ProgramData%\ovfinit's.
		wine.SkipMissing(t, "CreateSymbolicLinkW", "it reports success and creates no link (the rest of the test is a link in place of the directory)")
	}
	for path, want := range map[string]os.FileMode{dir: 0o755, p: 0o644} {
		if runtime.GOOS == "windows" {
			break
		}
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
			t.Errorf("stat %s = %v, %v; want mode %v", path, fi.Mode(), err, want)
		}
	}

	// A symlink where the directory should be is refused.
	root2 := t.TempDir()
	elsewhere := t.TempDir()
	os.MkdirAll(filepath.Dir(filepath.Join(root2, DefaultStatusDir)), 0o755)
	if err := os.Symlink(elsewhere, filepath.Join(root2, DefaultStatusDir)); err != nil {
		t.Fatal(err)
	}
	if err := st.writePublic(root2, ""); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("writePublic() over a symlinked directory = %v, want a 'not a directory' error", err)
	}
	if ents, _ := os.ReadDir(elsewhere); len(ents) != 0 {
		t.Errorf("writePublic() wrote %d files through the symlink", len(ents))
	}
}
