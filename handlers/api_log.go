package handlers

import (
	"bufio"
	"fmt"
	"net/http"
	"time"

	"baton/engine"
	"baton/model"
	"baton/storage"
)

// maxLogWait bounds how long a log request may wait for new lines.
const maxLogWait = 60 * time.Second

// apiRunLog returns lines of a run's log. A client follows a run with
// ?after=<last seq seen>&wait=30s: the request returns as soon as there are
// new lines or the run ends, or after the wait. ?before= reads backwards
// (the tail of a huge log, then earlier pages). ?format=text gives plain
// text for curl.
func (h *Handler) apiRunLog(w http.ResponseWriter, r *http.Request) {
	id, err := runID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	lq := storage.LogQuery{RunID: id, TaskID: q.Get("task"), Contains: q.Get("q")}
	after, err := intParam(q.Get("after"), 0, 1<<62)
	if err != nil {
		badRequest(w, "after: "+err.Error())
		return
	}
	before, err := intParam(q.Get("before"), 0, 1<<62)
	if err != nil {
		badRequest(w, "before: "+err.Error())
		return
	}
	if lq.Limit, err = intParam(q.Get("limit"), 1000, 100000); err != nil {
		badRequest(w, "limit: "+err.Error())
		return
	}
	lq.After, lq.Before = int64(after), int64(before)
	var wait time.Duration
	if s := q.Get("wait"); s != "" {
		if wait, err = time.ParseDuration(s); err != nil || wait < 0 {
			badRequest(w, fmt.Sprintf("wait: %q is not a duration such as 30s", s))
			return
		}
		wait = min(wait, maxLogWait)
	}

	run, err := h.store.GetRun(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var sub *engine.Subscription
	if wait > 0 && lq.Before == 0 && !run.Status.Done() {
		// Subscribe before reading, so no line stored in between is missed.
		sub = h.engine.Bus().Subscribe(16, func(ev *engine.Event) bool { return ev.RunID == id })
		defer sub.Cancel()
	}
	lines, err := h.store.ReadLogs(r.Context(), lq)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if len(lines) == 0 && sub != nil {
		timer := time.NewTimer(wait)
		defer timer.Stop()
		select {
		case <-sub.C:
		case <-timer.C:
		case <-r.Context().Done():
			return
		}
		// The run before the lines: a run that has ended has stored all
		// its lines, so "done" never hides a line.
		if run, err = h.store.GetRun(r.Context(), id); err != nil {
			h.fail(w, r, err)
			return
		}
		if lines, err = h.store.ReadLogs(r.Context(), lq); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	next := lq.After
	if len(lines) > 0 {
		next = lines[len(lines)-1].Seq
	}
	if q.Get("format") == "text" {
		writeLogText(w, lines)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"lines": toLogJSON(lines), "next": next, "status": run.Status, "done": run.Status.Done(),
	})
}

func writeLogText(w http.ResponseWriter, lines []model.LogLine) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	bw := bufio.NewWriter(w)
	for _, l := range lines {
		task := l.TaskID
		if task == "" {
			task = "baton"
		}
		fmt.Fprintf(bw, "%s %s | %s\n", l.Time.Format("15:04:05.000"), task, l.Text)
	}
	bw.Flush()
}
