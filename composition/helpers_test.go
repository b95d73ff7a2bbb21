package composition

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fakeCatalog is a small catalog for tests; the real one lives in plugin.
type fakeCatalog []*TypeSpec

func (c fakeCatalog) TaskType(name string) (*TypeSpec, bool) {
	for _, t := range c {
		if t.Name == name {
			return t, true
		}
	}
	return nil, false
}

func (c fakeCatalog) TaskTypes() []*TypeSpec { return c }

var _ Catalog = fakeCatalog(nil)

func testCatalog() fakeCatalog {
	return fakeCatalog{
		{Name: "http", InProcess: true, Fields: []FieldSpec{
			{Name: "url", Type: TypeString, Required: true},
			{Name: "method", Type: TypeString, Default: "GET", Enum: []any{"GET", "POST", "PUT", "DELETE"}},
			{Name: "body", Type: TypeText},
			{Name: "headers", Type: TypeMap},
			{Name: "save_as", Type: TypeString},
		}},
		{Name: "shell", Fields: []FieldSpec{
			{Name: "run", Type: TypeText, Required: true},
		}},
		{Name: "approval", Control: true, Fields: []FieldSpec{
			{Name: "message", Type: TypeText},
		}},
		{Name: "composition", Control: true, Fields: []FieldSpec{
			{Name: "name", Type: TypeString, Required: true, NamesComposition: true},
			{Name: "params", Type: TypeMap},
			{Name: "wait", Type: TypeBoolean, Default: true},
		}},
		{Name: "wait", Control: true, Fields: []FieldSpec{
			{Name: "composition", Type: TypeString, NamesComposition: true},
			{Name: "run", Type: TypeString},
		}},
		{Name: "cloud.provision", Fields: []FieldSpec{
			{Name: "count", Type: TypeNumber, Default: 1},
		}, Exports: []string{"cloud.instances"}},
		{Name: "cloud.deprovision", Fields: []FieldSpec{
			{Name: "instances", Type: TypeList, Required: true, Default: "${{ context.cloud.instances }}"},
		}},
	}
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// testdataFiles lists the example compositions in testdata.
func testdataFiles(t *testing.T) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for i, n := range names {
		names[i] = filepath.Base(n)
	}
	return names
}

// semantic returns a copy of c without Source, Pos and File, for comparing
// compositions parsed from different text.
func semantic(c *Composition) Composition {
	if c == nil {
		return Composition{}
	}
	out := *c
	out.Source, out.Pos, out.File = nil, nil, ""
	return out
}

func sameComposition(a, b *Composition) bool {
	return reflect.DeepEqual(semantic(a), semantic(b))
}

// messages returns the problems as "line:col: message" strings.
func messages(ps Problems) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = strings.TrimPrefix(p.String(), p.File+":")
	}
	return out
}

// mustLoad loads src with the test catalog and fails on any problem.
func mustLoad(t *testing.T, src string) *Composition {
	t.Helper()
	c, err := Load("test.yaml", []byte(src), testCatalog())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

// dump prints a composition with its tasks, for failure messages.
func dump(c *Composition) string {
	s := semantic(c)
	out := fmt.Sprintf("%#v", s)
	for _, t := range c.Tasks {
		out += fmt.Sprintf("\n  %#v", *t)
	}
	return out
}
