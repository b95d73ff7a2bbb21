package trigger

import (
	"cmp"
	"slices"
	"strings"
	"unicode"
)

// Redacted replaces what Redact hides.
const Redacted = "[redacted]"

// Redact returns a copy of payload fit to store and show: the value under
// any key that names a secret is replaced by Redacted, and every occurrence
// of one of secrets (non-empty) in a string is replaced by Redacted. It
// copies map[string]any, []any, map[string]string and []string, the shapes
// of decoded JSON and of headers, and returns other values as they are.
//
// A key names a secret when its last word, in snake, kebab, dot or camel
// case, is secret, token, password, passwd, pwd, passphrase, auth,
// authorization, credential, cookie, jwt (or a plural), or apikey /
// privatekey; or when it ends in key after api, private, secret, signing,
// encryption or access. A trailing value, hash, plain, raw or encoded is
// looked past. So access_token, accessToken, client_secret, x-api-key,
// PRIVATE_KEY and password_hash are redacted, while token_type,
// tokens_count, secret_scanning and password_changed_at are kept: their
// last word says they describe a secret rather than hold one. Values that
// are booleans or null are kept too (has_password: true holds nothing
// secret).
//
// Credentials that do not sit under a key of their own are found too:
//   - a name/value pair whose name names a secret, as in environment lists
//     and header lists: {"name": "DB_PASSWORD", "value": "..."};
//   - a list item after a flag that names a secret: ["--password", "..."];
//   - in any string: the user:password@ of a URL, a header line such as
//     "Authorization: ..." or "Cookie: ...", a Bearer or Basic credential,
//     "name=value" or "name: value" whose name names a secret (query
//     strings, env lines, JSON or YAML in a string), "--token VALUE", PEM
//     private key blocks, and tokens whose form gives them away (GitHub
//     ghp_, GitLab glpat-, Slack xox?-, AWS AKIA... key ids, Slack
//     incoming-webhook URLs).
//
// The text around such a credential is kept: a URL keeps its host and
// path, a query string its other parameters.
func Redact(payload any, secrets ...string) any {
	var ss []string
	for _, s := range secrets {
		if s != "" {
			ss = append(ss, s)
		}
	}
	// Longer first, so that a secret holding another is hidden whole.
	slices.SortFunc(ss, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	return redact(payload, ss)
}

func redact(v any, secrets []string) any {
	switch x := v.(type) {
	case string:
		return redactString(x, secrets)
	case map[string]any:
		out := make(map[string]any, len(x))
		pairSecret := namesSecret(x)
		for k, val := range x {
			if (secretKey(k) || pairSecret && isValueKey(k)) && !harmless(val) {
				out[k] = Redacted
				continue
			}
			out[k] = redact(val, secrets)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			if _, ok := val.(string); ok && i > 0 && secretFlag(x[i-1]) {
				out[i] = Redacted
				continue
			}
			out[i] = redact(val, secrets)
		}
		return out
	case map[string]string:
		out := make(map[string]string, len(x))
		for k, val := range x {
			if secretKey(k) {
				out[k] = Redacted
				continue
			}
			out[k] = redactString(val, secrets)
		}
		return out
	case []string:
		out := make([]string, len(x))
		for i, val := range x {
			if i > 0 && secretFlag(x[i-1]) {
				out[i] = Redacted
				continue
			}
			out[i] = redactString(val, secrets)
		}
		return out
	}
	return v
}

func redactString(s string, secrets []string) string {
	for _, sec := range secrets {
		if strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, Redacted)
		}
	}
	return redactText(s)
}

// namesSecret reports whether m is a name/value pair whose name names a
// secret: {"name": "DB_PASSWORD", "value": "..."}, {"key": "X-Api-Key",
// "value": "..."}.
func namesSecret(m map[string]any) bool {
	hasValue := false
	for k := range m {
		if isValueKey(k) {
			hasValue = true
			break
		}
	}
	if !hasValue {
		return false
	}
	for k, v := range m {
		switch strings.ToLower(k) {
		case "name", "key", "header", "variable", "var", "param", "parameter", "field":
			if s, ok := v.(string); ok && secretKey(s) {
				return true
			}
		}
	}
	return false
}

// isValueKey reports whether k is the value half of a name/value pair.
func isValueKey(k string) bool {
	return strings.EqualFold(k, "value")
}

// secretFlag reports whether v is a command-line flag that names a secret
// and takes the next item as its value: "--password", "-token".
func secretFlag(v any) bool {
	s, ok := v.(string)
	if !ok || !strings.HasPrefix(s, "-") || strings.ContainsAny(s, "= \t") {
		return false
	}
	return secretKey(strings.TrimLeft(s, "-"))
}

// harmless reports whether a value cannot hold a secret.
func harmless(v any) bool {
	switch v.(type) {
	case nil, bool:
		return true
	}
	return false
}

// secretKey reports whether a map key names a secret; see Redact.
func secretKey(k string) bool {
	words := keyWords(k)
	for len(words) > 1 && isQualifier(words[len(words)-1]) {
		words = words[:len(words)-1]
	}
	if len(words) == 0 {
		return false
	}
	last := words[len(words)-1]
	switch strings.TrimSuffix(last, "s") {
	case "secret", "token", "password", "passwd", "pwd", "passphrase", "auth", "authorization",
		"credential", "cookie", "jwt", "apikey", "privatekey":
		return true
	case "key":
		if len(words) < 2 {
			return false
		}
		switch words[len(words)-2] {
		case "api", "private", "secret", "signing", "encryption", "access":
			return true
		}
	}
	// One word written without separators: accesstoken, webhooksecret.
	for _, suffix := range []string{"token", "secret", "password", "apikey", "privatekey"} {
		if len(words) == 1 && strings.HasSuffix(strings.TrimSuffix(last, "s"), suffix) {
			return true
		}
	}
	return false
}

// isQualifier reports whether a trailing word only says in what form a
// secret is held, as in password_hash or token_value.
func isQualifier(w string) bool {
	switch w {
	case "value", "hash", "hashed", "plain", "plaintext", "raw", "encoded", "encrypted", "b64", "base64":
		return true
	}
	return false
}

// keyWords splits a key into lower-case words at separators and at camel
// case humps: "X-API-Key" and "apiKey" give [x api key] and [api key].
func keyWords(k string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	rs := []rune(k)
	for i, r := range rs {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			flush()
			continue
		}
		if unicode.IsUpper(r) && len(cur) > 0 {
			prev := cur[len(cur)-1]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			// a hump (apiKey) or the last capital of an acronym (APIKey)
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
				flush()
			}
		}
		cur = append(cur, r)
	}
	flush()
	return words
}
