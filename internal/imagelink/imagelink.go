// Package imagelink builds, for tests, the offline image tree that issue
// 13's defect 1 was about: a top-level directory of the tree (var, etc) is
// an absolute link to a directory of the build host. A rooted file system
// resolves that link inside the tree; following it would read or write the
// build host's files. Tests of every package that touches an image tree
// use it to check that nothing lands on (or is read from) the host.
package imagelink

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// Tree is an offline image tree whose top-level directory is an absolute
// link to Host.
type Tree struct {
	Root string // the image tree
	// Host is the directory standing for the build host's own (the
	// link's target, an absolute path); it exists, empty.
	Host string
	// Inside is where the link leads when resolved within the tree: Host
	// under Root. It exists, empty.
	Inside string
}

// New makes a Tree whose directory dir ("var", "etc") is the link, in
// root, or in a new temporary directory when root is "". The directories
// it makes are removed when the test ends.
func New(t testing.TB, root, dir string) Tree {
	t.Helper()
	if root == "" {
		root = t.TempDir()
	}
	tr := Tree{Host: filepath.Join(t.TempDir(), "host-"+dir), Root: root}
	tr.Inside = filepath.Join(tr.Root, tr.Host)
	for _, d := range []string{tr.Host, tr.Inside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(tr.Host, filepath.Join(tr.Root, dir)); err != nil {
		t.Fatal(err)
	}
	return tr
}

// Leaked lists, relative to Host, every file and directory below it: what
// was written onto the build host.
func (tr Tree) Leaked() []string {
	var out []string
	filepath.WalkDir(tr.Host, func(p string, d fs.DirEntry, err error) error {
		if err == nil && p != tr.Host {
			rel, _ := filepath.Rel(tr.Host, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}
