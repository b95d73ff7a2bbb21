package trigger

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSecretKey(t *testing.T) {
	tests := map[string]bool{
		"secret": true, "Secret": true, "client_secret": true, "clientSecret": true, "webhook-secret": true,
		"secrets": true, "token": true, "access_token": true, "accessToken": true, "refresh_token": true,
		"GITHUB_TOKEN": true, "accesstoken": true, "tokens": true, "password": true, "db.password": true,
		"passwd": true, "passphrase": true, "password_hash": true, "token_value": true, "private_key": true,
		"privateKey": true, "PRIVATE_KEY": true, "privatekey": true, "api_key": true, "apiKey": true,
		"APIKey": true, "x-api-key": true, "X-API-Key": true, "apikey": true, "secret_key": true,
		"aws_secret_access_key": true, "signing_key": true, "authorization": true, "Proxy-Authorization": true,
		"credential": true, "credentials": true, "cookie": true, "Set-Cookie": true,
		"db_pwd": true, "basic_auth": true, "jwt": true, "id-jwt": true,

		"token_type": false, "tokens_count": false, "secret_scanning": false, "password_changed_at": false,
		"key": false, "public_key": false, "deploy_key": false, "ref": false, "author": false, "authorized": false,
		"keyboard": false, "monkey": false, "tokenizer": false, "secretary": false, "": false, "_": false,
		"secret_scanning_push_protection": false, "has_secrets_count": false,
		"oauth": false, "oauth_provider": false, "auth_method": false,
	}
	for key, want := range tests {
		if got := secretKey(key); got != want {
			t.Errorf("secretKey(%q) = %v, want %v (words %q)", key, got, want, keyWords(key))
		}
	}
}

func TestKeyWords(t *testing.T) {
	tests := map[string][]string{
		"accessToken":      {"access", "token"},
		"X-API-Key":        {"x", "api", "key"},
		"APIKey":           {"api", "key"},
		"client_secret":    {"client", "secret"},
		"oauth2Token":      {"oauth2", "token"},
		"HTTPServerSecret": {"http", "server", "secret"},
		"db.password":      {"db", "password"},
	}
	for key, want := range tests {
		if got := keyWords(key); !reflect.DeepEqual(got, want) {
			t.Errorf("keyWords(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestRedactGitHubPayload(t *testing.T) {
	var payload map[string]any
	if err := json.Unmarshal(githubPayload(t, "ping"), &payload); err != nil {
		t.Fatal(err)
	}
	// GitHub's payloads hold no secrets; add some where they could be.
	hook := payload["hook"].(map[string]any)
	hook["config"].(map[string]any)["secret"] = "hook-secret-value"
	payload["installation"] = map[string]any{"id": 1.0, "access_tokens_url": "https://x", "accessToken": "ghs_abc123"}
	payload["note"] = "deploy with token s3cr3t-v4lue please"
	payload["list"] = []any{"s3cr3t-v4lue", map[string]any{"password": 42.0, "has_password": true, "token_type": "bearer"}}

	before, _ := json.Marshal(payload)
	got := Redact(payload, "s3cr3t-v4lue", "").(map[string]any)
	after, _ := json.Marshal(payload)
	if string(before) != string(after) {
		t.Fatal("Redact changed its input")
	}

	cfg := got["hook"].(map[string]any)["config"].(map[string]any)
	if cfg["secret"] != Redacted || cfg["url"] != "https://smee.io/****************" || cfg["content_type"] != "json" {
		t.Errorf("hook config = %v", cfg)
	}
	inst := got["installation"].(map[string]any)
	if inst["accessToken"] != Redacted || inst["access_tokens_url"] != "https://x" || inst["id"] != 1.0 {
		t.Errorf("installation = %v", inst)
	}
	if got["note"] != "deploy with token [redacted] please" {
		t.Errorf("note = %v", got["note"])
	}
	list := got["list"].([]any)
	inner := list[1].(map[string]any)
	if list[0] != Redacted || inner["password"] != Redacted || inner["has_password"] != true || inner["token_type"] != "bearer" {
		t.Errorf("list = %v", list)
	}
	// Everything else is as it was.
	if got["zen"] != payload["zen"] || !reflect.DeepEqual(got["repository"], payload["repository"]) || !reflect.DeepEqual(got["sender"], payload["sender"]) {
		t.Error("Redact changed what holds no secret")
	}
}

func TestRedactShapes(t *testing.T) {
	headers := map[string]string{"authorization": "Bearer abc", "user-agent": "curl with abc"}
	got := Redact(headers, "abc").(map[string]string)
	if got["authorization"] != Redacted || got["user-agent"] != "curl with [redacted]" {
		t.Errorf("headers = %v", got)
	}
	if got := Redact([]string{"xabcx", "def"}, "abc"); !reflect.DeepEqual(got, []string{"x[redacted]x", "def"}) {
		t.Errorf("[]string = %v", got)
	}
	// A secret that holds another is hidden whole.
	if got := Redact("key=abc-long", "abc", "abc-long"); got != "key=[redacted]" {
		t.Errorf("nested secrets = %v", got)
	}
	for _, v := range []any{nil, 1.5, true, "plain"} {
		if got := Redact(v, "zzz"); got != v {
			t.Errorf("Redact(%v) = %v", v, got)
		}
	}
	if got := Redact("no secrets given"); got != "no secrets given" {
		t.Errorf("Redact without secrets = %v", got)
	}
	if s := Redact(map[string]any{"token": map[string]any{"a": 1.0}}).(map[string]any); s["token"] != Redacted {
		t.Errorf("a map under a secret key = %v", s)
	}
	if !strings.Contains(Redacted, "redacted") {
		t.Error("Redacted")
	}
}

// credentialValues reads testdata/redact/deployment.secrets: the
// credentials in deployment.json by where they sit; none may survive
// Redact. The handlers' and e2e tests read the same file.
func credentialValues(t *testing.T) []struct{ where, value string } {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "redact", "deployment.secrets"))
	if err != nil {
		t.Fatal(err)
	}
	var out []struct{ where, value string }
	for _, line := range strings.Split(string(raw), "\n") {
		where, value, ok := strings.Cut(line, "\t")
		if ok && !strings.HasPrefix(line, "#") {
			out = append(out, struct{ where, value string }{where, value})
		}
	}
	return out
}

// credentialKept are ordinary values of the same payload, by path, that
// Redact must leave as they are.
var credentialKept = []struct {
	path string
	want any
}{
	{"action", "created"},
	{"deployment.id", 1187.0},
	{"deployment.ref", "main"},
	{"deployment.environment", "production"},
	{"deployment.description", "Deploy app 2.4.1"},
	{"deployment.payload.db.host", "db.internal.example.com"},
	{"deployment.payload.db.port", 5432.0},
	{"deployment.payload.db.user", "app"},
	{"deployment.payload.monitoring.site", "datadoghq.eu"},
	{"deployment.payload.aws.region", "eu-central-1"},
	{"deployment.payload.oauth.client_id", "baton-deployer"},
	{"deployment.payload.oauth.scopes.1", "read:org"},
	{"deployment.payload.signing.private_key_id", "kid-1"},
	{"request.method", "POST"},
	{"request.headers.Content-Type", "application/json"},
	{"request.headers.Accept", "application/vnd.docker.distribution.manifest.v2+json"},
	{"mirrors.0", "https://git.example.com/platform/app.git"},
	{"steps.0.env.0.name", "SLACK_TOKEN"},
	{"steps.0.env.1.value", "#deploys"},
	{"steps.1.args.2", "-H"},
	{"steps.1.args.4", "https://app.example.com/healthz"},
	{"steps.2.args.1", "--password"},
	{"steps.2.args.4", "db.internal.example.com"},
	{"sender.login", "octocat"},
	{"sender.html_url", "https://github.com/octocat"},
}

// credentialKeptText are parts of strings that hold a credential, which
// stay around it.
var credentialKeptText = []struct{ path, part string }{
	{"request.url", "@registry.example.com/v2/app/manifests/2.4.1"},
	{"mirrors.1", "@git.backup.example.com/platform/app.git"},
	{"log", "https://api.example.com/hooks?access_token="},
	{"log", "&run=5 with curl -H 'Authorization: "},
	{"steps.1.args.3", "Authorization: Bearer "},
}

// credentialPayload reads testdata/redact/deployment.json.
func credentialPayload(t *testing.T) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "redact", "deployment.json"))
	if err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// at follows a dotted path of keys and list indexes.
func at(v any, path string) any {
	for _, part := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[part]
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// TestRedactCredentialPayload: a deployment payload with credentials in
// nested objects, arrays, URLs, header maps, name/value lists, command
// lines and free text keeps none of them, and keeps everything else.
func TestRedactCredentialPayload(t *testing.T) {
	creds := credentialValues(t)
	if len(creds) < 15 {
		t.Fatalf("the payload should hold at least 15 credentials, not %d", len(creds))
	}
	payload := credentialPayload(t)
	raw, _ := json.Marshal(payload)
	for _, c := range creds {
		if !strings.Contains(string(raw), c.value) {
			t.Fatalf("test data: %s (%s) is not in the payload", c.where, c.value)
		}
	}
	got := Redact(payload)
	out, _ := json.Marshal(got)
	for _, c := range creds {
		if strings.Contains(string(out), c.value) {
			t.Errorf("%s survived redaction: %s", c.where, c.value)
		}
	}
	for _, k := range credentialKept {
		if v := at(got, k.path); !reflect.DeepEqual(v, k.want) {
			t.Errorf("%s = %#v, want %#v (kept as it was)", k.path, v, k.want)
		}
	}
	for _, k := range credentialKeptText {
		if s, _ := at(got, k.path).(string); !strings.Contains(s, k.part) {
			t.Errorf("%s = %q, want it to keep %q", k.path, s, k.part)
		}
	}
	if t.Failed() {
		t.Logf("redacted payload: %s", out)
	}
}

func TestRedactText(t *testing.T) {
	ghToken := "ghp_" + strings.Repeat("A1b2", 9)
	tests := []struct{ in, want string }{
		// credentials inside text
		{"https://user:pa55w0rd@host.example/x", "https://[redacted]@host.example/x"},
		{"https://x-access-token:" + ghToken + "@github.com/o/r.git", "https://[redacted]@github.com/o/r.git"},
		{"DATABASE_URL=postgres://app:pw1@db/app", "DATABASE_URL=postgres://[redacted]@db/app"},
		{"Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic [redacted]"},
		{"proxy-authorization:Bearer abc.def.ghi", "proxy-authorization:Bearer [redacted]"},
		{"Cookie: sid=abc123; theme=dark\nAccept: */*", "Cookie: [redacted]\nAccept: */*"},
		{"sent with Bearer eyJhbGciOi.x.y today", "sent with Bearer [redacted] today"},
		{"export AWS_SECRET_ACCESS_KEY=wJalrXUt", "export AWS_SECRET_ACCESS_KEY=[redacted]"},
		{"client_secret=cs1x&grant_type=client_credentials", "client_secret=[redacted]&grant_type=client_credentials"},
		{`{"password": "p4ss word", "user": "ann"}`, `{"password": "[redacted]", "user": "ann"}`},
		{"private_key: abc123def", "private_key: [redacted]"},
		{"migrate --token t0k3n --verbose", "migrate --token [redacted] --verbose"},
		{"migrate --db-password=hunter22 -v", "migrate --db-password=[redacted] -v"},
		{"pushed with " + ghToken, "pushed with [redacted]"},
		{"key id AKIAIOSFODNN7EXAMPLE here", "key id [redacted] here"},
		{"https://hooks.slack.com/services/T000/B000/XXXXabc", "https://hooks.slack.com/services/[redacted]"},
		{"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY-----\nnext", "[redacted]\nnext"},
		{"cut short: -----BEGIN PRIVATE KEY-----\nMIIabc", "cut short: [redacted]"},
		// prose and harmless values stay
		{"git@github.com:octo/app.git", "git@github.com:octo/app.git"},
		{"mailto:ann@example.com", "mailto:ann@example.com"},
		{"see https://example.com/a@b", "see https://example.com/a@b"},
		{"Bearer tokens expire after an hour", "Bearer tokens expire after an hour"},
		{"Basic authentication is off", "Basic authentication is off"},
		{"token_type=bearer&expires_in=3600", "token_type=bearer&expires_in=3600"},
		{"password_changed_at: 2024-01-01", "password_changed_at: 2024-01-01"},
		{"has_password=true, secret_scanning: enabled", "has_password=true, secret_scanning: enabled"},
		{"keyboard: qwerty, monkey=banana", "keyboard: qwerty, monkey=banana"},
		{"Merge pull request #12 from octo/fix-token-refresh", "Merge pull request #12 from octo/fix-token-refresh"},
		{"the token returned by the server", "the token returned by the server"},
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

func TestRedactPairsAndFlags(t *testing.T) {
	in := map[string]any{
		"env": []any{
			map[string]any{"name": "DB_PASSWORD", "value": "p1"},
			map[string]any{"Name": "API_TOKEN", "Value": "p2"},
			map[string]any{"name": "REGION", "value": "eu"},
			map[string]any{"name": "HAS_TOKEN", "value": true},
		},
		"headers": []any{map[string]any{"key": "X-Api-Key", "value": "p3"}, map[string]any{"key": "Accept", "value": "*/*"}},
		"args":    []any{"deploy", "--api-key", "p4", "--region", "eu", "-token", 7.0},
		"argv":    []string{"login", "--password", "p5", "--user", "ann"},
	}
	got := Redact(in).(map[string]any)
	env := got["env"].([]any)
	want := []any{
		map[string]any{"name": "DB_PASSWORD", "value": Redacted},
		map[string]any{"Name": "API_TOKEN", "Value": Redacted},
		map[string]any{"name": "REGION", "value": "eu"},
		map[string]any{"name": "HAS_TOKEN", "value": true},
	}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("env = %v", env)
	}
	if h := got["headers"].([]any); h[0].(map[string]any)["value"] != Redacted || h[1].(map[string]any)["value"] != "*/*" {
		t.Errorf("headers = %v", h)
	}
	if a := got["args"]; !reflect.DeepEqual(a, []any{"deploy", "--api-key", Redacted, "--region", "eu", "-token", 7.0}) {
		t.Errorf("args = %v", a)
	}
	if a := got["argv"]; !reflect.DeepEqual(a, []string{"login", "--password", Redacted, "--user", "ann"}) {
		t.Errorf("argv = %v", a)
	}
}

// BenchmarkRedactPush redacts a real GitHub push payload, as every stored
// event is.
func BenchmarkRedactPush(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join("testdata", "github", "push.json"))
	if err != nil {
		b.Fatal(err)
	}
	var payload any
	if err := json.Unmarshal(raw, &payload); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		Redact(payload, "the-trigger-secret")
	}
}

// FuzzRedactText feeds arbitrary text to Redact: nothing panics, valid
// UTF-8 stays valid, and what Redact returns it leaves as it is.
func FuzzRedactText(f *testing.F) {
	for _, s := range []string{
		"https://user:pw@host/x", "Authorization: Bearer abc.def", "Cookie: a=b; c=d", "password=x&token=y",
		`{"client_secret": "z"}`, "--token t0k3n", "-----BEGIN PRIVATE KEY-----\nabc", "ghp_" + strings.Repeat("a", 36),
		"Bearer tokens expire", "key: https://x?token=abc#frag", "auth: token abc123 more",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		once, ok := Redact(s).(string)
		if !ok {
			t.Fatalf("Redact(%q) is not a string", s)
		}
		if utf8.ValidString(s) && !utf8.ValidString(once) {
			t.Fatalf("Redact(%q) = %q is not valid UTF-8", s, once)
		}
		if twice := Redact(once).(string); twice != once {
			t.Fatalf("Redact is not stable on %q:\n once %q\ntwice %q", s, once, twice)
		}
	})
}
