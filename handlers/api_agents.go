package handlers

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"baton/auth"
	"baton/engine"
	"baton/model"
)

type agentJSON struct {
	Name        string            `json:"name"`
	Status      string            `json:"status"`
	State       string            `json:"state"`
	Local       bool              `json:"local,omitempty"`
	Facts       map[string]any    `json:"facts"`
	Labels      map[string]string `json:"labels"`
	Pools       []string          `json:"pools"`
	SetLabels   map[string]string `json:"set_labels,omitempty"`
	SetPools    []string          `json:"set_pools,omitempty"`
	Slots       int               `json:"slots"`
	SlotsUsed   int               `json:"slots_used"`
	Jobs        []string          `json:"jobs,omitempty"`
	Version     string            `json:"version,omitempty"`
	Address     string            `json:"address,omitempty"`
	ConnectedAt *time.Time        `json:"connected_at,omitempty"`
	LastSeen    *time.Time        `json:"last_seen,omitempty"`
	LastError   string            `json:"last_error,omitempty"`
	// Registered: a credential holds the agent's name (see docs/agents.md).
	Registered   bool       `json:"registered"`
	RegisteredAt *time.Time `json:"registered_at,omitempty"`
	TokenID      int64      `json:"token_id,omitempty"`
}

func toAgentJSON(v engine.AgentView) agentJSON {
	j := agentJSON{Name: v.Name, Status: v.Status, State: string(v.State), Local: v.Local, Facts: v.Facts, Labels: v.AllLabels(),
		Pools: v.AllPools(), SetLabels: v.SetLabels, SetPools: v.SetPools, Slots: v.Slots, SlotsUsed: v.SlotsUsed, Jobs: v.Jobs,
		Version: v.Version, Address: v.Address, ConnectedAt: timePtr(v.ConnectedAt), LastSeen: timePtr(v.LastSeen), LastError: v.LastError,
		Registered: v.Registered, RegisteredAt: timePtr(v.RegisteredAt), TokenID: v.TokenID}
	if j.Facts == nil {
		j.Facts = map[string]any{}
	}
	if j.Pools == nil {
		j.Pools = []string{}
	}
	return j
}

// agentViews reads every agent with its live state.
func (h *Handler) agentViews(r *http.Request) ([]engine.AgentView, error) {
	stored, err := h.store.ListAgents(r.Context())
	if err != nil {
		return nil, err
	}
	return h.engine.Agents(r.Context(), stored), nil
}

func (h *Handler) apiAgentList(w http.ResponseWriter, r *http.Request) {
	views, err := h.agentViews(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]agentJSON, len(views))
	for i, v := range views {
		out[i] = toAgentJSON(v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"agents": out})
}

// agentView finds one agent by name, "local" included.
func (h *Handler) agentView(r *http.Request, name string) (engine.AgentView, error) {
	views, err := h.agentViews(r)
	if err != nil {
		return engine.AgentView{}, err
	}
	for _, v := range views {
		if v.Name == name {
			return v, nil
		}
	}
	return engine.AgentView{}, fmt.Errorf("agent %s: %w", name, model.ErrNotFound)
}

func (h *Handler) apiAgentGet(w http.ResponseWriter, r *http.Request) {
	v, err := h.agentView(r, r.PathValue("name"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toAgentJSON(v))
}

var labelKey = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,63}$`)

// agentPatch checks an operator's change to an agent.
type agentPatchJSON struct {
	Pools  *[]string          `json:"pools"`
	Labels *map[string]string `json:"labels"`
	State  *string            `json:"state"`
}

func (p agentPatchJSON) check() (model.AgentPatch, error) {
	var out model.AgentPatch
	if p.Pools != nil {
		for _, pool := range *p.Pools {
			if !labelKey.MatchString(pool) {
				return out, &badInput{fmt.Sprintf("pool %q: use 1 to 63 letters, digits, dots, dashes or underscores", pool)}
			}
		}
		out.Pools = p.Pools
	}
	if p.Labels != nil {
		for k := range *p.Labels {
			if !labelKey.MatchString(k) {
				return out, &badInput{fmt.Sprintf("label %q: use 1 to 63 letters, digits, dots, dashes or underscores", k)}
			}
		}
		out.Labels = p.Labels
	}
	if p.State != nil {
		st := model.AgentState(*p.State)
		if st != model.AgentEnabled && st != model.AgentDraining && st != model.AgentDisabled {
			return out, &badInput{fmt.Sprintf("state %q: use enabled, draining or disabled", *p.State)}
		}
		out.State = &st
	}
	return out, nil
}

func (h *Handler) apiAgentPatch(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if name == "local" {
		h.fail(w, r, &badInput{"the server's own executor is set with --local-slots, not here"})
		return
	}
	var req agentPatchJSON
	if err := decodeBody(w, r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	patch, err := req.check()
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if _, err := h.engine.PatchAgent(r.Context(), h.store, name, patch); err != nil {
		h.fail(w, r, err)
		return
	}
	v, err := h.agentView(r, name)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toAgentJSON(v))
}

// apiAgentDelete removes an agent that is not connected.
func (h *Handler) apiAgentDelete(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if name == "local" {
		h.fail(w, r, &badInput{"the server's own executor cannot be removed; --local-slots 0 turns it off"})
		return
	}
	if err := h.engine.RemoveAgent(r.Context(), name); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// apiAgentCredentialReset revokes an agent's credential: its connection
// closes and the name is free to register again.
func (h *Handler) apiAgentCredentialReset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if name == "local" {
		h.fail(w, r, &badInput{"the server's own executor has no credential"})
		return
	}
	if err := h.engine.ResetCredential(r.Context(), name); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type agentTokenJSON struct {
	ID          int64             `json:"id"`
	Name        string            `json:"name"`
	Prefix      string            `json:"prefix"`
	Token       string            `json:"token,omitempty"` // only when created
	CreatedAt   time.Time         `json:"created_at"`
	LastUsed    *time.Time        `json:"last_used_at,omitempty"`
	NamePattern string            `json:"name_pattern,omitempty"`
	Pools       []string          `json:"pools,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
}

func toAgentTokenJSON(t *model.AgentToken) agentTokenJSON {
	return agentTokenJSON{ID: t.ID, Name: t.Name, Prefix: t.Prefix, CreatedAt: t.CreatedAt, LastUsed: timePtr(t.LastUsedAt),
		NamePattern: t.NamePattern, Pools: t.Pools, Labels: t.Labels}
}

// newAgentToken checks a token's name and limits, makes the token and
// stores it. A bad input is a *badInput naming the field.
func (h *Handler) newAgentToken(r *http.Request, t *model.AgentToken) (string, *model.AgentToken, error) {
	t.Name = strings.TrimSpace(t.Name)
	if t.Name == "" || len(t.Name) > 100 {
		return "", nil, &badInput{"name: give the token a name of at most 100 characters, such as build-agents"}
	}
	if err := engine.CheckTokenScope(t); err != nil {
		return "", nil, &badInput{err.Error()}
	}
	token, hash, prefix := auth.NewToken()
	t.Prefix = prefix
	stored, err := h.store.CreateAgentToken(r.Context(), t, hash)
	return token, stored, err
}

func (h *Handler) apiAgentTokenCreate(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name        string            `json:"name"`
		NamePattern string            `json:"name_pattern"`
		Pools       []string          `json:"pools"`
		Labels      map[string]string `json:"labels"`
	}
	if err := decodeBody(w, r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	token, t, err := h.newAgentToken(r, &model.AgentToken{Name: req.Name, NamePattern: req.NamePattern, Pools: req.Pools, Labels: req.Labels})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := toAgentTokenJSON(t)
	out.Token = token
	writeJSON(w, http.StatusCreated, out)
}

func (h *Handler) apiAgentTokenList(w http.ResponseWriter, r *http.Request) {
	toks, err := h.store.ListAgentTokens(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]agentTokenJSON, len(toks))
	for i, t := range toks {
		out[i] = toAgentTokenJSON(t)
	}
	writeJSON(w, http.StatusOK, map[string]any{"agent_tokens": out})
}

func (h *Handler) apiAgentTokenDelete(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		h.fail(w, r, &badInput{"token id is not a number"})
		return
	}
	if err := h.engine.RevokeAgentToken(r.Context(), id); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
