package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"baton/engine"
	"baton/model"
	"baton/storage"
)

// maxRequestBytes limits JSON request bodies.
const maxRequestBytes = 1 << 20

// decodeBody reads an optional JSON body into v; an empty body leaves v as is.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &badInput{"request body: " + jsonProblem(err)}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &badInput{"request body has more after its JSON object; send one object"}
	}
	return nil
}

// boolParam reads an optional true/false query value.
func boolParam(s string) (bool, error) {
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, fmt.Errorf("%q is not true or false", s)
	}
	return b, nil
}

// jsonProblem says what is wrong with a JSON body in the API's terms, not
// Go's.
func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("not valid JSON at byte %d: %s", syntax.Offset, strings.TrimPrefix(syntax.Error(), "json: "))
	case errors.As(err, &typ):
		where := "the body"
		if typ.Field != "" {
			where = "field " + strings.TrimPrefix(typ.Field, ".")
		}
		return fmt.Sprintf("%s: a JSON %s where %s is expected", where, typ.Value, jsonKind(typ.Type))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON ends too early"
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return "unknown field " + f + "; the API reference (docs/api.md, /api/v1/openapi.json) lists the fields"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// jsonKind names a Go type as the JSON it decodes from.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "another value"
}

// runStatusList is the run statuses as a reader wants them listed.
func runStatusList() string {
	names := make([]string, len(model.RunStatuses))
	for i, s := range model.RunStatuses {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// queryFormat reads ?format=, which must be empty or one of formats.
func queryFormat(r *http.Request, formats ...string) (string, error) {
	f := r.URL.Query().Get("format")
	if f == "" || slices.Contains(formats, f) {
		return f, nil
	}
	return "", &badInput{fmt.Sprintf("format: %q is not a format here; use %s", f, strings.Join(formats, " or "))}
}

// badInput is a client mistake that fail answers with 400.
type badInput struct{ msg string }

func (e *badInput) Error() string { return e.msg }

// runID reads the {id} path value.
func runID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, &badInput{fmt.Sprintf("run id %q is not a positive number", r.PathValue("id"))}
	}
	return id, nil
}

func (h *Handler) apiRunStart(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Params map[string]any `json:"params"`
	}
	if err := decodeBody(w, r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	run, err := h.engine.StartRun(r.Context(), engine.RunRequest{Composition: r.PathValue("name"), Params: req.Params, Trigger: who(r) + " via API"})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/runs/%d", run.ID))
	writeJSON(w, http.StatusCreated, toRunJSON(run, time.Now()))
}

func (h *Handler) apiRunList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := storage.RunFilter{Composition: q.Get("composition")}
	for _, s := range strings.Split(q.Get("status"), ",") {
		if s == "" {
			continue
		}
		st := model.RunStatus(s)
		if !st.Valid() {
			badRequest(w, fmt.Sprintf("status %q is not a run status; use one of %s", s, runStatusList()))
			return
		}
		f.Statuses = append(f.Statuses, st)
	}
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
	runs, err := h.store.ListRuns(r.Context(), f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	now := time.Now()
	out := make([]runJSON, len(runs))
	for i, run := range runs {
		out[i] = toRunJSON(run, now)
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": out})
}

// intParam parses an optional non-negative query value, capped at max.
func intParam(s string, def, max int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a non-negative whole number", s)
	}
	return min(n, max), nil
}

func (h *Handler) apiRunGet(w http.ResponseWriter, r *http.Request) {
	id, err := runID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	j, err := h.runDetail(r, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}

// runDetail reads a run with its tasks and log size.
func (h *Handler) runDetail(r *http.Request, id int64) (runJSON, error) {
	run, err := h.store.GetRun(r.Context(), id)
	if err != nil {
		return runJSON{}, err
	}
	tasks, err := h.store.GetTasks(r.Context(), id)
	if err != nil {
		return runJSON{}, err
	}
	n, err := h.store.LogCount(r.Context(), id)
	if err != nil {
		return runJSON{}, err
	}
	types := map[string]string{}
	if c, err := h.engine.CompositionVersion(r.Context(), run.Composition, run.Version); err == nil {
		for _, t := range c.Tasks {
			types[t.ID] = t.Type
		}
	}
	now := time.Now()
	j := toRunJSON(run, now)
	j.LogLines = &n
	for _, t := range tasks {
		j.Tasks = append(j.Tasks, toTaskJSON(t, types[t.TaskID], now))
	}
	if err := h.retryJSON(r.Context(), &j); err != nil {
		return runJSON{}, err
	}
	return j, nil
}

func (h *Handler) apiRunCancel(w http.ResponseWriter, r *http.Request) {
	id, err := runID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	force, err := boolParam(r.URL.Query().Get("force"))
	if err != nil {
		h.fail(w, r, &badInput{"force: " + err.Error()})
		return
	}
	if err := h.engine.Cancel(r.Context(), id, who(r), force); err != nil {
		h.fail(w, r, err)
		return
	}
	j, err := h.runDetail(r, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, j)
}

func (h *Handler) apiTaskApprove(w http.ResponseWriter, r *http.Request) {
	h.decide(w, r, model.Approved)
}

func (h *Handler) apiTaskReject(w http.ResponseWriter, r *http.Request) {
	h.decide(w, r, model.Rejected)
}

func (h *Handler) decide(w http.ResponseWriter, r *http.Request, d model.Decision) {
	id, err := runID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var req struct {
		Comment string `json:"comment"`
	}
	if err := decodeBody(w, r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.engine.Decide(r.Context(), id, r.PathValue("task"), d, who(r), req.Comment); err != nil {
		h.fail(w, r, err)
		return
	}
	j, err := h.runDetail(r, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}
