package engine

import (
	"context"
	"fmt"
	"maps"
	"runtime/debug"
	"time"

	"baton/composition"
	"baton/model"
	"baton/plugin"
)

// ending is how a run that has nothing left to do ends, worked out once:
// when the database refuses to record it, the runner tries again with the
// same ending.
type ending struct {
	follow []model.NewRun
	events []*model.Event
}

// finish records the run's end and the runs it starts, in one
// transaction. It reports false when the database refused it: nothing
// follows from the end until it is recorded, and the loop tries again.
func (r *runner) finish() ([]model.NewRun, bool) {
	if r.final == nil {
		// Lines the database refused fail the run even when the runner
		// has not heard of them yet: a log with a hole never ends well.
		r.e.logs.Sync()
		if n, err := r.e.logs.refusedOf(r.run.ID); n > 0 && r.run.Ending == "" {
			r.setHalt(model.RunFailed, fmt.Sprintf("%d log lines could not be stored: %v", n, err))
		}
		now := time.Now()
		r.run.Status = model.RunSucceeded
		if r.run.Ending != "" {
			r.run.Status = r.run.Ending
		}
		r.run.Ending, r.run.FinishedAt = "", now
		r.run.Outputs = r.outputs()
		follow, events := r.runFinished()
		if r.run.Status == model.RunFailed && r.comp.OnFailure != nil {
			if nr, err := r.onFailure(); err != nil {
				r.log("", "on_failure: could not start %s: %v", r.comp.OnFailure.Composition, err)
			} else {
				follow = append(follow, nr)
			}
		}
		r.log("", "run %s in %s", r.run.Status, now.Sub(r.run.StartedAt).Round(time.Millisecond))
		r.final = &ending{follow: follow, events: events}
	}
	r.e.logs.Sync()
	err := r.save(func(ctx context.Context) error {
		return r.e.store.FinishRun(ctx, r.run, r.dirty, r.final.follow, r.final.events)
	})
	if err != nil {
		if r.unsaved == nil {
			r.e.log.Error("the database refused the end of a run: it is recorded once the database takes writes again", "run", r.run.ID, "err", err)
		}
		r.unsaved = err
		return nil, false
	}
	r.unsaved = nil
	r.e.logs.forget(r.run.ID)
	r.runDirty = true
	r.published()
	return r.final.follow, true
}

// onFailure prepares the run of the composition's on_failure call.
func (r *runner) onFailure() (model.NewRun, error) {
	call := r.comp.OnFailure
	params, err := composition.Resolve(anyMap(call.Params), r.env())
	if err != nil {
		return model.NewRun{}, err
	}
	p, _ := params.(map[string]any)
	return r.e.prepare(r.ctx, RunRequest{Composition: call.Composition, Params: p, Trigger: fmt.Sprintf("on_failure of run %d", r.run.ID)})
}

// outputs computes the run's outputs: the composition's `outputs:` when
// given, else the outputs of its succeeded tasks merged in task order.
func (r *runner) outputs() map[string]any {
	if len(r.comp.Outputs) > 0 {
		v, err := composition.Resolve(anyMap(r.comp.Outputs), r.env())
		if err != nil {
			r.log("", "outputs: %v", err)
			return nil
		}
		m, _ := v.(map[string]any)
		return m
	}
	out := map[string]any{}
	for _, t := range r.order {
		if t.Status == model.TaskSucceeded {
			maps.Copy(out, t.Outputs)
		}
	}
	return out
}

// guard runs part of the runner's loop; a panic in it stops the run as
// failed with an internal error, instead of taking the server down (which
// would crash again on every start, as the run resumes). The stack goes to
// the server log.
func (r *runner) guard(what string, f func()) {
	defer func() {
		if p := recover(); p != nil {
			r.e.log.Error("internal error in a run: the run stops", "run", r.run.ID, "while", what, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			r.log("", "internal error while %s: %v (the server log has the details)", what, p)
			msg := fmt.Sprintf("internal error: %v", p)
			r.stop(model.RunFailed, true, msg)
			// A composition task the panic left without a child run
			// has nothing to wait for.
			for id, in := range r.inflight {
				if in.kind == kindComposition && in.child == 0 {
					r.endTask(r.tasks[id], model.TaskFailed, nil, msg)
				}
			}
		}
	}()
	f()
}

// executeGuarded runs a job; a panic in the code that runs it fails the
// task with an internal error instead of taking the server down. The
// stack goes to the server log.
func (r *runner) executeGuarded(ctx context.Context, exec Executor, job plugin.Job, sink plugin.Sink) (res plugin.Result) {
	defer func() {
		if p := recover(); p != nil {
			r.e.log.Error("internal error running a task: the task fails", "run", job.RunID, "task", job.TaskID, "type", job.Type,
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			res = plugin.Result{ExitCode: -1, Err: fmt.Errorf("internal error: %v (the server log has the details)", p)}
		}
	}()
	return exec.Execute(ctx, job, sink)
}
