package engine

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"baton/model"
)

// logWriter batches log lines of every run into few transactions. Lines
// are appended to a pending buffer; one goroutine stores whatever is
// pending, publishes it to the bus once committed, and starts again, so the
// batch size follows the load without a timer on the hot path. Writers
// block when too much is pending, so a task printing faster than the disk
// takes is slowed rather than growing memory without bound.
type logWriter struct {
	store interface {
		AppendLogs(ctx context.Context, batches []model.LogBatch) error
	}
	bus *Bus
	log *slog.Logger

	mu       sync.Mutex
	cond     *sync.Cond
	pending  map[int64][]model.LogLine
	order    []int64 // run ids in pending, first-come order
	nPending int
	enqueued uint64 // lines ever queued
	stored   uint64 // lines ever handled (stored, or given up on)
	closed   bool
	wake     chan struct{}
	done     chan struct{}
}

const maxPendingLines = 200000

func newLogWriter(store interface {
	AppendLogs(ctx context.Context, batches []model.LogBatch) error
}, bus *Bus, log *slog.Logger) *logWriter {
	w := &logWriter{store: store, bus: bus, log: log, pending: map[int64][]model.LogLine{},
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	w.cond = sync.NewCond(&w.mu)
	go w.loop()
	return w
}

// Write queues lines of one run.
func (w *logWriter) Write(runID int64, lines ...model.LogLine) {
	w.mu.Lock()
	for w.nPending >= maxPendingLines && !w.closed {
		w.cond.Wait()
	}
	if _, ok := w.pending[runID]; !ok {
		w.order = append(w.order, runID)
	}
	w.pending[runID] = append(w.pending[runID], lines...)
	w.nPending += len(lines)
	w.enqueued += uint64(len(lines))
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Sync waits until every line queued before the call is stored.
func (w *logWriter) Sync() {
	w.mu.Lock()
	target := w.enqueued
	for w.stored < target && !w.closed {
		w.cond.Wait()
	}
	w.mu.Unlock()
}

// Close stores what is pending and stops the writer.
func (w *logWriter) Close() {
	w.Sync()
	w.mu.Lock()
	w.closed = true
	w.cond.Broadcast()
	w.mu.Unlock()
	close(w.wake)
	<-w.done
}

func (w *logWriter) loop() {
	defer close(w.done)
	for range w.wake {
		for w.flush() {
		}
	}
}

// flush stores everything pending; it reports whether there was anything.
func (w *logWriter) flush() bool {
	w.mu.Lock()
	if w.nPending == 0 {
		w.mu.Unlock()
		return false
	}
	batches := make([]model.LogBatch, 0, len(w.order))
	for _, id := range w.order {
		batches = append(batches, model.LogBatch{RunID: id, Lines: w.pending[id]})
	}
	n := w.nPending
	w.pending = make(map[int64][]model.LogLine, len(w.order))
	w.order = w.order[:0]
	w.nPending = 0
	w.cond.Broadcast() // writers blocked on the bound may go on
	w.mu.Unlock()

	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if err = w.store.AppendLogs(context.Background(), batches); err == nil {
			break
		}
		time.Sleep(time.Duration(attempt+1) * 50 * time.Millisecond)
	}
	if err != nil {
		w.log.Error("log lines lost: the database refused them", "lines", n, "err", err)
	} else {
		for _, b := range batches {
			w.bus.Publish(Event{Kind: EventLog, RunID: b.RunID, Lines: b.Lines})
		}
	}
	w.mu.Lock()
	w.stored += uint64(n)
	w.cond.Broadcast()
	w.mu.Unlock()
	return true
}
