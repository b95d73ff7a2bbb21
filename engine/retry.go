package engine

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"baton/composition"
	"baton/model"
)

// A retry is a new run, not a new attempt of the old one: the old run and
// its log stay as they ended, and the new run names the run it retries
// (RetryOf). It runs the same composition version with the same params,
// and is created with the tasks it keeps already succeeded: their
// outputs, their approval decisions and the context keys they set, each
// marked with the run the result comes from (KeptFrom). Every other task
// starts pending, in the one transaction that creates the run, so a server
// killed at any moment has either no retry or a whole one, queued like any
// run.
//
// A task is kept when it succeeded (or was skipped because its if was
// false) and everything it needs, directly or not, is kept; so the failed
// task runs again and so does everything after it: tasks skipped because
// of the failure, tasks cancelled with the run, and clean-up (tasks marked
// always) that ran after what runs again. A
// composition task that runs again retries the child run it started when
// that run failed or was cancelled and is called with the same params,
// so a failure deep down is retried where it happened.

// RetryRequest asks for a retry of an ended run.
type RetryRequest struct {
	RunID int64
	// By says who asks; it starts the new run's trigger.
	By string
	// From names tasks to run again although they succeeded, each with
	// everything after it (to undo what a clean-up undid, or to be asked
	// an approval again).
	From []string
	// Latest runs the composition's current version, not the run's own;
	// its params are bound again and tasks are kept by id and type.
	Latest bool
}

// retryPlan is how a retry's run is made.
type retryPlan struct {
	from       []string
	latest     bool
	trigger    string
	parentRun  int64 // a child's retry: the run and task that call it
	parentTask string
}

// retryHint is where a queued retry would like to run: the executor and
// workspace of the run it retries, whose files its kept tasks left.
type retryHint struct {
	agent, workspace string
}

// Retry starts a new run that retries a failed or cancelled run (see the
// comment at the top of retry.go). A run still active, one that succeeded
// or one being retried already is a *StateError; an unknown task in From
// an *InvalidError; params the latest version refuses a *ParamsError.
func (e *Engine) Retry(ctx context.Context, req RetryRequest) (*model.Run, error) {
	// One retry is decided at a time, so that two clicks on the button
	// cannot both find no retry active and start two.
	e.retryMu.Lock()
	defer e.retryMu.Unlock()
	old, err := e.store.GetRun(ctx, req.RunID)
	if err != nil {
		return nil, err
	}
	switch {
	case !old.Status.Done() || e.isActive(old.ID):
		return nil, &StateError{Msg: fmt.Sprintf("run %d is %s: only a run that has ended can be retried; wait for it to end, or cancel it", old.ID, old.Status)}
	case old.Status == model.RunSucceeded:
		return nil, &StateError{Msg: fmt.Sprintf("run %d succeeded, so there is nothing to retry; start a new run to do it all again", old.ID)}
	}
	if id := e.activeRetryOf(old.ID); id != 0 {
		return nil, &StateError{Msg: fmt.Sprintf("run %d is already being retried by run %d; wait for that run to end, or cancel it", old.ID, id)}
	}
	tasks, err := e.store.GetTasks(ctx, old.ID)
	if err != nil {
		return nil, err
	}
	from := slices.Compact(slices.Sorted(slices.Values(req.From)))
	trigger := fmt.Sprintf("%s, retrying run %d", req.By, old.ID)
	if len(from) > 0 {
		trigger += " from " + strings.Join(from, ", ")
	}
	nr, err := e.planRetry(ctx, old, tasks, retryPlan{from: from, latest: req.Latest, trigger: trigger})
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	stopping := e.stopping
	e.mu.Unlock()
	if stopping {
		return nil, errStopping
	}
	if err := e.store.CreateRun(ctx, nr.Run, nr.Tasks); err != nil {
		return nil, err
	}
	c := cloneRun(nr.Run)
	e.enqueue(nr.Run)
	return c, nil
}

// activeRetryOf returns a queued or running retry of a run, or 0.
func (e *Engine) activeRetryOf(id int64) int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	for rid, rn := range e.runners {
		if rn.run.RetryOf == id {
			return rid
		}
	}
	for _, q := range e.queue {
		if q.RetryOf == id {
			return q.ID
		}
	}
	return 0
}

// planRetry builds the queued run that retries old, with its kept tasks.
func (e *Engine) planRetry(ctx context.Context, old *model.Run, oldTasks []*model.TaskRun, p retryPlan) (model.NewRun, error) {
	if _, err := e.store.GetComposition(ctx, old.Composition); errors.Is(err, model.ErrNotFound) {
		return model.NewRun{}, &StateError{Msg: fmt.Sprintf("composition %s was deleted; restore one of its versions to retry its runs", old.Composition)}
	} else if err != nil {
		return model.NewRun{}, err
	}
	version := old.Version
	if p.latest {
		version = 0
	}
	comp, version, err := e.comps.get(ctx, old.Composition, version)
	var invalid *InvalidError
	if errors.As(err, &invalid) && !p.latest {
		invalid.What += "; retry with the latest version to run the current one"
	}
	if err != nil {
		return model.NewRun{}, err
	}
	params := old.Params
	if version != old.Version {
		var ferrs []composition.FieldError
		if params, ferrs = comp.BindParams(old.Params); len(ferrs) > 0 {
			return model.NewRun{}, &ParamsError{Composition: comp.Name, Errors: ferrs}
		}
	}
	var oldComp *composition.Composition
	if version != old.Version {
		oldComp, _ = e.CompositionVersion(ctx, old.Composition, old.Version) // nil: types are not compared
	}
	again, err := rerunSet(comp, oldComp, oldTasks, p.from)
	if err != nil {
		return model.NewRun{}, &InvalidError{What: fmt.Sprintf("retry of run %d", old.ID), Err: err}
	}
	byID := make(map[string]*model.TaskRun, len(oldTasks))
	for _, t := range oldTasks {
		byID[t.TaskID] = t
	}
	tasks := make([]*model.TaskRun, len(comp.Tasks))
	var kept []*model.TaskRun
	for i, ct := range comp.Tasks {
		if again[ct.ID] {
			tasks[i] = &model.TaskRun{TaskID: ct.ID, Status: model.TaskPending}
			continue
		}
		tasks[i] = keep(byID[ct.ID], old.ID)
		kept = append(kept, tasks[i])
	}
	if len(kept) == len(tasks) {
		return model.NewRun{}, &StateError{Msg: fmt.Sprintf("every task of run %d succeeded, so a retry would run nothing (the run %s: %s); name the tasks to run again with from", old.ID, old.Status, old.Error)}
	}
	r := &model.Run{
		Composition: comp.Name, Version: version, Params: params, Status: model.RunQueued, Trigger: p.trigger,
		ParentRunID: p.parentRun, ParentTask: p.parentTask, RetryOf: old.ID, Context: keptContext(old, kept),
		CreatedAt: time.Now(), QueueReason: "waiting for the scheduler",
	}
	return model.NewRun{Run: r, Tasks: tasks}, nil
}

// rerunSet returns the tasks of comp a retry runs again: those that did
// not succeed in the old run, nor were skipped by their if (or are new, or
// changed type), those named in from, and every task downstream of one of
// them.
func rerunSet(comp, oldComp *composition.Composition, oldTasks []*model.TaskRun, from []string) (map[string]bool, error) {
	succeeded := map[string]bool{}
	for _, t := range oldTasks {
		succeeded[t.TaskID] = t.Status == model.TaskSucceeded || (t.Status == model.TaskSkipped && t.IfFalse)
	}
	again := map[string]bool{}
	for _, id := range from {
		if comp.Task(id) == nil {
			ids := make([]string, len(comp.Tasks))
			for i, t := range comp.Tasks {
				ids[i] = t.ID
			}
			if len(id) > 80 {
				id = id[:80] + "…"
			}
			return nil, fmt.Errorf("from: %q is not a task of %s; its tasks are %s", id, comp.Name, listWords(ids))
		}
		again[id] = true
	}
	for _, t := range comp.Tasks {
		if !succeeded[t.ID] {
			again[t.ID] = true
		} else if oldComp != nil {
			if ot := oldComp.Task(t.ID); ot == nil || ot.Type != t.Type {
				again[t.ID] = true
			}
		}
	}
	out := maps.Clone(again)
	for _, t := range comp.Tasks {
		for _, up := range comp.Upstream(t.ID) {
			if again[up] {
				out[t.ID] = true
				break
			}
		}
	}
	return out, nil
}

// keep copies a task's result (succeeded, or skipped by its if) into a
// retry.
func keep(t *model.TaskRun, runID int64) *model.TaskRun {
	c := &model.TaskRun{TaskID: t.TaskID, Status: t.Status, IfFalse: t.IfFalse, Attempt: t.Attempt, Outputs: maps.Clone(t.Outputs),
		Agent: t.Agent, ChildRunID: t.ChildRunID, StartedAt: t.StartedAt, FinishedAt: t.FinishedAt,
		KeptFrom: cmp.Or(t.KeptFrom, runID), ContextSet: maps.Clone(t.ContextSet)}
	if t.Approval != nil {
		a := *t.Approval
		c.Approval = &a
	}
	return c
}

// keptContext is the context a retry starts with: the keys its kept tasks
// set, in the order they ended. When a kept task ended before Baton
// recorded the keys each task set, it is the old run's whole context.
// workdir is the retry's own, set when it starts.
func keptContext(old *model.Run, kept []*model.TaskRun) map[string]string {
	ctx := map[string]string{}
	if slices.ContainsFunc(kept, func(t *model.TaskRun) bool { return t.Status == model.TaskSucceeded && t.ContextSet == nil }) {
		maps.Copy(ctx, old.Context)
		delete(ctx, "workdir")
		return ctx
	}
	order := slices.Clone(kept)
	slices.SortStableFunc(order, func(a, b *model.TaskRun) int { return a.FinishedAt.Compare(b.FinishedAt) })
	for _, t := range order {
		maps.Copy(ctx, t.ContextSet)
	}
	return ctx
}

// retryChild prepares the run a composition task of a retry starts: a
// retry of the child run the old attempt of the task started, when that
// run failed or was cancelled and is called the same way (composition
// and params); ok is false when a fresh run is due instead.
func (r *runner) retryChild(t *model.TaskRun, name string, params map[string]any) (nr model.NewRun, old *model.Run, ok bool) {
	// Only the first attempt: a later one starts afresh, as it would in
	// any run.
	if r.run.RetryOf == 0 || t.Attempt != 1 {
		return model.NewRun{}, nil, false
	}
	ctx := r.ctx
	oldTasks, err := r.e.store.GetTasks(ctx, r.run.RetryOf)
	if err != nil {
		return model.NewRun{}, nil, false
	}
	i := slices.IndexFunc(oldTasks, func(o *model.TaskRun) bool { return o.TaskID == t.TaskID })
	if i < 0 || oldTasks[i].ChildRunID == 0 {
		return model.NewRun{}, nil, false
	}
	old, err = r.e.store.GetRun(ctx, oldTasks[i].ChildRunID)
	if err != nil || old.Composition != name || (old.Status != model.RunFailed && old.Status != model.RunCancelled) || r.e.activeRetryOf(old.ID) != 0 {
		return model.NewRun{}, nil, false
	}
	comp, err := r.e.CompositionVersion(ctx, old.Composition, old.Version)
	if err != nil {
		return model.NewRun{}, nil, false
	}
	if bound, ferrs := comp.BindParams(params); len(ferrs) > 0 || !sameJSON(bound, old.Params) {
		return model.NewRun{}, nil, false
	}
	childTasks, err := r.e.store.GetTasks(ctx, old.ID)
	if err != nil {
		return model.NewRun{}, nil, false
	}
	nr, err = r.e.planRetry(ctx, old, childTasks, retryPlan{
		trigger:   fmt.Sprintf("task %s of run %d, retrying run %d", t.TaskID, r.run.ID, old.ID),
		parentRun: r.run.ID, parentTask: t.TaskID,
	})
	if err != nil {
		r.log(t.TaskID, "run %d of %s is not retried (%v): a new run starts", old.ID, old.Composition, err)
		return model.NewRun{}, nil, false
	}
	return nr, old, true
}

// sameJSON reports whether two values encode to the same JSON, so that
// params bound just now compare equal to params read back from storage.
func sameJSON(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}

// initialTasks returns the tasks of a queued run as it starts: all
// pending, or for a retry as stored, with the tasks it kept succeeded.
func (e *Engine) initialTasks(r *model.Run, comp *composition.Composition) ([]*model.TaskRun, error) {
	if r.RetryOf != 0 {
		tasks, err := e.store.GetTasks(e.ctx, r.ID)
		if err != nil {
			return nil, fmt.Errorf("read the tasks of retry %d: %w", r.ID, err)
		}
		return tasks, nil
	}
	tasks := make([]*model.TaskRun, len(comp.Tasks))
	for i, t := range comp.Tasks {
		tasks[i] = &model.TaskRun{RunID: r.ID, TaskID: t.ID, Status: model.TaskPending}
	}
	return tasks, nil
}

// retryHintOf returns where a queued retry would like to run, reading the
// run it retries once.
func (e *Engine) retryHintOf(r *model.Run) retryHint {
	if r.RetryOf == 0 {
		return retryHint{}
	}
	if h, ok := e.hints[r.ID]; ok {
		return h
	}
	var h retryHint
	if old, err := e.store.GetRun(e.ctx, r.RetryOf); err == nil {
		h = retryHint{agent: old.Agent, workspace: old.Workspace}
	}
	e.hints[r.ID] = h
	return h
}

// retryBegins tells in the retry's log what it keeps and runs again, and
// where its files are.
func (r *runner) retryBegins(h retryHint) {
	var kept, again []string
	for _, t := range r.order {
		if t.KeptFrom != 0 {
			kept = append(kept, t.TaskID)
		} else {
			again = append(again, t.TaskID)
		}
	}
	r.log("", "retrying run %d: kept %s (their outputs, decisions and context); running again %s", r.run.RetryOf, listWords(kept), listWords(again))
	switch {
	case h.agent == "":
	case h.agent == r.run.Agent && h.workspace == r.run.Workspace && r.comp.Workspace.Clean:
		r.log("", "in run %d's workspace, emptied first (workspace.clean is set): files its tasks left are gone", r.run.RetryOf)
	case h.agent == r.run.Agent && h.workspace == r.run.Workspace:
		r.log("", "in run %d's workspace, with the files its tasks left", r.run.RetryOf)
	default:
		r.log("", "run %d's workspace was %s on %s; this run has %s on %s, without the files the kept tasks left there", r.run.RetryOf, h.workspace, h.agent, r.run.Workspace, r.run.Agent)
	}
}

// listWords lists names for a log line, at most 20 of them.
func listWords(ids []string) string {
	switch {
	case len(ids) == 0:
		return "nothing"
	case len(ids) > 20:
		return strings.Join(ids[:20], ", ") + fmt.Sprintf(" and %d more", len(ids)-20)
	}
	return strings.Join(ids, ", ")
}
