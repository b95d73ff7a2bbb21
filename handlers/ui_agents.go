package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"baton/auth"
	"baton/engine"
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
		Address: v.Address, Version: v.Version, LastError: v.LastError}
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
		labels := map[string]string{}
		for _, line := range strings.Split(r.FormValue("labels"), "\n") {
			if line = strings.TrimSpace(line); line == "" {
				continue
			}
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				h.agentPageError(w, r, name, fmt.Sprintf("label %q: write it as key=value", line))
				return
			}
			labels[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
		req.Pools, req.Labels = &pools, &labels
	}
	patch, err := req.check()
	var bad *badInput
	if errors.As(err, &bad) {
		h.agentPageError(w, r, name, bad.msg)
		return
	}
	if _, err := h.engine.PatchAgent(r.Context(), h.store, name, patch); err != nil {
		h.fail(w, r, err)
		return
	}
	h.flash(r, true, "Agent "+name+" updated.")
	http.Redirect(w, r, "/agents/"+name, http.StatusSeeOther)
}

func (h *Handler) agentPageError(w http.ResponseWriter, r *http.Request, name, msg string) {
	m, err := h.agentModel(r, name)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	m.Error = msg
	h.render(w, r, http.StatusUnprocessableEntity, pages.AgentPage(m))
}

func (h *Handler) agentTokensModel(r *http.Request) (pages.AgentTokens, error) {
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	m := pages.AgentTokens{Layout: h.page(r, "Agent tokens", "settings"), Now: time.Now(), Server: scheme + "://" + r.Host}
	toks, err := h.store.ListAgentTokens(r.Context())
	for _, t := range toks {
		m.Tokens = append(m.Tokens, pages.TokenRow{ID: t.ID, Name: t.Name, Prefix: t.Prefix, Created: t.CreatedAt, LastUsed: t.LastUsedAt})
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
	name := strings.TrimSpace(r.FormValue("name"))
	m, err := h.agentTokensModel(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if name == "" || len(name) > 100 {
		m.Error = "give the token a name of at most 100 characters, such as build-agents"
		h.render(w, r, http.StatusUnprocessableEntity, pages.AgentTokensPage(m))
		return
	}
	token, hash, prefix := auth.NewToken()
	if _, err := h.store.CreateAgentToken(r.Context(), name, hash, prefix); err != nil {
		h.fail(w, r, err)
		return
	}
	if m, err = h.agentTokensModel(r); err != nil {
		h.fail(w, r, err)
		return
	}
	m.NewToken, m.NewName = token, name
	h.render(w, r, http.StatusOK, pages.AgentTokensPage(m))
}

func (h *Handler) agentTokenRevoke(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		h.fail(w, r, &badInput{"token id is not a number"})
		return
	}
	if err := h.store.DeleteAgentToken(r.Context(), id); err != nil {
		h.fail(w, r, err)
		return
	}
	h.flash(r, true, "The agent token is revoked: agents using it cannot connect again.")
	http.Redirect(w, r, "/settings/agent-tokens", http.StatusSeeOther)
}
