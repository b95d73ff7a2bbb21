package handlers

import (
	"context"
	"fmt"
	"net/http"

	"baton/engine"
	"baton/model"
	"baton/storage"
	"baton/views/pages"
)

// maxRetriesListed bounds the retries of one run a page or an answer lists.
const maxRetriesListed = 100

// apiRunRetry starts a retry of an ended run: a new run that keeps the
// tasks that succeeded and runs the failed one and everything after it.
func (h *Handler) apiRunRetry(w http.ResponseWriter, r *http.Request) {
	id, err := runID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var req struct {
		From   []string `json:"from"`
		Latest bool     `json:"latest"`
	}
	if err := decodeBody(w, r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	run, err := h.engine.Retry(r.Context(), engine.RetryRequest{RunID: id, By: who(r) + " via API", From: req.From, Latest: req.Latest})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	j, err := h.runDetail(r, run.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/runs/%d", run.ID))
	writeJSON(w, http.StatusCreated, j)
}

// runRetry is the run page's "Retry from failed": it starts the retry and
// goes to its page.
func (h *Handler) runRetry(w http.ResponseWriter, r *http.Request) {
	id, err := runID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	run, err := h.engine.Retry(r.Context(), engine.RetryRequest{RunID: id, By: who(r)})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.flash(r, true, fmt.Sprintf("Run #%d retries run #%d: the tasks that succeeded are kept.", run.ID, id))
	redirect(w, r, fmt.Sprintf("/runs/%d", run.ID))
}

// retries lists the ids of the runs that retry a run, oldest first.
func (h *Handler) retries(ctx context.Context, id int64) ([]int64, error) {
	runs, err := h.store.ListRuns(ctx, storage.RunFilter{RetryOf: id, Limit: maxRetriesListed})
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(runs))
	for i, run := range runs {
		ids[len(runs)-1-i] = run.ID
	}
	return ids, nil
}

// addRetries fills in what the run page shows of retries: the run this
// one retries, the runs that retry it, whether it may be retried, and
// which tasks were kept from an earlier run.
func (h *Handler) addRetries(ctx context.Context, m *pages.Run, run *model.Run, tasks []*model.TaskRun) error {
	ids, err := h.retries(ctx, run.ID)
	if err != nil {
		return err
	}
	m.RetryOf, m.Retries = run.RetryOf, ids
	m.CanRetry = run.Status == model.RunFailed || run.Status == model.RunCancelled
	for i, t := range tasks {
		if i < len(m.Tasks) && m.Tasks[i].ID == t.TaskID {
			m.Tasks[i].KeptFrom = t.KeptFrom
		}
	}
	return nil
}

// retryJSON adds the retries of a run to its JSON.
func (h *Handler) retryJSON(ctx context.Context, j *runJSON) error {
	ids, err := h.retries(ctx, j.ID)
	j.Retries = ids
	return err
}
