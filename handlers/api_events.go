package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"baton/model"
	"baton/storage"
	"baton/trigger"
)

// apiEventPost takes an event from another system: monitoring, a CI server
// calling back. The event's name comes from ?event= (default "event"), a
// delivery id for de-duplication from the Idempotency-Key header.
func (h *Handler) apiEventPost(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("source")
	t, ok := h.engine.Trigger(name)
	if !ok || t.Kind != trigger.API {
		h.fail(w, r, fmt.Errorf("trigger %s of kind api: %w", name, model.ErrNotFound))
		return
	}
	body, err := readBody(w, r, t.MaxBody)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeJSON(w, http.StatusRequestEntityTooLarge, apiError{Error: tooLargeText(t)})
		return
	case err != nil:
		h.fail(w, r, &badInput{err.Error()})
		return
	}
	var payload any
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := json.Unmarshal(body, &payload); err != nil {
			h.fail(w, r, &badInput{"the body is not JSON: " + err.Error()})
			return
		}
	}
	if !h.engine.AllowEvent(name) {
		overRate(w, t)
		return
	}
	event := r.URL.Query().Get("event")
	if event == "" {
		event = "event"
	}
	d := &trigger.Delivery{Event: event, ID: r.Header.Get("Idempotency-Key"), Payload: payload,
		Headers: map[string]string{"user": who(r), "content-type": r.Header.Get("Content-Type")}}
	h.deliver(w, r, name, d)
}

type eventJSON struct {
	ID         int64              `json:"id"`
	Trigger    string             `json:"trigger"`
	Kind       string             `json:"kind"`
	Event      string             `json:"event"`
	DeliveryID string             `json:"delivery_id,omitempty"`
	ReplayOf   int64              `json:"replay_of,omitempty"`
	TestBy     string             `json:"test_by,omitempty"` // the user who sent it as a test
	ReceivedAt time.Time          `json:"received_at"`
	Results    []model.RuleResult `json:"results"`
	Runs       []int64            `json:"runs"`
	Headers    map[string]string  `json:"headers,omitempty"`
	Payload    any                `json:"payload,omitempty"`
}

func toEventJSON(ev *model.Event) eventJSON {
	j := eventJSON{ID: ev.ID, Trigger: ev.Trigger, Kind: ev.Kind, Event: ev.Name, DeliveryID: ev.DeliveryID, ReplayOf: ev.ReplayOf, TestBy: ev.TestBy,
		ReceivedAt: ev.ReceivedAt, Results: ev.Results, Runs: []int64{}, Headers: ev.Headers, Payload: ev.Payload}
	if j.Results == nil {
		j.Results = []model.RuleResult{}
	}
	for _, r := range ev.Results {
		if r.RunID != 0 {
			j.Runs = append(j.Runs, r.RunID)
		}
	}
	return j
}

func (h *Handler) apiEventList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := storage.EventFilter{Trigger: q.Get("trigger")}
	var err error
	if f.Limit, err = intParam(q.Get("limit"), 50, 1000); err != nil {
		badRequest(w, "limit: "+err.Error())
		return
	}
	before, err := intParam(q.Get("before"), 0, 1<<62)
	if err != nil {
		badRequest(w, "before: "+err.Error())
		return
	}
	f.BeforeID = int64(before)
	evs, err := h.store.ListEvents(r.Context(), f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]eventJSON, len(evs))
	for i, ev := range evs {
		out[i] = toEventJSON(ev)
		out[i].Payload = nil // the list stays light; GET one event for its payload
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": out})
}

func eventID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, &badInput{fmt.Sprintf("event id %q is not a positive number", r.PathValue("id"))}
	}
	return id, nil
}

func (h *Handler) apiEventGet(w http.ResponseWriter, r *http.Request) {
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
	writeJSON(w, http.StatusOK, toEventJSON(ev))
}

func (h *Handler) apiEventReplay(w http.ResponseWriter, r *http.Request) {
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
	writeJSON(w, http.StatusCreated, toEventJSON(ev))
}
