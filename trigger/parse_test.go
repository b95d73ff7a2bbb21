package trigger

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"baton/composition"
)

// testEnv is the server environment the tests parse against.
func testEnv(name string) (string, bool) {
	switch name {
	case "GITHUB_WEBHOOK_SECRET":
		return "gh-secret", true
	case "DEPLOY_HOOK_TOKEN":
		return "deploy-token", true
	case "EMPTY_SECRET":
		return "", true
	}
	return "", false
}

func parseFile(t *testing.T, name string) *Trigger {
	t.Helper()
	path := filepath.Join("testdata", "triggers", name)
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tr, probs := Parse(path, src, testEnv)
	if len(probs) > 0 {
		t.Fatalf("Parse %s:\n%v", name, probs)
	}
	return tr
}

func TestParseKinds(t *testing.T) {
	defaultRate := Rate{Events: 60, Per: time.Minute, Burst: 20}
	tests := []struct {
		file string
		want Trigger
	}{
		{"github-app.yaml", Trigger{
			Name: "github-app", Kind: GitHub, Description: "Builds what is pushed to main.",
			Secret: "gh-secret", SecretEnv: "GITHUB_WEBHOOK_SECRET",
			MaxBody: 2 << 20, Rate: Rate{Events: 30, Per: time.Minute, Burst: 20},
			Rules: []Rule{
				{Name: "build main", When: `event == "push" && payload.ref == "refs/heads/main"`, Run: RunSpec{
					Composition: "build",
					Params:      map[string]any{"version": "${{ payload.after }}", "repo": "${{ payload.repository.full_name }}"},
				}},
				{Name: "release", When: `event == "release" && payload.action == "published"`, Run: RunSpec{
					Composition: "ship",
					Params:      map[string]any{"tag": "${{ payload.release.tag_name }}", "notify": []any{"ops", "${{ payload.sender.login }}"}},
				}},
			},
		}},
		{"gitlab.yaml", Trigger{
			Name: "gitlab-mr", Kind: GitLab, Secret: "literal-token", MaxBody: DefaultMaxBody, Rate: defaultRate,
			Rules: []Rule{{Name: "rule 1", When: `event == "merge_request" && payload.object_attributes.action == "open"`,
				Run: RunSpec{Composition: "review-app", Params: map[string]any{"mr": "${{ payload.object_attributes.iid }}"}}}},
		}},
		{"generic.yaml", Trigger{
			Name: "deploy-hook", Kind: Generic, Secret: "deploy-token", SecretEnv: "DEPLOY_HOOK_TOKEN",
			Auth: GenericAuth{Mode: AuthBearer, Header: DefaultSignatureHeader}, MaxBody: 64 << 10,
			Rate: Rate{Events: 5, Per: 10 * time.Second, Burst: 5},
			Rules: []Rule{{Name: "rule 1", Run: RunSpec{Composition: "deploy", Params: map[string]any{
				"env": `${{ payload.env ?? "staging" }}`, "by": `${{ headers["user-agent"] }}`,
			}}}},
		}},
		{"api.yaml", Trigger{
			Name: "release-requests", Kind: API, Description: "Lets release tooling start a release through the API.\n",
			MaxBody: DefaultMaxBody, Rate: Rate{Events: 100, Per: time.Hour, Burst: 20},
			Rules: []Rule{{Name: "release", When: `event == "release"`,
				Run: RunSpec{Composition: "release", Params: map[string]any{"version": "v${{ payload.version }}"}}}},
		}},
		{"nightly.yaml", Trigger{
			Name: "nightly", Kind: Schedule,
			Cron:  &Cron{Spec: "0 3 * * 1-5", Timezone: "Europe/Berlin", CatchUp: true},
			Rules: []Rule{{Name: "rule 1", Run: RunSpec{Composition: "cleanup", Params: map[string]any{"older_than": "30d"}}}},
		}},
		{"runs.yaml", Trigger{
			Name: "after-build", Kind: Runs,
			Rules: []Rule{{Name: "alert on failure",
				When: `event == "run.finished" && payload.composition == "build" && payload.status == "failed"`,
				Run:  RunSpec{Composition: "alert", Params: map[string]any{"failed_run": "${{ payload.id }}", "error": "${{ payload.error }}"}}}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got := parseFile(t, tt.file)
			if got.File != filepath.Join("testdata", "triggers", tt.file) || len(got.Source) == 0 || len(got.Pos) == 0 {
				t.Errorf("file, source, pos = %q, %d bytes, %d positions", got.File, len(got.Source), len(got.Pos))
			}
			if (got.Cron == nil) != (tt.want.Cron == nil) {
				t.Fatalf("cron = %#v, want %#v", got.Cron, tt.want.Cron)
			}
			if got.Cron != nil {
				if got.Cron.Location() == nil || got.Cron.Next(time.Now()).IsZero() {
					t.Errorf("cron was not parsed: %#v", got.Cron)
				}
				c, w := *got.Cron, *tt.want.Cron
				if c.Spec != w.Spec || c.Timezone != w.Timezone || c.CatchUp != w.CatchUp || c.Overlap != w.Overlap {
					t.Errorf("cron = %+v, want %+v", c, w)
				}
			}
			got.Source, got.File, got.Pos, got.Cron = nil, "", nil, nil
			tt.want.Cron = nil
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got\n%#v\nwant\n%#v", *got, tt.want)
			}
		})
	}
}

func TestParsePositions(t *testing.T) {
	tr := parseFile(t, "github-app.yaml")
	want := map[string]composition.Pos{
		"name":                        {Line: 1, Col: 7},
		"secret_env":                  {Line: 4, Col: 13},
		"rules.0":                     {Line: 8, Col: 5},
		"rules.0.when":                {Line: 9, Col: 11},
		"rules.0.run.composition":     {Line: 11, Col: 20},
		"rules.0.run.params.version":  {Line: 12, Col: 25},
		"rules.1.run.params.notify.1": {Line: 19, Col: 23},
	}
	for path, pos := range want {
		if got := tr.Pos[path]; got != pos {
			t.Errorf("Pos[%q] = %v, want %v", path, got, pos)
		}
	}
	nightly := parseFile(t, "nightly.yaml")
	if got := nightly.Pos["run.composition"]; got != (composition.Pos{Line: 6, Col: 20}) {
		t.Errorf("nightly Pos[run.composition] = %v", got)
	}
}

// TestParseProblems checks each kind of problem: where it is reported and
// what it says. Each want is "line:col: part of the message".
func TestParseProblems(t *testing.T) {
	const hook = "name: h\nkind: github\nsecret: s\n"
	const nightly = "name: n\nkind: schedule\n"
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"syntax", "name: [x\n", []string{"1:7: invalid YAML: sequence end token ']' not found"}},
		{"not a map", "- a\n", []string{"1:1: a trigger must be a map"}},
		{"unknown key with suggestion", hook + "rulse: []\n", []string{
			"1:1: missing rules",
			`4:1: unknown key "rulse" at the top level; did you mean "rules"?`,
		}},
		{"unknown key without suggestion", hook + "colour: red\nrules: [{run: {composition: b}}]\n", []string{
			`4:1: unknown key "colour" at the top level`,
		}},
		{"missing name and kind", "description: x\n", []string{
			"1:1: missing kind; add kind: with one of github, gitlab, generic, api, schedule or runs",
			"1:1: missing name",
		}},
		{"bad kind", "name: h\nkind: githib\n", []string{`2:7: kind must be one of github, gitlab, generic, api, schedule or runs, not "githib"; did you mean "github"?`}},
		{"bad name", "name: Build_App\nkind: api\nrules: [{run: {composition: b}}]\n", []string{`1:7: name "Build_App" may hold only lowercase letters`}},
		{"long name", "name: " + strings.Repeat("a", 65) + "\nkind: api\nrules: [{run: {composition: b}}]\n", []string{"1:7: name is 65 characters long; at most 64 are allowed"}},
		{"wrong type", "name: [a]\nkind: api\nrules: [{run: {composition: b}}]\n", []string{"1:7: name must be text, not a list"}},
		{"schedule on github", hook + "schedule: \"0 3 * * *\"\nrules: [{run: {composition: b}}]\n", []string{
			"4:1: schedule does not apply to github triggers, only to schedule ones; remove it",
		}},
		{"secret on schedule", nightly + "secret: s\nschedule: \"@daily\"\nrun: {composition: c}\n", []string{
			"3:1: secret does not apply to schedule triggers, only to github, gitlab and generic ones; remove it",
		}},
		{"rate on runs", "name: r\nkind: runs\nrate: 5/s\nrules: [{run: {composition: b}}]\n", []string{
			"3:1: rate does not apply to runs triggers, only to github, gitlab, generic and api ones; remove it",
		}},
		{"auth on gitlab", "name: h\nkind: gitlab\nsecret: s\nauth: {mode: bearer}\nrules: [{run: {composition: b}}]\n", []string{
			"4:1: auth does not apply to gitlab triggers, only to generic ones; remove it",
		}},
		{"missing secret", "name: h\nkind: gitlab\nrules: [{run: {composition: b}}]\n", []string{
			"1:1: missing secret_env; a gitlab trigger checks every request with a shared secret",
		}},
		{"secret and secret_env", hook + "secret_env: GITHUB_WEBHOOK_SECRET\nrules: [{run: {composition: b}}]\n", []string{
			"4:1: give either secret or secret_env, not both",
		}},
		{"secret_env unset", "name: h\nkind: github\nsecret_env: GITHUB_WEBHOOK_SECRE\nrules: [{run: {composition: b}}]\n", []string{
			"3:13: secret_env GITHUB_WEBHOOK_SECRE is not set in the server's environment",
		}},
		{"secret_env empty", "name: h\nkind: github\nsecret_env: EMPTY_SECRET\nrules: [{run: {composition: b}}]\n", []string{
			"3:13: secret_env EMPTY_SECRET is not set in the server's environment",
		}},
		{"secret_env bad name", "name: h\nkind: github\nsecret_env: my secret\nrules: [{run: {composition: b}}]\n", []string{
			`3:13: secret_env must name an environment variable such as GITHUB_WEBHOOK_SECRET, not "my secret"`,
		}},
		{"max_body", hook + "max_body: 30MiB\nrules: [{run: {composition: b}}]\n", []string{`4:11: max_body "30MiB" is over the limit of 25MiB`}},
		{"max_body MB", hook + "max_body: 2MB\nrules: [{run: {composition: b}}]\n", []string{`4:11: max_body must be a size in B, KiB or MiB such as 512KiB or 1MiB, not "2MB"; did you mean "2MiB"?`}},
		{"max_body number", hook + "max_body: 1024\nrules: [{run: {composition: b}}]\n", []string{`4:11: max_body must be a size in B, KiB or MiB such as 512KiB or 1MiB, not a bare number; did you mean "1024B"?`}},
		{"rate unit", hook + "rate: 10/m\nrules: [{run: {composition: b}}]\n", []string{`4:7: rate's period must be s, min or h, not "m"; did you mean "min"?`}},
		{"rate map", hook + "rate: {events: 0, per: 5, burts: 2}\nrules: [{run: {composition: b}}]\n", []string{
			"4:16: events in rate must be a whole number between 1 and 1000000, not 0",
			"4:24: per in rate must be a duration with a unit, such as 5s or 5m, not 5",
			`4:27: unknown key "burts" in rate; did you mean "burst"?`,
		}},
		{"auth", "name: g\nkind: generic\nsecret: s\nauth: {mode: bearr, header: X-Sig}\nrules: [{run: {composition: b}}]\n", []string{
			`4:14: mode in auth must be hmac or bearer, not "bearr"; did you mean "bearer"?`,
		}},
		{"auth header with bearer", "name: g\nkind: generic\nsecret: s\nauth: {mode: bearer, header: X-Sig}\nrules: [{run: {composition: b}}]\n", []string{
			"4:30: header in auth applies only to mode hmac",
		}},
		{"missing schedule", nightly + "run: {composition: c}\n", []string{"1:1: missing schedule"}},
		{"impossible schedule", nightly + "schedule: \"0 0 30 2 *\"\nrun: {composition: c}\n", []string{
			`3:11: schedule: "0 0 30 2 *" never fires: there is no February 30`,
		}},
		{"bad schedule", nightly + "schedule: \"0 3 * *\"\nrun: {composition: c}\n", []string{
			`3:11: schedule: "0 3 * *" is not valid: expected exactly 5 fields, found 4`,
		}},
		{"seconds in @every", nightly + "schedule: \"@every 1500ms\"\nrun: {composition: c}\n", []string{
			"3:11: schedule: \"@every 1500ms\" is not valid: @every takes a whole number of seconds",
		}},
		{"zone prefix", nightly + "schedule: \"CRON_TZ=UTC 0 3 * * *\"\nrun: {composition: c}\n", []string{
			"3:11: schedule: give the zone in timezone:",
		}},
		{"bad timezone", nightly + "schedule: \"@daily\"\ntimezone: Europe/Berlim\nrun: {composition: c}\n", []string{
			`4:11: timezone: unknown time zone "Europe/Berlim"`,
		}},
		{"catch_up not bool", nightly + "schedule: \"@daily\"\ncatch_up: yes please\nrun: {composition: c}\n", []string{
			`4:11: catch_up must be true or false, not "yes please"`,
		}},
		{"run and rules", nightly + "schedule: \"@daily\"\nrun: {composition: c}\nrules: [{run: {composition: c}}]\n", []string{
			"4:1: give either run (one rule that always fires) or rules, not both",
		}},
		{"run on api", "name: a\nkind: api\nrun: {composition: c}\n", []string{
			"1:1: missing rules",
			"3:1: run does not apply to api triggers, only to schedule ones; remove it",
		}},
		{"empty rules", hook + "rules: []\n", []string{"4:8: rules is empty"}},
		{"rule without run", hook + "rules:\n  - when: event == \"push\"\n", []string{"5:5: rule 1 needs run: {composition: NAME}"}},
		{"rule keys", hook + "rules:\n  - name: a\n    wehn: x\n    run: {compositon: b}\n", []string{
			`6:5: unknown key "wehn" in rule 1; did you mean "when"?`,
			`7:10: run of rule "a" needs the composition to start: add composition: NAME`,
			`7:11: unknown key "compositon" in run of rule "a"; did you mean "composition"?`,
		}},
		{"duplicate rule names", hook + "rules:\n  - {name: a, run: {composition: b}}\n  - {name: a, run: {composition: c}}\n", []string{
			`6:12: rule name "a" is also the name of rule 1`,
		}},
		{"bad composition name", hook + "rules: [{run: {composition: Build App}}]\n", []string{
			`4:29: composition in run of rule 1 must be the name of a composition`,
		}},
		{"when in braces", hook + "rules:\n  - when: ${{ event == \"push\" }}\n    run: {composition: b}\n", []string{
			`5:11: when of rule 1 is a bare expression: drop the ${{ }} around it and write event == "push"`,
		}},
		{"when does not compile", hook + "rules:\n  - when: event ==\n    run: {composition: b}\n", []string{
			"5:11: when of rule 1: unexpected token EOF",
		}},
		{"when unknown name", hook + "rules:\n  - when: params.x == 1\n    run: {composition: b}\n", []string{
			"5:11: when of rule 1: unknown name params; rules can use event, payload, headers, trigger and delivery",
		}},
		{"params", hook + "rules:\n  - run:\n      composition: b\n      params:\n        Version: ${{ payload.after }}\n        a: ${{ payload.x + }}\n        b: [\"${{ tasks.x }}\"]\n        c: \"${{ payload\"\n", []string{
			`8:9: param name "Version" in run of rule 1 may hold only lowercase letters, digits and _`,
			"9:12: param a in run of rule 1: ${{ payload.x + }}: unexpected token EOF",
			"10:13: param b in run of rule 1: ${{ tasks.x }}: unknown name tasks",
			`11:12: param c in run of rule 1: unclosed ${{ in "${{ payload"; close it with }}`,
		}},
		{"duplicate key", hook + "name: x\nrules: [{run: {composition: b}}]\n", []string{
			`4:1: duplicate key "name" (first given at line 1); remove one`,
		}},
		{"alias bomb", "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d]\n", []string{
			"the file expands to more than 20000 values",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, probs := Parse("t.yaml", []byte(tt.src), testEnv)
			var got []string
			for _, p := range probs {
				if p.File != "t.yaml" {
					t.Errorf("problem in file %q", p.File)
				}
				got = append(got, strings.TrimPrefix(p.String(), "t.yaml:"))
			}
			for _, w := range tt.want {
				if !containsPrefix(got, w) {
					t.Errorf("missing problem %q; got:\n%s", w, strings.Join(got, "\n"))
				}
			}
			if len(got) == 0 {
				t.Error("no problems")
			}
		})
	}
}

// containsPrefix reports whether some problem starts with want, or holds it
// when want has no position.
func containsPrefix(got []string, want string) bool {
	for _, g := range got {
		if strings.HasPrefix(g, want) || !strings.Contains(want, ": ") && strings.Contains(g, want) {
			return true
		}
	}
	return false
}

// TestParseOnlyTheseProblems guards against noise: a file with one mistake
// reports exactly one problem.
func TestParseOnlyTheseProblems(t *testing.T) {
	src := "name: h\nkind: github\nsecret_env: NOT_SET\nrules:\n  - when: event == \"push\"\n    run: {composition: b}\n"
	tr, probs := Parse("t.yaml", []byte(src), testEnv)
	want := "t.yaml:3:13: secret_env NOT_SET is not set in the server's environment; set it where baton serve runs, or use secret: VALUE"
	if probs.Error() != want {
		t.Errorf("problems:\n%v\nwant\n%s", probs, want)
	}
	if tr == nil || tr.Name != "h" || len(tr.Rules) != 1 || tr.SecretEnv != "NOT_SET" || tr.Secret != "" {
		t.Errorf("trigger = %#v", tr)
	}
}

func TestParseNilGetenv(t *testing.T) {
	t.Setenv("BATON_TRIGGER_TEST_SECRET", "from-env")
	src := "name: h\nkind: github\nsecret_env: BATON_TRIGGER_TEST_SECRET\nrules: [{run: {composition: b}}]\n"
	tr, probs := Parse("t.yaml", []byte(src), nil)
	if len(probs) > 0 || tr.Secret != "from-env" {
		t.Errorf("secret = %q, problems %v", tr.Secret, probs)
	}
}

func TestParseEmpty(t *testing.T) {
	for _, src := range []string{"", "# only a comment\n"} {
		tr, probs := Parse("t.yaml", []byte(src), testEnv)
		if tr == nil || len(probs) != 1 || !strings.Contains(probs[0].Message, "the file is empty") {
			t.Errorf("%q: %v, %v", src, tr, probs)
		}
	}
	if tr, probs := Parse("t.yaml", []byte("a: [\n"), testEnv); tr != nil || len(probs) != 1 {
		t.Errorf("broken YAML: %v, %v", tr, probs)
	}
}
