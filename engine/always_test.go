package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"baton/model"
)

// taskIs waits until a task of a run reaches a status.
func (h *harness) taskIs(runID int64, task string, st model.TaskStatus) {
	h.t.Helper()
	h.waitRun(runID, func(*model.Run) bool {
		t := h.tasks(runID)[task]
		return t != nil && t.Status == st
	})
}

func TestAlwaysRunsAfterAFailure(t *testing.T) {
	h := newHarness(t, `
name: cleanup
tasks:
  - id: provision
    run: echo "cloud.id=i-1" >> "$BATON_CONTEXT"
  - id: deploy
    run: exit 3
  - id: smoke
    run: echo never
  - id: deprovision
    always: true
    run: echo "removing ${{ context.cloud.id }} because ${{ run.error }}"
  - id: report
    always: true
    if: ${{ run.error == "" }}
    run: echo never
  - id: notify
    run: echo never
`)
	r := h.waitDone(h.startRun("cleanup", nil).ID)
	if r.Status != model.RunFailed || r.Error != "task deploy failed: exit status 3" || r.Ending != "" {
		t.Fatalf("run = %s %q (ending %q)", r.Status, r.Error, r.Ending)
	}
	wantStatus(t, h.tasks(r.ID), map[string]model.TaskStatus{"provision": model.TaskSucceeded, "deploy": model.TaskFailed,
		"smoke": model.TaskSkipped, "deprovision": model.TaskSucceeded, "report": model.TaskSkipped, "notify": model.TaskSkipped})
	if log := h.logText(r.ID); !strings.Contains(log, "deprovision|removing i-1 because task deploy failed: exit status 3") {
		t.Errorf("deprovision did not see the context and the error:\n%s", log)
	}
}

func TestAlwaysRunsInAHealthyRunToo(t *testing.T) {
	h := newHarness(t, `
name: fine
tasks:
  - id: work
    run: "true"
  - id: tidy
    always: true
    run: echo tidied
`)
	r := h.waitDone(h.startRun("fine", nil).ID)
	if r.Status != model.RunSucceeded {
		t.Fatalf("run = %s %q", r.Status, r.Error)
	}
	wantStatus(t, h.tasks(r.ID), map[string]model.TaskStatus{"work": model.TaskSucceeded, "tidy": model.TaskSucceeded})
}

func TestAlwaysRunsAfterCancelUntilCancelledAgain(t *testing.T) {
	h := newHarness(t, `
name: long
tasks:
  - id: work
    run: sleep 60
  - id: cleanup
    always: true
    retries: 1
    run: echo cleaning; sleep 60
  - id: after
    run: echo never
`)
	r := h.startRun("long", nil)
	h.taskIs(r.ID, "work", model.TaskRunning)
	if err := h.eng.Cancel(context.Background(), r.ID, "alice", false); err != nil {
		t.Fatal(err)
	}
	h.taskIs(r.ID, "cleanup", model.TaskRunning)
	h.waitRun(r.ID, func(*model.Run) bool { return strings.Contains(h.logText(r.ID), "cleanup|cleaning") })
	mid, _ := h.store.GetRun(context.Background(), r.ID)
	if mid.Status != model.RunRunning || mid.Ending != model.RunCancelled || mid.Error != "cancelled by alice" {
		t.Fatalf("while cleaning up: run = %s ending %q error %q", mid.Status, mid.Ending, mid.Error)
	}
	// A repeated cancel (a retrying client) leaves the clean-up alone.
	if err := h.eng.Cancel(context.Background(), r.ID, "carol", false); err != nil {
		t.Fatal(err)
	}
	if again, _ := h.store.GetRun(context.Background(), r.ID); again.Forced || again.Status != model.RunRunning {
		t.Fatalf("a cancel without force stopped the clean-up: run = %s forced %v", again.Status, again.Forced)
	}
	h.taskIs(r.ID, "cleanup", model.TaskRunning)
	start := time.Now()
	if err := h.eng.Cancel(context.Background(), r.ID, "bob", true); err != nil {
		t.Fatal(err)
	}
	done := h.waitDone(r.ID)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("second cancel took %s", took)
	}
	if done.Status != model.RunCancelled || done.Error != "cancelled by alice" {
		t.Fatalf("run = %s %q", done.Status, done.Error)
	}
	ts := h.tasks(r.ID)
	wantStatus(t, ts, map[string]model.TaskStatus{"work": model.TaskCancelled, "cleanup": model.TaskCancelled, "after": model.TaskSkipped})
	if ts["cleanup"].Attempt != 1 {
		t.Errorf("cleanup was retried after the second cancel: attempt %d", ts["cleanup"].Attempt)
	}
	log := h.logText(r.ID)
	if !strings.Contains(log, "cleanup|cleaning") || !strings.Contains(log, "cancelled with force by bob") {
		t.Errorf("log:\n%s", log)
	}
}

// A run whose task failed while another still ran must resume after a
// restart as failing: the interrupted task is not retried, tasks not
// started are skipped, tasks marked always run, and the run ends failed.
func TestFailingRunResumesFailing(t *testing.T) {
	h := newHarness(t, `
name: half
tasks:
  - id: bad
    needs: []
    run: exit 2
  - id: slow
    needs: []
    retries: 3
    run: sleep 60
  - id: next
    needs: [bad, slow]
    run: echo never
  - id: tidy
    needs: [bad, slow]
    always: true
    run: echo tidied
`)
	r := h.startRun("half", nil)
	h.taskIs(r.ID, "bad", model.TaskFailed)
	h.taskIs(r.ID, "slow", model.TaskRunning)
	h.stop(50 * time.Millisecond)
	mid, _ := h.store.GetRun(context.Background(), r.ID)
	if mid.Status != model.RunRunning || mid.Ending != model.RunFailed {
		t.Fatalf("after shutdown: run = %s ending %q", mid.Status, mid.Ending)
	}
	h.start()
	done := h.waitDone(r.ID)
	if done.Status != model.RunFailed || done.Error != "task bad failed: exit status 2" {
		t.Fatalf("run = %s %q", done.Status, done.Error)
	}
	ts := h.tasks(r.ID)
	wantStatus(t, ts, map[string]model.TaskStatus{"bad": model.TaskFailed, "slow": model.TaskFailed,
		"next": model.TaskSkipped, "tidy": model.TaskSucceeded})
	if ts["slow"].Attempt != 1 || !strings.Contains(ts["slow"].Error, "interrupted by server restart") {
		t.Errorf("slow = attempt %d, %q", ts["slow"].Attempt, ts["slow"].Error)
	}
}

// Once the run is failing, tasks between a clean-up task and work still
// running are skipped at once; the clean-up must still wait for that work.
func TestAlwaysWaitsForEverythingUpstream(t *testing.T) {
	h := newHarness(t, `
name: upstream
tasks:
  - id: bad
    needs: []
    run: exit 1
  - id: provision
    needs: []
    run: sleep 0.3; echo "cloud.id=i-9" >> "$BATON_CONTEXT"
  - id: deploy
    needs: [bad, provision]
    run: echo never
  - id: deprovision
    needs: [deploy]
    always: true
    if: "${{ tasks.provision.status == 'succeeded' }}"
    run: echo "removing ${{ context.cloud.id }}"
`)
	r := h.waitDone(h.startRun("upstream", nil).ID)
	if r.Status != model.RunFailed {
		t.Fatalf("run = %s %q", r.Status, r.Error)
	}
	wantStatus(t, h.tasks(r.ID), map[string]model.TaskStatus{"bad": model.TaskFailed, "provision": model.TaskSucceeded,
		"deploy": model.TaskSkipped, "deprovision": model.TaskSucceeded})
	if log := h.logText(r.ID); !strings.Contains(log, "deprovision|removing i-9") {
		t.Errorf("log:\n%s", log)
	}
}

// A second cancel is a decision too: after a restart the clean-up it
// stopped is neither retried nor started again.
func TestSecondCancelSurvivesRestart(t *testing.T) {
	h := newHarness(t, `
name: stubborn
tasks:
  - id: work
    run: sleep 60
  - id: cleanup
    always: true
    retries: 2
    run: trap '' TERM; echo cleaning; sleep 60
`)
	r := h.startRun("stubborn", nil)
	h.taskIs(r.ID, "work", model.TaskRunning)
	if err := h.eng.Cancel(context.Background(), r.ID, "alice", false); err != nil {
		t.Fatal(err)
	}
	h.taskIs(r.ID, "cleanup", model.TaskRunning)
	h.waitRun(r.ID, func(*model.Run) bool { return strings.Contains(h.logText(r.ID), "cleanup|cleaning") })
	if err := h.eng.Cancel(context.Background(), r.ID, "alice", true); err != nil {
		t.Fatal(err)
	}
	// The clean-up ignores SIGTERM, so it is still running when the
	// server goes down.
	h.waitRun(r.ID, func(r *model.Run) bool { return r.Forced })
	h.stop(50 * time.Millisecond)
	h.start()
	done := h.waitDone(r.ID)
	ts := h.tasks(r.ID)
	if done.Status != model.RunCancelled || ts["cleanup"].Attempt != 1 || ts["cleanup"].Status == model.TaskSucceeded {
		t.Fatalf("run = %s %q; cleanup = %s attempt %d", done.Status, done.Error, ts["cleanup"].Status, ts["cleanup"].Attempt)
	}
}
