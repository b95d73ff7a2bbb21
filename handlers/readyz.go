package handlers

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"time"

	"baton/model"
)

// readyFor is how long one readiness check answers every /readyz request:
// the endpoint is public, and each check writes to the database, so a
// flood of requests costs one check every readyFor.
const readyFor = 2 * time.Second

// readiness remembers the last readiness check. Requests that arrive
// while a check runs wait for it instead of starting their own.
type readiness struct {
	mu     sync.Mutex
	at     time.Time
	failed []string
}

// readyz is readiness: the database takes writes and the engine does its
// work. A failing check answers 503 naming it; the details, which may name
// files, go to the server log only, once per change.
func (h *Handler) readyz(w http.ResponseWriter, r *http.Request) {
	failed := h.ready.check(r.Context(), h)
	if len(failed) > 0 {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready", "failed": failed})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// check returns what failed, from a check at most readyFor old.
func (rd *readiness) check(ctx context.Context, h *Handler) []string {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if time.Since(rd.at) < readyFor {
		return rd.failed
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancel()
	var failed []string
	var details []error
	if err := h.store.CheckWritable(ctx); err != nil {
		failed = append(failed, "database: does not take writes (see the server log)")
		details = append(details, err)
	}
	if err := h.engine.Ready(ctx); err != nil {
		failed = append(failed, "engine: "+readyReason(err))
		details = append(details, err)
	}
	switch {
	case len(failed) > 0 && !slices.Equal(failed, rd.failed):
		h.log.Warn("not ready", "failed", failed, "err", errors.Join(details...))
	case len(failed) == 0 && len(rd.failed) > 0:
		h.log.Info("ready again")
	}
	rd.at, rd.failed = time.Now(), failed
	return failed
}

// readyReason is the part of an engine readiness error fit for anyone to read.
func readyReason(err error) string {
	if errors.Is(err, model.ErrStorageFull) {
		return "the disk that holds the database is full (see the server log)"
	}
	return "writes to the database failed, or it does not answer (see the server log)"
}
