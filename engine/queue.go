package engine

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"baton/composition"
	"baton/model"
)

// queueLoop starts queued runs whenever something may have freed a
// place: a new run, an ended run, a restart.
func (e *Engine) queueLoop() {
	defer close(e.queueDone)
	for {
		select {
		case <-e.kick:
		case answer := <-e.pings:
			close(answer)
			continue
		case <-e.ctx.Done():
			return
		}
		if !e.startQueued() {
			return
		}
	}
}

// startQueued starts every queued run that may start, oldest first; a run
// that must wait never holds back one that may go. It reports false once
// the engine is stopping.
func (e *Engine) startQueued() bool {
	// Reasons are set on the queued run under the lock, and written and
	// published from a copy after it: Cancel may end the run meanwhile.
	type reasonUpdate struct {
		run    model.Run
		reason string
	}
	var updates []reasonUpdate
	var broken []*model.Run
	var brokenErr []error
	e.mu.Lock()
	if e.stopping {
		e.mu.Unlock()
		return false
	}
	keep := e.queue[:0]
	for _, r := range e.queue {
		comp, _, err := e.comps.get(e.ctx, r.Composition, r.Version)
		if err != nil {
			broken, brokenErr = append(broken, r), append(brokenErr, err)
			continue
		}
		if comp.Concurrency > 0 && e.active[r.Composition] >= comp.Concurrency {
			reason := fmt.Sprintf("waiting for a free place: %s allows %d active run(s) at a time (active: %s)",
				r.Composition, comp.Concurrency, e.activeListLocked(r.Composition))
			if reason != r.QueueReason {
				r.QueueReason = reason
				updates = append(updates, reasonUpdate{*r, reason})
			}
			keep = append(keep, r)
			continue
		}
		req, err := resolveRequires(comp.Requires, func() map[string]any {
			return composition.NewEnv(r.Params, nil, nil, composition.RunInfo{ID: r.ID, Composition: r.Composition})
		})
		if err != nil {
			broken, brokenErr = append(broken, r), append(brokenErr, err)
			continue
		}
		// A retry prefers the executor of the run it retries, where
		// its kept tasks left their files.
		warm, hint := e.lastGood[r.Composition], e.retryHintOf(r)
		if hint.agent != "" {
			warm = hint.agent
		}
		exec, reason := e.place(req, "", warm)
		if exec == nil {
			if reason != r.QueueReason {
				r.QueueReason = reason
				updates = append(updates, reasonUpdate{*r, reason})
			}
			keep = append(keep, r)
			continue
		}
		tasks, err := e.initialTasks(r, comp)
		if err != nil {
			exec.Release()
			broken, brokenErr = append(broken, r), append(brokenErr, err)
			continue
		}
		e.active[r.Composition]++
		delete(e.hints, r.ID)
		rn := newRunner(e, r, comp, tasks, true)
		rn.exec, rn.reserved, rn.hint = exec, true, hint
		e.runners[r.ID] = rn
		e.wg.Add(1)
		go rn.loop()
	}
	clear(e.queue[len(keep):])
	e.queue = keep
	e.mu.Unlock()

	for _, u := range updates {
		updated, err := e.store.SetQueueReason(e.ctx, u.run.ID, u.reason)
		if err != nil {
			e.log.Error("could not record a queue reason", "run", u.run.ID, "err", err)
		}
		if !updated {
			continue // it started or ended meanwhile
		}
		e.mu.Lock()
		if e.queuedLocked(u.run.ID) { // else its end is published already
			e.publishRun(&u.run)
		}
		e.mu.Unlock()
	}
	for i, r := range broken {
		e.endQueued(r, model.RunFailed, brokenErr[i].Error())
	}
	return true
}

// queuedLocked reports whether a run is in the queue. Call with e.mu held.
func (e *Engine) queuedLocked(id int64) bool {
	return slices.ContainsFunc(e.queue, func(q *model.Run) bool { return q.ID == id })
}

func (e *Engine) activeListLocked(composition string) string {
	var ids []string
	for id, rn := range e.runners {
		if rn.run.Composition == composition {
			ids = append(ids, fmt.Sprintf("run %d", id))
		}
	}
	slices.Sort(ids)
	return strings.Join(ids, ", ")
}

// endQueued ends a run that never started (cancelled while queued, or
// whose composition can no longer run).
func (e *Engine) endQueued(r *model.Run, status model.RunStatus, msg string) {
	tasks, err := e.store.GetTasks(e.ctx, r.ID)
	if err != nil {
		e.log.Error("could not read tasks of a queued run", "run", r.ID, "err", err)
	}
	now := time.Now()
	for _, t := range tasks {
		if !t.Status.Done() {
			t.Status, t.FinishedAt = model.TaskSkipped, now
		}
	}
	r.Status, r.Error, r.QueueReason, r.FinishedAt = status, msg, "", now
	e.systemLog(r.ID, "", "run %s: %s", status, msg)
	e.logs.Sync()
	if err := e.store.FinishRun(e.ctx, r, tasks, nil, nil); err != nil {
		e.log.Error("could not record the end of a queued run", "run", r.ID, "err", err)
	}
	e.publishRun(r)
	e.mu.Lock()
	close(e.ended)
	e.ended = make(chan struct{})
	parent := e.runners[r.ParentRunID]
	delete(e.hints, r.ID)
	e.mu.Unlock()
	if parent != nil && r.ParentTask != "" {
		c := *r
		parent.send(evChild{task: r.ParentTask, child: &c})
	}
}
