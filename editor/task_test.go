package editor

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"baton/composition"
)

const taskDoc = `name: x
params:
  who: {type: string, default: world}
tasks:
  - id: build
    run: make
  - id: fetch
    type: http
    with: {url: "https://example.com/${{ tasks.build.outputs.v }}"}
    env: {V: "${{ tasks.build.outputs.v }}", W: "${{ tasks['build'].status }}"}
  - id: report
    if: ${{ tasks.build.status == 'succeeded' && tasks.fetch.outputs.body != '' }}
    run: echo "${{ tasks.build.outputs.v }} built; tasks.build stays as text"
outputs:
  v: ${{ tasks.build.outputs.v }}
`

func TestSetTask(t *testing.T) {
	cases := []struct {
		key, value string
		check      func(t *composition.Task) bool
	}{
		{"name", "  Build it ", func(t *composition.Task) bool { return t.Name == "Build it" }},
		{"if", "${{ params.who != '' }}", func(t *composition.Task) bool { return t.If == "${{ params.who != '' }}" }},
		{"if", "false", func(t *composition.Task) bool { return t.If == "false" }},
		{"run", "make\r\nmake test\r\n", func(t *composition.Task) bool { return t.Run == "make\nmake test\n" && t.With["run"] == t.Run }},
		{"timeout", "1h30m", func(t *composition.Task) bool { return t.Timeout == 90*time.Minute }},
		{"timeout", "", func(t *composition.Task) bool { return t.Timeout == 0 }},
		{"retries", "3", func(t *composition.Task) bool { return t.Retries == 3 }},
		{"retry_delay", "500ms", func(t *composition.Task) bool { return t.RetryDelay == 500*time.Millisecond }},
		{"continue_on_error", "true", func(t *composition.Task) bool { return t.ContinueOnError }},
		{"always", "true", func(t *composition.Task) bool { return t.Always }},
		{"always", "", func(t *composition.Task) bool { return !t.Always }},
		{"env", "A=1\n\nB = two words \n", func(t *composition.Task) bool {
			return reflect.DeepEqual(t.Env, map[string]string{"A": "1", "B": "two words"})
		}},
		{"env", "", func(t *composition.Task) bool { return t.Env == nil }},
		{"needs", "", func(t *composition.Task) bool { return len(t.Needs) == 0 && t.NeedsGiven }},
		{"requires.pool", "linux", func(t *composition.Task) bool { return t.Requires != nil && t.Requires.Pool == "linux" }},
		{"requires.labels", "region=eu", func(t *composition.Task) bool { return t.Requires.Labels["region"] == "eu" }},
		{"requires.local", "false", func(t *composition.Task) bool { return t.Requires.Local != nil && !*t.Requires.Local }},
		{"requires.local", "", func(t *composition.Task) bool { return t.Requires == nil }},
	}
	for _, tc := range cases {
		t.Run(tc.key+"="+tc.value, func(t *testing.T) {
			d := mustOpen(t, taskDoc)
			if err := d.SetTask("report", tc.key, tc.value); err != nil {
				t.Fatal(err)
			}
			task := d.Composition().Task("report")
			if !tc.check(task) {
				t.Errorf("task after %s=%q: %+v\n%s", tc.key, tc.value, task, d.Source())
			}
			again := Open(d.Source(), newCatalog())
			if TaskValue(again.Composition().Task("report"), tc.key) != TaskValue(task, tc.key) {
				t.Errorf("the value did not survive the YAML")
			}
		})
	}
}

func TestSetTaskNeeds(t *testing.T) {
	d := mustOpen(t, taskDoc)
	if err := d.SetTask("report", "needs", "fetch , build,"); err != nil {
		t.Fatal(err)
	}
	if got := graph(d.Composition()); got != "build<- fetch<-build report!<-fetch,build" {
		t.Errorf("graph %s", got)
	}
	// Unknown needs are allowed as an edit and reported as problems.
	if err := d.SetTask("report", "needs", "fetch, nope"); err != nil {
		t.Fatal(err)
	}
	if got := d.ProblemsFor("report")["needs"]; len(got) != 1 {
		t.Errorf("problems %v", d.ProblemsFor("report"))
	}
}

func TestSetTaskErrors(t *testing.T) {
	cases := []struct {
		id, key, value, want string
	}{
		{"report", "retries", "abc", `retries must be a whole number of 0 or more, not "abc"`},
		{"report", "retries", "-1", "whole number"},
		{"report", "timeout", "10", "with a unit, such as 10s"},
		{"report", "timeout", "soon", "duration such as"},
		{"report", "timeout", "-5s", "must not be negative"},
		{"report", "continue_on_error", "maybe", "true or false"},
		{"report", "env", "A=1\nB", `line 2: "B" has no =`},
		{"report", "env", "A=1\nA=2", "A is given twice"},
		{"report", "requires.local", "perhaps", "true or false"},
		{"report", "requires.zone", "x", "unknown key requires.zone"},
		{"report", "colour", "red", `unknown key "colour"`},
		{"fetch", "run", "echo", "run is for shell tasks"},
		{"nope", "name", "x", `no task "nope"; the tasks are build, fetch, report`},
		{"report", "id", "fetch", `already a task "fetch"`},
		{"report", "id", "", "cannot be empty"},
		{"report", "id", "new:shell", "may hold only letters"},
	}
	for _, tc := range cases {
		t.Run(tc.key+"="+tc.value, func(t *testing.T) {
			d := mustOpen(t, taskDoc)
			err := d.SetTask(tc.id, tc.key, tc.value)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if string(d.Source()) != taskDoc {
				t.Error("a failed edit changed the doc")
			}
		})
	}
}

func TestRename(t *testing.T) {
	d := mustOpen(t, taskDoc)
	if err := d.SetTask("build", "id", "compile"); err != nil {
		t.Fatal(err)
	}
	mustValid(t, d)
	src := string(d.Source())
	for _, want := range []string{
		"url: https://example.com/${{ tasks.compile.outputs.v }}",
		"V: ${{ tasks.compile.outputs.v }}",
		"W: ${{ tasks['compile'].status }}",
		"if: ${{ tasks.compile.status == 'succeeded' && tasks.fetch.outputs.body != '' }}",
		"run: echo \"${{ tasks.compile.outputs.v }} built; tasks.build stays as text\"",
		"v: ${{ tasks.compile.outputs.v }}",
	} {
		if !strings.Contains(src, want) {
			t.Errorf("source lacks %q:\n%s", want, src)
		}
	}
	if got := graph(d.Composition()); got != "compile<- fetch<-compile report<-fetch" {
		t.Errorf("graph %s", got)
	}

	// An id that cannot be written as a member is referenced by index.
	if err := d.SetTask("compile", "id", "step-2"); err != nil {
		t.Fatal(err)
	}
	mustValid(t, d)
	if !strings.Contains(string(d.Source()), "${{ tasks['step-2'].outputs.v }}") {
		t.Errorf("source:\n%s", d.Source())
	}
	if err := d.SetTask("step-2", "id", "build"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(d.Source()), "${{ tasks['build'].outputs.v }}") {
		t.Errorf("source:\n%s", d.Source())
	}

	// Explicit needs follow too.
	d = mustOpen(t, "name: x\ntasks:\n  - {id: a, run: a}\n  - {id: b, needs: [], run: b}\n  - {id: c, needs: [a, b], run: c}\n")
	if err := d.SetTask("b", "id", "bee"); err != nil {
		t.Fatal(err)
	}
	if got := graph(d.Composition()); got != "a<- bee!<- c!<-a,bee" {
		t.Errorf("graph %s", got)
	}
}

func TestRenameRefs(t *testing.T) {
	cases := []struct {
		in, want string
	}{
		{"plain tasks.a.outputs.x", "plain tasks.a.outputs.x"},
		{"${{ tasks.a.outputs.x }}", "${{ tasks.NEW.outputs.x }}"},
		{"${{ tasks?.a?.status }}", "${{ tasks?.NEW?.status }}"},
		{`${{ tasks["a"].status }}`, `${{ tasks["NEW"].status }}`},
		{"${{ tasks.ab.status }} ${{ tasks.a-b.status }}", "${{ tasks.ab.status }} ${{ tasks.a-b.status }}"},
		{"${{ tasks.a-1 }}", "${{ tasks.NEW-1 }}"},
		{"${{ x.tasks.a }}", "${{ x.tasks.a }}"},
		{"${{ 'tasks.a' + tasks.a.outputs.y }}", "${{ 'tasks.a' + tasks.NEW.outputs.y }}"},
		{"${{ {'k': tasks.a.status} }} and ${{ tasks.a.status }}", "${{ {'k': tasks.NEW.status} }} and ${{ tasks.NEW.status }}"},
		{"${{ tasks.a.status", "${{ tasks.a.status"},
	}
	for _, tc := range cases {
		if got := renameRefs(tc.in, "tasks", "a", "NEW"); got != tc.want {
			t.Errorf("renameRefs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := renameRefs("${{ tasks.a.status }}", "tasks", "a", "x-2"); got != "${{ tasks['x-2'].status }}" {
		t.Errorf("got %q", got)
	}
	if got := renameRefs("${{ tasks?.a.status }}", "tasks", "a", "x-2"); got != "${{ tasks?.['x-2'].status }}" {
		t.Errorf("got %q", got)
	}
}

func TestSetField(t *testing.T) {
	const src = `name: x
tasks:
  - id: call
    type: composition
    with: {name: other}
  - id: fetch
    type: http
    with:
      url: https://example.com
  - id: up
    type: cloud.provision
    with: {image: base}
  - id: nap
    type: sleep
    with: {duration: 1s}
  - id: sh
    run: echo
`
	cases := []struct {
		id, field, value string
		want             any
	}{
		{"up", "count", " 3 ", 3.0},
		{"up", "count", "2.5", 2.5},
		{"call", "wait", "false", false},
		{"call", "wait", "Yes", true},
		{"fetch", "expect_status", "200\n\n 2xx \n", []any{"200", "2xx"}},
		{"fetch", "expect_status", "200, 404", []any{"200, 404"}},
		{"fetch", "expect_status", `[200, "3xx"]`, []any{200.0, "3xx"}},
		{"fetch", "headers", "Accept=text/plain\nX-Id = 7", map[string]any{"Accept": "text/plain", "X-Id": "7"}},
		{"fetch", "headers", `{"A": "b=c"}`, map[string]any{"A": "b=c"}},
		{"fetch", "body", "line one\r\nline two\r\n", "line one\nline two\n"},
		{"fetch", "method", "POST", "POST"},
		{"fetch", "timeout", " 45s", "45s"},
		{"fetch", "save_as", "123", "123"},
		{"call", "params", "host=a\nartifact=${{ params.x }}", map[string]any{"host": "a", "artifact": "${{ params.x }}"}},
		{"call", "params", "fail=${{ params.fail_lint }}", map[string]any{"fail": "${{ params.fail_lint }}"}},
		{"call", "params", `{"a": "${{ params.x }}", "b": 2}`, map[string]any{"a": "${{ params.x }}", "b": "2"}},
		{"call", "params", " ${{ params.all }} ", " ${{ params.all }} "},
		{"fetch", "headers", "Authorization=Bearer ${{ params.token }}", map[string]any{"Authorization": "Bearer ${{ params.token }}"}},
		{"fetch", "pick", "id=${{ params.path }}", map[string]any{"id": "${{ params.path }}"}},
		{"fetch", "expect_status", "200\n${{ params.also }}", []any{"200", "${{ params.also }}"}},
		{"fetch", "expect_status", "${{ params.statuses }}", "${{ params.statuses }}"},
		{"fetch", "expect_status", `["${{ params.one }}", 404]`, []any{"${{ params.one }}", 404.0}},
		{"up", "count", "${{ params.n }}", "${{ params.n }}"},
		{"nap", "duration", "${{ params.d }}", "${{ params.d }}"},
		{"sh", "shell", "bash -o pipefail", "bash -o pipefail"},
	}
	for _, tc := range cases {
		t.Run(tc.id+"."+tc.field+"="+tc.value, func(t *testing.T) {
			d := Open([]byte(src), newCatalog())
			if err := d.SetField(tc.id, tc.field, tc.value); err != nil {
				t.Fatal(err)
			}
			got := d.Composition().Task(tc.id).With[tc.field]
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("with.%s = %#v, want %#v\n%s", tc.field, got, tc.want, d.Source())
			}
			// What the form shows reads back the same.
			spec, _ := newCatalog().TaskType(d.Composition().Task(tc.id).Type)
			f, _ := spec.Field(tc.field)
			text, set := FieldValue(d.Composition().Task(tc.id), *f)
			if !set {
				t.Fatal("FieldValue says unset")
			}
			before := string(d.Source())
			if err := d.SetField(tc.id, tc.field, text); err != nil {
				t.Fatal(err)
			}
			if string(d.Source()) != before {
				t.Errorf("posting the shown value %q back changed the YAML:\n%s\nto\n%s", text, before, d.Source())
			}
		})
	}
}

func TestSetFieldRemoveAndRun(t *testing.T) {
	d := mustOpen(t, "name: x\ntasks:\n  - id: f\n    type: http\n    with: {url: u, method: POST}\n  - id: s\n    run: echo\n")
	if err := d.SetField("f", "method", "  "); err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Composition().Task("f").With["method"]; ok {
		t.Error("empty value removes the field")
	}
	if err := d.SetField("s", "run", "echo two"); err != nil {
		t.Fatal(err)
	}
	if s := d.Composition().Task("s"); s.Run != "echo two" || !strings.Contains(string(d.Source()), "    run: echo two\n") {
		t.Errorf("run: %q\n%s", s.Run, d.Source())
	}
	if err := d.SetField("s", "run", ""); err != nil {
		t.Fatal(err)
	}
	if got := d.ProblemsFor("s")["with.run"]; len(got) != 1 {
		t.Errorf("a shell task without a script: %v\n%s", d.ProblemsFor("s"), d.Source())
	}
}

func TestSetFieldErrors(t *testing.T) {
	const src = `name: x
tasks:
  - id: f
    type: http
    with: {url: u}
  - id: up
    type: cloud.provision
    with: {image: base}
  - id: odd
    type: unknown.type
`
	cases := []struct {
		id, field, value, want string
	}{
		{"up", "count", "abc", `field "count": "abc" is not a number`},
		{"f", "follow_redirects", "maybe", "is not true or false"},
		{"f", "timeout", "10", "add a unit"},
		{"f", "method", "FETCH", `"FETCH" is not one of GET, HEAD`},
		{"f", "headers", "Accept", `has no =`},
		{"f", "headers", "{not json", "not one"},
		{"f", "expect_status", "[1,", "looks like a JSON list"},
		{"f", "headers", "Accept ${{ params.type }}", "has no ="},
		{"f", "headers", "A=${{ params.a }}\nA=${{ params.b }}", "A is given twice"},
		{"f", "headers", "=${{ params.a }}", "no name before ="},
		{"f", "headers", `{"A": "${{ params.a }}"`, "looks like a JSON object"},
		{"f", "expect_status", `["${{ params.a }}",`, "looks like a JSON list"},
		{"f", "methd", "GET", `type http has no field "methd"`},
		{"odd", "x", "1", `type "unknown.type" is not known`},
		{"zz", "url", "u", `no task "zz"`},
	}
	for _, tc := range cases {
		t.Run(tc.field+"="+tc.value, func(t *testing.T) {
			d := Open([]byte(src), newCatalog())
			err := d.SetField(tc.id, tc.field, tc.value)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			unchanged(t, d, []byte(src))
		})
	}
	d := Open([]byte(src), nil)
	if err := d.SetField("f", "url", "v"); err == nil || !strings.Contains(err.Error(), "no task types") {
		t.Errorf("no catalog: %v", err)
	}
}

func TestFieldValue(t *testing.T) {
	cases := []struct {
		typ  composition.FieldType
		val  any
		want string
	}{
		{composition.TypeList, []any{"a", "b c"}, "a\nb c"},
		{composition.TypeList, []any{"a", 2.0, true}, `["a",2,true]`},
		{composition.TypeList, []any{"a\nb"}, `["a\nb"]`},
		{composition.TypeList, []any{[]any{"x"}}, `[["x"]]`},
		{composition.TypeList, []any{"[x"}, `["[x"]`},
		{composition.TypeMap, map[string]any{"b": "2", "a": "1"}, "a=1\nb=2"},
		{composition.TypeMap, map[string]any{"a=b": "1"}, `{"a=b":"1"}`},
		{composition.TypeMap, map[string]any{"a": ""}, "a="},
		{composition.TypeNumber, 1.5, "1.5"},
		{composition.TypeBoolean, false, "false"},
		{composition.TypeList, "${{ context.x }}", "${{ context.x }}"},
	}
	for _, tc := range cases {
		task := &composition.Task{ID: "t", Type: "x", With: map[string]any{"f": tc.val}}
		got, set := FieldValue(task, composition.FieldSpec{Name: "f", Type: tc.typ})
		if got != tc.want || !set {
			t.Errorf("FieldValue(%#v) = %q, %v; want %q", tc.val, got, set, tc.want)
		}
		// The text reads back as the value.
		back, _, err := fieldFromText(&composition.FieldSpec{Name: "f", Type: tc.typ}, got)
		if err != nil {
			t.Errorf("%q does not read back: %v", got, err)
		}
		if tc.typ == composition.TypeMap || tc.typ == composition.TypeNumber || tc.typ == composition.TypeBoolean {
			if !reflect.DeepEqual(back, tc.val) {
				t.Errorf("%q reads back as %#v, want %#v", got, back, tc.val)
			}
		}
	}
	if _, set := FieldValue(&composition.Task{With: map[string]any{"f": nil}}, composition.FieldSpec{Name: "f"}); set {
		t.Error("a null value is unset")
	}
	shell := &composition.Task{Type: "shell", Run: "make"}
	if got, set := FieldValue(shell, composition.FieldSpec{Name: "run", Type: composition.TypeText}); got != "make" || !set {
		t.Errorf("run: %q %v", got, set)
	}
}

func TestInherited(t *testing.T) {
	d := Open(readFile(t, "../examples/release-webapp.yaml"), newCatalog())
	got, ok := d.Inherited("deprovision", "instances")
	if !ok || got != (Inherited{Key: "cloud.instances", Task: "provision"}) {
		t.Errorf("Inherited = %+v, %v", got, ok)
	}
	for _, tc := range []struct{ task, field string }{
		{"provision", "count"},       // a literal default
		{"deprovision", "nope"},      // no such field
		{"fetch", "timeout"},         // a literal default
		{"nope", "instances"},        // no such task
		{"checkout-tests", "shell"},  // not an expression
		{"deprovision", "instances"}, // set below
	} {
		if tc.task == "deprovision" && tc.field == "instances" {
			if err := d.SetField("deprovision", "instances", "i-1\ni-2"); err != nil {
				t.Fatal(err)
			}
		}
		if got, ok := d.Inherited(tc.task, tc.field); ok {
			t.Errorf("Inherited(%s, %s) = %+v", tc.task, tc.field, got)
		}
	}

	// Only an upstream task counts.
	src := `name: x
tasks:
  - id: down
    type: cloud.deprovision
  - id: up
    type: cloud.provision
    with: {image: base}
`
	d = mustOpen(t, src)
	if got, ok := d.Inherited("down", "instances"); ok {
		t.Errorf("provision runs after deprovision: %+v", got)
	}
	if err := d.Layout([][]string{{"up"}, {"down"}}); err != nil {
		t.Fatal(err)
	}
	if got, ok := d.Inherited("down", "instances"); !ok || got.Task != "up" {
		t.Errorf("after moving: %+v %v", got, ok)
	}
}

func TestContextKeys(t *testing.T) {
	cases := map[string][]string{
		"${{ context.cloud.instances }}":                    {"cloud.instances"},
		"${{ context.a-b.c }} ${{ context['x'].y }}":        {"a-b.c", "x.y"},
		"${{ ctx.context.a }} context.b ${{ 'context.c' }}": nil,
	}
	for in, want := range cases {
		if got := contextKeys(in); !slices.Equal(got, want) {
			t.Errorf("contextKeys(%q) = %q, want %q", in, got, want)
		}
	}
}
