package handlers

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"baton/auth"
	"baton/model"
	"baton/protocol"
)

// Agents are not browsers: their websocket authenticates with a bearer
// agent token, which a page of another site cannot send, so any origin is
// accepted.
var agentUpgrader = websocket.Upgrader{
	ReadBufferSize:  32 << 10,
	WriteBufferSize: 32 << 10,
	CheckOrigin:     func(*http.Request) bool { return true },
}

// agentAuth checks an agent token.
func (h *Handler) agentAuth(r *http.Request) (*model.AgentToken, error) {
	token, ok := bearerToken(r)
	if !ok {
		return nil, nil
	}
	t, err := h.store.AgentTokenByHash(r.Context(), auth.HashToken(token))
	if errors.Is(err, model.ErrNotFound) {
		return nil, nil
	}
	return t, err
}

// agentTokenKey holds the agent token of a request requireAgent let in.
type agentTokenKey struct{}

// requestAgentToken returns the agent token requireAgent checked.
func requestAgentToken(r *http.Request) *model.AgentToken {
	t, _ := r.Context().Value(agentTokenKey{}).(*model.AgentToken)
	return t
}

// requireAgent lets a request through with a valid agent token.
func (h *Handler) requireAgent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, err := h.agentAuth(r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if t == nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="baton agents"`)
			writeJSON(w, http.StatusUnauthorized, apiError{Error: "agent token required: create one with `baton agent-token create` on the server and pass it with --token"})
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), agentTokenKey{}, t)))
	})
}

// agentConnect hands an agent's websocket to the hub for as long as it lasts.
func (h *Handler) agentConnect(w http.ResponseWriter, r *http.Request) {
	tok := requestAgentToken(r)
	if tok == nil { // requireAgent guards the route; never serve without a token
		writeJSON(w, http.StatusUnauthorized, apiError{Error: "agent token required"})
		return
	}
	c, err := agentUpgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	conn := newAgentConn(c, h.engine.Hub().Timeout(), r.RemoteAddr)
	defer conn.Close("server closed the connection")
	h.engine.Hub().Serve(conn, tok)
}

// agentPlugin sends a plugin, by content hash, to an agent that lacks it.
func (h *Handler) agentPlugin(w http.ResponseWriter, r *http.Request) {
	p, ok := h.engine.Catalog().PluginByHash(r.PathValue("hash"))
	if !ok {
		writeJSON(w, http.StatusNotFound, apiError{Error: "no plugin with hash " + r.PathValue("hash") + " on this server"})
		return
	}
	data, err := p.Archive()
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/gzip")
	w.Write(data)
}

// agentConn is an agent's websocket as the hub sees it: whole frames, a
// read deadline of the agent timeout renewed by every message and pong,
// pings every protocol.PingInterval, and a read limit.
type agentConn struct {
	c       *websocket.Conn
	timeout time.Duration
	addr    string
	wmu     sync.Mutex
	stop    chan struct{}
	once    sync.Once
}

func newAgentConn(c *websocket.Conn, timeout time.Duration, addr string) *agentConn {
	a := &agentConn{c: c, timeout: timeout, addr: addr, stop: make(chan struct{})}
	c.SetReadLimit(protocol.MaxMessageBytes)
	c.SetPongHandler(func(string) error { return c.SetReadDeadline(time.Now().Add(timeout)) })
	go func() {
		t := time.NewTicker(protocol.PingInterval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				if c.WriteControl(websocket.PingMessage, nil, time.Now().Add(10*time.Second)) != nil {
					return
				}
			case <-a.stop:
				return
			}
		}
	}()
	return a
}

// Recv reads the next text frame.
func (a *agentConn) Recv() ([]byte, error) {
	a.c.SetReadDeadline(time.Now().Add(a.timeout))
	typ, data, err := a.c.ReadMessage()
	if err != nil {
		return nil, err
	}
	if typ != websocket.TextMessage {
		return nil, errors.New("binary frame: the protocol uses text frames")
	}
	return data, nil
}

// Send writes one text frame.
func (a *agentConn) Send(data []byte) error {
	a.wmu.Lock()
	defer a.wmu.Unlock()
	a.c.SetWriteDeadline(time.Now().Add(30 * time.Second))
	return a.c.WriteMessage(websocket.TextMessage, data)
}

// Close says why and closes the connection.
func (a *agentConn) Close(reason string) {
	a.once.Do(func() {
		close(a.stop)
		if len(reason) > 120 {
			reason = reason[:120]
		}
		code := websocket.CloseNormalClosure
		if strings.HasPrefix(reason, "protocol error") {
			code = websocket.CloseProtocolError
		}
		a.c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
		a.c.Close()
	})
}

// RemoteAddr is the agent's address.
func (a *agentConn) RemoteAddr() string { return a.addr }
