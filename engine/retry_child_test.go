package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"baton/engine"
	"baton/model"
)

// TestRetryCallsAfreshWithOtherParams: when the composition task of a
// retry calls its child with other params than the failed child had (here
// the latest version passes another host), the child starts afresh
// instead of being retried.
func TestRetryCallsAfreshWithOtherParams(t *testing.T) {
	dir := t.TempDir()
	child := fmt.Sprintf(`
name: child
params:
  host: {type: string, required: true}
tasks:
  - id: prepare
    env: {DIR: %q}
    run: echo run >> "$DIR/prepare.count"
  - id: install
    run: test "${{ params.host }}" = good
`, dir)
	parent := `
name: parent
tasks:
  - id: call
    type: composition
    with: {name: child, params: {host: %s}}
`
	h := newHarness(t, child, fmt.Sprintf(parent, "bad"))
	old := h.waitDone(h.startRun("parent", nil).ID)
	if old.Status != model.RunFailed {
		t.Fatalf("first run %s", old.Status)
	}
	h.save(fmt.Sprintf(parent, "good"))
	retry, err := h.eng.Retry(context.Background(), engine.RetryRequest{RunID: old.ID, By: "bob", Latest: true})
	if err != nil {
		t.Fatal(err)
	}
	if done := h.waitDone(retry.ID); done.Status != model.RunSucceeded {
		t.Fatalf("retry %s (%s)", done.Status, done.Error)
	}
	c, err := h.store.GetRun(context.Background(), h.tasks(retry.ID)["call"].ChildRunID)
	if err != nil {
		t.Fatal(err)
	}
	if c.RetryOf != 0 || c.Params["host"] != "good" {
		t.Errorf("the child of the retry = %+v, want a fresh run with host good", c)
	}
	if n := lines(t, filepath.Join(dir, "prepare.count")); n != 2 {
		t.Errorf("the child's prepare ran %d times, want twice (the new child starts afresh)", n)
	}
}
