package editor

import (
	"slices"
	"strings"
	"testing"
)

const emptyDoc = "name: canvas\ntasks: []\n"

// Three tasks with a parallel pair, built by Layout alone.
func TestLayoutBuildsFromNothing(t *testing.T) {
	d := Open([]byte(emptyDoc), newCatalog())
	steps := []struct {
		rows  [][]string
		graph string
		yaml  []string // lines the source must hold
	}{
		{
			rows:  [][]string{{"new:shell"}},
			graph: "shell_1<-",
			yaml:  []string{"  - id: shell_1\n    run: echo hello\n"},
		},
		{
			rows:  [][]string{{"shell_1"}, {"new:shell", "new:http"}},
			graph: "shell_1<- shell_2!<-shell_1 http_1!<-shell_1",
			yaml:  []string{"  - id: shell_2\n    run: echo hello\n    needs:\n      - shell_1\n", "    type: http\n    needs:\n      - shell_1\n    with:\n      url: \"\"\n"},
		},
		{
			rows:  [][]string{{"shell_1"}, {"shell_2", "http_1"}, {"new:shell"}},
			graph: "shell_1<- shell_2!<-shell_1 http_1!<-shell_1 shell_3!<-shell_2,http_1",
			yaml:  []string{"  - id: shell_3\n    run: echo hello\n    needs:\n      - shell_2\n      - http_1\n"},
		},
		{
			// A fork in the first row: the second task says needs: [].
			rows:  [][]string{{"shell_1", "shell_2"}, {"http_1"}, {"shell_3"}},
			graph: "shell_1<- shell_2!<- http_1!<-shell_1,shell_2 shell_3<-http_1",
			yaml:  []string{"  - id: shell_2\n    run: echo hello\n    needs: []\n", "  - id: shell_3\n    run: echo hello\n"},
		},
	}
	for i, step := range steps {
		if err := d.Layout(step.rows); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got := graph(d.Composition()); got != step.graph {
			t.Errorf("step %d: graph %s, want %s\n%s", i, got, step.graph, d.Source())
		}
		for _, want := range step.yaml {
			if !strings.Contains(string(d.Source()), want) {
				t.Errorf("step %d: source lacks %q:\n%s", i, want, d.Source())
			}
		}
		if !d.RowComplete() {
			t.Errorf("step %d: a layout is row complete", i)
		}
		if got := rowsOf(d); !slices.EqualFunc(got, step.rows, func(a, b []string) bool { return len(a) == len(b) }) {
			t.Errorf("step %d: rows %v", i, got)
		}
	}
	// http_1 has its required url as a placeholder to fill.
	if got := d.ProblemsFor("http_1")["with.url"]; len(got) != 1 {
		t.Errorf("placeholder url should be reported missing: %v", d.ProblemsFor("http_1"))
	}
}

func TestLayoutMoves(t *testing.T) {
	const src = `name: x
tasks:
  - id: a
    run: a
  - id: b
    run: b
  - id: c
    run: c
  - id: d
    run: d
`
	cases := []struct {
		name  string
		rows  [][]string
		graph string
	}{
		{"move last to first", [][]string{{"d"}, {"a"}, {"b"}, {"c"}}, "d<- a<-d b<-a c<-b"},
		{"fork then join", [][]string{{"a"}, {"b", "c"}, {"d"}}, "a<- b!<-a c!<-a d!<-b,c"},
		{"move into a row", [][]string{{"a", "c"}, {"b"}, {"d"}}, "a<- c!<- b!<-a,c d<-b"},
		{"empty rows are skipped", [][]string{{}, {"a"}, {}, {"b"}, {"c"}, {"d"}}, "a<- b<-a c<-b d<-c"},
		{"all parallel", [][]string{{"a", "b", "c", "d"}}, "a<- b!<- c!<- d!<-"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := mustOpen(t, src)
			if err := d.Layout(tc.rows); err != nil {
				t.Fatal(err)
			}
			mustValid(t, d)
			if got := graph(d.Composition()); got != tc.graph {
				t.Errorf("graph %s, want %s\n%s", got, tc.graph, d.Source())
			}
		})
	}
}

func TestLayoutErrors(t *testing.T) {
	const src = "name: x\ntasks:\n  - {id: a, run: a}\n  - {id: b, run: b}\n"
	cases := []struct {
		name string
		rows [][]string
		want string
	}{
		{"unmentioned", [][]string{{"a"}}, "leaves out b"},
		{"unknown id", [][]string{{"a"}, {"b", "zz"}}, `row 2: there is no task "zz"`},
		{"twice", [][]string{{"a"}, {"b"}, {"a"}}, `task "a" is placed twice`},
		{"unknown type", [][]string{{"a"}, {"b"}, {"new:shel"}}, `unknown task type "shel"`},
		{"no type", [][]string{{"a", "b", "new:"}}, "needs a type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := mustOpen(t, src)
			before := d.Source()
			err := d.Layout(tc.rows)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			unchanged(t, d, before)
		})
	}
	d := Open([]byte("name: x\ntasks:\n  - {id: a, run: a}\n  - {id: a, run: b}\n"), newCatalog())
	if err := d.Layout([][]string{{"a"}}); err == nil || !strings.Contains(err.Error(), "rename one") {
		t.Errorf("duplicate ids: %v", err)
	}
}

// A drag of a composition that is not row complete rewrites its needs to
// the rows.
func TestLayoutRewritesIncompleteNeeds(t *testing.T) {
	d := Open(readFile(t, "../examples/release-webapp.yaml"), newCatalog())
	if err := d.Layout(rowsOf(d)); err != nil {
		t.Fatal(err)
	}
	mustValid(t, d)
	if !d.RowComplete() {
		t.Error("after a layout the composition is row complete")
	}
	if got := d.Composition().Task("deploy").Needs; !slices.Equal(got, []string{"fetch", "provision", "checkout-tests"}) {
		t.Errorf("deploy needs %v", got)
	}
}

func TestAdd(t *testing.T) {
	const src = `name: x
tasks:
  - id: a
    run: a
  - id: b
    needs: []
    run: b
  - id: c
    needs: [a, b]
    run: c
`
	cases := []struct {
		name     string
		typ      string
		row      int
		parallel bool
		graph    string
	}{
		{"new first row", "shell", 0, false, "shell_1<- a!<-shell_1 b!<-shell_1 c!<-a,b"},
		{"between fork and join", "http", 1, false, "a<- b!<- http_1!<-a,b c<-http_1"},
		{"last row", "approval", 2, false, "a<- b!<- c!<-a,b approval_1<-c"},
		{"join the fork", "shell", 0, true, "a<- b!<- shell_1!<- c!<-a,b,shell_1"},
		{"beside the join", "sleep", 1, true, "a<- b!<- c!<-a,b sleep_1!<-a,b"},
		{"plugin type", "cloud.provision", 2, false, "a<- b!<- c!<-a,b cloud_provision_1<-c"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := mustOpen(t, src)
			id, err := d.Add(tc.typ, tc.row, tc.parallel)
			if err != nil {
				t.Fatal(err)
			}
			if d.Composition().Task(id) == nil {
				t.Fatalf("no task %q", id)
			}
			if got := graph(d.Composition()); got != tc.graph {
				t.Errorf("graph %s, want %s\n%s", got, tc.graph, d.Source())
			}
			if !d.RowComplete() {
				t.Error("adding to a row complete composition keeps it row complete")
			}
		})
	}

	errs := []struct {
		typ      string
		row      int
		parallel bool
		want     string
	}{
		{"shell", 3, true, "no row 4"},
		{"shell", 4, false, "position 5"},
		{"shell", -1, false, "position 0"},
		{"nope", 0, false, "unknown task type"},
	}
	for _, tc := range errs {
		d := mustOpen(t, src)
		before := d.Source()
		if _, err := d.Add(tc.typ, tc.row, tc.parallel); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Add(%s, %d, %v): %v, want %q", tc.typ, tc.row, tc.parallel, err, tc.want)
		}
		unchanged(t, d, before)
	}
}

// New tasks get their required fields: a literal default, or an empty
// value; a default that is an expression is left to inherit.
func TestAddDefaults(t *testing.T) {
	d := Open([]byte(emptyDoc), newCatalog())
	for _, typ := range []string{"shell", "http", "composition", "sleep", "cloud.provision", "cloud.deprovision", "approval"} {
		if _, err := d.Add(typ, len(d.Rows()), false); err != nil {
			t.Fatal(err)
		}
	}
	c := d.Composition()
	checks := map[string]map[string]any{
		"shell_1":             {"run": "echo hello"},
		"http_1":              {"url": ""},
		"composition_1":       {"name": ""},
		"sleep_1":             {"duration": nil},
		"cloud_provision_1":   {"image": ""},
		"cloud_deprovision_1": nil,
		"approval_1":          nil,
	}
	for id, want := range checks {
		task := c.Task(id)
		if task == nil {
			t.Errorf("no task %s:\n%s", id, d.Source())
			continue
		}
		if len(task.With) != len(want) {
			t.Errorf("%s: with %v, want %v", id, task.With, want)
		}
		for k, v := range want {
			if got, ok := task.With[k]; !ok || got != v {
				t.Errorf("%s: with.%s = %#v, want %#v", id, k, got, v)
			}
		}
	}
	if !strings.Contains(string(d.Source()), "    with:\n      duration: null\n") {
		t.Errorf("sleep's duration shows as empty:\n%s", d.Source())
	}
}

// Adding to a composition that is not row complete keeps its other needs.
func TestAddKeepsIncompleteNeeds(t *testing.T) {
	d := Open(readFile(t, "../examples/release-webapp.yaml"), newCatalog())
	before := d.Composition()
	if _, err := d.Add("shell", len(d.Rows()), false); err != nil {
		t.Fatal(err)
	}
	mustValid(t, d)
	after := d.Composition()
	for _, task := range before.Tasks {
		if got := after.Task(task.ID).Needs; !slices.Equal(got, task.Needs) {
			t.Errorf("%s needs %v, was %v", task.ID, got, task.Needs)
		}
	}
	if got := after.Task("shell_1").Needs; !slices.Equal(got, []string{"deprovision"}) {
		t.Errorf("new task needs %v", got)
	}
	// A parallel task beside fetch, provision and checkout-tests.
	id, err := d.Add("shell", 0, true)
	if err != nil {
		t.Fatal(err)
	}
	mustValid(t, d)
	if got := d.Composition().Task(id); len(got.Needs) != 0 || !got.NeedsGiven {
		t.Errorf("a task of the first row needs nothing, explicitly: %v %v", got.Needs, got.NeedsGiven)
	}
	if got := d.Composition().Task("deploy").Needs; !slices.Equal(got, []string{"fetch", "provision"}) {
		t.Errorf("deploy, which does not join the whole row, keeps its needs: %v", got)
	}
}

func TestRemove(t *testing.T) {
	const fork = `name: x
tasks:
  - id: a
    run: a
  - id: b
    run: b
  - id: c
    needs: []
    run: c
  - id: d
    needs: [b, c]
    run: d
  - id: e
    run: e
`
	cases := []struct {
		name, id, graph string
	}{
		{"first", "a", "b<- c!<- d!<-b,c e<-d"},
		{"in a chain", "e", "a<- b<-a c!<- d!<-b,c"},
		{"one of a join", "c", "a<- b<-a d<-b e<-d"},
		{"the join", "d", "a<- b<-a c!<- e!<-b,c"},
		{"chain closes", "b", "a<- c!<- d!<-a,c e<-d"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := mustOpen(t, fork)
			if err := d.Remove(tc.id); err != nil {
				t.Fatal(err)
			}
			mustValid(t, d)
			if got := graph(d.Composition()); got != tc.graph {
				t.Errorf("graph %s, want %s\n%s", got, tc.graph, d.Source())
			}
		})
	}

	// In a row complete composition, removing one of a fork keeps it so.
	d := mustOpen(t, "name: x\ntasks:\n  - {id: a, run: a}\n  - {id: b, run: b}\n  - {id: c, needs: [a], run: c}\n  - {id: d, needs: [b, c], run: d}\n")
	if !d.RowComplete() {
		t.Fatal("test composition should be row complete")
	}
	if err := d.Remove("b"); err != nil {
		t.Fatal(err)
	}
	if got := graph(d.Composition()); got != "a<- c!<-a d<-c" || !d.RowComplete() {
		t.Errorf("graph %s, row complete %v", got, d.RowComplete())
	}

	before := d.Source()
	if err := d.Remove("zz"); err == nil || !strings.Contains(err.Error(), `no task "zz"`) {
		t.Errorf("unknown id: %v", err)
	}
	unchanged(t, d, before)
}

func TestDuplicate(t *testing.T) {
	const src = `name: x
tasks:
  - id: a
    run: a
  - id: b
    type: http
    with:
      url: https://example.com
      headers: {Accept: text/plain}
    env: {X: "1"}
    timeout: 1m
    needs: [a]
  - id: c
    run: c
`
	d := mustOpen(t, src)
	id, err := d.Duplicate("b")
	if err != nil {
		t.Fatal(err)
	}
	mustValid(t, d)
	if id != "b_2" {
		t.Errorf("id %q", id)
	}
	if got := graph(d.Composition()); got != "a<- b!<-a b_2<-b c<-b_2" {
		t.Errorf("graph %s\n%s", got, d.Source())
	}
	orig, cp := d.Composition().Task("b"), d.Composition().Task("b_2")
	if cp.Type != "http" || cp.Timeout != orig.Timeout || cp.Env["X"] != "1" || cp.With["url"] != orig.With["url"] {
		t.Errorf("copy %+v", cp)
	}
	// The copy's maps are its own.
	if err := d.SetField("b_2", "headers", "Accept=application/json"); err != nil {
		t.Fatal(err)
	}
	if got := d.Composition().Task("b").With["headers"].(map[string]any)["Accept"]; got != "text/plain" {
		t.Errorf("the original changed: %v", got)
	}
	id2, err := d.Duplicate("b_2")
	if err != nil || id2 != "b_3" {
		t.Errorf("second copy: %q %v", id2, err)
	}
	if _, err := d.Duplicate("zz"); err == nil {
		t.Error("unknown id")
	}
}

func TestIDs(t *testing.T) {
	cases := map[string]string{
		"shell":           "shell",
		"cloud.provision": "cloud_provision",
		"My-Plugin.Do It": "my_plugin_do_it",
		"...":             "task",
	}
	for typ, want := range cases {
		if got := idBase(typ); got != want {
			t.Errorf("idBase(%q) = %q, want %q", typ, got, want)
		}
	}
	trims := map[string]string{"shell_1": "shell", "deploy": "deploy", "deploy-12": "deploy", "v2": "v2", "_1": "_1"}
	for id, want := range trims {
		if got := trimNumber(id); got != want {
			t.Errorf("trimNumber(%q) = %q, want %q", id, got, want)
		}
	}
}
