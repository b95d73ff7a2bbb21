package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// health is what the engine knows of its own writes, for readiness: a
// part whose last write to the database failed (the runs' state, the log)
// keeps the engine not ready until a write of that part succeeds again.
type health struct {
	mu      sync.Mutex
	failing map[string]failure
}

// failure is a part's write failure: the error and when it started.
type failure struct {
	err   error
	since time.Time
}

// wrote records the outcome of a write of part.
func (h *health) wrote(part string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil {
		delete(h.failing, part)
		return
	}
	if h.failing == nil {
		h.failing = map[string]failure{}
	}
	if f, ok := h.failing[part]; ok {
		f.err = err
		h.failing[part] = f
		return
	}
	h.failing[part] = failure{err: err, since: time.Now()}
}

// problem describes the failing parts, or returns nil.
func (h *health) problem() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	var errs []error
	for part, f := range h.failing {
		errs = append(errs, fmt.Errorf("%s could not be stored since %s: %w", part, f.since.Format(time.RFC3339), f.err))
	}
	return errors.Join(errs...)
}

// Ready reports whether the engine can do its work: its scheduler answers
// within a second, and every write to the database since the last failure
// has succeeded. It returns what is wrong, or nil.
func (e *Engine) Ready(ctx context.Context) error {
	if err := e.health.problem(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	answer := make(chan struct{})
	select {
	case e.pings <- answer:
	case <-e.schedDone:
		return errors.New("the engine has stopped")
	case <-ctx.Done():
		return errors.New("the engine's scheduler does not answer (busy or stuck for over a second)")
	}
	select {
	case <-answer:
		return nil
	case <-ctx.Done():
		return errors.New("the engine's scheduler does not answer (busy or stuck for over a second)")
	}
}

// logsRefused hands lines the database refused to the run they belong to,
// which fails.
func (e *Engine) logsRefused(runID int64, tasks map[string]int, err error) {
	e.mu.Lock()
	r := e.runners[runID]
	e.mu.Unlock()
	if r != nil {
		go r.send(evLogLost{tasks: tasks, err: err})
	}
}
