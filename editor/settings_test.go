package editor

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"baton/composition"
)

const settingsDoc = `name: x
params:
  version: {type: string, default: 1.0.0}
  n: {type: number, default: 2}
tasks:
  - id: a
    env: {V: "${{ params.version }}", N: "${{ params['n'] * 2 }}"}
    run: echo "$V ${{ params.version }}"
`

func TestSetSetting(t *testing.T) {
	cases := []struct {
		key, value string
		check      func(c *composition.Composition) bool
	}{
		{"name", " release ", func(c *composition.Composition) bool { return c.Name == "release" }},
		{"description", "Ships it.\r\nCarefully.\r\n", func(c *composition.Composition) bool { return c.Description == "Ships it.\nCarefully.\n" }},
		{"concurrency", "2", func(c *composition.Composition) bool { return c.Concurrency == 2 }},
		{"concurrency", "", func(c *composition.Composition) bool { return c.Concurrency == 0 }},
		{"timeout", "30m", func(c *composition.Composition) bool { return c.Timeout == 30*time.Minute }},
		{"workspace.clean", "true", func(c *composition.Composition) bool { return c.Workspace.Clean }},
		{"on_failure.composition", "notify", func(c *composition.Composition) bool {
			return c.OnFailure != nil && c.OnFailure.Composition == "notify"
		}},
		{"on_failure.params", "reason=${{ run.error }}", func(c *composition.Composition) bool {
			return c.OnFailure != nil && c.OnFailure.Params["reason"] == "${{ run.error }}"
		}},
		{"requires.pool", "builders", func(c *composition.Composition) bool { return c.Requires != nil && c.Requires.Pool == "builders" }},
		{"requires.labels", "region=eu\nos=linux", func(c *composition.Composition) bool {
			return reflect.DeepEqual(c.Requires.Labels, map[string]string{"region": "eu", "os": "linux"})
		}},
		{"requires.facts", `facts.cpus >= 4`, func(c *composition.Composition) bool { return c.Requires.Facts == "facts.cpus >= 4" }},
		{"requires.local", "false", func(c *composition.Composition) bool { return c.Requires.Local != nil && !*c.Requires.Local }},
		{"outputs", "v=${{ params.version }}", func(c *composition.Composition) bool { return c.Outputs["v"] == "${{ params.version }}" }},
	}
	for _, tc := range cases {
		t.Run(tc.key, func(t *testing.T) {
			d := mustOpen(t, settingsDoc)
			if err := d.SetSetting(tc.key, tc.value); err != nil {
				t.Fatal(err)
			}
			if !tc.check(d.Composition()) {
				t.Errorf("after %s=%q:\n%s", tc.key, tc.value, d.Source())
			}
			if got := SettingValue(d.Composition(), tc.key); strings.TrimSpace(got) == "" && strings.TrimSpace(tc.value) != "" {
				t.Errorf("SettingValue(%s) = %q", tc.key, got)
			}
			// What the form shows posts back unchanged.
			before := string(d.Source())
			if err := d.SetSetting(tc.key, SettingValue(d.Composition(), tc.key)); err != nil {
				t.Fatal(err)
			}
			if string(d.Source()) != before {
				t.Errorf("posting back %q changed the YAML", SettingValue(d.Composition(), tc.key))
			}
		})
	}
}

func TestSetSettingRemoves(t *testing.T) {
	d := mustOpen(t, settingsDoc)
	for _, kv := range [][2]string{
		{"on_failure.composition", "notify"}, {"on_failure.params", "a=b"},
		{"requires.pool", "p"}, {"requires.local", "true"},
	} {
		if err := d.SetSetting(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{"on_failure.composition", "on_failure.params", "requires.pool", "requires.local"} {
		if err := d.SetSetting(k, ""); err != nil {
			t.Fatal(err)
		}
	}
	if c := d.Composition(); c.OnFailure != nil || c.Requires != nil {
		t.Errorf("empty settings are removed:\n%s", d.Source())
	}
}

func TestSetSettingErrors(t *testing.T) {
	cases := []struct{ key, value, want string }{
		{"concurrency", "two", "whole number"},
		{"timeout", "10", "with a unit"},
		{"workspace.clean", "sometimes", "true or false"},
		{"on_failure.params", "reason", "has no ="},
		{"requires.labels", "=x", "no name before ="},
		{"requires.colour", "red", "unknown key requires.colour"},
		{"nmae", "x", `unknown setting "nmae"`},
	}
	for _, tc := range cases {
		d := mustOpen(t, settingsDoc)
		if err := d.SetSetting(tc.key, tc.value); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("SetSetting(%s, %q) = %v, want %q", tc.key, tc.value, err, tc.want)
		}
		unchanged(t, d, []byte(settingsDoc))
	}
}

func TestParams(t *testing.T) {
	d := mustOpen(t, settingsDoc)

	// Add.
	if err := d.SetParam("env", ParamEdit{Type: "string", Default: "staging", Enum: "staging, production", Description: "Where"}); err != nil {
		t.Fatal(err)
	}
	if err := d.SetParam("hosts", ParamEdit{Type: "list", Default: "web1, web2", Enum: "web1,web2,web3"}); err != nil {
		t.Fatal(err)
	}
	if err := d.SetParam("dry_run", ParamEdit{Type: "boolean", Default: "yes", Required: true}); err != nil {
		t.Fatal(err)
	}
	mustValid(t, d)
	c := d.Composition()
	want := []composition.Param{
		{Name: "version", Type: "string", Default: "1.0.0"},
		{Name: "n", Type: "number", Default: 2.0},
		{Name: "env", Type: "string", Default: "staging", Enum: []any{"staging", "production"}, Description: "Where"},
		{Name: "hosts", Type: "list", Default: []any{"web1", "web2"}, Enum: []any{"web1", "web2", "web3"}},
		{Name: "dry_run", Type: "boolean", Default: true, Required: true},
	}
	if !reflect.DeepEqual(c.Params, want) {
		t.Errorf("params\n got %#v\nwant %#v", c.Params, want)
	}

	// The form text of each param posts back unchanged.
	for _, p := range c.Params {
		before := string(d.Source())
		if err := d.SetParam(p.Name, ParamForm(p)); err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
		if string(d.Source()) != before {
			t.Errorf("posting back %+v changed the YAML:\n%s", ParamForm(p), d.Source())
		}
	}

	// Rename: references follow.
	if err := d.SetParam("version", ParamEdit{Name: "release", Type: "string", Default: "2.0.0"}); err != nil {
		t.Fatal(err)
	}
	if err := d.SetParam("n", ParamEdit{Name: "count", Type: "number", Default: "3"}); err != nil {
		t.Fatal(err)
	}
	mustValid(t, d)
	src := string(d.Source())
	for _, w := range []string{"V: ${{ params.release }}", `"N": ${{ params['count'] * 2 }}`, `run: echo "$V ${{ params.release }}"`, "  release:\n    type: string\n    default: 2.0.0\n"} {
		if !strings.Contains(src, w) {
			t.Errorf("source lacks %q:\n%s", w, src)
		}
	}
	if d.Composition().Params[0].Name != "release" {
		t.Error("a renamed param keeps its place")
	}

	// Remove: a reference left behind is a problem.
	if err := d.RemoveParam("release"); err != nil {
		t.Fatal(err)
	}
	if got := d.ProblemsFor("a")["env"]; len(got) != 1 || !strings.Contains(got[0], "params.release") {
		t.Errorf("problems %v", d.ProblemsFor("a"))
	}
	if err := d.RemoveParam("release"); err == nil {
		t.Error("removing twice")
	}
}

// An empty string default is kept apart from no default: expressions tell
// nil from ”.
func TestParamEmptyDefault(t *testing.T) {
	d := Open(readFile(t, "../examples/notify-team.yaml"), newCatalog())
	p := *d.Composition().Param("webhook")
	form := ParamForm(p)
	if form.Default != "" || !form.HasDefault {
		t.Fatalf("form %+v", form)
	}
	if err := d.SetParam("webhook", form); err != nil {
		t.Fatal(err)
	}
	if got := d.Composition().Param("webhook").Default; got != "" {
		t.Errorf("default %#v, want \"\"", got)
	}
	form.HasDefault = false
	if err := d.SetParam("webhook", form); err != nil {
		t.Fatal(err)
	}
	if got := d.Composition().Param("webhook").Default; got != nil {
		t.Errorf("default %#v, want none", got)
	}
}

func TestParamErrors(t *testing.T) {
	cases := []struct {
		name string
		p    ParamEdit
		want string
	}{
		{"n", ParamEdit{Type: "number", Default: "abc"}, `param n: default: "abc" is not a number`},
		{"n", ParamEdit{Type: "int"}, `type must be one of string, number, boolean, list, not "int"`},
		{"n", ParamEdit{Type: "number", Enum: "1, x"}, `param n: enum: "x" is not a number`},
		{"e", ParamEdit{Default: "prod", Enum: "staging, production"}, `"prod" is not one of staging, production`},
		{"Bad-Name", ParamEdit{}, "may hold only lowercase letters"},
		{"n", ParamEdit{Name: "version"}, `already a param "version"`},
	}
	for _, tc := range cases {
		d := mustOpen(t, settingsDoc)
		if err := d.SetParam(tc.name, tc.p); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("SetParam(%s, %+v) = %v, want %q", tc.name, tc.p, err, tc.want)
		}
		unchanged(t, d, []byte(settingsDoc))
	}
}

func TestParamFormLists(t *testing.T) {
	cases := []any{
		[]any{"a", "b"},
		[]any{"a, b"},
		[]any{1.0, 2.0},
		[]any{},
		[]any{"two\nlines"},
	}
	for _, def := range cases {
		d := mustOpen(t, settingsDoc)
		if err := d.SetParam("l", ParamForm(composition.Param{Name: "l", Type: "list", Default: def})); err != nil {
			t.Fatalf("%#v: %v", def, err)
		}
		if got := d.Composition().Param("l").Default; !reflect.DeepEqual(got, def) {
			t.Errorf("default %#v reads back as %#v", def, got)
		}
	}
}

// A new composition starts from an empty file.
func TestNewFromEmpty(t *testing.T) {
	d := Open(nil, newCatalog())
	if err := d.SetSetting("name", "fresh"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Add("shell", 0, false); err != nil {
		t.Fatal(err)
	}
	mustValid(t, d)
	if got := string(d.Source()); got != "name: fresh\ntasks:\n  - id: shell_1\n    run: echo hello\n" {
		t.Errorf("source:\n%s", got)
	}
}
