package engine_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"baton/engine"
	"baton/model"
)

// pipeline is a composition for retries. build counts its runs in
// $DIR/build.count, leaves artifact.txt in the workspace and sets the
// context key built; side runs beside deploy; deploy fails until
// $DIR/fixed exists and says what it sees; cleanup (always) counts its
// runs and sets the context key cleaned.
func pipeline(dir string) string {
	return fmt.Sprintf(`
name: pipeline
params:
  version: {type: string, default: "1.0"}
tasks:
  - id: build
    env: {DIR: %q}
    run: |
      echo run >> "$DIR/build.count"
      echo "artifact ${{ params.version }}" > artifact.txt
      echo "image=app:${{ params.version }}" >> "$BATON_OUTPUT"
      echo "built=yes" >> "$BATON_CONTEXT"
  - id: approve
    type: approval
    with: {message: "Deploy?"}
  - id: side
    needs: [build]
    run: echo side
  - id: deploy
    needs: [approve]
    env: {DIR: %q}
    run: |
      test -f "$DIR/fixed" || { echo "cluster unreachable" >&2; exit 3; }
      echo "deploying ${{ tasks.build.outputs.image }} built=${{ context.built }} cleaned=${{ context.cleaned ?? 'none' }} $(cat artifact.txt)"
  - id: notify
    needs: [deploy]
    run: echo notified
  - id: cleanup
    needs: [deploy]
    always: true
    env: {DIR: %q}
    run: |
      echo run >> "$DIR/cleanup.count"
      echo "cleaned=$(wc -l < "$DIR/cleanup.count" | tr -d ' ')" >> "$BATON_CONTEXT"
`, dir, dir, dir)
}

func lines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

// failedPipeline runs the pipeline until deploy fails, approving once.
func failedPipeline(t *testing.T, h *harness) *model.Run {
	t.Helper()
	r := h.startRun("pipeline", map[string]any{"version": "2.1"})
	h.waitRun(r.ID, func(r *model.Run) bool { return r.Status == model.RunWaiting })
	if err := h.eng.Decide(context.Background(), r.ID, "approve", model.Approved, "alice", "go"); err != nil {
		t.Fatal(err)
	}
	done := h.waitDone(r.ID)
	if done.Status != model.RunFailed {
		t.Fatalf("first run %s (%s), want failed", done.Status, done.Error)
	}
	return done
}

// TestRetryKeepsSucceededTasks: a retry of a failed run is a new run of
// the same version and params that keeps the tasks that succeeded before
// the failure (their outputs, their approval, the context they set and
// the files they left in the workspace) and runs the failed task and
// everything after it, the clean-up included.
func TestRetryKeepsSucceededTasks(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, pipeline(dir))
	old := failedPipeline(t, h)
	ot := h.tasks(old.ID)
	wantStatus(t, ot, map[string]model.TaskStatus{"build": model.TaskSucceeded, "side": model.TaskSucceeded, "deploy": model.TaskFailed,
		"notify": model.TaskSkipped, "cleanup": model.TaskSucceeded})
	if !strings.Contains(old.Error, "cluster unreachable") {
		t.Errorf("the first run's error %q lacks the task's last stderr line", old.Error)
	}
	writeTestFile(t, filepath.Join(dir, "fixed"))

	retry, err := h.eng.Retry(context.Background(), engine.RetryRequest{RunID: old.ID, By: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	if retry.RetryOf != old.ID || retry.Version != old.Version || retry.Params["version"] != "2.1" || retry.Trigger != fmt.Sprintf("bob, retrying run %d", old.ID) {
		t.Errorf("retry = %+v", retry)
	}
	done := h.waitDone(retry.ID)
	if done.Status != model.RunSucceeded {
		t.Fatalf("retry %s (%s)\n%s", done.Status, done.Error, h.logText(retry.ID))
	}
	ts := h.tasks(retry.ID)
	for _, id := range []string{"build", "approve", "side"} {
		if ts[id].Status != model.TaskSucceeded || ts[id].KeptFrom != old.ID || !ts[id].FinishedAt.Equal(ot[id].FinishedAt) {
			t.Errorf("task %s was not kept: %+v", id, ts[id])
		}
	}
	if a := ts["approve"].Approval; a == nil || a.By != "alice" || a.Comment != "go" {
		t.Errorf("the kept approval lost its decision: %+v", a)
	}
	for _, id := range []string{"deploy", "notify", "cleanup"} {
		if ts[id].Status != model.TaskSucceeded || ts[id].KeptFrom != 0 {
			t.Errorf("task %s did not run again: %+v", id, ts[id])
		}
	}
	if n := lines(t, filepath.Join(dir, "build.count")); n != 1 {
		t.Errorf("build ran %d times, want once", n)
	}
	if n := lines(t, filepath.Join(dir, "cleanup.count")); n != 2 {
		t.Errorf("cleanup ran %d times, want twice", n)
	}
	log := h.logText(retry.ID)
	for _, want := range []string{
		fmt.Sprintf("|retrying run %d: kept build, approve, side (their outputs, decisions and context); running again deploy, notify, cleanup\n", old.ID),
		fmt.Sprintf("|in run %d's workspace, with the files its tasks left\n", old.ID),
		// the context has what build set, not what the old clean-up set
		"deploy|deploying app:2.1 built=yes cleaned=none artifact 2.1\n",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("retry log lacks %q:\n%s", want, log)
		}
	}
	if done.Workspace != old.Workspace || done.Context["cleaned"] != "2" || done.Outputs["image"] != "app:2.1" {
		t.Errorf("retry ended with workspace %q (old %q), context %v, outputs %v", done.Workspace, old.Workspace, done.Context, done.Outputs)
	}
}

func writeTestFile(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRetryFromAnApproval: naming a task in from runs it and everything
// after it again although it succeeded; an approval is asked again.
func TestRetryFromAnApproval(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, pipeline(dir))
	old := failedPipeline(t, h)
	writeTestFile(t, filepath.Join(dir, "fixed"))
	retry, err := h.eng.Retry(context.Background(), engine.RetryRequest{RunID: old.ID, By: "bob", From: []string{"approve"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(retry.Trigger, "from approve") {
		t.Errorf("trigger %q does not say from where", retry.Trigger)
	}
	h.waitRun(retry.ID, func(r *model.Run) bool { return r.Status == model.RunWaiting })
	ts := h.tasks(retry.ID)
	if ts["approve"].Status != model.TaskWaiting || ts["approve"].KeptFrom != 0 || ts["build"].KeptFrom != old.ID || ts["side"].KeptFrom != old.ID {
		t.Fatalf("tasks of the retry: %s", h.taskSummary(retry.ID))
	}
	if err := h.eng.Decide(context.Background(), retry.ID, "approve", model.Approved, "carol", ""); err != nil {
		t.Fatal(err)
	}
	if done := h.waitDone(retry.ID); done.Status != model.RunSucceeded {
		t.Fatalf("retry %s (%s)", done.Status, done.Error)
	}
	if a := h.tasks(retry.ID)["approve"].Approval; a.By != "carol" {
		t.Errorf("approval decided by %q, want carol", a.By)
	}
}

// TestRetryRefused: what cannot be retried says why, and starts nothing.
func TestRetryRefused(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, pipeline(dir), `
name: fine
tasks:
  - id: a
    run: echo fine
`, `
name: broken
tasks:
  - id: build
    run: echo built
  - id: test
    run: exit 1
`, `
name: gone
tasks:
  - id: a
    run: exit 1
`)
	ctx := context.Background()
	old := failedPipeline(t, h)
	fine := h.waitDone(h.startRun("fine", nil).ID)
	broken := h.waitDone(h.startRun("broken", nil).ID)
	gone := h.waitDone(h.startRun("gone", nil).ID)
	if err := h.eng.DeleteComposition(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	waiting := h.startRun("pipeline", nil)
	h.waitRun(waiting.ID, func(r *model.Run) bool { return r.Status == model.RunWaiting })
	// a retry waiting for its approval makes old "being retried"
	active, err := h.eng.Retry(ctx, engine.RetryRequest{RunID: old.ID, By: "bob", From: []string{"approve"}})
	if err != nil {
		t.Fatal(err)
	}
	h.waitRun(active.ID, func(r *model.Run) bool { return r.Status == model.RunWaiting })

	var state *engine.StateError
	var invalid *engine.InvalidError
	tests := []struct {
		name string
		req  engine.RetryRequest
		is   func(error) bool
		want string
	}{
		{"unknown run", engine.RetryRequest{RunID: 999}, func(err error) bool { return errors.Is(err, model.ErrNotFound) }, "run 999"},
		{"still running", engine.RetryRequest{RunID: waiting.ID}, func(err error) bool { return errors.As(err, &state) },
			fmt.Sprintf("run %d is waiting: only a run that has ended can be retried", waiting.ID)},
		{"succeeded", engine.RetryRequest{RunID: fine.ID}, func(err error) bool { return errors.As(err, &state) },
			fmt.Sprintf("run %d succeeded, so there is nothing to retry", fine.ID)},
		{"being retried", engine.RetryRequest{RunID: old.ID}, func(err error) bool { return errors.As(err, &state) },
			fmt.Sprintf("run %d is already being retried by run %d", old.ID, active.ID)},
		{"deleted composition", engine.RetryRequest{RunID: gone.ID}, func(err error) bool { return errors.As(err, &state) },
			"composition gone was deleted; restore one of its versions"},
		{"unknown task in from", engine.RetryRequest{RunID: broken.ID, From: []string{"tset"}}, func(err error) bool { return errors.As(err, &invalid) },
			`from: "tset" is not a task of broken; its tasks are build, test`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := h.eng.Retry(ctx, tt.req)
			if err == nil || !tt.is(err) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Retry = %v, %v; want an error with %q", r, err, tt.want)
			}
		})
	}
}

// TestRetryFailedChild: a composition task that runs again in a retry
// retries the child run that failed, keeping the child's tasks that
// succeeded, instead of starting the child from the beginning.
func TestRetryFailedChild(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, fmt.Sprintf(`
name: child
params:
  host: {type: string, required: true}
tasks:
  - id: prepare
    env: {DIR: %q}
    run: echo run >> "$DIR/prepare.count"
  - id: install
    env: {DIR: %q}
    run: 'test -f "$DIR/fixed" || { echo "no route to ${{ params.host }}" >&2; exit 1; }'
`, dir, dir), `
name: parent
tasks:
  - id: call
    type: composition
    with: {name: child, params: {host: web-1}}
  - id: after
    run: echo after
`)
	old := h.waitDone(h.startRun("parent", nil).ID)
	if old.Status != model.RunFailed || !strings.Contains(old.Error, "no route to web-1") {
		t.Fatalf("first run %s: %s", old.Status, old.Error)
	}
	oldChild := h.tasks(old.ID)["call"].ChildRunID
	writeTestFile(t, filepath.Join(dir, "fixed"))
	retry, err := h.eng.Retry(context.Background(), engine.RetryRequest{RunID: old.ID, By: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	if done := h.waitDone(retry.ID); done.Status != model.RunSucceeded {
		t.Fatalf("retry %s (%s)\n%s", done.Status, done.Error, h.logText(retry.ID))
	}
	child, err := h.store.GetRun(context.Background(), h.tasks(retry.ID)["call"].ChildRunID)
	if err != nil {
		t.Fatal(err)
	}
	if child.RetryOf != oldChild || child.ParentRunID != retry.ID || child.ParentTask != "call" || child.Status != model.RunSucceeded {
		t.Fatalf("child of the retry = %+v, want a retry of run %d", child, oldChild)
	}
	if ct := h.tasks(child.ID); ct["prepare"].KeptFrom != oldChild || ct["install"].KeptFrom != 0 {
		t.Errorf("child tasks: %s", h.taskSummary(child.ID))
	}
	if n := lines(t, filepath.Join(dir, "prepare.count")); n != 1 {
		t.Errorf("the child's prepare ran %d times, want once", n)
	}
	if log := h.logText(retry.ID); !strings.Contains(log, fmt.Sprintf("call|started run %d of child, retrying run %d (it failed)\n", child.ID, oldChild)) {
		t.Errorf("the retry's log does not say the child is retried:\n%s", log)
	}
}

// TestRetryLatestVersion: with Latest, the retry runs the composition's
// current version, keeping the tasks that succeeded by id and type and
// running new ones.
func TestRetryLatestVersion(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, pipeline(dir))
	old := failedPipeline(t, h)
	writeTestFile(t, filepath.Join(dir, "fixed"))
	h.save(strings.Replace(pipeline(dir), "  - id: side\n    needs: [build]\n    run: echo side\n",
		"  - id: side\n    needs: [build]\n    type: sleep\n    with: {duration: 1ms}\n  - id: smoke\n    needs: [deploy]\n    run: echo smoke\n", 1))
	retry, err := h.eng.Retry(context.Background(), engine.RetryRequest{RunID: old.ID, Latest: true})
	if err != nil {
		t.Fatal(err)
	}
	if retry.Version != old.Version+1 {
		t.Errorf("retry runs version %d, want %d", retry.Version, old.Version+1)
	}
	if done := h.waitDone(retry.ID); done.Status != model.RunSucceeded {
		t.Fatalf("retry %s (%s)", done.Status, done.Error)
	}
	ts := h.tasks(retry.ID)
	if ts["build"].KeptFrom != old.ID || ts["side"].KeptFrom != 0 || ts["smoke"].Status != model.TaskSucceeded {
		t.Errorf("tasks: %s (side changed type, smoke is new)", h.taskSummary(retry.ID))
	}
}

// TestRetrySurvivesRestart: a retry is durable like any run. Queued while
// the server stops, and stopped again while its task runs, it carries on
// after each restart with its kept tasks still kept.
func TestRetrySurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, fmt.Sprintf(`
name: slow
concurrency: 1
params:
  hold: {type: boolean, default: false}
tasks:
  - id: hold
    type: approval
    if: ${{ params.hold }}
  - id: build
    env: {DIR: %[1]q}
    run: echo run >> "$DIR/build.count"
  - id: deploy
    retries: 1
    env: {DIR: %[1]q}
    run: |
      test -f "$DIR/fixed" || exit 4
      echo "attempt $BATON_ATTEMPT" >> "$DIR/deploy.count"
      while [ ! -f "$DIR/go" ]; do sleep 0.05; done
`, dir))
	ctx := context.Background()
	old := h.waitDone(h.startRun("slow", nil).ID)
	if old.Status != model.RunFailed {
		t.Fatalf("first run %s", old.Status)
	}
	blocker := h.startRun("slow", map[string]any{"hold": true})
	h.waitRun(blocker.ID, func(r *model.Run) bool { return r.Status == model.RunWaiting })
	retry, err := h.eng.Retry(ctx, engine.RetryRequest{RunID: old.ID, By: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	h.waitRun(retry.ID, func(r *model.Run) bool { return strings.Contains(r.QueueReason, "allows 1 active run") })

	h.stop(5 * time.Second) // the retry is queued
	h.start()
	if r := h.waitRun(retry.ID, func(r *model.Run) bool { return r.QueueReason != "" }); r.Status != model.RunQueued || h.tasks(retry.ID)["build"].KeptFrom != old.ID {
		t.Fatalf("queued retry after a restart: %+v, tasks %s", r, h.taskSummary(retry.ID))
	}
	writeTestFile(t, filepath.Join(dir, "fixed"))
	if err := h.eng.Cancel(ctx, blocker.ID, "test", false); err != nil {
		t.Fatal(err)
	}
	h.waitRun(retry.ID, func(*model.Run) bool { return exists(filepath.Join(dir, "deploy.count")) })

	h.stop(50 * time.Millisecond) // deploy's first attempt is killed
	h.start()
	writeTestFile(t, filepath.Join(dir, "go"))
	done := h.waitDone(retry.ID)
	if done.Status != model.RunSucceeded {
		t.Fatalf("retry after restarts %s (%s)\n%s", done.Status, done.Error, h.logText(retry.ID))
	}
	ts := h.tasks(retry.ID)
	if ts["hold"].Status != model.TaskSkipped || !ts["hold"].IfFalse || ts["hold"].KeptFrom != old.ID ||
		ts["build"].KeptFrom != old.ID || ts["deploy"].Attempt != 2 || ts["deploy"].KeptFrom != 0 {
		t.Errorf("tasks after restarts: %s", h.taskSummary(retry.ID))
	}
	if n := lines(t, filepath.Join(dir, "build.count")); n != 1 {
		t.Errorf("build ran %d times, want once", n)
	}
	if log := h.logText(retry.ID); !strings.Contains(log, "interrupted by server restart") {
		t.Errorf("log lacks the restart:\n%s", log)
	}
}

// TestRetryCancelledRun: a cancelled run is retried like a failed one: the
// task the cancel stopped runs again.
func TestRetryCancelledRun(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, fmt.Sprintf(`
name: gate
tasks:
  - id: first
    run: echo first
  - id: second
    env: {DIR: %q}
    run: while [ ! -f "$DIR/go" ]; do sleep 0.05; done
`, dir))
	ctx := context.Background()
	r := h.startRun("gate", nil)
	h.waitRun(r.ID, func(r *model.Run) bool { return h.tasks(r.ID)["second"].Status == model.TaskRunning })
	if err := h.eng.Cancel(ctx, r.ID, "alice", false); err != nil {
		t.Fatal(err)
	}
	if old := h.waitDone(r.ID); old.Status != model.RunCancelled {
		t.Fatalf("run %s, want cancelled", old.Status)
	}
	writeTestFile(t, filepath.Join(dir, "go"))
	retry, err := h.eng.Retry(ctx, engine.RetryRequest{RunID: r.ID, By: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	if done := h.waitDone(retry.ID); done.Status != model.RunSucceeded {
		t.Fatalf("retry %s (%s)", done.Status, done.Error)
	}
	if ts := h.tasks(retry.ID); ts["first"].KeptFrom != r.ID || ts["second"].KeptFrom != 0 || ts["second"].Status != model.TaskSucceeded {
		t.Errorf("tasks: %s", h.taskSummary(retry.ID))
	}
}
