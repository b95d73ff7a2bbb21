package engine

import (
	"context"
	"fmt"
	"slices"

	"baton/model"
)

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
// queues the runs its end started and lets the queue loop fill the place.
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
