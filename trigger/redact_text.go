package trigger

import (
	"regexp"
	"strings"
)

// Credentials that sit inside a string rather than under a key of their
// own: a URL with a password, a header line copied into a log, a command
// line, a connection string. Each pattern is linear in the string (RE2).
var (
	// pemKeyRe is a PEM private key block; one cut off before its END
	// line is hidden to the end of the string.
	pemKeyRe = regexp.MustCompile(`-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?s:.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)`)
	// userinfoRe is the user:password@ (or token@) part of a URL.
	userinfoRe = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.\-]*://)[^\s/?#@"'<>\\]+@`)
	// headerLineRe is a credential header written as text, up to the end
	// of the line or a quote: "Authorization: token abc". An auth scheme
	// in front of the credential is kept.
	headerLineRe = regexp.MustCompile(`(?i)\b((?:proxy-)?authorization|cookie|set-cookie|x-api-key|api-key|x-auth-token|private-token|x-gitlab-token)(\s*:[ \t]*)((?:bearer|basic|token|digest|negotiate)[ \t]+)?([^\r\n"'\\]+)`)
	// schemeRe is a credential after an HTTP auth scheme: "Bearer abc".
	schemeRe = regexp.MustCompile(`\b([Bb]earer|Basic)([ \t]+)([A-Za-z0-9\-._~+/]+=*)`)
	// tokenShapeRe matches tokens whose form gives them away wherever they
	// stand: GitHub, GitLab and Slack tokens, AWS access key ids, Slack
	// incoming-webhook paths.
	tokenShapeRe = regexp.MustCompile(`\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|glpat-[A-Za-z0-9_\-]{20,}|xox[abposr]-[A-Za-z0-9\-]{10,}|(?:AKIA|ASIA)[0-9A-Z]{16})\b|hooks\.slack\.com/services/[A-Za-z0-9/]+`)
	// assignRe is "name=value" or "name: value" where the name may name a
	// secret (secretKey decides): query strings, env lines, YAML or JSON
	// held in a string. An unquoted value ends at a space or at one of
	// , ; & ? # and brackets, so the next pair of a query string is read
	// on its own; an auth scheme in front of the value is kept.
	assignRe = regexp.MustCompile(`(?i)([A-Za-z0-9_.\-]*(?:pass|pwd|secret|token|key|auth|credential|cookie|jwt)[A-Za-z0-9_.\-]*)` +
		`(["']?[ \t]*[:=][ \t]*)((?:bearer|basic|token|digest|negotiate)[ \t]+)?` +
		`(` + regexp.QuoteMeta(Redacted) + `|"(?:[^"\\]|\\.)*"|'[^']*'|[^\s,;&?#"'<>(){}\[\]]+)`)
	// flagRe is a command-line flag naming a secret and its value:
	// "--password hunter2" (the --password=hunter2 form is assignRe's).
	flagRe = regexp.MustCompile(`(?:^|[ \t])(--?[A-Za-z][A-Za-z0-9_\-]*)([ \t]+)([^\s"'\-][^\s"']*)`)
)

// redactText hides the credentials a string carries in its text; see
// Redact for what is recognised. Cheap substring checks decide which
// patterns can match at all, so an ordinary string costs little.
func redactText(s string) string {
	if len(s) < 8 {
		return s // too short to hold "key=value" with a credential worth hiding
	}
	if strings.Contains(s, "PRIVATE KEY-----") {
		s = pemKeyRe.ReplaceAllString(s, Redacted)
	}
	if strings.Contains(s, "://") && strings.Contains(s, "@") {
		s = userinfoRe.ReplaceAllString(s, "${1}"+Redacted+"@")
	}
	lower := strings.ToLower(s)
	stem := containsAny(lower, secretStems)
	if stem && strings.Contains(s, ":") {
		s = replaceGroup(s, headerLineRe, 4, func([]string) bool { return true })
	}
	if strings.Contains(lower, "bearer") || strings.Contains(s, "Basic") {
		s = replaceGroup(s, schemeRe, 3, func(m []string) bool { return credentialLike(m[3]) })
	}
	if containsAny(s, tokenPrefixes) {
		s = tokenShapeRe.ReplaceAllStringFunc(s, func(m string) string {
			if strings.HasPrefix(m, "hooks.slack.com/") {
				return "hooks.slack.com/services/" + Redacted
			}
			return Redacted
		})
	}
	if stem && strings.ContainsAny(s, ":=") {
		s = replaceGroup(s, assignRe, 4, func(m []string) bool { return secretKey(m[1]) && !harmlessText(m[4]) })
	}
	if stem && strings.Contains(s, "-") {
		s = replaceGroup(s, flagRe, 3, func(m []string) bool { return secretKey(strings.TrimLeft(m[1], "-")) })
	}
	return s
}

// secretStems are the parts of lower-case text that every name
// headerLineRe, assignRe or flagRe can act on holds one of.
var secretStems = []string{"pass", "pwd", "secret", "token", "key", "auth", "credential", "cookie", "jwt"}

// tokenPrefixes are the beginnings of what tokenShapeRe matches.
var tokenPrefixes = []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "xox", "AKIA", "ASIA", "hooks.slack.com/"}

func containsAny(s string, parts []string) bool {
	for _, p := range parts {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

// replaceGroup replaces group g of every match of re for which hide holds
// with Redacted, keeping quotes around a quoted value.
func replaceGroup(s string, re *regexp.Regexp, g int, hide func(m []string) bool) string {
	idx := re.FindAllStringSubmatchIndex(s, -1)
	if idx == nil {
		return s
	}
	var b strings.Builder
	last, changed := 0, false
	for _, loc := range idx {
		m := make([]string, len(loc)/2)
		for i := range m {
			if loc[2*i] >= 0 {
				m[i] = s[loc[2*i]:loc[2*i+1]]
			}
		}
		if loc[2*g] < 0 || !hide(m) {
			continue
		}
		start, end := loc[2*g], loc[2*g+1]
		b.WriteString(s[last:start])
		b.WriteString(quoteLike(m[g], Redacted))
		last, changed = end, true
	}
	if !changed {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// quoteLike wraps r in the quotes that wrap v, if any.
func quoteLike(v, r string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[:1] + r + v[:1]
	}
	return r
}

// harmlessText reports whether a value written as text cannot hold a
// secret: empty, a boolean, null, or what Redact already put there.
func harmlessText(v string) bool {
	v = strings.Trim(v, `"'`)
	switch strings.ToLower(v) {
	case "", "true", "false", "null", "none", "nil", strings.ToLower(Redacted):
		return true
	}
	return false
}

// credentialLike reports whether the word after Bearer or Basic looks like
// a credential rather than prose ("Bearer tokens", "Basic auth"): at least
// 8 characters, with a digit or one of - . _ ~ + / =.
func credentialLike(v string) bool {
	return len(v) >= 8 && strings.ContainsAny(v, "0123456789-._~+/=")
}
