package handlers

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"baton/engine"
	"baton/model"
	"baton/storage"
)

// runStatusList is the run statuses as a reader wants them listed.
func runStatusList() string {
	names := make([]string, len(model.RunStatuses))
	for i, s := range model.RunStatuses {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// runID reads the {id} path value.
func runID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, &badInput{fmt.Sprintf("run id %q is not a positive number", r.PathValue("id"))}
	}
	return id, nil
}

func (h *Handler) apiRunStart(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Params map[string]any `json:"params"`
	}
	if err := decodeBody(w, r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	run, err := h.engine.StartRun(r.Context(), engine.RunRequest{Composition: r.PathValue("name"), Params: req.Params, Trigger: who(r) + " via API"})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/runs/%d", run.ID))
	writeJSON(w, http.StatusCreated, toRunJSON(run, time.Now()))
}

func (h *Handler) apiRunList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := storage.RunFilter{Composition: q.Get("composition")}
	for _, s := range strings.Split(q.Get("status"), ",") {
		if s == "" {
			continue
		}
		st := model.RunStatus(s)
		if !st.Valid() {
			badRequest(w, fmt.Sprintf("status %q is not a run status; use one of %s", s, runStatusList()))
			return
		}
		f.Statuses = append(f.Statuses, st)
	}
	var err error
	if f.Limit, err = intParam(q.Get("limit"), 50, 1000); err != nil {
		badRequest(w, "limit: "+err.Error())
		return
	}
	before, err := intParam(q.Get("before"), 0, 1<<62)
	if err != nil {
		badRequest(w, "before: "+err.Error())
		return
	}
	f.BeforeID = int64(before)
	runs, err := h.store.ListRuns(r.Context(), f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	now := time.Now()
	out := make([]runJSON, len(runs))
	for i, run := range runs {
		out[i] = toRunJSON(run, now)
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": out})
}

func (h *Handler) apiRunGet(w http.ResponseWriter, r *http.Request) {
	id, err := runID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	j, err := h.runDetail(r, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}

// runDetail reads a run with its tasks and log size.
func (h *Handler) runDetail(r *http.Request, id int64) (runJSON, error) {
	run, err := h.store.GetRun(r.Context(), id)
	if err != nil {
		return runJSON{}, err
	}
	tasks, err := h.store.GetTasks(r.Context(), id)
	if err != nil {
		return runJSON{}, err
	}
	n, err := h.store.LogCount(r.Context(), id)
	if err != nil {
		return runJSON{}, err
	}
	types := map[string]string{}
	if c, err := h.engine.CompositionVersion(r.Context(), run.Composition, run.Version); err == nil {
		for _, t := range c.Tasks {
			types[t.ID] = t.Type
		}
	}
	now := time.Now()
	j := toRunJSON(run, now)
	j.LogLines = &n
	for _, t := range tasks {
		j.Tasks = append(j.Tasks, toTaskJSON(t, types[t.TaskID], now))
	}
	if err := h.retryJSON(r.Context(), &j); err != nil {
		return runJSON{}, err
	}
	return j, nil
}

func (h *Handler) apiRunCancel(w http.ResponseWriter, r *http.Request) {
	id, err := runID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	force, err := boolParam(r.URL.Query().Get("force"))
	if err != nil {
		h.fail(w, r, &badInput{"force: " + err.Error()})
		return
	}
	if err := h.engine.Cancel(r.Context(), id, who(r), force); err != nil {
		h.fail(w, r, err)
		return
	}
	j, err := h.runDetail(r, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, j)
}

func (h *Handler) apiTaskApprove(w http.ResponseWriter, r *http.Request) {
	h.decide(w, r, model.Approved)
}

func (h *Handler) apiTaskReject(w http.ResponseWriter, r *http.Request) {
	h.decide(w, r, model.Rejected)
}

func (h *Handler) decide(w http.ResponseWriter, r *http.Request, d model.Decision) {
	id, err := runID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var req struct {
		Comment string `json:"comment"`
	}
	if err := decodeBody(w, r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.engine.Decide(r.Context(), id, r.PathValue("task"), d, who(r), req.Comment); err != nil {
		h.fail(w, r, err)
		return
	}
	j, err := h.runDetail(r, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}
