package handlers

import (
	"fmt"
	"net/http"
	"strings"

	"baton/engine"
	"baton/model"
	"baton/views/pages"
)

func (h *Handler) run(w http.ResponseWriter, r *http.Request) {
	id, err := runID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	m, err := h.runModel(r, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if r.URL.Query().Get("part") == "panel" {
		h.render(w, r, http.StatusOK, pages.RunPanel(m))
		return
	}
	h.render(w, r, http.StatusOK, pages.RunPage(m))
}

// afterRunAction answers a form on the run page: htmx gets the refreshed
// panel, a plain form post goes back to the page.
func (h *Handler) afterRunAction(w http.ResponseWriter, r *http.Request, id int64, msg string) {
	if isHTMX(r) {
		m, err := h.runModel(r, id)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.render(w, r, http.StatusOK, pages.RunPanel(m))
		return
	}
	h.flash(r, true, msg)
	http.Redirect(w, r, fmt.Sprintf("/runs/%d", id), http.StatusSeeOther)
}

func (h *Handler) runCancel(w http.ResponseWriter, r *http.Request) {
	id, err := runID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// "Cancel again" sends force: it stops the tasks marked always too.
	if err := h.engine.Cancel(r.Context(), id, who(r), r.FormValue("force") == "true"); err != nil {
		h.fail(w, r, err)
		return
	}
	h.afterRunAction(w, r, id, fmt.Sprintf("Run #%d is being cancelled.", id))
}

// runRerun starts the run's composition again with the same parameters.
func (h *Handler) runRerun(w http.ResponseWriter, r *http.Request) {
	id, err := runID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	old, err := h.store.GetRun(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	run, err := h.engine.StartRun(r.Context(), engine.RunRequest{Composition: old.Composition, Params: old.Params,
		Trigger: fmt.Sprintf("%s (again, as run %d)", who(r), id)})
	if err != nil {
		h.errorPage(w, r, http.StatusUnprocessableEntity, "The run could not start again", err.Error(), fmt.Sprintf("/runs/%d", id), "Back to the run")
		return
	}
	redirect(w, r, fmt.Sprintf("/runs/%d", run.ID))
}

func (h *Handler) taskApprove(w http.ResponseWriter, r *http.Request) {
	h.taskDecide(w, r, model.Approved)
}
func (h *Handler) taskReject(w http.ResponseWriter, r *http.Request) {
	h.taskDecide(w, r, model.Rejected)
}

func (h *Handler) taskDecide(w http.ResponseWriter, r *http.Request, d model.Decision) {
	id, err := runID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	task := r.PathValue("task")
	comment := strings.TrimSpace(r.FormValue("comment"))
	if err := h.engine.Decide(r.Context(), id, task, d, who(r), comment); err != nil {
		h.fail(w, r, err)
		return
	}
	h.afterRunAction(w, r, id, fmt.Sprintf("Task %s %s.", task, d))
}
