// Package trigger owns the trigger file format: webhooks (GitHub, GitLab,
// generic), events posted through the API, schedules and composition
// events, each with rules that start runs. It parses and validates trigger
// files with line and column, verifies webhook signatures, turns a webhook
// request into a Delivery, redacts secrets from payloads, and computes
// schedule times. It starts nothing: the engine evaluates a rule's when
// (composition.EvalBool over Delivery.Env) and its params
// (RunSpec.ResolveParams), and starts the runs.
package trigger

import (
	"time"

	"baton/composition"
)

// Kind is where a trigger's events come from.
type Kind string

// The kinds of triggers.
const (
	GitHub   Kind = "github"   // POST /hooks/{name}, X-Hub-Signature-256
	GitLab   Kind = "gitlab"   // POST /hooks/{name}, X-Gitlab-Token
	Generic  Kind = "generic"  // POST /hooks/{name}, an HMAC header or a bearer token
	API      Kind = "api"      // POST /api/v1/events/{name} with a user's API token
	Schedule Kind = "schedule" // a cron schedule
	Runs     Kind = "runs"     // composition events: run.finished
)

// Trigger is a parsed trigger file.
type Trigger struct {
	Name        string
	Kind        Kind
	Description string // markdown
	// Secret verifies webhook requests: the HMAC key (github, generic
	// hmac), the token (gitlab, generic bearer). Read from `secret:` or
	// from the environment variable `secret_env:` names.
	Secret string
	// SecretEnv is the environment variable the secret came from, if any.
	SecretEnv string
	// Auth says how a generic webhook is verified.
	Auth GenericAuth
	// MaxBody bounds a webhook or API event body (default 1 MiB); 0 for
	// schedule and runs triggers.
	MaxBody int64
	// Rate bounds accepted webhook and API events (default 60 per minute,
	// burst 20); zero, no limit, for schedule and runs triggers.
	Rate Rate
	// ReplayWindow is how long a webhook remembers the digest of each
	// request it accepted (Delivery.Digest), so that the same request sent
	// again is a duplicate. Zero means DefaultReplayWindow, ReplayOff
	// that no digest is kept; see DigestWindow.
	ReplayWindow time.Duration
	// Cron is set for schedule triggers.
	Cron *Cron
	// Rules decide which runs an event starts, in file order. A schedule
	// trigger's top-level `run:` becomes one rule without `when`.
	Rules  []Rule
	Source []byte
	File   string
	Pos    composition.Positions
	// Owner is set on the schedules the server derives from a
	// composition's own schedules: the composition that declares it.
	Owner string
}

// GenericAuth is how a generic webhook proves itself.
type GenericAuth struct {
	Mode   string // "hmac" (default) or "bearer"
	Header string // hmac: the header with the signature, default X-Signature-256
}

// Rate is a limit on events: Events per Per, with bursts up to Burst.
type Rate struct {
	Events int
	Per    time.Duration
	Burst  int
}

// Rule starts a run when its condition holds.
type Rule struct {
	Name string // optional; defaults to "rule N"
	// When is a bare expression over the event (no ${{ }}): it sees
	// event (the event name, "push"), payload (the JSON body), headers
	// (selected request headers, lower-case names), trigger (its name) and
	// delivery (the delivery id). Empty means always.
	When string
	Run  RunSpec
}

// RunSpec names the composition a rule starts and its params, which may
// hold ${{ }} expressions over the same names as When.
type RunSpec struct {
	Composition string
	Params      map[string]any
}

// Cron is a parsed schedule, shared with compositions' own schedules.
type Cron = composition.Cron

// Delivery is one verified webhook request.
type Delivery struct {
	Event   string            // "push", "merge_request", ...
	ID      string            // delivery id for de-duplication; empty when the sender gives none
	Payload any               // the decoded JSON body
	Headers map[string]string // selected, safe request headers (lower-case names), never signatures or tokens
	// Digest names the request by what its sender signed: the hex SHA-256
	// of the body and its signature (see Verify). Unlike ID, which rides
	// in an unsigned header, it cannot be changed by someone who replays a
	// captured request. Empty for events that are not webhook requests.
	Digest string
}

// DigestWindow returns how long the digest of a request this trigger
// accepted is remembered: ReplayWindow, DefaultReplayWindow when that is
// not set, or 0 when it is ReplayOff (no digest is kept).
func (t *Trigger) DigestWindow() time.Duration {
	switch {
	case t.ReplayWindow == ReplayOff:
		return 0
	case t.ReplayWindow > 0:
		return t.ReplayWindow
	}
	return DefaultReplayWindow
}
