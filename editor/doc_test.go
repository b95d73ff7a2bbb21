package editor

import (
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/token"

	"baton/composition"
)

func TestRoundTripExamples(t *testing.T) {
	for _, file := range exampleFiles(t) {
		t.Run(file, func(t *testing.T) {
			src := readFile(t, file)
			d := Open(src, newCatalog())
			if probs := d.Problems(); len(probs) > 0 {
				t.Fatalf("problems: %v", probs)
			}
			if string(d.Source()) != string(src) {
				t.Errorf("Open then Source changed the text")
			}
			if err := d.Editable(); err != nil {
				t.Errorf("Editable: %v", err)
			}
			c := d.Composition()
			out, err := composition.Format(c)
			if err != nil {
				t.Fatal(err)
			}
			again, probs := composition.Parse("", out)
			if again == nil || len(probs) > 0 {
				t.Fatalf("formatted YAML does not parse: %v\n%s", probs, out)
			}
			if !sameComposition(c, again) {
				t.Errorf("Format then Parse changed the meaning:\n%s", out)
			}
		})
	}
}

// An edit that changes nothing still makes the source canonical, keeps
// the meaning and every comment.
func TestNoOpEditIsCanonical(t *testing.T) {
	for _, file := range exampleFiles(t) {
		t.Run(file, func(t *testing.T) {
			src := readFile(t, file)
			d := Open(src, newCatalog())
			before := d.Composition()
			if err := d.SetSetting("name", before.Name); err != nil {
				t.Fatal(err)
			}
			want, _ := composition.FormatKeeping(before, composition.ReadComments(src))
			if string(d.Source()) != string(want) {
				t.Errorf("source after an edit is not composition.FormatKeeping:\n%s", d.Source())
			}
			if got, want := yamlComments(d.Source()), yamlComments(src); !slices.Equal(got, want) {
				t.Errorf("comments after a no-op edit:\n%q\nwant\n%q", got, want)
			}
			if !sameComposition(before, d.Composition()) {
				t.Errorf("a no-op edit changed the meaning:\n%s", d.Source())
			}
			if len(d.Problems()) > 0 {
				t.Errorf("problems: %v", d.Problems())
			}
		})
	}
}

// Sending the current rows of a row complete composition changes nothing.
func TestNoOpLayoutExamples(t *testing.T) {
	complete := 0
	for _, file := range exampleFiles(t) {
		t.Run(file, func(t *testing.T) {
			d := Open(readFile(t, file), newCatalog())
			if !d.RowComplete() {
				return
			}
			complete++
			before := d.Composition()
			if err := d.Layout(rowsOf(d)); err != nil {
				t.Fatal(err)
			}
			if !sameComposition(before, d.Composition()) {
				t.Errorf("a no-op Layout changed the meaning: %s\nwas %s\n%s", graph(d.Composition()), graph(before), d.Source())
			}
		})
	}
	if complete < 3 {
		t.Errorf("only %d examples are row complete; the test checks too little", complete)
	}
}

func TestRowComplete(t *testing.T) {
	cases := []struct {
		name string
		src  string
		want bool
	}{
		{"sequence", "name: x\ntasks:\n  - {id: a, run: a}\n  - {id: b, run: b}\n", true},
		{"fork and join", "name: x\ntasks:\n  - {id: a, run: a}\n  - {id: b, needs: [], run: b}\n  - {id: c, needs: [b, a], run: c}\n", true},
		{"partial join", "name: x\ntasks:\n  - {id: a, run: a}\n  - {id: b, needs: [], run: b}\n  - {id: c, needs: [a], run: c}\n", false},
		{"skips a row", "name: x\ntasks:\n  - {id: a, run: a}\n  - {id: b, run: b}\n  - {id: c, needs: [a, b], run: c}\n", false},
		{"unknown need", "name: x\ntasks:\n  - {id: a, needs: [zz], run: a}\n", false},
		{"no tasks", "name: x\ntasks: []\n", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Open([]byte(tc.src), newCatalog()).RowComplete(); got != tc.want {
				t.Errorf("RowComplete = %v, want %v", got, tc.want)
			}
		})
	}
	if d := Open(readFile(t, "../examples/release-webapp.yaml"), newCatalog()); d.RowComplete() {
		t.Errorf("release-webapp is not row complete: deploy does not need checkout-tests")
	}
}

func TestUnreadableDoc(t *testing.T) {
	src := []byte("name: [unclosed\n")
	d := Open(src, newCatalog())
	if d.Composition() != nil {
		t.Fatal("expected no composition")
	}
	if string(d.Source()) != string(src) || len(d.Problems()) == 0 {
		t.Errorf("source %q, problems %v", d.Source(), d.Problems())
	}
	if d.Rows() != nil || d.RowComplete() || d.ProblemsFor("a") != nil {
		t.Error("an unreadable doc has no rows and no task problems")
	}
	err := d.SetSetting("name", "x")
	if err == nil || !strings.Contains(err.Error(), "YAML tab") {
		t.Errorf("edit of an unreadable doc: %v", err)
	}
	unchanged(t, d, src)
}

// Edits are refused while the YAML holds text the model would drop, and
// allowed when the problems are ones the model keeps.
func TestEditable(t *testing.T) {
	cases := []struct {
		name     string
		src      string
		editable bool
	}{
		{"empty file", "", true},
		{"comment only", "# new\n", true},
		{"name only", "name: x\n", true},
		{"empty tasks", "name: x\ntasks:\n", true},
		{"bad name", "name: Bad_Name\ntasks:\n  - {id: a, run: a}\n", true},
		{"unknown type", "name: x\ntasks:\n  - {id: a, type: shel}\n", true},
		{"empty id", "name: x\ntasks:\n  - {id: \"\", run: a}\n", true},
		{"missing field", "name: x\ntasks:\n  - {id: a, type: http}\n", true},
		{"unknown key", "name: x\nconcurency: 1\ntasks:\n  - {id: a, run: a}\n", false},
		{"bare number timeout", "name: x\ntasks:\n  - {id: a, run: a, timeout: 10}\n", false},
		{"task not a map", "name: x\ntasks:\n  - just text\n", false},
		{"script twice", "name: x\ntasks:\n  - {id: a, run: a, with: {run: b}}\n", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := Open([]byte(tc.src), newCatalog())
			err := d.Editable()
			if (err == nil) != tc.editable {
				t.Fatalf("Editable = %v, want editable %v; problems %v", err, tc.editable, d.Problems())
			}
			before := d.Source()
			editErr := d.SetSetting("description", "changed")
			if tc.editable && editErr != nil {
				t.Errorf("edit: %v", editErr)
			}
			if !tc.editable {
				if editErr == nil || !strings.Contains(editErr.Error(), "line ") {
					t.Errorf("edit should be refused with where the problem is: %v", editErr)
				}
				unchanged(t, d, before)
			}
		})
	}
}

func TestReplaceSource(t *testing.T) {
	d := mustOpen(t, "name: x\ntasks:\n  - {id: a, run: a}\n")
	if err := d.SetTask("a", "name", "First"); err != nil {
		t.Fatal(err)
	}
	text := []byte("# my comment\nname: x\nconcurency: 2\ntasks:\n  - {id: b, run: b}\n")
	d.ReplaceSource(text)
	if string(d.Source()) != string(text) {
		t.Errorf("ReplaceSource must keep the text verbatim, got\n%s", d.Source())
	}
	if len(d.Problems()) != 1 || d.Problems()[0].Line != 3 {
		t.Errorf("problems: %v", d.Problems())
	}
	if d.Composition().Task("b") == nil {
		t.Error("the model follows the new text")
	}
}

func TestProblemsFor(t *testing.T) {
	src := `name: x
params:
  n: {type: number}
tasks:
  - id: fetch
    type: http
    with:
      method: GETT
      save_as: out
    timeout: 5m
  - id: build
    needs: [fetch, nope]
    run: make ${{ params.m }}
    env: {A: "${{ tasks.later.outputs.x }}"}
    bogus: 1
  - id: later
    type: http
`
	d := Open([]byte(src), newCatalog())
	cases := []struct {
		task, key, contains string
	}{
		{"fetch", "with.method", `"GETT" is not one of`},
		{"fetch", "with.url", `missing required field "url"`},
		{"build", "needs", `"nope"`},
		{"build", "with.run", "params.m"},
		{"build", "env", "does not run after it"},
		{"build", "", `unknown key "bogus"`},
		{"later", "with.url", `missing required field "url"`},
	}
	for _, tc := range cases {
		got := d.ProblemsFor(tc.task)
		found := false
		for _, msg := range got[tc.key] {
			if strings.Contains(msg, tc.contains) {
				found = true
			}
		}
		if !found {
			t.Errorf("ProblemsFor(%s)[%q] lacks %q; got %v", tc.task, tc.key, tc.contains, got)
		}
	}
	total := 0
	for _, id := range []string{"fetch", "build", "later"} {
		for _, msgs := range d.ProblemsFor(id) {
			total += len(msgs)
		}
	}
	if total != len(d.Problems()) {
		t.Errorf("%d problems attributed to tasks, %d in all: %v", total, len(d.Problems()), d.Problems())
	}
	if got := d.ProblemsFor("fetch")[""]; len(got) > 0 {
		t.Errorf("fetch has no problems of its own: %v", got)
	}
	if d.ProblemsFor("nope") != nil {
		t.Error("unknown task")
	}

	// After an edit the positions are those of the new source.
	d.ReplaceSource([]byte(strings.Replace(src, "    bogus: 1\n", "", 1)))
	if err := d.SetField("fetch", "save_as", ""); err != nil {
		t.Fatal(err)
	}
	if got := d.ProblemsFor("fetch")["with.method"]; len(got) != 1 {
		t.Errorf("after edit: %v\n%s", d.ProblemsFor("fetch"), d.Source())
	}
}

// A problem outside any task is not given to the last task.
func TestProblemsForTopLevelAfterTasks(t *testing.T) {
	src := "name: x\ntasks:\n  - id: a\n    run: a\noutputs:\n  x: ${{ params.nope }}\n"
	d := Open([]byte(src), newCatalog())
	if len(d.Problems()) != 1 {
		t.Fatalf("problems: %v", d.Problems())
	}
	if got := d.ProblemsFor("a"); len(got) > 0 {
		t.Errorf("the outputs problem is not task a's: %v", got)
	}
}

// Every task action on every example: duplicating and renaming keep the
// composition valid; removing keeps it editable.
func TestActionsOnExamples(t *testing.T) {
	for _, file := range exampleFiles(t) {
		src := readFile(t, file)
		ids := taskIDs(Open(src, newCatalog()).Composition().Tasks)
		for _, id := range ids {
			d := Open(src, newCatalog())
			if _, err := d.Duplicate(id); err != nil {
				t.Errorf("%s: Duplicate(%s): %v", file, id, err)
			} else if len(d.Problems()) > 0 {
				t.Errorf("%s: Duplicate(%s): %v\n%s", file, id, d.Problems(), d.Source())
			}
			d = Open(src, newCatalog())
			if err := d.SetTask(id, "id", id+"_renamed"); err != nil {
				t.Errorf("%s: rename %s: %v", file, id, err)
			} else if len(d.Problems()) > 0 {
				t.Errorf("%s: rename %s: %v\n%s", file, id, d.Problems(), d.Source())
			}
			d = Open(src, newCatalog())
			if err := d.Remove(id); err != nil {
				t.Errorf("%s: Remove(%s): %v", file, id, err)
			} else if err := d.Editable(); err != nil {
				t.Errorf("%s: Remove(%s) left the doc not editable: %v", file, id, err)
			}
		}
	}
}

// yamlComments returns the text of every YAML comment in src, sorted.
func yamlComments(src []byte) []string {
	var out []string
	for _, tk := range lexer.Tokenize(string(src)) {
		if tk.Type == token.CommentType {
			out = append(out, tk.Value)
		}
	}
	slices.Sort(out)
	return out
}

// commentedDoc is a hand-written file with comments on its tasks and
// schedules.
const commentedDoc = `# Nightly build.

name: nightly
schedules:
  # weekdays
  - cron: 0 3 * * 1-5
  # weekends, later
  - cron: 0 6 * * 0,6  # sleep in
tasks:
  # fetch the sources
  - id: fetch
    run: git pull

  # build it
  - id: build  # the slow one
    run: make
  # run the tests
  - id: test
    run: make test
# end of file
`

// Edits made on the canvas and in the forms keep the comments with the
// tasks and schedules they were written at, and drop those of what was
// removed.
func TestEditsKeepComments(t *testing.T) {
	d := Open([]byte(commentedDoc), newCatalog())
	steps := []struct {
		name string
		do   func() error
		want []string // pieces of the source after the step
		gone []string
	}{
		{"rename build", func() error { return d.SetTask("build", "id", "compile") },
			[]string{"# Nightly build.\n\nname: nightly\n", "\n\n  # build it\n  - id: compile  # the slow one\n    run: make\n", "# end of file\n"}, nil},
		{"move test up beside compile", func() error { return d.Move("test", -1) },
			[]string{"  # run the tests\n  - id: test\n", "  # build it\n  - id: compile  # the slow one\n"}, nil},
		{"remove fetch", func() error { return d.Remove("fetch") },
			[]string{"tasks:\n  # build it\n  - id: compile  # the slow one\n"}, []string{"fetch the sources"}},
		{"remove the first schedule", func() error { return d.RemoveSchedule(0) },
			[]string{"schedules:\n  # weekends, later\n  - cron: 0 6 * * 0,6  # sleep in\n"}, []string{"weekdays"}},
		{"change the schedule in place", func() error { return d.SetSchedule(0, ScheduleEdit{Cron: "0 7 * * 0,6"}) },
			[]string{"  # weekends, later\n  - cron: 0 7 * * 0,6  # sleep in\n"}, nil},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		src := string(d.Source())
		t.Logf("after %s:\n%s", s.name, src)
		for _, w := range s.want {
			if !strings.Contains(src, w) {
				t.Errorf("%s: the source lacks %q:\n%s", s.name, w, src)
			}
		}
		for _, g := range s.gone {
			if strings.Contains(src, g) {
				t.Errorf("%s: %q is still there:\n%s", s.name, g, src)
			}
		}
		if len(d.Problems()) > 0 {
			t.Errorf("%s: problems %v", s.name, d.Problems())
		}
	}
}
