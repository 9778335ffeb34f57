package hooks

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestConstantTimeComparisons guards the code, since timing cannot be
// measured reliably in a test: MACs are compared with hmac.Equal, tokens and
// passwords with subtle.ConstantTimeCompare, and nothing in the package
// compares bytes with bytes.Equal or compares a revealed secret with ==.
func TestConstantTimeComparisons(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]int{}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok {
					if pkg, ok := sel.X.(*ast.Ident); ok {
						calls[pkg.Name+"."+sel.Sel.Name]++
					}
				}
			case *ast.BinaryExpr:
				if n.Op == token.EQL || n.Op == token.NEQ {
					for _, side := range []ast.Expr{n.X, n.Y} {
						if c, ok := side.(*ast.CallExpr); ok {
							if sel, ok := c.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Reveal" {
								t.Errorf("%s: a revealed secret compared with %s", fset.Position(n.Pos()), n.Op)
							}
						}
					}
				}
			}
			return true
		})
	}
	if calls["hmac.Equal"] == 0 {
		t.Error("no hmac.Equal: signatures must be compared in constant time")
	}
	if calls["subtle.ConstantTimeCompare"] < 1 { // passwords: package auth
		t.Error("GitLab tokens must be compared with subtle.ConstantTimeCompare")
	}
	if calls["bytes.Equal"] > 0 {
		t.Error("bytes.Equal used: compare secrets and MACs in constant time")
	}
}
