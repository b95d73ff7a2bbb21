package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"baton/composition"
	"baton/model"
)

// scheduleLoop starts queued runs whenever something may have freed a
// place: a new run, an ended run, a restart.
func (e *Engine) scheduleLoop() {
	defer close(e.schedDone)
	for {
		select {
		case <-e.kick:
		case answer := <-e.pings:
			close(answer)
			continue
		case <-e.ctx.Done():
			return
		}
		if !e.schedule() {
			return
		}
	}
}

// schedule starts every queued run that may start, oldest first; a run
// that must wait never holds back one that may go. It reports false once
// the engine is stopping.
func (e *Engine) schedule() bool {
	// Reasons are set on the queued run under the lock, and written and
	// published from a copy after it: Cancel may end the run meanwhile.
	type reasonUpdate struct {
		run    model.Run
		reason string
	}
	var updates []reasonUpdate
	var broken []*model.Run
	var brokenErr []error
	e.mu.Lock()
	if e.stopping {
		e.mu.Unlock()
		return false
	}
	keep := e.queue[:0]
	for _, r := range e.queue {
		comp, _, err := e.comps.get(e.ctx, r.Composition, r.Version)
		if err != nil {
			broken, brokenErr = append(broken, r), append(brokenErr, err)
			continue
		}
		if comp.Concurrency > 0 && e.active[r.Composition] >= comp.Concurrency {
			reason := fmt.Sprintf("waiting for a free place: %s allows %d active run(s) at a time (active: %s)",
				r.Composition, comp.Concurrency, e.activeListLocked(r.Composition))
			if reason != r.QueueReason {
				r.QueueReason = reason
				updates = append(updates, reasonUpdate{*r, reason})
			}
			keep = append(keep, r)
			continue
		}
		req, err := resolveRequires(comp.Requires, func() map[string]any {
			return composition.NewEnv(r.Params, nil, nil, composition.RunInfo{ID: r.ID, Composition: r.Composition})
		})
		if err != nil {
			broken, brokenErr = append(broken, r), append(brokenErr, err)
			continue
		}
		// A retry prefers the executor of the run it retries, where
		// its kept tasks left their files.
		warm, hint := e.lastGood[r.Composition], e.retryHintOf(r)
		if hint.agent != "" {
			warm = hint.agent
		}
		exec, reason := e.place(req, "", warm)
		if exec == nil {
			if reason != r.QueueReason {
				r.QueueReason = reason
				updates = append(updates, reasonUpdate{*r, reason})
			}
			keep = append(keep, r)
			continue
		}
		tasks, err := e.initialTasks(r, comp)
		if err != nil {
			exec.Release()
			broken, brokenErr = append(broken, r), append(brokenErr, err)
			continue
		}
		e.active[r.Composition]++
		delete(e.hints, r.ID)
		rn := newRunner(e, r, comp, tasks, true)
		rn.exec, rn.reserved, rn.hint = exec, true, hint
		e.runners[r.ID] = rn
		e.wg.Add(1)
		go rn.loop()
	}
	clear(e.queue[len(keep):])
	e.queue = keep
	e.mu.Unlock()

	for _, u := range updates {
		updated, err := e.store.SetQueueReason(e.ctx, u.run.ID, u.reason)
		if err != nil {
			e.log.Error("could not record a queue reason", "run", u.run.ID, "err", err)
		}
		if !updated {
			continue // it started or ended meanwhile
		}
		e.mu.Lock()
		if e.queuedLocked(u.run.ID) { // else its end is published already
			e.publishRun(&u.run)
		}
		e.mu.Unlock()
	}
	for i, r := range broken {
		e.endQueued(r, model.RunFailed, brokenErr[i].Error())
	}
	return true
}

// queuedLocked reports whether a run is in the queue. Call with e.mu held.
func (e *Engine) queuedLocked(id int64) bool {
	return slices.ContainsFunc(e.queue, func(q *model.Run) bool { return q.ID == id })
}

func (e *Engine) activeListLocked(composition string) string {
	var ids []string
	for id, rn := range e.runners {
		if rn.run.Composition == composition {
			ids = append(ids, fmt.Sprintf("run %d", id))
		}
	}
	slices.Sort(ids)
	return strings.Join(ids, ", ")
}

// resume restarts the runner of a run that was running when the previous
// process stopped.
func (e *Engine) resume(ctx context.Context, r *model.Run) error {
	comp, _, err := e.comps.get(ctx, r.Composition, r.Version)
	if err != nil {
		e.endQueued(r, model.RunFailed, "cannot resume after restart: "+err.Error())
		return err
	}
	tasks, err := e.store.GetTasks(ctx, r.ID)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.active[r.Composition]++
	if r.Workspace != "" {
		e.ws.hold(r.Agent, r.Workspace, r.ID)
	}
	rn := newRunner(e, r, comp, tasks, false)
	rn.exec = e.executor(r.Agent)
	e.runners[r.ID] = rn
	e.wg.Add(1)
	go rn.loop()
	return nil
}

// runnerDone forgets an ended (or shut down) run, tells a waiting parent,
// queues the runs its end started and lets the scheduler fill the place.
func (e *Engine) runnerDone(rn *runner, follow []model.NewRun) {
	e.mu.Lock()
	delete(e.runners, rn.run.ID)
	e.active[rn.run.Composition]--
	if rn.run.Status == model.RunSucceeded {
		e.lastGood[rn.run.Composition] = rn.run.Agent
	}
	var parent *runner
	if rn.run.Status.Done() {
		close(e.ended)
		e.ended = make(chan struct{})
		parent = e.runners[rn.run.ParentRunID]
	}
	e.mu.Unlock()
	if !rn.run.Status.Done() {
		return // shut down, not ended
	}
	e.ws.release(rn.run.Agent, rn.run.Workspace, rn.run.ID)
	for name, key := range rn.extraWS {
		e.ws.release(name, key, rn.run.ID)
	}
	if parent != nil && rn.run.ParentTask != "" {
		c := *rn.run
		parent.send(evChild{task: rn.run.ParentTask, child: &c})
	}
	for _, f := range follow {
		e.enqueue(f.Run)
	}
	e.poke()
}

// endQueued ends a run that never started (cancelled while queued, or
// whose composition can no longer run).
func (e *Engine) endQueued(r *model.Run, status model.RunStatus, msg string) {
	tasks, err := e.store.GetTasks(e.ctx, r.ID)
	if err != nil {
		e.log.Error("could not read tasks of a queued run", "run", r.ID, "err", err)
	}
	now := time.Now()
	for _, t := range tasks {
		if !t.Status.Done() {
			t.Status, t.FinishedAt = model.TaskSkipped, now
		}
	}
	r.Status, r.Error, r.QueueReason, r.FinishedAt = status, msg, "", now
	e.systemLog(r.ID, "", "run %s: %s", status, msg)
	e.logs.Sync()
	if err := e.store.FinishRun(e.ctx, r, tasks, nil, nil); err != nil {
		e.log.Error("could not record the end of a queued run", "run", r.ID, "err", err)
	}
	e.publishRun(r)
	e.mu.Lock()
	close(e.ended)
	e.ended = make(chan struct{})
	parent := e.runners[r.ParentRunID]
	delete(e.hints, r.ID)
	e.mu.Unlock()
	if parent != nil && r.ParentTask != "" {
		c := *r
		parent.send(evChild{task: r.ParentTask, child: &c})
	}
}

// Cancel stops a run: running tasks are killed (their whole process
// group), tasks not started are skipped, child runs are cancelled, and the
// run ends cancelled once the tasks marked always have run. Cancelling a
// run that is already being cancelled changes nothing unless force is
// set: force stops the tasks marked always too. Cancelling a run that has
// ended is a *StateError.
func (e *Engine) Cancel(ctx context.Context, runID int64, by string, force bool) error {
	e.mu.Lock()
	rn := e.runners[runID]
	var queued *model.Run
	if rn == nil {
		for i, q := range e.queue {
			if q.ID == runID {
				queued = q
				e.queue = slices.Delete(e.queue, i, i+1)
				break
			}
		}
	}
	e.mu.Unlock()
	switch {
	case rn != nil:
		reply := make(chan error, 1)
		if err, ok := rn.request(ctx, evCancel{by: by, force: force, reply: reply}, reply); ok {
			return err
		}
	case queued != nil:
		e.endQueued(queued, model.RunCancelled, "cancelled by "+by+" before it started")
		e.poke()
		return nil
	}
	r, err := e.store.GetRun(ctx, runID)
	if err != nil {
		return err
	}
	return &StateError{Msg: fmt.Sprintf("run %d has already ended (%s)", runID, r.Status)}
}

// Decide approves or rejects a waiting approval task.
func (e *Engine) Decide(ctx context.Context, runID int64, taskID string, d model.Decision, by, comment string) error {
	e.mu.Lock()
	rn := e.runners[runID]
	e.mu.Unlock()
	if rn != nil {
		reply := make(chan error, 1)
		if err, ok := rn.request(ctx, evDecision{task: taskID, decision: d, by: by, comment: comment, reply: reply}, reply); ok {
			return err
		}
	}
	r, err := e.store.GetRun(ctx, runID)
	if err != nil {
		return err
	}
	tasks, err := e.store.GetTasks(ctx, runID)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(tasks, func(t *model.TaskRun) bool { return t.TaskID == taskID }) {
		return fmt.Errorf("run %d has no task %s: %w", runID, taskID, model.ErrNotFound)
	}
	return &StateError{Msg: fmt.Sprintf("run %d is %s, so task %s is not waiting for approval", runID, r.Status, taskID)}
}
