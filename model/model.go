// Package model holds the plain records of what happens in Baton: runs, task
// runs, log lines, stored compositions and the status enums they move through.
// It imports nothing of ours, so every other package can share these records.
package model

import "time"

// RunStatus is where a run is in its life.
type RunStatus string

// The states of a run. A run starts queued, becomes running when it may start,
// waiting while its only unfinished work is an approval, and ends in one of the
// three final states.
const (
	RunQueued    RunStatus = "queued"
	RunRunning   RunStatus = "running"
	RunWaiting   RunStatus = "waiting"
	RunSucceeded RunStatus = "succeeded"
	RunFailed    RunStatus = "failed"
	RunCancelled RunStatus = "cancelled"
)

// RunStatuses lists every run status, in life order.
var RunStatuses = []RunStatus{RunQueued, RunRunning, RunWaiting, RunSucceeded, RunFailed, RunCancelled}

// Done reports whether the run has ended and will not change again.
func (s RunStatus) Done() bool {
	return s == RunSucceeded || s == RunFailed || s == RunCancelled
}

// Valid reports whether s is one of the known run statuses.
func (s RunStatus) Valid() bool {
	for _, v := range RunStatuses {
		if s == v {
			return true
		}
	}
	return false
}

// TaskStatus is where one task of a run is.
type TaskStatus string

// The states of a task in a run. Skipped tasks never started: their `if` was
// false, or an earlier failure or a cancel stopped the run first.
const (
	TaskPending   TaskStatus = "pending"
	TaskRunning   TaskStatus = "running"
	TaskWaiting   TaskStatus = "waiting"
	TaskSucceeded TaskStatus = "succeeded"
	TaskFailed    TaskStatus = "failed"
	TaskSkipped   TaskStatus = "skipped"
	TaskCancelled TaskStatus = "cancelled"
)

// Done reports whether the task has reached a final state.
func (s TaskStatus) Done() bool {
	switch s {
	case TaskSucceeded, TaskFailed, TaskSkipped, TaskCancelled:
		return true
	}
	return false
}

// Run is one execution of one version of a composition.
type Run struct {
	ID          int64
	Composition string
	Version     int // version of the stored composition this run executes
	Params      map[string]any
	Status      RunStatus
	Error       string // why the run failed or was cancelled
	// Ending is set while a run is still running but will end failed or
	// cancelled (a task failed, or someone cancelled, and running work is
	// finishing); empty otherwise.
	Ending      RunStatus
	Forced      bool   // cancelled with force: tasks marked always stop too
	QueueReason string // while queued: what it waits for, in words
	Trigger     string // who or what started it: "api", "cli", "on_failure of run 12", ...
	ParentRunID int64  // set when a composition task of another run started this one
	ParentTask  string
	Context     map[string]string // the run's shared context; starts with workdir
	Outputs     map[string]any    // set when the run ends
	Agent       string            // executor that holds the run's workspace
	Workspace   string            // the workspace directory on that executor
	CreatedAt   time.Time
	StartedAt   time.Time // zero while queued
	FinishedAt  time.Time // zero until done

	// RetryOf is the run this one retries: it runs the same composition
	// version with the same params, and started with the tasks of that run
	// it kept (KeptFrom) already succeeded.
	RetryOf int64
}

// Duration is how long the run has taken so far, or took.
func (r *Run) Duration(now time.Time) time.Duration {
	return span(r.StartedAt, r.FinishedAt, now)
}

// TaskRun is the state of one task of a run.
type TaskRun struct {
	RunID      int64
	TaskID     string
	Status     TaskStatus
	Attempt    int // 1 for the first attempt; 0 while it has never started
	Outputs    map[string]any
	Error      string
	Agent      string // executor that ran the last attempt
	ChildRunID int64  // composition tasks: the run they started
	Approval   *Approval
	StartedAt  time.Time
	FinishedAt time.Time
	// IfFalse: the task was skipped because its if was false (not
	// because the run failed or was cancelled first).
	IfFalse bool
	// KeptFrom is set on a task a retry kept instead of running it again:
	// the run whose attempt this result is.
	KeptFrom int64
	// ContextSet is the context keys the task's successful attempt set
	// (empty when none); nil when that is not known (tasks that ended
	// before Baton recorded it).
	ContextSet map[string]string
}

// Duration is how long the task has taken so far, or took.
func (t *TaskRun) Duration(now time.Time) time.Duration {
	return span(t.StartedAt, t.FinishedAt, now)
}

func span(start, end, now time.Time) time.Duration {
	if start.IsZero() {
		return 0
	}
	if end.IsZero() {
		end = now
	}
	return end.Sub(start)
}

// Decision is the answer given to an approval task.
type Decision string

// The two answers to an approval.
const (
	Approved Decision = "approved"
	Rejected Decision = "rejected"
)

// Approval records the question of an approval task and, once given, its answer.
type Approval struct {
	Message  string // markdown, expressions already resolved
	Decision Decision
	By       string
	At       time.Time
	Comment  string
}

// Stream says where a log line came from.
type Stream uint8

// Log streams. System lines are written by Baton itself (a task starting, a
// retry, a timeout), so a log reads as a full story of the run.
const (
	Stdout Stream = 1
	Stderr Stream = 2
	System Stream = 3
)

// String names the stream as the API shows it.
func (s Stream) String() string {
	switch s {
	case Stdout:
		return "stdout"
	case Stderr:
		return "stderr"
	case System:
		return "system"
	}
	return "unknown"
}

// LogLine is one line of a run's aggregated log. Seq numbers the lines of a
// run from 1 without gaps, in the order they were stored.
type LogLine struct {
	Seq    int64
	TaskID string
	Stream Stream
	Time   time.Time
	Text   string
}

// CompositionVersion is one saved version of a composition's source.
type CompositionVersion struct {
	Name      string
	Version   int // 1, 2, 3, ... per name
	Source    string
	Author    string
	Message   string
	CreatedAt time.Time
	Deleted   bool // the composition was deleted after this version was saved
}

// LogBatch is lines of one run to append to its log. Marks, when set,
// record in the same transaction how many lines of an agent's job are
// stored, so lines resent after a reconnect are recognised.
type LogBatch struct {
	RunID int64
	Lines []LogLine
	Marks []JobMark
}

// JobMark says that the lines of an agent's job up to Seq are stored.
type JobMark struct {
	JobID string
	Seq   int64
}

// NewRun is a run to be created together with another change, with the
// initial state of its tasks.
type NewRun struct {
	Run   *Run
	Tasks []*TaskRun
}

// User is a person who logs in to the web UI and owns API tokens.
type User struct {
	ID           int64
	Name         string
	PasswordHash string
	CreatedAt    time.Time
}

// APIToken is a bearer token for the API. Only a hash of the token is
// stored; Prefix (its first characters) lets people tell tokens apart.
type APIToken struct {
	ID         int64
	UserID     int64
	UserName   string
	Name       string
	Prefix     string
	CreatedAt  time.Time
	LastUsedAt time.Time
}

// AgentState is what an operator chose for an agent.
type AgentState string

// The operator's choices: enabled agents take work; draining ones finish
// what they run and take nothing new; disabled ones take nothing.
const (
	AgentEnabled  AgentState = "enabled"
	AgentDraining AgentState = "draining"
	AgentDisabled AgentState = "disabled"
)

// Agent is a machine that runs work tasks for the server.
type Agent struct {
	Name        string
	Facts       map[string]any
	Labels      map[string]string // reported by the agent
	Pools       []string          // reported by the agent
	SetLabels   map[string]string // assigned by an operator; they win
	SetPools    []string          // assigned by an operator, added
	Slots       int
	State       AgentState
	Online      bool
	Version     string
	Workdir     string
	Address     string
	ConnectedAt time.Time
	LastSeen    time.Time
	LastError   string
	// Registered says a credential holds the name; RegisteredAt is when
	// it was claimed, TokenID the agent token last used to connect.
	Registered   bool
	RegisteredAt time.Time
	TokenID      int64
}

// AllLabels returns the reported labels with the operator's on top.
func (a *Agent) AllLabels() map[string]string {
	out := make(map[string]string, len(a.Labels)+len(a.SetLabels))
	for k, v := range a.Labels {
		out[k] = v
	}
	for k, v := range a.SetLabels {
		out[k] = v
	}
	return out
}

// AllPools returns the reported pools and the operator's, without repeats.
func (a *Agent) AllPools() []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range append(append([]string{}, a.Pools...), a.SetPools...) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// AgentToken is a token agents authenticate with; only its hash is stored.
// NamePattern, Pools and Labels limit what an agent connecting with it may
// claim: a name matching the glob, only these pools, only these labels (a
// value "*" allows any value of its key). Empty means no limit.
type AgentToken struct {
	ID          int64
	Name        string
	Prefix      string
	CreatedAt   time.Time
	LastUsedAt  time.Time
	NamePattern string
	Pools       []string
	Labels      map[string]string
}

// AgentJob is one job given to an agent and how much of its log is stored.
type AgentJob struct {
	JobID   string
	RunID   int64
	TaskID  string
	Attempt int
	Agent   string
	LogSeq  int64
}

// AgentPatch is an operator's change to an agent; nil fields stay as they are.
type AgentPatch struct {
	Pools  *[]string
	Labels *map[string]string
	State  *AgentState
}

// Event is something a trigger received: a webhook delivery, an event
// posted through the API, a schedule firing, a run finishing.
type Event struct {
	ID         int64
	Trigger    string
	Kind       string // github, gitlab, generic, api, schedule, runs
	Name       string // the event: push, pull_request, schedule, run.finished
	DeliveryID string // unique per trigger when set
	Payload    any    // secrets redacted
	Headers    map[string]string
	Results    []RuleResult
	ReplayOf   int64 // the event this one replays
	ReceivedAt time.Time
	// TestBy names the user who sent this event as a test from the
	// trigger's page or the API; empty for real events.
	TestBy string
	// Digest names a webhook request by what its sender signed (body and
	// signature); it is remembered until DigestUntil, and the same request
	// again is a duplicate however its delivery id changed. Empty for
	// other events; not read back with the event.
	Digest      string
	DigestUntil time.Time
}

// RuleResult is what one rule decided about an event.
type RuleResult struct {
	Rule    string `json:"rule"`
	Matched bool   `json:"matched"`
	RunID   int64  `json:"run_id,omitempty"`
	Error   string `json:"error,omitempty"`
	// Run is the run the rule starts, while it is being created with the
	// event; RunID is set from it.
	Run *Run `json:"-"`
}

// TriggerSource is a stored trigger file: its current version.
type TriggerSource struct {
	Name      string
	Source    string
	UpdatedBy string
	UpdatedAt time.Time
	Version   int
}

// TriggerVersion is one saved version of a trigger's source. A literal
// secret in it is stored as written; pages and the API redact it.
type TriggerVersion struct {
	Name      string
	Version   int // 1, 2, 3, ... per name
	Source    string
	Author    string
	Message   string
	CreatedAt time.Time
}
