package trigger

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

var eventRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,99}$`)

// maxIDLen bounds a delivery id.
const maxIDLen = 200

// AuthError says a webhook request did not prove it knows the secret: the
// signature or token is missing or wrong. Its message is safe to return to
// the caller (it names the header expected, never a secret); answer 401.
type AuthError struct {
	Message string
}

// Error returns the message.
func (e *AuthError) Error() string { return e.Message }

// BadRequestError says a verified webhook request is malformed: a body that
// is not JSON, a missing event header. Its message is safe to return to the
// caller; answer 400.
type BadRequestError struct {
	Message string
}

// Error returns the message.
func (e *BadRequestError) Error() string { return e.Message }

// Sign returns the signature GitHub sends in X-Hub-Signature-256, which a
// generic hmac webhook takes too: "sha256=" and the hex HMAC-SHA256 of body
// with secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks that a webhook request comes from the sender that holds
// the trigger's secret, then turns it into a Delivery. body is the request
// body, already read and bounded by MaxBody by the caller; r gives the
// headers and query. The signature or token is checked before anything in
// the body is read.
//
//   - github: X-Hub-Signature-256 is Sign(secret, body), compared in
//     constant time; the event is X-GitHub-Event ("ping" included: the
//     caller answers it), the id X-GitHub-Delivery. The body is JSON, or a
//     form with the JSON in its payload field.
//   - gitlab: X-Gitlab-Token equals the secret; the event is X-Gitlab-Event
//     in lower case without " Hook" and with _ for spaces ("Merge Request
//     Hook" is merge_request); the id is Idempotency-Key, which stays the
//     same across GitLab's retries, else X-Gitlab-Event-UUID.
//   - generic: in hmac mode Auth.Header holds Sign(secret, body), with or
//     without its "sha256=" prefix; in bearer mode Authorization is
//     "Bearer <secret>". The event is X-Event, else the query's event, else
//     "webhook"; the id is X-Delivery-Id, else Idempotency-Key.
//
// An empty body gives a nil payload. A missing or wrong signature or token
// is an *AuthError, a malformed request a *BadRequestError; triggers that
// are not webhooks (api, schedule, runs) give a plain error.
//
// The Delivery's Digest names the request by what the sender signed, for
// de-duplication that a replayed request cannot dodge by changing the
// unsigned delivery id: see requestDigest.
func (t *Trigger) Verify(r *http.Request, body []byte) (*Delivery, error) {
	if !t.Kind.Webhook() {
		return nil, fmt.Errorf("trigger %s: %s triggers are not webhooks and take no requests at /hooks/", t.Name, t.Kind)
	}
	if t.Secret == "" {
		return nil, &AuthError{Message: "this trigger has no secret configured, so it accepts no requests"}
	}
	var (
		d   *Delivery
		err error
	)
	switch t.Kind {
	case GitHub:
		d, err = t.verifyGitHub(r, body)
	case GitLab:
		d, err = t.verifyGitLab(r, body)
	default:
		d, err = t.verifyGeneric(r, body)
	}
	if err != nil {
		return nil, err
	}
	if !eventRe.MatchString(d.Event) {
		return nil, &BadRequestError{Message: fmt.Sprintf("event name %s is not valid: use letters, digits and _ . : / - (at most 100)", quote(d.Event))}
	}
	if len(d.ID) > maxIDLen {
		return nil, &BadRequestError{Message: fmt.Sprintf("delivery id is %d bytes long; at most %d are allowed", len(d.ID), maxIDLen)}
	}
	skip := ""
	if t.Kind == Generic && t.Auth.Mode != AuthBearer {
		skip = t.Auth.Header
	}
	d.Headers = safeHeaders(r.Header, skip)
	if t.ReplayWindow != ReplayOff {
		d.Digest = t.requestDigest(body)
	}
	return d, nil
}

// requestDigest names a verified request by what its sender signed. For
// the HMAC kinds (github, generic hmac) that is the body and its
// signature, taken as the MAC's bytes, so that "sha256=ab12..." and
// "AB12..." are the same request. For the token kinds (gitlab, generic
// bearer) it is the body: the token is the secret itself, the same in
// every request, so it tells no two requests apart, and leaving it out
// keeps anything derived from the secret alone out of the database. No
// header but the signature is included: the event and delivery id headers
// are not signed, and a replay may change them.
func (t *Trigger) requestDigest(body []byte) string {
	scheme := string(t.Kind)
	var mac []byte
	switch {
	case t.Kind == GitLab:
	case t.Kind == Generic && t.Auth.Mode == AuthBearer:
		scheme += "-bearer"
	default:
		m := hmac.New(sha256.New, []byte(t.Secret))
		m.Write(body)
		mac = m.Sum(nil)
		scheme += "-hmac"
	}
	h := sha256.New()
	h.Write([]byte("baton webhook request v1\x00" + scheme + "\x00"))
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(mac))))
	h.Write(mac)
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// AuthHeader is the request header that carries what Verify checks: the
// signature or the token of the trigger's kind.
func (t *Trigger) AuthHeader() string {
	switch {
	case t.Kind == GitHub:
		return "X-Hub-Signature-256"
	case t.Kind == GitLab:
		return "X-Gitlab-Token"
	case t.Auth.Mode == AuthBearer:
		return "Authorization"
	case t.Auth.Header != "":
		return t.Auth.Header
	}
	return DefaultSignatureHeader
}

func (t *Trigger) verifyGitHub(r *http.Request, body []byte) (*Delivery, error) {
	const header = "X-Hub-Signature-256"
	sig := r.Header.Get(header)
	if sig == "" {
		return nil, &AuthError{Message: "missing " + header + " header; set this trigger's secret as the webhook's secret in GitHub"}
	}
	if !signatureMatches(t.Secret, body, sig, true) {
		return nil, &AuthError{Message: header + " does not match the body; check that the webhook's secret in GitHub is this trigger's secret"}
	}
	event := r.Header.Get("X-GitHub-Event")
	if event == "" {
		return nil, &BadRequestError{Message: "missing X-GitHub-Event header"}
	}
	raw := body
	if mediaType(r) == "application/x-www-form-urlencoded" {
		form, err := url.ParseQuery(string(body))
		if err != nil || !form.Has("payload") {
			return nil, &BadRequestError{Message: "the form body has no payload field; set the webhook's content type to application/json"}
		}
		raw = []byte(form.Get("payload"))
	}
	payload, err := decodeJSON(raw)
	if err != nil {
		return nil, err
	}
	return &Delivery{Event: event, ID: r.Header.Get("X-GitHub-Delivery"), Payload: payload}, nil
}

func (t *Trigger) verifyGitLab(r *http.Request, body []byte) (*Delivery, error) {
	const header = "X-Gitlab-Token"
	token := r.Header.Get(header)
	if token == "" {
		return nil, &AuthError{Message: "missing " + header + " header; set this trigger's secret as the webhook's secret token in GitLab"}
	}
	if !equalSecret(token, t.Secret) {
		return nil, &AuthError{Message: header + " does not match; check that the webhook's secret token in GitLab is this trigger's secret"}
	}
	event := gitlabEvent(r.Header.Get("X-Gitlab-Event"))
	if event == "" {
		return nil, &BadRequestError{Message: "missing X-Gitlab-Event header"}
	}
	payload, err := decodeJSON(body)
	if err != nil {
		return nil, err
	}
	id := r.Header.Get("Idempotency-Key")
	if id == "" {
		id = r.Header.Get("X-Gitlab-Event-UUID")
	}
	return &Delivery{Event: event, ID: id, Payload: payload}, nil
}

// gitlabEvent normalises GitLab's event header: "Merge Request Hook"
// becomes merge_request.
func gitlabEvent(h string) string {
	s := strings.ToLower(strings.TrimSpace(h))
	s = strings.TrimSpace(strings.TrimSuffix(s, " hook"))
	return strings.Join(strings.Fields(s), "_")
}

func (t *Trigger) verifyGeneric(r *http.Request, body []byte) (*Delivery, error) {
	if t.Auth.Mode == AuthBearer {
		auth := r.Header.Get("Authorization")
		scheme, token, _ := strings.Cut(auth, " ")
		switch {
		case auth == "":
			return nil, &AuthError{Message: "missing Authorization header; send Authorization: Bearer <secret>"}
		case !strings.EqualFold(scheme, "Bearer"):
			return nil, &AuthError{Message: "the Authorization header must be Bearer <secret>"}
		case !equalSecret(strings.TrimSpace(token), t.Secret):
			return nil, &AuthError{Message: "the bearer token in Authorization does not match this trigger's secret"}
		}
	} else {
		header := t.Auth.Header
		if header == "" {
			header = DefaultSignatureHeader
		}
		sig := r.Header.Get(header)
		if sig == "" {
			return nil, &AuthError{Message: "missing " + header + " header; send sha256=<hex HMAC-SHA256 of the body with the secret>"}
		}
		if !signatureMatches(t.Secret, body, sig, false) {
			return nil, &AuthError{Message: header + " does not match the body; it must be sha256=<hex HMAC-SHA256 of the body with the secret>"}
		}
	}
	payload, err := decodeJSON(body)
	if err != nil {
		return nil, err
	}
	// The signature's header never doubles as the event or the id.
	get := func(name string) string {
		if t.Auth.Mode != AuthBearer && strings.EqualFold(name, t.Auth.Header) {
			return ""
		}
		return r.Header.Get(name)
	}
	event := get("X-Event")
	if event == "" {
		event = r.URL.Query().Get("event")
	}
	if event == "" {
		event = "webhook"
	}
	id := get("X-Delivery-Id")
	if id == "" {
		id = get("Idempotency-Key")
	}
	return &Delivery{Event: event, ID: id, Payload: payload}, nil
}

// signatureMatches reports whether sig is the HMAC-SHA256 of body with
// secret, as "sha256=<hex>" or, unless prefixRequired, as bare hex. The
// comparison takes the same time wherever the first difference is.
func signatureMatches(secret string, body []byte, sig string, prefixRequired bool) bool {
	sig = strings.TrimSpace(sig)
	if len(sig) >= 7 && strings.EqualFold(sig[:7], "sha256=") {
		sig = sig[7:]
	} else if prefixRequired {
		return false
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

// equalSecret compares a token with the secret in constant time; hashing
// both first keeps the secret's length from showing either.
func equalSecret(token, secret string) bool {
	a, b := sha256.Sum256([]byte(token)), sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

func mediaType(r *http.Request) string {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	return mt
}

// decodeJSON decodes a body; an empty one gives nil.
func decodeJSON(body []byte) (any, error) {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil, nil
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, &BadRequestError{Message: fmt.Sprintf("the body is not valid JSON: %v", err)}
	}
	return v, nil
}

// safeHeaders returns the allow-listed request headers, with lower-case
// names: never a signature, token or Authorization header, nor skip (a
// generic webhook's signature header).
func safeHeaders(h http.Header, skip string) map[string]string {
	allowed := []string{
		"User-Agent", "Content-Type",
		"X-GitHub-Event", "X-GitHub-Delivery", "X-GitHub-Hook-ID",
		"X-GitHub-Hook-Installation-Target-ID", "X-GitHub-Hook-Installation-Target-Type",
		"X-Gitlab-Event", "X-Gitlab-Instance", "X-Gitlab-Event-UUID", "X-Gitlab-Webhook-UUID",
		"Idempotency-Key", "X-Event", "X-Delivery-Id",
	}
	out := map[string]string{}
	for _, name := range allowed {
		if strings.EqualFold(name, skip) {
			continue
		}
		if v := h.Get(name); v != "" {
			out[strings.ToLower(name)] = v
		}
	}
	return out
}

// Env returns the names a rule's when and params see for this delivery
// (see RuleRoots): event, payload, headers, trigger (the trigger's name)
// and delivery (the delivery id).
func (d *Delivery) Env(trigger string) map[string]any {
	headers := make(map[string]any, len(d.Headers))
	for k, v := range d.Headers {
		headers[k] = v
	}
	return map[string]any{
		"event":    d.Event,
		"payload":  d.Payload,
		"headers":  headers,
		"trigger":  trigger,
		"delivery": d.ID,
	}
}
