package composition

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseRelease(t *testing.T) {
	src := readTestdata(t, "release.yaml")
	c, err := Load("release.yaml", src, testCatalog())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.Name != "release-webapp" || c.Description != "Ships the webapp.\n" {
		t.Errorf("name, description = %q, %q", c.Name, c.Description)
	}
	wantParams := []Param{
		{Name: "version", Type: TypeString, Required: true, Description: "Version to ship"},
		{Name: "env", Type: TypeString, Default: "staging", Enum: []any{"staging", "production"}},
		{Name: "replicas", Type: TypeNumber, Default: 2.0},
		{Name: "dry_run", Type: TypeBoolean, Default: false},
	}
	if !reflect.DeepEqual(c.Params, wantParams) {
		t.Errorf("params:\n got %#v\nwant %#v", c.Params, wantParams)
	}
	if c.Concurrency != 1 || c.Timeout != time.Hour || c.Workspace.Clean {
		t.Errorf("concurrency, timeout, workspace = %d, %v, %v", c.Concurrency, c.Timeout, c.Workspace)
	}
	wantCall := &Call{Composition: "notify-team", Params: map[string]any{"reason": "${{ run.error }}"}}
	if !reflect.DeepEqual(c.OnFailure, wantCall) {
		t.Errorf("on_failure = %#v", c.OnFailure)
	}
	local := false
	wantReq := &Requires{Pool: "linux", Labels: map[string]string{"zone": "a"}, Facts: `facts.os == "linux"`, Local: &local}
	if !reflect.DeepEqual(c.Requires, wantReq) {
		t.Errorf("requires = %#v", c.Requires)
	}
	if !reflect.DeepEqual(c.Outputs, map[string]any{"url": "${{ tasks.deploy.outputs.url }}"}) {
		t.Errorf("outputs = %#v", c.Outputs)
	}

	ids := make([]string, len(c.Tasks))
	for i, task := range c.Tasks {
		ids[i] = task.ID
		if task.Index != i {
			t.Errorf("task %s index = %d, want %d", task.ID, task.Index, i)
		}
	}
	if want := []string{"fetch", "build", "approve", "provision", "deploy", "teardown"}; !slices.Equal(ids, want) {
		t.Fatalf("task ids = %v, want %v", ids, want)
	}

	build := c.Task("build")
	wantBuild := &Task{
		ID: "build", Name: "Build it", Type: "shell", Run: "./build.sh\n",
		With:  map[string]any{"run": "./build.sh\n"},
		Needs: []string{"fetch"}, NeedsGiven: true,
		If:      "${{ !params.dry_run }}",
		Env:     map[string]string{"MODE": "release"},
		Timeout: 10 * time.Minute, Retries: 2, RetryDelay: 5 * time.Second,
		ContinueOnError: true,
		Requires:        &Requires{Pool: "builders"},
		Index:           1,
	}
	if !reflect.DeepEqual(build, wantBuild) {
		t.Errorf("build:\n got %#v\nwant %#v", build, wantBuild)
	}
	fetch := c.Task("fetch")
	if fetch.Type != "http" || fetch.Needs != nil || fetch.NeedsGiven {
		t.Errorf("fetch = %#v", fetch)
	}
	if got := fetch.With["url"]; got != "http://repo.local/app-${{ params.version }}.war" {
		t.Errorf("fetch url = %v", got)
	}
	// Omitted needs: the task listed just before.
	if got := c.Task("approve").Needs; !slices.Equal(got, []string{"build"}) {
		t.Errorf("approve needs = %v", got)
	}
	deploy := c.Task("deploy")
	if deploy.Type != "shell" || !reflect.DeepEqual(deploy.Env, map[string]string{"REPLICAS": "2", "VERBOSE": "true"}) {
		t.Errorf("deploy = %#v", deploy)
	}
	if got := c.Task("teardown").If; got != "false" {
		t.Errorf("teardown if = %q, want \"false\"", got)
	}
	if c.Task("nope") != nil || c.Param("nope") != nil || c.Param("env").Default != "staging" {
		t.Error("Task/Param lookups are wrong")
	}

	wantPos := map[string]Pos{
		"name":                {Line: 1, Col: 7},
		"params.version":      {Line: 5, Col: 12},
		"params.env.default":  {Line: 6, Col: 32},
		"timeout":             {Line: 10, Col: 10},
		"tasks.0":             {Line: 16, Col: 5},
		"tasks.0.with.url":    {Line: 18, Col: 17},
		"tasks.1.needs":       {Line: 29, Col: 12},
		"tasks.1.needs.0":     {Line: 29, Col: 13},
		"tasks.1.run":         {Line: 21, Col: 10},
		"tasks.1.env.MODE":    {Line: 23, Col: 17},
		"on_failure.params":   {Line: 12, Col: 48},
		"requires.labels.zne": {},
	}
	for path, want := range wantPos {
		if got := c.Pos[path]; got != want {
			t.Errorf("Pos[%q] = %v, want %v", path, got, want)
		}
	}
}

// TestParseProblems checks each kind of problem Parse reports, with its
// exact position.
func TestParseProblems(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"unknown top key", "name: x\ntimout: 1h\ntasks: [{id: a, run: x}]\n",
			[]string{`2:1: unknown key "timout" at the top level; did you mean "timeout"?`}},
		{"unknown task key", "name: x\ntasks:\n  - id: build\n    run: make\n    timout: 5m\n",
			[]string{`5:5: unknown key "timout" in task build; did you mean "timeout"?`}},
		{"unknown key, no suggestion", "name: x\nzzzz: 1\ntasks: [{id: a, run: x}]\n",
			[]string{`2:1: unknown key "zzzz" at the top level`}},
		{"bad duration", "name: x\ntasks:\n  - id: b\n    run: x\n    timeout: 10 minutes\n",
			[]string{`5:14: timeout in task b must be a duration such as 90s, 10m or 1h30m, not "10 minutes"`}},
		{"duration without unit", "name: x\ntimeout: 90\ntasks: [{id: a, run: x}]\n",
			[]string{`2:10: timeout must be a duration with a unit, such as 90s or 90m, not 90`}},
		{"non-integer retries", "name: x\ntasks:\n  - id: b\n    run: x\n    retries: 1.5\n",
			[]string{`5:14: retries in task b must be a whole number of 0 or more, not 1.5`}},
		{"list where a map belongs", "name: x\ntasks:\n  - id: b\n    type: http\n    with: [url]\n",
			[]string{`5:11: with in task b must be a map of field: value, not a list`}},
		{"map where a list belongs", "name: x\ntasks: {a: 1}\n",
			[]string{`2:8: tasks must be a list of tasks, each starting with - id: <name>, not a map`}},
		{"bool expected", "name: x\ntasks:\n  - id: b\n    run: x\n    continue_on_error: maybe\n",
			[]string{`5:24: continue_on_error in task b must be true or false, not "maybe"`}},
		{"always not a bool", "name: x\ntasks:\n  - id: b\n    run: x\n    always: later\n",
			[]string{`5:13: always in task b must be true or false, not "later"`}},
		{"missing name", "tasks: [{id: a, run: x}]\n",
			[]string{`1:1: missing name; add one such as name: release-webapp`}},
		{"bad name", "name: Release App\ntasks: [{id: a, run: x}]\n",
			[]string{`1:7: name "Release App" may hold only lowercase letters, digits, - and _, and must start with a letter or digit`}},
		{"long name", "name: " + strings.Repeat("a", 65) + "\ntasks: [{id: a, run: x}]\n",
			[]string{`1:7: name is 65 characters long; at most 64 are allowed`}},
		{"missing tasks", "name: x\n",
			[]string{`1:1: missing tasks; a composition needs at least one task`}},
		{"empty tasks", "name: x\ntasks: []\n",
			[]string{`2:8: tasks is empty; a composition needs at least one task`}},
		{"task without id or type", "name: x\ntasks:\n  - name: hello\n",
			[]string{`3:5: task 1 has no id; add id: <name>`, `3:5: task 1 has no type; add type: <task type>, or run: <script> for a shell task`}},
		{"bad task id", "name: x\ntasks:\n  - id: -a\n    run: x\n",
			[]string{`3:9: task id "-a" may hold only letters, digits, - and _, and must not start with -`}},
		{"task not a map", "name: x\ntasks:\n  - just text\n",
			[]string{`3:5: task 1 must be a map with id: and type: or run:, not "just text"`}},
		{"bad param name", "name: x\nparams:\n  Version: {type: string}\ntasks: [{id: a, run: x}]\n",
			[]string{`3:3: param name "Version" may hold only lowercase letters, digits and _, and must not start with a digit (so that ${{ params.NAME }} works without quoting)`}},
		{"bad param type", "name: x\nparams:\n  n: {type: int}\ntasks: [{id: a, run: x}]\n",
			[]string{`3:13: type of param n must be one of string, number, boolean, list, not "int"; did you mean "number"?`}},
		{"default does not fit", "name: x\nparams:\n  n: {type: number, default: many}\ntasks: [{id: a, run: x}]\n",
			[]string{`3:30: default of param n: "many" is not a number`}},
		{"default not in enum", "name: x\nparams:\n  e: {default: prod, enum: [staging, production]}\ntasks: [{id: a, run: x}]\n",
			[]string{`3:16: default of param e: "prod" is not one of staging, production`}},
		{"enum value does not fit", "name: x\nparams:\n  n: {type: boolean, enum: [true, perhaps]}\ntasks: [{id: a, run: x}]\n",
			[]string{`3:35: enum of param n: "perhaps" is not true or false (yes/no and 1/0 work too)`}},
		{"bad env name", "name: x\ntasks:\n  - id: a\n    run: x\n    env: {MY-VAR: 1}\n",
			[]string{`5:11: env name "MY-VAR" in task a may hold only letters, digits and _, and must not start with a digit`}},
		{"env value a list", "name: x\ntasks:\n  - id: a\n    run: x\n    env: {A: [1]}\n",
			[]string{`5:14: env A in task a must be text, not a list`}},
		{"bare if", "name: x\ntasks:\n  - id: a\n    run: x\n    if: params.go\n",
			[]string{`5:9: if in task a must be true, false or a ${{ }} expression; did you mean "${{ params.go }}"?`}},
		{"if with text around", "name: x\ntasks:\n  - id: a\n    run: x\n    if: ${{ true }} and more\n",
			[]string{`5:9: if in task a must be one ${{ }} expression with nothing around it; combine conditions inside it with and, or`}},
		{"run twice", "name: x\ntasks:\n  - id: a\n    run: x\n    with: {run: y}\n",
			[]string{`5:17: task a gives its script twice, as run: and as with.run; keep one`}},
		{"duplicate key", "name: x\nname: y\ntasks: [{id: a, run: x}]\n",
			[]string{`2:1: duplicate key "name" (first given at line 1); remove one`}},
		{"on_failure without composition", "name: x\non_failure: {params: {a: 1}}\ntasks: [{id: a, run: x}]\n",
			[]string{`2:13: on_failure needs the name of the composition to start: add composition: <name>`}},
		{"unknown requires key", "name: x\nrequires: {pol: linux}\ntasks: [{id: a, run: x}]\n",
			[]string{`2:12: unknown key "pol" in requires; did you mean "pool"?`}},
		{"unknown task requires key", "name: x\ntasks:\n  - id: a\n    run: x\n    requires: {lables: {a: b}}\n",
			[]string{`5:16: unknown key "lables" in requires of task a; did you mean "labels"?`}},
		{"unknown param key", "name: x\nparams:\n  v: {tpye: string}\ntasks: [{id: a, run: x}]\n",
			[]string{`3:7: unknown key "tpye" in param v; did you mean "type"?`}},
		{"second document", "name: x\ntasks: [{id: a, run: x}]\n---\nname: y\n",
			[]string{`4:5: a composition file holds one YAML document; remove the second one (after ---) or move it to its own file`}},
		{"alias to nothing", "name: x\ndescription: *nope\ntasks: [{id: a, run: x}]\n",
			[]string{`2:14: alias *nope names no anchor defined before it (&nope)`}},
		{"custom tag", "name: x\ndescription: !secret x\ntasks: [{id: a, run: x}]\n",
			[]string{`2:14: unsupported YAML tag !secret; remove it`}},
		{"not a map", "- a\n- b\n",
			[]string{`1:1: a composition must be a map with keys such as name: and tasks:, not a list`}},
		{"empty file", "# nothing here\n",
			[]string{`the file is empty; a composition needs at least a name and tasks`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, probs := Parse("f.yaml", []byte(tt.src))
			if c == nil {
				t.Fatal("Parse returned a nil composition")
			}
			got := messages(probs)
			for i := range got {
				got[i] = strings.TrimPrefix(got[i], " ") // "f.yaml: msg" has no position
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("problems:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestParseSyntaxError(t *testing.T) {
	tests := []struct {
		src  string
		want string
	}{
		{"name: x\ntasks:\n  - id: a\n    run: \"x\n", `4:10: invalid YAML: could not find end character of double-quoted text`},
		{"name: x\n  bad: 1\n", `1:7: invalid YAML: mapping value is not allowed in this context`},
		{"a:\n\t- b\n", `2:1: invalid YAML: found character '\t' that cannot start any token; indent with spaces, not tabs`},
		{"a: [1, 2\n", `1:4: invalid YAML: sequence end token ']' not found`},
	}
	for _, tt := range tests {
		c, probs := Parse("f.yaml", []byte(tt.src))
		if c != nil {
			t.Errorf("%q: composition should be nil when the YAML cannot be read", tt.src)
		}
		if got := messages(probs); len(got) != 1 || got[0] != tt.want {
			t.Errorf("%q: problems = %q, want [%q]", tt.src, got, tt.want)
		}
		if strings.Contains(probs.Error(), "\n") {
			t.Errorf("%q: syntax error spans lines: %q", tt.src, probs.Error())
		}
	}
}

// TestParseEveryProblem checks that problems do not hide each other.
func TestParseEveryProblem(t *testing.T) {
	src := `name: Bad Name
descripton: x
timeout: 10 minutes
tasks:
  - id: build
    run: make
    timout: 5m
    retries: two
`
	c, probs := Parse("f.yaml", []byte(src))
	if c == nil {
		t.Fatal("nil composition")
	}
	want := []string{
		`1:7: name "Bad Name" may hold only lowercase letters, digits, - and _, and must start with a letter or digit`,
		`2:1: unknown key "descripton" at the top level; did you mean "description"?`,
		`3:10: timeout must be a duration such as 90s, 10m or 1h30m, not "10 minutes"`,
		`7:5: unknown key "timout" in task build; did you mean "timeout"?`,
		`8:14: retries in task build must be a whole number of 0 or more, not "two"`,
	}
	if got := messages(probs); !slices.Equal(got, want) {
		t.Errorf("problems:\n got %q\nwant %q", got, want)
	}
	// The rest of the file is still read.
	if task := c.Task("build"); task == nil || task.Run != "make" {
		t.Errorf("build task not read: %#v", task)
	}
}

func TestParseTaskForms(t *testing.T) {
	src := `name: forms
tasks:
  - id: a
    run: one
  - id: b
    run: two
    needs: []
  - id: c
    type: shell
    with: {run: three}
    needs: a
  - id: d
    type: http
    if: true
    with: {url: x}
  - id: e
    run: five
    if: ""
    env: {N: 1.50, B: false, E: }
`
	c := mustLoad(t, src)
	tests := []struct {
		id         string
		typ, run   string
		needs      []string
		needsGiven bool
		cond       string
	}{
		{"a", "shell", "one", nil, false, ""},
		{"b", "shell", "two", nil, true, ""},
		{"c", "shell", "three", []string{"a"}, true, ""},
		{"d", "http", "", []string{"c"}, false, "true"},
		{"e", "shell", "five", []string{"d"}, false, ""},
	}
	for _, tt := range tests {
		task := c.Task(tt.id)
		if task.Type != tt.typ || task.Run != tt.run || !slices.Equal(task.Needs, tt.needs) || task.NeedsGiven != tt.needsGiven || task.If != tt.cond {
			t.Errorf("task %s = type %q run %q needs %v (given %v) if %q", tt.id, task.Type, task.Run, task.Needs, task.NeedsGiven, task.If)
		}
	}
	if got, want := c.Task("e").Env, map[string]string{"N": "1.50", "B": "false", "E": ""}; !reflect.DeepEqual(got, want) {
		t.Errorf("env = %#v, want %#v", got, want)
	}
}

func TestParseAnchorsAndMerge(t *testing.T) {
	src := `name: anchors
defaults: &retry
  retries: 3
  timeout: 5m
tasks:
  - id: a
    <<: *retry
    run: x
  - id: b
    <<: *retry
    retries: 1
    run: y
`
	c, probs := Parse("f.yaml", []byte(src))
	// "defaults" is not a key of a composition, even when used for anchors.
	if want := []string{`2:1: unknown key "defaults" at the top level`}; !slices.Equal(messages(probs), want) {
		t.Errorf("problems = %q, want %q", messages(probs), want)
	}
	if a := c.Task("a"); a.Retries != 3 || a.Timeout != 5*time.Minute {
		t.Errorf("a = retries %d timeout %v", a.Retries, a.Timeout)
	}
	if b := c.Task("b"); b.Retries != 1 || b.Timeout != 5*time.Minute {
		t.Errorf("b = retries %d timeout %v: explicit keys must win over merged ones", b.Retries, b.Timeout)
	}
}

func TestParseAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("name: x\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 10; i++ {
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	b.WriteString("tasks: [{id: a, run: x}]\n")
	start := time.Now()
	_, probs := Parse("bomb.yaml", []byte(b.String()))
	if time.Since(start) > 5*time.Second {
		t.Errorf("parsing an alias bomb took %v", time.Since(start))
	}
	if !strings.Contains(probs.Error(), "too many aliases") {
		t.Errorf("problems = %v, want one about too many aliases", probs)
	}
}

func TestProblemsError(t *testing.T) {
	ps := Problems{
		{File: "a.yaml", Line: 3, Col: 1, Message: "third"},
		{File: "a.yaml", Message: "no place"},
		{File: "a.yaml", Line: 1, Col: 9, Message: "second"},
		{File: "a.yaml", Line: 1, Col: 2, Message: "first"},
	}
	want := "a.yaml: no place\na.yaml:1:2: first\na.yaml:1:9: second\na.yaml:3:1: third"
	if got := ps.Error(); got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
	if ps[0].Message != "third" {
		t.Error("Error() must not reorder the problems in place")
	}
	if Problems(nil).Err() != nil {
		t.Error("Err() of no problems must be nil")
	}
}

func TestDidYouMean(t *testing.T) {
	keys := []string{"name", "description", "params", "timeout", "tasks", "retries", "retry_delay"}
	tests := []struct {
		in, want string
	}{
		{"timout", "timeout"},
		{"Timeout", "timeout"},
		{"descripton", "description"},
		{"taks", "tasks"},
		{"retires", "retries"},
		{"retry-delay", "retry_delay"},
		{"nmae", "name"},
		{"zzz", ""},
		{"environment", ""},
	}
	for _, tt := range tests {
		if got := suggest(tt.in, keys); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if d := editDistance("verison", "version"); d != 1 {
		t.Errorf("a swap of two letters is one edit, got %d", d)
	}
}

// TestProjectKey: project: names the composition's project; leaving it out
// (or naming default) is the default project; a bad name is a problem at
// its place; Format writes it back after the name.
func TestProjectKey(t *testing.T) {
	tests := []struct {
		src, project, problem string
	}{
		{"name: a\nproject: payments\ntasks: [{id: x, run: echo}]\n", "payments", ""},
		{"name: a\ntasks: [{id: x, run: echo}]\n", "default", ""},
		{"name: a\nproject: default\ntasks: [{id: x, run: echo}]\n", "default", ""},
		{"name: a\nproject: Pay Ments\ntasks: [{id: x, run: echo}]\n", "", "2:10: project \"Pay Ments\" may hold only"},
		{"name: a\nproject: \"\"\ntasks: [{id: x, run: echo}]\n", "", "2:10: project is empty"},
	}
	for _, tt := range tests {
		c, err := Parse("a.yaml", []byte(tt.src))
		if tt.problem != "" {
			if err == nil || !strings.Contains(err.Error(), tt.problem) {
				t.Errorf("%q: err = %v, want %q", tt.src, err, tt.problem)
			}
			continue
		}
		if err != nil || c.ProjectName() != tt.project {
			t.Errorf("%q: project %q, err %v; want %q", tt.src, c.ProjectName(), err, tt.project)
		}
	}
	c, _ := Parse("a.yaml", []byte("name: a\nproject: payments\ntasks: [{id: x, run: echo}]\n"))
	out, _ := Format(c)
	if !strings.HasPrefix(string(out), "name: a\nproject: payments\n") {
		t.Errorf("Format wrote:\n%s", out)
	}
}
