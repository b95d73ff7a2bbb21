package plugin

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestBuiltinTypes(t *testing.T) {
	r := NewRegistry()
	var names []string
	for _, spec := range r.TaskTypes() {
		names = append(names, spec.Name)
	}
	if got := strings.Join(names, " "); got != "shell http approval composition wait sleep" {
		t.Errorf("types = %s", got)
	}
	tests := []struct {
		typ, field, group string
		control, required bool
		def               any
	}{
		{"shell", "run", "Basics", false, true, nil},
		{"shell", "shell", "Basics", false, false, "sh"},
		{"http", "method", "Basics", false, false, "GET"},
		{"http", "url", "Basics", false, true, nil},
		{"http", "timeout", "Basics", false, false, "30s"},
		{"http", "follow_redirects", "Basics", false, false, true},
		{"approval", "message", "Flow", true, false, nil},
		{"composition", "name", "Flow", true, true, nil},
		{"composition", "wait", "Flow", true, false, true},
		{"wait", "run", "Flow", true, false, nil},
		{"sleep", "duration", "Flow", true, true, nil},
	}
	for _, tt := range tests {
		spec, ok := r.TaskType(tt.typ)
		if !ok {
			t.Fatalf("no type %s", tt.typ)
		}
		f, ok := spec.Field(tt.field)
		if !ok || spec.Group != tt.group || spec.Control != tt.control || f.Required != tt.required || f.Default != tt.def {
			t.Errorf("%s.%s: spec %+v, field %+v", tt.typ, tt.field, spec, f)
		}
		if spec.Description == "" || f.Description == "" || !slices.Contains(fieldTypes, f.Type) {
			t.Errorf("%s.%s: missing description or bad type %q", tt.typ, tt.field, f.Type)
		}
	}
}

func TestRunRefusesControlAndUnknownTypes(t *testing.T) {
	r := NewRegistry()
	tests := map[string]string{
		"approval":   "approval is a control task type",
		"sleep":      "sleep is a control task type",
		"cloud.nope": `unknown task type "cloud.nope"`,
	}
	for typ, want := range tests {
		res := r.Run(context.Background(), Job{Type: typ, Workdir: t.TempDir()}, func(Stream, time.Time, string) {})
		if res.Err == nil || !strings.Contains(res.Err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", typ, res.Err, want)
		}
	}
}

func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	cloudPlugin(t, filepath.Join(dir, "cloud"))
	writePlugin(t, filepath.Join(dir, "broken"), "name: broken\ntasks:\n  broken.x:\n    comand: [sh]\n", nil)
	writePlugin(t, filepath.Join(dir, "thief"), "name: thief\ntasks:\n  thief.x:\n    command: [sh]\n", nil)
	os.MkdirAll(filepath.Join(dir, "not-a-plugin"), 0o755)
	os.WriteFile(filepath.Join(dir, "README.md"), []byte("plugins live here"), 0o644)

	r := NewRegistry()
	loaded, err := r.LoadDir(dir)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "broken", ManifestFile)+`:4:5: task broken.x: unknown key "comand"`) {
		t.Errorf("err = %v", err)
	}
	if len(loaded) != 2 || loaded[0].Name != "cloud" || loaded[1].Name != "thief" {
		t.Fatalf("loaded = %v", loaded)
	}
	if _, ok := r.Lookup("cloud.provision"); !ok {
		t.Error("cloud.provision not added")
	}
	if _, ok := r.TaskType("broken.x"); ok {
		t.Error("broken.x added")
	}
	if p, ok := r.PluginByHash(loaded[0].Hash); !ok || p != loaded[0] {
		t.Error("PluginByHash does not find cloud")
	}
	if ps := r.Plugins(); len(ps) != 2 || ps[0].Name != "cloud" {
		t.Errorf("plugins = %v", ps)
	}
	var names []string
	for _, spec := range r.TaskTypes() {
		names = append(names, spec.Name)
	}
	if got := strings.Join(names, " "); got != "shell http approval composition wait sleep cloud.provision cloud.deprovision thief.x" {
		t.Errorf("types = %s", got)
	}

	loaded, err = NewRegistry().LoadDir(filepath.Join(dir, "missing"))
	if err != nil || loaded != nil {
		t.Errorf("missing dir: %v, %v", loaded, err)
	}
}

func TestAddRefusesTakenNames(t *testing.T) {
	r := NewRegistry()
	base := t.TempDir()
	p1, err := LoadPlugin(cloudPlugin(t, filepath.Join(base, "one")))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Add(p1); err != nil {
		t.Fatal(err)
	}
	p2, err := LoadPlugin(cloudPlugin(t, filepath.Join(base, "two")))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Add(p2); err == nil || !strings.Contains(err.Error(), "already loaded from "+p1.Dir) {
		t.Errorf("same plugin name: %v", err)
	}
	p2.Name = "cloud2"
	err = r.Add(p2)
	if err == nil || !strings.Contains(err.Error(), "task type cloud.provision is already taken by plugin cloud ("+p1.Dir+")") {
		t.Errorf("same task type: %v", err)
	}
	if _, ok := r.Lookup("cloud.deprovision"); !ok {
		t.Error("the first plugin's type is gone")
	}
	shell := &Plugin{Name: "sh", Dir: "/x", Tasks: []*TaskType{{}}}
	shell.Tasks[0].Name = "shell"
	if err := r.Add(shell); err == nil || !strings.Contains(err.Error(), "task type shell is built in") {
		t.Errorf("built-in name: %v", err)
	}
}

func TestRegistryConcurrentUse(t *testing.T) {
	r := NewRegistry()
	base := t.TempDir()
	var wg sync.WaitGroup
	for i := range 8 {
		dir := writePlugin(t, filepath.Join(base, "p"+string(rune('a'+i))),
			"name: p"+string(rune('a'+i))+"\ntasks:\n  p"+string(rune('a'+i))+".x:\n    command: [sh]\n", nil)
		wg.Go(func() {
			p, err := LoadPlugin(dir)
			if err == nil {
				err = r.Add(p)
			}
			if err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			r.TaskTypes()
			r.Plugins()
			r.Lookup("shell")
		})
	}
	wg.Wait()
	if n := len(r.TaskTypes()); n != 6+8 {
		t.Errorf("%d types", n)
	}
}
