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
	format, err := queryFormat(r, "json", "text")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if after > 0 && before > 0 {
		badRequest(w, "give after= (read forward) or before= (read backward), not both")
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
	if format == "text" && q.Get("limit") == "" && lq.Before == 0 {
		// Text is for people and for files: without a limit it is the
		// whole log from after=, not its first page.
		h.writeLogText(w, r, lq, lines)
		return
	}
	more, err := h.moreLines(r, lq, lines)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	next := lq.After
	if len(lines) > 0 {
		next = lines[len(lines)-1].Seq
	}
	if format == "text" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Baton-More", fmt.Sprint(more))
		w.Header().Set("X-Baton-Next", fmt.Sprint(next))
		bw := bufio.NewWriter(w)
		writeLogLines(bw, lines)
		bw.Flush()
		return
	}
	// done tells a follower it can stop: the run has ended (so every line
	// is stored) and, reading forward, this page reached the last line. A
	// backward page is never done: lines may follow it.
	done := run.Status.Done() && lq.Before == 0 && !more
	writeJSON(w, http.StatusOK, map[string]any{
		"lines": toLogJSON(lines), "next": next, "more": more, "status": run.Status, "done": done,
	})
}

// moreLines reports whether the limit cut the page: a line the query
// selects lies beyond it, after its last line (reading forward) or before
// its first (reading backward).
func (h *Handler) moreLines(r *http.Request, lq storage.LogQuery, lines []model.LogLine) (bool, error) {
	if len(lines) < lq.Limit {
		return false, nil
	}
	probe := lq
	probe.Limit = 1
	if lq.Before > 0 {
		probe.Before = lines[0].Seq
	} else {
		probe.After = lines[len(lines)-1].Seq
	}
	beyond, err := h.store.ReadLogs(r.Context(), probe)
	return len(beyond) > 0, err
}

// logTextPage is how many lines the whole-log text answer reads at a time.
const logTextPage = 10000

// writeLogText writes every line the query selects from lq.After on,
// starting with first (already read), a page at a time.
func (h *Handler) writeLogText(w http.ResponseWriter, r *http.Request, lq storage.LogQuery, first []model.LogLine) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	lines := first
	lq.Limit = logTextPage
	for len(lines) > 0 {
		writeLogLines(bw, lines)
		lq.After = lines[len(lines)-1].Seq
		var err error
		if lines, err = h.store.ReadLogs(r.Context(), lq); err != nil {
			// The answer has begun: say so in it rather than in a status.
			fmt.Fprintf(bw, "baton: the log could not be read on from line %d: %v\n", lq.After+1, err)
			return
		}
	}
}

// writeLogLines writes lines as text, one a line: time, task, text.
func writeLogLines(bw *bufio.Writer, lines []model.LogLine) {
	for _, l := range lines {
		task := l.TaskID
		if task == "" {
			task = "baton"
		}
		fmt.Fprintf(bw, "%s %s | %s\n", l.Time.Format("15:04:05.000"), task, l.Text)
	}
}
