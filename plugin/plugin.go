// Package plugin owns task types: the manifests of the built-in types and of
// the plugins a team adds, and the runners that execute work tasks (shell,
// http and plugin executables). The server's local executor and the agent
// daemon both run work through a Registry, so a task behaves the same
// wherever it runs.
package plugin

import (
	"context"
	"time"

	"baton/composition"
)

// TaskType is a task type with what it takes to run it.
type TaskType struct {
	composition.TypeSpec
	Plugin  *Plugin  // nil for built-in types
	Command []string // plugin types: executable and arguments, relative to Plugin.Dir
}

// Plugin is a directory holding a plugin.yaml and the executables it names.
type Plugin struct {
	Name        string
	Version     string
	Description string // markdown
	Dir         string
	Hash        string // sha256 of the directory's files, hex; names the plugin's content
	Tasks       []*TaskType
}

// Stream says which output of a task a line came from. The values match
// model.Stream.
type Stream uint8

// The streams a runner writes.
const (
	Stdout Stream = 1
	Stderr Stream = 2
	System Stream = 3
)

// MaxLineBytes caps one log line. A longer unbroken line is cut there and
// the line says how many bytes were dropped.
const MaxLineBytes = 64 << 10

// Sink receives the lines a task writes, each with the time it was read.
// Runners call it from more than one goroutine, never concurrently with
// itself for the same stream; it must not block for long.
type Sink func(stream Stream, at time.Time, text string)

// Job is one attempt of one work task, with everything resolved.
type Job struct {
	RunID       int64
	Composition string
	TaskID      string
	Attempt     int
	Type        string
	Fields      map[string]any // resolved and coerced to the manifest's types
	Env         map[string]string
	Context     map[string]string
	Workdir     string // the run's workspace; the task's current directory
	// WorkspaceKey names the workspace ("<composition>/<n>") for executors
	// that keep workspaces elsewhere (agents).
	WorkspaceKey string
	Secrets      []string // values to mask in the log
	// OnStart, when set, is called with the pid of a process task right
	// after it started; the process leads its own process group.
	OnStart func(pid int) `json:"-"`
}

// Result is how a work task ended.
type Result struct {
	Outputs  map[string]string
	Context  map[string]string // keys the task set in the shared context
	ExitCode int               // the process's exit status; -1 when a signal ended it, 0 for http tasks
	Err      error             // nil when the task succeeded
}

// Runner executes one kind of work task.
type Runner interface {
	Run(ctx context.Context, job Job, sink Sink) Result
}
