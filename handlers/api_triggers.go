package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"baton/engine"
	"baton/model"
	"baton/trigger"
)

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
	// SecretEnv names the server's environment variable the secret is
	// read from; SecretInFile says the secret is written in the trigger
	// (and never shown). The secret itself is in no answer.
	SecretEnv    string `json:"secret_env,omitempty"`
	SecretInFile bool   `json:"secret_in_file,omitempty"`
	// Version is the stored version that is current (0 for a
	// composition's schedule, which has none of its own).
	Version   int       `json:"version,omitempty"`
	UpdatedBy string    `json:"updated_by,omitempty"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

type ruleJSON struct {
	Name        string         `json:"name,omitempty"`
	When        string         `json:"when,omitempty"`
	Composition string         `json:"composition"`
	Params      map[string]any `json:"params,omitempty"`
}

// triggerVersionJSON is one stored version of a trigger.
type triggerVersionJSON struct {
	Name    string    `json:"name"`
	Version int       `json:"version"`
	Author  string    `json:"author"`
	Message string    `json:"message,omitempty"`
	SavedAt time.Time `json:"saved_at"`
	Current bool      `json:"current,omitempty"`
	Source  string    `json:"source,omitempty"` // secrets redacted
	Invalid string    `json:"invalid,omitempty"`
}

func (h *Handler) toTriggerJSON(r *http.Request, t engine.TriggerInfo) triggerJSON {
	secret := t.Secret
	j := triggerJSON{Name: t.Name, Kind: string(t.Kind), Description: hideText(t.Description, secret), Next: t.Next, Owner: t.Owner,
		Accepted: t.Accepted, Rejected: t.Rejected, Limited: t.Limited, Rules: []ruleJSON{},
		SecretEnv: t.SecretEnv, SecretInFile: t.SecretEnv == "" && t.Secret != ""}
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
		params, _ := hideSecret(rl.Run.Params, secret).(map[string]any)
		j.Rules = append(j.Rules, ruleJSON{Name: rl.Name, When: hideText(rl.When, secret), Composition: rl.Run.Composition, Params: params})
	}
	return j
}

// hideText replaces a trigger's secret wherever it appears in s.
func hideText(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, trigger.RedactedSecret)
}

// hideSecret replaces a trigger's secret in every string of v (maps and
// lists walked), for a rule's params written with the secret in them.
func hideSecret(v any, secret string) any {
	switch x := v.(type) {
	case string:
		return hideText(x, secret)
	case map[string]any:
		if x == nil {
			return x
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = hideSecret(e, secret)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = hideSecret(e, secret)
		}
		return out
	}
	return v
}

// redactedSource is a stored trigger source as it may be shown: parsed
// (secrets from the server's environment) to find its secret, which
// trigger.RedactSource hides. elsewhere says the secret also appeared
// outside secret: (see trigger.RedactSource).
func redactedSource(src string) (shown string, elsewhere bool) {
	t, _ := trigger.Parse("trigger.yaml", []byte(src), os.LookupEnv)
	return trigger.RedactSource([]byte(src), t)
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

// storedVersions returns the current stored version of each trigger by
// name.
func (h *Handler) storedVersions(r *http.Request) (map[string]model.TriggerSource, error) {
	sources, err := h.store.ListTriggers(r.Context())
	if err != nil {
		return nil, err
	}
	out := make(map[string]model.TriggerSource, len(sources))
	for _, s := range sources {
		out[s.Name] = s
	}
	return out, nil
}

// withVersion adds what is stored of a trigger to its JSON.
func withVersion(j triggerJSON, s model.TriggerSource, ok bool) triggerJSON {
	if ok {
		j.Version, j.UpdatedBy, j.UpdatedAt = s.Version, s.UpdatedBy, s.UpdatedAt
	}
	return j
}

func (h *Handler) apiTriggerList(w http.ResponseWriter, r *http.Request) {
	stored, err := h.storedVersions(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var out []triggerJSON
	for _, t := range h.engine.Triggers() {
		s, ok := stored[t.Name]
		out = append(out, withVersion(h.toTriggerJSON(r, t), s, ok))
	}
	for _, p := range h.engine.TriggerProblems() {
		s, ok := stored[p.Name]
		out = append(out, withVersion(triggerJSON{Name: p.Name, Invalid: p.Err.Error(), Rules: []ruleJSON{}}, s, ok))
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

// triggerProblem returns why a stored trigger is not active, if it is not.
func (h *Handler) triggerProblem(name string) (engine.TriggerProblem, bool) {
	for _, p := range h.engine.TriggerProblems() {
		if p.Name == name {
			return p, true
		}
	}
	return engine.TriggerProblem{}, false
}

// apiTriggerGet answers with a trigger: an active one with its rules and
// counters, a stored one that is not active with why; both with their
// source, secrets redacted (?format=yaml for the source alone).
func (h *Handler) apiTriggerGet(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	format, err := queryFormat(r, "json", "yaml")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	stored, err := h.store.GetTrigger(r.Context(), name)
	if err != nil && !errors.Is(err, model.ErrNotFound) {
		h.fail(w, r, err)
		return
	}
	var j triggerJSON
	if t, ok := h.findTrigger(name); ok {
		j = h.toTriggerJSON(r, t)
		j.Source, _ = trigger.RedactSource(t.Source, t.Trigger)
	} else if problem, bad := h.triggerProblem(name); bad && stored.Version > 0 {
		j = triggerJSON{Name: name, Invalid: problem.Err.Error(), Rules: []ruleJSON{}}
		j.Source, _ = redactedSource(stored.Source)
	} else {
		h.fail(w, r, fmt.Errorf("trigger %s: %w", name, model.ErrNotFound))
		return
	}
	if stored.Version > 0 {
		j.Version, j.UpdatedBy, j.UpdatedAt = stored.Version, stored.Author, stored.CreatedAt
	}
	if format == "yaml" {
		w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
		io.WriteString(w, j.Source)
		return
	}
	writeJSON(w, http.StatusOK, j)
}

// apiTriggerPut validates a trigger file and stores it as the trigger's
// next version; the trigger is active at once. Invalid input stores
// nothing. ?base=N saves only if version N is still current (0: only if
// the trigger does not exist); ?message= (or X-Baton-Message) says why.
func (h *Handler) apiTriggerPut(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	src, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCompositionBytes))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	_, err = h.store.GetTrigger(r.Context(), name)
	existed := err == nil
	if err != nil && !errors.Is(err, model.ErrNotFound) {
		h.fail(w, r, err)
		return
	}
	message := r.URL.Query().Get("message")
	if message == "" {
		message = r.Header.Get("X-Baton-Message")
	}
	var v model.TriggerVersion
	if b := r.URL.Query().Get("base"); b != "" {
		base, convErr := strconv.Atoi(b)
		if convErr != nil || base < 0 {
			badRequest(w, "base must be the version number you edited (0 for a new trigger), not "+strconv.Quote(b))
			return
		}
		v, _, err = h.engine.SaveTriggerFrom(r.Context(), name, src, who(r), message, base)
	} else {
		v, _, err = h.engine.SaveTrigger(r.Context(), name, src, who(r), message)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if !existed {
		status = http.StatusCreated
	}
	info, _ := h.findTrigger(name)
	j := h.toTriggerJSON(r, info)
	j.Version, j.UpdatedBy, j.UpdatedAt = v.Version, v.Author, v.CreatedAt
	writeJSON(w, status, j)
}

func (h *Handler) apiTriggerDelete(w http.ResponseWriter, r *http.Request) {
	if err := h.engine.DeleteTrigger(r.Context(), r.PathValue("name")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// toTriggerVersionJSON describes a stored version; current is the version
// now current (0 when the trigger is deleted).
func toTriggerVersionJSON(v model.TriggerVersion, current int) triggerVersionJSON {
	return triggerVersionJSON{Name: v.Name, Version: v.Version, Author: v.Author, Message: v.Message, SavedAt: v.CreatedAt, Current: v.Version == current}
}

func (h *Handler) apiTriggerVersions(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	versions, err := h.store.ListTriggerVersions(r.Context(), name)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	current, err := h.currentTriggerVersion(r, name)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]triggerVersionJSON, len(versions))
	for i, v := range versions {
		out[i] = toTriggerVersionJSON(v, current)
	}
	writeJSON(w, http.StatusOK, map[string]any{"versions": out})
}

func (h *Handler) apiTriggerVersionGet(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	n, err := versionNumber(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	format, err := queryFormat(r, "json", "yaml")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v, err := h.store.GetTriggerVersion(r.Context(), name, n)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	current, err := h.currentTriggerVersion(r, name)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	j := toTriggerVersionJSON(v, current)
	j.Source, _ = redactedSource(v.Source)
	if format == "yaml" {
		w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
		io.WriteString(w, j.Source)
		return
	}
	if _, err := h.engine.CheckTriggerSource(r.Context(), name, []byte(v.Source)); err != nil {
		j.Invalid = err.Error()
	}
	writeJSON(w, http.StatusOK, j)
}

// apiTriggerRestore saves an old version as the newest. ?base=N, the
// version the caller believes current (0 for a deleted trigger), is
// required: a restore must not overwrite a save it has not seen.
func (h *Handler) apiTriggerRestore(w http.ResponseWriter, r *http.Request) {
	n, err := versionNumber(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	base, err := strconv.Atoi(r.URL.Query().Get("base"))
	if err != nil || base < 0 {
		badRequest(w, "give ?base=N, the version you believe is current (0 for a deleted trigger), so that a restore never overwrites a newer save")
		return
	}
	v, _, err := h.restoreTrigger(r, r.PathValue("name"), n, base)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toTriggerVersionJSON(v, v.Version))
}

// restoreTrigger saves version n of a trigger again as its next version,
// if base is still current.
func (h *Handler) restoreTrigger(r *http.Request, name string, n, base int) (model.TriggerVersion, bool, error) {
	old, err := h.store.GetTriggerVersion(r.Context(), name, n)
	if err != nil {
		return old, false, err
	}
	return h.engine.SaveTriggerFrom(r.Context(), name, []byte(old.Source), who(r), fmt.Sprintf("Restore version %d", n), base)
}

// currentTriggerVersion returns the current version of a trigger, or 0
// when it is deleted.
func (h *Handler) currentTriggerVersion(r *http.Request, name string) (int, error) {
	cur, err := h.store.GetTrigger(r.Context(), name)
	if err != nil && !errors.Is(err, model.ErrNotFound) {
		return 0, err
	}
	return cur.Version, nil
}

// testEventJSON is the body of POST /api/v1/triggers/{name}/test.
type testEventJSON struct {
	Event   string          `json:"event"`
	Payload json.RawMessage `json:"payload"`
	Run     int64           `json:"run"`
}

// apiTriggerTest sends a test event to a trigger as the calling user (see
// engine.SendTestEvent) and answers with the event it recorded.
func (h *Handler) apiTriggerTest(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var body testEventJSON
	if err := decodeBody(w, r, &body); err != nil {
		h.fail(w, r, err)
		return
	}
	req, err := h.testEvent(name, r, body.Event, body.Payload, body.Run)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ev, err := h.engine.SendTestEvent(r.Context(), name, req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toEventJSON(ev))
}

// testEvent checks what a person asks to send to a trigger as a test and
// makes the engine's request of it: the payload must be JSON no larger
// than the trigger's max_body, a runs trigger needs a run.
func (h *Handler) testEvent(name string, r *http.Request, event string, payload []byte, run int64) (engine.TestEvent, error) {
	req := engine.TestEvent{By: who(r), Event: strings.TrimSpace(event), RunID: run}
	t, ok := h.engine.Trigger(name)
	if !ok {
		return req, fmt.Errorf("trigger %s: %w", name, model.ErrNotFound)
	}
	switch {
	case t.Kind == trigger.Runs && run <= 0:
		return req, &badInput{fmt.Sprintf("trigger %s is a runs trigger: give the id of a run that has ended to test it against (\"run\": 12)", name)}
	case t.Kind == trigger.Runs || t.Kind == trigger.Schedule:
		return req, nil
	case int64(len(payload)) > t.MaxBody:
		return req, &badInput{fmt.Sprintf("the test payload is larger than %s, the max_body of trigger %s; a real request that large would be refused too", byteSize(t.MaxBody), name)}
	}
	if len(strings.TrimSpace(string(payload))) > 0 {
		if err := json.Unmarshal(payload, &req.Payload); err != nil {
			return req, &badInput{"the payload is not JSON: " + jsonProblem(err)}
		}
	}
	return req, nil
}
