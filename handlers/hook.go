package handlers

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"baton/engine"
	"baton/storage"
	"baton/trigger"
)

// hook receives a webhook. The order of the checks is what keeps a hook
// URL cheap to attack and signed deliveries flowing:
//
//  1. an address that has used up its budget of refused requests to this
//     trigger gets 429 at once, before its body is read, unless it carries
//     the signature or token header: that request is still verified (an
//     HMAC is cheap), and goes on when it is good, so unsigned floods from
//     a shared address never turn signed deliveries away;
//  2. the body is read up to the trigger's max_body (413 past it);
//  3. the signature or token is checked (401) and the request parsed
//     (400); each refusal counts against the sender's address, never
//     against the trigger's rate;
//  4. a request the trigger had before (the same delivery id, or the same
//     body and signature within its replay window) gets 200 duplicate,
//     and does not use up the rate either;
//  5. only a verified, new request takes one event of the trigger's rate
//     (429 over it) and is delivered.
func (h *Handler) hook(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("trigger")
	t, ok := h.engine.Trigger(name)
	if !ok || !t.Kind.Webhook() {
		writeJSON(w, http.StatusNotFound, apiError{Error: "no webhook trigger " + name})
		return
	}
	addr := h.clientAddr(r).String()
	wait, over := h.hookRefusals.limited(name, addr, time.Now())
	tooMany := func() {
		secs := setRetryAfter(w, wait)
		writeJSON(w, http.StatusTooManyRequests, apiError{Error: fmt.Sprintf(
			"too many refused requests (bad signature, token or body) from %s; try again in %ds, after checking the sender's secret and body",
			addr, secs)})
	}
	if over && r.Header.Get(t.AuthHeader()) == "" {
		tooMany()
		return
	}
	body, err := readBody(w, r, t.MaxBody)
	if err == nil {
		var d *trigger.Delivery
		if d, err = t.Verify(r, body); err == nil {
			h.accept(w, r, t, d)
			return
		}
	}
	if over {
		tooMany()
		return
	}
	h.refuseHook(w, r, t, addr, err)
}

// accept handles a verified webhook request: a duplicate, over the
// trigger's rate, or delivered.
func (h *Handler) accept(w http.ResponseWriter, r *http.Request, t *trigger.Trigger, d *trigger.Delivery) {
	name := t.Name
	first, err := h.store.FindDuplicate(r.Context(), name, d.ID, d.Digest)
	switch {
	case err == nil:
		writeDuplicate(w, d, first)
		return
	case !errors.Is(err, storage.ErrNotFound):
		h.fail(w, r, err)
		return
	}
	if !h.engine.AllowEvent(name) {
		overRate(w, t)
		return
	}
	h.deliver(w, r, name, d)
}

// refuseHook answers a webhook request that failed its checks and counts
// it against the sender's address. Only errors the sender caused are
// refusals; others go to h.fail.
func (h *Handler) refuseHook(w http.ResponseWriter, r *http.Request, t *trigger.Trigger, addr string, err error) {
	var (
		tooBig  *http.MaxBytesError
		unread  *unreadBody
		authErr *trigger.AuthError
		badReq  *trigger.BadRequestError
		status  int
		msg     string
	)
	switch {
	case errors.As(err, &tooBig):
		status, msg = http.StatusRequestEntityTooLarge, tooLargeText(t)
	case errors.As(err, &unread):
		status, msg = http.StatusBadRequest, unread.Error()
	case errors.As(err, &authErr):
		h.engine.RejectedEvent(t.Name)
		h.log.Warn("webhook refused: bad signature or token", "trigger", t.Name, "address", addr, "err", err)
		status, msg = http.StatusUnauthorized, authErr.Error()
	case errors.As(err, &badReq):
		status, msg = http.StatusBadRequest, badReq.Error()
	default:
		h.fail(w, r, err)
		return
	}
	if h.hookRefusals.refuse(t.Name, addr, time.Now()) {
		h.log.Warn("webhook sender over its budget of refused requests; answering 429 until it has waited",
			"address", addr, "trigger", t.Name, "refused_in_a_row", hookRefusedBurst)
	}
	writeJSON(w, status, apiError{Error: msg})
}

// unreadBody says the body of a request could not be read to its end: the
// sender closed the connection or sent a broken chunked body.
type unreadBody struct{ err error }

func (e *unreadBody) Error() string {
	return "the request body could not be read to its end (" + e.err.Error() + "); send it again"
}

func (e *unreadBody) Unwrap() error { return e.err }

// readBody reads a request body of at most limit bytes. A body over it is
// an *http.MaxBytesError, found from Content-Length before anything is
// read when the sender gives one.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, err
	case err != nil:
		return nil, &unreadBody{err}
	}
	return body, nil
}

// tooLargeText says a body is over a trigger's max_body and what to do.
func tooLargeText(t *trigger.Trigger) string {
	return fmt.Sprintf("the request body is larger than %s, the max_body of trigger %s; send a smaller body, or raise max_body in the trigger file (at most %s)",
		byteSize(t.MaxBody), t.Name, byteSize(trigger.MaxBodyLimit))
}

// overRate answers a request over the trigger's rate.
func overRate(w http.ResponseWriter, t *trigger.Trigger) {
	per := t.Rate.Per
	secs := setRetryAfter(w, per/time.Duration(max(t.Rate.Events, 1)))
	writeJSON(w, http.StatusTooManyRequests, apiError{Error: fmt.Sprintf(
		"trigger %s takes at most %d events per %s; try again in %ds, or raise its rate in the trigger file",
		t.Name, t.Rate.Events, per, secs)})
}

// setRetryAfter sets Retry-After to wait in whole seconds, at least 1, and
// returns them.
func setRetryAfter(w http.ResponseWriter, wait time.Duration) int64 {
	secs := max(int64(math.Ceil(wait.Seconds())), 1)
	w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	return secs
}

// duplicateJSON is the answer to a request received before.
type duplicateJSON struct {
	Status   string `json:"status"` // always "duplicate"
	Message  string `json:"message"`
	Delivery string `json:"delivery,omitempty"`
	Event    int64  `json:"event,omitempty"` // the event that first received it, when known
}

// writeDuplicate answers 200: the request was received before as event
// first (0 when not known), and nothing was started again.
func writeDuplicate(w http.ResponseWriter, d *trigger.Delivery, first int64) {
	msg := engine.ErrDuplicate.Error()
	if first != 0 {
		msg = fmt.Sprintf("this delivery was received before, as event %d; nothing was started again", first)
	}
	writeJSON(w, http.StatusOK, duplicateJSON{Status: "duplicate", Message: msg, Delivery: d.ID, Event: first})
}

// deliver hands a verified event to the engine and says what it started.
func (h *Handler) deliver(w http.ResponseWriter, r *http.Request, name string, d *trigger.Delivery) {
	ev, err := h.engine.Deliver(r.Context(), name, d, 0)
	if errors.Is(err, engine.ErrDuplicate) {
		writeDuplicate(w, d, 0)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, toEventJSON(ev))
}

// isHook reports whether a request is a webhook, which is answered in JSON
// like the API.
func isHook(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/hooks/") }
