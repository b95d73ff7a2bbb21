package agentd

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"baton/protocol"
)

// testServer speaks the server side of the agent protocol, as strictly as
// the real server will: it stores each job's lines once and in order,
// acknowledges what it has stored, accepts a result only after every line
// and only once, and records every breach of the rules by the agent.
type testServer struct {
	t     testing.TB
	srv   *httptest.Server
	token string

	mu        sync.Mutex
	welcome   func(h *protocol.Hello) any // answer to hello; nil means the default welcome
	ignore    bool                        // read but neither store nor acknowledge anything
	noResAck  bool                        // store results but do not acknowledge them
	drop      []string                    // put in the next welcome's Drop
	plugins   map[string][]byte           // archives by hash
	onLog     func(c *testConn, id string, stored int64)
	jobs      map[string]*serverJob
	hellos    []*protocol.Hello
	facts     []map[string]any
	drains    int
	beats     int
	closes    []int // close codes the agent sent
	violation []string
	conn      *testConn // the current connection
	conns     int
}

// serverJob is what the server stored of a job.
type serverJob struct {
	lines    []protocol.Line
	received int // lines received, duplicates included
	result   *protocol.Result
	results  int // result messages received, duplicates included
}

// testConn is one agent connection, with the server's writes serialised.
type testConn struct {
	ws   *websocket.Conn
	wmu  sync.Mutex
	next map[string]int64 // the next line each job must send on this connection
}

func newTestServer(t testing.TB) *testServer {
	ts := &testServer{t: t, token: "secret", jobs: map[string]*serverJob{}, plugins: map[string][]byte{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/agents/connect", ts.serveAgent)
	mux.HandleFunc("GET /api/v1/agents/plugins/{hash}", ts.servePlugin)
	ts.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		ts.srv.CloseClientConnections()
		ts.srv.Close()
		ts.mu.Lock()
		defer ts.mu.Unlock()
		for _, v := range ts.violation {
			t.Errorf("protocol violation by the agent: %s", v)
		}
	})
	return ts
}

func (ts *testServer) authorized(r *http.Request) bool {
	return r.Header.Get("Authorization") == "Bearer "+ts.token
}

func (ts *testServer) servePlugin(w http.ResponseWriter, r *http.Request) {
	if !ts.authorized(r) {
		http.Error(w, "bad token", http.StatusUnauthorized)
		return
	}
	ts.mu.Lock()
	data, ok := ts.plugins[r.PathValue("hash")]
	ts.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Write(data)
}

func (ts *testServer) fail(format string, args ...any) {
	ts.violation = append(ts.violation, fmt.Sprintf(format, args...))
}

func (ts *testServer) serveAgent(w http.ResponseWriter, r *http.Request) {
	if !ts.authorized(r) {
		http.Error(w, "bad token", http.StatusUnauthorized)
		return
	}
	ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer ws.Close()
	ws.SetReadLimit(protocol.MaxMessageBytes)
	c := &testConn{ws: ws, next: map[string]int64{}}
	ws.SetCloseHandler(func(code int, text string) error {
		ts.mu.Lock()
		ts.closes = append(ts.closes, code)
		ts.mu.Unlock()
		return nil
	})
	msg, err := readAgent(ws)
	hello, ok := msg.(*protocol.Hello)
	if err != nil || !ok {
		ts.mu.Lock()
		ts.fail("first message is %T (%v), want hello", msg, err)
		ts.mu.Unlock()
		return
	}
	ts.mu.Lock()
	ts.hellos = append(ts.hellos, hello)
	ts.conns++
	answer := ts.answerLocked(hello, c)
	ts.conn = c
	ts.mu.Unlock()
	c.send(answer)
	if _, isErr := answer.(*protocol.Error); isErr {
		return
	}
	for {
		msg, err := readAgent(ws)
		if err != nil {
			return
		}
		ts.handle(c, msg)
	}
}

// answerLocked builds the answer to hello: what the server stored of each
// held job, and which it wants dropped.
func (ts *testServer) answerLocked(h *protocol.Hello, c *testConn) any {
	if ts.welcome != nil {
		if a := ts.welcome(h); a != nil {
			return a
		}
	}
	w := &protocol.Welcome{Version: protocol.Version, ServerVersion: "test", Acked: map[string]int64{}, Drop: ts.drop}
	ts.drop = nil
	for _, held := range h.Jobs {
		c.next[held.JobID] = 1
		sj, ok := ts.jobs[held.JobID]
		if !ok || slices.Contains(w.Drop, held.JobID) {
			continue
		}
		w.Acked[held.JobID] = int64(len(sj.lines))
		c.next[held.JobID] = int64(len(sj.lines)) + 1
		if sj.result != nil {
			w.ResultStored = append(w.ResultStored, held.JobID)
		}
	}
	return w
}

func readAgent(ws *websocket.Conn) (any, error) {
	kind, data, err := ws.ReadMessage()
	if err != nil {
		return nil, err
	}
	if kind != websocket.TextMessage {
		return nil, fmt.Errorf("binary frame")
	}
	return protocol.Decode(data)
}

func (c *testConn) send(msg any) error {
	data, err := protocol.Encode(msg)
	if err != nil {
		return err
	}
	return c.sendRaw(data)
}

func (c *testConn) sendRaw(data []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteMessage(websocket.TextMessage, data)
}

// cut drops the connection without a close frame, as a crash would.
func (c *testConn) cut() { c.ws.UnderlyingConn().Close() }

func (ts *testServer) handle(c *testConn, msg any) {
	ts.mu.Lock()
	var reply *protocol.Ack
	var hook func()
	switch m := msg.(type) {
	case *protocol.Log:
		sj := ts.job(m.JobID)
		if want, ok := c.next[m.JobID]; ok && m.Seq != want {
			ts.fail("job %s: log starts at line %d on this connection, want %d", m.JobID, m.Seq, want)
		}
		c.next[m.JobID] = m.Seq + int64(len(m.Lines))
		sj.received += len(m.Lines)
		if ts.ignore {
			break
		}
		for i, l := range m.Lines {
			switch seq := m.Seq + int64(i); {
			case seq == int64(len(sj.lines))+1:
				sj.lines = append(sj.lines, l)
			case seq > int64(len(sj.lines))+1:
				ts.fail("job %s: line %d after %d stored: a gap", m.JobID, seq, len(sj.lines))
			}
		}
		reply = &protocol.Ack{JobID: m.JobID, Seq: int64(len(sj.lines))}
		if ts.onLog != nil {
			onLog, stored := ts.onLog, int64(len(sj.lines))
			hook = func() { onLog(c, m.JobID, stored) }
		}
	case *protocol.Result:
		sj := ts.job(m.JobID)
		sj.results++
		if ts.ignore {
			break
		}
		if int64(len(sj.lines)) < m.LogLines {
			ts.fail("job %s: result with %d lines before all were stored (%d)", m.JobID, m.LogLines, len(sj.lines))
			break
		}
		if sj.result == nil {
			sj.result = m
		}
		if !ts.noResAck {
			reply = &protocol.Ack{JobID: m.JobID, Seq: int64(len(sj.lines)), Result: true}
		}
	case *protocol.Facts:
		ts.facts = append(ts.facts, m.Facts)
	case *protocol.Drain:
		ts.drains++
	case *protocol.Heartbeat:
		ts.beats++
	default:
		ts.fail("unexpected %T after hello", msg)
	}
	ts.mu.Unlock()
	if reply != nil {
		c.send(reply)
	}
	if hook != nil {
		hook()
	}
}

// job returns the server's record of a job, creating it; ts.mu must be held.
func (ts *testServer) job(id string) *serverJob {
	sj, ok := ts.jobs[id]
	if !ok {
		sj = &serverJob{}
		ts.jobs[id] = sj
	}
	return sj
}

// assign sends a job to the connected agent and expects it on the
// connection from line 1.
func (ts *testServer) assign(a *protocol.Assign) {
	ts.t.Helper()
	c := ts.waitConn()
	ts.mu.Lock()
	c.next[a.JobID] = 1
	ts.job(a.JobID)
	ts.mu.Unlock()
	if err := c.send(a); err != nil {
		ts.t.Fatalf("assign: %v", err)
	}
}

// waitConn returns the current connection once there is one.
func (ts *testServer) waitConn() *testConn {
	ts.t.Helper()
	var c *testConn
	ts.waitFor("an agent connection", func() bool { c = ts.conn; return c != nil })
	return c
}

// waitFor polls cond, under ts.mu, until it holds.
func (ts *testServer) waitFor(what string, cond func() bool) {
	ts.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ts.mu.Lock()
		ok := cond()
		ts.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			ts.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitResult waits for the stored result of a job.
func (ts *testServer) waitResult(id string) *protocol.Result {
	ts.t.Helper()
	var res *protocol.Result
	ts.waitFor("the result of "+id, func() bool {
		if sj, ok := ts.jobs[id]; ok {
			res = sj.result
		}
		return res != nil
	})
	return res
}

// lineTexts returns the stored lines of a job.
func (ts *testServer) lineTexts(id string) []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	var out []string
	if sj, ok := ts.jobs[id]; ok {
		for _, l := range sj.lines {
			out = append(out, l.Text)
		}
	}
	return out
}
