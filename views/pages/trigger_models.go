package pages

import (
	"time"

	"baton/views/layouts"
)

// TriggerEditor is the page that creates a trigger or edits one as YAML.
type TriggerEditor struct {
	Layout  layouts.Page
	Orig    string   // the trigger being edited; "" for a new one
	Base    int      // the version the text started from; 0 for a new trigger
	Kind    string   // a new trigger: the kind whose starter the text is
	Kinds   []string // a new trigger: the kinds with a starter
	Source  string   // the text, secrets redacted
	Message string   // why it is saved, for the history
	Check   TriggerCheck
	// Error says why the last save stored nothing.
	Error string
	// Conflict is set when someone else saved the trigger meanwhile.
	Conflict *TriggerConflict
	// Secret says where the trigger's secret comes from, never the secret.
	Secret string
	// Webhook says the text is a webhook trigger, which needs a secret.
	Webhook bool
}

// TriggerCheck is what checking a trigger's text found: problems, each at
// its line and column (nothing is saved while there are any), and notes
// that are worth knowing but do not stop a save.
type TriggerCheck struct {
	Problems []EditorProblem
	Notes    []string
}

// TriggerConflict says a save was refused because someone else saved the
// trigger first.
type TriggerConflict struct {
	Name    string // the trigger's name in the text
	Message string
	Theirs  int        // the version now current; 0 when deleted
	Author  string     // who saved it
	Diff    []DiffLine // from their version to the text refused
}

// TriggerTest is the form that sends a test event from a trigger's page.
type TriggerTest struct {
	Name    string
	Kind    string   // webhook kinds and api: an event and a payload; schedule: run now; runs: a run
	Event   string   // the event's name
	Events  []string // event names the kind's sender uses, as suggestions
	Payload string   // JSON
	RunID   int64    // runs: the finished run to test against
	Result  *TestResult
}

// TestResult is what a test event did: what each rule decided and the runs
// it started, or why it could not be sent.
type TestResult struct {
	EventID int64
	Event   string
	By      string
	At      time.Time
	Error   string
	Rules   []RuleOutcome
	Runs    []int64
}

// RuleOutcome is one rule's decision on an event, with its condition.
type RuleOutcome struct {
	Rule    string
	When    string // the rule's condition; "" means always
	Matched bool
	RunID   int64
	Error   string
}

// AnyMatched reports whether any rule matched the event.
func (r *TestResult) AnyMatched() bool {
	for _, o := range r.Rules {
		if o.Matched {
			return true
		}
	}
	return false
}
