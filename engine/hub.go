package engine

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"sync"
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
}

// agentState is what the hub knows of one agent, connected or not.
type agentState struct {
	info      model.Agent
	sess      *agentSession // nil while offline
	instance  string        // the installation that last held the name (protocol.Hello.Instance); kept while offline
	draining  bool          // the agent said it is stopping
	used      int           // slots taken by jobs and reservations
	jobs      map[string]*remoteJob
	lostTimer *time.Timer // while offline: the end of the grace
	lost      bool        // offline past the grace
	wake      chan struct{}
	clean     map[string]bool // workspaces to empty with their next job
	seenSaved time.Time
	exec      *agentExec
}

// agentSession is one connection of an agent.
type agentSession struct {
	conn AgentConn
	out  chan []byte
	done chan struct{}
	once sync.Once
}

func newHub(e *Engine, cfg HubConfig) *Hub {
	if cfg.AgentTimeout <= 0 {
		cfg.AgentTimeout = 60 * time.Second
	}
	if cfg.AgentGrace <= 0 {
		cfg.AgentGrace = 5 * time.Minute
	}
	return &Hub{e: e, cfg: cfg, agents: map[string]*agentState{}}
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
		a = &agentState{info: model.Agent{Name: name, State: model.AgentEnabled, Slots: 1}, jobs: map[string]*remoteJob{},
			wake: make(chan struct{}), clean: map[string]bool{}}
		if stored, err := h.e.store.GetAgent(context.Background(), name); err == nil {
			a.info = *stored
			a.info.Online = false
		}
		a.exec = &agentExec{h: h, name: name}
		h.agents[name] = a
	}
	return a
}

// wakeLocked tells everyone waiting on the agent's slots or state to look again.
func (a *agentState) wakeLocked() {
	close(a.wake)
	a.wake = make(chan struct{})
}

// Serve talks with one agent until the connection ends.
func (h *Hub) Serve(conn AgentConn) {
	hello, err := h.readHello(conn)
	if err != nil {
		h.e.log.Warn("agent refused", "address", conn.RemoteAddr(), "err", err)
		return
	}
	refuse := func(other string) {
		msg := fmt.Sprintf("the name %s is taken by another agent (%s); two agents cannot share a name: give this one another --name, or stop the other", hello.Name, other)
		if data, err := protocol.Encode(&protocol.Error{Message: msg}); err == nil {
			conn.Send(data)
		}
		conn.Close("name in use")
		h.e.log.Warn("agent refused: its name is taken by another agent", "agent", hello.Name, "address", conn.RemoteAddr(), "other", other)
	}
	if other := h.nameTaken(hello); other != "" {
		refuse(other)
		return
	}
	sess := &agentSession{conn: conn, out: make(chan []byte, 1024), done: make(chan struct{})}
	welcome, pending, other := h.attach(hello, sess, conn.RemoteAddr())
	if other != "" { // another agent took the name meanwhile
		refuse(other)
		return
	}
	go sess.writeLoop(h, hello.Name)
	sess.send(h, welcome)
	for _, m := range pending {
		sess.send(h, m)
	}
	h.e.log.Info("agent connected", "agent", hello.Name, "address", conn.RemoteAddr(), "slots", hello.Slots, "held_jobs", len(hello.Jobs))
	h.e.poke()
	reason := h.readLoop(hello.Name, sess)
	h.detach(hello.Name, sess, reason)
}

// readHello reads and checks an agent's first message.
func (h *Hub) readHello(conn AgentConn) (*protocol.Hello, error) {
	data, err := conn.Recv()
	if err != nil {
		conn.Close("no hello")
		return nil, fmt.Errorf("no hello: %w", err)
	}
	msg, err := protocol.Decode(data)
	if err != nil {
		conn.Close("bad hello")
		return nil, err
	}
	hello, ok := msg.(*protocol.Hello)
	if !ok {
		conn.Close("the first message must be hello")
		return nil, fmt.Errorf("first message is %T, not hello", msg)
	}
	refuse := func(fatal bool, format string, args ...any) (*protocol.Hello, error) {
		msg := fmt.Sprintf(format, args...)
		if data, err := protocol.Encode(&protocol.Error{Message: msg, Fatal: fatal}); err == nil {
			conn.Send(data)
		}
		conn.Close(msg)
		return nil, errors.New(msg)
	}
	if hello.Version != protocol.Version {
		return refuse(true, "the agent speaks protocol version %d and this server version %d: run the same Baton version on both", hello.Version, protocol.Version)
	}
	if !agentName.MatchString(hello.Name) || hello.Name == "local" {
		return refuse(true, "agent name %q is not allowed: use 1 to 64 letters, digits, dots, dashes or underscores (and not \"local\")", hello.Name)
	}
	if hello.Slots < 1 {
		hello.Slots = 1
	}
	return hello, nil
}

// nameTaken describes the agent that holds hello's name when hello comes
// from another agent installation, or returns "". An installation holds
// its name while it is connected and, once gone, while jobs it was given
// still wait for it to come back (until the grace ends them as lost):
// another agent taking the name then would have them failed as lost while
// they may still be running. The same installation coming back (a new
// connection, or a restart from the same workdir) is not another; an
// agent that sends no instance is trusted, as before instances existed.
func (h *Hub) nameTaken(hello *protocol.Hello) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.nameTakenLocked(hello)
}

func (h *Hub) nameTakenLocked(hello *protocol.Hello) string {
	a := h.agents[hello.Name]
	if a == nil || a.instance == "" || hello.Instance == "" || a.instance == hello.Instance {
		return ""
	}
	if a.sess != nil {
		return fmt.Sprintf("connected from %s since %s", a.info.Address, a.info.ConnectedAt.Format(time.RFC3339))
	}
	for _, j := range a.jobs {
		if j.sent && !j.ended() {
			return fmt.Sprintf("offline since %s, its job %s waiting for it to come back", a.info.LastSeen.Format(time.RFC3339), j.id)
		}
	}
	return ""
}

// attach makes sess the agent's connection and works out the welcome:
// for every job the agent holds, whether to go on, forget it (its result
// is stored) or drop it. Jobs the hub gave the agent that it no longer
// holds are lost now. It returns the welcome and the assigns still to send,
// or, when another agent has taken the name since nameTaken looked, who.
func (h *Hub) attach(hello *protocol.Hello, sess *agentSession, addr string) (*protocol.Welcome, []any, string) {
	ctx := context.Background()
	now := time.Now()
	// Decide about held jobs from storage first, without the lock.
	verdicts := make(map[string]jobVerdict, len(hello.Jobs))
	for _, hj := range hello.Jobs {
		verdicts[hj.JobID] = h.judge(ctx, hello.Name, hj.JobID)
	}
	info := model.Agent{Name: hello.Name, Facts: hello.Facts, Labels: hello.Labels, Pools: hello.Pools, Slots: hello.Slots,
		Version: hello.AgentVersion, Workdir: hello.Workdir, Address: addr, ConnectedAt: now, LastSeen: now, Online: true}
	if err := h.e.store.AgentConnected(ctx, &info); err != nil {
		h.e.log.Error("could not record an agent", "agent", hello.Name, "err", err)
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	if other := h.nameTakenLocked(hello); other != "" {
		return nil, nil, other
	}
	a := h.stateLocked(hello.Name)
	if old := a.sess; old != nil {
		old.close("replaced by a new connection of the same agent")
	}
	a.sess, a.instance, a.draining, a.lost, a.seenSaved = sess, hello.Instance, hello.Draining, false, now
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
	return w, pending, ""
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

// send queues a message for the agent; a connection too slow to keep up is
// closed rather than let the queue grow.
func (s *agentSession) send(h *Hub, msg any) {
	data, err := protocol.Encode(msg)
	if err != nil {
		h.e.log.Error("could not encode a message for an agent", "err", err)
		return
	}
	select {
	case s.out <- data:
	case <-s.done:
	default:
		s.close("the agent does not read its messages fast enough")
	}
}

// heartbeat is the server's side of the application heartbeat.
var heartbeat, _ = protocol.Encode(&protocol.Heartbeat{})

func (s *agentSession) writeLoop(h *Hub, name string) {
	beat := time.NewTicker(protocol.HeartbeatInterval)
	defer beat.Stop()
	for {
		var data []byte
		select {
		case data = <-s.out:
		case <-beat.C:
			data = heartbeat
		case <-s.done:
			return
		}
		if err := s.conn.Send(data); err != nil {
			s.close("write failed: " + err.Error())
			return
		}
	}
}

func (s *agentSession) close(reason string) {
	s.once.Do(func() {
		close(s.done)
		s.conn.Close(reason)
	})
}
