package trigger

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"baton/composition"
)

const ghSecret = "It's a Secret to Everybody"

func githubPayload(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "github", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// githubSign signs body as GitHub does, written out here rather than with
// Sign so that the test checks Sign too.
func githubSign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func githubRequest(event, contentType string, body []byte, sig string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/hooks/github-app", strings.NewReader(string(body)))
	r.Header.Set("Content-Type", contentType)
	r.Header.Set("User-Agent", "GitHub-Hookshot/044aadd")
	r.Header.Set("X-GitHub-Event", event)
	r.Header.Set("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
	r.Header.Set("X-GitHub-Hook-ID", "292430182")
	r.Header.Set("Authorization", "Bearer must-not-leak")
	if sig != "" {
		r.Header.Set("X-Hub-Signature-256", sig)
	}
	return r
}

func TestSignMatchesGitHub(t *testing.T) {
	// The example from GitHub's documentation on validating deliveries.
	got := Sign(ghSecret, []byte("Hello, World!"))
	if want := "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"; got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

func TestVerifyGitHub(t *testing.T) {
	tr := &Trigger{Name: "github-app", Kind: GitHub, Secret: ghSecret}
	tests := []struct {
		event, key, want string
	}{
		{"push", "ref", "refs/heads/master"},
		{"pull_request", "action", "opened"},
		{"release", "action", "published"},
		{"ping", "zen", "Anything added dilutes everything else."},
	}
	for _, tt := range tests {
		body := githubPayload(t, tt.event)
		t.Run(tt.event+" json", func(t *testing.T) {
			r := githubRequest(tt.event, "application/json", body, githubSign(ghSecret, body))
			d, err := tr.Verify(r, body)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			checkDelivery(t, d, tt.event, tt.key, tt.want)
		})
		t.Run(tt.event+" form", func(t *testing.T) {
			form := []byte("payload=" + url.QueryEscape(string(body)))
			r := githubRequest(tt.event, "application/x-www-form-urlencoded", form, githubSign(ghSecret, form))
			d, err := tr.Verify(r, form)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			checkDelivery(t, d, tt.event, tt.key, tt.want)
		})
	}
}

func checkDelivery(t *testing.T, d *Delivery, event, key, want string) {
	t.Helper()
	if d.Event != event || d.ID != "72d3162e-cc78-11e3-81ab-4c9367dc0958" {
		t.Errorf("event, id = %q, %q", d.Event, d.ID)
	}
	p, ok := d.Payload.(map[string]any)
	if !ok || p[key] != want {
		t.Errorf("payload[%s] = %v", key, p[key])
	}
	wantHeaders := map[string]string{
		"content-type": d.Headers["content-type"], "user-agent": "GitHub-Hookshot/044aadd",
		"x-github-event": event, "x-github-delivery": d.ID, "x-github-hook-id": "292430182",
	}
	if len(d.Headers) != len(wantHeaders) {
		t.Errorf("headers = %v", d.Headers)
	}
	for k, v := range wantHeaders {
		if d.Headers[k] != v {
			t.Errorf("headers[%s] = %q, want %q", k, d.Headers[k], v)
		}
	}
}

func TestVerifyGitHubRejects(t *testing.T) {
	tr := &Trigger{Name: "github-app", Kind: GitHub, Secret: ghSecret}
	body := githubPayload(t, "push")
	tampered := []byte(strings.Replace(string(body), "refs/heads/master", "refs/heads/mister", 1))
	good := githubSign(ghSecret, body)
	tests := []struct {
		name      string
		sig       string
		body      []byte
		wantInMsg string
	}{
		{"missing header", "", body, "missing X-Hub-Signature-256 header"},
		{"other secret", githubSign("another secret", body), body, "X-Hub-Signature-256 does not match the body"},
		{"tampered body", good, tampered, "X-Hub-Signature-256 does not match the body"},
		{"no sha256= prefix", strings.TrimPrefix(good, "sha256="), body, "does not match"},
		{"sha1", "sha1=" + strings.TrimPrefix(good, "sha256=")[:40], body, "does not match"},
		{"not hex", "sha256=zz", body, "does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tr.Verify(githubRequest("push", "application/json", tt.body, tt.sig), tt.body)
			var ae *AuthError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v (%T), want *AuthError", err, err)
			}
			if !strings.Contains(ae.Message, tt.wantInMsg) || strings.Contains(ae.Message, ghSecret) {
				t.Errorf("message = %q", ae.Message)
			}
		})
	}
}

func TestVerifyBadRequests(t *testing.T) {
	gh := &Trigger{Name: "github-app", Kind: GitHub, Secret: ghSecret}
	notJSON := []byte("ref=refs/heads/main")
	form := []byte("other=1")
	noEvent := githubRequest("", "application/json", []byte("{}"), githubSign(ghSecret, []byte("{}")))
	noEvent.Header.Del("X-GitHub-Event")
	tests := []struct {
		name string
		r    *http.Request
		body []byte
		want string
	}{
		{"not json", githubRequest("push", "application/json", notJSON, githubSign(ghSecret, notJSON)), notJSON, "the body is not valid JSON"},
		{"form without payload", githubRequest("push", "application/x-www-form-urlencoded", form, githubSign(ghSecret, form)), form, "no payload field"},
		{"no event", noEvent, []byte("{}"), "missing X-GitHub-Event header"},
		{"bad event", githubRequest("push\nx", "application/json", []byte("{}"), githubSign(ghSecret, []byte("{}"))), []byte("{}"), "event name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := gh.Verify(tt.r, tt.body)
			var be *BadRequestError
			if !errors.As(err, &be) || !strings.Contains(be.Message, tt.want) {
				t.Errorf("err = %v (%T), want *BadRequestError with %q", err, err, tt.want)
			}
		})
	}
}

func gitlabRequest(event, token string, body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/hooks/gitlab", strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Gitlab-Event", event)
	r.Header.Set("X-Gitlab-Instance", "https://gitlab.example.com")
	r.Header.Set("X-Gitlab-Event-UUID", "13792a34-cac6-4fda-95a8-c58e00a3954e")
	if token != "" {
		r.Header.Set("X-Gitlab-Token", token)
	}
	return r
}

func TestVerifyGitLab(t *testing.T) {
	tr := &Trigger{Name: "gitlab", Kind: GitLab, Secret: "glpat-like-token"}
	body := []byte(`{"object_kind":"push","ref":"refs/heads/main","checkout_sha":"da1560886d4f094c3e6c9ef40349f7d38b5d27d7"}`)
	events := map[string]string{
		"Push Hook":                  "push",
		"Tag Push Hook":              "tag_push",
		"Merge Request Hook":         "merge_request",
		"Pipeline Hook":              "pipeline",
		"Job Hook":                   "job",
		"Note Hook":                  "note",
		"System Hook":                "system",
		"Resource Access Token Hook": "resource_access_token",
	}
	for header, want := range events {
		d, err := tr.Verify(gitlabRequest(header, "glpat-like-token", body), body)
		if err != nil {
			t.Fatalf("%s: %v", header, err)
		}
		if d.Event != want || d.ID != "13792a34-cac6-4fda-95a8-c58e00a3954e" {
			t.Errorf("%s: event, id = %q, %q; want %q", header, d.Event, d.ID, want)
		}
		if d.Headers["x-gitlab-instance"] != "https://gitlab.example.com" || d.Headers["x-gitlab-token"] != "" {
			t.Errorf("headers = %v", d.Headers)
		}
	}
	r := gitlabRequest("Push Hook", "glpat-like-token", body)
	r.Header.Set("Idempotency-Key", "f6b1b1a3-retry-stable")
	if d, err := tr.Verify(r, body); err != nil || d.ID != "f6b1b1a3-retry-stable" {
		t.Errorf("with Idempotency-Key: %v, %v", d, err)
	}
	for _, token := range []string{"", "glpat-like-toke", "glpat-like-token2", "GLPAT-LIKE-TOKEN"} {
		_, err := tr.Verify(gitlabRequest("Push Hook", token, body), body)
		var ae *AuthError
		if !errors.As(err, &ae) || !strings.Contains(ae.Message, "X-Gitlab-Token") || strings.Contains(ae.Message, tr.Secret) {
			t.Errorf("token %q: err = %v", token, err)
		}
	}
}

func genericRequest(target string, body []byte, headers map[string]string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		r.Header.Set(k, v)
	}
	return r
}

func TestVerifyGeneric(t *testing.T) {
	hmacTrigger := &Trigger{Name: "g", Kind: Generic, Secret: "k3y", Auth: GenericAuth{Mode: AuthHMAC, Header: DefaultSignatureHeader}}
	custom := &Trigger{Name: "g", Kind: Generic, Secret: "k3y", Auth: GenericAuth{Mode: AuthHMAC, Header: "X-Delivery-Id"}}
	bearer := &Trigger{Name: "g", Kind: Generic, Secret: "k3y", Auth: GenericAuth{Mode: AuthBearer}}
	body := []byte(`{"env":"prod","version":"1.2.3"}`)
	sig := Sign("k3y", body)
	tests := []struct {
		name      string
		tr        *Trigger
		target    string
		headers   map[string]string
		wantEvent string
		wantID    string
		wantErr   string // "auth" or "bad request"
	}{
		{"hmac with prefix", hmacTrigger, "/hooks/g", map[string]string{"X-Signature-256": sig, "X-Event": "deploy", "X-Delivery-Id": "d-1"}, "deploy", "d-1", ""},
		{"hmac bare hex", hmacTrigger, "/hooks/g?event=release", map[string]string{"X-Signature-256": strings.TrimPrefix(sig, "sha256="), "Idempotency-Key": "i-1"}, "release", "i-1", ""},
		{"hmac default event", hmacTrigger, "/hooks/g", map[string]string{"X-Signature-256": sig}, "webhook", "", ""},
		{"custom header", custom, "/hooks/g", map[string]string{"X-Delivery-Id": sig}, "webhook", "", ""},
		{"hmac wrong", hmacTrigger, "/hooks/g", map[string]string{"X-Signature-256": Sign("other", body)}, "", "", "auth"},
		{"hmac missing", hmacTrigger, "/hooks/g", nil, "", "", "auth"},
		{"hmac in Authorization", hmacTrigger, "/hooks/g", map[string]string{"Authorization": "Bearer k3y"}, "", "", "auth"},
		{"bearer", bearer, "/hooks/g", map[string]string{"Authorization": "Bearer k3y", "X-Event": "build.done"}, "build.done", "", ""},
		{"bearer lower-case scheme", bearer, "/hooks/g", map[string]string{"Authorization": "bearer k3y"}, "webhook", "", ""},
		{"bearer wrong", bearer, "/hooks/g", map[string]string{"Authorization": "Bearer k3y2"}, "", "", "auth"},
		{"bearer basic", bearer, "/hooks/g", map[string]string{"Authorization": "Basic k3y"}, "", "", "auth"},
		{"bearer missing", bearer, "/hooks/g", map[string]string{"X-Signature-256": sig}, "", "", "auth"},
		{"bad event", bearer, "/hooks/g?event=a%20b", map[string]string{"Authorization": "Bearer k3y"}, "", "", "bad request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := tt.tr.Verify(genericRequest(tt.target, body, tt.headers), body)
			var ae *AuthError
			var be *BadRequestError
			switch tt.wantErr {
			case "auth":
				if !errors.As(err, &ae) || strings.Contains(ae.Message, "k3y") {
					t.Errorf("err = %v, want *AuthError without the secret", err)
				}
				return
			case "bad request":
				if !errors.As(err, &be) {
					t.Errorf("err = %v, want *BadRequestError", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if d.Event != tt.wantEvent || d.ID != tt.wantID || d.Payload.(map[string]any)["env"] != "prod" {
				t.Errorf("delivery = %+v", d)
			}
			for k := range d.Headers {
				if k == "authorization" || k == "x-signature-256" || strings.EqualFold(k, tt.tr.Auth.Header) {
					t.Errorf("header %s kept", k)
				}
			}
		})
	}
}

func TestVerifyEmptyBody(t *testing.T) {
	tr := &Trigger{Name: "g", Kind: Generic, Secret: "k3y", Auth: GenericAuth{Mode: AuthBearer}}
	d, err := tr.Verify(genericRequest("/hooks/g", nil, map[string]string{"Authorization": "Bearer k3y"}), nil)
	if err != nil || d.Payload != nil {
		t.Errorf("Verify(empty) = %+v, %v", d, err)
	}
}

func TestVerifyNotWebhooks(t *testing.T) {
	for _, k := range []Kind{API, Schedule, Runs} {
		tr := &Trigger{Name: "x", Kind: k, Secret: "s"}
		_, err := tr.Verify(genericRequest("/hooks/x", nil, nil), nil)
		var ae *AuthError
		if err == nil || errors.As(err, &ae) || !strings.Contains(err.Error(), "not webhooks") {
			t.Errorf("%s: err = %v", k, err)
		}
	}
	noSecret := &Trigger{Name: "x", Kind: GitHub}
	_, err := noSecret.Verify(githubRequest("push", "application/json", []byte("{}"), Sign("", []byte("{}"))), []byte("{}"))
	var ae *AuthError
	if !errors.As(err, &ae) {
		t.Errorf("no secret: err = %v, want *AuthError", err)
	}
}

// TestRulesOverDelivery runs a parsed trigger's rules against a verified
// delivery with composition's evaluator, as the engine will.
func TestRulesOverDelivery(t *testing.T) {
	src := []byte(`name: github-app
kind: github
secret_env: GITHUB_WEBHOOK_SECRET
rules:
  - name: build master
    when: event == "push" && payload.ref == "refs/heads/master" && headers["x-github-event"] == "push"
    run:
      composition: build
      params: {version: "${{ payload.after }}", repo: "${{ payload.repository.full_name }}", by: "${{ trigger }}/${{ delivery }}"}
  - name: releases
    when: event == "release"
    run: {composition: ship}
`)
	tr, probs := Parse("t.yaml", src, testEnv)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	body := githubPayload(t, "push")
	d, err := tr.Verify(githubRequest("push", "application/json", body, Sign("gh-secret", body)), body)
	if err != nil {
		t.Fatal(err)
	}
	env := d.Env(tr.Name)
	var fired []string
	for _, rule := range tr.Rules {
		ok, err := composition.EvalBool(rule.When, env)
		if err != nil {
			t.Fatalf("%s: %v", rule.Name, err)
		}
		if ok {
			fired = append(fired, rule.Name)
		}
	}
	if strings.Join(fired, ",") != "build master" {
		t.Fatalf("fired %v", fired)
	}
	got, err := tr.Rules[0].Run.ResolveParams(env)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"version": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
		"repo":    "Codertocat/Hello-World",
		"by":      "github-app/72d3162e-cc78-11e3-81ab-4c9367dc0958",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("param %s = %v, want %v", k, got[k], v)
		}
	}
}
