package engine

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sync"
	"time"

	"baton/model"
	"baton/plugin"
	"baton/protocol"
)

// Errors an agent executor gives the runner.
var (
	// errAgentGone: the agent is lost, draining or disabled; the run must
	// move to another executor.
	errAgentGone = errors.New("the agent takes no more work")
)

// notRunError is a job the agent could not start at all: the task goes back
// to be placed again without counting an attempt.
type notRunError struct{ msg string }

func (e *notRunError) Error() string { return e.msg }

// remoteJob is one job given to an agent.
type remoteJob struct {
	id      string
	runID   int64
	taskID  string
	attempt int
	assign  *protocol.Assign // nil for a job taken over after a restart
	sent    bool

	queued int64 // lines handed to the log writer
	stored int64 // lines committed

	once      sync.Once
	done      chan struct{} // closed when the result arrived or the job is lost
	result    *protocol.Result
	err       error
	cancelled bool
	released  bool // its slot was given back
}

func newRemoteJob(id string, runID int64, taskID string, attempt int) *remoteJob {
	return &remoteJob{id: id, runID: runID, taskID: taskID, attempt: attempt, done: make(chan struct{})}
}

// ended reports whether the job has its result or was given up.
func (j *remoteJob) ended() bool {
	select {
	case <-j.done:
		return true
	default:
		return false
	}
}

// finish ends the wait for a job, with its result or an error.
func (j *remoteJob) finish(res *protocol.Result, err error) {
	j.once.Do(func() {
		j.result, j.err = res, err
		close(j.done)
	})
}

// agentExec is an agent seen as an executor.
type agentExec struct {
	h    *Hub
	name string
}

var _ Executor = (*agentExec)(nil)

// Name is the agent's name.
func (x *agentExec) Name() string { return x.name }

// WorkspacePath is where the agent keeps a workspace.
func (x *agentExec) WorkspacePath(key string) string {
	x.h.mu.Lock()
	defer x.h.mu.Unlock()
	return path.Join(x.h.stateLocked(x.name).info.Workdir, key)
}

// PrepareWorkspace asks for the workspace to be emptied with its next job.
func (x *agentExec) PrepareWorkspace(_ context.Context, key string, clean bool) error {
	if clean {
		x.h.mu.Lock()
		x.h.stateLocked(x.name).clean[key] = true
		x.h.mu.Unlock()
	}
	return nil
}

// connectedLocked reports whether the agent has a connection that is not
// being cut off.
func (a *agentState) connectedLocked() bool {
	return a.sess != nil && !a.sess.cut.Load()
}

// usableLocked reports whether the agent may take a job now: connected,
// enabled, not draining.
func (a *agentState) usableLocked() bool {
	return a.connectedLocked() && !a.draining && a.info.State == model.AgentEnabled
}

// Gone reports that the agent is lost, draining or disabled.
func (x *agentExec) Gone() bool {
	x.h.mu.Lock()
	defer x.h.mu.Unlock()
	a := x.h.stateLocked(x.name)
	return a.lost || a.draining || a.info.State != model.AgentEnabled
}

// TryAcquire takes a slot if the agent is usable and has one free.
func (x *agentExec) TryAcquire() bool {
	x.h.mu.Lock()
	defer x.h.mu.Unlock()
	a := x.h.stateLocked(x.name)
	if !a.usableLocked() || a.used >= a.info.Slots {
		return false
	}
	a.used++
	return true
}

// Acquire waits for a free slot. While the agent is offline within its
// grace it waits for it to come back (the run's workspace is there); a
// lost, draining or disabled agent is errAgentGone.
func (x *agentExec) Acquire(ctx context.Context) error {
	for {
		x.h.mu.Lock()
		a := x.h.stateLocked(x.name)
		switch {
		case a.lost || a.draining || a.info.State != model.AgentEnabled:
			x.h.mu.Unlock()
			return errAgentGone
		case a.connectedLocked() && a.used < a.info.Slots:
			a.used++
			x.h.mu.Unlock()
			return nil
		case a.sess == nil:
			x.h.startGraceLocked(a)
		}
		wake := a.wake
		x.h.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

// Release gives a slot back.
func (x *agentExec) Release() {
	x.h.mu.Lock()
	a := x.h.stateLocked(x.name)
	if a.used > 0 {
		a.used--
	}
	a.wakeLocked()
	x.h.mu.Unlock()
	x.h.e.poke()
}

// releaseJob gives a job's slot back once.
func (x *agentExec) releaseJob(j *remoteJob) {
	x.h.mu.Lock()
	done := j.released
	j.released = true
	x.h.mu.Unlock()
	if !done {
		x.Release()
	}
}

// Execute sends a job to the agent and waits for its result. The job is
// recorded before it is sent, so that after a restart the server knows
// which agent holds it.
func (x *agentExec) Execute(ctx context.Context, job plugin.Job, sink plugin.Sink) plugin.Result {
	id := protocol.JobID(job.RunID, job.TaskID, job.Attempt)
	if err := x.h.e.store.CreateAgentJob(ctx, &model.AgentJob{JobID: id, RunID: job.RunID, TaskID: job.TaskID, Attempt: job.Attempt, Agent: x.name}); err != nil {
		x.Release()
		return plugin.Result{Err: err}
	}
	assign := &protocol.Assign{JobID: id, RunID: job.RunID, Composition: job.Composition, TaskID: job.TaskID, Attempt: job.Attempt,
		TaskType: job.Type, Fields: job.Fields, Env: job.Env, Context: job.Context, Workspace: job.WorkspaceKey, Secrets: job.Secrets}
	if tt, ok := x.h.e.cat.Lookup(job.Type); ok && tt.Plugin != nil {
		assign.Plugin = &protocol.PluginRef{Name: tt.Plugin.Name, Version: tt.Plugin.Version, Hash: tt.Plugin.Hash}
	}
	j := newRemoteJob(id, job.RunID, job.TaskID, job.Attempt)
	j.assign = assign
	x.h.mu.Lock()
	a := x.h.stateLocked(x.name)
	if a.clean[job.WorkspaceKey] {
		assign.Clean = true
		delete(a.clean, job.WorkspaceKey)
	}
	a.jobs[id] = j
	var sess *agentSession
	if a.connectedLocked() {
		sess, j.sent = a.sess, true
	}
	x.h.mu.Unlock()
	if sess != nil {
		sess.send(x.h, assign)
	}
	return x.wait(ctx, j)
}

// Resume waits for the result of a job the agent was running when this
// server last stopped. It is taken over from storage; the agent delivers
// it when it reconnects, or the grace runs out.
func (x *agentExec) Resume(ctx context.Context, runID int64, taskID string, attempt int) plugin.Result {
	id := protocol.JobID(runID, taskID, attempt)
	x.h.mu.Lock()
	a := x.h.stateLocked(x.name)
	j := a.jobs[id]
	if j == nil {
		j = newRemoteJob(id, runID, taskID, attempt)
		j.sent = true
		if rec, err := x.h.e.store.GetAgentJob(ctx, id); err == nil {
			j.queued, j.stored = rec.LogSeq, rec.LogSeq
		}
		a.jobs[id] = j
		a.used++
	}
	if a.sess == nil {
		x.h.startGraceLocked(a)
	}
	x.h.mu.Unlock()
	return x.wait(ctx, j)
}

// wait waits for a job's result. When ctx ends (cancel, timeout) the agent
// is told to stop the job, and its result is still awaited for a while.
func (x *agentExec) wait(ctx context.Context, j *remoteJob) plugin.Result {
	select {
	case <-j.done:
	case <-ctx.Done():
		x.cancel(j, context.Cause(ctx))
		select {
		case <-j.done:
		case <-time.After(15 * time.Second):
			x.releaseJob(j)
			return plugin.Result{Err: context.Cause(ctx)}
		}
	}
	x.releaseJob(j)
	if j.err != nil {
		return plugin.Result{Err: j.err}
	}
	r := j.result
	res := plugin.Result{Outputs: r.Outputs, Context: r.Context, ExitCode: r.ExitCode}
	switch {
	case r.NotRun:
		res.Err = &notRunError{msg: fmt.Sprintf("agent %s did not start the job: %s", x.name, r.Error)}
	case r.Error != "":
		res.Err = errors.New(r.Error)
	}
	return res
}

// cancel tells the agent to stop a job; an agent offline now is told when
// it comes back (welcome drops the job).
func (x *agentExec) cancel(j *remoteJob, cause error) {
	x.h.mu.Lock()
	j.cancelled = true
	var sess *agentSession
	if a := x.h.agents[x.name]; a != nil {
		sess = a.sess
	}
	x.h.mu.Unlock()
	if sess != nil {
		reason := "cancelled"
		if cause != nil {
			reason = cause.Error()
		}
		sess.send(x.h, &protocol.Cancel{JobID: j.id, Reason: reason})
	}
}

// ResultStored tells the agent that a job's result is committed, so it can
// forget the job, and forgets it here too.
func (x *agentExec) ResultStored(runID int64, taskID string, attempt int) {
	id := protocol.JobID(runID, taskID, attempt)
	x.h.mu.Lock()
	a := x.h.stateLocked(x.name)
	j := a.jobs[id]
	delete(a.jobs, id)
	sess := a.sess
	x.h.mu.Unlock()
	if j != nil && sess != nil {
		sess.send(x.h, &protocol.Ack{JobID: id, Seq: j.stored, Result: true})
	}
	x.h.e.store.DeleteAgentJob(context.Background(), id)
}

// lines stores the lines of a job, once each: lines already handed to the
// log writer are skipped, a gap is a protocol error.
func (h *Hub) lines(name string, m *protocol.Log) error {
	h.mu.Lock()
	a := h.agents[name]
	j := a.jobs[m.JobID]
	if j == nil {
		h.mu.Unlock()
		return nil // a job this server forgot (dropped); its lines are not wanted
	}
	first, last := m.Seq, m.Seq+int64(len(m.Lines))-1
	if first > j.queued+1 {
		h.mu.Unlock()
		return fmt.Errorf("lines of job %s jump from %d to %d", m.JobID, j.queued, first)
	}
	if last <= j.queued {
		stored := j.stored
		sess := a.sess
		h.mu.Unlock()
		if last <= stored && sess != nil { // all seen and stored: acknowledge again
			sess.send(h, &protocol.Ack{JobID: m.JobID, Seq: stored})
		}
		return nil
	}
	fresh := m.Lines[j.queued-first+1:]
	j.queued = last
	runID, taskID := j.runID, j.taskID
	h.mu.Unlock()

	lines := make([]model.LogLine, len(fresh))
	for i, l := range fresh {
		text := plugin.CapLine(l.Text)
		stream := model.Stream(l.Stream)
		if stream < model.Stdout || stream > model.System {
			stream = model.Stdout
		}
		lines[i] = model.LogLine{TaskID: taskID, Stream: stream, Time: l.Time, Text: text}
	}
	mark := model.JobMark{JobID: m.JobID, Seq: last}
	h.e.logs.WriteMarked(runID, lines, &mark, func() { h.linesStored(name, m.JobID, last) })
	return nil
}

// linesStored acknowledges a job's lines once they are committed.
func (h *Hub) linesStored(name, jobID string, seq int64) {
	h.mu.Lock()
	a := h.agents[name]
	var sess *agentSession
	if a != nil {
		if j := a.jobs[jobID]; j != nil && seq > j.stored {
			j.stored = seq
		}
		sess = a.sess
	}
	h.mu.Unlock()
	if sess != nil {
		sess.send(h, &protocol.Ack{JobID: jobID, Seq: seq})
	}
}

// result hands a job's result to the runner waiting for it. A result for a
// job already settled is acknowledged again.
func (h *Hub) result(name string, sess *agentSession, m *protocol.Result) error {
	h.mu.Lock()
	a := h.agents[name]
	j := a.jobs[m.JobID]
	if j == nil {
		h.mu.Unlock()
		if v := h.judge(context.Background(), name, m.JobID); v.stored {
			sess.send(h, &protocol.Ack{JobID: m.JobID, Seq: m.LogLines, Result: true})
		}
		return nil
	}
	if m.LogLines > j.queued {
		h.e.systemLog(j.runID, j.taskID, "agent %s reported %d lines but sent %d; the rest were lost", name, m.LogLines, j.queued)
	}
	h.mu.Unlock()
	j.finish(m, nil)
	return nil
}
