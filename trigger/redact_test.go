package trigger

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
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

		"token_type": false, "tokens_count": false, "secret_scanning": false, "password_changed_at": false,
		"key": false, "public_key": false, "deploy_key": false, "ref": false, "author": false, "authorized": false,
		"keyboard": false, "monkey": false, "tokenizer": false, "secretary": false, "": false, "_": false,
		"secret_scanning_push_protection": false, "has_secrets_count": false,
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
