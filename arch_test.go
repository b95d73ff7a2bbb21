package main

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestImportRules keeps the package layout of ARCHITECTURE.md true: which
// of our packages each package may import directly, and what it must never
// reach, even indirectly.
func TestImportRules(t *testing.T) {
	allowed := map[string][]string{
		"baton/model":            {},
		"baton/yamltree":         {},
		"baton/composition":      {"baton/yamltree"},
		"baton/protocol":         {},
		"baton/auth":             {},
		"baton/static":           {},
		"baton/plugin":           {"baton/composition", "baton/yamltree"},
		"baton/trigger":          {"baton/composition", "baton/yamltree"},
		"baton/storage":          {"baton/model"},
		"baton/engine":           {"baton/model", "baton/composition", "baton/plugin", "baton/protocol", "baton/trigger"},
		"baton/editor":           {"baton/composition"},
		"baton/handlers":         {"baton/editor", "baton/engine", "baton/storage", "baton/views/...", "baton/model", "baton/composition", "baton/static", "baton/protocol", "baton/auth", "baton/plugin", "baton/trigger", "baton/yamltree"},
		"baton/views/layouts":    {},
		"baton/views/components": {},
		"baton/views/pages":      {"baton/views/components", "baton/views/layouts"},
		"baton/agentd":           {"baton/protocol", "baton/plugin", "baton/yamltree"},
	}
	never := map[string][]string{
		"baton/storage":     {"net/http", "baton/engine"},
		"baton/engine":      {"baton/storage", "baton/handlers", "baton/views"},
		"baton/agentd":      {"baton/engine", "baton/storage"},
		"baton/model":       {"database/sql", "net/http"},
		"baton/views/pages": {"database/sql", "baton/storage", "baton/engine"},
	}
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports,Deps", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
			Deps       []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		ok, known := allowed[p.ImportPath]
		if !known {
			continue
		}
		seen++
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, "baton/") && !permitted(ok, imp) {
				t.Errorf("%s imports %s; ARCHITECTURE.md allows only %v", p.ImportPath, imp, ok)
			}
		}
		for _, bad := range never[p.ImportPath] {
			if slices.Contains(p.Deps, bad) {
				t.Errorf("%s depends on %s, which it must never reach", p.ImportPath, bad)
			}
		}
	}
	if seen < 4 {
		t.Fatalf("checked only %d packages; is go list working?", seen)
	}
}

// permitted reports whether imp is on the list; "x/..." allows x's sub-packages.
func permitted(list []string, imp string) bool {
	for _, a := range list {
		if a == imp || (strings.HasSuffix(a, "/...") && strings.HasPrefix(imp, strings.TrimSuffix(a, "..."))) {
			return true
		}
	}
	return false
}
