package agent

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ovfinit/ovfinit/ovfenv"
)

// TestPropertiesInKeyTable reads every Prop* constant in this package's
// source and checks that ovfenv's key table (the source of the docs and of
// the OVF descriptor) describes it.
func TestPropertiesInKeyTable(t *testing.T) {
	fset := token.NewFileSet()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, s := range gd.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if !strings.HasPrefix(n.Name, "Prop") || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						continue
					}
					key, _ := strconv.Unquote(lit.Value)
					found++
					if _, ok := ovfenv.LookupKey(key); !ok {
						t.Errorf("%s = %q is not in ovfenv.Keys(): add it to the ovfenv/keys_*.go table", n.Name, key)
					}
				}
			}
		}
	}
	if found < 5 {
		t.Fatalf("found only %d Prop* constants; the source scan is broken", found)
	}
}
