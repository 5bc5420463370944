package agent

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestAgentOnlyOrchestrates keeps capability logic out of agent
// (docs/architecture.md): no property values parsed by hand (the key
// table's getters and the capabilities' parsers do that), no XML or YAML,
// no key generation, no file written behind the rooted file system.
func TestAgentOnlyOrchestrates(t *testing.T) {
	forbiddenImports := []string{"encoding/xml", "encoding/base64", "gopkg.in/yaml", "crypto/ed25519", "crypto/rsa", "crypto/ecdsa", "go.starlark.net"}
	forbiddenCalls := map[string][]string{
		"strings": {"Split", "SplitN", "SplitAfter", "Fields", "FieldsFunc", "Cut", "ContainsAny"},
		"bytes":   {"Split", "Fields", "Cut"},
		// A property is read through the key table's getters (Text, Int,
		// SetUnder, Later, ...), which know what "unset" means.
		"ovfenv":  {"IsUnset"},
		"strconv": {"Atoi", "ParseInt", "ParseUint", "ParseBool", "ParseFloat"},
		"os":      {"WriteFile", "Create", "OpenFile"},
		"gossh":   {"ParseAuthorizedKey", "ParsePublicKey", "ParsePrivateKey"},
	}
	// user-data is decoded and parsed once per boot, by BuildPlan; the
	// saved copy's redaction reuses what it parsed.
	once := map[string]int{"cloudconfig.UserData": 1, "cloudconfig.DecodeUserData": 0, "cloudconfig.Parse": 1}
	calls := map[string][]string{}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			for _, bad := range forbiddenImports {
				if p == bad || strings.HasPrefix(p, bad+"/") || strings.HasPrefix(p, bad+".") {
					t.Errorf("%s imports %s: that belongs in a capability package", fset.Position(imp.Pos()), p)
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			pkg, ok := sel.X.(*ast.Ident)
			if !ok {
				return true
			}
			if _, ok := once[pkg.Name+"."+sel.Sel.Name]; ok {
				calls[pkg.Name+"."+sel.Sel.Name] = append(calls[pkg.Name+"."+sel.Sel.Name], fset.Position(sel.Pos()).String())
			}
			for _, fn := range forbiddenCalls[pkg.Name] {
				if sel.Sel.Name == fn {
					t.Errorf("%s: %s.%s: parsing values and writing files belong in a capability package (or the key table's getters)", fset.Position(sel.Pos()), pkg.Name, fn)
				}
			}
			return true
		})
	}
	for fn, n := range once {
		if len(calls[fn]) != n {
			t.Errorf("%s is called at %v; want %d place(s): user-data is decoded and parsed once per boot (BuildPlan)", fn, calls[fn], n)
		}
	}
	if checked < 10 {
		t.Fatalf("checked %d files; the test is not looking at agent's sources", checked)
	}
}
