package engine

import (
	"context"

	"baton/model"
)

// resume picks a run up after a restart, task by task: work that was
// running here died with the old process, so it fails as interrupted (and
// is retried when it has retries left); composition tasks find their child
// run again; sleeps and waits start over from their recorded start;
// approvals go on waiting.
func (r *runner) resume() {
	r.log("", "server restarted: run %d resumed", r.run.ID)
	for _, t := range r.order {
		task := r.byID[t.TaskID]
		switch {
		case t.Status == model.TaskWaiting && task.Type == "approval":
			r.inflight[t.TaskID] = &inflight{kind: kindApproval, attempt: t.Attempt}
		case t.Status != model.TaskRunning:
		case task.Type == "composition":
			r.resumeChild(t)
		case task.Type == "sleep" || task.Type == "wait":
			fields, _, err := resolveFields(r.e.cat, task, r.env)
			if err != nil {
				r.endTask(t, model.TaskFailed, nil, err.Error())
				continue
			}
			if task.Type == "sleep" {
				r.inflight[t.TaskID] = &inflight{kind: kindSleep, attempt: t.Attempt}
				r.sleep(t, fields)
			} else {
				r.inflight[t.TaskID] = &inflight{kind: kindWait, attempt: t.Attempt}
				r.wait(t, fields)
			}
		case t.Agent != "" && t.Agent != "local":
			r.resumeRemote(t)
		default:
			r.log(t.TaskID, "attempt %d was interrupted by server restart", t.Attempt)
			r.failOrRetry(t, nil, "interrupted by server restart")
		}
	}
	for _, t := range r.order {
		if r.inflight[t.TaskID] != nil {
			r.armTimeout(t)
		}
	}
	r.runDirty = true
}

// resumeChild re-attaches a composition task to the run it started, or
// starts it when the process died before the child was stored.
func (r *runner) resumeChild(t *model.TaskRun) {
	in := &inflight{kind: kindComposition, attempt: t.Attempt}
	r.inflight[t.TaskID] = in
	if t.ChildRunID == 0 {
		fields, _, err := resolveFields(r.e.cat, r.byID[t.TaskID], r.env)
		if err != nil {
			r.endTask(t, model.TaskFailed, nil, err.Error())
			return
		}
		r.startChild(t, fields)
		return
	}
	in.child = t.ChildRunID
	child, err := r.e.store.GetRun(r.ctx, t.ChildRunID)
	if err != nil {
		r.endTask(t, model.TaskFailed, nil, "its run is gone: "+err.Error())
		return
	}
	if child.Status.Done() {
		r.childEnded(evChild{task: t.TaskID, child: child})
	}
}

// resumeRemote waits again for a task an agent was running when the server
// stopped: the agent delivers its lines and result when it reconnects.
func (r *runner) resumeRemote(t *model.TaskRun) {
	exec := r.e.executor(t.Agent)
	x, ok := exec.(*agentExec)
	if !ok {
		r.failOrRetry(t, nil, "interrupted by server restart")
		return
	}
	ctx, cancel := context.WithCancelCause(r.ctx)
	r.inflight[t.TaskID] = &inflight{kind: kindWork, attempt: t.Attempt, cancel: cancel, exec: exec}
	r.log(t.TaskID, "waiting for agent %s to deliver attempt %d", t.Agent, t.Attempt)
	id, attempt, runID := t.TaskID, t.Attempt, r.run.ID
	go func() {
		res := x.Resume(ctx, runID, id, attempt)
		cause := context.Cause(ctx)
		cancel(nil)
		r.send(evResult{task: id, attempt: attempt, res: res, cause: cause})
	}()
}
