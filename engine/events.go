package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"baton/composition"
	"baton/model"
	"baton/plugin"
)

// Events a runner receives.
type (
	// evStarted: a work task got a slot and is about to start.
	evStarted struct {
		task    string
		attempt int
		reply   chan error
	}
	// evResult: a work task ended.
	evResult struct {
		task    string
		attempt int
		res     plugin.Result
		cause   error // why its context ended, if it did
	}
	// evDecision: someone approved or rejected an approval task.
	evDecision struct {
		task     string
		decision model.Decision
		by       string
		comment  string
		reply    chan error
	}
	// evCancel: someone cancelled the run.
	evCancel struct {
		by    string
		force bool // stop the tasks marked always too
		reply chan error
	}
	// evChild: a run started by a composition task ended.
	evChild struct {
		task  string
		child *model.Run
	}
	// evWake: a sleep or wait task is done, or a retry delay is over.
	evWake struct {
		task    string
		retry   bool
		outputs map[string]any
		err     error
	}
	// evTimeout: a control task has run past its timeout.
	evTimeout struct {
		task    string
		attempt int
	}
	// evShutdown: the engine is stopping.
	evShutdown struct{}
	// evLogLost: the database refused log lines of the run.
	evLogLost struct {
		tasks map[string]int // lines per task ("" for the run's own)
		err   error
	}
)

func (r *runner) handle(ev any) {
	if r.final != nil {
		r.refuseEnded(ev)
		return
	}
	switch ev := ev.(type) {
	case evStarted:
		if err := r.started(ev); err != nil {
			ev.reply <- err
		} else {
			r.afterCommit(func(err error) { ev.reply <- err })
		}
	case evResult:
		r.result(ev)
	case evDecision:
		if err := r.decide(ev); err != nil {
			ev.reply <- err
		} else {
			r.afterCommit(func(err error) { ev.reply <- err })
		}
	case evCancel:
		if r.run.Ending != model.RunCancelled {
			r.log("", "cancelled by %s", ev.by)
			r.stop(model.RunCancelled, true, "cancelled by "+ev.by)
		}
		if ev.force && !r.run.Forced {
			r.log("", "cancelled with force by %s: tasks marked always stop too", ev.by)
			r.stop(model.RunCancelled, true, "cancelled by "+ev.by)
		}
		r.afterCommit(func(err error) { ev.reply <- err })
	case evChild:
		r.childEnded(ev)
	case evWake:
		r.wake(ev)
	case evTimeout:
		r.timedOut(ev)
	case evLogLost:
		r.logLost(ev)
	case evShutdown:
		r.shutdown = true
		for id, in := range r.inflight {
			if in.kind == kindWait || in.kind == kindSleep {
				in.cancel(errShutdown) // durable: they resume after the restart
				delete(r.inflight, id)
			}
		}
	}
}

// refuseEnded answers the events of a run whose ending is worked out
// (its record may still be waiting for the database): nothing changes it
// any more.
func (r *runner) refuseEnded(ev any) {
	ended := &StateError{Msg: fmt.Sprintf("run %d has already ended (%s)", r.run.ID, r.run.Status)}
	switch ev := ev.(type) {
	case evStarted:
		ev.reply <- errRunGone
	case evDecision:
		ev.reply <- ended
	case evCancel:
		ev.reply <- ended
	case evShutdown:
		r.shutdown = true // the next start records its end
	}
}

// logLost fails a run whose log lines the database refused: a run whose
// log has a hole must not end as if all went well. Work tasks whose lines
// were lost fail with the reason; tasks marked always go on.
func (r *runner) logLost(ev evLogLost) {
	total := 0
	for task, n := range ev.tasks {
		total += n
		if in := r.inflight[task]; task != "" && in != nil && in.kind == kindWork && !r.byID[task].Always {
			in.cancel(fmt.Errorf("%d of its log lines could not be stored: %w", n, ev.err))
		}
	}
	r.stop(model.RunFailed, true, fmt.Sprintf("%d log lines could not be stored: %v", total, ev.err))
}

// started accepts a work task that waited for a slot, unless the run has
// moved on meanwhile.
func (r *runner) started(ev evStarted) error {
	in := r.inflight[ev.task]
	if in == nil || in.attempt != ev.attempt || r.shutdown || (r.run.Ending == model.RunCancelled && !r.mayRun(ev.task)) {
		return errCancelled
	}
	r.markStarted(r.tasks[ev.task], ev.attempt)
	return nil
}

func (r *runner) result(ev evResult) {
	in := r.inflight[ev.task]
	if in == nil || in.attempt != ev.attempt {
		return
	}
	if r.shutdown && r.e.ctx.Err() != nil {
		// Killed by the shutdown: leave it running in storage, the next
		// start reports it interrupted and retries it.
		delete(r.inflight, ev.task)
		return
	}
	t := r.tasks[ev.task]
	if t.Status == model.TaskPending {
		// It never started: cancelled while waiting for a slot, or its
		// executor stopped taking work (the next try moves the run).
		delete(r.inflight, ev.task)
		if !r.mayRun(ev.task) {
			t.Status, t.FinishedAt = model.TaskSkipped, time.Now()
			r.touch(t)
		} else if errors.Is(ev.res.Err, errAgentGone) {
			r.hold(ev.task, 100*time.Millisecond)
		}
		return
	}
	var notRun *notRunError
	if errors.As(ev.res.Err, &notRun) && r.mayRun(ev.task) {
		// The agent did not start it: place it again without counting
		// the attempt.
		delete(r.inflight, ev.task)
		t.Status, t.Attempt = model.TaskPending, t.Attempt-1
		r.log(t.TaskID, "%v; it will be placed again", notRun)
		r.touch(t)
		r.hold(ev.task, time.Second)
		return
	}
	if ack, ok := in.exec.(interface{ ResultStored(int64, string, int) }); ok {
		runID, id, attempt := r.run.ID, t.TaskID, ev.attempt
		r.afterCommit(func(err error) {
			if err == nil { // else the agent keeps the result and sends it again
				ack.ResultStored(runID, id, attempt)
			}
		})
	}
	r.e.logs.Sync() // the task's lines are stored before its end is
	outputs := make(map[string]any, len(ev.res.Outputs))
	for k, v := range ev.res.Outputs {
		outputs[k] = v
	}
	if ev.res.Err == nil {
		if err := r.mergeContext(ev.res.Context); err != nil {
			r.endTask(t, model.TaskFailed, outputs, err.Error())
			return
		}
		t.ContextSet = maps.Clone(ev.res.Context) // for a retry that keeps this task
		r.endTask(t, model.TaskSucceeded, outputs, "")
		return
	}
	errText := ev.res.Err.Error()
	if ev.cause != nil && !errors.Is(ev.cause, context.Canceled) {
		errText = ev.cause.Error()
	}
	if errors.Is(ev.cause, errCancelled) {
		r.endTask(t, model.TaskCancelled, outputs, "cancelled")
		return
	}
	r.failOrRetry(t, outputs, errText)
}

// failOrRetry fails a task (keeping the outputs its attempt produced), or
// schedules its next attempt when it has retries left and the run is still
// going.
func (r *runner) failOrRetry(t *model.TaskRun, outputs map[string]any, errText string) {
	task := r.byID[t.TaskID]
	if t.Attempt <= task.Retries && r.mayRun(t.TaskID) {
		delete(r.inflight, t.TaskID)
		t.Status, t.Error = model.TaskPending, errText
		r.log(t.TaskID, "attempt %d failed: %s; retrying in %s", t.Attempt, errText, task.RetryDelay)
		r.touch(t)
		r.holds[t.TaskID] = true
		id := t.TaskID
		time.AfterFunc(task.RetryDelay, func() { r.send(evWake{task: id, retry: true}) })
		return
	}
	r.endTask(t, model.TaskFailed, outputs, errText)
}

// mergeContext adds the keys a task set to the run's shared context, all
// or none: a key that clashes leaves the context as it was.
func (r *runner) mergeContext(set map[string]string) error {
	if len(set) == 0 {
		return nil
	}
	next := maps.Clone(r.run.Context)
	for _, k := range slices.Sorted(maps.Keys(set)) {
		if k == "workdir" {
			return errors.New("context key workdir is set by Baton (the run's workspace) and cannot be changed; use another name")
		}
		if other, clash := composition.ContextConflict(next, k); clash {
			return fmt.Errorf("context key %q clashes with %q already in the context: a key cannot be both a value and a prefix of another key", k, other)
		}
		next[k] = set[k]
	}
	r.run.Context = next
	r.runDirty = true
	return nil
}

func (r *runner) wake(ev evWake) {
	if ev.retry {
		delete(r.holds, ev.task)
		return
	}
	in := r.inflight[ev.task]
	if in == nil {
		return
	}
	t := r.tasks[ev.task]
	if ev.err != nil {
		r.endTask(t, model.TaskFailed, nil, ev.err.Error())
		return
	}
	r.endTask(t, model.TaskSucceeded, ev.outputs, "")
}

// touch marks a task changed; the next commit writes it.
func (r *runner) touch(t *model.TaskRun) {
	for _, d := range r.dirty {
		if d == t {
			return
		}
	}
	r.dirty = append(r.dirty, t)
}

// afterCommit queues an action that may only happen once what is pending
// is committed. It is called with the commit's error: on an error nothing
// was recorded, and the action must not happen (a caller is told the
// error, a process is not started).
func (r *runner) afterCommit(f func(error)) {
	r.after = append(r.after, f)
}

// commit writes every pending change in one transaction, tells the bus,
// then performs the actions that waited for it. When the database refuses
// the changes even after retries, the actions are dropped (each is told
// the error) and the run stops: see storageFailed. It returns the error.
func (r *runner) commit() error {
	if r.refreshStatus() {
		r.runDirty = true
	}
	var err error
	if len(r.dirty) > 0 || r.runDirty {
		var run *model.Run
		if r.runDirty {
			run = r.run
		}
		if err = r.save(func(ctx context.Context) error { return r.e.store.SaveState(ctx, run, r.dirty...) }); err == nil {
			r.published()
			if r.unsaved != nil {
				r.e.log.Info("the database takes writes again: the run's state is recorded", "run", r.run.ID)
				r.unsaved = nil
			}
		}
	}
	after := r.after
	r.after = nil
	for _, f := range after {
		f(err)
	}
	if err != nil {
		r.storageFailed(err)
	}
	return err
}

// commitRetries are the pauses between attempts to write a step: a busy
// or briefly failing database gets about a second and a half before the
// run stops.
var commitRetries = []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}

// save runs a write, trying again after each pause of commitRetries while
// it fails and the engine runs. The engine's health follows the outcome.
func (r *runner) save(write func(context.Context) error) error {
	err := write(context.Background())
	for _, pause := range commitRetries {
		if err == nil || r.e.ctx.Err() != nil {
			break
		}
		time.Sleep(pause)
		err = write(context.Background())
	}
	r.e.health.wrote("the state of runs", err)
	return err
}

// storageFailed stops a run whose state the database refused. Nothing of
// the refused step was acted on; the pending changes stay and the runner
// writes them, with the run failed and why, as soon as the database takes
// them again (the loop retries while r.unsaved is set). Until then no task
// starts.
func (r *runner) storageFailed(err error) {
	if r.unsaved == nil {
		r.e.log.Error("the database refused a run's state: the run stops, and is recorded as failed once the database takes writes again",
			"run", r.run.ID, "err", err)
	}
	r.unsaved = err
	r.stop(model.RunFailed, true, "the run stopped: its state could not be recorded: "+err.Error())
}

// published tells subscribers about what was just committed.
func (r *runner) published() {
	for _, t := range r.dirty {
		r.e.publishTask(r.run.Composition, t)
	}
	if r.runDirty {
		r.e.publishRun(r.run)
	}
	clear(r.dirty)
	r.dirty = r.dirty[:0]
	r.runDirty = false
}

// refreshStatus sets the run running or waiting from its tasks: waiting
// when approvals are all that is going on. It reports a change.
func (r *runner) refreshStatus() bool {
	if r.run.Status.Done() || r.run.Status == model.RunQueued {
		return false
	}
	waiting, other := false, false
	for _, in := range r.inflight {
		if in.kind == kindApproval {
			waiting = true
		} else {
			other = true
		}
	}
	before := r.run.Status
	if waiting && !other && len(r.holds) == 0 {
		r.run.Status = model.RunWaiting
	} else {
		r.run.Status = model.RunRunning
	}
	return r.run.Status != before
}
