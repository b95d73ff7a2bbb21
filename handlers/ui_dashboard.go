package handlers

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"baton/model"
	"baton/storage"
	"baton/views/components"
	"baton/views/layouts"
	"baton/views/pages"
)

func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	m := pages.Dashboard{Layout: h.page(r, "Dashboard", "dashboard"), Now: time.Now()}
	var err error
	lists := []struct {
		into     *[]components.RunRow
		statuses []model.RunStatus
		limit    int
	}{
		{&m.Active, []model.RunStatus{model.RunRunning}, 50},
		{&m.Waiting, []model.RunStatus{model.RunWaiting}, 50},
		{&m.Queued, []model.RunStatus{model.RunQueued}, 50},
		{&m.Failures, []model.RunStatus{model.RunFailed}, 10},
		{&m.Recent, []model.RunStatus{model.RunSucceeded, model.RunFailed, model.RunCancelled}, 10},
	}
	for _, l := range lists {
		runs, err := h.store.ListRuns(ctx, storage.RunFilter{Statuses: l.statuses, Limit: l.limit})
		if err != nil {
			h.fail(w, r, err)
			return
		}
		*l.into = runRows(runs, m.Now)
	}
	for i := range m.Waiting {
		if m.Waiting[i].Waiting, err = h.waitingTasks(r, m.Waiting[i].ID); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	comps, err := h.store.ListCompositions(ctx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	m.NoCompositions = len(comps) == 0
	views, err := h.agentViews(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, v := range views {
		if v.Online {
			m.Agents = append(m.Agents, agentRow(v))
		}
	}
	if r.URL.Query().Get("part") == "panel" {
		h.render(w, r, http.StatusOK, pages.DashboardPanel(m))
		return
	}
	h.render(w, r, http.StatusOK, pages.DashboardPage(m))
}

// waitingTasks names the approvals a run waits for.
func (h *Handler) waitingTasks(r *http.Request, runID int64) (string, error) {
	tasks, err := h.store.GetTasks(r.Context(), runID)
	if err != nil {
		return "", err
	}
	var names []string
	for _, t := range tasks {
		if t.Status == model.TaskWaiting {
			names = append(names, t.TaskID)
		}
	}
	return fmt.Sprintf("waiting on %s", strings.Join(names, ", ")), nil
}

// runRows turns runs into table rows.
func runRows(runs []*model.Run, now time.Time) []components.RunRow {
	out := make([]components.RunRow, len(runs))
	for i, r := range runs {
		out[i] = runRow(r, now)
	}
	return out
}

func runRow(r *model.Run, now time.Time) components.RunRow {
	return components.RunRow{ID: r.ID, Composition: r.Composition, Status: string(r.Status), Trigger: r.Trigger,
		Error: r.Error, QueueReason: r.QueueReason, Created: r.CreatedAt, Duration: r.Duration(now)}
}

// nav renders the navigation with fresh badges.
func (h *Handler) nav(w http.ResponseWriter, r *http.Request) {
	p := h.page(r, "", r.URL.Query().Get("nav"))
	h.render(w, r, http.StatusOK, layouts.Nav(p))
}
