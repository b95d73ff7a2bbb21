package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"baton/engine"
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
	ReceivedAt time.Time          `json:"received_at"`
	Results    []model.RuleResult `json:"results"`
	Runs       []int64            `json:"runs"`
	Headers    map[string]string  `json:"headers,omitempty"`
	Payload    any                `json:"payload,omitempty"`
}

func toEventJSON(ev *model.Event) eventJSON {
	j := eventJSON{ID: ev.ID, Trigger: ev.Trigger, Kind: ev.Kind, Event: ev.Name, DeliveryID: ev.DeliveryID, ReplayOf: ev.ReplayOf,
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

type triggerJSON struct {
	Name        string      `json:"name"`
	Kind        string      `json:"kind"`
	Description string      `json:"description,omitempty"`
	HookURL     string      `json:"hook_url,omitempty"`
	Schedule    string      `json:"schedule,omitempty"`
	Timezone    string      `json:"timezone,omitempty"`
	Next        []time.Time `json:"next,omitempty"`
	Rules       []ruleJSON  `json:"rules"`
	Accepted    int64       `json:"accepted"`
	Rejected    int64       `json:"rejected"`
	Limited     int64       `json:"rate_limited"`
	Rate        string      `json:"rate,omitempty"`
	Invalid     string      `json:"invalid,omitempty"`
	Source      string      `json:"source,omitempty"`
	// Owner is the composition whose schedules: declares this trigger.
	Owner string `json:"composition,omitempty"`
	// ReplayWindow is how long a webhook remembers accepted requests.
	ReplayWindow string `json:"replay_window,omitempty"`
}

type ruleJSON struct {
	Name        string         `json:"name,omitempty"`
	When        string         `json:"when,omitempty"`
	Composition string         `json:"composition"`
	Params      map[string]any `json:"params,omitempty"`
}

func (h *Handler) toTriggerJSON(r *http.Request, t engine.TriggerInfo) triggerJSON {
	j := triggerJSON{Name: t.Name, Kind: string(t.Kind), Description: t.Description, Next: t.Next, Owner: t.Owner,
		Accepted: t.Accepted, Rejected: t.Rejected, Limited: t.Limited, Rules: []ruleJSON{}}
	switch t.Kind {
	case trigger.GitHub, trigger.GitLab, trigger.Generic:
		j.HookURL = h.baseURL(r) + "/hooks/" + t.Name
		j.ReplayWindow = "off"
		if w := t.DigestWindow(); w > 0 {
			j.ReplayWindow = shortDuration(w)
		}
	case trigger.API:
		j.HookURL = h.baseURL(r) + "/api/v1/events/" + t.Name
	}
	if t.Kind != trigger.Schedule && t.Kind != trigger.Runs {
		j.Rate = fmt.Sprintf("%d per %s", t.Rate.Events, t.Rate.Per)
	}
	if t.Cron != nil {
		j.Schedule, j.Timezone = t.Cron.Spec, t.Cron.Timezone
	}
	for _, rl := range t.Rules {
		j.Rules = append(j.Rules, ruleJSON{Name: rl.Name, When: rl.When, Composition: rl.Run.Composition, Params: rl.Run.Params})
	}
	return j
}

// shortDuration writes d without zero minutes and seconds: 24h, 1h30m.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

func (h *Handler) apiTriggerList(w http.ResponseWriter, r *http.Request) {
	var out []triggerJSON
	for _, t := range h.engine.Triggers() {
		out = append(out, h.toTriggerJSON(r, t))
	}
	for _, p := range h.engine.TriggerProblems() {
		out = append(out, triggerJSON{Name: p.Name, Invalid: p.Err.Error(), Rules: []ruleJSON{}})
	}
	if out == nil {
		out = []triggerJSON{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"triggers": out})
}

// findTrigger returns an active trigger's info.
func (h *Handler) findTrigger(name string) (engine.TriggerInfo, bool) {
	for _, t := range h.engine.Triggers() {
		if t.Name == name {
			return t, true
		}
	}
	return engine.TriggerInfo{}, false
}

func (h *Handler) apiTriggerGet(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	t, ok := h.findTrigger(name)
	if !ok {
		h.fail(w, r, fmt.Errorf("trigger %s: %w", name, model.ErrNotFound))
		return
	}
	format, err := queryFormat(r, "json", "yaml")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if format == "yaml" {
		w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
		io.WriteString(w, redactSource(string(t.Source), t.Secret))
		return
	}
	j := h.toTriggerJSON(r, t)
	j.Source = redactSource(string(t.Source), t.Secret)
	writeJSON(w, http.StatusOK, j)
}

// redactSource hides a literal secret in a trigger's source.
func redactSource(src, secret string) string {
	if secret == "" {
		return src
	}
	return strings.ReplaceAll(src, secret, "[redacted]")
}

// apiTriggerPut validates a trigger file and stores it; the trigger is
// active at once. Invalid input stores nothing.
func (h *Handler) apiTriggerPut(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	src, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCompositionBytes))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	created, err := h.engine.SaveTrigger(r.Context(), name, src, who(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	info, _ := h.findTrigger(name)
	writeJSON(w, status, h.toTriggerJSON(r, info))
}

func (h *Handler) apiTriggerDelete(w http.ResponseWriter, r *http.Request) {
	if err := h.engine.DeleteTrigger(r.Context(), r.PathValue("name")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
