package editor

import (
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// applySrc is the composition the tests of Apply start from.
const applySrc = `name: demo
params:
  who: {type: string, default: world}
schedules:
  - cron: "@daily"
tasks:
  - id: build
    run: echo build
  - id: fetch
    type: http
    with: {url: "https://example.com/"}
`

func TestDecodeEdit(t *testing.T) {
	for _, tc := range []struct {
		name string
		form url.Values
		want Edit
		err  string
	}{
		{"a field, with the form's other inputs", url.Values{"op": {"field"}, "key": {"url"}, "selected": {"fetch"},
			"in-field-url": {"https://x/\r\n"}, "in-task-timeout": {"10s"}, "in-setting-name": {"demo"}},
			Edit{Op: OpField, Key: "url", Selected: "fetch", Fields: map[string]string{"url": "https://x/\n"},
				TaskKeys: map[string]string{"timeout": "10s"}, Settings: map[string]string{"name": "demo"}}, ""},
		{"needs boxes shown, none checked", url.Values{"in-task-needs-shown": {"1"}},
			Edit{Fields: map[string]string{}, TaskKeys: map[string]string{"needs": ""}, Settings: map[string]string{}}, ""},
		{"needs boxes checked", url.Values{"in-task-needs-shown": {"1"}, "in-task-needs": {"a", "b"}},
			Edit{Fields: map[string]string{}, TaskKeys: map[string]string{"needs": "a, b"}, Settings: map[string]string{}}, ""},
		{"needs boxes not shown", url.Values{"in-task-needs": {"a"}},
			Edit{Fields: map[string]string{}, TaskKeys: map[string]string{}, Settings: map[string]string{}}, ""},
		{"a layout", url.Values{"op": {"layout"}, "rows": {`[["a"],["new:shell","b"]]`}},
			Edit{Op: OpLayout, Rows: [][]string{{"a"}, {"new:shell", "b"}}, Fields: map[string]string{}, TaskKeys: map[string]string{}, Settings: map[string]string{}}, ""},
		{"rows of params and schedules", url.Values{"op": {"param"}, "index": {"1"},
			"param-0-name": {"a"}, "param-1-name": {"b"}, "param-1-type": {"number"},
			"param-1-default": {"3"}, "param-1-required": {"true"}, "sched-0-cron": {"@daily"}, "sched-0-params": {"a=1\r\nb=2"}, "sched-0-catch_up": {"true"}},
			Edit{Op: OpParam, Index: 1, Fields: map[string]string{}, TaskKeys: map[string]string{}, Settings: map[string]string{},
				Params:    []ParamEdit{{Name: "a"}, {Name: "b", Type: "number", Default: "3", HasDefault: true, Required: true}},
				Schedules: []ScheduleEdit{{Cron: "@daily", Params: "a=1\nb=2", CatchUp: true}}}, ""},
		{"the YAML tab", url.Values{"op": {"yaml"}, "yaml": {"name: x\r\n"}},
			Edit{Op: OpYAML, YAML: []byte("name: x\n"), Fields: map[string]string{}, TaskKeys: map[string]string{}, Settings: map[string]string{}}, ""},
		{"a layout that is not JSON", url.Values{"op": {"layout"}, "rows": {"[["}}, Edit{}, "could not be read"},
		{"a move of two places", url.Values{"op": {"move"}, "task": {"a"}, "dir": {"2"}}, Edit{}, "one place at a time"},
		{"a row that is not a number", url.Values{"op": {"schedule-remove"}, "index": {"x"}}, Edit{}, "not a row number"},
		{"a negative row", url.Values{"op": {"param"}, "index": {"-1"}}, Edit{}, "not a row number"},
		{"an unknown op", url.Values{"op": {"explode"}}, Edit{}, "no such action"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeEdit(tc.form)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
	if _, err := DecodeEdit(url.Values{"op": {"nope"}}); !errors.Is(err, ErrNoAction) {
		t.Errorf("an unknown op: %v, want ErrNoAction", err)
	}
}

// TestInputNames: the names the views get are the ones DecodeEdit reads.
func TestInputNames(t *testing.T) {
	form := url.Values{
		InputName(OpField, "url"): {"u"}, InputName(OpTask, "timeout"): {"1s"}, InputName(OpSetting, "name"): {"n"},
		RowPrefix(OpParam, 0) + "name": {"p"}, RowPrefix(OpSchedule, 0) + "cron": {"@hourly"},
		InputName(OpTask, "needs") + "-shown": {"1"},
	}
	e, err := DecodeEdit(form)
	if err != nil {
		t.Fatal(err)
	}
	if e.Fields["url"] != "u" || e.TaskKeys["timeout"] != "1s" || e.Settings["name"] != "n" ||
		len(e.Params) != 1 || e.Params[0].Name != "p" || len(e.Schedules) != 1 || e.Schedules[0].Cron != "@hourly" {
		t.Errorf("decoded %+v", e)
	}
	if needs, ok := e.TaskKeys["needs"]; !ok || needs != "" {
		t.Errorf("needs shown with no box checked = %q, %v; want \"\", true", needs, ok)
	}
}

func TestApply(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit Edit
		want Result
		has  []string // in the source after the edit
		err  string   // the error, when it is refused
		in   string   // the input an error belongs to
	}{
		{"select", Edit{Op: OpSelect, Task: "fetch"}, Result{Selected: "fetch"}, nil, "", ""},
		{"add selects the new task", Edit{Op: OpAdd, Type: "shell"}, Result{Selected: "shell_1"}, []string{"id: shell_1"}, "", ""},
		{"a layout selects the task it adds", Edit{Op: OpLayout, Rows: [][]string{{"build", "new:shell"}, {"fetch"}}},
			Result{Selected: "shell_1"}, []string{"id: shell_1"}, "", ""},
		{"move", Edit{Op: OpMove, Task: "fetch", Dir: -1}, Result{Selected: "fetch"}, nil, "", ""},
		{"duplicate", Edit{Op: OpDuplicate, Task: "build"}, Result{Selected: "build_2"}, []string{"id: build_2"}, "", ""},
		{"remove the selected task", Edit{Op: OpRemove, Task: "build", Selected: "build"}, Result{}, nil, "", ""},
		{"a field", Edit{Op: OpField, Selected: "fetch", Key: "url", Fields: map[string]string{"url": "https://baton.test/"}},
			Result{Selected: "fetch", Part: PartInspector}, []string{"url: https://baton.test/"}, "", ""},
		{"a field that does not fit", Edit{Op: OpField, Selected: "fetch", Key: "follow_redirects", Fields: map[string]string{"follow_redirects": "often"}},
			Result{Selected: "fetch", Part: PartInspector}, nil, "often", "in-field-follow_redirects"},
		{"a rename selects the new id", Edit{Op: OpTask, Selected: "build", Key: "id", TaskKeys: map[string]string{"id": " compile "}},
			Result{Selected: "compile", Part: PartInspector}, []string{"id: compile"}, "", ""},
		{"a setting", Edit{Op: OpSetting, Key: "timeout", Settings: map[string]string{"timeout": "soon"}},
			Result{Part: PartSettings}, nil, "duration", "in-setting-timeout"},
		{"a param", Edit{Op: OpParam, Index: 0, Params: []ParamEdit{{Name: "whom", Type: "string"}}},
			Result{Part: PartSettings}, []string{"whom:"}, "", ""},
		{"a param row that was not posted", Edit{Op: OpParam, Index: 3}, Result{Part: PartSettings}, nil, "parameter 4", ""},
		{"add a param", Edit{Op: OpParamAdd}, Result{Tab: "settings"}, []string{"param_1:"}, "", ""},
		{"remove a param", Edit{Op: OpParamRemove, Index: 0}, Result{Tab: "settings"}, nil, "", ""},
		{"remove a param that is not there", Edit{Op: OpParamRemove, Index: 5}, Result{Tab: "settings"}, nil, "no parameter 6", ""},
		{"a schedule", Edit{Op: OpSchedule, Index: 0, Schedules: []ScheduleEdit{{Cron: ""}}}, Result{Part: PartSettings}, nil, "cron is empty", "sched-0-"},
		{"add a schedule", Edit{Op: OpScheduleAdd}, Result{Tab: "settings"}, nil, "", ""},
		{"remove a schedule", Edit{Op: OpScheduleRemove, Index: 0}, Result{Tab: "settings"}, nil, "", ""},
		{"the YAML tab", Edit{Op: OpYAML, YAML: []byte("name: other\ntasks: []\n")}, Result{Part: PartYAML}, []string{"name: other"}, "", ""},
		{"no action", Edit{}, Result{}, nil, "no such action", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := mustOpen(t, applySrc)
			before := d.Source()
			got, err := d.Apply(tc.edit)
			if got != tc.want {
				t.Errorf("result = %+v, want %+v", got, tc.want)
			}
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				var in *InputError
				if errors.As(err, &in) != (tc.in != "") || tc.in != "" && in.Input != tc.in {
					t.Errorf("err = %#v, want it on input %q", err, tc.in)
				}
				unchanged(t, d, before)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tc.has {
				if !strings.Contains(string(d.Source()), s) {
					t.Errorf("source lacks %q:\n%s", s, d.Source())
				}
			}
		})
	}
}

// TestApplyPending: a save applies what the forms hold and the YAML does
// not, and reports each refusal on its input; values the YAML holds
// already change nothing.
func TestApplyPending(t *testing.T) {
	d := mustOpen(t, applySrc)
	e, err := DecodeEdit(url.Values{
		"selected":           {"fetch"},
		"in-task-id":         {"fetch"},
		"in-task-timeout":    {"2m"},
		"in-task-retries":    {"lots"},
		"in-field-url":       {"https://example.com/"},
		"in-field-method":    {"POST"},
		"in-setting-name":    {"demo"},
		"in-setting-timeout": {"1h"},
		"param-0-name":       {"who"}, "param-0-type": {"string"}, "param-0-default": {"there"},
		"sched-0-cron": {"@hourly"},
	})
	if err != nil {
		t.Fatal(err)
	}
	selected, errs := d.ApplyPending(e)
	if selected != "fetch" {
		t.Errorf("selected = %q", selected)
	}
	if len(errs) != 1 || errs[0].Input != "in-task-retries" || errs[0].Value != "lots" {
		t.Fatalf("refusals = %v, want one on in-task-retries", errs)
	}
	src := string(d.Source())
	for _, want := range []string{"timeout: 2m", "method: POST", "timeout: 1h", "default: there", "cron: \"@hourly\""} {
		if !strings.Contains(src, want) {
			t.Errorf("source lacks %q:\n%s", want, src)
		}
	}

	// A rename in the pending forms: the keys after it go to the renamed task.
	d = mustOpen(t, applySrc)
	e, _ = DecodeEdit(url.Values{"selected": {"build"}, "in-task-id": {"compile"}, "in-task-timeout": {"5s"}})
	if selected, errs := d.ApplyPending(e); selected != "compile" || len(errs) != 0 || !strings.Contains(string(d.Source()), "timeout: 5s") {
		t.Errorf("after a pending rename: selected %q, errors %v:\n%s", selected, errs, d.Source())
	}

	// Unchanged forms change nothing.
	d = mustOpen(t, applySrc)
	before := d.Source()
	e, _ = DecodeEdit(url.Values{"selected": {"fetch"}, "in-field-url": {"https://example.com/"}, "in-setting-workspace.clean": {""}})
	if _, errs := d.ApplyPending(e); len(errs) != 0 {
		t.Errorf("refusals for unchanged forms: %v", errs)
	}
	unchanged(t, d, before)
}

// TestParamRowAfterRename: a param's row keeps naming its param after a
// rename, for the later edits of the row and for a save.
func TestParamRowAfterRename(t *testing.T) {
	d := mustOpen(t, applySrc)
	row := func(p ParamEdit) Edit { return Edit{Op: OpParam, Index: 0, Params: []ParamEdit{p}} }
	steps := []ParamEdit{
		{Name: "greet", Type: "string", Default: "world", HasDefault: true},
		{Name: "greet", Type: "boolean", Default: "world", HasDefault: true}, // refused: not a boolean
		{Name: "greet", Type: "boolean", Default: "false", HasDefault: true},
		{Name: "shout", Type: "boolean", Default: "false", HasDefault: true, Description: "Loudly"},
	}
	for i, p := range steps {
		_, err := d.Apply(row(p))
		if (err != nil) != (i == 1) {
			t.Fatalf("step %d: %v", i+1, err)
		}
	}
	c := d.Composition()
	if len(c.Params) != 1 || c.Params[0].Name != "shout" || c.Params[0].Type != "boolean" || c.Params[0].Default != false || c.Params[0].Description != "Loudly" {
		t.Fatalf("params = %+v", c.Params)
	}
	// A save with the row renamed again and not sent.
	e, _ := DecodeEdit(url.Values{"param-0-name": {"quiet"}, "param-0-type": {"boolean"}, "param-0-default": {"true"}, "param-0-description": {"Loudly"}})
	if _, errs := d.ApplyPending(e); len(errs) != 0 {
		t.Fatalf("pending: %v", errs)
	}
	if p := d.Composition().Params; len(p) != 1 || p[0].Name != "quiet" || p[0].Default != true {
		t.Errorf("params after the save = %+v", p)
	}
}
