package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"baton/trigger"
)

// hookReply is what a webhook request got back.
type hookReply struct {
	status int
	ctype  string
	body   string
	retry  string
}

// send posts a webhook request built by the caller.
func send(t *testing.T, c *http.Client, req *http.Request) hookReply {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return hookReply{resp.StatusCode, resp.Header.Get("Content-Type"), string(b), resp.Header.Get("Retry-After")}
}

// githubHook builds a push as GitHub sends it; sig "" sends none.
func githubHook(url, delivery, sig string, body []byte) *http.Request {
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	if delivery != "" {
		req.Header.Set("X-GitHub-Delivery", delivery)
	}
	if sig != "" {
		req.Header.Set("X-Hub-Signature-256", sig)
	}
	return req
}

// putTrigger stores a trigger over the API.
func (a *apiHarness) putTrigger(name, src string) {
	a.t.Helper()
	a.do("PUT", "/api/v1/triggers/"+name, src, http.StatusCreated, nil)
}

// triggerInfo returns a trigger as the API shows it.
func (a *apiHarness) triggerInfo(name string) triggerJSON {
	a.t.Helper()
	var tj triggerJSON
	a.do("GET", "/api/v1/triggers/"+name, "", http.StatusOK, &tj)
	return tj
}

// countRuns returns how many runs a composition has.
func (a *apiHarness) countRuns(comp string) int {
	a.t.Helper()
	var runs struct{ Runs []struct{ ID int64 } }
	a.do("GET", "/api/v1/runs?composition="+comp, "", http.StatusOK, &runs)
	return len(runs.Runs)
}

// TestHookFloodDoesNotLimitSigned: requests without a valid signature from
// one address neither use up the trigger's rate nor make GitHub's signed
// deliveries, from another address, get 429. The flooding address gets
// 429 once it has used up its own budget of refused requests, and then its
// requests are not verified at all. Signed deliveries still count against
// the trigger's rate.
func TestHookFloodDoesNotLimitSigned(t *testing.T) {
	a := newAPI(t)
	a.do("PUT", "/api/v1/compositions/hello", helloYAML, http.StatusCreated, nil)
	const secret = "flood-test-secret"
	a.putTrigger("gh", "name: gh\nkind: github\nsecret: "+secret+"\nrate: {events: 3, per: 1h, burst: 3}\nrules:\n  - run: {composition: hello}\n")
	url := a.srv.URL + "/hooks/gh"
	attacker, github := clientFrom(t, "127.0.0.2"), clientFrom(t, "127.0.0.3")

	flood := 3 * hookRefusedBurst
	refused, limited := 0, 0
	var last hookReply
	for i := range flood {
		body := []byte(fmt.Sprintf(`{"ref": "refs/heads/main", "n": %d}`, i))
		sig := ""
		if i%2 == 1 {
			sig = trigger.Sign("a guess", body)
		}
		r := send(t, attacker, githubHook(url, fmt.Sprintf("forged-%d", i), sig, body))
		switch {
		case r.status == http.StatusUnauthorized && limited == 0:
			refused++
		case r.status == http.StatusTooManyRequests && r.retry != "" && strings.Contains(r.body, "127.0.0.2"):
			limited++
			last = r
		default:
			t.Fatalf("unsigned request %d (after %d answers 401 and %d 429): %+v; want 401, then 429 with Retry-After naming the address", i, refused, limited, r)
		}
	}
	if refused != hookRefusedBurst || limited != flood-refused {
		t.Errorf("the flooding address got %d answers 401 and %d 429, want %d and %d", refused, limited, hookRefusedBurst, flood-hookRefusedBurst)
	}
	t.Logf("the flooder is told: %s", last.body)
	if got := a.triggerInfo("gh"); got.Rejected != hookRefusedBurst || got.Limited != 0 || got.Accepted != 0 {
		t.Errorf("counters after the flood: rejected %d (want %d: a limited address is not verified), rate limited %d, accepted %d",
			got.Rejected, hookRefusedBurst, got.Limited, got.Accepted)
	}

	for i := range 3 {
		body := []byte(fmt.Sprintf(`{"ref": "refs/heads/main", "after": "%040d"}`, i))
		if r := send(t, github, githubHook(url, fmt.Sprintf("gh-%d", i), trigger.Sign(secret, body), body)); r.status != http.StatusAccepted {
			t.Fatalf("signed delivery %d during the flood: %d %s", i, r.status, r.body)
		}
	}
	body := []byte(`{"ref": "refs/heads/main", "after": "over"}`)
	if r := send(t, github, githubHook(url, "gh-over", trigger.Sign(secret, body), body)); r.status != http.StatusTooManyRequests || r.retry == "" {
		t.Errorf("the 4th signed delivery of a 3 per hour trigger: %d %s", r.status, r.body)
	}
	if n := a.countRuns("hello"); n != 3 {
		t.Errorf("%d runs, want 3", n)
	}
}

// replayCase is one kind of webhook and how its sender signs.
type replayCase struct {
	name, src string
	// request builds a signed request; id "" sends no delivery id; variant
	// spells the signature or token another valid way.
	request func(url, id string, body []byte, variant bool) *http.Request
}

func replayCases(secret string) []replayCase {
	return []replayCase{
		{"github", "kind: github\nsecret: " + secret, func(url, id string, body []byte, variant bool) *http.Request {
			sig := trigger.Sign(secret, body)
			if variant {
				sig = "SHA256=" + strings.ToUpper(strings.TrimPrefix(sig, "sha256="))
			}
			return githubHook(url, id, sig, body)
		}},
		{"gitlab", "kind: gitlab\nsecret: " + secret, func(url, id string, body []byte, variant bool) *http.Request {
			req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
			req.Header.Set("X-Gitlab-Event", "Push Hook")
			req.Header.Set("X-Gitlab-Token", secret)
			if id != "" && variant {
				req.Header.Set("X-Gitlab-Event-UUID", id)
			} else if id != "" {
				req.Header.Set("Idempotency-Key", id)
			}
			return req
		}},
		{"generic-hmac", "kind: generic\nsecret: " + secret, func(url, id string, body []byte, variant bool) *http.Request {
			req, _ := http.NewRequest("POST", url+"?event=deploy", bytes.NewReader(body))
			sig := trigger.Sign(secret, body)
			if variant {
				sig = strings.ToUpper(strings.TrimPrefix(sig, "sha256=")) // bare hex, upper case
				req.Header.Set("X-Event", "another-event")
			}
			req.Header.Set("X-Signature-256", sig)
			if id != "" {
				req.Header.Set("X-Delivery-Id", id)
			}
			return req
		}},
		{"generic-bearer", "kind: generic\nauth: bearer\nsecret: " + secret, func(url, id string, body []byte, variant bool) *http.Request {
			req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
			scheme := "Bearer "
			if variant {
				scheme = "bearer  "
			}
			req.Header.Set("Authorization", scheme+secret)
			if id != "" {
				req.Header.Set("Idempotency-Key", id)
			}
			return req
		}},
	}
}

// TestHookReplayIsDuplicate: a captured signed request sent again, with a
// new delivery id, without one, or with its signature or token spelled
// another valid way, is a duplicate: 200, nothing started, nothing stored,
// and it does not use up the trigger's rate. A new body is a new event.
func TestHookReplayIsDuplicate(t *testing.T) {
	const secret = "replay-test-secret"
	for _, tc := range replayCases(secret) {
		t.Run(tc.name, func(t *testing.T) {
			a := newAPI(t)
			a.do("PUT", "/api/v1/compositions/hello", helloYAML, http.StatusCreated, nil)
			a.putTrigger("hook", "name: hook\n"+tc.src+"\nrate: {events: 3, per: 1h, burst: 3}\nrules:\n  - run: {composition: hello}\n")
			url := a.srv.URL + "/hooks/hook"
			body := []byte(`{"ref": "refs/heads/main", "after": "6113728f27ae82c7b1a177c8d03f9e96e0adf246"}`)
			if w := a.triggerInfo("hook").ReplayWindow; w != "24h" {
				t.Errorf("replay_window shown as %q, want the default 24h", w)
			}

			if r := send(t, http.DefaultClient, tc.request(url, "first", body, false)); r.status != http.StatusAccepted {
				t.Fatalf("first delivery: %d %s", r.status, r.body)
			}
			replays := []struct {
				what    string
				id      string
				variant bool
			}{
				{"the same request", "first", false},
				{"a new delivery id", "second", false},
				{"no delivery id", "", false},
				{"another spelling of the signature or token", "third", true},
				{"a new delivery id again", "fourth", false},
			}
			for _, rp := range replays {
				r := send(t, http.DefaultClient, tc.request(url, rp.id, body, rp.variant))
				var got struct{ Status string }
				json.Unmarshal([]byte(r.body), &got)
				if r.status != http.StatusOK || got.Status != "duplicate" || !strings.HasPrefix(r.ctype, "application/json") {
					t.Errorf("replay with %s: %d %s, want 200 {\"status\": \"duplicate\"}", rp.what, r.status, r.body)
				}
			}
			var evs struct{ Events []eventJSON }
			a.do("GET", "/api/v1/events?trigger=hook", "", http.StatusOK, &evs)
			if len(evs.Events) != 1 || a.countRuns("hello") != 1 {
				t.Errorf("after the replays: %d events and %d runs, want 1 and 1", len(evs.Events), a.countRuns("hello"))
			}
			// The replays took nothing of the rate of 3: two new bodies
			// are accepted, the next is over it.
			for i, want := range []int{http.StatusAccepted, http.StatusAccepted, http.StatusTooManyRequests} {
				b := []byte(fmt.Sprintf(`{"ref": "refs/heads/main", "n": %d}`, i))
				if r := send(t, http.DefaultClient, tc.request(url, "", b, false)); r.status != want {
					t.Errorf("new body %d: %d %s, want %d", i, r.status, r.body, want)
				}
			}
		})
	}
}

// TestHookOversizeBody: a body over the trigger's max_body gets 413 with a
// JSON error that names the limit, whether the sender announced its length
// or streamed it; nothing is stored.
func TestHookOversizeBody(t *testing.T) {
	a := newAPI(t)
	a.do("PUT", "/api/v1/compositions/hello", helloYAML, http.StatusCreated, nil)
	const secret = "size-test-secret"
	a.putTrigger("gh", "name: gh\nkind: github\nsecret: "+secret+"\nmax_body: 1KiB\nrules:\n  - run: {composition: hello}\n")
	a.putTrigger("ci", "name: ci\nkind: api\nmax_body: 1KiB\nrules:\n  - run: {composition: hello}\n")
	body := []byte(`{"pad": "` + strings.Repeat("x", 2000) + `"}`)
	tests := []struct {
		name string
		req  func() *http.Request
	}{
		{"github, with Content-Length", func() *http.Request {
			return githubHook(a.srv.URL+"/hooks/gh", "big-1", trigger.Sign(secret, body), body)
		}},
		{"github, streamed", func() *http.Request {
			req := githubHook(a.srv.URL+"/hooks/gh", "big-2", trigger.Sign(secret, body), nil)
			req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(body)), -1
			return req
		}},
		{"api event", func() *http.Request {
			req, _ := http.NewRequest("POST", a.srv.URL+"/api/v1/events/ci", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+a.token)
			return req
		}},
	}
	for _, tt := range tests {
		r := send(t, http.DefaultClient, tt.req())
		var e apiError
		if err := json.Unmarshal([]byte(r.body), &e); err != nil || r.status != http.StatusRequestEntityTooLarge ||
			!strings.HasPrefix(r.ctype, "application/json") || !strings.Contains(e.Error, "1 KiB") || !strings.Contains(e.Error, "max_body") {
			t.Errorf("%s: %d %s %q, want 413 with a JSON error naming the limit of 1 KiB and max_body", tt.name, r.status, r.ctype, r.body)
		}
	}
	var evs struct{ Events []eventJSON }
	a.do("GET", "/api/v1/events", "", http.StatusOK, &evs)
	if len(evs.Events) != 0 {
		t.Errorf("an oversize body was stored: %+v", evs.Events)
	}
}

// TestHookPayloadRedacted: a signed delivery whose payload holds
// credentials in nested objects, arrays, URLs, header maps, name/value
// lists and text keeps none of them, neither in GET /api/v1/events/{id}
// nor on the event's page, while ordinary fields stay.
func TestHookPayloadRedacted(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("..", "trigger", "testdata", "redact", "deployment.json"))
	if err != nil {
		t.Fatal(err)
	}
	secrets := readSecrets(t)
	a := newAPI(t)
	c := a.browserClient()
	a.login(c)
	a.do("PUT", "/api/v1/compositions/hello", helloYAML, http.StatusCreated, nil)
	const secret = "redact-test-secret"
	a.putTrigger("gh", "name: gh\nkind: github\nsecret: "+secret+"\nrules:\n  - run: {composition: hello, params: {who: \"${{ payload.sender.login }}\"}}\n")
	r := send(t, http.DefaultClient, githubHook(a.srv.URL+"/hooks/gh", "dep-1", trigger.Sign(secret, body), body))
	if r.status != http.StatusAccepted {
		t.Fatalf("signed delivery: %d %s", r.status, r.body)
	}
	var ev eventJSON
	json.Unmarshal([]byte(r.body), &ev)

	var raw string
	a.do("GET", fmt.Sprintf("/api/v1/events/%d", ev.ID), "", http.StatusOK, &raw)
	_, page := a.page(c, "GET", fmt.Sprintf("/events/%d", ev.ID), nil)
	shown := byTestID(t, page, "payload")
	if len(shown) != 1 {
		t.Fatalf("the event page shows %d payloads", len(shown))
	}
	pageText := textOf(shown[0])
	for _, s := range secrets {
		if strings.Contains(raw, s[1]) {
			t.Errorf("GET /api/v1/events/%d shows %s: %s", ev.ID, s[0], s[1])
		}
		if strings.Contains(page, s[1]) || strings.Contains(pageText, s[1]) {
			t.Errorf("the event page shows %s: %s", s[0], s[1])
		}
	}
	for _, kept := range []string{"db.internal.example.com", "baton-deployer", "eu-central-1", "kid-1", "SLACK_TOKEN",
		"#deploys", "https://git.example.com/platform/app.git", "registry.example.com/v2/app/manifests/2.4.1", "octocat"} {
		if !strings.Contains(raw, kept) || !strings.Contains(pageText, kept) {
			t.Errorf("%q is missing from the stored event (API or page)", kept)
		}
	}
	if !strings.Contains(raw, trigger.Redacted) || !strings.Contains(pageText, trigger.Redacted) {
		t.Errorf("no %s in the stored event", trigger.Redacted)
	}
}

// readSecrets reads the credentials of the redaction payload: pairs of
// where and value.
func readSecrets(t *testing.T) [][2]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "trigger", "testdata", "redact", "deployment.secrets"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][2]string
	for _, line := range strings.Split(string(raw), "\n") {
		if where, value, ok := strings.Cut(line, "\t"); ok && !strings.HasPrefix(line, "#") {
			out = append(out, [2]string{where, value})
		}
	}
	if len(out) < 15 {
		t.Fatalf("%d credentials in the payload, want at least 15", len(out))
	}
	return out
}

// TestHookSharedAddress: a sender that shares an address with a flood of
// refused requests (GitHub's delivery addresses, a NAT) still gets its
// signed deliveries through, and the flood only counts against the
// trigger it was sent to.
func TestHookSharedAddress(t *testing.T) {
	a := newAPI(t)
	a.do("PUT", "/api/v1/compositions/hello", helloYAML, http.StatusCreated, nil)
	const secret = "shared-address-secret"
	a.putTrigger("gh", "name: gh\nkind: github\nsecret: "+secret+"\nrules:\n  - run: {composition: hello}\n")
	a.putTrigger("other", "name: other\nkind: github\nsecret: "+secret+"\nrules:\n  - run: {composition: hello}\n")
	shared := clientFrom(t, "127.0.0.4")
	for i := range hookRefusedBurst + 5 {
		body := []byte(fmt.Sprintf(`{"n": %d}`, i))
		send(t, shared, githubHook(a.srv.URL+"/hooks/gh", fmt.Sprintf("junk-%d", i), "", body))
	}
	body := []byte(`{"ref": "refs/heads/main"}`)
	if r := send(t, shared, githubHook(a.srv.URL+"/hooks/gh", "", "", body)); r.status != http.StatusTooManyRequests {
		t.Fatalf("unsigned request over the budget: %d, want 429", r.status)
	}
	if r := send(t, shared, githubHook(a.srv.URL+"/hooks/gh", "forged", trigger.Sign("a guess", body), body)); r.status != http.StatusTooManyRequests {
		t.Errorf("badly signed request over the budget: %d, want 429", r.status)
	}
	if r := send(t, shared, githubHook(a.srv.URL+"/hooks/gh", "real", trigger.Sign(secret, body), body)); r.status != http.StatusAccepted {
		t.Errorf("signed delivery from the flooded address: %d %s, want 202", r.status, r.body)
	}
	if r := send(t, shared, githubHook(a.srv.URL+"/hooks/other", "", "", body)); r.status != http.StatusUnauthorized {
		t.Errorf("another trigger from the flooded address: %d, want 401 (its own budget)", r.status)
	}
}

// TestHookReplayWindowOff: with replay_window: off, the same body under a
// new delivery id is a new event; the same delivery id is still a
// duplicate.
func TestHookReplayWindowOff(t *testing.T) {
	a := newAPI(t)
	a.do("PUT", "/api/v1/compositions/hello", helloYAML, http.StatusCreated, nil)
	const secret = "ping-secret"
	a.putTrigger("pings", "name: pings\nkind: github\nsecret: "+secret+"\nreplay_window: off\nrules:\n  - run: {composition: hello}\n")
	body := []byte(`{}`)
	url := a.srv.URL + "/hooks/pings"
	for i, want := range []int{http.StatusAccepted, http.StatusAccepted, http.StatusOK} {
		id := []string{"p-1", "p-2", "p-2"}[i]
		if r := send(t, http.DefaultClient, githubHook(url, id, trigger.Sign(secret, body), body)); r.status != want {
			t.Fatalf("request %d (delivery %s): %d %s, want %d", i+1, id, r.status, r.body, want)
		}
	}
	if got := a.triggerInfo("pings"); got.ReplayWindow != "off" {
		t.Errorf("replay_window shown as %q", got.ReplayWindow)
	}
}

// TestTriggerSecretEnvOfEveryTask: a secret_env naming a variable every
// task inherits is refused (it would be taken from every task) with its
// line and column, and nothing is stored.
func TestTriggerSecretEnvOfEveryTask(t *testing.T) {
	a := newAPI(t)
	var body struct {
		Error   string
		Details []struct {
			Line, Column int
			Message      string
		}
	}
	a.do("PUT", "/api/v1/triggers/gh", "name: gh\nkind: github\nsecret_env: PATH\nrules:\n  - run: {composition: hello}\n", http.StatusUnprocessableEntity, &body)
	if len(body.Details) != 1 || body.Details[0].Line != 3 || !strings.Contains(body.Details[0].Message, "every task inherits") {
		t.Fatalf("answer: %+v", body)
	}
	a.do("GET", "/api/v1/triggers/gh", "", http.StatusNotFound, nil)
}
