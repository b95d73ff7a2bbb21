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
	"baton/plugin"
	"baton/storage"
)

// harness is an engine over a real SQLite file with a local executor.
type harness struct {
	t     testing.TB
	store *storage.Store
	reg   *plugin.Registry
	eng   *engine.Engine
	dir   string
	// engineStore, when set, is what the engine writes through (a store
	// that fails on purpose); local wraps the local executor.
	engineStore engine.Store
	local       func(engine.Executor) engine.Executor
}

func newHarness(t testing.TB, compositions ...string) *harness {
	t.Helper()
	h := &harness{t: t, store: storage.NewTestStore(t), reg: plugin.NewRegistry(), dir: t.TempDir()}
	t.Cleanup(func() { h.reg.Close() })
	h.start()
	for _, src := range compositions {
		h.save(src)
	}
	return h
}

// start starts a fresh engine over the harness's store, as a restarted
// server would.
func (h *harness) start() {
	h.t.Helper()
	var store engine.Store = h.store
	if h.engineStore != nil {
		store = h.engineStore
	}
	var local engine.Executor = engine.NewLocal(h.reg, filepath.Join(h.dir, "ws"), 4)
	if h.local != nil {
		local = h.local(local)
	}
	h.eng = engine.New(engine.Config{Store: store, Catalog: h.reg, Local: local})
	if err := h.eng.Start(context.Background()); err != nil {
		h.t.Fatal(err)
	}
	eng := h.eng
	h.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		eng.Shutdown(ctx)
	})
}

// stop shuts the engine down, giving running tasks grace to finish.
func (h *harness) stop(grace time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	h.eng.Shutdown(ctx)
}

func (h *harness) save(src string) {
	h.t.Helper()
	if _, _, err := h.eng.SaveComposition(context.Background(), "", []byte(src), "test", ""); err != nil {
		h.t.Fatalf("save composition: %v", err)
	}
}

func (h *harness) startRun(name string, params map[string]any) *model.Run {
	h.t.Helper()
	r, err := h.eng.StartRun(context.Background(), engine.RunRequest{Composition: name, Params: params, Trigger: "test"})
	if err != nil {
		h.t.Fatalf("start run of %s: %v", name, err)
	}
	return r
}

// waitRun waits until the run reaches a status that cond accepts.
func (h *harness) waitRun(id int64, cond func(*model.Run) bool) *model.Run {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r, err := h.store.GetRun(context.Background(), id)
		if err != nil {
			h.t.Fatal(err)
		}
		if cond(r) {
			return r
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("run %d stuck in %s (error %q, reason %q); tasks: %s", id, r.Status, r.Error, r.QueueReason, h.taskSummary(id))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *harness) waitDone(id int64) *model.Run {
	h.t.Helper()
	return h.waitRun(id, func(r *model.Run) bool { return r.Status.Done() })
}

func (h *harness) tasks(id int64) map[string]*model.TaskRun {
	h.t.Helper()
	ts, err := h.store.GetTasks(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	m := map[string]*model.TaskRun{}
	for _, t := range ts {
		m[t.TaskID] = t
	}
	return m
}

func (h *harness) taskSummary(id int64) string {
	ts, _ := h.store.GetTasks(context.Background(), id)
	var parts []string
	for _, t := range ts {
		parts = append(parts, fmt.Sprintf("%s=%s(%d)%s", t.TaskID, t.Status, t.Attempt, t.Error))
	}
	return strings.Join(parts, " ")
}

func (h *harness) logText(id int64) string {
	h.t.Helper()
	lines, err := h.store.ReadLogs(context.Background(), storage.LogQuery{RunID: id, Limit: 100000})
	if err != nil {
		h.t.Fatal(err)
	}
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "%s|%s\n", l.TaskID, l.Text)
	}
	return b.String()
}

func wantStatus(t testing.TB, tasks map[string]*model.TaskRun, want map[string]model.TaskStatus) {
	t.Helper()
	for id, st := range want {
		if tasks[id] == nil {
			t.Fatalf("task %s missing", id)
		}
		if tasks[id].Status != st {
			t.Errorf("task %s is %s (error %q), want %s", id, tasks[id].Status, tasks[id].Error, st)
		}
	}
}

func TestOutputsAndContextFlow(t *testing.T) {
	h := newHarness(t, `
name: flow
params:
  who: {type: string, default: world}
tasks:
  - id: make
    run: |
      echo "greeting=hello ${{ params.who }}" >> "$BATON_OUTPUT"
      printf 'note<<EOF\nline one\nline two\nEOF\n' >> "$BATON_OUTPUT"
      echo "build.dir=$PWD/dist" >> "$BATON_CONTEXT"
      echo made
  - id: use
    env: {GREETING: "${{ tasks.make.outputs.greeting }}"}
    run: |
      echo "got $GREETING from ${{ context.build.dir }}"
      test "$GREETING" = "hello baton"
      echo "lines=$(printf '%s' "${{ tasks.make.outputs.note }}" | wc -l)" >> "$BATON_OUTPUT"
`)
	r := h.waitDone(h.startRun("flow", map[string]any{"who": "baton"}).ID)
	if r.Status != model.RunSucceeded {
		t.Fatalf("run %s: %s\n%s", r.Status, r.Error, h.logText(r.ID))
	}
	ts := h.tasks(r.ID)
	if got := ts["make"].Outputs["note"]; got != "line one\nline two" {
		t.Errorf("multi-line output = %q", got)
	}
	if !strings.HasSuffix(r.Context["build.dir"], "/dist") || r.Context["workdir"] == "" {
		t.Errorf("context = %v", r.Context)
	}
	if r.Outputs["greeting"] != "hello baton" || r.Outputs["lines"] != "1" {
		t.Errorf("run outputs = %v", r.Outputs)
	}
	log := h.logText(r.ID)
	if !strings.Contains(log, "make|made") || !strings.Contains(log, "use|got hello baton from "+r.Context["workdir"]+"/dist") {
		t.Errorf("log lacks task lines:\n%s", log)
	}
}

func TestFailureSkipsTheRest(t *testing.T) {
	h := newHarness(t, `
name: fails
tasks:
  - id: ok
    run: "true"
  - id: soft
    continue_on_error: true
    run: exit 4
  - id: hard
    run: echo boom >&2; exit 3
  - id: slow
    needs: [ok]
    run: sleep 0.3; echo finished
  - id: after
    needs: [hard, slow]
    run: echo never
`)
	r := h.waitDone(h.startRun("fails", nil).ID)
	if r.Status != model.RunFailed || r.Error != "task hard failed: exit status 3; its last line on stderr: boom" {
		t.Fatalf("run = %s %q", r.Status, r.Error)
	}
	ts := h.tasks(r.ID)
	wantStatus(t, ts, map[string]model.TaskStatus{"ok": model.TaskSucceeded, "soft": model.TaskFailed, "hard": model.TaskFailed,
		"slow": model.TaskSucceeded, "after": model.TaskSkipped})
	if !strings.Contains(h.logText(r.ID), "hard|boom") {
		t.Errorf("stderr not in log:\n%s", h.logText(r.ID))
	}
}

func TestRetriesAndIf(t *testing.T) {
	h := newHarness(t, `
name: flaky
params:
  skip: {type: boolean, default: true}
workspace: {clean: true}
tasks:
  - id: flaky
    retries: 2
    retry_delay: 10ms
    run: |
      n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count
      echo "attempt $n"
      test $n -ge 2
  - id: maybe
    if: "${{ !params.skip }}"
    run: echo ran
  - id: last
    run: echo "after=${{ tasks.maybe.status }}" >> "$BATON_OUTPUT"
`)
	r := h.waitDone(h.startRun("flaky", nil).ID)
	if r.Status != model.RunSucceeded {
		t.Fatalf("run %s: %s\n%s", r.Status, r.Error, h.logText(r.ID))
	}
	ts := h.tasks(r.ID)
	if ts["flaky"].Attempt != 2 {
		t.Errorf("flaky attempts = %d, want 2", ts["flaky"].Attempt)
	}
	wantStatus(t, ts, map[string]model.TaskStatus{"maybe": model.TaskSkipped, "last": model.TaskSucceeded})
	if ts["last"].Outputs["after"] != "skipped" {
		t.Errorf("tasks.maybe.status seen as %v", ts["last"].Outputs["after"])
	}
	if !strings.Contains(h.logText(r.ID), "retrying in 10ms") {
		t.Errorf("no retry line in log:\n%s", h.logText(r.ID))
	}
}

func TestForkAndJoin(t *testing.T) {
	h := newHarness(t, `
name: fork
tasks:
  - id: a
    run: sleep 0.2; date +%s%N > a.t
  - id: b
    needs: []
    run: sleep 0.2; date +%s%N > b.t
  - id: join
    needs: [a, b]
    run: test -f a.t && test -f b.t
`)
	start := time.Now()
	r := h.waitDone(h.startRun("fork", nil).ID)
	if r.Status != model.RunSucceeded {
		t.Fatalf("run %s: %s", r.Status, r.Error)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s; a and b should run in parallel", d)
	}
	ts := h.tasks(r.ID)
	if ts["join"].StartedAt.Before(ts["a"].FinishedAt) || ts["join"].StartedAt.Before(ts["b"].FinishedAt) {
		t.Errorf("join started before a and b finished")
	}
	if !ts["b"].StartedAt.Before(ts["a"].FinishedAt) {
		t.Errorf("b did not start while a ran")
	}
}

func TestApproval(t *testing.T) {
	h := newHarness(t, `
name: gated
params:
  version: {type: string, required: true}
tasks:
  - id: approve
    type: approval
    with: {message: "Ship **${{ params.version }}**?"}
  - id: ship
    run: echo shipping
`)
	ctx := context.Background()
	for _, tc := range []struct {
		decision model.Decision
		want     model.RunStatus
	}{{model.Approved, model.RunSucceeded}, {model.Rejected, model.RunFailed}} {
		r := h.startRun("gated", map[string]any{"version": "1.2.3"})
		h.waitRun(r.ID, func(r *model.Run) bool { return r.Status == model.RunWaiting })
		ts := h.tasks(r.ID)
		if ts["approve"].Status != model.TaskWaiting || ts["approve"].Approval.Message != "Ship **1.2.3**?" {
			t.Fatalf("approval task = %+v %+v", ts["approve"], ts["approve"].Approval)
		}
		var se *engine.StateError
		if err := h.eng.Decide(ctx, r.ID, "ship", tc.decision, "alice", ""); !errors.As(err, &se) {
			t.Fatalf("deciding a shell task: %v, want StateError", err)
		}
		if err := h.eng.Decide(ctx, r.ID, "approve", tc.decision, "alice", "looks good"); err != nil {
			t.Fatal(err)
		}
		done := h.waitDone(r.ID)
		if done.Status != tc.want {
			t.Fatalf("after %s: run %s (%s)", tc.decision, done.Status, done.Error)
		}
		a := h.tasks(r.ID)["approve"].Approval
		if a.Decision != tc.decision || a.By != "alice" || a.Comment != "looks good" || a.At.IsZero() {
			t.Errorf("approval recorded as %+v", a)
		}
		if err := h.eng.Decide(ctx, r.ID, "approve", model.Approved, "bob", ""); !errors.As(err, &se) {
			t.Errorf("second decision: %v, want StateError", err)
		}
	}
}

func TestCompositionCalls(t *testing.T) {
	h := newHarness(t, `
name: child
params:
  host: {type: string, required: true}
tasks:
  - id: deploy
    run: echo "url=http://${{ params.host }}/" >> "$BATON_OUTPUT"
`, `
name: parent
tasks:
  - id: a
    type: composition
    with: {name: child, params: {host: a}}
  - id: b
    needs: []
    type: composition
    with: {name: child, params: {host: b}}
  - id: bg
    needs: []
    type: composition
    with: {name: child, params: {host: c}, wait: false}
  - id: join
    needs: [a, b]
    run: echo "${{ tasks.a.outputs.url }} ${{ tasks.b.outputs.url }}"
  - id: bad
    continue_on_error: true
    type: composition
    with: {name: child, params: {nope: 1}}
`)
	r := h.waitDone(h.startRun("parent", nil).ID)
	if r.Status != model.RunSucceeded {
		t.Fatalf("run %s: %s\n%s", r.Status, r.Error, h.logText(r.ID))
	}
	ts := h.tasks(r.ID)
	if ts["a"].Outputs["url"] != "http://a/" || ts["a"].ChildRunID == 0 {
		t.Errorf("task a = %+v", ts["a"])
	}
	if !strings.Contains(h.logText(r.ID), "join|http://a/ http://b/") {
		t.Errorf("join did not see child outputs:\n%s", h.logText(r.ID))
	}
	if ts["bad"].Status != model.TaskFailed || !strings.Contains(ts["bad"].Error, `"nope"`) {
		t.Errorf("bad params: %+v", ts["bad"])
	}
	child := h.waitDone(ts["bg"].ChildRunID)
	if child.Status != model.RunSucceeded || child.ParentRunID != r.ID {
		t.Errorf("background child: %+v", child)
	}
}

func TestCancelKillsProcessGroup(t *testing.T) {
	h := newHarness(t, `
name: long
tasks:
  - id: sleeper
    run: |
      sleep 60 &
      echo "child=$!" >> "$BATON_CONTEXT"
      echo $! > child.pid
      wait
  - id: next
    run: echo never
`)
	r := h.startRun("long", nil)
	h.waitRun(r.ID, func(r *model.Run) bool {
		_, err := os.Stat(filepath.Join(h.dir, "ws", "long", "0", "child.pid"))
		return err == nil
	})
	pidText, _ := os.ReadFile(filepath.Join(h.dir, "ws", "long", "0", "child.pid"))
	start := time.Now()
	if err := h.eng.Cancel(context.Background(), r.ID, "alice", false); err != nil {
		t.Fatal(err)
	}
	done := h.waitDone(r.ID)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("cancel took %s", took)
	}
	if done.Status != model.RunCancelled || done.Error != "cancelled by alice" {
		t.Fatalf("run = %s %q", done.Status, done.Error)
	}
	wantStatus(t, h.tasks(r.ID), map[string]model.TaskStatus{"sleeper": model.TaskCancelled, "next": model.TaskSkipped})
	pid := strings.TrimSpace(string(pidText))
	if _, err := os.Stat("/proc/" + pid); err == nil {
		stat, _ := os.ReadFile("/proc/" + pid + "/stat")
		if !strings.Contains(string(stat), ") Z ") {
			t.Errorf("grandchild sleep (pid %s) still alive after cancel", pid)
		}
	}
	var se *engine.StateError
	if err := h.eng.Cancel(context.Background(), r.ID, "alice", false); !errors.As(err, &se) {
		t.Errorf("cancel of an ended run: %v, want StateError", err)
	}
}

func TestConcurrencyQueues(t *testing.T) {
	h := newHarness(t, `
name: one-at-a-time
concurrency: 1
tasks:
  - id: work
    run: sleep 0.3
`)
	first := h.startRun("one-at-a-time", nil)
	h.waitRun(first.ID, func(r *model.Run) bool { return r.Status == model.RunRunning })
	second := h.startRun("one-at-a-time", nil)
	q := h.waitRun(second.ID, func(r *model.Run) bool { return strings.Contains(r.QueueReason, "allows 1") })
	if q.Status != model.RunQueued || !strings.Contains(q.QueueReason, fmt.Sprintf("run %d", first.ID)) {
		t.Fatalf("second run = %s %q", q.Status, q.QueueReason)
	}
	a, b := h.waitDone(first.ID), h.waitDone(second.ID)
	if a.Status != model.RunSucceeded || b.Status != model.RunSucceeded {
		t.Fatalf("statuses %s %s", a.Status, b.Status)
	}
	if b.StartedAt.Before(a.FinishedAt) {
		t.Errorf("second started %s before first finished %s", b.StartedAt, a.FinishedAt)
	}
	if a.Workspace != b.Workspace {
		t.Errorf("sequential runs should reuse the warm workspace: %s vs %s", a.Workspace, b.Workspace)
	}
	// A queued run can be cancelled.
	third := h.startRun("one-at-a-time", nil)
	fourth := h.startRun("one-at-a-time", nil)
	if err := h.eng.Cancel(context.Background(), fourth.ID, "bob", false); err != nil {
		t.Fatal(err)
	}
	if r := h.waitDone(fourth.ID); r.Status != model.RunCancelled || !strings.Contains(r.Error, "before it started") {
		t.Errorf("queued cancel: %s %q", r.Status, r.Error)
	}
	h.waitDone(third.ID)
}

func TestConcurrentRunsGetOwnWorkspaces(t *testing.T) {
	h := newHarness(t, `
name: parallel-runs
tasks:
  - id: work
    run: sleep 0.2; pwd
`)
	a, b := h.startRun("parallel-runs", nil), h.startRun("parallel-runs", nil)
	ra, rb := h.waitDone(a.ID), h.waitDone(b.ID)
	if ra.Workspace == rb.Workspace {
		t.Fatalf("two concurrent runs shared workspace %s", ra.Workspace)
	}
}

func TestParamsRejected(t *testing.T) {
	h := newHarness(t, `
name: typed
params:
  n: {type: number, required: true}
  env: {type: string, default: staging, enum: [staging, production]}
tasks:
  - id: t
    run: "true"
`)
	_, err := h.eng.StartRun(context.Background(), engine.RunRequest{Composition: "typed", Params: map[string]any{"n": "abc", "env": "prod"}})
	var pe *engine.ParamsError
	if !errors.As(err, &pe) || len(pe.Errors) != 2 {
		t.Fatalf("err = %v, want a ParamsError with 2 problems", err)
	}
	runs, _ := h.store.ListRuns(context.Background(), storage.RunFilter{})
	if len(runs) != 0 {
		t.Errorf("a rejected run was stored")
	}
	if _, err := h.eng.StartRun(context.Background(), engine.RunRequest{Composition: "nope"}); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("unknown composition: %v", err)
	}
}

func TestTimeouts(t *testing.T) {
	h := newHarness(t, `
name: task-timeout
tasks:
  - id: slow
    timeout: 200ms
    run: sleep 10
`, `
name: run-timeout
timeout: 300ms
tasks:
  - id: slow
    run: sleep 10
`)
	r := h.waitDone(h.startRun("task-timeout", nil).ID)
	if r.Status != model.RunFailed || !strings.Contains(r.Error, "timed out after 200ms") {
		t.Errorf("task timeout: %s %q", r.Status, r.Error)
	}
	r = h.waitDone(h.startRun("run-timeout", nil).ID)
	if r.Status != model.RunFailed || r.Error != "run timed out after 300ms" {
		t.Errorf("run timeout: %s %q", r.Status, r.Error)
	}
}

func TestOnFailure(t *testing.T) {
	h := newHarness(t, `
name: notify
params:
  reason: {type: string, required: true}
tasks:
  - id: send
    run: echo "notified ${{ params.reason }}"
`, `
name: breaks
on_failure:
  composition: notify
  params: {reason: "${{ run.error }}"}
tasks:
  - id: step
    run: exit 7
`)
	r := h.waitDone(h.startRun("breaks", nil).ID)
	if r.Status != model.RunFailed {
		t.Fatalf("run %s", r.Status)
	}
	runs, err := h.store.ListRuns(context.Background(), storage.RunFilter{Composition: "notify"})
	if err != nil || len(runs) != 1 {
		t.Fatalf("notify runs: %v %v", runs, err)
	}
	n := h.waitDone(runs[0].ID)
	if n.Status != model.RunSucceeded || n.Params["reason"] != "task step failed: exit status 7" || n.Trigger != fmt.Sprintf("on_failure of run %d", r.ID) {
		t.Errorf("notify run = %+v", n)
	}
}

func TestSleepAndWait(t *testing.T) {
	h := newHarness(t, `
name: blocker
tasks:
  - id: hold
    type: sleep
    with: {duration: 300ms}
`, `
name: waiter
tasks:
  - id: w
    type: wait
    with: {composition: blocker}
  - id: after
    run: echo done
`)
	b := h.startRun("blocker", nil)
	h.waitRun(b.ID, func(r *model.Run) bool { return r.Status == model.RunRunning })
	w := h.startRun("waiter", nil)
	rw := h.waitDone(w.ID)
	rb := h.waitDone(b.ID)
	if rw.Status != model.RunSucceeded || rb.Status != model.RunSucceeded {
		t.Fatalf("waiter %s (%s), blocker %s", rw.Status, rw.Error, rb.Status)
	}
	if wt := h.tasks(w.ID)["w"]; wt.FinishedAt.Before(rb.FinishedAt) {
		t.Errorf("wait ended at %s, before blocker ended at %s", wt.FinishedAt, rb.FinishedAt)
	}
	if d := h.tasks(b.ID)["hold"].Duration(time.Now()); d < 300*time.Millisecond {
		t.Errorf("sleep lasted %s", d)
	}
}

// TestWaitOnItselfOrNothing: a wait for this run, for the run that called
// it, or for a run that does not exist fails at once with a plain reason.
func TestWaitOnItselfOrNothing(t *testing.T) {
	h := newHarness(t, `
name: waits
tasks:
  - id: self
    needs: []
    type: wait
    continue_on_error: true
    with: {run: "${{ run.id }}"}
  - id: ghost
    needs: []
    type: wait
    continue_on_error: true
    with: {run: "999999"}
  - id: call
    needs: []
    type: composition
    continue_on_error: true
    with: {name: waits-for-caller, params: {caller: "${{ run.id }}"}}
`, `
name: waits-for-caller
params:
  caller: {type: string, required: true}
tasks:
  - id: w
    type: wait
    with: {run: "${{ params.caller }}"}
`)
	r := h.startRun("waits", nil)
	done := make(chan *model.Run, 1)
	go func() { done <- h.waitDone(r.ID) }()
	select {
	case r = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("a run waiting for itself never ended")
	}
	ts := h.tasks(r.ID)
	for id, want := range map[string]string{
		"self":  fmt.Sprintf("run %d is this run or one that called it: waiting for it would never end", r.ID),
		"ghost": "run 999999 does not exist",
	} {
		if ts[id].Status != model.TaskFailed || ts[id].Error != want {
			t.Errorf("task %s: %s %q, want failed %q", id, ts[id].Status, ts[id].Error, want)
		}
	}
	if ts["call"].Status != model.TaskFailed || !strings.Contains(ts["call"].Error, "waiting for it would never end") {
		t.Errorf("a called run waiting for its caller: %s %q", ts["call"].Status, ts["call"].Error)
	}
}

func TestControlTaskTimeouts(t *testing.T) {
	h := newHarness(t, `
name: slow-child
tasks:
  - id: nap
    run: sleep 30
`, `
name: timeouts
tasks:
  - id: ask
    type: approval
    timeout: 200ms
    continue_on_error: true
  - id: call
    needs: []
    type: composition
    timeout: 300ms
    continue_on_error: true
    with: {name: slow-child}
  - id: nap
    needs: []
    type: sleep
    timeout: 100ms
    continue_on_error: true
    with: {duration: 10s}
`)
	r := h.waitDone(h.startRun("timeouts", nil).ID)
	ts := h.tasks(r.ID)
	for id, want := range map[string]string{"ask": "timed out after 200ms waiting for a decision", "call": "timed out after 300ms", "nap": "timed out after 100ms"} {
		if ts[id].Status != model.TaskFailed || ts[id].Error != want {
			t.Errorf("task %s: %s %q, want failed %q", id, ts[id].Status, ts[id].Error, want)
		}
	}
	child := h.waitDone(ts["call"].ChildRunID)
	if child.Status != model.RunCancelled {
		t.Errorf("the timed-out call's run is %s, want cancelled", child.Status)
	}
}

func TestContextMergeIsAllOrNothing(t *testing.T) {
	h := newHarness(t, `
name: clash
tasks:
  - id: first
    run: echo "cloud=x" >> "$BATON_CONTEXT"
  - id: second
    continue_on_error: true
    run: |
      echo "aaa=1" >> "$BATON_CONTEXT"
      echo "cloud.id=2" >> "$BATON_CONTEXT"
      echo "zzz=3" >> "$BATON_CONTEXT"
  - id: third
    continue_on_error: true
    run: echo "workdir=/elsewhere" >> "$BATON_CONTEXT"
  - id: failing
    continue_on_error: true
    run: echo "status=half" >> "$BATON_OUTPUT"; exit 1
`)
	r := h.waitDone(h.startRun("clash", nil).ID)
	ts := h.tasks(r.ID)
	if ts["second"].Status != model.TaskFailed || !strings.Contains(ts["second"].Error, `"cloud.id" clashes with "cloud"`) {
		t.Errorf("second: %s %q", ts["second"].Status, ts["second"].Error)
	}
	if _, ok := r.Context["aaa"]; ok {
		t.Errorf("a clashing task left part of its context: %v", r.Context)
	}
	if ts["third"].Status != model.TaskFailed || !strings.HasSuffix(r.Context["workdir"], "/clash/0") {
		t.Errorf("workdir was overwritten: %v (%s)", r.Context, ts["third"].Error)
	}
	if ts["failing"].Outputs["status"] != "half" {
		t.Errorf("a failed task lost its outputs: %v", ts["failing"].Outputs)
	}
}
