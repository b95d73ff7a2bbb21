package composition

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestLoadTestdata(t *testing.T) {
	for _, name := range testdataFiles(t) {
		if _, err := Load(name, readTestdata(t, name), testCatalog()); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestValidateProblems checks each kind of problem Validate reports, with
// its exact position.
func TestValidateProblems(t *testing.T) {
	const head = "name: x\nparams:\n  version: {required: true}\ntasks:\n"
	// Line 5 is the first task line.
	tests := []struct {
		name  string
		tasks string
		want  []string
	}{
		{"unknown type", "  - id: a\n    type: htp\n",
			[]string{`6:11: unknown task type "htp" in task a; did you mean "http"?`}},
		{"unknown type, no suggestion", "  - id: a\n    type: kubernetes\n",
			[]string{`6:11: unknown task type "kubernetes" in task a`}},
		{"duplicate id", "  - id: a\n    run: x\n  - id: a\n    run: y\n",
			[]string{`7:9: task id "a" is already used (at line 5); ids must be unique`}},
		{"needs unknown", "  - id: build\n    run: x\n  - id: deploy\n    run: y\n    needs: [biuld]\n",
			[]string{`9:13: task deploy needs "biuld", which is not a task of this composition; did you mean "build"?`}},
		{"needs itself", "  - id: a\n    run: x\n    needs: [a]\n",
			[]string{`7:13: task a needs itself; remove a from its needs`}},
		{"needs twice", "  - id: a\n    run: x\n  - id: b\n    run: x\n    needs: [a, a]\n",
			[]string{`9:16: task b lists a twice in needs`}},
		{"cycle", "  - id: a\n    run: x\n    needs: [c]\n  - id: b\n    run: x\n  - id: c\n    run: x\n",
			[]string{`7:12: dependency cycle: a -> c -> b -> a`}},
		{"unknown field", "  - id: a\n    type: http\n    with: {urll: x}\n",
			[]string{
				`7:11: task a (type http) is missing required field "url"`,
				`7:18: unknown field "urll" in task a (type http); did you mean "url"?`,
			}},
		{"missing required field", "  - id: a\n    type: composition\n",
			[]string{`5:5: task a (type composition) is missing required field "name"`}},
		{"required field with a default", "  - id: a\n    type: cloud.deprovision\n", nil},
		{"wrong literal type", "  - id: a\n    type: composition\n    with: {name: n, wait: sometimes}\n",
			[]string{`7:27: field "wait" in task a: "sometimes" is not true or false (yes/no and 1/0 work too)`}},
		{"enum", "  - id: a\n    type: http\n    with: {url: x, method: PATCH}\n",
			[]string{`7:28: field "method" in task a: "PATCH" is not one of GET, POST, PUT, DELETE`}},
		{"expressions are checked at run time", "  - id: a\n    type: http\n    with: {url: x, method: \"${{ params.version }}\"}\n", nil},
		{"run on a type without run", "  - id: a\n    type: http\n    run: x\n    with: {url: y}\n",
			[]string{`7:10: task a is of type http, which has no run field; run: is for shell tasks`}},
		{"shell without script", "  - id: a\n    type: shell\n",
			[]string{`5:5: task a (type shell) is missing required field "run"`}},
		{"expression does not compile", "  - id: a\n    run: echo ${{ 1 + }}\n",
			[]string{`6:10: ${{ 1 + }}: unexpected token EOF`}},
		{"unclosed expression", "  - id: a\n    run: echo ${{ params.version\n",
			[]string{`6:10: unclosed ${{ in "${{ params.version"; close it with }}`}},
		{"unknown param", "  - id: a\n    run: echo ${{ params.verison }}\n",
			[]string{`6:10: params.verison: unknown param "verison"; did you mean "version"?`}},
		{"unknown root", "  - id: a\n    run: echo ${{ parms.version }}\n",
			[]string{`6:10: ${{ parms.version }}: unknown name parms; expressions can use params, tasks, context and run (and agent in a work task's with, run and env)`}},
		{"unknown task", "  - id: a\n    run: echo\n  - id: b\n    run: echo ${{ tasks.aa.outputs.x }}\n",
			[]string{`8:10: tasks.aa: unknown task "aa"; did you mean "a"?`}},
		{"task not upstream", "  - id: build\n    run: x\n  - id: deploy\n    needs: []\n    run: ./deploy ${{ tasks.build.outputs.url }}\n",
			[]string{`9:10: task deploy uses tasks.build but does not run after it; add build to its needs`}},
		{"task upstream through needs", "  - id: a\n    run: x\n  - id: b\n    run: x\n  - id: c\n    run: ${{ tasks.a.outputs.x }}\n", nil},
		{"own outputs", "  - id: a\n    run: ${{ tasks.a.outputs.x }}\n",
			[]string{`6:10: task a cannot use its own outputs or status (tasks.a)`}},
		{"task field", "  - id: a\n    run: x\n  - id: b\n    run: ${{ tasks.a.output.x }}\n",
			[]string{`8:10: tasks.a.output: a task has only outputs and status; did you mean "outputs"?`}},
		{"run field", "  - id: a\n    run: ${{ run.ids }}\n",
			[]string{`6:10: run.ids: run has only id, composition, status, error; did you mean "id"?`}},
		{"hyphenated task ids", "  - id: deploy-a\n    run: x\n  - id: b\n    run: ${{ tasks.deploy-a.outputs.x }} ${{ tasks.deploy-b.status }}\n",
			[]string{`8:10: tasks.deploy-b: unknown task "deploy-b"; did you mean "deploy-a"?`}},
		{"expressions in env and if", "  - id: a\n    run: x\n    if: ${{ params.nope }}\n    env: {A: \"${{ tasks.zz.status }}\"}\n",
			[]string{
				`7:9: params.nope: unknown param "nope"`,
				`8:14: tasks.zz: unknown task "zz"`,
			}},
		{"facts is a bare expression", "  - id: a\n    run: x\n    requires: {facts: 'facts.os == '}\n",
			[]string{`7:23: facts in requires of task a: unexpected token EOF`}},
		{"facts sees only facts", "  - id: a\n    run: x\n    requires: {facts: 'params.version == \"1\"'}\n",
			[]string{`7:23: facts in requires of task a: unknown name params`}},
		{"a map written as text with an expression", "  - id: a\n    type: composition\n    with: {name: n, params: \"fail=${{ params.version }}\"}\n",
			[]string{`7:29: field "params" in task a is a map, but "fail=${{ params.version }}" is text with ${{ }} inside, which gives text, not a map; write one ` +
				"`name: value`" + ` per line under params:, or make the whole value one ${{ }} expression`}},
		{"a map as one expression", "  - id: a\n    type: composition\n    with: {name: n, params: \"${{ params.version }}\"}\n", nil},
		{"a map as JSON with an expression", "  - id: a\n    type: composition\n    with: {name: n, params: '{\"a\": \"${{ params.version }}\"}'}\n", nil},
		{"nested with values", "  - id: a\n    type: composition\n    with:\n      name: n\n      params: {a: {b: [\"${{ params.nope }}\"]}}\n",
			[]string{`9:24: params.nope: unknown param "nope"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("f.yaml", []byte(head+tt.tasks), testCatalog())
			var got []string
			if err != nil {
				var ps Problems
				if !errors.As(err, &ps) {
					t.Fatalf("Load error is %T, want Problems", err)
				}
				got = messages(ps)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("problems:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestValidateTopLevelExpressions(t *testing.T) {
	src := `name: x
outputs:
  url: ${{ tasks.deplyo.outputs.url }}
on_failure:
  composition: notify
  params: {reason: "${{ run.eror }}"}
tasks:
  - id: deploy
    run: x
`
	_, err := Load("f.yaml", []byte(src), testCatalog())
	want := "f.yaml:3:8: tasks.deplyo: unknown task \"deplyo\"; did you mean \"deploy\"?\n" +
		"f.yaml:6:20: run.eror: run has only id, composition, status, error; did you mean \"error\"?"
	if err == nil || err.Error() != want {
		t.Errorf("Load error =\n%v\nwant\n%s", err, want)
	}
}

// TestLoadEveryProblem checks that a file with five distinct problems, of
// both Parse and Validate, yields five.
func TestLoadEveryProblem(t *testing.T) {
	src := `name: five
timeout: soon
tasks:
  - id: fetch
    type: htp
  - id: build
    run: make ${{ params.target }}
    retries: -1
  - id: deploy
    needs: [biuld]
    run: ./deploy
    colour: blue
`
	_, err := Load("f.yaml", []byte(src), testCatalog())
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Load error = %v, want Problems", err)
	}
	want := []string{
		`2:10: timeout must be a duration such as 90s, 10m or 1h30m, not "soon"`,
		`5:11: unknown task type "htp" in task fetch; did you mean "http"?`,
		`7:10: params.target: this composition declares no params; add it under params:`,
		`8:14: retries in task build must be a whole number of 0 or more, not -1`,
		`10:13: task deploy needs "biuld", which is not a task of this composition; did you mean "build"?`,
		`12:5: unknown key "colour" in task deploy`,
	}
	if got := messages(ps); !slices.Equal(got, want) {
		t.Errorf("problems:\n got %q\nwant %q", got, want)
	}
}

func TestCycleMessages(t *testing.T) {
	tests := []struct {
		name  string
		tasks string
		want  []string
	}{
		{"two", "  - {id: a, run: x, needs: [b]}\n  - {id: b, run: x, needs: [a]}\n",
			[]string{"dependency cycle: a -> b -> a"}},
		{"three, starting from the first in the file", "  - {id: a, run: x, needs: [c]}\n  - {id: b, run: x, needs: [a]}\n  - {id: c, run: x, needs: [b]}\n",
			[]string{"dependency cycle: a -> c -> b -> a"}},
		{"two separate cycles", "  - {id: a, run: x, needs: [b]}\n  - {id: b, run: x, needs: [a]}\n  - {id: c, run: x, needs: [d]}\n  - {id: d, run: x, needs: [c]}\n",
			[]string{"dependency cycle: a -> b -> a", "dependency cycle: c -> d -> c"}},
		{"a task needing a cycle is not in it", "  - {id: a, run: x, needs: [b]}\n  - {id: b, run: x, needs: [a]}\n  - {id: c, run: x, needs: [a]}\n",
			[]string{"dependency cycle: a -> b -> a"}},
		{"no cycle in a diamond", "  - {id: a, run: x}\n  - {id: b, run: x, needs: [a]}\n  - {id: c, run: x, needs: [a]}\n  - {id: d, run: x, needs: [b, c]}\n",
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := Parse("f.yaml", []byte("name: x\ntasks:\n"+tt.tasks))
			var got []string
			for _, p := range Validate(c, testCatalog()) {
				got = append(got, p.Message)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestValidateWithoutCatalog(t *testing.T) {
	c, probs := Parse("f.yaml", []byte("name: x\ntasks:\n  - id: a\n    type: anything\n    with: {whatever: 1}\n"))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if ps := Validate(c, nil); len(ps) > 0 {
		t.Errorf("a nil catalog must skip type checks, got %v", ps)
	}
}

func TestValidateBuiltInCode(t *testing.T) {
	// A composition built in code has no positions: problems print without.
	c := &Composition{Name: "x", File: "built", Tasks: []*Task{
		{ID: "a", Type: "shell", Run: "x", With: map[string]any{"run": "x"}},
		{ID: "b", Type: "shell", With: map[string]any{"run": "${{ tasks.c.status }}"}, Needs: []string{"a"}},
	}}
	err := Validate(c, testCatalog()).Err()
	if err == nil || !strings.HasPrefix(err.Error(), "built: tasks.c: unknown task") {
		t.Errorf("Validate = %v", err)
	}
}

func TestSchedules(t *testing.T) {
	src := `name: nightly
params:
  days: {type: number, required: true}
schedules:
  - cron: "0 3 * * 1-5"
    timezone: Europe/Berlin
    params: {days: 30}
    catch_up: true
  - cron: "0 0 30 2 *"
    params: {days: 1}
  - cron: "@daily"
    timezone: Mars/Olympus
    params: {days: many, extra: 1}
  - cron: "@hourly"
tasks:
  - id: clean
    run: echo cleaning
`
	c, err := Load("nightly.yaml", []byte(src), nil)
	if err == nil {
		t.Fatal("no problems")
	}
	want := []string{
		`nightly.yaml:9:11: cron of schedule 2: "0 0 30 2 *" never fires: there is no February 30`,
		`nightly.yaml:12:15: timezone of schedule 3: unknown time zone "Mars/Olympus"`,
		`nightly.yaml:13:20: schedule 3: param "days": "many" is not a number`,
		`nightly.yaml:13:33: schedule 3: param "extra": unknown param`,
		`nightly.yaml:14:5: schedule 4: param "days": is required but was not given`,
	}
	got := strings.Split(err.Error(), "\n")
	if len(got) != len(want) {
		t.Fatalf("problems:\n%s", err)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d = %q, want it to start with %q", i, got[i], want[i])
		}
	}
	if c == nil || len(c.Schedules) != 4 || !c.Schedules[0].CatchUp || c.Schedules[0].Timezone != "Europe/Berlin" || c.Schedules[0].Params["days"] != float64(30) {
		t.Errorf("schedules = %+v", c.Schedules)
	}
	out, _ := Format(c)
	again, _ := Parse("again.yaml", out)
	if !reflect.DeepEqual(again.Schedules, c.Schedules) {
		t.Errorf("schedules after Format: %+v\n%s", again.Schedules, out)
	}
}

func TestEnvWithoutProcess(t *testing.T) {
	src := "name: e\ntasks:\n  - id: call\n    type: http\n    with: {url: \"http://x\"}\n    env: {TOKEN: abc}\n  - id: ok\n    run: echo $A\n    env: {A: b}\n"
	_, err := Load("e.yaml", []byte(src), testCatalog())
	if err == nil || !strings.Contains(err.Error(), "e.yaml:6:10: env has no effect in task call: type http runs no process") {
		t.Errorf("problems = %v", err)
	}
	if strings.Count(err.Error(), "\n") != 0 {
		t.Errorf("env on a shell task was reported too: %v", err)
	}
}
