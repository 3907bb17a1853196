package xtest

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPackageDocs fails for a package of the module without a doc comment
// ("// Package x ..." or "// Command x ..."): every package says what it
// provides.
func TestPackageDocs(t *testing.T) {
	root := "../.."
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if name := d.Name(); name == "node_modules" || name == "testdata" || (strings.HasPrefix(name, ".") && path != root) {
			return filepath.SkipDir
		}
		files, err := filepath.Glob(filepath.Join(path, "*.go"))
		if err != nil {
			return err
		}
		documented, name := map[string]bool{}, map[string]bool{}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			file, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ParseComments|parser.PackageClauseOnly)
			if err != nil {
				return err
			}
			name[file.Name.Name] = true
			documented[file.Name.Name] = documented[file.Name.Name] || file.Doc != nil
		}
		for pkg := range name {
			if !documented[pkg] {
				t.Errorf("package %s in %s has no doc comment", pkg, path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
