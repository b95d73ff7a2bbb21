package handlers

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"baton/engine"
	"baton/model"
	"baton/storage"
)

// Browser websockets. The default upgrader refuses a cross-origin page, so
// another site cannot ride a logged-in user's session. Both sockets read
// from the engine's bus through a bounded subscription: a browser that
// reads too slowly is dropped by the bus, and the socket catches up from
// storage, so a slow tab never slows the engine.
var upgrader = websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 32 << 10}

const (
	wsWriteWait  = 10 * time.Second
	wsPingPeriod = 30 * time.Second
	wsPongWait   = 75 * time.Second
	wsLineBatch  = 5000 // lines per message
	// wsRecheck is how often a browser websocket checks that the session
	// or API token it was opened with still logs in; a session ended
	// elsewhere (baton user passwd on the server's shell) closes its
	// sockets within this time.
	wsRecheck = 3 * time.Second
	// wsSessionEnded is the close code of a socket whose session or token
	// ended: the page reloads, which leads to the login form.
	wsSessionEnded = 4401
)

// socket is one browser websocket with its keep-alive.
type socket struct {
	conn   *websocket.Conn
	gone   chan struct{}   // closed when the browser went away
	ended  chan struct{}   // closed when the socket's session or token ended
	ctx    context.Context // ends when the browser went away or the session ended
	cancel context.CancelFunc
	// watched is closed when watchSession has returned: it reads the
	// request, which must not outlive the handler.
	watched chan struct{}
}

// newSocket starts the keep-alive of a browser websocket opened by r, and
// the watch on its session.
func (h *Handler) newSocket(conn *websocket.Conn, r *http.Request) *socket {
	ctx, cancel := context.WithCancel(context.Background())
	s := &socket{conn: conn, gone: make(chan struct{}), ended: make(chan struct{}), ctx: ctx, cancel: cancel, watched: make(chan struct{})}
	conn.SetReadLimit(4096)
	conn.SetReadDeadline(time.Now().Add(wsPongWait))
	conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(wsPongWait)) })
	go func() {
		defer close(s.gone)
		defer cancel()
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	go h.watchSession(r, s)
	return s
}

// watchSession closes s.ended once the session or API token that opened
// the socket no longer logs in as the same user: logged out, ended by a
// password change, the user removed, the token revoked. It checks every
// wsRecheck, and at once when this server ends sessions. A store that
// fails to answer keeps the socket open until the next check.
func (h *Handler) watchSession(r *http.Request, s *socket) {
	defer close(s.watched)
	was := currentUser(r)
	t := time.NewTicker(wsRecheck)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		case <-h.sessionsEnded.wait():
		}
		u, err := h.authenticate(r.WithContext(s.ctx), false)
		if err != nil {
			continue
		}
		if u == nil || was == nil || u.ID != was.ID {
			close(s.ended)
			s.cancel()
			return
		}
	}
}

func (s *socket) send(v any) error {
	s.conn.SetWriteDeadline(time.Now().Add(wsWriteWait))
	return s.conn.WriteJSON(v)
}

func (s *socket) ping() error {
	return s.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(wsWriteWait))
}

// close says goodbye, with the reason when the session ended, and closes
// the connection.
func (s *socket) close() {
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	select {
	case <-s.ended:
		msg = websocket.FormatCloseMessage(wsSessionEnded, "your session ended; log in again")
	default:
	}
	s.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	s.conn.Close()
	s.cancel()
	<-s.watched
}

// broadcast wakes everyone waiting on it, each time it rings.
type broadcast struct {
	mu sync.Mutex
	ch chan struct{}
}

// wait returns a channel that is closed at the next ring.
func (b *broadcast) wait() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch == nil {
		b.ch = make(chan struct{})
	}
	return b.ch
}

// ring wakes the current waiters.
func (b *broadcast) ring() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch != nil {
		close(b.ch)
		b.ch = nil
	}
}

// wsEvents tells a page when runs and tasks change, so it can refresh.
func (h *Handler) wsEvents(w http.ResponseWriter, r *http.Request) {
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	s := h.newSocket(conn, r)
	defer s.close()
	filter := func(ev *engine.Event) bool { return ev.Kind != engine.EventLog }
	sub := h.engine.Bus().Subscribe(64, filter)
	defer func() { sub.Cancel() }()
	ticker := time.NewTicker(wsPingPeriod)
	defer ticker.Stop()
	for {
		select {
		case <-s.gone:
			return
		case <-s.ended:
			return
		case <-ticker.C:
			if s.ping() != nil {
				return
			}
		case ev, ok := <-sub.C:
			msg := map[string]any{"kind": "resync"}
			if !ok {
				sub = h.engine.Bus().Subscribe(64, filter)
			} else {
				msg = busEventJSON(ev)
			}
			if s.send(msg) != nil {
				return
			}
		}
	}
}

func busEventJSON(ev engine.Event) map[string]any {
	m := map[string]any{"kind": string(ev.Kind), "run": ev.RunID, "composition": ev.Composition}
	switch {
	case ev.Run != nil:
		m["status"] = ev.Run.Status
		m["done"] = ev.Run.Status.Done()
	case ev.Task != nil:
		m["task"] = ev.Task.TaskID
		m["status"] = ev.Task.Status
	}
	return m
}

// runLive streams a run's log lines after ?after=SEQ, and its task and
// run changes, until the run ends.
func (h *Handler) runLive(w http.ResponseWriter, r *http.Request) {
	id, err := runID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	after, err := intParam(r.URL.Query().Get("after"), 0, 1<<62)
	if err != nil {
		h.fail(w, r, &badInput{"after: " + err.Error()})
		return
	}
	if _, err := h.store.GetRun(r.Context(), id); err != nil {
		h.fail(w, r, err)
		return
	}
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s := h.newSocket(conn, r)
	defer s.close()
	l := &liveRun{h: h, s: s, id: id, sent: int64(after)}
	l.stream()
}

// liveRun is the state of one run page's websocket.
type liveRun struct {
	h    *Handler
	s    *socket
	id   int64
	sent int64 // last line seq sent
}

func (l *liveRun) stream() {
	filter := func(ev *engine.Event) bool { return ev.RunID == l.id }
	// Subscribe before reading storage, so that no line falls between.
	sub := l.h.engine.Bus().Subscribe(256, filter)
	defer func() { sub.Cancel() }()
	if l.catchUp() != nil || l.endIfDone() {
		return
	}
	ticker := time.NewTicker(wsPingPeriod)
	defer ticker.Stop()
	for {
		select {
		case <-l.s.gone:
			return
		case <-l.s.ended:
			return
		case <-ticker.C:
			if l.s.ping() != nil {
				return
			}
		case ev, ok := <-sub.C:
			if !ok { // we fell behind: the bus dropped us
				sub = l.h.engine.Bus().Subscribe(256, filter)
				if l.catchUp() != nil || l.endIfDone() {
					return
				}
				continue
			}
			if l.handle(ev) != nil {
				return
			}
			if ev.Kind == engine.EventRun && ev.Run.Status.Done() {
				l.endIfDone()
				return
			}
		}
	}
}

func (l *liveRun) handle(ev engine.Event) error {
	switch ev.Kind {
	case engine.EventLog:
		if len(ev.Lines) == 0 || ev.Lines[len(ev.Lines)-1].Seq <= l.sent {
			return nil
		}
		if ev.Lines[0].Seq > l.sent+1 {
			return l.catchUp() // a gap: read it from storage
		}
		return l.sendLines(ev.Lines)
	case engine.EventTask:
		return l.s.send(map[string]any{"t": "task", "task": ev.Task.TaskID, "status": ev.Task.Status})
	case engine.EventRun:
		return nil // endIfDone or the panel refresh below covers it
	}
	return nil
}

// catchUp sends every stored line after the last one sent.
func (l *liveRun) catchUp() error {
	for {
		lines, err := l.h.store.ReadLogs(l.s.ctx, storage.LogQuery{RunID: l.id, After: l.sent, Limit: wsLineBatch})
		if err != nil {
			return err
		}
		if len(lines) == 0 {
			return nil
		}
		if err := l.sendLines(lines); err != nil {
			return err
		}
	}
}

// endIfDone finishes the stream of an ended run: remaining lines, then the
// run's final status. It reports whether the run has ended.
func (l *liveRun) endIfDone() bool {
	run, err := l.h.store.GetRun(l.s.ctx, l.id)
	if err != nil {
		return true
	}
	if !run.Status.Done() {
		l.s.send(map[string]any{"t": "run", "status": run.Status, "done": false})
		return false
	}
	l.catchUp()
	l.s.send(map[string]any{"t": "run", "status": run.Status, "done": true})
	return true
}

func (l *liveRun) sendLines(lines []model.LogLine) error {
	for len(lines) > 0 {
		n := min(len(lines), wsLineBatch)
		batch := make([][5]any, 0, n)
		for _, ln := range lines[:n] {
			if ln.Seq <= l.sent {
				continue
			}
			batch = append(batch, [5]any{ln.Seq, ln.TaskID, ln.Stream, ln.Time.UnixMilli(), ln.Text})
			l.sent = ln.Seq
		}
		if len(batch) > 0 {
			if err := l.s.send(map[string]any{"t": "lines", "lines": batch}); err != nil {
				return err
			}
		}
		lines = lines[n:]
	}
	return nil
}
