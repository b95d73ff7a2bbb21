package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"baton/composition"
)

// CommandRunner runs the tasks of a plugin: the task type's command,
// resolved against the plugin directory. The process's stdin holds the job
// as JSON:
//
//	{"fields": {...}, "context": {...},
//	 "run": {"id": 12, "composition": "deploy", "task": "up", "attempt": 1}}
//
// and its environment has, besides what every process task gets,
// BATON_PLUGIN_DIR and one BATON_FIELD_<NAME> per field (the name upper-cased
// with every other character than a letter or digit turned into _; lists and
// maps as JSON, numbers without exponent, booleans as true or false).
type CommandRunner struct {
	// Task is the plugin task type to run; its Plugin.Dir is absolute.
	Task *TaskType
	// Grace is how long the task's processes get between SIGTERM and
	// SIGKILL when it is cancelled; zero means DefaultGrace.
	Grace time.Duration
	// WaitDelay bounds how long output is still read after the command
	// exited while a background process holds it open; zero means
	// DefaultWaitDelay.
	WaitDelay time.Duration
	// Scratch holds the attempt's small files; nil means a directory of
	// its own per attempt.
	Scratch *Scratch
	// Env decides what of this process's environment the command
	// inherits; nil means DefaultTaskEnv.
	Env *EnvPolicy
}

var _ Runner = (*CommandRunner)(nil)

// commandInput is the JSON a plugin command reads on stdin.
type commandInput struct {
	Fields  map[string]any    `json:"fields"`
	Context map[string]string `json:"context"`
	Run     commandRun        `json:"run"`
}

type commandRun struct {
	ID          int64  `json:"id"`
	Composition string `json:"composition"`
	Task        string `json:"task"`
	Attempt     int    `json:"attempt"`
}

// Run runs the plugin command for job; see CommandRunner.
func (c *CommandRunner) Run(ctx context.Context, job Job, sink Sink) Result {
	t := c.Task
	if t == nil || t.Plugin == nil || len(t.Command) == 0 {
		return Result{Err: fmt.Errorf("task type %q has no plugin command to run", job.Type)}
	}
	in := commandInput{
		Fields:  map[string]any{},
		Context: map[string]string{},
		Run: commandRun{
			ID: job.RunID, Composition: job.Composition, Task: job.TaskID, Attempt: job.Attempt,
		},
	}
	for k, v := range job.Fields {
		in.Fields[k] = composition.JSONReady(v)
	}
	maps.Copy(in.Context, job.Context)
	stdin, err := json.Marshal(in)
	if err != nil {
		return Result{Err: fmt.Errorf("encode the task's input: %w", err)}
	}
	env := []string{"BATON_PLUGIN_DIR=" + t.Plugin.Dir}
	for _, k := range slices.Sorted(maps.Keys(job.Fields)) {
		env = append(env, FieldEnvName(k)+"="+composition.FormatValue(job.Fields[k]))
	}
	path := commandPath(t.Plugin.Dir, t.Command[0])
	opts := procOptions{grace: c.Grace, waitDelay: c.WaitDelay, scratch: c.Scratch, env: c.Env}
	return opts.run(ctx, job, sink, func(string) (procSpec, error) {
		return procSpec{path: path, args: t.Command[1:], env: env, stdin: stdin}, nil
	})
}

// FieldEnvName is the environment variable that carries a field to a plugin
// command: BATON_FIELD_ and the field name upper-cased, with every character
// other than an ASCII letter or digit turned into _ ("dry-run" becomes
// BATON_FIELD_DRY_RUN).
func FieldEnvName(field string) string {
	var b strings.Builder
	b.Grow(len("BATON_FIELD_") + len(field))
	b.WriteString("BATON_FIELD_")
	for i := 0; i < len(field); i++ {
		c := field[i]
		switch {
		case c >= 'a' && c <= 'z':
			b.WriteByte(c - 'a' + 'A')
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			b.WriteByte(c)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// commandPath resolves a plugin command: a path with a slash is relative to
// the plugin directory (unless absolute), a bare name is looked up in PATH.
func commandPath(dir, name string) string {
	if strings.ContainsRune(name, '/') && !filepath.IsAbs(name) {
		return filepath.Join(dir, name)
	}
	return name
}
