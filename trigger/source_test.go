package trigger

import (
	"strings"
	"testing"
)

func mustParse(t *testing.T, src string) *Trigger {
	t.Helper()
	tr, probs := Parse("t.yaml", []byte(src), testEnv)
	if len(probs) > 0 {
		t.Fatalf("Parse:\n%v\n%s", probs, src)
	}
	return tr
}

const rulesTail = "rules:\n  - run: {composition: build}\n"

// TestRedactSourceRoundTrip: a literal secret, however it is written, is
// shown as "[redacted]" and never in the clear; saving the shown source
// again puts back the secret exactly as it was written; a secret that
// also appears elsewhere is hidden there too, and said to be.
func TestRedactSourceRoundTrip(t *testing.T) {
	cases := []struct {
		name, secretLine, secret string
		elsewhere                bool // [redacted] shows other than as secret:'s whole value
		exact                    bool // the redacted value is on secret:'s line, so it round-trips
	}{
		{"plain", "secret: s3cret-value-1", "s3cret-value-1", false, true},
		{"plain with a comment", "secret: s3cret-value-2   # from the vault", "s3cret-value-2", false, true},
		{"double quoted with escapes", `secret: "quo\"ted\\va lue"`, `quo"ted\va lue`, false, true},
		{"single quoted", `secret: 'it''s a secret'`, "it's a secret", false, true},
		{"after wide characters", "secret:   ünïcödé-sëcret", "ünïcödé-sëcret", false, true},
		{"also in a comment", "secret: hunter2-hunter2 # hunter2-hunter2", "hunter2-hunter2", true, true},
		{"a block scalar", "secret: |-\n  block-secret-value", "block-secret-value", true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := "name: gh\nkind: github\n" + c.secretLine + "\n" + rulesTail
			tr := mustParse(t, src)
			if tr.Secret != c.secret {
				t.Fatalf("the case is wrong: secret %q, want %q", tr.Secret, c.secret)
			}
			shown, elsewhere := RedactSource([]byte(src), tr)
			if strings.Contains(shown, c.secret) {
				t.Fatalf("the secret shows:\n%s", shown)
			}
			if elsewhere != c.elsewhere {
				t.Errorf("elsewhere = %v, want %v", elsewhere, c.elsewhere)
			}
			if !c.exact {
				return
			}
			again := mustParse(t, shown)
			if !again.KeepsSecret() {
				t.Fatalf("the shown source does not keep the secret: secret %q\n%s", again.Secret, shown)
			}
			back, probs := PutSecret([]byte(shown), again, []byte(src), tr)
			if len(probs) > 0 {
				t.Fatalf("PutSecret: %v", probs)
			}
			if c.elsewhere {
				if got := mustParse(t, string(back)); got.Secret != c.secret {
					t.Errorf("the secret put back is %q", got.Secret)
				}
				return
			}
			if string(back) != src {
				t.Errorf("the secret was not put back as written:\n%s\nwant\n%s", back, src)
			}
		})
	}
}

// TestRedactSourceOtherSecrets: a secret from secret_env is hidden where it
// appears in the file; one in a flow map that cannot be redacted in place,
// or in a file that is not YAML, never shows either; a trigger without a
// secret is shown as it is.
func TestRedactSourceOtherSecrets(t *testing.T) {
	env := "name: gh\nkind: github\nsecret_env: GITHUB_WEBHOOK_SECRET\n# gh-secret\n" + rulesTail
	if shown, _ := RedactSource([]byte(env), mustParse(t, env)); strings.Contains(shown, "gh-secret") || !strings.Contains(shown, "secret_env: GITHUB_WEBHOOK_SECRET") {
		t.Errorf("secret_env:\n%s", shown)
	}
	flow := "{name: gh, kind: github, secret: flow-secret-1, rules: [{run: {composition: build}}]}\n"
	if shown, _ := RedactSource([]byte(flow), mustParse(t, flow)); strings.Contains(shown, "flow-secret-1") {
		t.Errorf("flow map:\n%s", shown)
	}
	broken := "name: gh\n  secret:   broken-yaml-secret # why\nkind: [github\n"
	if tr, _ := Parse("t.yaml", []byte(broken), testEnv); tr != nil {
		t.Fatal("the case is wrong: the YAML parses")
	}
	if shown, _ := RedactSource([]byte(broken), nil); strings.Contains(shown, "broken-yaml-secret") || !strings.Contains(shown, `secret:   "[redacted]"`) {
		t.Errorf("YAML that does not parse:\n%s", shown)
	}
	none := "name: nightly\nkind: schedule\nschedule: '@daily'\nrun: {composition: build}\n"
	if shown, elsewhere := RedactSource([]byte(none), mustParse(t, none)); shown != none || elsewhere {
		t.Errorf("no secret: %q %v", shown, elsewhere)
	}
}

// TestPutSecretRefuses: keeping a secret needs a literal one to keep and a
// secret: it can be written into.
func TestPutSecretRefuses(t *testing.T) {
	keep := "name: gh\nkind: github\nsecret: \"[redacted]\"\n" + rulesTail
	kept := mustParse(t, keep)
	cases := []struct {
		name, old, says string
	}{
		{"old from secret_env", "name: gh\nkind: github\nsecret_env: GITHUB_WEBHOOK_SECRET\n" + rulesTail, "there is none to keep"},
		{"old a schedule", "name: gh\nkind: schedule\nschedule: '@daily'\nrun: {composition: build}\n", "there is none to keep"},
	}
	for _, c := range cases {
		_, probs := PutSecret([]byte(keep), kept, []byte(c.old), mustParse(t, c.old))
		if len(probs) != 1 || probs[0].Line != 3 || probs[0].Col != 9 || !strings.Contains(probs[0].Message, c.says) {
			t.Errorf("%s: %v, want a problem at 3:9 saying %q", c.name, probs, c.says)
		}
	}
	if _, probs := PutSecret([]byte(keep), kept, nil, nil); len(probs) != 1 || !strings.Contains(probs[0].Message, "there is none to keep") {
		t.Errorf("no old version: %v", probs)
	}
	block := "name: gh\nkind: github\nsecret: |-\n  [redacted]\n" + rulesTail
	old := "name: gh\nkind: github\nsecret: old-secret-1\n" + rulesTail
	if _, probs := PutSecret([]byte(block), mustParse(t, block), []byte(old), mustParse(t, old)); len(probs) != 1 || !strings.Contains(probs[0].Message, "cannot be put back here") {
		t.Errorf("a block scalar: %v", probs)
	}
}
