package editor

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"baton/composition"
)

// testCatalog is a catalog for tests. It mirrors the built-in types of
// plugin/builtin.go and the cloud plugin of examples/plugins/cloud, without
// importing plugin.
type testCatalog []*composition.TypeSpec

func (c testCatalog) TaskType(name string) (*composition.TypeSpec, bool) {
	for _, t := range c {
		if t.Name == name {
			return t, true
		}
	}
	return nil, false
}

func (c testCatalog) TaskTypes() []*composition.TypeSpec { return c }

var _ composition.Catalog = testCatalog(nil)

func newCatalog() testCatalog {
	return testCatalog{
		{Name: "shell", Group: "Basics", Icon: "terminal", Fields: []composition.FieldSpec{
			{Name: "run", Type: composition.TypeText, Required: true},
			{Name: "shell", Type: composition.TypeString, Default: "sh"},
		}},
		{Name: "http", Group: "Basics", Icon: "globe", Fields: []composition.FieldSpec{
			{Name: "method", Type: composition.TypeString, Default: "GET",
				Enum: []any{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}},
			{Name: "url", Type: composition.TypeString, Required: true},
			{Name: "headers", Type: composition.TypeMap},
			{Name: "body", Type: composition.TypeText},
			{Name: "expect_status", Type: composition.TypeList},
			{Name: "save_as", Type: composition.TypeString},
			{Name: "pick", Type: composition.TypeMap},
			{Name: "timeout", Type: composition.TypeDuration, Default: "30s"},
			{Name: "follow_redirects", Type: composition.TypeBoolean, Default: true},
		}},
		{Name: "approval", Group: "Flow", Icon: "check-circle", Control: true, Fields: []composition.FieldSpec{
			{Name: "message", Type: composition.TypeText},
		}},
		{Name: "composition", Group: "Flow", Icon: "workflow", Control: true, Fields: []composition.FieldSpec{
			{Name: "name", Type: composition.TypeString, Required: true, NamesComposition: true},
			{Name: "params", Type: composition.TypeMap},
			{Name: "wait", Type: composition.TypeBoolean, Default: true},
		}},
		{Name: "wait", Group: "Flow", Icon: "hourglass", Control: true, Fields: []composition.FieldSpec{
			{Name: "composition", Type: composition.TypeString, NamesComposition: true},
			{Name: "run", Type: composition.TypeString},
		}},
		{Name: "sleep", Group: "Flow", Icon: "clock", Control: true, Fields: []composition.FieldSpec{
			{Name: "duration", Type: composition.TypeDuration, Required: true},
		}},
		{Name: "cloud.provision", Group: "cloud", Icon: "cloud", Exports: []string{"cloud.instances"},
			Fields: []composition.FieldSpec{
				{Name: "count", Type: composition.TypeNumber, Default: 1},
				{Name: "image", Type: composition.TypeString, Required: true},
			}},
		{Name: "cloud.deprovision", Group: "cloud", Icon: "cloud-off", Fields: []composition.FieldSpec{
			{Name: "instances", Type: composition.TypeList, Default: "${{ context.cloud.instances }}"},
		}},
	}
}

// exampleFiles returns the example compositions of the repository.
func exampleFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "examples", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	return files
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	src, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// semantic returns a copy of c without Source, Pos and File, the parts that
// depend on the text rather than the meaning.
func semantic(c *composition.Composition) composition.Composition {
	cp := *c
	cp.Source, cp.Pos, cp.File = nil, nil, ""
	return cp
}

func sameComposition(a, b *composition.Composition) bool {
	sa, sb := semantic(a), semantic(b)
	return reflect.DeepEqual(sa, sb)
}

// graph describes the tasks of a composition as "id<-need,need" in order,
// with "!" after the id when needs are written explicitly.
func graph(c *composition.Composition) string {
	parts := make([]string, len(c.Tasks))
	for i, t := range c.Tasks {
		mark := ""
		if t.NeedsGiven {
			mark = "!"
		}
		parts[i] = t.ID + mark + "<-" + strings.Join(t.Needs, ",")
	}
	return strings.Join(parts, " ")
}

// rowsOf returns the rows of a doc as ids.
func rowsOf(d *Doc) [][]string {
	var out [][]string
	for _, row := range d.Rows() {
		out = append(out, taskIDs(row))
	}
	return out
}

// mustOpen opens src and fails the test when it has problems.
func mustOpen(t *testing.T, src string) *Doc {
	t.Helper()
	d := Open([]byte(src), newCatalog())
	if probs := d.Problems(); len(probs) > 0 {
		t.Fatalf("problems in test composition: %v\n%s", probs, src)
	}
	return d
}

// mustValid fails the test when the doc has problems.
func mustValid(t *testing.T, d *Doc) {
	t.Helper()
	if probs := d.Problems(); len(probs) > 0 {
		t.Fatalf("problems after edit: %v\n%s", probs, d.Source())
	}
}

// unchanged checks that a failed edit left the doc as it was.
func unchanged(t *testing.T, d *Doc, before []byte) {
	t.Helper()
	if !slices.Equal(d.Source(), before) {
		t.Errorf("a failed edit changed the source:\n%s", d.Source())
	}
}
