package trigger

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"baton/composition"
	"baton/yamltree"
)

var (
	nameRe    = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	envNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// MaxNameLen is the longest trigger name allowed.
const MaxNameLen = 64

// Defaults and limits of a trigger file.
const (
	DefaultMaxBody = 1 << 20  // bytes of a webhook or API event body when max_body is not given
	MaxBodyLimit   = 25 << 20 // the largest max_body allowed
	DefaultEvents  = 60       // events per minute when rate is not given
	MaxBurst       = 20       // the burst when rate does not give one is min(events, MaxBurst)

	DefaultReplayWindow = 24 * time.Hour      // how long a webhook request's digest is kept when replay_window is not given
	MinReplayWindow     = time.Minute         // the shortest replay_window allowed
	MaxReplayWindow     = 30 * 24 * time.Hour // the longest replay_window allowed
	// ReplayOff is the ReplayWindow of a trigger with replay_window: off:
	// only the delivery id tells a repeated request, for senders whose
	// every request may be the same body (a bare ping).
	ReplayOff time.Duration = -1
)

// topKeys are the keys of a trigger file, in the order they are documented.
func topKeys() []string {
	return []string{"name", "kind", "description", "secret", "secret_env", "auth", "max_body", "rate",
		"replay_window", "schedule", "timezone", "catch_up", "overlap", "run", "rules"}
}

// kinds are the kinds of triggers, in the order they are documented.
func kinds() []Kind {
	return []Kind{GitHub, GitLab, Generic, API, Schedule, Runs}
}

// Webhook reports whether triggers of kind k are webhooks: POST /hooks/{name}
// verified with a secret.
func (k Kind) Webhook() bool {
	return k == GitHub || k == GitLab || k == Generic
}

// valid reports whether k is one of the kinds.
func (k Kind) valid() bool {
	for _, x := range kinds() {
		if k == x {
			return true
		}
	}
	return false
}

// keyKinds returns the kinds a top-level key applies to; nil means all.
func keyKinds(key string) []Kind {
	switch key {
	case "secret", "secret_env", "replay_window":
		return []Kind{GitHub, GitLab, Generic}
	case "auth":
		return []Kind{Generic}
	case "max_body":
		return []Kind{GitHub, GitLab, Generic, API}
	case "rate":
		return []Kind{GitHub, GitLab, Generic, API}
	case "schedule", "timezone", "catch_up", "overlap", "run":
		return []Kind{Schedule}
	}
	return nil
}

// Parse reads a trigger file. It reports every problem it finds, each with
// its line and column: YAML syntax, unknown keys (with a suggestion), keys
// that do not apply to the trigger's kind, missing keys the kind needs,
// values of the wrong type, names that break the rules, `when` conditions
// and ${{ }} templates in params that do not compile, schedules that do not
// parse or never fire, unknown time zones, and a secret_env that getenv
// says is unset or empty. getenv is os.LookupEnv when nil.
//
// The trigger is returned even when there are problems, filled in as far as
// the file allowed, with the defaults of its kind; it is nil only when the
// YAML cannot be read at all. Positions of values are recorded in
// Trigger.Pos under dotted paths such as "name", "schedule",
// "rules.0.when", "rules.0.run.params.version" and, for a schedule's
// shorthand, "run.composition". The problems are sorted by position.
func Parse(file string, src []byte, getenv func(string) (string, bool)) (*Trigger, composition.Problems) {
	if getenv == nil {
		getenv = os.LookupEnv
	}
	probs := &problemList{file: file}
	root, ok := readYAML(src, probs)
	if !ok {
		return nil, probs.probs
	}
	t := &Trigger{Source: src, File: file, Pos: composition.Positions{}}
	d := &decoder{probs: probs, pos: t.Pos, getenv: getenv}
	d.trigger(t, root)
	probs.probs.Sort()
	return t, probs.probs
}

// decoder turns the node tree into a Trigger, collecting problems and
// positions.
type decoder struct {
	probs  *problemList
	pos    composition.Positions
	getenv func(string) (string, bool)
}

func (d *decoder) trigger(t *Trigger, root *yamltree.Node) {
	if root == nil {
		d.probs.add(composition.Pos{}, "the file is empty; a trigger needs at least name:, kind: and rules:")
		return
	}
	if root.Kind != yamltree.Map {
		d.probs.add(root.Pos, "a trigger must be a map with keys such as name:, kind: and rules:, not %s", yamltree.Describe(root))
		return
	}
	f := d.fields(root, "", "", topKeys())
	kindKnown := false
	if e, ok := f["kind"]; ok {
		t.Kind, kindKnown = d.kind(e.Val)
	} else {
		d.probs.add(root.Pos, "missing kind; add kind: with one of %s", kindList(kinds(), "or"))
	}
	if kindKnown {
		d.dropInapplicable(root, f, t.Kind)
	}
	if e, ok := f["name"]; ok {
		if name, ok := d.text(e.Val, "name"); ok {
			t.Name = name
			d.checkName(name, e.Val.Pos)
		}
	} else {
		d.probs.add(root.Pos, "missing name; add one such as name: github-app (a webhook's URL is /hooks/<name>)")
	}
	if e, ok := f["description"]; ok {
		t.Description, _ = d.text(e.Val, "description")
	}
	applyDefaults(t)
	d.secret(t, root, f, kindKnown)
	if e, ok := f["auth"]; ok {
		t.Auth = d.auth(e.Val)
	}
	if e, ok := f["max_body"]; ok {
		if n, ok := d.size(e.Val); ok {
			t.MaxBody = n
		}
	}
	if e, ok := f["rate"]; ok {
		if r, ok := d.rate(e.Val); ok {
			t.Rate = r
		}
	}
	if e, ok := f["replay_window"]; ok {
		if w, ok := d.replayWindow(e.Val); ok {
			t.ReplayWindow = w
		}
	}
	d.schedule(t, root, f, kindKnown)
	d.triggerRules(t, root, f, kindKnown)
}

// applyDefaults fills in what the trigger's kind implies when the file says
// nothing: the body and rate limits of webhooks and API events, and hmac
// with X-Signature-256 for generic webhooks. Schedule and runs triggers get
// neither limit: their events come from the server itself.
func applyDefaults(t *Trigger) {
	if t.Kind.Webhook() || t.Kind == API {
		t.MaxBody = DefaultMaxBody
		t.Rate = Rate{Events: DefaultEvents, Per: time.Minute, Burst: min(DefaultEvents, MaxBurst)}
	}
	if t.Kind == Generic {
		t.Auth = GenericAuth{Mode: AuthHMAC, Header: DefaultSignatureHeader}
	}
}

func (d *decoder) kind(n *yamltree.Node) (Kind, bool) {
	s, ok := d.text(n, "kind")
	if !ok {
		return "", false
	}
	k := Kind(s)
	if k.valid() {
		return k, true
	}
	names := make([]string, 0, len(kinds()))
	for _, x := range kinds() {
		names = append(names, string(x))
	}
	d.probs.add(n.Pos, "kind must be one of %s, not %s%s", kindList(kinds(), "or"), quote(s), composition.DidYouMean(s, names))
	return k, false
}

// dropInapplicable reports the keys that do not apply to kind k and removes
// them from f, so that they are not read.
func (d *decoder) dropInapplicable(root *yamltree.Node, f map[string]yamltree.Entry, k Kind) {
	for _, e := range root.Entries {
		if _, ok := f[e.Key]; !ok {
			continue
		}
		ks := keyKinds(e.Key)
		if ks == nil || containsKind(ks, k) {
			continue
		}
		d.probs.add(e.KeyPos, "%s does not apply to %s triggers, only to %s ones; remove it", e.Key, k, kindList(ks, "and"))
		delete(f, e.Key)
	}
}

func (d *decoder) checkName(name string, pos composition.Pos) {
	switch {
	case name == "":
		d.probs.add(pos, "name is empty; give the trigger a name such as github-app")
	case len(name) > MaxNameLen:
		d.probs.add(pos, "name is %d characters long; at most %d are allowed", len(name), MaxNameLen)
	case !nameRe.MatchString(name):
		d.probs.add(pos, "name %s may hold only lowercase letters, digits, - and _, and must start with a letter or digit (it is part of the URL /hooks/<name>)", quote(name))
	}
}

// secret reads secret and secret_env: exactly one of them for a webhook.
func (d *decoder) secret(t *Trigger, root *yamltree.Node, f map[string]yamltree.Entry, kindKnown bool) {
	lit, hasLit := f["secret"]
	env, hasEnv := f["secret_env"]
	switch {
	case hasLit && hasEnv:
		d.probs.add(env.KeyPos, "give either secret or secret_env, not both; secret_env (an environment variable of the server) keeps the secret out of the file")
	case !hasLit && !hasEnv && kindKnown && t.Kind.Webhook():
		d.probs.add(root.Pos, "missing secret_env; a %s trigger checks every request with a shared secret: add secret_env: NAME (an environment variable of the server) or secret: VALUE", t.Kind)
	}
	if hasLit {
		if s, ok := d.text(lit.Val, "secret"); ok {
			if s == "" {
				d.probs.add(lit.Val.Pos, "secret is empty; give the shared secret, or use secret_env: NAME")
			}
			t.Secret = s
		}
	}
	if !hasEnv || hasLit {
		return
	}
	name, ok := d.text(env.Val, "secret_env")
	if !ok {
		return
	}
	t.SecretEnv = name
	if !envNameRe.MatchString(name) {
		d.probs.add(env.Val.Pos, "secret_env must name an environment variable such as GITHUB_WEBHOOK_SECRET, not %s", quote(name))
		return
	}
	v, set := d.getenv(name)
	if !set || v == "" {
		d.probs.add(env.Val.Pos, "secret_env %s is not set in the server's environment; set it where baton serve runs, or use secret: VALUE", name)
		return
	}
	t.Secret = v
}

// schedule reads schedule, timezone, catch_up and overlap into t.Cron.
func (d *decoder) schedule(t *Trigger, root *yamltree.Node, f map[string]yamltree.Entry, kindKnown bool) {
	c := &Cron{Timezone: "UTC"}
	zoneOK := true
	if e, ok := f["timezone"]; ok {
		if s, ok := d.text(e.Val, "timezone"); ok && s != "" {
			c.Timezone = s
		}
		if _, err := composition.LoadZone(c.Timezone); err != nil {
			d.probs.add(e.Val.Pos, "timezone: %v", err)
			zoneOK = false
		}
	}
	if e, ok := f["catch_up"]; ok {
		c.CatchUp, _ = d.flag(e.Val, "catch_up")
	}
	if e, ok := f["overlap"]; ok {
		c.Overlap, _ = d.flag(e.Val, "overlap")
	}
	spec, ok := f["schedule"]
	if !ok {
		if kindKnown && t.Kind == Schedule {
			d.probs.add(root.Pos, `missing schedule; add one such as schedule: "0 3 * * *" (5 fields), @daily or "@every 90m"`)
		}
		return
	}
	t.Cron = c
	s, ok := d.text(spec.Val, "schedule")
	if !ok {
		return
	}
	c.Spec = s
	if !zoneOK {
		return
	}
	parsed, err := composition.NewCron(s, c.Timezone)
	if err != nil {
		d.probs.add(spec.Val.Pos, "schedule: %v", err)
		return
	}
	parsed.CatchUp, parsed.Overlap = c.CatchUp, c.Overlap
	t.Cron = parsed
}

// fields returns the entries of the map n by key, records the positions of
// their values under path and reports keys not in known. where names the
// map in messages ("" for the top level).
func (d *decoder) fields(n *yamltree.Node, path, where string, known []string) map[string]yamltree.Entry {
	out := make(map[string]yamltree.Entry, len(n.Entries))
	for _, e := range n.Entries {
		if !contains(known, e.Key) {
			loc := "at the top level"
			if where != "" {
				loc = "in " + where
			}
			d.probs.add(e.KeyPos, "unknown key %s %s%s", quote(e.Key), loc, composition.DidYouMean(e.Key, known))
			continue
		}
		d.pos[joinPath(path, e.Key)] = e.Val.Pos
		out[e.Key] = e
	}
	return out
}

// text reads a scalar as text; numbers and bools give their text as written.
func (d *decoder) text(n *yamltree.Node, subj string) (string, bool) {
	switch n.Kind {
	case yamltree.Null:
		return "", true
	case yamltree.Scalar:
		if s, ok := n.Value.(string); ok {
			return s, true
		}
		return n.Text, true
	}
	d.probs.add(n.Pos, "%s must be text, not %s", subj, yamltree.Describe(n))
	return "", false
}

func (d *decoder) flag(n *yamltree.Node, subj string) (bool, bool) {
	if b, ok := n.Value.(bool); ok && n.Kind == yamltree.Scalar {
		return b, true
	}
	d.probs.add(n.Pos, "%s must be true or false, not %s", subj, yamltree.Describe(n))
	return false, false
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func containsKind(list []Kind, k Kind) bool {
	for _, x := range list {
		if x == k {
			return true
		}
	}
	return false
}

// kindList formats kinds for a message: "github, gitlab and generic" with
// conj "and".
func kindList(ks []Kind, conj string) string {
	names := make([]string, len(ks))
	for i, k := range ks {
		names[i] = string(k)
	}
	if len(names) == 1 {
		return names[0]
	}
	return fmt.Sprintf("%s %s %s", strings.Join(names[:len(names)-1], ", "), conj, names[len(names)-1])
}
