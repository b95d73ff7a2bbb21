package engine

import (
	"context"
	"fmt"
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
	marks    map[int64][]model.JobMark
	stored   []func() // called once the pending lines are committed
	order    []int64  // run ids in pending, first-come order
	nPending int
	enqueued uint64 // lines ever queued
	handled  uint64 // lines ever handled (stored, or given up on)
	closed   bool
	wake     chan struct{}
	done     chan struct{}

	// lost counts, per run, lines the database refused, until a note
	// saying so is stored in the run's log; lostErr is why.
	lost    map[int64]int
	lostErr error
	// refusedRuns keeps, per run, every line the database refused and the
	// first reason, until the run's end is recorded (see refusedOf).
	refusedRuns map[int64]refusedLines
	// refused is told of every batch of lines the database refused: the
	// lines per task of each run, and the error.
	refused func(runID int64, tasks map[string]int, err error)
	health  *health
}

const maxPendingLines = 200000

func newLogWriter(store interface {
	AppendLogs(ctx context.Context, batches []model.LogBatch) error
}, bus *Bus, log *slog.Logger) *logWriter {
	w := &logWriter{store: store, bus: bus, log: log, pending: map[int64][]model.LogLine{}, marks: map[int64][]model.JobMark{},
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	w.cond = sync.NewCond(&w.mu)
	go w.loop()
	return w
}

// Write queues lines of one run.
func (w *logWriter) Write(runID int64, lines ...model.LogLine) {
	w.WriteMarked(runID, lines, nil, nil)
}

// WriteMarked queues lines of an agent's job: mark records, in the same
// transaction as the lines, how many of the job's lines are stored, and
// stored is called once they are committed (to acknowledge them).
func (w *logWriter) WriteMarked(runID int64, lines []model.LogLine, mark *model.JobMark, stored func()) {
	w.mu.Lock()
	for w.nPending >= maxPendingLines && !w.closed {
		w.cond.Wait()
	}
	if _, ok := w.pending[runID]; !ok {
		w.order = append(w.order, runID)
		w.pending[runID] = nil
	}
	w.pending[runID] = append(w.pending[runID], lines...)
	if mark != nil {
		w.marks[runID] = append(w.marks[runID], *mark)
	}
	if stored != nil {
		w.stored = append(w.stored, stored)
	}
	w.nPending += max(len(lines), 1)
	w.enqueued += uint64(max(len(lines), 1))
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
	for w.handled < target && !w.closed {
		w.cond.Wait()
	}
	w.mu.Unlock()
}

// Close stores what is pending and stops the writer. It may be called
// more than once.
func (w *logWriter) Close() {
	w.Sync()
	w.mu.Lock()
	already := w.closed
	w.closed = true
	w.cond.Broadcast()
	w.mu.Unlock()
	if !already {
		close(w.wake)
	}
	<-w.done
}

func (w *logWriter) loop() {
	defer close(w.done)
	var retry <-chan time.Time
	for {
		select {
		case _, ok := <-w.wake:
			if !ok {
				return
			}
		case <-retry:
		}
		for w.flush() {
		}
		// Notes of lost lines wait for the database to take writes
		// again, even when no run writes anything more.
		retry = nil
		w.mu.Lock()
		if len(w.lost) > 0 {
			retry = time.After(time.Second)
		}
		w.mu.Unlock()
	}
}

// flush stores everything pending and the notes of lost lines; it
// reports whether there were lines pending.
func (w *logWriter) flush() bool {
	w.mu.Lock()
	if w.nPending == 0 && len(w.lost) == 0 {
		w.mu.Unlock()
		return false
	}
	batches := make([]model.LogBatch, 0, len(w.order)+len(w.lost))
	for _, id := range w.order {
		batches = append(batches, model.LogBatch{RunID: id, Lines: w.pending[id], Marks: w.marks[id]})
	}
	notes := w.lostNotesLocked()
	batches = append(batches, notes...)
	n, stored := w.nPending, w.stored
	w.pending = make(map[int64][]model.LogLine, len(w.order))
	w.marks = map[int64][]model.JobMark{}
	w.stored = nil
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
	if w.health != nil {
		w.health.wrote("log lines", err)
	}
	if err != nil {
		if n > 0 {
			w.log.Error("log lines lost: the database refused them; the runs they belong to fail", "lines", n, "err", err)
		}
		w.refuse(batches[:len(batches)-len(notes)], err)
	} else {
		w.mu.Lock()
		for _, b := range notes {
			delete(w.lost, b.RunID)
		}
		w.mu.Unlock()
		for _, b := range batches {
			if len(b.Lines) > 0 {
				w.bus.Publish(Event{Kind: EventLog, RunID: b.RunID, Lines: b.Lines})
			}
		}
		for _, f := range stored {
			f()
		}
	}
	w.mu.Lock()
	w.handled += uint64(n)
	w.cond.Broadcast()
	w.mu.Unlock()
	return n > 0
}

// lostNotesLocked returns, for every run with lost lines, a batch holding
// one line of Baton's own that says how many are missing and why. Call
// with w.mu held.
func (w *logWriter) lostNotesLocked() []model.LogBatch {
	if len(w.lost) == 0 {
		return nil
	}
	notes := make([]model.LogBatch, 0, len(w.lost))
	now := time.Now()
	for id, n := range w.lost {
		text := fmt.Sprintf("%d log lines could not be stored and are missing from this log: %v", n, w.lostErr)
		notes = append(notes, model.LogBatch{RunID: id, Lines: []model.LogLine{{Stream: model.System, Time: now, Text: text}}})
	}
	return notes
}

// refuse counts the lines of batches the database refused and tells the
// engine, which fails what they belong to.
func (w *logWriter) refuse(batches []model.LogBatch, err error) {
	w.mu.Lock()
	if w.lost == nil {
		w.lost = map[int64]int{}
	}
	w.lostErr = err
	if w.refusedRuns == nil {
		w.refusedRuns = map[int64]refusedLines{}
	}
	for _, b := range batches {
		if len(b.Lines) > 0 {
			w.lost[b.RunID] += len(b.Lines)
			r := w.refusedRuns[b.RunID]
			if r.err == nil {
				r.err = err
			}
			r.lines += len(b.Lines)
			w.refusedRuns[b.RunID] = r
		}
	}
	w.mu.Unlock()
	if w.refused == nil {
		return
	}
	for _, b := range batches {
		tasks := map[string]int{}
		for _, ln := range b.Lines {
			tasks[ln.TaskID]++
		}
		if len(tasks) > 0 {
			w.refused(b.RunID, tasks, err)
		}
	}
}

// refusedLines is what the database refused of one run's log.
type refusedLines struct {
	lines int
	err   error
}

// refusedOf says how many lines of a run the database has refused so far,
// and why (the first reason), so that the run's end can take them into
// account even before the runner hears of them.
func (w *logWriter) refusedOf(runID int64) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.refusedRuns[runID]
	return r.lines, r.err
}

// forget drops what is kept of a run whose end is recorded.
func (w *logWriter) forget(runID int64) {
	w.mu.Lock()
	delete(w.refusedRuns, runID)
	w.mu.Unlock()
}
