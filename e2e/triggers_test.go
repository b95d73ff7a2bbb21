package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sign returns GitHub's X-Hub-Signature-256 of a body.
func sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// postHook sends a webhook as GitHub does and returns the status and body.
func postHook(t *testing.T, url, event, delivery, signature string, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/e2e")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", delivery)
	if signature != "" {
		req.Header.Set("X-Hub-Signature-256", signature)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestSignedPushStartsBuildThenPackage: a signed push (a real GitHub
// payload) starts the build composition; the build's success starts the
// package composition through a rule on run.finished. Redelivery starts
// nothing twice, a bad signature is refused and leaves nothing behind.
func TestSignedPushStartsBuildThenPackage(t *testing.T) {
	const secret = "e2e-webhook-secret"
	t.Setenv("E2E_GITHUB_SECRET", secret)
	dir := t.TempDir()
	comps := filepath.Join(dir, "compositions")
	writeFile(t, filepath.Join(comps, "build.yaml"), `name: build
params:
  version: {type: string, required: true}
  repo: {type: string, required: true}
tasks:
  - id: compile
    env: {VERSION: "${{ params.version }}", REPO: "${{ params.repo }}"}
    run: |
      echo "building $REPO at $VERSION"
      echo "artifact=app-$VERSION.tar" >> "$BATON_OUTPUT"
`)
	writeFile(t, filepath.Join(comps, "package.yaml"), `name: package
params:
  version: {type: string, required: true}
  artifact: {type: string, required: true}
tasks:
  - id: pack
    env: {ARTIFACT: "${{ params.artifact }}"}
    run: echo "packaging $ARTIFACT"
`)
	writeFile(t, filepath.Join(comps, "triggers", "github.yaml"), `name: github
kind: github
secret_env: E2E_GITHUB_SECRET
rules:
  - name: build main
    when: 'event == "push" && payload.ref == "refs/heads/main"'
    run:
      composition: build
      params: {version: "${{ payload.after }}", repo: "${{ payload.repository.full_name }}"}
  - name: broken rule
    when: 'event == "push"'
    run: {composition: does-not-exist}
`)
	writeFile(t, filepath.Join(comps, "triggers", "pipeline.yaml"), `name: pipeline
kind: runs
rules:
  - name: package what built
    when: 'payload.composition == "build" && payload.status == "succeeded"'
    run:
      composition: package
      params: {version: "${{ payload.params.version }}", artifact: "${{ payload.outputs.artifact }}"}
`)
	s := startServer(t, filepath.Join(dir, "data"), "--compositions", comps)

	raw, err := os.ReadFile("../trigger/testdata/github/push.json")
	if err != nil {
		t.Fatal(err)
	}
	var payload map[string]any
	if err := json.Unmarshal(raw, &payload); err != nil {
		t.Fatal(err)
	}
	payload["ref"] = "refs/heads/main"
	body, _ := json.Marshal(payload)
	after := payload["after"].(string)
	hook := s.url + "/hooks/github"

	// A bad signature: 401, nothing stored.
	if code, msg := postHook(t, hook, "push", "d-bad", sign("wrong secret", body), body); code != http.StatusUnauthorized || strings.Contains(msg, secret) {
		t.Fatalf("bad signature: %d %s", code, msg)
	}
	if code, _ := postHook(t, hook, "push", "d-none", "", body); code != http.StatusUnauthorized {
		t.Fatalf("missing signature: %d", code)
	}
	var events struct{ Events []struct{ ID int64 } }
	s.call("GET", "/api/v1/events", "", 200, &events)
	if len(events.Events) != 0 {
		t.Fatalf("a refused request was stored: %+v", events)
	}

	// The signed push.
	code, msg := postHook(t, hook, "push", "delivery-1", sign(secret, body), body)
	if code != http.StatusAccepted {
		t.Fatalf("signed push: %d %s", code, msg)
	}
	var ev struct {
		ID      int64
		Runs    []int64
		Results []struct {
			Rule    string
			Matched bool
			Error   string
		}
	}
	json.Unmarshal([]byte(msg), &ev)
	if len(ev.Runs) != 1 || len(ev.Results) != 2 || ev.Results[1].Error == "" || !strings.Contains(ev.Results[1].Error, "does-not-exist") {
		t.Fatalf("event = %s", msg)
	}
	build := s.waitFor(ev.Runs[0], "an end", func(r apiRun) bool { return r.Status == "succeeded" || r.Status == "failed" })
	if build.Status != "succeeded" || !strings.Contains(s.logText(build.ID), "building Codertocat/Hello-World at "+after) {
		t.Fatalf("build: %+v\n%s", build, s.logText(build.ID))
	}

	// Its success starts package.
	var runs struct {
		Runs []struct {
			ID     int64
			Params map[string]any
		}
	}
	for i := 0; i < 200 && len(runs.Runs) == 0; i++ {
		s.call("GET", "/api/v1/runs?composition=package", "", 200, &runs)
		if len(runs.Runs) == 0 {
			waitABit()
		}
	}
	if len(runs.Runs) != 1 || runs.Runs[0].Params["version"] != after {
		t.Fatalf("package runs = %+v", runs)
	}
	pkg := s.waitFor(runs.Runs[0].ID, "an end", func(r apiRun) bool { return r.Status == "succeeded" || r.Status == "failed" })
	if pkg.Status != "succeeded" || !strings.Contains(s.logText(pkg.ID), fmt.Sprintf("packaging app-%s.tar", after)) {
		t.Fatalf("package: %+v\n%s", pkg, s.logText(pkg.ID))
	}

	// Redelivery of the same delivery id: nothing starts again.
	code, msg = postHook(t, hook, "push", "delivery-1", sign(secret, body), body)
	if code != http.StatusOK || !strings.Contains(msg, "duplicate") {
		t.Fatalf("redelivery: %d %s", code, msg)
	}
	var builds struct{ Runs []struct{ ID int64 } }
	s.call("GET", "/api/v1/runs?composition=build", "", 200, &builds)
	if len(builds.Runs) != 1 {
		t.Fatalf("redelivery started another build: %+v", builds)
	}

	// A push to another branch matches no build rule; replaying the stored
	// event judges the rules again.
	payload["ref"] = "refs/heads/feature"
	body, _ = json.Marshal(payload)
	code, msg = postHook(t, hook, "push", "delivery-2", sign(secret, body), body)
	if code != http.StatusAccepted {
		t.Fatalf("feature push: %d %s", code, msg)
	}
	json.Unmarshal([]byte(msg), &ev)
	if len(ev.Runs) != 0 {
		t.Fatalf("a feature push started runs: %s", msg)
	}
	var replay struct {
		ID       int64
		ReplayOf int64 `json:"replay_of"`
	}
	s.call("POST", fmt.Sprintf("/api/v1/events/%d/replay", ev.ID), "", 201, &replay)
	if replay.ReplayOf != ev.ID {
		t.Errorf("replay = %+v", replay)
	}
	var stored struct {
		Payload map[string]any
	}
	s.call("GET", fmt.Sprintf("/api/v1/events/%d", ev.ID), "", 200, &stored)
	if stored.Payload["ref"] != "refs/heads/feature" {
		t.Errorf("stored payload = %v", stored.Payload["ref"])
	}
}

// TestCompositionSchedulesListed: the examples' nightly-cleanup declares
// two schedules; the real server lists them as triggers with their next
// times, and refuses to delete them as triggers.
func TestCompositionSchedulesListed(t *testing.T) {
	dir := t.TempDir()
	examples, _ := filepath.Abs("../examples")
	s := startServer(t, filepath.Join(dir, "data"), "--compositions", examples)
	var list struct {
		Triggers []struct {
			Name, Composition, Schedule, Timezone string
			Next                                  []time.Time
		}
	}
	s.call("GET", "/api/v1/triggers", "", 200, &list)
	found := 0
	for _, tr := range list.Triggers {
		if tr.Composition != "nightly-cleanup" {
			continue
		}
		found++
		if len(tr.Next) != 3 || tr.Timezone != "Europe/Berlin" || !strings.HasPrefix(tr.Name, "nightly-cleanup:schedule-") {
			t.Errorf("schedule trigger %+v", tr)
		}
	}
	if found != 2 {
		t.Fatalf("found %d schedules of nightly-cleanup among %+v", found, list.Triggers)
	}
	s.call("DELETE", "/api/v1/triggers/nightly-cleanup:schedule-1", "", 409, nil)
}

// fromAddr returns a client whose connections come from ip, a loopback
// address, so that one test can play a second sender.
func fromAddr(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}

// hookFrom sends a GitHub push from client c and returns the status, the
// content type and the body.
func hookFrom(t *testing.T, c *http.Client, url, delivery, signature string, body []byte) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	if delivery != "" {
		req.Header.Set("X-GitHub-Delivery", delivery)
	}
	if signature != "" {
		req.Header.Set("X-Hub-Signature-256", signature)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// page fetches a web page with the API token.
func (s *server) page(path string) string {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return string(b)
}

// TestWebhookHardening runs the webhook attacks of the security review
// against the real binary: an unsigned flood from one address does not
// make signed deliveries from another get 429; a captured signed request
// replayed with a new or no delivery id is a duplicate that starts
// nothing, also after the server was killed and started again; a body
// over max_body gets 413 JSON naming the limit; and credentials in a
// payload are stored nowhere.
func TestWebhookHardening(t *testing.T) {
	const secret = "e2e-hardening-secret"
	t.Setenv("E2E_HARDENING_SECRET", secret)
	dir := t.TempDir()
	comps := filepath.Join(dir, "compositions")
	writeFile(t, filepath.Join(comps, "build.yaml"), "name: build\ntasks:\n  - id: compile\n    run: echo building\n")
	writeFile(t, filepath.Join(comps, "triggers", "github.yaml"), `name: github
kind: github
secret_env: E2E_HARDENING_SECRET
max_body: 64KiB
rate: {events: 5, per: 1h, burst: 5}
rules:
  - name: build
    when: 'event == "push"'
    run: {composition: build}
`)
	s := startServer(t, filepath.Join(dir, "data"), "--compositions", comps)
	hook := s.url + "/hooks/github"
	builds := func() int {
		var runs struct{ Runs []struct{ ID int64 } }
		s.call("GET", "/api/v1/runs?composition=build", "", 200, &runs)
		return len(runs.Runs)
	}
	body, err := os.ReadFile("../trigger/testdata/github/push.json")
	if err != nil {
		t.Fatal(err)
	}
	github, attacker := http.DefaultClient, fromAddr("127.0.0.2")

	// An unsigned flood from another address: it is refused, then limited,
	// and GitHub's signed push still gets through.
	limited := 0
	for i := range 60 {
		forged := []byte(fmt.Sprintf(`{"ref": "refs/heads/main", "n": %d}`, i))
		code, _, msg := hookFrom(t, attacker, hook, fmt.Sprintf("forged-%d", i), "", forged)
		switch code {
		case http.StatusUnauthorized:
		case http.StatusTooManyRequests:
			limited++
		default:
			t.Fatalf("unsigned request %d: %d %s", i, code, msg)
		}
	}
	if limited == 0 {
		t.Error("60 unsigned requests from one address were never limited")
	}
	code, _, msg := hookFrom(t, github, hook, "delivery-1", sign(secret, body), body)
	if code != http.StatusAccepted {
		t.Fatalf("signed push after an unsigned flood: %d %s", code, msg)
	}

	// The captured push replayed with a new delivery id, and with none.
	for _, id := range []string{"delivery-2", ""} {
		code, ctype, msg := hookFrom(t, github, hook, id, sign(secret, body), body)
		if code != http.StatusOK || !strings.HasPrefix(ctype, "application/json") || !strings.Contains(msg, `"status":"duplicate"`) {
			t.Fatalf("replay with delivery id %q: %d %s", id, code, msg)
		}
	}
	if n := builds(); n != 1 {
		t.Fatalf("%d builds after the replays, want 1", n)
	}

	// Over max_body.
	big := []byte(`{"pad": "` + strings.Repeat("x", 70<<10) + `"}`)
	code, ctype, msg := hookFrom(t, github, hook, "big", sign(secret, big), big)
	if code != http.StatusRequestEntityTooLarge || !strings.HasPrefix(ctype, "application/json") || !strings.Contains(msg, "64 KiB") {
		t.Errorf("oversize body: %d %s %s", code, ctype, msg)
	}

	// Credentials in a payload.
	secrets, err := os.ReadFile("../trigger/testdata/redact/deployment.secrets")
	if err != nil {
		t.Fatal(err)
	}
	creds, err := os.ReadFile("../trigger/testdata/redact/deployment.json")
	if err != nil {
		t.Fatal(err)
	}
	code, _, msg = hookFrom(t, github, hook, "with-credentials", sign(secret, creds), creds)
	if code != http.StatusAccepted {
		t.Fatalf("payload with credentials: %d %s", code, msg)
	}
	var ev struct{ ID int64 }
	json.Unmarshal([]byte(msg), &ev)

	// Killed and started again: the replay is still known.
	s.kill()
	s.start()
	code, _, msg = hookFrom(t, github, hook, "delivery-3", sign(secret, body), body)
	if code != http.StatusOK || !strings.Contains(msg, `"status":"duplicate"`) {
		t.Fatalf("replay after a restart: %d %s", code, msg)
	}
	if n := builds(); n != 2 {
		t.Errorf("%d builds after the restart, want 2 (the push and the payload with credentials)", n)
	}

	var stored map[string]any
	s.call("GET", fmt.Sprintf("/api/v1/events/%d", ev.ID), "", 200, &stored)
	raw, _ := json.Marshal(stored)
	page := s.page(fmt.Sprintf("/events/%d", ev.ID))
	found := 0
	for _, line := range strings.Split(string(secrets), "\n") {
		where, value, ok := strings.Cut(line, "\t")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		found++
		if strings.Contains(string(raw), value) || strings.Contains(page, value) {
			t.Errorf("%s (%s) is stored", where, value)
		}
	}
	if found < 15 || !strings.Contains(string(raw), "db.internal.example.com") || !strings.Contains(page, "db.internal.example.com") {
		t.Errorf("%d credentials checked; ordinary fields kept: %v", found, strings.Contains(string(raw), "db.internal.example.com"))
	}
}
