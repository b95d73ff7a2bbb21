package engine_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"baton/engine"
	"baton/model"
	"baton/plugin"
	"baton/storage"
)

// faultyStore is the real store with writes that fail on purpose, as on a
// full disk: state changes (SaveState) and run ends (FinishRun) fail while
// their counter is not zero; a negative counter fails until reset.
type faultyStore struct {
	*storage.Store
	mu          sync.Mutex
	failState   int
	failFinish  int
	failLogs    int
	stateFails  int
	finishFails int
	logFails    int
	onFail      func() // called at each failure, before it is returned
}

var errTestFull = fmt.Errorf("test: %w", model.ErrStorageFull)

func (f *faultyStore) fail(n *int, count *int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if *n == 0 {
		return false
	}
	if *n > 0 {
		*n--
	}
	*count++
	if f.onFail != nil {
		f.onFail()
	}
	return true
}

func (f *faultyStore) set(state, finish int) {
	f.mu.Lock()
	f.failState, f.failFinish = state, finish
	f.mu.Unlock()
}

func (f *faultyStore) counts() (state, finish int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stateFails, f.finishFails
}

func (f *faultyStore) SaveState(ctx context.Context, r *model.Run, tasks ...*model.TaskRun) error {
	if f.fail(&f.failState, &f.stateFails) {
		return errTestFull
	}
	return f.Store.SaveState(ctx, r, tasks...)
}

func (f *faultyStore) AppendLogs(ctx context.Context, batches []model.LogBatch) error {
	if f.fail(&f.failLogs, &f.logFails) {
		return errTestFull
	}
	return f.Store.AppendLogs(ctx, batches)
}

func (f *faultyStore) setLogs(n int) {
	f.mu.Lock()
	f.failLogs = n
	f.mu.Unlock()
}

func (f *faultyStore) FinishRun(ctx context.Context, r *model.Run, tasks []*model.TaskRun, follow []model.NewRun, events []*model.Event) error {
	if f.fail(&f.failFinish, &f.finishFails) {
		return errTestFull
	}
	return f.Store.FinishRun(ctx, r, tasks, follow, events)
}

// newFaultyHarness is newHarness with the engine writing through a
// faultyStore over the harness's real store.
func newFaultyHarness(t *testing.T, compositions ...string) (*harness, *faultyStore) {
	t.Helper()
	h := &harness{t: t, store: storage.NewTestStore(t), reg: plugin.NewRegistry(), dir: t.TempDir()}
	fs := &faultyStore{Store: h.store}
	h.engineStore = fs
	t.Cleanup(func() { h.reg.Close() })
	h.start()
	for _, src := range compositions {
		h.save(src)
	}
	return h, fs
}

// gated is a composition whose work task starts once its approval is
// given, and leaves a marker file when its process runs.
func gated(marker string) string {
	return fmt.Sprintf(`
name: gated
tasks:
  - id: gate
    type: approval
  - id: work
    needs: [gate]
    env: {MARKER: %q}
    run: touch "$MARKER"
`, marker)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// TestRefusedCommitStartsNothing: when the database refuses the step that
// records an approval and starts the next task, the approver is told, the
// task's process never starts, the engine is not ready, and once writes
// succeed again the run is recorded failed with the reason.
func TestRefusedCommitStartsNothing(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "started")
	h, fs := newFaultyHarness(t, gated(marker))
	r := h.startRun("gated", nil)
	h.taskIs(r.ID, "gate", model.TaskWaiting)
	fs.set(-1, -1)
	err := h.eng.Decide(context.Background(), r.ID, "gate", model.Approved, "alice", "")
	if !errors.Is(err, model.ErrStorageFull) {
		t.Fatalf("Decide while the database refuses writes: err = %v, want the storage error", err)
	}
	if err := h.eng.Ready(context.Background()); err == nil || !strings.Contains(err.Error(), "the disk that holds the database is full") {
		t.Fatalf("Ready while writes fail = %v", err)
	}
	fs.set(0, 0)
	r = h.waitDone(r.ID)
	if r.Status != model.RunFailed || !strings.Contains(r.Error, "could not be recorded") || !strings.Contains(r.Error, "disk that holds the database is full") {
		t.Fatalf("run = %s %q, want failed saying its state could not be recorded", r.Status, r.Error)
	}
	if exists(marker) {
		t.Fatal("the work task's process ran although the step that started it was never recorded")
	}
	if w := h.tasks(r.ID)["work"]; w.Status == model.TaskSucceeded || w.Status == model.TaskRunning {
		t.Fatalf("work = %s %q", w.Status, w.Error)
	}
	deadline := time.Now().Add(20 * time.Second)
	for err := h.eng.Ready(context.Background()); err != nil; err = h.eng.Ready(context.Background()) {
		if time.Now().After(deadline) {
			t.Fatalf("not ready long after writes succeeded again: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCommitRetried: a write that fails once is retried; the process
// starts only after the step is recorded, and the run succeeds.
func TestCommitRetried(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "started")
	h, fs := newFaultyHarness(t, gated(marker))
	r := h.startRun("gated", nil)
	h.taskIs(r.ID, "gate", model.TaskWaiting)
	startedBeforeCommit := false
	fs.mu.Lock()
	fs.onFail = func() { startedBeforeCommit = startedBeforeCommit || exists(marker) }
	fs.mu.Unlock()
	fs.set(1, 0)
	if err := h.eng.Decide(context.Background(), r.ID, "gate", model.Approved, "alice", ""); err != nil {
		t.Fatalf("Decide with one refused write: %v", err)
	}
	r = h.waitDone(r.ID)
	if r.Status != model.RunSucceeded {
		t.Fatalf("run = %s %q", r.Status, r.Error)
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.stateFails != 1 || startedBeforeCommit || !exists(marker) {
		t.Fatalf("refused writes %d, process started before the commit: %v, ran: %v", fs.stateFails, startedBeforeCommit, exists(marker))
	}
}

// TestRefusedEndIsRecordedLater: a run whose end the database refuses
// starts no follow-up run until the end is recorded; then it is recorded
// once, with exactly one on_failure run.
func TestRefusedEndIsRecordedLater(t *testing.T) {
	h, fs := newFaultyHarness(t, `
name: notify
tasks:
  - id: say
    run: echo notified
`, `
name: breaks
on_failure:
  composition: notify
tasks:
  - id: fail
    run: exit 4
`)
	fs.set(0, -1)
	r := h.startRun("breaks", nil)
	deadline := time.Now().Add(15 * time.Second)
	for _, finish := fs.counts(); finish < 2; _, finish = fs.counts() {
		if time.Now().After(deadline) {
			t.Fatal("the engine did not try to record the run's end twice")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := len(h.runsOf("notify")); n != 0 {
		t.Fatalf("%d on_failure runs before the end was recorded", n)
	}
	// Whoever asks the run meanwhile gets an answer at once.
	answered := make(chan error, 1)
	go func() { answered <- h.eng.Cancel(context.Background(), r.ID, "alice", false) }()
	select {
	case err := <-answered:
		var state *engine.StateError
		if !errors.As(err, &state) || !strings.Contains(err.Error(), "already ended") {
			t.Fatalf("Cancel while the end is being recorded: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Cancel of a run whose end is being recorded did not return")
	}
	if got, _ := h.store.GetRun(context.Background(), r.ID); got.Status.Done() {
		t.Fatalf("run recorded %s although every FinishRun failed", got.Status)
	}
	fs.set(0, 0)
	r = h.waitDone(r.ID)
	if r.Status != model.RunFailed || r.Error != "task fail failed: exit status 4" {
		t.Fatalf("run = %s %q", r.Status, r.Error)
	}
	var notify []*model.Run
	h.waitRun(r.ID, func(*model.Run) bool { notify = h.runsOf("notify"); return len(notify) > 0 })
	if len(notify) != 1 {
		t.Fatalf("%d on_failure runs", len(notify))
	}
}

// TestFullDiskFailsTheRun: log lines the database refuses (it cannot
// grow: SQLite's max_page_count, as on a full disk) fail the task and the
// run with a message that says so, the engine is not ready meanwhile, and
// once there is room the log says how many lines are missing.
func TestFullDiskFailsTheRun(t *testing.T) {
	gate := filepath.Join(t.TempDir(), "go")
	h := newHarness(t, fmt.Sprintf(`
name: noisy
tasks:
  - id: print
    env: {GATE: %q}
    run: |
      while [ ! -f "$GATE" ]; do sleep 0.02; done
      seq 1 100000
      sleep 10
`, gate))
	ctx := context.Background()
	r := h.startRun("noisy", nil)
	h.taskIs(r.ID, "print", model.TaskRunning)
	pages, err := h.store.PageCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.store.SetMaxPageCount(ctx, pages); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for h.eng.Ready(ctx) == nil {
		if time.Now().After(deadline) {
			t.Fatal("the engine stayed ready while the database refused the log")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := h.store.SetMaxPageCount(ctx, 1<<30); err != nil {
		t.Fatal(err)
	}
	r = h.waitDone(r.ID)
	if r.Status != model.RunFailed || !strings.Contains(r.Error, "disk that holds the database is full") {
		t.Fatalf("run = %s %q, want failed saying the disk is full", r.Status, r.Error)
	}
	if p := h.tasks(r.ID)["print"]; p.Status != model.TaskFailed || !strings.Contains(p.Error, "disk that holds the database is full") {
		t.Fatalf("print = %s %q", p.Status, p.Error)
	}
	var log string
	h.waitRun(r.ID, func(*model.Run) bool {
		log = h.logText(r.ID)
		return strings.Contains(log, "log lines could not be stored and are missing from this log")
	})
	deadline = time.Now().Add(20 * time.Second)
	for h.eng.Ready(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("not ready after the database took writes again: %v", h.eng.Ready(ctx))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// panicTransport is an HTTP transport with a bug: it panics.
type panicTransport struct{}

func (panicTransport) RoundTrip(*http.Request) (*http.Response, error) { panic("transport bug") }

// TestPanickingTaskType: a task type that panics fails its task with an
// internal error; the server goes on and runs the next run.
func TestPanickingTaskType(t *testing.T) {
	h := newHarness(t, `
name: buggy
tasks:
  - id: call
    type: http
    with:
      url: http://127.0.0.1:1/
  - id: after
    run: echo never
`, `
name: fine
tasks:
  - id: ok
    run: echo fine
`)
	h.reg.HTTP.Transport = panicTransport{}
	r := h.waitDone(h.startRun("buggy", nil).ID)
	if r.Status != model.RunFailed {
		t.Fatalf("run = %s %q", r.Status, r.Error)
	}
	if c := h.tasks(r.ID)["call"]; c.Status != model.TaskFailed || !strings.Contains(c.Error, "internal error: transport bug") {
		t.Fatalf("call = %s %q", c.Status, c.Error)
	}
	// The slot the panicking task held is free again: with all four
	// taken by leaked slots nothing more would run.
	for i := 0; i < 5; i++ {
		if r := h.waitDone(h.startRun("buggy", nil).ID); r.Status != model.RunFailed {
			t.Fatalf("run = %s", r.Status)
		}
	}
	if r := h.waitDone(h.startRun("fine", nil).ID); r.Status != model.RunSucceeded {
		t.Fatalf("a run after the panics = %s %q", r.Status, r.Error)
	}
}

// panickyStore panics when asked for one composition: a bug in the code
// the runner's loop calls.
type panickyStore struct {
	*storage.Store
	name string
}

func (p *panickyStore) GetComposition(ctx context.Context, name string) (model.CompositionVersion, error) {
	if name == p.name {
		panic("storage bug")
	}
	return p.Store.GetComposition(ctx, name)
}

// TestPanicInTheRunnerLoop: a panic in the runner's own loop (here while
// it starts a child run) fails that run with an internal error; the
// engine goes on.
func TestPanicInTheRunnerLoop(t *testing.T) {
	h := &harness{t: t, store: storage.NewTestStore(t), reg: plugin.NewRegistry(), dir: t.TempDir()}
	h.engineStore = &panickyStore{Store: h.store, name: "child"}
	t.Cleanup(func() { h.reg.Close() })
	h.start()
	h.save(`
name: parent
tasks:
  - id: call
    type: composition
    with:
      name: child
`)
	h.save(`
name: other
tasks:
  - id: ok
    run: echo fine
`)
	r := h.waitDone(h.startRun("parent", nil).ID)
	if r.Status != model.RunFailed || !strings.Contains(r.Error, "internal error: storage bug") {
		t.Fatalf("run = %s %q", r.Status, r.Error)
	}
	if r := h.waitDone(h.startRun("other", nil).ID); r.Status != model.RunSucceeded {
		t.Fatalf("a run after the panic = %s %q", r.Status, r.Error)
	}
}

// TestLastLinesRefused: a task whose last lines the database refuses,
// and which ends right after, fails its run: the run's end is worked out
// knowing about the refused lines, whether or not the runner heard of
// them first.
func TestLastLinesRefused(t *testing.T) {
	gate := filepath.Join(t.TempDir(), "go")
	h, fs := newFaultyHarness(t, fmt.Sprintf(`
name: lastwords
tasks:
  - id: say
    env: {GATE: %q}
    run: |
      echo first
      while [ ! -f "$GATE" ]; do sleep 0.02; done
      echo last
`, gate))
	r := h.startRun("lastwords", nil)
	h.waitRun(r.ID, func(*model.Run) bool { return strings.Contains(h.logText(r.ID), "say|first") })
	fs.setLogs(-1)
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for h.eng.Ready(context.Background()) == nil { // the writer gave up on the lines
		if time.Now().After(deadline) {
			t.Fatalf("the log writer never gave up (%d refused writes)", fs.logsFailed())
		}
		time.Sleep(10 * time.Millisecond)
	}
	fs.setLogs(0)
	r = h.waitDone(r.ID)
	if r.Status != model.RunFailed || !strings.Contains(r.Error, "log lines could not be stored") {
		t.Fatalf("run = %s %q, want failed for its refused lines", r.Status, r.Error)
	}
}

func (f *faultyStore) logsFailed() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.logFails
}

// cancellingStore cancels a queued run at the moment the scheduler is
// about to record why it waits: the scheduler must not write the run back
// as queued over its end.
type cancellingStore struct {
	*storage.Store
	eng  func() *engine.Engine
	once sync.Once
	id   int64
}

func (c *cancellingStore) SetQueueReason(ctx context.Context, runID int64, reason string) (bool, error) {
	if runID == c.id {
		c.once.Do(func() { c.eng().Cancel(context.Background(), runID, "bob", false) })
	}
	return c.Store.SetQueueReason(ctx, runID, reason)
}

// TestQueueReasonAfterCancel: a queued run cancelled while the scheduler
// records its queue reason stays cancelled (the scheduler used to write
// its copy of the run, queued, over the end).
func TestQueueReasonAfterCancel(t *testing.T) {
	h := &harness{t: t, store: storage.NewTestStore(t), reg: plugin.NewRegistry(), dir: t.TempDir()}
	cs := &cancellingStore{Store: h.store, eng: func() *engine.Engine { return h.eng }, id: 2}
	h.engineStore = cs
	t.Cleanup(func() { h.reg.Close() })
	h.start()
	gate := filepath.Join(t.TempDir(), "go")
	h.save(fmt.Sprintf("name: one\nconcurrency: 1\ntasks:\n  - id: work\n    env: {GATE: %q}\n    run: while [ ! -f \"$GATE\" ]; do sleep 0.02; done\n", gate))
	first := h.startRun("one", nil)
	h.waitRun(first.ID, func(r *model.Run) bool { return r.Status == model.RunRunning })
	second := h.startRun("one", nil)
	if r := h.waitDone(second.ID); r.Status != model.RunCancelled {
		t.Fatalf("second run = %s %q", r.Status, r.Error)
	}
	os.WriteFile(gate, nil, 0o644)
	h.waitDone(first.ID)
	if r, _ := h.store.GetRun(context.Background(), second.ID); r.Status != model.RunCancelled || r.QueueReason != "" {
		t.Fatalf("second run after the first ended = %s %q", r.Status, r.QueueReason)
	}
}

// TestRetriesBoundary: retries: N gives a task N+1 attempts, no more and
// no fewer: one that succeeds on its last allowed attempt succeeds, one
// that needs one more fails after exactly N+1.
func TestRetriesBoundary(t *testing.T) {
	h := newHarness(t, `
name: edge
params:
  need: {type: number}
workspace: {clean: true}
tasks:
  - id: flaky
    retries: 2
    retry_delay: 1ms
    env: {NEED: "${{ params.need }}"}
    run: |
      n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count
      test $n -ge "$NEED"
`)
	tests := []struct {
		need     int
		status   model.RunStatus
		attempts int
	}{
		{3, model.RunSucceeded, 3}, // the last allowed attempt
		{4, model.RunFailed, 3},    // one too many
		{1, model.RunSucceeded, 1},
	}
	for _, tt := range tests {
		r := h.waitDone(h.startRun("edge", map[string]any{"need": tt.need}).ID)
		if a := h.tasks(r.ID)["flaky"].Attempt; r.Status != tt.status || a != tt.attempts {
			t.Errorf("needing %d attempts: run %s after %d attempts, want %s after %d", tt.need, r.Status, a, tt.status, tt.attempts)
		}
	}
}
