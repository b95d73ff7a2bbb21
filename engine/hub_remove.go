package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"baton/model"
)

// errAgentBusy: the agent has jobs waiting for it, so expiry leaves it.
var errAgentBusy = errors.New("the agent has jobs waiting for it")

// remove deletes an agent that is not connected, its record and the hub's
// state, so that its name is free; its jobs still waiting fail with why.
// Without force an agent with jobs waiting is left (errAgentBusy). The
// agent is marked as being removed while its record is deleted, without
// the hub's lock: a hello of the name is refused meanwhile, so none
// interleaves with the removal, and other agents are served on.
func (h *Hub) remove(ctx context.Context, name string, force bool, why string) error {
	h.mu.Lock()
	a := h.agents[name]
	if a != nil && (a.sess != nil || a.admitting) {
		h.mu.Unlock()
		return &StateError{Msg: fmt.Sprintf("agent %s is connected: stop it first (drain it to let its jobs finish), then remove it; or reset its credential, which disconnects it for good", name)}
	}
	if a != nil && a.removing {
		h.mu.Unlock()
		return &StateError{Msg: fmt.Sprintf("agent %s is being removed already", name)}
	}
	if a != nil && !force {
		for _, j := range a.jobs {
			if !j.ended() {
				h.mu.Unlock()
				return errAgentBusy
			}
		}
	}
	made := a == nil
	if made {
		// Kept for the removal, to carry the mark.
		a = h.newStateLocked(name)
	}
	a.removing = true
	h.mu.Unlock()

	err := h.e.store.DeleteAgent(ctx, name)

	h.mu.Lock()
	a.removing = false
	if err != nil {
		// The record stays, and so does the hub's state; one made for the
		// removal goes, to be read from storage next time.
		if made && len(a.jobs) == 0 && a.sess == nil && h.agents[name] == a {
			delete(h.agents, name)
		}
		h.mu.Unlock()
		return err
	}
	n := 0
	for _, j := range a.jobs {
		if !j.ended() {
			j.finish(nil, errors.New(why))
			n++
		}
	}
	if a.lostTimer != nil {
		a.lostTimer.Stop()
	}
	// Whoever still holds this state (a run waiting for a slot) sees the
	// agent gone; the next look at the name starts afresh from storage.
	a.lost, a.lostTimer, a.jobs, a.used = true, nil, map[string]*remoteJob{}, 0
	a.wakeLocked()
	if h.agents[name] == a {
		delete(h.agents, name)
	}
	h.mu.Unlock()
	if n > 0 {
		h.e.log.Warn("the removed agent's jobs failed", "agent", name, "jobs", n)
	}
	h.e.poke()
	return nil
}

// expireLoop removes, every so often, the agents not seen for
// AgentExpire that are not connected and have no job waiting for them.
func (h *Hub) expireLoop(ctx context.Context) {
	every := min(max(h.cfg.AgentExpire/4, 250*time.Millisecond), 10*time.Minute)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		names, err := h.e.store.StaleAgents(ctx, time.Now().Add(-h.cfg.AgentExpire))
		if err != nil {
			if ctx.Err() == nil {
				h.e.log.Error("could not look for agents to expire", "err", err)
			}
			continue
		}
		for _, name := range names {
			err := h.remove(ctx, name, false, fmt.Sprintf("agent_lost: agent %s expired", name))
			var state *StateError
			switch {
			case err == nil:
				h.e.log.Info("agent expired: not seen for longer than --agent-expire; its name is free", "agent", name, "expire", h.cfg.AgentExpire)
			case errors.Is(err, errAgentBusy), errors.As(err, &state), errors.Is(err, model.ErrNotFound):
			default:
				if ctx.Err() == nil {
					h.e.log.Error("could not expire an agent", "agent", name, "err", err)
				}
			}
		}
	}
}
