package engine_test

import (
	"fmt"
	"strings"
	"testing"

	"baton/model"
)

// TestChildFailureCarried: when a called run fails, the calling task's
// error (and so the caller's run error) says which task failed and what it
// wrote last on stderr, through every level of calls; the caller's log
// marks where each child run started and ended, naming it.
func TestChildFailureCarried(t *testing.T) {
	h := newHarness(t, `
name: leaf
tasks:
  - id: deploy
    run: 'echo "pushing image" >&2; echo "boom: disk full" >&2; exit 1'
`, `
name: middle
tasks:
  - id: call-leaf
    type: composition
    with: {name: leaf}
`, `
name: top
tasks:
  - id: call-middle
    type: composition
    with: {name: middle}
`)
	r := h.waitDone(h.startRun("top", nil).ID)
	if r.Status != model.RunFailed {
		t.Fatalf("top run %s, want failed", r.Status)
	}
	top := h.tasks(r.ID)["call-middle"]
	middle := h.waitDone(top.ChildRunID)
	leaf := h.waitDone(h.tasks(middle.ID)["call-leaf"].ChildRunID)
	for what, text := range map[string]string{"the calling task's error": top.Error, "the run's error": r.Error} {
		for _, want := range []string{
			fmt.Sprintf("run %d of middle failed", middle.ID),
			fmt.Sprintf("run %d of leaf failed", leaf.ID),
			"task deploy failed: exit status 1; its last line on stderr: boom: disk full",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("%s %q lacks %q", what, text, want)
			}
		}
	}
	log := h.logText(r.ID)
	for _, want := range []string{
		fmt.Sprintf("call-middle|started run %d of middle\n", middle.ID),
		fmt.Sprintf("call-middle|run %d of middle ended failed in ", middle.ID),
	} {
		if !strings.Contains(log, want) {
			t.Errorf("top's log lacks %q:\n%s", want, log)
		}
	}
	if i, j := strings.Index(log, "started run"), strings.Index(log, "of middle ended"); i < 0 || j < i {
		t.Errorf("the child's start and end are not in order in the log:\n%s", log)
	}
}
