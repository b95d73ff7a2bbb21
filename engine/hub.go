package engine

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"baton/model"
	"baton/protocol"
)

// AgentConn is one websocket to an agent, as the HTTP layer hands it over:
// it reads and writes whole frames and keeps the connection's deadlines.
// Recv and Send are each called from one goroutine at a time.
type AgentConn interface {
	Recv() ([]byte, error)
	Send(data []byte) error
	Close(reason string)
	RemoteAddr() string
}

// HubConfig sets how the hub treats agents that go quiet.
type HubConfig struct {
	// AgentTimeout: an agent silent this long is offline (default 60 s).
	AgentTimeout time.Duration
	// AgentGrace: the jobs of an agent offline this long fail with
	// agent_lost and may be retried elsewhere (default 5 min).
	AgentGrace time.Duration
	// AgentExpire: an agent not seen this long (and with no job waiting
	// for it) is removed, its name freed; 0 keeps agents until an operator
	// removes them.
	AgentExpire time.Duration
	// RevokeCheck: how often the hub looks for agent tokens revoked by
	// another process, to close their agents' connections (default 500 ms).
	RevokeCheck time.Duration
}

// Hub keeps the agents connected to this server: their sessions, slots
// and the jobs they run. Agents are executors like the local one; the hub
// speaks protocol with them, writes their lines into the runs' logs and
// hands their results to the runners.
type Hub struct {
	e   *Engine
	cfg HubConfig

	mu     sync.Mutex
	agents map[string]*agentState
	// sessions numbers the agents' connections in the order they are made.
	sessions atomic.Int64
}

// agentState is what the hub knows of one agent, connected or not.
type agentState struct {
	info      model.Agent
	sess      *agentSession // nil while offline
	admitting bool          // a hello of this name is being checked; another waits
	removing  bool          // the agent is being removed; a hello waits
	draining  bool          // the agent said it is stopping
	used      int           // slots taken by jobs and reservations
	jobs      map[string]*remoteJob
	lostTimer *time.Timer // while offline: the end of the grace
	lost      bool        // offline past the grace
	wake      chan struct{}
	clean     map[string]bool // workspaces to empty with their next job
	seenSaved time.Time
	exec      *agentExec
	// resets counts the credential resets of the agent: a hello checked
	// before one must not take its connection after it.
	resets int
}

func newHub(e *Engine, cfg HubConfig) *Hub {
	if cfg.AgentTimeout <= 0 {
		cfg.AgentTimeout = 60 * time.Second
	}
	if cfg.AgentGrace <= 0 {
		cfg.AgentGrace = 5 * time.Minute
	}
	if cfg.RevokeCheck <= 0 {
		cfg.RevokeCheck = 500 * time.Millisecond
	}
	return &Hub{e: e, cfg: cfg, agents: map[string]*agentState{}}
}

// start runs the hub's background work until ctx ends: closing the
// connections of revoked tokens and expiring agents long gone.
func (h *Hub) start(ctx context.Context) {
	go h.watchTokens(ctx)
	if h.cfg.AgentExpire > 0 {
		go h.expireLoop(ctx)
	}
}

// Timeout is how long an agent may stay silent; the HTTP layer sets its
// read deadline from it.
func (h *Hub) Timeout() time.Duration { return h.cfg.AgentTimeout }

// agentName is what an agent may call itself.
var agentName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// state returns the hub's record of an agent, creating it from storage (or
// empty) the first time. Call with h.mu held.
func (h *Hub) stateLocked(name string) *agentState {
	a := h.agents[name]
	if a == nil {
		a = h.newStateLocked(name)
		stored, err := h.e.store.GetAgent(context.Background(), name)
		switch {
		case err == nil:
			a.info = *stored
			a.info.Online = false
		case errors.Is(err, model.ErrNotFound):
			// Never registered, or removed: a run that names it must move.
			// Its first hello makes it present.
			a.lost = true
		}
	}
	return a
}

// newStateLocked makes the hub's record of an agent, empty, and keeps it.
func (h *Hub) newStateLocked(name string) *agentState {
	a := &agentState{info: model.Agent{Name: name, State: model.AgentEnabled, Slots: 1}, jobs: map[string]*remoteJob{},
		wake: make(chan struct{}), clean: map[string]bool{}}
	a.exec = &agentExec{h: h, name: name}
	h.agents[name] = a
	return a
}

// wakeLocked tells everyone waiting on the agent's slots or state to look again.
func (a *agentState) wakeLocked() {
	close(a.wake)
	a.wake = make(chan struct{})
}

// Serve talks with one agent, connected with the agent token tok, until
// the connection ends. The hello must prove the agent's name with its
// credential and keep within what tok allows; see protocol's Identity.
// tok must have been read from storage before Serve is called: the hub
// takes a token missing from a later reading as revoked.
func (h *Hub) Serve(conn AgentConn, tok *model.AgentToken) {
	hello, err := h.readHello(conn)
	if err != nil {
		h.e.log.Warn("agent refused", "address", conn.RemoteAddr(), "err", err)
		return
	}
	// refuse logs the refusal (the one place it is logged), then tells
	// the agent and closes the connection.
	refuse := func(r *refusal) {
		if r.err != nil {
			h.e.log.Error("agent refused: the server failed", "agent", hello.Name, "address", conn.RemoteAddr(), "token", tok.Name, "reason", r.msg, "err", r.err)
		} else {
			h.e.log.Warn("agent refused", "agent", hello.Name, "address", conn.RemoteAddr(), "token", tok.Name, "reason", r.msg, "fatal", r.fatal)
		}
		if data, err := protocol.Encode(&protocol.Error{Message: r.msg, Fatal: r.fatal}); err == nil {
			conn.Send(data)
		}
		conn.Close("refused: " + r.msg)
	}
	resets, release, busy := h.reserve(hello.Name)
	if busy != nil {
		refuse(busy)
		return
	}
	if r := h.admit(context.Background(), hello, tok); r != nil {
		release()
		refuse(r)
		return
	}
	sess := newAgentSession(conn, tok, h.sessions.Add(1))
	welcome, pending, busy := h.attach(hello, sess, conn.RemoteAddr(), resets)
	if busy != nil {
		refuse(busy)
		return
	}
	go sess.writeLoop(h, hello.Name)
	sess.send(h, welcome)
	for _, m := range pending {
		sess.send(h, m)
	}
	h.e.log.Info("agent connected", "agent", hello.Name, "address", conn.RemoteAddr(), "slots", hello.Slots, "held_jobs", len(hello.Jobs), "token", tok.Name)
	h.e.poke()
	reason := h.readLoop(hello.Name, sess)
	h.detach(hello.Name, sess, reason)
}

// attach makes sess the agent's connection, in place of a stale one, and
// works out the welcome: for every job the agent holds, whether to go on,
// forget it (its result is stored) or drop it. Jobs the hub gave the agent
// that it no longer holds are lost now. It returns the welcome and the
// assigns still to send, or why the agent cannot take its connection now.
// It ends the reservation of the name; resets is what reserve returned.
func (h *Hub) attach(hello *protocol.Hello, sess *agentSession, addr string, resets int) (*protocol.Welcome, []any, *refusal) {
	ctx := context.Background()
	now := time.Now()
	// Decide about held jobs from storage first, without the lock.
	verdicts := make(map[string]jobVerdict, len(hello.Jobs))
	for _, hj := range hello.Jobs {
		verdicts[hj.JobID] = h.judge(ctx, hello.Name, hj.JobID)
	}
	h.mu.Lock()
	a := h.stateLocked(hello.Name)
	busy := h.busyLocked(a)
	if busy == nil {
		busy = h.resetSinceLocked(a, resets)
	}
	if busy == nil {
		busy = h.setAllowedLocked(a, sess.token)
	}
	if busy != nil {
		a.admitting = false
		h.mu.Unlock()
		return nil, nil, busy
	}
	h.mu.Unlock()
	info := model.Agent{Name: hello.Name, Facts: hello.Facts, Labels: hello.Labels, Pools: hello.Pools, Slots: hello.Slots,
		Version: hello.AgentVersion, Workdir: hello.Workdir, Address: addr, ConnectedAt: now, LastSeen: now, Online: true}
	if err := h.e.store.AgentConnected(ctx, &info); err != nil {
		h.e.log.Error("could not record an agent", "agent", hello.Name, "err", err)
	}

	h.mu.Lock()
	busy = h.resetSinceLocked(a, resets)
	if busy == nil {
		// An operator's change since the claim checked the record.
		busy = h.setAllowedLocked(a, sess.token)
	}
	if busy != nil {
		// Reset, or given what its token does not allow, while the
		// connection was recorded: record it gone again, still holding the
		// name so that no newer hello's record is undone.
		h.mu.Unlock()
		err := h.e.store.AgentDisconnected(ctx, hello.Name, now, busy.msg)
		h.mu.Lock()
		a.admitting = false
		h.mu.Unlock()
		if err != nil {
			h.e.log.Error("could not record an agent going away", "agent", hello.Name, "err", err)
		}
		return nil, nil, busy
	}
	defer h.mu.Unlock()
	a.admitting = false
	if old := a.sess; old != nil {
		h.e.log.Warn("replacing an agent's silent connection with its new one", "agent", hello.Name, "silent_for", time.Since(a.info.LastSeen).Round(time.Second))
		old.close("replaced by a new connection of the same agent")
	}
	a.sess, a.draining, a.lost, a.seenSaved = sess, hello.Draining, false, now
	if a.lostTimer != nil {
		a.lostTimer.Stop()
		a.lostTimer = nil
	}
	info.SetLabels, info.SetPools, info.State = a.info.SetLabels, a.info.SetPools, a.info.State
	if info.State == "" {
		info.State = model.AgentEnabled
	}
	a.info = info

	w := &protocol.Welcome{Version: protocol.Version, ServerVersion: h.e.version, Acked: map[string]int64{}}
	held := map[string]bool{}
	for _, hj := range hello.Jobs {
		held[hj.JobID] = true
		v := verdicts[hj.JobID]
		j := a.jobs[hj.JobID]
		switch {
		case j != nil && j.cancelled:
			w.Drop = append(w.Drop, hj.JobID)
			j.finish(nil, errCancelled)
		case v.keep:
			if j == nil {
				// Known from storage but not waited for (yet): keep its
				// lines and result until the resumed runner asks.
				j = newRemoteJob(hj.JobID, v.runID, v.taskID, v.attempt)
				j.sent, j.queued, j.stored = true, v.logSeq, v.logSeq
				a.jobs[hj.JobID] = j
				a.used++
			}
			j.sent = true
			w.Acked[hj.JobID] = j.stored
		case v.stored:
			w.ResultStored = append(w.ResultStored, hj.JobID)
		default:
			w.Drop = append(w.Drop, hj.JobID)
		}
	}
	var pending []any
	for id, j := range a.jobs {
		switch {
		case !j.sent && j.assign != nil:
			pending = append(pending, j.assign)
			j.sent = true
		case j.sent && !held[id] && j.result == nil:
			j.finish(nil, fmt.Errorf("agent_lost: agent %s came back without job %s (it restarted and lost it)", hello.Name, id))
		}
	}
	sort.Strings(w.Drop)
	a.wakeLocked()
	return w, pending, nil
}

// jobVerdict says what to do with a job an agent holds.
type jobVerdict struct {
	keep, stored bool
	runID        int64
	taskID       string
	attempt      int
	logSeq       int64
}

// judge decides about one held job from the state of its task: the task
// still runs this attempt on this agent (keep), the attempt has ended (its
// result is stored), or anything else (drop).
func (h *Hub) judge(ctx context.Context, agent, jobID string) jobVerdict {
	runID, taskID, attempt, err := protocol.ParseJobID(jobID)
	if err != nil {
		return jobVerdict{}
	}
	v := jobVerdict{runID: runID, taskID: taskID, attempt: attempt}
	tasks, err := h.e.store.GetTasks(ctx, runID)
	if err != nil {
		return v
	}
	for _, t := range tasks {
		if t.TaskID != taskID {
			continue
		}
		switch {
		case t.Attempt == attempt && t.Status.Done():
			v.stored = true
		case t.Attempt == attempt && t.Status == model.TaskRunning && t.Agent == agent:
			v.keep = true
			if j, err := h.e.store.GetAgentJob(ctx, jobID); err == nil {
				v.logSeq = j.LogSeq
			}
		}
	}
	return v
}

// detach records that a connection ended. The agent's jobs wait for it
// for the grace period.
func (h *Hub) detach(name string, sess *agentSession, reason string) {
	sess.close(reason)
	h.mu.Lock()
	a := h.agents[name]
	if a == nil || a.sess != sess {
		h.mu.Unlock()
		return // a newer connection took over
	}
	a.sess = nil
	a.info.Online = false
	lastSeen := a.info.LastSeen
	h.startGraceLocked(a)
	a.wakeLocked()
	h.mu.Unlock()
	if err := h.e.store.AgentDisconnected(context.Background(), name, lastSeen, reason); err != nil {
		h.e.log.Error("could not record an agent going away", "agent", name, "err", err)
	}
	h.e.log.Warn("agent disconnected; its jobs wait for it to come back", "agent", name, "reason", reason, "grace", h.cfg.AgentGrace)
	h.e.poke()
}

// startGraceLocked arms the end of an offline agent's grace, once.
func (h *Hub) startGraceLocked(a *agentState) {
	if a.lostTimer != nil || a.lost {
		return
	}
	name := a.info.Name
	a.lostTimer = time.AfterFunc(h.cfg.AgentGrace, func() { h.lose(name) })
}

// lose fails the jobs of an agent that did not come back in time.
func (h *Hub) lose(name string) {
	h.mu.Lock()
	a := h.agents[name]
	if a == nil || a.sess != nil {
		h.mu.Unlock()
		return
	}
	a.lost, a.lostTimer = true, nil
	n := 0
	for id, j := range a.jobs {
		if j.result == nil {
			j.finish(nil, fmt.Errorf("agent_lost: agent %s went away and did not come back within %s", name, h.cfg.AgentGrace))
			n++
		}
		delete(a.jobs, id)
	}
	a.used = 0
	a.wakeLocked()
	h.mu.Unlock()
	if n > 0 {
		h.e.log.Warn("agent lost; its jobs failed", "agent", name, "jobs", n)
	}
	h.e.poke()
}

// readLoop handles an agent's messages until the connection fails; it
// returns why it ended.
func (h *Hub) readLoop(name string, sess *agentSession) string {
	for {
		data, err := sess.conn.Recv()
		if err != nil {
			return "connection ended: " + err.Error()
		}
		msg, err := protocol.Decode(data)
		if err != nil {
			h.e.log.Warn("closing an agent's connection: bad message", "agent", name, "err", err)
			return "protocol error: " + err.Error()
		}
		if err := h.handle(name, sess, msg); err != nil {
			h.e.log.Warn("closing an agent's connection", "agent", name, "err", err)
			return "protocol error: " + err.Error()
		}
	}
}

// handle acts on one message of a connected agent.
func (h *Hub) handle(name string, sess *agentSession, msg any) error {
	h.mu.Lock()
	a := h.agents[name]
	if a == nil || a.sess != sess {
		h.mu.Unlock()
		return errors.New("connection replaced")
	}
	now := time.Now()
	a.info.LastSeen = now
	saveSeen := now.Sub(a.seenSaved) > time.Minute
	if saveSeen {
		a.seenSaved = now
	}
	h.mu.Unlock()
	if saveSeen {
		h.e.store.AgentSeen(context.Background(), name, now, nil)
	}
	switch m := msg.(type) {
	case *protocol.Log:
		return h.lines(name, m)
	case *protocol.Result:
		return h.result(name, sess, m)
	case *protocol.Heartbeat:
		return nil
	case *protocol.Facts:
		h.mu.Lock()
		a.info.Facts = m.Facts
		h.mu.Unlock()
		h.e.store.AgentSeen(context.Background(), name, now, m.Facts)
		h.e.poke()
		return nil
	case *protocol.Drain:
		h.mu.Lock()
		a.draining = true
		a.wakeLocked()
		h.mu.Unlock()
		h.e.log.Info("agent is draining: it takes no new jobs", "agent", name)
		return nil
	}
	return fmt.Errorf("an agent may not send %T", msg)
}
