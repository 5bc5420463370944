package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// logKey is the attribute key style (docs/architecture.md, "Logging").
var logKey = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// msgPrefix is a message that names its package ("callback: ...") instead
// of the logger saying it (log.With("component", ...)).
var msgPrefix = regexp.MustCompile(`^[a-z][a-z0-9-]*: `)

// TestLogStyle: every slog call in the module's own code (tests included)
// uses lower snake_case attribute keys, "err" for errors, and no package
// prefix in the message (docs/architecture.md, "Logging").
func TestLogStyle(t *testing.T) {
	root := moduleRoot(t)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "testdata" || d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			first := 0 // index of the first key
			switch sel.Sel.Name {
			case "Debug", "Info", "Warn", "Error":
				first = 1
			case "DebugContext", "InfoContext", "WarnContext", "ErrorContext":
				first = 2
			case "With":
			default:
				return true
			}
			if len(call.Args) <= first || !isSlogCall(call, first) {
				return true
			}
			if first > 0 {
				if msg, ok := stringLit(call.Args[first-1]); ok && msgPrefix.MatchString(msg) {
					t.Errorf("%s: message %q names its package; use log.With(\"component\", ...)", fset.Position(call.Pos()), msg)
				}
			}
			for i := first; i < len(call.Args); i += 2 {
				k, ok := stringLit(call.Args[i])
				if !ok {
					break // a slog.Attr or a computed key: the pairs end here
				}
				if !logKey.MatchString(k) || k == "error" {
					t.Errorf("%s: log key %q; want lower snake_case, and \"err\" for an error", fset.Position(call.Args[i].Pos()), k)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// moduleRoot is the module's source tree, for the tests that read every
// file; they skip where the binary runs without it (a Windows test binary
// copied elsewhere).
func moduleRoot(t *testing.T) string {
	t.Helper()
	root := filepath.Join("..", "..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Skipf("no module source tree here: %v", err)
	}
	return root
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// isSlogCall tells a log call from a namesake (http.Error(w, msg, code),
// t.Error(...)): its keys and values come in pairs of a string key and a
// value, so a call whose first key is not a string literal, or whose
// arguments after the message are odd in number, is not one.
func isSlogCall(call *ast.CallExpr, first int) bool {
	if _, ok := stringLit(call.Args[first]); !ok {
		return false
	}
	if x, ok := call.Fun.(*ast.SelectorExpr).X.(*ast.Ident); ok && (x.Name == "t" || x.Name == "b" || x.Name == "tb" || x.Name == "http") {
		return false
	}
	return (len(call.Args)-first)%2 == 0
}
