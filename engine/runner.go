package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"baton/composition"
	"baton/model"
	"baton/plugin"
)

// runner drives one active run. It is the only goroutine that changes the
// run's state: task goroutines, approvals, cancels and child runs talk to
// it through events, and it commits every transition before acting on it.
type runner struct {
	e      *Engine
	run    *model.Run
	comp   *composition.Composition
	exec   Executor
	fresh  bool // false when resumed after a restart
	tasks  map[string]*model.TaskRun
	order  []*model.TaskRun
	events chan any
	done   chan struct{} // closed when the loop has exited

	ctx    context.Context // ends with the engine
	cancel context.CancelFunc

	byID     map[string]*composition.Task
	upstream map[string][]string  // tasks marked always: every task they need, directly or not
	inflight map[string]*inflight // started and not yet finished
	holds    map[string]bool      // tasks waiting out their retry delay
	shutdown bool
	deadline <-chan time.Time // the run's timeout
	// unsaved is the database's last refusal of this run's state, until a
	// write succeeds again; final is the run's ending once worked out.
	unsaved error
	final   *ending

	// Changes wait here until the next commit, which writes them in one
	// transaction; actions that must follow the commit (starting a
	// process, answering a caller) wait in after.
	dirty    []*model.TaskRun
	runDirty bool
	after    []func(error)

	// reserved: placement took a slot on exec for the run's first task.
	reserved bool
	// moveReason is why the run could not move off an executor that takes
	// no more work, logged once.
	moveReason string
	// extraWS holds the workspaces of tasks with requires of their own that
	// run on other executors than the run's: executor name -> key.
	extraWS map[string]string
	// taskExec holds the executor placed for a task about to start.
	taskExec map[string]*ownExec
	// waitWhy is, per task, why it waits for an executor, logged once.
	waitWhy map[string]string
	// hint: for a retry, the executor and workspace of the run it retries.
	hint retryHint
}

// inflight is a task that has started and not ended.
type inflight struct {
	kind    taskKind
	attempt int
	child   int64
	cancel  context.CancelCauseFunc
	timeout *time.Timer // control tasks with a timeout
	exec    Executor    // work tasks: where the attempt runs
	// childStopped is how the child run was asked to stop: 0 not yet,
	// 1 cancelled, 2 cancelled with force.
	childStopped int
}

// taskKind is how the runner handles a started task: work goes to an
// executor, the others the runner handles itself.
type taskKind int

const (
	kindWork        taskKind = iota // a process or request on an executor
	kindApproval                    // waits for a person's decision
	kindComposition                 // waits for the child run it started
	kindWait                        // waits for another run
	kindSleep                       // waits for a while
)

// Causes given to a task's context when it is stopped.
var (
	errCancelled = errors.New("cancelled")
	errShutdown  = errors.New("interrupted by server shutdown")
	errRunGone   = errors.New("the run has already ended")
)

func newRunner(e *Engine, r *model.Run, comp *composition.Composition, tasks []*model.TaskRun, fresh bool) *runner {
	ctx, cancel := context.WithCancel(e.ctx)
	rn := &runner{e: e, run: r, comp: comp, fresh: fresh, tasks: map[string]*model.TaskRun{}, order: tasks,
		events: make(chan any, 64), done: make(chan struct{}), ctx: ctx, cancel: cancel,
		inflight: map[string]*inflight{}, holds: map[string]bool{}, byID: make(map[string]*composition.Task, len(comp.Tasks))}
	for _, t := range tasks {
		rn.tasks[t.TaskID] = t
	}
	for _, t := range comp.Tasks {
		rn.byID[t.ID] = t
	}
	rn.upstream = upstreamOfAlways(comp)
	if rn.run.Context == nil {
		rn.run.Context = map[string]string{}
	}
	return rn
}

// request sends an event that carries reply and waits for the answer, or
// for ctx to end. It reports false when the run ended without answering:
// the caller then answers from storage.
func (r *runner) request(ctx context.Context, ev any, reply chan error) (error, bool) {
	if !r.send(ev) {
		return nil, false
	}
	select {
	case err := <-reply:
		return err, true
	case <-ctx.Done():
		return ctx.Err(), true
	case <-r.done:
		select {
		case err := <-reply:
			return err, true
		default:
			return nil, false
		}
	}
}

// send delivers an event to the runner; it reports false when the run
// has already ended.
func (r *runner) send(ev any) bool {
	select {
	case r.events <- ev:
		return true
	case <-r.done:
		return false
	}
}

func (r *runner) loop() {
	defer r.e.wg.Done()
	var follow []model.NewRun
	defer func() {
		close(r.done)
		r.cancel()
		r.e.runnerDone(r, follow)
	}()
	r.guard("starting the run", func() {
		if r.fresh {
			r.begin()
		} else {
			r.resume()
		}
	})
	if r.comp.Timeout > 0 {
		t := time.NewTimer(time.Until(r.run.StartedAt.Add(r.comp.Timeout)))
		defer t.Stop()
		r.deadline = t.C
	}
	for {
		if !r.shutdown && r.unsaved == nil {
			r.guard("starting tasks", func() {
				for r.step() {
				}
			})
		}
		if r.final == nil {
			r.commit()
		}
		if r.reserved { // the first step started no work task: free the slot
			r.reserved = false
			r.exec.Release()
		}
		if r.final != nil || r.over() {
			var recorded bool
			if follow, recorded = r.finish(); recorded {
				return
			}
		}
		if r.shutdown && !r.workInflight() {
			if r.final != nil { // its end is not recorded: the next start finishes it
				r.run.Status = model.RunRunning
			}
			return
		}
		var retry <-chan time.Time
		if r.unsaved != nil {
			retry = time.After(time.Second)
		}
		select {
		case ev := <-r.events:
			r.guard("handling an event", func() { r.handle(ev) })
		case <-r.deadline:
			r.deadline = nil
			r.stop(model.RunFailed, true, fmt.Sprintf("run timed out after %s", r.comp.Timeout))
		case <-retry:
		}
	}
}

// begin places a fresh run on its executor and marks it running.
func (r *runner) begin() {
	want := ""
	if r.hint.agent == r.exec.Name() {
		want = r.hint.workspace
	}
	key := r.e.ws.leaseWant(r.exec.Name(), want, r.run.Composition, r.run.ID)
	r.run.Agent, r.run.Workspace = r.exec.Name(), key
	r.run.Status, r.run.StartedAt, r.run.QueueReason = model.RunRunning, time.Now(), ""
	dir := r.exec.WorkspacePath(key)
	r.run.Context["workdir"] = dir
	if err := r.exec.PrepareWorkspace(r.ctx, key, r.comp.Workspace.Clean); err != nil {
		r.setHalt(model.RunFailed, err.Error())
	}
	r.runDirty = true
	r.log("", "run %d of %s started on %s in %s", r.run.ID, r.run.Composition, r.exec.Name(), dir)
	if r.run.RetryOf != 0 {
		r.retryBegins(r.hint)
	}
}

// step starts or skips every task that can move; it reports whether
// anything changed, so the caller repeats until nothing does.
func (r *runner) step() bool {
	changed := false
	for _, t := range r.order {
		if t.Status != model.TaskPending || r.inflight[t.TaskID] != nil || r.holds[t.TaskID] {
			continue
		}
		if !r.mayRun(t.TaskID) {
			t.Status, t.FinishedAt = model.TaskSkipped, time.Now()
			r.touch(t)
			changed = true
			continue
		}
		if !r.ready(t) {
			continue
		}
		r.start(t)
		changed = true
	}
	return changed
}

// mayRun reports whether a task may still start, retry or go on running:
// while the run is healthy any task may; once it is failing or cancelled,
// only tasks marked always, until a cancel with force.
func (r *runner) mayRun(id string) bool {
	return r.run.Ending == "" || (r.byID[id].Always && !r.run.Forced)
}

// ready reports whether every task t needs has ended. A task marked
// always waits for everything upstream of it: once the run is failing,
// tasks between it and a running one are skipped at once, and clean-up
// must not start before what it cleans up has ended.
func (r *runner) ready(t *model.TaskRun) bool {
	needs := r.byID[t.TaskID].Needs
	if up, ok := r.upstream[t.TaskID]; ok {
		needs = up
	}
	for _, id := range needs {
		if !r.tasks[id].Status.Done() {
			return false
		}
	}
	return true
}

// over reports whether the run has nothing left to do.
func (r *runner) over() bool {
	if len(r.inflight) > 0 || len(r.holds) > 0 {
		return false
	}
	for _, t := range r.order {
		if !t.Status.Done() {
			return false
		}
	}
	return true
}

func (r *runner) workInflight() bool {
	for _, in := range r.inflight {
		if in.kind == kindWork {
			return true
		}
	}
	return false
}

// start evaluates a ready task's `if` and hands it to its handler.
func (r *runner) start(t *model.TaskRun) {
	task := r.byID[t.TaskID]
	if task.If != "" {
		v, err := composition.ResolveLazy(task.If, r.env)
		if err != nil {
			r.endTask(t, model.TaskFailed, nil, fmt.Sprintf("if: %v", err))
			return
		}
		if !composition.Truthy(v) {
			t.Status, t.FinishedAt, t.IfFalse = model.TaskSkipped, time.Now(), true
			r.log(t.TaskID, "skipped: `if` is false")
			r.touch(t)
			return
		}
	}
	tt, ok := r.e.cat.Lookup(task.Type)
	if !ok {
		r.endTask(t, model.TaskFailed, nil, fmt.Sprintf("unknown task type %q (is its plugin installed on the server?)", task.Type))
		return
	}
	if tt.Control {
		r.startControl(t, task)
		return
	}
	r.startWork(t, task)
}

// startWork resolves a work task's fields and runs it on the executor.
func (r *runner) startWork(t *model.TaskRun, task *composition.Task) {
	// Most tasks hold no expression: the environment, which copies every
	// task's outputs, is built only for those that do, once.
	env := sync.OnceValue(r.env)
	if !r.ensureExecutor() || !r.placeTask(t, task, env) {
		r.hold(t.TaskID, 2*time.Second)
		return
	}
	// The fields see the executor the task runs on, now that it is known.
	exec := r.exec
	if own := r.taskExec[t.TaskID]; own != nil {
		exec = own.exec
	}
	fieldEnv := sync.OnceValue(func() map[string]any { return composition.WithAgent(env(), r.e.agentInfo(exec)) })
	fields, secrets, err := resolveFields(r.e.cat, task, fieldEnv)
	if err == nil {
		var taskEnv map[string]string
		if taskEnv, err = resolveEnv(task.Env, fieldEnv); err == nil {
			r.dispatch(t, task, fields, taskEnv, secrets)
			return
		}
	}
	if own := r.taskExec[t.TaskID]; own != nil { // placed but never dispatched: its slot goes back
		delete(r.taskExec, t.TaskID)
		if own.reserved {
			own.exec.Release()
		}
	}
	r.endTask(t, model.TaskFailed, nil, err.Error())
}

func (r *runner) dispatch(t *model.TaskRun, task *composition.Task, fields map[string]any, env map[string]string, secrets []string) {
	attempt := t.Attempt + 1
	exec, key, reserved := r.exec, r.run.Workspace, r.reserved
	if own := r.taskExec[t.TaskID]; own != nil {
		exec, key, reserved = own.exec, own.key, own.reserved
		delete(r.taskExec, t.TaskID)
	} else {
		r.reserved = false
	}
	jobCtx := maps.Clone(r.run.Context)
	jobCtx["workdir"] = exec.WorkspacePath(key)
	job := plugin.Job{
		RunID: r.run.ID, Composition: r.run.Composition, TaskID: t.TaskID, Attempt: attempt, Type: task.Type,
		Fields: fields, Env: env, Context: jobCtx, Workdir: exec.WorkspacePath(key),
		WorkspaceKey: key, Secrets: secrets,
	}
	ctx, cancel := context.WithCancelCause(r.ctx)
	r.inflight[t.TaskID] = &inflight{kind: kindWork, attempt: attempt, cancel: cancel, exec: exec}
	if reserved || exec.TryAcquire() {
		// A slot is free: the task is running as of the next commit, and
		// its process starts only after that commit.
		r.markStarted(t, attempt)
		id, timeout := t.TaskID, task.Timeout
		r.afterCommit(func(err error) {
			if err != nil { // not recorded as started: it must not start
				exec.Release()
				cancel(err)
				go r.send(evResult{task: id, attempt: attempt, res: plugin.Result{Err: fmt.Errorf("not started: %w", err)}, cause: err})
				return
			}
			go r.execute(ctx, cancel, exec, job, timeout)
		})
		return
	}
	id := t.TaskID
	go func() {
		if err := exec.Acquire(ctx); err != nil {
			r.send(evResult{task: id, attempt: attempt, res: plugin.Result{Err: err}, cause: context.Cause(ctx)})
			return
		}
		reply := make(chan error, 1)
		err, answered := r.request(context.Background(), evStarted{task: id, attempt: attempt, reply: reply}, reply)
		if !answered {
			exec.Release()
			return
		}
		if err != nil {
			exec.Release()
			r.send(evResult{task: id, attempt: attempt, res: plugin.Result{Err: err}, cause: errCancelled})
			return
		}
		r.execute(ctx, cancel, exec, job, task.Timeout)
	}()
}

// ensureExecutor moves the run when its executor takes no more work (an
// agent lost past its grace, draining, disabled): to another that fits,
// with a new workspace. It reports false when the run must wait for one.
func (r *runner) ensureExecutor() bool {
	if !r.exec.Gone() {
		return true
	}
	req, _ := resolveRequires(r.comp.Requires, r.env)
	exec, reason := r.e.place(req, r.exec.Name(), "")
	if exec == nil {
		if reason != r.moveReason {
			r.moveReason = reason
			r.log("", "%s takes no more work; %s", r.exec.Name(), reason)
		}
		return false
	}
	old := r.exec
	r.e.ws.release(old.Name(), r.run.Workspace, r.run.ID)
	key := r.e.ws.lease(exec.Name(), r.run.Composition, r.run.ID)
	if err := exec.PrepareWorkspace(r.ctx, key, r.comp.Workspace.Clean); err != nil {
		r.log("", "preparing workspace %s on %s: %v", key, exec.Name(), err)
	}
	r.exec, r.reserved, r.moveReason = exec, true, ""
	r.run.Agent, r.run.Workspace = exec.Name(), key
	ctx := maps.Clone(r.run.Context)
	ctx["workdir"] = exec.WorkspacePath(key)
	r.run.Context, r.runDirty = ctx, true
	r.log("", "%s takes no more work: the run moved to %s, workspace %s (files earlier tasks left on %s are not there)", old.Name(), exec.Name(), ctx["workdir"], old.Name())
	return true
}

// ownExec is where a task with requires of its own runs.
type ownExec struct {
	exec     Executor
	key      string
	reserved bool
}

// placeTask finds an executor for a task with requires of its own that
// the run's executor does not meet: one that fits, with a workspace of the
// run there. It reports false when the task must wait for one.
func (r *runner) placeTask(t *model.TaskRun, task *composition.Task, env func() map[string]any) bool {
	req, err := resolveRequires(task.Requires, env)
	if err != nil {
		r.log(t.TaskID, "%v", err)
		return false
	}
	if req == nil || r.e.meets(req, r.exec) {
		return true
	}
	exec, reason := r.e.place(req, "", "")
	if exec == nil {
		if r.waitWhy == nil {
			r.waitWhy = map[string]string{}
		}
		if r.waitWhy[t.TaskID] != reason {
			r.waitWhy[t.TaskID] = reason
			r.log(t.TaskID, "%s", reason)
		}
		return false
	}
	if r.extraWS == nil {
		r.extraWS = map[string]string{}
	}
	key, ok := r.extraWS[exec.Name()]
	if !ok {
		key = r.e.ws.lease(exec.Name(), r.run.Composition, r.run.ID)
		r.extraWS[exec.Name()] = key
		if err := exec.PrepareWorkspace(r.ctx, key, r.comp.Workspace.Clean); err != nil {
			r.log(t.TaskID, "preparing workspace %s on %s: %v", key, exec.Name(), err)
		}
	}
	if r.taskExec == nil {
		r.taskExec = map[string]*ownExec{}
	}
	r.taskExec[t.TaskID] = &ownExec{exec: exec, key: key, reserved: true}
	r.log(t.TaskID, "runs on %s: its own requires rule out %s", exec.Name(), r.exec.Name())
	return true
}

// hold keeps a pending task from starting for a while.
func (r *runner) hold(id string, d time.Duration) {
	r.holds[id] = true
	time.AfterFunc(d, func() { r.send(evWake{task: id, retry: true}) })
}

// execute runs a job on the slot the task holds and reports its end.
func (r *runner) execute(ctx context.Context, cancel context.CancelCauseFunc, exec Executor, job plugin.Job, timeout time.Duration) {
	if timeout > 0 {
		t := time.AfterFunc(timeout, func() { cancel(fmt.Errorf("timed out after %s", timeout)) })
		defer t.Stop()
	}
	id, runID := job.TaskID, r.run.ID
	sink := func(stream plugin.Stream, at time.Time, text string) {
		r.e.logs.Write(runID, model.LogLine{TaskID: id, Stream: model.Stream(stream), Time: at, Text: text})
	}
	res := r.executeGuarded(ctx, exec, job, sink)
	cause := context.Cause(ctx)
	cancel(nil)
	r.send(evResult{task: id, attempt: job.Attempt, res: res, cause: cause})
}

// markStarted records that a work task's attempt has a slot and starts.
func (r *runner) markStarted(t *model.TaskRun, attempt int) {
	name := r.exec.Name()
	if in := r.inflight[t.TaskID]; in != nil && in.exec != nil {
		name = in.exec.Name()
	}
	t.Status, t.Attempt, t.Error, t.Agent, t.FinishedAt = model.TaskRunning, attempt, "", name, time.Time{}
	if t.StartedAt.IsZero() || attempt == 1 {
		t.StartedAt = time.Now()
	}
	if attempt > 1 {
		r.log(t.TaskID, "attempt %d of %d started", attempt, 1+r.byID[t.TaskID].Retries)
	}
	r.touch(t)
}

// endTask records the end of a task and what it means for the run.
func (r *runner) endTask(t *model.TaskRun, status model.TaskStatus, outputs map[string]any, errText string) {
	if in := r.inflight[t.TaskID]; in != nil && in.timeout != nil {
		in.timeout.Stop()
	}
	delete(r.inflight, t.TaskID)
	t.Status, t.Outputs, t.Error, t.FinishedAt = status, outputs, errText, time.Now()
	if status == model.TaskSucceeded && t.ContextSet == nil {
		t.ContextSet = map[string]string{} // recorded: it set no context keys
	}
	if t.StartedAt.IsZero() {
		t.StartedAt = t.FinishedAt
	}
	if t.Attempt == 0 {
		t.Attempt = 1
	}
	switch status {
	case model.TaskFailed:
		r.log(t.TaskID, "failed: %s", errText)
		if !r.byID[t.TaskID].ContinueOnError {
			r.stop(model.RunFailed, false, fmt.Sprintf("task %s failed: %s", t.TaskID, errText))
		}
	case model.TaskCancelled:
		r.log(t.TaskID, "cancelled")
	}
	r.touch(t)
}

// stop halts the run. After a task failure (hard false) tasks not yet
// started are skipped and running work finishes; on cancel or timeout
// (hard) running work and child runs are stopped too. Approvals, waits and
// sleeps end at once either way. A cancel overrides an earlier failure.
// Tasks marked always are spared: running ones go on, pending ones start
// when their needs have ended; a cancel with force stops them as well.
// kind is RunFailed or RunCancelled.
func (r *runner) stop(kind model.RunStatus, hard bool, msg string) {
	if r.run.Ending == model.RunCancelled {
		if kind != model.RunCancelled || r.run.Forced {
			return
		}
		r.run.Forced, r.runDirty = true, true
	} else if r.run.Ending == "" || kind == model.RunCancelled {
		r.setHalt(kind, msg)
	}
	for id, in := range r.inflight {
		if r.mayRun(id) {
			continue
		}
		switch in.kind {
		case kindWork, kindComposition:
			if hard {
				r.abort(in)
			}
		default:
			if in.cancel != nil {
				in.cancel(errCancelled)
			}
			r.endTask(r.tasks[id], model.TaskCancelled, nil, "the run "+statusWord(r.run.Ending)+": "+r.run.Error)
		}
	}
}

// setHalt records that the run will end failed or cancelled, and why. The
// run's row says so at the next commit, so a restart resumes it as such.
func (r *runner) setHalt(kind model.RunStatus, msg string) {
	r.run.Ending, r.run.Error, r.runDirty = kind, msg, true
}

func statusWord(k model.RunStatus) string {
	if k == model.RunCancelled {
		return "was cancelled"
	}
	return "failed"
}

// abort stops a running work task or the child run of a composition task.
func (r *runner) abort(in *inflight) {
	if in.kind == kindWork {
		in.cancel(errCancelled)
		return
	}
	// Once per level: a stop repeated while the database refuses writes
	// must not pile up cancels of the same child.
	level := 1
	if r.run.Forced {
		level = 2
	}
	if in.child != 0 && in.childStopped < level {
		in.childStopped = level
		go r.e.Cancel(context.Background(), in.child, fmt.Sprintf("parent run %d", r.run.ID), r.run.Forced)
	}
}

// env is what expressions see now.
func (r *runner) env() map[string]any {
	states := make(map[string]composition.TaskState, len(r.order))
	for _, t := range r.order {
		states[t.TaskID] = composition.TaskState{Status: string(t.Status), Outputs: t.Outputs}
	}
	return composition.NewEnv(r.run.Params, states, r.run.Context,
		composition.RunInfo{ID: r.run.ID, Composition: r.run.Composition, Status: string(r.run.Status), Error: r.run.Error})
}

func anyMap[V any](m map[string]V) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (r *runner) log(taskID, format string, args ...any) {
	r.e.systemLog(r.run.ID, taskID, format, args...)
}

// upstreamOfAlways lists, for each task marked always, every task it needs
// directly or through others.
func upstreamOfAlways(comp *composition.Composition) map[string][]string {
	out := map[string][]string{}
	for _, t := range comp.Tasks {
		if t.Always {
			out[t.ID] = comp.Upstream(t.ID)
		}
	}
	return out
}
