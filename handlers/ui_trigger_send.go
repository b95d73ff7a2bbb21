package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"baton/engine"
	"baton/model"
	"baton/storage"
	"baton/trigger"
	"baton/views/pages"
)

// triggerTest sends a test event from a trigger's page, as the logged-in
// user (see engine.SendTestEvent). htmx gets what the event did, to show
// under the form; a plain form post is taken to the event's page.
func (h *Handler) triggerTest(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	t, ok := h.engine.Trigger(name)
	if !ok {
		h.fail(w, r, fmt.Errorf("trigger %s: %w", name, model.ErrNotFound))
		return
	}
	// A form encodes each byte of the payload in at most three.
	r.Body = http.MaxBytesReader(w, r.Body, 3*t.MaxBody+64<<10)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			err = &badInput{fmt.Sprintf("the test payload is larger than %s, the max_body of trigger %s; a real request that large would be refused too", byteSize(t.MaxBody), name)}
		} else {
			err = &badInput{"the test form could not be read: " + err.Error()}
		}
		h.testFailed(w, r, err)
		return
	}
	var run int64
	if raw := strings.TrimSpace(r.PostFormValue("run")); raw != "" {
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n <= 0 {
			h.testFailed(w, r, &badInput{fmt.Sprintf("run %q is not a run number; give the number of a run that has ended, such as 12", raw)})
			return
		}
		run = n
	}
	req, err := h.testEvent(name, r, r.PostFormValue("event"), []byte(r.PostFormValue("payload")), run)
	if err != nil {
		h.testFailed(w, r, err)
		return
	}
	ev, err := h.engine.SendTestEvent(r.Context(), name, req)
	if err != nil {
		h.testFailed(w, r, err)
		return
	}
	if !isHTMX(r) {
		h.flash(r, true, fmt.Sprintf("Test event #%d sent.", ev.ID))
		http.Redirect(w, r, fmt.Sprintf("/events/%d", ev.ID), http.StatusSeeOther)
		return
	}
	evs, err := h.store.ListEvents(r.Context(), storage.EventFilter{Trigger: name, Limit: recentEvents})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rows := make([]pages.EventRow, len(evs))
	for i, e := range evs {
		rows[i] = eventRow(e)
	}
	h.render(w, r, http.StatusOK, pages.TestAnswer(testResult(ev, t), name, rows, time.Now()))
}

// testFailed answers a test event that was not sent. For htmx, a mistake
// of the person's (bad JSON, an unknown run) is shown under the form;
// anything else, and every plain form post, goes to fail.
func (h *Handler) testFailed(w http.ResponseWriter, r *http.Request, err error) {
	msg, theirs := userProblem(err)
	if !isHTMX(r) || !theirs {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, pages.TestResultView(&pages.TestResult{Error: "Not sent: " + msg}))
}

// userProblem returns what a person can fix about a request that failed,
// and whether the error is one of theirs.
func userProblem(err error) (string, bool) {
	var (
		bad     *badInput
		invalid *engine.InvalidError
		state   *engine.StateError
	)
	switch {
	case errors.As(err, &bad):
		return bad.msg, true
	case errors.As(err, &invalid):
		return invalid.Err.Error(), true
	case errors.As(err, &state):
		return state.Msg, true
	case errors.Is(err, model.ErrNotFound):
		return capitalize(notFoundText(err)) + ".", true
	}
	return "", false
}

// testResult describes what an event did, rule by rule, with the rules'
// conditions from t (the trigger that judged it).
func testResult(ev *model.Event, t *trigger.Trigger) *pages.TestResult {
	res := &pages.TestResult{EventID: ev.ID, Event: ev.Name, By: ev.TestBy, At: ev.ReceivedAt}
	for i, rr := range ev.Results {
		o := pages.RuleOutcome{Rule: rr.Rule, Matched: rr.Matched, RunID: rr.RunID, Error: rr.Error}
		if t != nil && i < len(t.Rules) {
			o.When = hideText(t.Rules[i].When, t.Secret)
		}
		if rr.RunID != 0 {
			res.Runs = append(res.Runs, rr.RunID)
		}
		res.Rules = append(res.Rules, o)
	}
	return res
}

// testForm is the test form of an active trigger's page, filled in with a
// sample of its kind: for a runs trigger, the newest run that has ended.
func (h *Handler) testForm(r *http.Request, t engine.TriggerInfo) *pages.TriggerTest {
	f := &pages.TriggerTest{Name: t.Name, Kind: string(t.Kind), Event: t.Kind.DefaultEvent(), Events: sampleEvents(t.Kind), Payload: samplePayload(t.Kind)}
	if t.Kind == trigger.Runs {
		runs, err := h.store.ListRuns(r.Context(), storage.RunFilter{Statuses: []model.RunStatus{model.RunSucceeded, model.RunFailed, model.RunCancelled}, Limit: 1})
		if err == nil && len(runs) > 0 {
			f.RunID = runs[0].ID
		}
	}
	return f
}
