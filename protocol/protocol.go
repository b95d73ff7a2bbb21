// Package protocol defines the messages between the Baton server and its
// agents. It imports nothing of ours and nothing outside the standard
// library, so an agent (or a third-party agent in another language) needs
// only this description.
//
// # Transport
//
// The agent opens a websocket to GET {server}/api/v1/agents/connect (wss
// when the server URL is https) with the header
// "Authorization: Bearer <agent token>". A bad token is refused with HTTP
// 401 before the upgrade. Every websocket message is one text frame holding
// one JSON object with a "type" field; frames larger than MaxMessageBytes,
// binary frames, malformed JSON and unknown types are protocol errors: the
// receiver closes the connection with a close frame giving the reason and
// logs it. Both sides send websocket pings every PingInterval and treat a
// peer silent for PongTimeout as gone.
//
// # The conversation
//
//	agent  → server  hello     who I am, my facts, the jobs I still hold
//	server → agent   welcome   accepted; what you already delivered; jobs to drop
//	server → agent   assign    run this job
//	agent  → server  log       lines of a job, numbered per job from 1
//	server → agent   ack       lines up to seq are stored (and the result, once stored)
//	agent  → server  result    the job ended
//	server → agent   cancel    stop this job
//	agent  → server  facts     my facts changed
//	agent  → server  drain     I am stopping: send me no new jobs
//	both             heartbeat I am alive (agent: with the jobs it is running)
//	server → agent   error     why the server is about to close the connection
//
// The first message on a connection is the agent's hello; the server
// answers welcome, or error and closes. Only after welcome may either side
// send anything else.
//
// # Identity
//
// The agent token says that a machine may connect; the credential says
// which agent it is. On its first start an agent makes a credential (at
// least 32 random bytes, written as text of MinCredential to MaxCredential
// printable ASCII characters), keeps it in its workdir readable by its user
// only, and sends it in every hello. The server keeps only a hash of it:
//
//   - a name no credential holds yet (a new agent, or one an operator reset
//     or removed) is taken by the hello's credential: the agent is
//     registered;
//   - a name held by the hello's credential is the same agent: a
//     reconnect, a restart, or a copy of its workdir;
//   - a name held by another credential, a credential an operator reset,
//     and a hello without a credential are refused (Fatal: the agent stops;
//     a person must act);
//   - the agent token must allow what the hello claims: its name pattern,
//     pools and labels (a refusal is Fatal);
//   - while the agent is connected and heard from within StaleSession, a
//     second connection proving the same credential is refused, not Fatal
//     (the agent retries): the first connection may be a dead one the
//     server has not noticed yet, or another machine runs with a copy of the
//     workdir. One silent for longer is closed and replaced.
//
// Revoking the agent token, or resetting the agent's credential, makes the
// server send error (Fatal) and close the connection at once; the agent's
// jobs then follow the rules for an agent that went away. Version 1 of the
// protocol had no credential: the agent's name was trusted, and a server of
// version 2 refuses such agents as a Version mismatch.
//
// # Jobs and delivery
//
// A job is one attempt of one work task, named by a JobID the server
// chooses ("<run>/<task>/<attempt>"). The agent runs a job at most once: an
// assign for a job it already holds is ignored.
//
// Log lines and results are delivered at least once and stored exactly
// once. Lines of a job are numbered from 1 without gaps; a log message
// carries consecutive lines starting at Seq. The agent keeps every line
// and the result until the server acknowledges them (an ack with Seq ≥ the
// line's number; Result true for the result), spilling to disk when they
// do not fit in memory. After a reconnect, hello lists every job the agent
// still holds with the lines it has; welcome answers with what the server
// already stored (Acked), and the agent resends the rest in order. The
// server ignores lines it has already stored and a result it has already
// accepted, and acknowledges them again.
//
// A result is sent only after every line of the job (LogLines tells how
// many there were), so a stored result means a complete log. After an agent
// crash, lines that were only in its memory are gone: the agent numbers what
// it still has right after what the server acknowledged, notes the loss in a
// line of its own, and sends a result whose LogLines may be lower than the
// count its hello gave; the server accepts it.
//
// Welcome answers every job the hello listed: in Acked (go on sending), in
// ResultStored (forget it) or in Drop (kill it and forget it). A job the
// server believed running on the agent that the hello does not list is lost:
// the server fails it at once ("agent_lost") rather than waiting.
//
// An agent that cannot start a job at all (it is draining, a plugin cannot
// be fetched) answers with a Result whose NotRun is true: the server puts
// the task back to be placed again, without counting an attempt.
//
// # Who retries
//
// The agent reconnects forever, with exponential backoff and jitter capped
// near MaxBackoff, after any failure except a Version mismatch or a refused
// token, which it reports and stops on. The server never dials agents. If an
// agent stays away longer than the server's grace period, the server fails
// its jobs with "agent_lost" and may retry them elsewhere; when the agent
// comes back, welcome lists those jobs in Drop and the agent kills them, so
// a job never runs twice at the same time.
package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Version is the protocol version. Hello and welcome carry it; a server
// and an agent with different versions refuse each other. Version 2 added
// Hello.Credential.
const Version = 2

// Limits and timings of the protocol.
const (
	// MaxMessageBytes bounds one encoded message; a larger one is a protocol
	// error. Encode refuses to produce one.
	MaxMessageBytes = 1 << 20
	// MaxLogBytes is a guide for the text in one log message. JSON escapes
	// and each line's stream and time add to it, so a sender also checks
	// the encoded size (Encode's ErrTooLarge) and splits.
	MaxLogBytes = 256 << 10
	// PingInterval is how often each side sends a websocket ping.
	PingInterval = 20 * time.Second
	// PongTimeout is how long a peer may stay silent before it is gone.
	PongTimeout = 45 * time.Second
	// HeartbeatInterval is how often the agent sends a heartbeat.
	HeartbeatInterval = 10 * time.Second
	// MaxBackoff caps the agent's wait between reconnect attempts.
	MaxBackoff = 30 * time.Second
	// StaleSession is how long a connected agent may stay silent before a
	// new connection proving its credential replaces the old one, rather
	// than being refused.
	StaleSession = 25 * time.Second
	// MinCredential and MaxCredential bound the length of a credential.
	MinCredential = 32
	MaxCredential = 256
)

// Message types.
const (
	TypeHello     = "hello"
	TypeWelcome   = "welcome"
	TypeAssign    = "assign"
	TypeLog       = "log"
	TypeAck       = "ack"
	TypeResult    = "result"
	TypeCancel    = "cancel"
	TypeFacts     = "facts"
	TypeDrain     = "drain"
	TypeHeartbeat = "heartbeat"
	TypeError     = "error"
)

// Hello is the agent's first message.
type Hello struct {
	Type         string `json:"type"`
	Version      int    `json:"version"`
	AgentVersion string `json:"agent_version"`
	Name         string `json:"name"`
	// Credential proves the agent's name (see Identity). It is a secret:
	// never log it.
	Credential string            `json:"credential"`
	Facts      map[string]any    `json:"facts"`
	Labels     map[string]string `json:"labels,omitempty"`
	Pools      []string          `json:"pools,omitempty"`
	Slots      int               `json:"slots"`
	// Workdir is where the agent keeps workspaces; a workspace key
	// "<composition>/<n>" is a directory under it.
	Workdir string `json:"workdir"`
	// Plugins are the hashes of plugins the agent already has.
	Plugins []string `json:"plugins,omitempty"`
	// Jobs the agent is still running or holds undelivered output for.
	Jobs     []HeldJob `json:"jobs,omitempty"`
	Draining bool      `json:"draining,omitempty"`
}

// HeldJob is a job an agent reports in hello.
type HeldJob struct {
	JobID    string `json:"job_id"`
	Running  bool   `json:"running"`   // still running; false: it ended and its result is held
	LogLines int64  `json:"log_lines"` // lines the agent holds or has sent, numbered 1..LogLines
}

// Welcome accepts an agent.
type Welcome struct {
	Type          string `json:"type"`
	Version       int    `json:"version"`
	ServerVersion string `json:"server_version"`
	// Acked maps each held job the server knows to the last line it has
	// stored; the agent resends lines after it.
	Acked map[string]int64 `json:"acked,omitempty"`
	// ResultStored lists held jobs whose result the server already has.
	ResultStored []string `json:"result_stored,omitempty"`
	// Drop lists held jobs the server no longer wants: the agent kills
	// them if running and forgets them.
	Drop []string `json:"drop,omitempty"`
}

// Assign gives a job to an agent.
type Assign struct {
	Type        string            `json:"type"`
	JobID       string            `json:"job_id"`
	RunID       int64             `json:"run_id"`
	Composition string            `json:"composition"`
	TaskID      string            `json:"task_id"`
	Attempt     int               `json:"attempt"`
	TaskType    string            `json:"task_type"`
	Fields      map[string]any    `json:"fields"`
	Env         map[string]string `json:"env,omitempty"`
	Context     map[string]string `json:"context,omitempty"`
	// Workspace is the key of the run's workspace, "<composition>/<n>".
	Workspace string `json:"workspace"`
	// Clean asks for the workspace to be emptied first (the run's first job).
	Clean   bool     `json:"clean,omitempty"`
	Secrets []string `json:"secrets,omitempty"`
	// TimeoutMS is the task's timeout; 0 means none.
	TimeoutMS int64 `json:"timeout_ms,omitempty"`
	// Plugin names the plugin of a plugin task type; the agent fetches it
	// by hash from GET /api/v1/agents/plugins/{hash} when it lacks it.
	Plugin *PluginRef `json:"plugin,omitempty"`
}

// PluginRef names a plugin by content.
type PluginRef struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Hash    string `json:"hash"`
}

// Line is one line of a job's output.
type Line struct {
	Stream uint8     `json:"stream"` // 1 stdout, 2 stderr, 3 the agent's own note
	Time   time.Time `json:"time"`
	Text   string    `json:"text"`
}

// Log carries consecutive lines of a job, the first numbered Seq.
type Log struct {
	Type  string `json:"type"`
	JobID string `json:"job_id"`
	Seq   int64  `json:"seq"`
	Lines []Line `json:"lines"`
}

// Ack acknowledges what the server has stored.
type Ack struct {
	Type   string `json:"type"`
	JobID  string `json:"job_id"`
	Seq    int64  `json:"seq"`              // every line up to Seq is stored
	Result bool   `json:"result,omitempty"` // the result is stored: forget the job
}

// Result ends a job.
type Result struct {
	Type     string            `json:"type"`
	JobID    string            `json:"job_id"`
	ExitCode int               `json:"exit_code"`
	Error    string            `json:"error,omitempty"` // empty when the job succeeded
	Outputs  map[string]string `json:"outputs,omitempty"`
	Context  map[string]string `json:"context,omitempty"`
	LogLines int64             `json:"log_lines"` // how many lines the job wrote
	// NotRun says the job never started (the agent is draining, a plugin
	// could not be fetched): the server places the task again without
	// counting an attempt. Error says why.
	NotRun bool `json:"not_run,omitempty"`
}

// Cancel asks the agent to stop a job (its whole process group). The agent
// still sends the job's result.
type Cancel struct {
	Type   string `json:"type"`
	JobID  string `json:"job_id"`
	Reason string `json:"reason,omitempty"`
}

// Facts replaces the agent's facts.
type Facts struct {
	Type  string         `json:"type"`
	Facts map[string]any `json:"facts"`
}

// Drain says the agent takes no new jobs; it finishes what it runs.
type Drain struct {
	Type string `json:"type"`
}

// Heartbeat says a side is alive; the agent's carries its running jobs.
type Heartbeat struct {
	Type      string   `json:"type"`
	SlotsUsed int      `json:"slots_used,omitempty"`
	Jobs      []string `json:"jobs,omitempty"`
}

// Error is sent by the server just before it closes a connection.
type Error struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	// Fatal tells the agent not to reconnect: a version mismatch, a
	// refused credential, a claim its token does not allow, a revoked
	// token or credential. It reports Message and stops.
	Fatal bool `json:"fatal,omitempty"`
}

// CheckCredential reports what is wrong with a credential as text, or nil.
func CheckCredential(c string) error {
	if len(c) < MinCredential || len(c) > MaxCredential {
		return fmt.Errorf("a credential has %d to %d characters, not %d", MinCredential, MaxCredential, len(c))
	}
	for i := 0; i < len(c); i++ {
		if c[i] <= ' ' || c[i] > '~' {
			return errors.New("a credential is printable ASCII without spaces")
		}
	}
	return nil
}

// ErrTooLarge is returned for a message over MaxMessageBytes.
var ErrTooLarge = fmt.Errorf("message larger than %d bytes", MaxMessageBytes)

// Decode parses one message and returns a pointer to its typed struct
// (*Hello, *Log, ...). Malformed JSON, a missing or unknown type, and a
// message over MaxMessageBytes are errors.
func Decode(data []byte) (any, error) {
	if len(data) > MaxMessageBytes {
		return nil, ErrTooLarge
	}
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("malformed message: %w", err)
	}
	var msg any
	switch head.Type {
	case TypeHello:
		msg = &Hello{}
	case TypeWelcome:
		msg = &Welcome{}
	case TypeAssign:
		msg = &Assign{}
	case TypeLog:
		msg = &Log{}
	case TypeAck:
		msg = &Ack{}
	case TypeResult:
		msg = &Result{}
	case TypeCancel:
		msg = &Cancel{}
	case TypeFacts:
		msg = &Facts{}
	case TypeDrain:
		msg = &Drain{}
	case TypeHeartbeat:
		msg = &Heartbeat{}
	case TypeError:
		msg = &Error{}
	case "":
		return nil, errors.New("message has no type")
	default:
		return nil, fmt.Errorf("unknown message type %q", head.Type)
	}
	if err := json.Unmarshal(data, msg); err != nil {
		return nil, fmt.Errorf("malformed %s message: %w", head.Type, err)
	}
	if err := validate(msg); err != nil {
		return nil, fmt.Errorf("bad %s message: %w", head.Type, err)
	}
	return msg, nil
}

// Encode serialises a message, filling in its type.
func Encode(msg any) ([]byte, error) {
	switch m := msg.(type) {
	case *Hello:
		m.Type = TypeHello
	case *Welcome:
		m.Type = TypeWelcome
	case *Assign:
		m.Type = TypeAssign
	case *Log:
		m.Type = TypeLog
	case *Ack:
		m.Type = TypeAck
	case *Result:
		m.Type = TypeResult
	case *Cancel:
		m.Type = TypeCancel
	case *Facts:
		m.Type = TypeFacts
	case *Drain:
		m.Type = TypeDrain
	case *Heartbeat:
		m.Type = TypeHeartbeat
	case *Error:
		m.Type = TypeError
	default:
		return nil, fmt.Errorf("protocol: %T is not a message", msg)
	}
	// No HTML escaping: a log line full of < or & would otherwise grow six
	// times over on the wire.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(msg); err != nil {
		return nil, err
	}
	data := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if len(data) > MaxMessageBytes {
		return nil, ErrTooLarge
	}
	return data, nil
}

// validate checks what JSON decoding cannot: required fields and ranges.
func validate(msg any) error {
	switch m := msg.(type) {
	case *Hello:
		if m.Name == "" {
			return errors.New("name is empty")
		}
		if m.Slots < 0 {
			return errors.New("slots is negative")
		}
		for _, j := range m.Jobs {
			if j.JobID == "" || j.LogLines < 0 {
				return errors.New("a held job has no id or a negative line count")
			}
		}
	case *Assign:
		if m.JobID == "" || m.TaskType == "" {
			return errors.New("job_id or task_type is empty")
		}
	case *Log:
		if m.JobID == "" {
			return errors.New("job_id is empty")
		}
		if m.Seq < 1 {
			return fmt.Errorf("seq %d: lines are numbered from 1", m.Seq)
		}
		if len(m.Lines) == 0 {
			return errors.New("no lines")
		}
	case *Ack:
		if m.JobID == "" || m.Seq < 0 {
			return errors.New("job_id is empty or seq is negative")
		}
	case *Result:
		if m.JobID == "" || m.LogLines < 0 {
			return errors.New("job_id is empty or log_lines is negative")
		}
	case *Cancel:
		if m.JobID == "" {
			return errors.New("job_id is empty")
		}
	}
	return nil
}

// JobID names a job: "<run>/<task>/<attempt>".
func JobID(runID int64, taskID string, attempt int) string {
	return fmt.Sprintf("%d/%s/%d", runID, taskID, attempt)
}

// ParseJobID splits a job id made by JobID.
func ParseJobID(id string) (runID int64, taskID string, attempt int, err error) {
	run, rest, ok1 := strings.Cut(id, "/")
	i := strings.LastIndexByte(rest, '/')
	if !ok1 || i <= 0 {
		return 0, "", 0, fmt.Errorf("job id %q: want <run>/<task>/<attempt>", id)
	}
	if runID, err = strconv.ParseInt(run, 10, 64); err != nil || runID <= 0 {
		return 0, "", 0, fmt.Errorf("job id %q: run is not a positive number", id)
	}
	if attempt, err = strconv.Atoi(rest[i+1:]); err != nil || attempt <= 0 {
		return 0, "", 0, fmt.Errorf("job id %q: attempt is not a positive number", id)
	}
	return runID, rest[:i], attempt, nil
}
