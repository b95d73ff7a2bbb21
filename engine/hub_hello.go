package engine

import (
	"errors"
	"fmt"
	"time"

	"baton/protocol"
)

// reserve holds a name while one hello of it is checked, so that two
// connections of one agent, or a removal, cannot interleave with it; the
// caller calls release unless attach takes over. A name being checked
// already is refused (not fatal: the agent retries). It returns the count
// of the agent's credential resets so far, for attach.
func (h *Hub) reserve(name string) (resets int, release func(), busy *refusal) {
	h.mu.Lock()
	defer h.mu.Unlock()
	a := h.stateLocked(name)
	if a.admitting {
		return 0, nil, &refusal{msg: fmt.Sprintf("another connection of agent %s is being set up; this one retries", name)}
	}
	if a.removing {
		return 0, nil, &refusal{msg: fmt.Sprintf("agent %s is being removed; this connection retries, and registers the name anew once it is free", name)}
	}
	a.admitting = true
	return a.resets, func() {
		h.mu.Lock()
		a.admitting = false
		if a.lost && a.sess == nil && len(a.jobs) == 0 && h.agents[name] == a {
			// Unknown to storage and refused: forget it, so that hellos
			// with made-up names do not pile up. Nothing waits on a lost
			// agent.
			delete(h.agents, name)
		}
		h.mu.Unlock()
	}, nil
}

// resetSinceLocked refuses a hello whose credential was checked before
// the agent's credential was reset (resets is the count reserve saw): the
// check may have passed a credential that is revoked now. Not fatal: the
// agent's next hello is checked afresh, and refused for good if its
// credential is the one reset.
func (h *Hub) resetSinceLocked(a *agentState, resets int) *refusal {
	if a.resets == resets {
		return nil
	}
	return &refusal{msg: fmt.Sprintf("the credential of agent %s was reset while this connection was set up; it retries and its credential is checked again", a.info.Name)}
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

// busyLocked describes why an agent that proved its credential cannot take
// its connection now, or returns nil: it is connected and was heard from
// within protocol.StaleSession. That connection is this agent's previous
// one, not yet seen to be dead, or another machine runs with a copy of its
// workdir; either way the newcomer retries.
func (h *Hub) busyLocked(a *agentState) *refusal {
	if !a.connectedLocked() || time.Since(a.info.LastSeen) >= protocol.StaleSession {
		return nil
	}
	return &refusal{msg: fmt.Sprintf("agent %s is already connected from %s since %s. If that is this agent's previous connection, the server drops it once it has been silent for %s and this agent gets in then (it retries). If another machine runs with a copy of this agent's workdir, stop one of them: two machines cannot share an agent's identity",
		a.info.Name, a.info.Address, a.info.ConnectedAt.Format(time.RFC3339), protocol.StaleSession)}
}
