package main

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestLayout keeps the package map in README.md honest: every package says
// its job in a doc comment, and the capability packages never import the
// agent or the CLI (the agent wires them, not the other way round).
func TestLayout(t *testing.T) {
	const module = "github.com/ovfinit/ovfinit"
	top := filepath.Join("..", "..")
	capabilities := []string{"ovfenv", "netcfg", "users", "sshd", "scripts", "callback", "packaging", "internal"}
	seen := 0
	err := filepath.WalkDir(top, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if name := d.Name(); path != top && (strings.HasPrefix(name, ".") || name == "testdata") {
			return filepath.SkipDir
		}
		pkgs, err := parser.ParseDir(token.NewFileSet(), path, func(fi fs.FileInfo) bool {
			return !strings.HasSuffix(fi.Name(), "_test.go")
		}, parser.ParseComments|parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(top, path)
		rel = filepath.ToSlash(rel)
		for _, pkg := range pkgs {
			seen++
			hasDoc := false
			for _, f := range pkg.Files {
				if f.Doc != nil && strings.TrimSpace(f.Doc.Text()) != "" {
					hasDoc = true
				}
				for _, imp := range f.Imports {
					p, _ := strconv.Unquote(imp.Path.Value)
					for _, c := range capabilities {
						if (rel == c || strings.HasPrefix(rel, c+"/")) &&
							(p == module+"/agent" || strings.HasPrefix(p, module+"/cmd/")) {
							t.Errorf("%s imports %s: capability packages must not import the agent or the CLI", rel, p)
						}
					}
				}
			}
			if !hasDoc {
				t.Errorf("package %s (%s) has no doc comment saying its job", pkg.Name, rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen < 10 {
		t.Errorf("found %d packages, want the whole tree (walked from %s)", seen, top)
	}
	if _, err := os.Stat(filepath.Join(top, "go.mod")); err != nil {
		t.Errorf("walked from %s, which is not the module root: %v", top, err)
	}
}
