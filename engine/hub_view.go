package engine

import (
	"context"
	"fmt"
	"sort"

	"baton/model"
)

// AgentView is an agent as pages and the API show it: what storage knows
// and what the hub sees now.
type AgentView struct {
	model.Agent
	Status    string   // online, offline, draining, disabled, lost
	SlotsUsed int      // slots taken now
	Jobs      []string // job ids running now
	Local     bool     // the server's own executor
}

// Agents lists every agent known to storage with its live state, and the
// server's own executor first.
func (e *Engine) Agents(ctx context.Context, stored []*model.Agent) []AgentView {
	var out []AgentView
	if l, ok := e.local.(*Local); ok {
		v := AgentView{Agent: model.Agent{Name: "local", Facts: e.localFacts, Slots: l.Slots(), State: model.AgentEnabled, Online: l.Slots() > 0},
			SlotsUsed: l.Used(), Local: true, Status: "online"}
		if l.Slots() == 0 {
			v.Status = "disabled"
		}
		out = append(out, v)
	}
	e.hub.mu.Lock()
	defer e.hub.mu.Unlock()
	for _, s := range stored {
		v := AgentView{Agent: *s, Status: "offline"}
		if a := e.hub.agents[s.Name]; a != nil {
			// A connection being cut off is not online any more.
			v.Online = a.connectedLocked()
			v.SlotsUsed = a.used
			v.LastSeen = a.info.LastSeen
			for id := range a.jobs {
				v.Jobs = append(v.Jobs, id)
			}
			sort.Strings(v.Jobs)
			switch {
			case a.lost:
				v.Status = "lost"
			case v.Online && a.draining:
				v.Status = "draining"
			case v.Online:
				v.Status = "online"
			}
		}
		switch s.State {
		case model.AgentDisabled:
			v.Status = "disabled"
		case model.AgentDraining:
			if v.Online {
				v.Status = "draining"
			}
		}
		out = append(out, v)
	}
	return out
}

// PatchAgent applies an operator's change (pools, labels, drain, disable,
// enable) and takes it into account for placing runs at once. Pools and
// labels that the agent token of the agent's connection does not allow
// are a *StateError, and nothing is changed: an agent connected with a
// limited token serves only what the token allows, whoever set it. (An
// agent given them while away is refused when it connects.)
func (e *Engine) PatchAgent(ctx context.Context, store interface {
	PatchAgent(ctx context.Context, name string, p model.AgentPatch) (*model.Agent, error)
}, name string, p model.AgentPatch) (*model.Agent, error) {
	h := e.hub
	h.mu.Lock()
	if st := h.agents[name]; st != nil && st.sess != nil {
		pools, labels := st.info.SetPools, st.info.SetLabels
		if p.Pools != nil {
			pools = *p.Pools
		}
		if p.Labels != nil {
			labels = *p.Labels
		}
		if what := notAllowed(st.sess.token, pools, labels); what != "" {
			h.mu.Unlock()
			return nil, &StateError{Msg: fmt.Sprintf("agent %s is connected with agent token %q, which does not allow %s (it allows %s): connect the agent with a token that allows it, then set it",
				name, st.sess.token.Name, what, ScopeText(st.sess.token))}
		}
	}
	h.mu.Unlock()
	a, err := store.PatchAgent(ctx, name, p)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	if st := h.agents[name]; st != nil {
		st.info.SetPools, st.info.SetLabels, st.info.State = a.SetPools, a.SetLabels, a.State
		if st.sess != nil {
			// The agent connected between the check above and the change.
			if r := h.setAllowedLocked(st, st.sess.token); r != nil {
				h.e.log.Warn("closing an agent's connection: an operator set a pool or label its agent token does not allow", "agent", name)
				h.cutOffLocked(st, r.msg)
			}
		}
		st.wakeLocked()
	}
	h.mu.Unlock()
	e.poke()
	return a, nil
}
