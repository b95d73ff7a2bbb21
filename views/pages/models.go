// Package pages holds one templ component per screen of the web UI, and
// the page models handlers fill for them.
package pages

import (
	"time"

	"baton/views/components"
	"baton/views/layouts"
)

// Login is the login form.
type Login struct {
	Layout layouts.Page
	Name   string
	Next   string
	Error  string
}

// ErrorPage explains what went wrong and offers a way back.
type ErrorPage struct {
	Layout   layouts.Page
	Status   int
	Headline string
	Message  string
	BackURL  string
	BackText string
	LoggedIn bool
}

// Dashboard is the start page.
type Dashboard struct {
	Layout         layouts.Page
	Now            time.Time
	Active         []components.RunRow
	Waiting        []components.RunRow
	Queued         []components.RunRow
	Failures       []components.RunRow
	Recent         []components.RunRow
	Agents         []AgentRow
	NoCompositions bool
}

// AgentRow is one agent in a list.
type AgentRow struct {
	Name     string
	Status   string
	Pools    string
	Labels   string
	Slots    string
	Current  []JobLink
	LastSeen time.Time
	OS       string
	Local    bool
}

// JobLink is a job an agent runs, linked to its run.
type JobLink struct {
	RunID int64
	Task  string
}

// Agents is the list of agents.
type Agents struct {
	Layout layouts.Page
	Now    time.Time
	Rows   []AgentRow
}

// Agent is one agent's page.
type Agent struct {
	Layout    layouts.Page
	Now       time.Time
	Row       AgentRow
	Facts     []components.KV
	State     string
	SetPools  string // one per line, for the form
	SetLabels string // k=v per line
	Reported  string // the labels and pools the agent reports
	Address   string
	Version   string
	LastError string
	Error     string
	// Online: connected now (it cannot be removed). Registered: a
	// credential holds the name; Identity says since when and with which
	// token.
	Online     bool
	Registered bool
	Identity   string
}

// AgentTokens is the page of agent tokens.
type AgentTokens struct {
	Layout   layouts.Page
	Now      time.Time
	Tokens   []AgentTokenRow
	NewToken string
	NewName  string
	Server   string // URL agents should dial
	Error    string
	// Form holds what was typed, shown again with Error.
	Form AgentTokenForm
}

// AgentTokenRow is one agent token in the list.
type AgentTokenRow struct {
	ID       int64
	Name     string
	Prefix   string
	Created  time.Time
	LastUsed time.Time
	Scope    string // what agents using it may claim, in words
}

// AgentTokenForm is the form that creates an agent token, as typed.
type AgentTokenForm struct {
	Name        string
	NamePattern string
	Pools       string // separated by spaces or commas
	Labels      string // key=value, one per line
}

// Compositions lists every composition.
type Compositions struct {
	Layout layouts.Page
	Now    time.Time
	Rows   []CompositionRow
}

// CompositionRow is one composition with its last run.
type CompositionRow struct {
	Name        string
	Description string // first line, plain text
	Version     int
	Invalid     string
	LastRun     *components.RunRow
	Tasks       int
}

// Composition is one composition: description, the form that starts a
// run, and its history.
type Composition struct {
	Layout          layouts.Page
	Now             time.Time
	Name            string
	Version         int
	SavedBy         string
	SavedAt         time.Time
	DescriptionHTML string
	Invalid         string
	Form            RunForm
	Runs            []components.RunRow
	Tasks           []string
	Schedules       []ScheduleView
}

// ScheduleView is one of a composition's schedules with its next times.
type ScheduleView struct {
	Trigger string // the name its events are recorded under
	Cron    string
	Zone    string
	Params  string
	Next    []time.Time
}

// RunForm is the params form that starts a run, with a message per field
// after a failed attempt.
type RunForm struct {
	Composition string
	Fields      []ParamField
	Error       string
}

// ParamField is one input of the params form.
type ParamField struct {
	Name     string
	Type     string // string, number, boolean, list
	Required bool
	Value    string // as typed, or the default
	Checked  bool   // booleans
	Options  []string
	HelpHTML string
	Error    string
}

// Runs is the list of every run, filtered.
type Runs struct {
	Layout       layouts.Page
	Now          time.Time
	Rows         []components.RunRow
	Composition  string
	Status       string
	Statuses     []string
	Compositions []string
	NextBefore   int64 // id for the "older" link; 0 when there is no more
}

// Run is the run page.
type Run struct {
	Layout  layouts.Page
	Now     time.Time
	ID      int64
	Name    string // composition
	Version int
	Status  string
	Error   string
	Queue   string
	Trigger string
	Parent  *Parent
	Started time.Time
	Took    time.Duration
	Agent   string
	Params  []components.KV
	Outputs []components.KV
	Context []components.KV
	Tasks   []TaskView
	Graph   components.Graph
	// Approvals waiting for a decision, with their messages rendered.
	Approvals []ApprovalView
	CanCancel bool
	// Ending is "failed" or "cancelled" while the run still runs but will
	// end so (work or clean-up tasks are finishing).
	Ending   string
	Done     bool
	LogLines int64
	TaskIDs  []string
	// RetryOf is the run this one retries; Retries the runs that retry
	// it, oldest first; CanRetry: it failed or was cancelled.
	RetryOf  int64
	Retries  []int64
	CanRetry bool
}

// Parent is the run a composition task started this one from.
type Parent struct {
	RunID int64
	Task  string
}

// TaskView is one task of a run.
type TaskView struct {
	ID         string
	Type       string
	Status     string
	Attempt    int
	Attempts   int // 1 + retries
	Took       time.Duration
	Error      string
	ChildRunID int64
	Agent      string
	Outputs    []components.KV
	Decision   string // approval tasks once decided: "approved by alice: comment"
	KeptFrom   int64  // a retry kept this task's result from that run
}

// ApprovalView is an approval task waiting for a decision.
type ApprovalView struct {
	Task        string
	MessageHTML string
}

// Tokens is the page of one's API tokens.
type Tokens struct {
	Layout   layouts.Page
	Now      time.Time
	Tokens   []TokenRow
	NewToken string // shown once, right after creation
	NewName  string
	Error    string
}

// TokenRow is one API token.
type TokenRow struct {
	ID       int64
	Name     string
	Prefix   string
	Created  time.Time
	LastUsed time.Time
}

// Users is the page listing users, adding one, and changing one's password.
type Users struct {
	Layout      layouts.Page
	Now         time.Time
	Users       []UserRow
	Me          string
	NewUser     string
	NewPassword string // shown once after adding a user
	Error       string
	PassError   string
}

// UserRow is one user.
type UserRow struct {
	Name    string
	Created time.Time
}

// Triggers lists the triggers.
type Triggers struct {
	Layout  layouts.Page
	Now     time.Time
	Rows    []TriggerRow
	Invalid []components.KV // name -> problems
}

// TriggerRow is one trigger.
type TriggerRow struct {
	Name     string
	Kind     string
	URL      string // where events go: the hook, or the API endpoint
	Schedule string // cron and zone
	Owner    string // the composition that declares this schedule, if one does
	Next     []time.Time
	Rules    int
	Accepted int64
	Rejected int64
	Limited  int64
}

// TriggerPage is one trigger: where to point senders, its rules, its
// events, its version, and a form to send it a test event.
type TriggerPage struct {
	Layout layouts.Page
	Now    time.Time
	Row    TriggerRow
	HTML   string // description
	Secret string // where the secret comes from, never the secret
	Rules  []RuleView
	Events []EventRow
	Source string // redacted
	// Version is the stored version that is current, saved by UpdatedBy
	// at UpdatedAt; 0 for a composition's schedule, which is not stored.
	Version   int
	UpdatedBy string
	UpdatedAt time.Time
	// Invalid says why a stored trigger is not active; it can still be
	// edited, and its history read.
	Invalid string
	Test    *TriggerTest // nil when the trigger is not active
}

// RuleView is one rule of a trigger.
type RuleView struct {
	Name, When, Composition, Params string
}

// EventRow is one event in a list.
type EventRow struct {
	ID       int64
	Trigger  string
	Event    string
	Delivery string
	At       time.Time
	Matched  int
	Runs     []int64
	Errors   int
	ReplayOf int64
	TestBy   string // who sent it as a test; "" for real events
}

// Events lists events.
type Events struct {
	Layout     layouts.Page
	Now        time.Time
	Rows       []EventRow
	Trigger    string
	NextBefore int64
}

// EventPage is one event: what came, what each rule decided.
type EventPage struct {
	Layout  layouts.Page
	Now     time.Time
	Row     EventRow
	Kind    string
	Results []ResultView
	Headers []components.KV
	Payload string // indented JSON, secrets redacted
	Exists  bool   // its trigger still exists, so it can be replayed
}

// ResultView is what one rule decided.
type ResultView struct {
	Rule    string
	Matched bool
	RunID   int64
	Error   string
}

// History lists a composition's versions and the difference between two.
type History struct {
	Layout   layouts.Page
	Now      time.Time
	Name     string
	Current  int // 0 when the composition is deleted
	Versions []VersionRow
	A, B     int // the versions compared
	Diff     []DiffLine
	Changes  int // changed lines
}

// VersionRow is one stored version.
type VersionRow struct {
	Version int
	Author  string
	Message string
	SavedAt time.Time
	Current bool
}

// DiffLine is one row of a diff: Op is "same", "del", "add", or "gap" for
// unchanged lines left out (Text says how many).
type DiffLine struct {
	Op       string
	Text     string
	Old, New int
}

// VersionPage shows one stored version's YAML.
type VersionPage struct {
	Layout  layouts.Page
	Now     time.Time
	Name    string
	Version int
	Author  string
	Message string
	SavedAt time.Time
	Source  string
	Current int    // the current version, 0 when deleted
	Invalid string // why this version does not validate any more
}
