package engine

import (
	"sync"
	"sync/atomic"
	"time"

	"baton/model"
	"baton/protocol"
)

// agentSession is one connection of an agent.
type agentSession struct {
	conn  AgentConn
	token *model.AgentToken // the agent token it connected with
	seq   int64             // its place in the order connections are made (its token was read before)
	out   chan []byte
	done  chan struct{}
	once  sync.Once
	// cut is set when the connection is being closed for good (token
	// revoked, credential reset): nothing more is sent but the fatal error
	// in last, and the agent is given no job.
	cut  atomic.Bool
	last chan string
}

func newAgentSession(conn AgentConn, token *model.AgentToken, seq int64) *agentSession {
	return &agentSession{conn: conn, token: token, seq: seq, out: make(chan []byte, 1024), done: make(chan struct{}), last: make(chan string, 1)}
}

// send queues a message for the agent; a connection too slow to keep up is
// closed rather than let the queue grow. A connection being cut off gets
// nothing more.
func (s *agentSession) send(h *Hub, msg any) {
	if s.cut.Load() {
		return
	}
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
		case why := <-s.last:
			if data, err := protocol.Encode(&protocol.Error{Message: why, Fatal: true}); err == nil {
				s.conn.Send(data)
			}
			s.close(why)
			return
		case data = <-s.out:
		case <-beat.C:
			data = heartbeat
		case <-s.done:
			return
		}
		if s.cut.Load() {
			continue // only the fatal error goes out now
		}
		if err := s.conn.Send(data); err != nil {
			s.close("write failed: " + err.Error())
			return
		}
	}
}

// cutOff closes the connection for good: the writer sends the agent a
// fatal error saying why, then closes; a writer stuck on a peer that reads
// nothing is cut short within half a second.
func (s *agentSession) cutOff(why string) {
	if s.cut.Swap(true) {
		return
	}
	s.last <- why
	time.AfterFunc(500*time.Millisecond, func() { s.close(why) })
}

func (s *agentSession) close(reason string) {
	s.once.Do(func() {
		close(s.done)
		s.conn.Close(reason)
	})
}
