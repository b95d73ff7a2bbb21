package trigger

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRequestDigest: the digest of a verified request stays the same for
// whatever a replay can change without the secret (the delivery id, the
// event header, how the signature or token is spelled) and changes with
// the body.
func TestRequestDigest(t *testing.T) {
	const secret = "digest-secret"
	body := []byte(`{"ref":"refs/heads/main","after":"da1560886d4f094c3e6c9ef40349f7d38b5d27d7"}`)
	other := []byte(`{"ref":"refs/heads/main","after":"0000000000000000000000000000000000000000"}`)
	hexSig := strings.TrimPrefix(Sign(secret, body), "sha256=")
	github := &Trigger{Name: "gh", Kind: GitHub, Secret: secret}
	gitlab := &Trigger{Name: "gl", Kind: GitLab, Secret: secret}
	hmacT := &Trigger{Name: "g", Kind: Generic, Secret: secret, Auth: GenericAuth{Mode: AuthHMAC, Header: DefaultSignatureHeader}}
	bearer := &Trigger{Name: "b", Kind: Generic, Secret: secret, Auth: GenericAuth{Mode: AuthBearer}}
	tests := []struct {
		name     string
		tr       *Trigger
		original *http.Request
		replays  []*http.Request
	}{
		{"github", github, githubRequest("push", "application/json", body, "sha256="+hexSig), []*http.Request{
			withHeaders(githubRequest("push", "application/json", body, "SHA256="+strings.ToUpper(hexSig)), "X-GitHub-Delivery", "new-id"),
			withHeaders(githubRequest("release", "application/json", body, "sha256="+hexSig), "X-GitHub-Delivery", ""),
		}},
		{"gitlab", gitlab, gitlabRequest("Push Hook", secret, body), []*http.Request{
			withHeaders(gitlabRequest("Tag Push Hook", secret, body), "X-Gitlab-Event-UUID", "new-id"),
			withHeaders(gitlabRequest("Push Hook", secret, body), "Idempotency-Key", "another"),
		}},
		{"generic hmac", hmacT, genericRequest("/hooks/g", body, map[string]string{"X-Signature-256": "sha256=" + hexSig}), []*http.Request{
			genericRequest("/hooks/g?event=other", body, map[string]string{"X-Signature-256": strings.ToUpper(hexSig), "X-Delivery-Id": "x"}),
			genericRequest("/hooks/g", body, map[string]string{"X-Signature-256": " sha256=" + hexSig + " ", "X-Event": "e"}),
		}},
		{"generic bearer", bearer, genericRequest("/hooks/b", body, map[string]string{"Authorization": "Bearer " + secret}), []*http.Request{
			genericRequest("/hooks/b", body, map[string]string{"Authorization": "bearer  " + secret, "Idempotency-Key": "k"}),
		}},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		d, err := tt.tr.Verify(tt.original, body)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if len(d.Digest) != 64 {
			t.Fatalf("%s: digest %q is not a hex SHA-256", tt.name, d.Digest)
		}
		if prev, dup := seen[d.Digest]; dup {
			t.Errorf("%s and %s give the same digest", tt.name, prev)
		}
		seen[d.Digest] = tt.name
		for i, r := range tt.replays {
			rd, err := tt.tr.Verify(r, body)
			if err != nil {
				t.Fatalf("%s replay %d: %v", tt.name, i, err)
			}
			if rd.Digest != d.Digest {
				t.Errorf("%s replay %d: digest %s, want the original's %s", tt.name, i, rd.Digest, d.Digest)
			}
		}
		// The same request with another body is another request.
		var r *http.Request
		switch tt.tr {
		case github:
			r = githubRequest("push", "application/json", other, Sign(secret, other))
		case gitlab:
			r = gitlabRequest("Push Hook", secret, other)
		case hmacT:
			r = genericRequest("/hooks/g", other, map[string]string{"X-Signature-256": Sign(secret, other)})
		default:
			r = genericRequest("/hooks/b", other, map[string]string{"Authorization": "Bearer " + secret})
		}
		od, err := tt.tr.Verify(r, other)
		if err != nil {
			t.Fatalf("%s other body: %v", tt.name, err)
		}
		if od.Digest == d.Digest {
			t.Errorf("%s: another body gives the same digest", tt.name)
		}
	}
}

// withHeaders sets headers on r, pairs of name and value; "" removes one.
func withHeaders(r *http.Request, kv ...string) *http.Request {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			r.Header.Del(kv[i])
		} else {
			r.Header.Set(kv[i], kv[i+1])
		}
	}
	return r
}

func TestParseReplayWindow(t *testing.T) {
	const hook = "name: h\nkind: github\nsecret: s\nrules: [{run: {composition: b}}]\n"
	tests := []struct {
		src     string
		want    time.Duration
		problem string
	}{
		{hook, 0, ""},
		{hook + "replay_window: 90m\n", 90 * time.Minute, ""},
		{hook + "replay_window: 7d\n", 7 * 24 * time.Hour, ""},
		{hook + "replay_window: 720h\n", 30 * 24 * time.Hour, ""},
		{hook + "replay_window: 1m\n", time.Minute, ""},
		{hook + "replay_window: off\n", ReplayOff, ""},
		{hook + "replay_window: \"off\"\n", ReplayOff, ""},
		{hook + "replay_window: 30s\n", 0, `5:16: replay_window must be off or between 1m and 30d (720h), not "30s"`},
		{hook + "replay_window: 31d\n", 0, `5:16: replay_window must be off or between 1m and 30d (720h), not "31d"`},
		{hook + "replay_window: 99999999999999999999d\n", 0, `5:16: replay_window must be off or between 1m and 30d (720h)`},
		{hook + "replay_window: forever\n", 0, `5:16: replay_window must be off or a duration such as 30m, 24h or 7d, not "forever"`},
		{hook + "replay_window: 24\n", 0, `5:16: replay_window must be a duration with a unit, such as 24h or 7d, not the bare number 24`},
		{hook + "replay_window: [1h]\n", 0, `5:16: replay_window must be off or between 1m and 30d (720h), such as 24h or 7d, not a list`},
		{"name: a\nkind: api\nreplay_window: 1h\nrules: [{run: {composition: b}}]\n", 0,
			"3:1: replay_window does not apply to api triggers, only to github, gitlab and generic ones; remove it"},
	}
	for _, tt := range tests {
		tr, probs := Parse("t.yaml", []byte(tt.src), testEnv)
		if tt.problem == "" {
			if len(probs) > 0 || tr.ReplayWindow != tt.want {
				t.Errorf("%q: window %v, problems %v; want %v", tt.src, tr.ReplayWindow, probs, tt.want)
			}
			continue
		}
		if len(probs) != 1 || !strings.HasPrefix(strings.TrimPrefix(probs[0].String(), "t.yaml:"), tt.problem) {
			t.Errorf("%q: problems %v, want one starting %q", tt.src, probs, tt.problem)
		}
	}
	if w := (&Trigger{}).DigestWindow(); w != 24*time.Hour {
		t.Errorf("default window = %v", w)
	}
	if w := (&Trigger{ReplayWindow: time.Hour}).DigestWindow(); w != time.Hour {
		t.Errorf("window = %v", w)
	}
	if w := (&Trigger{ReplayWindow: ReplayOff}).DigestWindow(); w != 0 {
		t.Errorf("window with replay_window: off = %v", w)
	}
}
