package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// health is what the engine knows of its own writes, for readiness: a
// part whose write to the database failed (the runs' state, the log)
// keeps the engine not ready until a write of that part has succeeded
// again and holdNotReady has passed since its last failure, so that a
// disk that takes a small write now and then does not make it flap.
type health struct {
	mu      sync.Mutex
	failing map[string]*failure
}

// holdNotReady is how long the engine stays not ready after a failed write.
const holdNotReady = 5 * time.Second

// failure is a part's write failure: the last error, when the failures
// started and when the last one was, and whether a write succeeded since.
type failure struct {
	err         error
	since, last time.Time
	ok          bool
}

// wrote records the outcome of a write of part.
func (h *health) wrote(part string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f := h.failing[part]
	if err == nil {
		if f != nil {
			f.ok = true
		}
		return
	}
	now := time.Now()
	if f == nil {
		if h.failing == nil {
			h.failing = map[string]*failure{}
		}
		f = &failure{since: now}
		h.failing[part] = f
	}
	f.err, f.last, f.ok = err, now, false
}

// problem describes the failing parts, or returns nil.
func (h *health) problem() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	var errs []error
	for part, f := range h.failing {
		if f.ok && time.Since(f.last) >= holdNotReady {
			delete(h.failing, part)
			continue
		}
		errs = append(errs, fmt.Errorf("%s could not be stored since %s: %w", part, f.since.Format(time.RFC3339), f.err))
	}
	return errors.Join(errs...)
}

// Ready reports whether the engine can do its work: its queue loop answers
// within a second, and no write to the database has failed in the last
// holdNotReady, or a write has failed since the last one that succeeded.
// It returns what is wrong, or nil.
func (e *Engine) Ready(ctx context.Context) error {
	if err := e.health.problem(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	answer := make(chan struct{})
	select {
	case e.pings <- answer:
	case <-e.queueDone:
		return errors.New("the engine has stopped")
	case <-ctx.Done():
		return errors.New("the engine's queue loop does not answer (busy or stuck for over a second)")
	}
	select {
	case <-answer:
		return nil
	case <-ctx.Done():
		return errors.New("the engine's queue loop does not answer (busy or stuck for over a second)")
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
