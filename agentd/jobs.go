package agentd

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"baton/plugin"
	"baton/protocol"
)

// jobState is where a held job is in its life.
type jobState int

const (
	jobWaiting jobState = iota // taken; fetching its plugin or waiting for a slot
	jobRunning                 // holds a slot
	jobEnded                   // its result is held until the server stores it
)

// job is a job the agent holds: running, or ended with output the server
// has not stored yet.
type job struct {
	id     string
	out    *outbox
	cancel context.CancelCauseFunc // nil for a job loaded from disk

	// Guarded by Agent.mu.
	state   jobState
	result  *protocol.Result // set when ended
	dropped bool             // forgotten while running; its end is not reported
	lost    *lostJob         // loaded from disk, repaired once welcome says what the server has

	// What the current connection has sent; guarded by Agent.mu and reset
	// by every welcome.
	sent       int64   // last line sent
	resultSent bool    // the result was sent
	inflight   []batch // log messages sent and not yet acknowledged
}

// batch is one log message in flight.
type batch struct {
	last  int64 // its last line
	bytes int64
}

// jobMeta is the .job file of an outbox: it marks a job as held from the
// moment it is taken, so an agent restarted after a crash knows which
// jobs it was running.
type jobMeta struct {
	JobID string    `json:"job_id"`
	Taken time.Time `json:"taken"`
}

// assign takes a job from the server. A job already held is ignored; a
// draining agent answers at once with an error result.
func (a *Agent) assign(msg *protocol.Assign) {
	a.mu.Lock()
	if _, held := a.jobs[msg.JobID]; held {
		a.mu.Unlock()
		a.log.Info("ignoring an assign for a job this agent already holds", "job", msg.JobID)
		return
	}
	j := a.addJobLocked(msg.JobID)
	draining := a.draining
	ctx, cancel := context.WithCancelCause(a.jobsCtx)
	j.cancel = cancel
	if !draining {
		a.jobsWG.Add(1)
	}
	a.mu.Unlock()

	if err := writeFileAtomic(j.out.path+".job", jobMeta{JobID: j.id, Taken: time.Now().UTC()}); err != nil {
		a.log.Warn("cannot record the job on disk; its output is lost if the agent crashes", "job", j.id, "err", err)
	}
	if draining {
		a.log.Warn("refusing a job: the agent is draining", "job", j.id)
		cancel(nil)
		a.finish(j, &protocol.Result{JobID: j.id, ExitCode: -1, NotRun: true, Error: "agent is draining: it takes no new jobs"})
		return
	}
	a.log.Info("job taken", "job", j.id, "type", msg.TaskType)
	go a.runJob(ctx, j, msg)
}

// addJobLocked starts holding a job; a.mu must be held.
func (a *Agent) addJobLocked(id string) *job {
	j := &job{id: id, out: newOutbox(filepath.Join(a.outboxDir, fileKey(id)), a.mem)}
	a.jobs[id] = j
	a.order = append(a.order, j)
	return j
}

// runJob runs one job to its end and records its result. A panic in the
// agent or a runner becomes the job's error.
func (a *Agent) runJob(ctx context.Context, j *job, msg *protocol.Assign) {
	defer a.jobsWG.Done()
	defer j.cancel(nil) // release the context
	var res *protocol.Result
	defer func() {
		if p := recover(); p != nil {
			a.log.Error("job panicked", "job", j.id, "panic", p, "stack", string(debug.Stack()))
			res = &protocol.Result{ExitCode: -1, Error: fmt.Sprintf("internal error in the agent: %v", p)}
		}
		res.JobID = j.id
		a.finish(j, res)
	}()
	res = a.execute(ctx, j, msg)
}

// execute fetches the job's plugin, waits for a slot, prepares the
// workspace and runs the job.
func (a *Agent) execute(ctx context.Context, j *job, msg *protocol.Assign) *protocol.Result {
	fail := func(err error) *protocol.Result {
		if ctx.Err() != nil {
			err = context.Cause(ctx)
		}
		return &protocol.Result{ExitCode: -1, Error: err.Error()}
	}
	reg := a.reg
	if msg.Plugin != nil {
		var err error
		if reg, err = a.plugins.registryFor(ctx, msg.Plugin); err != nil {
			res := fail(err)
			res.NotRun = true // the task never started; the server may place it elsewhere
			return res
		}
	}
	select {
	case a.slots <- struct{}{}:
	default:
		a.log.Warn("job assigned beyond the agent's slots; it waits for a free one (the server should not do that)", "job", j.id, "slots", a.cfg.Slots)
		select {
		case a.slots <- struct{}{}:
		case <-ctx.Done():
			return fail(context.Cause(ctx))
		}
	}
	defer func() { <-a.slots }()
	a.setState(j, jobRunning)

	dir, err := a.prepareWorkspace(msg.Workspace, msg.Clean)
	if err != nil {
		return fail(err)
	}
	if msg.TimeoutMS > 0 {
		d := time.Duration(msg.TimeoutMS) * time.Millisecond
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, d, fmt.Errorf("timed out after %s", d))
		defer cancel()
	}
	key := fileKey(j.id)
	pj := plugin.Job{
		RunID: msg.RunID, Composition: msg.Composition, TaskID: msg.TaskID, Attempt: msg.Attempt,
		Type: msg.TaskType, Fields: msg.Fields, Env: msg.Env, Context: msg.Context,
		Workdir: dir, Secrets: msg.Secrets,
		OnStart: func(pid int) {
			if err := a.leftovers.Record(key, pid); err != nil {
				a.log.Warn("cannot record the job's process group", "job", j.id, "err", err)
			}
		},
	}
	defer a.leftovers.Forget(key)
	var spillWarned atomic.Bool
	sink := func(stream plugin.Stream, at time.Time, text string) {
		if _, err := j.out.append(uint8(stream), at, text); err != nil && !spillWarned.Swap(true) {
			a.log.Error("cannot spill log lines to disk; they stay in memory", "job", j.id, "err", err)
		}
		a.wake()
	}
	r := reg.Run(ctx, pj, sink)
	res := &protocol.Result{ExitCode: r.ExitCode, Outputs: r.Outputs, Context: r.Context}
	if r.Err != nil {
		res.Error = r.Err.Error()
		if ctx.Err() != nil {
			res.Error = context.Cause(ctx).Error()
		}
	}
	return res
}

// prepareWorkspace makes the workspace directory of key, emptied first
// when clean, and returns its path. The key comes from the server and is
// not trusted: plugin.PrepareWorkspace refuses any key that does not name
// a real directory strictly inside the workspaces directory.
func (a *Agent) prepareWorkspace(key string, clean bool) (string, error) {
	return plugin.PrepareWorkspace(a.workspace, key, clean)
}

// setState moves a job along.
func (a *Agent) setState(j *job, s jobState) {
	a.mu.Lock()
	j.state = s
	a.mu.Unlock()
}

// finish records a job's result on disk and queues it for the server,
// after every line of the job.
func (a *Agent) finish(j *job, res *protocol.Result) {
	res.LogLines = j.out.lines()
	if err := j.out.finish(res); err != nil {
		a.log.Warn("cannot write the job's result to disk; it is lost if the agent crashes before delivering it", "job", j.id, "err", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	j.state, j.result = jobEnded, res
	if j.dropped {
		j.out.remove()
		return
	}
	a.log.Info("job ended", "job", j.id, "exit_code", res.ExitCode, "err", res.Error, "lines", res.LogLines)
	a.wake()
}

// cancelJob stops a job at the server's request; its result still follows.
func (a *Agent) cancelJob(msg *protocol.Cancel) {
	a.mu.Lock()
	defer a.mu.Unlock()
	j, ok := a.jobs[msg.JobID]
	if !ok || j.cancel == nil || j.state == jobEnded {
		a.log.Debug("cancel for a job that is not running", "job", msg.JobID)
		return
	}
	why := "cancelled by the server"
	if msg.Reason != "" {
		why += ": " + msg.Reason
	}
	a.log.Info("cancelling job", "job", j.id, "reason", msg.Reason)
	j.cancel(errors.New(why))
}

// dropLocked kills a job if it runs and forgets it without reporting its
// end; a.mu must be held.
func (a *Agent) dropLocked(j *job) {
	a.log.Info("dropping job: the server no longer wants it", "job", j.id)
	j.dropped = true
	if j.cancel != nil {
		j.cancel(errors.New("dropped by the server"))
	}
	if j.state == jobEnded {
		j.out.remove()
	}
	a.unlistLocked(j)
}

// forgetLocked forgets a job whose result the server has stored; a.mu
// must be held.
func (a *Agent) forgetLocked(j *job) {
	if j.state != jobEnded {
		return
	}
	j.out.remove()
	a.unlistLocked(j)
}

// unlistLocked removes a job from the held jobs.
func (a *Agent) unlistLocked(j *job) {
	delete(a.jobs, j.id)
	for i, o := range a.order {
		if o == j {
			a.order = append(a.order[:i], a.order[i+1:]...)
			break
		}
	}
	if a.sess != nil {
		a.sess.inflightBytes -= inflightBytes(j.inflight)
		j.inflight = nil
	}
	select {
	case a.forgotten <- struct{}{}:
	default:
	}
}

// ack applies the server's acknowledgement of a job's lines or result.
func (a *Agent) ack(s *session, msg *protocol.Ack) {
	a.mu.Lock()
	defer a.mu.Unlock()
	j, ok := a.jobs[msg.JobID]
	if !ok || a.sess != s {
		return
	}
	if msg.Seq > j.sent && !msg.Result {
		a.log.Warn("the server acknowledged lines the agent has not sent", "job", j.id, "seq", msg.Seq, "sent", j.sent)
	}
	j.out.ack(msg.Seq)
	n := 0
	for n < len(j.inflight) && j.inflight[n].last <= msg.Seq {
		s.inflightBytes -= j.inflight[n].bytes
		n++
	}
	j.inflight = j.inflight[n:]
	if msg.Result {
		if j.state != jobEnded {
			a.log.Warn("the server acknowledged the result of a job still running; ignoring", "job", j.id)
		} else {
			a.forgetLocked(j)
		}
	}
	a.wake()
}

func inflightBytes(bs []batch) int64 {
	var n int64
	for _, b := range bs {
		n += b.bytes
	}
	return n
}

// heldLocked lists the held jobs for hello; a.mu must be held.
func (a *Agent) heldLocked() []protocol.HeldJob {
	var out []protocol.HeldJob
	for _, j := range a.order {
		h := protocol.HeldJob{JobID: j.id, Running: j.state != jobEnded, LogLines: j.out.lines()}
		if j.result != nil {
			h.LogLines = j.result.LogLines
		}
		out = append(out, h)
	}
	return out
}

// runningLocked returns the jobs not yet ended and how many hold a slot;
// a.mu must be held.
func (a *Agent) runningLocked() (ids []string, slots int) {
	for _, j := range a.order {
		if j.state != jobEnded {
			ids = append(ids, j.id)
		}
		if j.state == jobRunning {
			slots++
		}
	}
	return ids, slots
}

// fileKey turns a job id into a file name: every byte other than an ASCII
// letter, digit, - or _ becomes %XX, so "12/build/1" is "12%2Fbuild%2F1".
func fileKey(id string) string {
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// jobIDOf undoes fileKey; a name it did not make is returned as it is.
func jobIDOf(key string) string {
	if id, err := url.PathUnescape(key); err == nil {
		return id
	}
	return key
}
