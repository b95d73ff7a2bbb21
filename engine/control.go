package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"baton/composition"
	"baton/model"
)

// maxCallDepth bounds compositions calling compositions, so a composition
// that calls itself fails instead of filling the database.
const maxCallDepth = 10

// startControl runs a task the engine handles itself.
func (r *runner) startControl(t *model.TaskRun, task *composition.Task) {
	fields, _, err := resolveFields(r.e.cat, task, r.env)
	if err != nil {
		r.endTask(t, model.TaskFailed, nil, err.Error())
		return
	}
	t.Attempt, t.StartedAt, t.Error, t.Agent = t.Attempt+1, time.Now(), "", ""
	switch task.Type {
	case "approval":
		msg, _ := fields["message"].(string)
		if msg == "" {
			msg = fmt.Sprintf("Approve task %s of run %d (%s)?", t.TaskID, r.run.ID, r.run.Composition)
		}
		t.Status, t.Approval = model.TaskWaiting, &model.Approval{Message: msg}
		r.inflight[t.TaskID] = &inflight{kind: kindApproval, attempt: t.Attempt}
		r.log(t.TaskID, "waiting for approval: %s", strings.Join(strings.Fields(msg), " "))
		r.touch(t)
	case "composition":
		t.Status = model.TaskRunning
		r.inflight[t.TaskID] = &inflight{kind: kindComposition, attempt: t.Attempt}
		r.touch(t)
		r.startChild(t, fields)
	case "sleep":
		t.Status = model.TaskRunning
		r.inflight[t.TaskID] = &inflight{kind: kindSleep, attempt: t.Attempt}
		r.touch(t)
		r.sleep(t, fields)
	case "wait":
		t.Status = model.TaskRunning
		r.inflight[t.TaskID] = &inflight{kind: kindWait, attempt: t.Attempt}
		r.touch(t)
		r.wait(t, fields)
	default:
		r.endTask(t, model.TaskFailed, nil, fmt.Sprintf("task type %q has no handler in this server", task.Type))
	}
	r.armTimeout(t)
}

// armTimeout ends a control task that is still going when its timeout,
// counted from when it started, has passed; after a restart the timer
// counts only what is left.
func (r *runner) armTimeout(t *model.TaskRun) {
	task, in := r.byID[t.TaskID], r.inflight[t.TaskID]
	if task.Timeout <= 0 || in == nil || in.kind == kindWork {
		return
	}
	id, attempt := t.TaskID, in.attempt
	in.timeout = time.AfterFunc(time.Until(t.StartedAt.Add(task.Timeout)), func() {
		r.send(evTimeout{task: id, attempt: attempt})
	})
}

// timedOut fails a control task that ran past its timeout: an approval
// nobody answered, a child run that took too long (it is cancelled), a
// wait or sleep.
func (r *runner) timedOut(ev evTimeout) {
	in := r.inflight[ev.task]
	if in == nil || in.attempt != ev.attempt {
		return
	}
	task := r.byID[ev.task]
	switch {
	case in.kind == kindComposition && in.child != 0:
		go r.e.Cancel(context.Background(), in.child, fmt.Sprintf("the timeout of task %s of run %d", ev.task, r.run.ID), false)
	case in.cancel != nil:
		in.cancel(errCancelled)
	}
	what := ""
	if in.kind == kindApproval {
		what = " waiting for a decision"
	}
	r.failOrRetry(r.tasks[ev.task], nil, fmt.Sprintf("timed out after %s%s", task.Timeout, what))
}

// startChild starts the run a composition task calls. The child's link to
// this task is stored with the child, so after a restart the task finds
// its child instead of starting another.
func (r *runner) startChild(t *model.TaskRun, fields map[string]any) {
	name, _ := fields["name"].(string)
	params, _ := fields["params"].(map[string]any)
	wait, ok := fields["wait"].(bool)
	if !ok {
		wait = true
	}
	if depth := r.callDepth(); depth >= maxCallDepth {
		r.endTask(t, model.TaskFailed, nil, fmt.Sprintf("compositions call each other more than %d deep; is %s calling itself?", maxCallDepth, name))
		return
	}
	// The task is running before its child exists: after a crash in
	// between, resume finds it running and starts the child then.
	if err := r.commit(); err != nil {
		// Not recorded: the run stops, and the child is never started.
		r.endTask(t, model.TaskFailed, nil, fmt.Sprintf("not started: %v", err))
		return
	}
	// In a retry, the first attempt retries the child the old run's
	// attempt started, when that one failed and is called the same way.
	nr, retried, isRetry := r.retryChild(t, name, params)
	var err error
	if !isRetry {
		nr, err = r.e.prepare(r.ctx, RunRequest{Composition: name, Params: params,
			Trigger: fmt.Sprintf("task %s of run %d", t.TaskID, r.run.ID), ParentRunID: r.run.ID, ParentTask: t.TaskID})
	}
	if err == nil {
		err = r.e.store.CreateRun(r.ctx, nr.Run, nr.Tasks)
	}
	if err != nil {
		r.endTask(t, model.TaskFailed, nil, fmt.Sprintf("start %s: %v", name, err))
		return
	}
	t.ChildRunID = nr.Run.ID
	if isRetry {
		r.log(t.TaskID, "started run %d of %s, retrying run %d (it %s)", nr.Run.ID, name, retried.ID, retried.Status)
	} else {
		r.log(t.TaskID, "started run %d of %s", nr.Run.ID, name)
	}
	r.e.enqueue(nr.Run)
	if !wait {
		r.endTask(t, model.TaskSucceeded, map[string]any{"run_id": nr.Run.ID}, "")
		return
	}
	r.inflight[t.TaskID].child = nr.Run.ID
	r.touch(t)
}

// callDepth counts the composition tasks above this run.
func (r *runner) callDepth() int {
	depth := 0
	for id := r.run.ParentRunID; id != 0 && depth < maxCallDepth; depth++ {
		p, err := r.e.store.GetRun(r.ctx, id)
		if err != nil {
			break
		}
		id = p.ParentRunID
	}
	return depth
}

// childEnded completes a composition task whose run ended.
func (r *runner) childEnded(ev evChild) {
	in := r.inflight[ev.task]
	if in == nil || in.kind != kindComposition || in.child != ev.child.ID {
		return
	}
	t := r.tasks[ev.task]
	outputs := map[string]any{"run_id": ev.child.ID}
	for k, v := range ev.child.Outputs {
		outputs[k] = v
	}
	r.log(t.TaskID, "run %d of %s ended %s", ev.child.ID, ev.child.Composition, childTook(ev.child))
	switch ev.child.Status {
	case model.RunSucceeded:
		r.endTask(t, model.TaskSucceeded, outputs, "")
	case model.RunCancelled:
		if r.run.Ending == model.RunCancelled {
			r.endTask(t, model.TaskCancelled, outputs, "cancelled")
			return
		}
		r.failOrRetryChild(t, outputs, fmt.Sprintf("run %d of %s was cancelled: %s", ev.child.ID, ev.child.Composition, ev.child.Error))
	default:
		r.failOrRetryChild(t, outputs, fmt.Sprintf("run %d of %s failed: %s", ev.child.ID, ev.child.Composition, ev.child.Error))
	}
}

// childTook says how a child run ended, for the parent's log: "succeeded
// in 2.1s", or "cancelled before it started".
func childTook(c *model.Run) string {
	if c.StartedAt.IsZero() {
		return fmt.Sprintf("%s before it started", c.Status)
	}
	return fmt.Sprintf("%s in %s", c.Status, c.FinishedAt.Sub(c.StartedAt).Round(time.Millisecond))
}

func (r *runner) failOrRetryChild(t *model.TaskRun, outputs map[string]any, msg string) {
	r.failOrRetry(t, outputs, msg)
}

// sleep ends the task when its duration has passed since it started, so a
// restart does not sleep again from the start.
func (r *runner) sleep(t *model.TaskRun, fields map[string]any) {
	d, err := time.ParseDuration(fmt.Sprint(fields["duration"]))
	if err != nil {
		r.endTask(t, model.TaskFailed, nil, fmt.Sprintf("duration: %v", err))
		return
	}
	ctx, cancel := context.WithCancelCause(r.ctx)
	r.inflight[t.TaskID].cancel = cancel
	id := t.TaskID
	timer := time.NewTimer(time.Until(t.StartedAt.Add(d)))
	go func() {
		defer timer.Stop()
		select {
		case <-timer.C:
			r.send(evWake{task: id})
		case <-ctx.Done():
		}
	}()
}

// wait ends the task when no other run of a composition is active, or when
// a given run has ended.
func (r *runner) wait(t *model.TaskRun, fields map[string]any) {
	// resolveFields has checked the fields (the wait manifest's checks):
	// exactly one is given, and run is a run id.
	comp, _ := fields["composition"].(string)
	runText, _ := fields["run"].(string)
	var runID int64
	if runText != "" {
		id, _ := strconv.ParseInt(runText, 10, 64)
		if _, err := r.e.store.GetRun(r.ctx, id); errors.Is(err, model.ErrNotFound) {
			r.endTask(t, model.TaskFailed, nil, fmt.Sprintf("run %d does not exist", id))
			return
		} else if err != nil {
			r.endTask(t, model.TaskFailed, nil, fmt.Sprintf("run %d could not be read: %v", id, err))
			return
		}
		// A run cannot end before itself, nor a run that waits for it.
		for up := r.run; up != nil; {
			if up.ID == id {
				r.endTask(t, model.TaskFailed, nil, fmt.Sprintf("run %d is this run or one that called it: waiting for it would never end", id))
				return
			}
			if up.ParentRunID == 0 {
				break
			}
			parent, err := r.e.store.GetRun(r.ctx, up.ParentRunID)
			if err != nil {
				break
			}
			up = parent
		}
		runID = id
	}
	ctx, cancel := context.WithCancelCause(r.ctx)
	r.inflight[t.TaskID].cancel = cancel
	id, self := t.TaskID, r.run.ID
	if runID != 0 {
		r.log(id, "waiting for run %d to end", runID)
	} else {
		r.log(id, "waiting until no other run of %s is active", comp)
	}
	go func() {
		for {
			ended := r.e.runEnded()
			if runID != 0 && !r.e.isActive(runID) {
				run, err := r.e.store.GetRun(ctx, runID)
				if err != nil {
					r.send(evWake{task: id, err: err})
					return
				}
				r.send(evWake{task: id, outputs: map[string]any{"status": string(run.Status)}})
				return
			}
			if comp != "" && onlySelf(r.e.activeOf(comp), self) {
				r.send(evWake{task: id})
				return
			}
			select {
			case <-ended:
			case <-ctx.Done():
				return
			}
		}
	}()
}

func onlySelf(ids []int64, self int64) bool {
	for _, id := range ids {
		if id != self {
			return false
		}
	}
	return true
}

// decide records an approval decision.
func (r *runner) decide(ev evDecision) error {
	t, ok := r.tasks[ev.task]
	if !ok {
		return &NotFoundError{What: "task", Name: fmt.Sprintf("%s in run %d", ev.task, r.run.ID)}
	}
	if typ := r.byID[ev.task].Type; typ != "approval" {
		return &StateError{Msg: fmt.Sprintf("task %s of run %d is a %s task, not an approval", ev.task, r.run.ID, typ)}
	}
	if t.Status != model.TaskWaiting || r.inflight[ev.task] == nil {
		return &StateError{Msg: fmt.Sprintf("task %s of run %d is not waiting for approval (it is %s)", ev.task, r.run.ID, t.Status)}
	}
	t.Approval.Decision, t.Approval.By, t.Approval.At, t.Approval.Comment = ev.decision, ev.by, time.Now(), ev.comment
	note := ""
	if ev.comment != "" {
		note = ": " + ev.comment
	}
	r.log(t.TaskID, "%s by %s%s", ev.decision, ev.by, note)
	if ev.decision == model.Approved {
		r.endTask(t, model.TaskSucceeded, map[string]any{"approved_by": ev.by, "comment": ev.comment}, "")
		return nil
	}
	r.endTask(t, model.TaskFailed, map[string]any{"rejected_by": ev.by, "comment": ev.comment}, fmt.Sprintf("rejected by %s%s", ev.by, note))
	return nil
}
