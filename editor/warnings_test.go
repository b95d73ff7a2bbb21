package editor

import (
	"strings"
	"testing"
)

// TestWarnings: calls to compositions that do not exist are warnings, on
// the field or setting they concern, once the document knows which exist;
// they are not problems.
func TestWarnings(t *testing.T) {
	const src = `name: caller
on_failure: {composition: alert}
tasks:
  - id: call
    type: composition
    with: {name: lnit}
  - id: later
    type: composition
    with: {name: "${{ 'li' + 'nt' }}"}
`
	d := mustOpen(t, src)
	if w := d.Warnings(); len(w) != 0 {
		t.Fatalf("warnings before the document knows any composition: %v", w)
	}
	d.KnowCompositions([]string{"lint"})
	if n := len(d.Warnings()); n != 2 {
		t.Fatalf("warnings = %v, want 2", d.Warnings())
	}
	if len(d.Problems()) != 0 {
		t.Errorf("warnings became problems: %v", d.Problems())
	}
	if w := d.WarningsFor("call")["with.name"]; len(w) != 1 || !strings.Contains(w[0], `"lnit"`) || !strings.Contains(w[0], `did you mean "lint"?`) {
		t.Errorf("warnings of task call = %v", d.WarningsFor("call"))
	}
	if w := d.WarningsFor("later"); len(w) != 0 {
		t.Errorf("a name given by an expression is checked: %v", w)
	}
	if w := d.SettingWarnings()["on_failure.composition"]; len(w) != 1 || !strings.Contains(w[0], `"alert"`) {
		t.Errorf("setting warnings = %v", d.SettingWarnings())
	}
	// An edit keeps what the document knows.
	if err := d.SetField("call", "name", "lint"); err != nil {
		t.Fatal(err)
	}
	if n := len(d.Warnings()); n != 1 {
		t.Errorf("after fixing the name: %v", d.Warnings())
	}
}

func TestSettingProblems(t *testing.T) {
	const src = `name: Bad Name
params:
  who: {type: number, default: nope}
timeout: 10
on_failure: {composition: alert, params: {x: "${{ params.nope }}"}}
schedules:
  - cron: "0 0 30 2 *"
tasks:
  - id: a
    run: echo ${{ params.missing }}
`
	d := Open([]byte(src), newCatalog())
	got := d.SettingProblems()
	for key, want := range map[string]string{
		"name":              "name",
		"params.who":        "nope",
		"timeout":           "unit",
		"on_failure.params": "params.nope",
		"schedules.0":       "never fires",
	} {
		if msgs := got[key]; len(msgs) == 0 || !strings.Contains(strings.Join(msgs, " "), want) {
			t.Errorf("problems of %s = %q, want one about %q (all: %v)", key, msgs, want, got)
		}
	}
	for key, msgs := range got {
		if strings.Contains(strings.Join(msgs, " "), "params.missing") {
			t.Errorf("a task's problem is filed under setting %q", key)
		}
	}
}
