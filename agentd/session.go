package agentd

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"baton/protocol"
)

// writeTimeout bounds one websocket write; a server that reads nothing
// for that long is gone.
const writeTimeout = 30 * time.Second

// session is one connection to the server, from hello on.
type session struct {
	a    *Agent
	conn *websocket.Conn
	// inflightBytes is what log messages sent and not yet acknowledged
	// weigh; guarded by Agent.mu.
	inflightBytes int64
	rr            int // the job the writer looks at first; writer only
}

// connect opens one connection, says hello and serves it until it fails
// or ctx ends. A refused token is ErrTokenRefused, a fatal refusal by the
// server a *FatalError; any other error is worth a reconnect.
func (a *Agent) connect(ctx context.Context) error {
	dialer := websocket.Dialer{Proxy: http.ProxyFromEnvironment, HandshakeTimeout: writeTimeout}
	header := http.Header{"Authorization": {"Bearer " + a.cfg.Token}}
	conn, resp, err := dialer.DialContext(ctx, a.wsURL, header)
	if err != nil {
		if resp != nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
				return ErrTokenRefused
			}
			return fmt.Errorf("connect to %s: the server answered %s", a.wsURL, resp.Status)
		}
		return fmt.Errorf("connect to %s: %w", a.wsURL, err)
	}
	defer conn.Close()
	conn.SetReadLimit(protocol.MaxMessageBytes)
	s := &session{a: a, conn: conn}

	// From hello on, changes (facts, drain) are queued for this
	// connection, so nothing falls between hello and welcome.
	a.mu.Lock()
	hello, err := protocol.Encode(a.helloLocked())
	a.sess, a.control = s, nil
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		a.sess, a.control = nil, nil
		a.mu.Unlock()
	}()
	if err != nil {
		return fmt.Errorf("encode hello: %w", err)
	}
	if err := s.write(hello); err != nil {
		return fmt.Errorf("send hello: %w", err)
	}
	conn.SetReadDeadline(time.Now().Add(protocol.PongTimeout))
	msg, err := s.read()
	if err != nil {
		return fmt.Errorf("wait for welcome: %w", err)
	}
	switch m := msg.(type) {
	case *protocol.Error:
		if m.Fatal {
			return &FatalError{Msg: "the server refused the agent: " + m.Message}
		}
		return fmt.Errorf("the server refused the agent: %s", m.Message)
	case *protocol.Welcome:
		if m.Version != protocol.Version {
			s.close(websocket.CloseProtocolError, "protocol version mismatch")
			return versionMismatch(m.Version)
		}
		a.mu.Lock()
		a.welcomeLocked(m)
		a.mu.Unlock()
		a.log.Info("connected to the server", "server", a.httpBase, "server_version", m.ServerVersion, "name", a.cfg.Name)
	default:
		return s.protocolError(fmt.Sprintf("expected welcome, got %T", msg))
	}
	return s.serve(ctx)
}

// helloLocked builds hello from the agent's state; a.mu must be held.
func (a *Agent) helloLocked() *protocol.Hello {
	return &protocol.Hello{
		Version:      protocol.Version,
		AgentVersion: a.cfg.Version,
		Name:         a.cfg.Name,
		Credential:   a.credential,
		Facts:        a.facts,
		Labels:       a.cfg.Labels,
		Pools:        a.cfg.Pools,
		Slots:        a.cfg.Slots,
		Workdir:      a.workspace,
		Plugins:      a.plugins.hashes(),
		Jobs:         a.heldLocked(),
		Draining:     a.draining,
	}
}

// serve runs the reader and the writer until either fails or ctx ends.
func (s *session) serve(ctx context.Context) error {
	conn := s.conn
	alive := func() { conn.SetReadDeadline(time.Now().Add(protocol.PongTimeout)) }
	conn.SetPongHandler(func(string) error { alive(); return nil })
	conn.SetPingHandler(func(data string) error {
		alive()
		err := conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeTimeout))
		if errors.Is(err, websocket.ErrCloseSent) {
			return nil
		}
		return err
	})
	alive()
	done := make(chan struct{})
	readErr, writeErr := make(chan error, 1), make(chan error, 1)
	go func() { readErr <- s.readLoop() }()
	go func() { writeErr <- s.writeLoop(done) }()
	var err error
	select {
	case err = <-readErr:
		close(done)
		conn.Close()
		<-writeErr
	case err = <-writeErr:
		conn.Close()
		<-readErr
	case <-ctx.Done():
		s.close(websocket.CloseGoingAway, "agent stopping")
		close(done)
		conn.Close()
		<-readErr
		<-writeErr
	}
	return err
}

// readLoop handles the server's messages until the connection fails.
func (s *session) readLoop() error {
	for {
		msg, err := s.read()
		if err != nil {
			return err
		}
		s.conn.SetReadDeadline(time.Now().Add(protocol.PongTimeout))
		if err := s.handle(msg); err != nil {
			return err
		}
	}
}

// read reads and decodes one message. A message the agent cannot use
// closes the connection with the reason.
func (s *session) read() (any, error) {
	kind, data, err := s.conn.ReadMessage()
	switch {
	case errors.Is(err, websocket.ErrReadLimit):
		return nil, &protocolError{reason: fmt.Sprintf("the server sent a message over %d bytes", protocol.MaxMessageBytes)}
	case err != nil:
		return nil, err
	case kind != websocket.TextMessage:
		return nil, s.protocolError("binary frame")
	}
	msg, err := protocol.Decode(data)
	if err != nil {
		return nil, s.protocolError(err.Error())
	}
	return msg, nil
}

// handle acts on one message from the server after welcome.
func (s *session) handle(msg any) error {
	a := s.a
	switch m := msg.(type) {
	case *protocol.Assign:
		a.assign(m)
	case *protocol.Ack:
		a.ack(s, m)
	case *protocol.Cancel:
		a.cancelJob(m)
	case *protocol.Heartbeat:
	case *protocol.Error:
		if m.Fatal {
			return &FatalError{Msg: "the server closed the connection: " + m.Message}
		}
		return fmt.Errorf("the server closed the connection: %s", m.Message)
	default:
		return s.protocolError(fmt.Sprintf("unexpected %T from the server", msg))
	}
	return nil
}

// protocolError closes the connection, telling the server why.
func (s *session) protocolError(reason string) error {
	s.close(websocket.CloseProtocolError, reason)
	return &protocolError{reason: reason}
}

// close sends a close frame; the reason is cut to what a frame holds.
func (s *session) close(code int, reason string) {
	const max = 123
	if len(reason) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(reason[cut]) {
			cut--
		}
		reason = reason[:cut]
	}
	s.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
}

// write sends one encoded message.
func (s *session) write(data []byte) error {
	s.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	return s.conn.WriteMessage(websocket.TextMessage, data)
}

// writeLoop sends what there is to send, pings and heartbeats, until done
// is closed or a write fails.
func (s *session) writeLoop(done <-chan struct{}) error {
	ping := time.NewTicker(protocol.PingInterval)
	defer ping.Stop()
	beat := time.NewTicker(protocol.HeartbeatInterval)
	defer beat.Stop()
	for {
		if err := s.flush(); err != nil {
			return err
		}
		select {
		case <-done:
			return nil
		case <-s.a.kick:
		case <-ping.C:
			if err := s.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeTimeout)); err != nil {
				return err
			}
		case <-beat.C:
			s.a.mu.Lock()
			ids, used := s.a.runningLocked()
			s.a.mu.Unlock()
			data, err := protocol.Encode(&protocol.Heartbeat{SlotsUsed: used, Jobs: ids})
			if err != nil {
				return err
			}
			if err := s.write(data); err != nil {
				return err
			}
		}
	}
}

// flush sends queued messages, then the jobs' lines and results, until
// nothing is left or the send window is full.
func (s *session) flush() error {
	for {
		data, err := s.next()
		if err != nil || data == nil {
			return err
		}
		if err := s.write(data); err != nil {
			return err
		}
	}
}

// next returns the next message to send, encoded, or nil: queued messages
// first, then one log message or result per job in turn.
func (s *session) next() ([]byte, error) {
	a := s.a
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sess != s {
		return nil, nil
	}
	if len(a.control) > 0 {
		msg := a.control[0]
		a.control = a.control[1:]
		return protocol.Encode(msg)
	}
	n := len(a.order)
	for i := range n {
		j := a.order[(s.rr+i)%n]
		if data := s.nextOf(j); data != nil {
			s.rr = (s.rr + i + 1) % n
			return data, nil
		}
	}
	return nil, nil
}

// nextOf returns the job's next log message or its result, encoded, or
// nil; a.mu must be held.
func (s *session) nextOf(j *job) []byte {
	if j.lost != nil || j.dropped {
		return nil
	}
	from := max(j.sent, j.out.ackedUpTo()) + 1
	if from <= j.out.lines() {
		if s.inflightBytes >= s.a.window {
			return nil
		}
		lines, err := j.out.read(from, protocol.MaxLogBytes)
		if err != nil || len(lines) == 0 {
			s.a.log.Error("cannot read the job's log lines to send them", "job", j.id, "line", from, "err", err)
			return nil
		}
		data, n := encodeLog(j.id, from, lines)
		j.sent = from + int64(n) - 1
		j.inflight = append(j.inflight, batch{last: j.sent, bytes: int64(len(data))})
		s.inflightBytes += int64(len(data))
		return data
	}
	if j.state == jobEnded && j.result != nil && !j.resultSent {
		data, err := protocol.Encode(j.result)
		if err != nil {
			s.a.log.Error("cannot encode the job's result", "job", j.id, "err", err)
			return nil
		}
		j.resultSent = true
		return data
	}
	return nil
}

// encodeLog encodes a log message of the given lines, or of as many of
// the first ones as fit in protocol.MaxMessageBytes once escaped,
// cut to what was encoded and their number returned. A single line too
// large even alone (it cannot be: runners cut lines at
// plugin.MaxLineBytes) is cut short.
func encodeLog(id string, seq int64, lines []protocol.Line) ([]byte, int) {
	for {
		data, err := protocol.Encode(&protocol.Log{JobID: id, Seq: seq, Lines: lines})
		if err == nil {
			return data, len(lines)
		}
		if len(lines) > 1 {
			lines = lines[:len(lines)/2]
			continue
		}
		l := lines[0]
		l.Text = l.Text[:len(l.Text)/2] + " [cut: too long to send]"
		lines = []protocol.Line{l}
	}
}
