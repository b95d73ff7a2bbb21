package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"baton/composition"
	"baton/engine"
	"baton/model"
	"baton/storage"
)

// staleJSON is the body of a refused save: the version now current, so
// that the client can fetch it, merge and save again with that base.
type staleJSON struct {
	Error   string    `json:"error"`
	Current int       `json:"current_version"`
	Author  string    `json:"author,omitempty"`
	SavedAt time.Time `json:"saved_at,omitzero"`
}

// apiError is the JSON body of every API error.
type apiError struct {
	Error   string   `json:"error"`
	Details []detail `json:"details,omitempty"`
}

// detail is one problem behind an error: a line and column in a
// composition, or a parameter or field name.
type detail struct {
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// writeJSON sends v with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// badRequest answers 400 with a message for the client.
func badRequest(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusBadRequest, apiError{Error: msg})
}

// fail turns an error into the fitting status and JSON body. It is the one
// place a request error is logged, and only unexpected ones are.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if !isAPI(r) && !isHook(r) {
		h.failPage(w, r, err)
		return
	}
	var (
		invalid  *engine.InvalidError
		params   *engine.ParamsError
		state    *engine.StateError
		problems composition.Problems
		tooBig   *http.MaxBytesError
		bad      *badInput
		stale    *storage.StaleError
		tstale   *storage.TriggerStaleError
	)
	switch {
	case errors.As(err, &bad):
		badRequest(w, bad.msg)
	case errors.As(err, &stale):
		writeJSON(w, http.StatusConflict, staleJSON{Error: stale.Error(), Current: stale.Current.Version,
			Author: stale.Current.Author, SavedAt: stale.Current.CreatedAt})
	case errors.As(err, &tstale):
		writeJSON(w, http.StatusConflict, staleJSON{Error: tstale.Error(), Current: tstale.Current.Version,
			Author: tstale.Current.Author, SavedAt: tstale.Current.CreatedAt})
	case errors.As(err, &tooBig):
		writeJSON(w, http.StatusRequestEntityTooLarge, apiError{Error: "request body is larger than the limit of " + byteSize(tooBig.Limit)})
	case errors.As(err, &params):
		body := apiError{Error: "parameters do not fit composition " + params.Composition}
		for _, fe := range params.Errors {
			body.Details = append(body.Details, detail{Field: fe.Field, Message: fe.Message})
		}
		writeJSON(w, http.StatusUnprocessableEntity, body)
	case errors.As(err, &invalid):
		body := apiError{Error: invalid.What}
		if errors.As(err, &problems) {
			for _, p := range problems {
				body.Details = append(body.Details, detail{Line: p.Line, Column: p.Col, Message: p.Message})
			}
		} else {
			body.Details = []detail{{Message: invalid.Err.Error()}}
		}
		writeJSON(w, http.StatusUnprocessableEntity, body)
	case errors.As(err, &state):
		writeJSON(w, http.StatusConflict, apiError{Error: state.Msg})
	case errors.Is(err, model.ErrNotFound):
		writeJSON(w, http.StatusNotFound, apiError{Error: notFoundText(err)})
	default:
		h.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeJSON(w, http.StatusInternalServerError, apiError{Error: "internal error; the server log has the details"})
	}
}

// notFoundText keeps the useful end of a wrapped not-found error:
// "storage: run 7: not found" becomes "run 7 not found".
func notFoundText(err error) string {
	msg := strings.TrimPrefix(err.Error(), "storage: ")
	return strings.Replace(msg, ": not found", " not found", 1)
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// logRequestError is for errors after the response has started.
func (h *Handler) logRequestError(r *http.Request, msg string, err error) {
	h.log.LogAttrs(r.Context(), slog.LevelWarn, msg, slog.String("path", r.URL.Path), slog.Any("err", err))
}

// failPage is fail for web pages: the same classification, as a page.
func (h *Handler) failPage(w http.ResponseWriter, r *http.Request, err error) {
	var (
		state   *engine.StateError
		bad     *badInput
		invalid *engine.InvalidError
	)
	switch {
	case errors.As(err, &bad):
		h.errorPage(w, r, http.StatusBadRequest, "That request did not make sense", bad.msg, "", "")
	case errors.As(err, &invalid):
		h.errorPage(w, r, http.StatusUnprocessableEntity, "That composition is not valid", capitalize(invalid.What)+": "+invalid.Err.Error(), r.Header.Get("Referer"), "Go back")
	case errors.As(err, &state):
		h.errorPage(w, r, http.StatusConflict, "That cannot be done now", state.Msg, r.Header.Get("Referer"), "Go back")
	case errors.Is(err, model.ErrNotFound):
		h.errorPage(w, r, http.StatusNotFound, "Not found", capitalize(notFoundText(err))+".", "", "")
	default:
		h.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		h.errorPage(w, r, http.StatusInternalServerError, "Something went wrong", "The server could not do that. The server log has the details; try again in a moment.", "", "")
	}
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
