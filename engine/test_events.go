package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"baton/model"
	"baton/trigger"
)

// TestEvent is an event a person sends to a trigger to try its rules: a
// sample payload for a webhook or api trigger, "run now" for a schedule, a
// finished run for a runs trigger.
type TestEvent struct {
	By      string // the user who sends it; recorded on the event and its runs
	Event   string // webhook and api triggers: the event's name; the kind's usual one when empty
	Payload any    // webhook and api triggers: the decoded JSON body
	RunID   int64  // runs triggers: the run whose end is judged
}

// SendTestEvent judges a trigger's rules on a test event, starts the runs
// the matching rules start, and records the event marked with who sent
// it, in one transaction, as Deliver does. It is not a request anyone
// signed and no sender's doing: it needs no secret, takes nothing from the
// trigger's rate, counts as no accepted event, has no delivery id and
// leaves no digest, so a real request with the same body is still new.
//
//   - webhook and api triggers: req.Event and req.Payload, with the
//     headers the kind's sender sets (trigger.TestDelivery);
//   - schedule: a firing now, skipped like any firing while a run the
//     schedule started is active and overlap is false;
//   - runs: run.finished of run req.RunID, which must have ended.
//
// A bad event name is an *InvalidError, a run that has not ended a
// *StateError, an unknown trigger or run a *NotFoundError.
func (e *Engine) SendTestEvent(ctx context.Context, name string, req TestEvent) (*model.Event, error) {
	t, ok := e.Trigger(name)
	if !ok {
		return nil, &NotFoundError{What: "trigger", Name: name}
	}
	if req.By == "" {
		return nil, errors.New("engine: a test event must name the user who sends it")
	}
	cause := ", a test event sent by " + req.By
	var d *trigger.Delivery
	switch t.Kind {
	case trigger.Schedule:
		d = scheduleDelivery(t, time.Now())
		if !t.Cron.Overlap {
			if id, busy := e.scheduleBusy(ctx, t.Name); busy {
				ev := skippedFiring(t, d, id)
				ev.TestBy, ev.DeliveryID = req.By, ""
				if err := e.store.RecordEvent(ctx, ev, nil); err != nil {
					return nil, err
				}
				return ev, nil
			}
		}
	case trigger.Runs:
		run, err := e.store.GetRun(ctx, req.RunID)
		if errors.Is(err, model.ErrNotFound) {
			return nil, &NotFoundError{What: "run", Name: strconv.FormatInt(req.RunID, 10)}
		}
		if err != nil {
			return nil, err
		}
		if !run.Status.Done() {
			return nil, &StateError{Msg: fmt.Sprintf("run %d is %s; test trigger %s against a run that has ended", run.ID, run.Status, t.Name)}
		}
		d = finishedDelivery(run)
		cause = fmt.Sprintf(" on run %d, a test event sent by %s", run.ID, req.By)
	default:
		var err error
		if d, err = t.TestDelivery(req.Event, req.Payload); err != nil {
			return nil, &InvalidError{What: "test event is not valid", Err: err}
		}
		if t.Kind == trigger.API {
			d.Headers["user"] = req.By // as for an event the user posts with a token
		}
	}
	ev, runs := e.judge(ctx, t, d, cause)
	ev.TestBy, ev.DeliveryID, ev.Digest = req.By, "", ""
	if err := e.store.RecordEvent(ctx, ev, runs); err != nil {
		return nil, err
	}
	for _, nr := range runs {
		e.enqueue(nr.Run)
	}
	return ev, nil
}
