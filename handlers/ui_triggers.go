package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"

	"baton/engine"
	"baton/model"
	"baton/storage"
	"baton/trigger"
	"baton/views/components"
	"baton/views/pages"
)

// recentEvents is how many events a trigger's page lists.
const recentEvents = 20

func (h *Handler) triggerRow(r *http.Request, t engine.TriggerInfo) pages.TriggerRow {
	j := h.toTriggerJSON(r, t)
	row := pages.TriggerRow{Name: j.Name, Kind: j.Kind, URL: j.HookURL, Next: j.Next, Rules: len(j.Rules), Owner: j.Owner,
		Accepted: j.Accepted, Rejected: j.Rejected, Limited: j.Limited}
	if j.Schedule != "" {
		row.Schedule = j.Schedule + " (" + j.Timezone + ")"
	}
	return row
}

func (h *Handler) triggersPage(w http.ResponseWriter, r *http.Request) {
	m := pages.Triggers{Layout: h.page(r, "Triggers", "triggers"), Now: time.Now()}
	for _, t := range h.engine.Triggers() {
		m.Rows = append(m.Rows, h.triggerRow(r, t))
	}
	for _, p := range h.engine.TriggerProblems() {
		m.Invalid = append(m.Invalid, components.KV{Key: p.Name, Value: p.Err.Error()})
	}
	h.render(w, r, http.StatusOK, pages.TriggersPage(m))
}

func eventRow(ev *model.Event) pages.EventRow {
	row := pages.EventRow{ID: ev.ID, Trigger: ev.Trigger, Event: ev.Name, Delivery: ev.DeliveryID, At: ev.ReceivedAt, ReplayOf: ev.ReplayOf, TestBy: ev.TestBy}
	for _, res := range ev.Results {
		if res.Matched {
			row.Matched++
		}
		if res.RunID != 0 {
			row.Runs = append(row.Runs, res.RunID)
		}
		if res.Error != "" {
			row.Errors++
		}
	}
	return row
}

// triggerPage shows a trigger: an active one with where to send events,
// its rules, recent events and a form to send it a test event; a stored
// one that is not active with why, so that it can be fixed.
func (h *Handler) triggerPage(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	stored, err := h.store.GetTrigger(r.Context(), name)
	if err != nil && !errors.Is(err, model.ErrNotFound) {
		h.fail(w, r, err)
		return
	}
	m := pages.TriggerPage{Layout: h.page(r, "Trigger "+name, "triggers"), Now: time.Now(), Row: pages.TriggerRow{Name: name},
		Version: stored.Version, UpdatedBy: stored.Author, UpdatedAt: stored.CreatedAt}
	t, active := h.findTrigger(name)
	switch {
	case active:
		m.Row = h.triggerRow(r, t)
		m.HTML = markdown(hideText(t.Description, t.Secret))
		m.Source, _ = trigger.RedactSource(t.Source, t.Trigger)
		m.Test = h.testForm(r, t)
		switch {
		case t.SecretEnv != "":
			m.Secret = "Its secret is read from the server's environment variable " + t.SecretEnv + "."
		case t.Secret != "":
			m.Secret = "Its secret is written in the trigger file."
		}
		for i, rl := range t.Rules {
			rv := pages.RuleView{Name: rl.Name, When: hideText(rl.When, t.Secret), Composition: rl.Run.Composition}
			if rv.Name == "" {
				rv.Name = fmt.Sprintf("rule %d", i+1)
			}
			if len(rl.Run.Params) > 0 {
				b, _ := json.Marshal(hideSecret(rl.Run.Params, t.Secret))
				rv.Params = string(b)
			}
			m.Rules = append(m.Rules, rv)
		}
	case stored.Version > 0:
		if p, bad := h.triggerProblem(name); bad {
			m.Invalid = p.Err.Error()
		}
		m.Source, _ = redactedSource(stored.Source)
	default:
		h.fail(w, r, fmt.Errorf("trigger %s: %w", name, model.ErrNotFound))
		return
	}
	evs, err := h.store.ListEvents(r.Context(), storage.EventFilter{Trigger: name, Limit: recentEvents})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, ev := range evs {
		m.Events = append(m.Events, eventRow(ev))
	}
	h.render(w, r, http.StatusOK, pages.TriggerDetail(m))
}

func (h *Handler) eventsPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	m := pages.Events{Layout: h.page(r, "Events", "triggers"), Now: time.Now(), Trigger: q.Get("trigger")}
	before, err := intParam(q.Get("before"), 0, 1<<62)
	if err != nil {
		h.fail(w, r, &badInput{"before: " + err.Error()})
		return
	}
	evs, err := h.store.ListEvents(r.Context(), storage.EventFilter{Trigger: m.Trigger, BeforeID: int64(before), Limit: runsPerPage + 1})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if len(evs) > runsPerPage {
		evs = evs[:runsPerPage]
		m.NextBefore = evs[len(evs)-1].ID
	}
	for _, ev := range evs {
		m.Rows = append(m.Rows, eventRow(ev))
	}
	h.render(w, r, http.StatusOK, pages.EventsPage(m))
}

func (h *Handler) eventPage(w http.ResponseWriter, r *http.Request) {
	id, err := eventID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ev, err := h.store.GetEvent(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	m := pages.EventPage{Layout: h.page(r, fmt.Sprintf("Event #%d", id), "triggers"), Now: time.Now(), Row: eventRow(ev), Kind: ev.Kind}
	_, m.Exists = h.engine.Trigger(ev.Trigger)
	for _, res := range ev.Results {
		m.Results = append(m.Results, pages.ResultView{Rule: res.Rule, Matched: res.Matched, RunID: res.RunID, Error: res.Error})
	}
	keys := make([]string, 0, len(ev.Headers))
	for k := range ev.Headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		m.Headers = append(m.Headers, components.KV{Key: k, Value: ev.Headers[k]})
	}
	b, _ := json.MarshalIndent(ev.Payload, "", "  ")
	m.Payload = string(b)
	h.render(w, r, http.StatusOK, pages.EventDetail(m))
}

func (h *Handler) eventReplay(w http.ResponseWriter, r *http.Request) {
	id, err := eventID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ev, err := h.engine.Replay(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.flash(r, true, fmt.Sprintf("Event #%d replayed as #%d.", id, ev.ID))
	http.Redirect(w, r, fmt.Sprintf("/events/%d", ev.ID), http.StatusSeeOther)
}
