package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"baton/engine"
	"baton/model"
	"baton/protocol"
	"baton/views/components"
	"baton/views/pages"
)

// agentRow turns an agent into a table row.
func agentRow(v engine.AgentView) pages.AgentRow {
	row := pages.AgentRow{Name: v.Name, Status: v.Status, Pools: strings.Join(v.AllPools(), ", "), Labels: labelText(v.AllLabels(), ", "),
		Slots: fmt.Sprintf("%d of %d", v.SlotsUsed, v.Slots), LastSeen: v.LastSeen, Local: v.Local}
	if osName, ok := v.Facts["os"].(string); ok {
		row.OS = osName
		if ver, ok := v.Facts["os_release_version"].(string); ok {
			row.OS += " " + ver
		}
	}
	for _, id := range v.Jobs {
		if run, task, _, err := protocol.ParseJobID(id); err == nil {
			row.Current = append(row.Current, pages.JobLink{RunID: run, Task: task})
		}
	}
	return row
}

func labelText(m map[string]string, sep string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, sep)
}

func (h *Handler) agents(w http.ResponseWriter, r *http.Request) {
	views, err := h.agentViews(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	m := pages.Agents{Layout: h.page(r, "Agents", "agents"), Now: time.Now()}
	for _, v := range views {
		m.Rows = append(m.Rows, agentRow(v))
	}
	h.render(w, r, http.StatusOK, pages.AgentsPage(m))
}

func (h *Handler) agentModel(r *http.Request, name string) (pages.Agent, error) {
	v, err := h.agentView(r, name)
	if err != nil {
		return pages.Agent{}, err
	}
	m := pages.Agent{Layout: h.page(r, "Agent "+name, "agents"), Now: time.Now(), Row: agentRow(v), State: string(v.State),
		SetPools: strings.Join(v.SetPools, "\n"), SetLabels: labelText(v.SetLabels, "\n"),
		Address: v.Address, Version: v.Version, LastError: v.LastError, Online: v.Online, Registered: v.Registered}
	if v.Registered {
		m.Identity = "registered " + v.RegisteredAt.Format("2006-01-02 15:04")
		if v.TokenID != 0 {
			m.Identity += fmt.Sprintf(", last connected with agent token #%d", v.TokenID)
		}
	}
	m.Reported = "pools " + strings.Join(v.Pools, ", ") + "; labels " + labelText(v.Labels, ", ")
	if len(v.Pools) == 0 && len(v.Labels) == 0 {
		m.Reported = "nothing"
	}
	for _, k := range slices.Sorted(mapKeys(v.Facts)) {
		m.Facts = append(m.Facts, components.KV{Key: k, Value: valueText(v.Facts[k])})
	}
	return m, nil
}

func mapKeys(m map[string]any) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func (h *Handler) agentPage(w http.ResponseWriter, r *http.Request) {
	m, err := h.agentModel(r, r.PathValue("name"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, pages.AgentPage(m))
}

// agentUpdate applies the forms of an agent's page.
func (h *Handler) agentUpdate(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var req agentPatchJSON
	if st := r.FormValue("state"); st != "" {
		req.State = &st
	}
	if r.FormValue("set") != "" {
		pools := strings.Fields(r.FormValue("pools"))
		labels, err := engine.ParseLabels(strings.Split(r.FormValue("labels"), "\n"))
		if err != nil {
			h.agentPageError(w, r, name, err.Error())
			return
		}
		if labels == nil {
			labels = map[string]string{} // none: the operator's labels are cleared
		}
		req.Pools, req.Labels = &pools, &labels
	}
	patch, err := req.check()
	var bad *badInput
	if errors.As(err, &bad) {
		h.agentPageError(w, r, name, bad.msg)
		return
	}
	_, err = h.engine.PatchAgent(r.Context(), h.store, name, patch)
	var state *engine.StateError
	if errors.As(err, &state) {
		h.agentPageStatus(w, r, name, state.Msg, http.StatusConflict)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.flash(r, true, "Agent "+name+" updated.")
	http.Redirect(w, r, "/agents/"+name, http.StatusSeeOther)
}

func (h *Handler) agentPageError(w http.ResponseWriter, r *http.Request, name, msg string) {
	h.agentPageStatus(w, r, name, msg, http.StatusUnprocessableEntity)
}

// agentPageStatus shows an agent's page with an error and a status.
func (h *Handler) agentPageStatus(w http.ResponseWriter, r *http.Request, name, msg string, status int) {
	m, err := h.agentModel(r, name)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	m.Error = msg
	h.render(w, r, status, pages.AgentPage(m))
}

// agentRemove is the Remove button of an agent's page.
func (h *Handler) agentRemove(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	h.agentAction(w, r, h.engine.RemoveAgent, "Agent "+name+" removed; its name is free.", "/agents")
}

// agentCredentialReset is the Reset credential button of an agent's page.
func (h *Handler) agentCredentialReset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	h.agentAction(w, r, h.engine.ResetCredential, "The credential of agent "+name+" is reset: it was disconnected and cannot come back with it; the next agent its token allows may register the name.", "/agents/"+name)
}

// agentAction does one button of an agent's page: a refusal (the agent is
// connected, say) shows on the page with 409; success leaves a message
// and goes to next.
func (h *Handler) agentAction(w http.ResponseWriter, r *http.Request, do func(context.Context, string) error, done, next string) {
	name := r.PathValue("name")
	err := do(r.Context(), name)
	var state *engine.StateError
	if errors.As(err, &state) {
		h.agentPageStatus(w, r, name, state.Msg, http.StatusConflict)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.flash(r, true, done)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (h *Handler) agentTokensModel(r *http.Request) (pages.AgentTokens, error) {
	m := pages.AgentTokens{Layout: h.page(r, "Agent tokens", "settings"), Now: time.Now(), Server: h.baseURL(r)}
	toks, err := h.store.ListAgentTokens(r.Context())
	for _, t := range toks {
		m.Tokens = append(m.Tokens, pages.AgentTokenRow{ID: t.ID, Name: t.Name, Prefix: t.Prefix, Created: t.CreatedAt, LastUsed: t.LastUsedAt,
			Scope: engine.ScopeText(t)})
	}
	return m, err
}

func (h *Handler) agentTokens(w http.ResponseWriter, r *http.Request) {
	m, err := h.agentTokensModel(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, pages.AgentTokensPage(m))
}

func (h *Handler) agentTokenCreate(w http.ResponseWriter, r *http.Request) {
	form := pages.AgentTokenForm{Name: r.FormValue("name"), NamePattern: strings.TrimSpace(r.FormValue("name_pattern")),
		Pools: r.FormValue("pools"), Labels: r.FormValue("labels")}
	fail := func(msg string) {
		m, err := h.agentTokensModel(r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		m.Error, m.Form = msg, form
		h.render(w, r, http.StatusUnprocessableEntity, pages.AgentTokensPage(m))
	}
	t := &model.AgentToken{Name: form.Name, NamePattern: form.NamePattern,
		Pools: strings.FieldsFunc(form.Pools, func(c rune) bool { return c == ',' || c == ' ' || c == '\n' || c == '\r' || c == '\t' })}
	labels, err := engine.ParseLabels(strings.Split(form.Labels, "\n"))
	if err != nil {
		fail("labels: " + err.Error())
		return
	}
	t.Labels = labels
	token, _, err := h.newAgentToken(r, t)
	var bad *badInput
	if errors.As(err, &bad) {
		fail(bad.msg)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	m, err := h.agentTokensModel(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	m.NewToken, m.NewName = token, t.Name
	h.render(w, r, http.StatusOK, pages.AgentTokensPage(m))
}

func (h *Handler) agentTokenRevoke(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		h.fail(w, r, &badInput{"token id is not a number"})
		return
	}
	if err := h.engine.RevokeAgentToken(r.Context(), id); err != nil {
		h.fail(w, r, err)
		return
	}
	h.flash(r, true, "The agent token is revoked: agents connected with it were disconnected, and it lets no agent in any more.")
	http.Redirect(w, r, "/settings/agent-tokens", http.StatusSeeOther)
}
