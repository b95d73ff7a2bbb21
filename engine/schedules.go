package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"baton/model"
	"baton/trigger"
)

// scheduleTriggers fires schedule triggers. Each firing is an event whose
// delivery id is the scheduled time, so a time fires at most once even
// across restarts. When the server was down over a fire time, a schedule
// with catch_up fires once for the latest time it missed; one without
// simply waits for the next.
func (e *Engine) scheduleTriggers() {
	after := map[string]time.Time{} // per schedule: fire times after this are due
	caughtUp := map[string]bool{}
	for {
		now := time.Now()
		var soonest time.Time
		var due []*trigger.Trigger
		e.trig.mu.RLock()
		for name, st := range e.trig.byName {
			c := st.t.Cron
			if c == nil {
				continue
			}
			if _, ok := after[name]; !ok {
				after[name] = now
				if !caughtUp[name] {
					caughtUp[name] = true
					if at, ok := e.missed(name, c, now); ok {
						go e.fire(st.t, at)
					}
				}
			}
			next := c.Next(after[name])
			if next.IsZero() {
				continue
			}
			if !next.After(now) {
				due = append(due, st.t)
				after[name] = next
				continue
			}
			if soonest.IsZero() || next.Before(soonest) {
				soonest = next
			}
		}
		e.trig.mu.RUnlock()
		for _, t := range due {
			go e.fire(t, after[t.Name])
		}
		if len(due) > 0 {
			continue
		}
		var timer *time.Timer
		var wake <-chan time.Time
		if !soonest.IsZero() {
			timer = time.NewTimer(time.Until(soonest))
			wake = timer.C
		}
		select {
		case <-wake:
		case <-e.trig.changed:
		case <-e.ctx.Done():
		}
		if timer != nil {
			timer.Stop()
		}
		if e.ctx.Err() != nil {
			return
		}
	}
}

// missed returns the latest fire time a catch-up schedule missed while the
// server was down: after its last firing and up to now.
func (e *Engine) missed(name string, c *trigger.Cron, now time.Time) (time.Time, bool) {
	if !c.CatchUp {
		return time.Time{}, false
	}
	last, err := e.store.LastEvent(e.ctx, name)
	if err != nil {
		return time.Time{}, false // never fired: nothing was missed
	}
	lastAt, err := time.Parse(time.RFC3339, last.DeliveryID)
	if err != nil {
		lastAt = last.ReceivedAt
	}
	return c.Latest(lastAt, now)
}

// fire starts a schedule's runs for one fire time, unless a run it started
// before is still going and the schedule does not allow overlap: then the
// event is stored as skipped.
func (e *Engine) fire(t *trigger.Trigger, at time.Time) {
	ctx := e.ctx
	d := scheduleDelivery(t, at)
	if !t.Cron.Overlap {
		if id, busy := e.scheduleBusy(ctx, t.Name); busy {
			if err := e.store.RecordEvent(ctx, skippedFiring(t, d, id), nil); err != nil && !errors.Is(err, model.ErrConflict) {
				e.log.Error("could not record a skipped schedule", "trigger", t.Name, "err", err)
			}
			return
		}
	}
	if _, err := e.Deliver(ctx, t.Name, d, 0); err != nil && !errors.Is(err, ErrDuplicate) && ctx.Err() == nil {
		e.log.Error("schedule could not fire", "trigger", t.Name, "at", at, "err", err)
	}
}

// scheduleDelivery is a schedule's firing for fire time at; its delivery
// id is the time, so that a time fires once.
func scheduleDelivery(t *trigger.Trigger, at time.Time) *trigger.Delivery {
	return &trigger.Delivery{Event: "schedule", ID: at.UTC().Format(time.RFC3339),
		Payload: map[string]any{"scheduled_at": at.Format(time.RFC3339), "timezone": t.Cron.Timezone}}
}

// skippedFiring is the event of a firing that started nothing because run
// id, which the schedule started before, is still active.
func skippedFiring(t *trigger.Trigger, d *trigger.Delivery, id int64) *model.Event {
	return &model.Event{Trigger: t.Name, Kind: string(t.Kind), Name: d.Event, DeliveryID: d.ID, Payload: d.Payload, ReceivedAt: time.Now(),
		Results: []model.RuleResult{{Rule: "schedule", Error: fmt.Sprintf("skipped: run %d it started before is still active (overlap: false)", id)}}}
}

// scheduleBusy reports whether a run the schedule's last firing started is
// still active.
func (e *Engine) scheduleBusy(ctx context.Context, name string) (int64, bool) {
	last, err := e.store.LastEvent(ctx, name)
	if err != nil {
		return 0, false
	}
	for _, r := range last.Results {
		if r.RunID != 0 && e.isActive(r.RunID) {
			return r.RunID, true
		}
	}
	return 0, false
}
