package plugin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// ShellRunner runs shell tasks: the script in the run field, run as
// `<shell> -e -c <script> <task id>` (scripts over 64 KiB through a file,
// `<shell> -e <file>`), so the script stops at the first failing command. The shell field names the interpreter, "sh" by default;
// scripts that need bash set shell: bash. Words after the first are passed
// before -e, as in shell: bash -o pipefail.
type ShellRunner struct {
	// Grace is how long the task's processes get between SIGTERM and
	// SIGKILL when it is cancelled; zero means DefaultGrace.
	Grace time.Duration
	// Scratch holds the attempt's small files; nil means a directory of
	// its own per attempt.
	Scratch *Scratch
	// WaitDelay bounds how long output is still read after the script
	// exited while a background process holds it open; zero means
	// DefaultWaitDelay.
	WaitDelay time.Duration
	// Env decides what of this process's environment the script
	// inherits; nil means DefaultTaskEnv.
	Env *EnvPolicy
}

var _ Runner = (*ShellRunner)(nil)

// Run runs the job's script; see ShellRunner.
func (s *ShellRunner) Run(ctx context.Context, job Job, sink Sink) Result {
	script, err := fieldString(job.Fields, "run", "")
	if err != nil {
		return Result{Err: err}
	}
	if strings.TrimSpace(script) == "" {
		return Result{Err: errors.New("field run is empty: give the script to run")}
	}
	shell, err := fieldString(job.Fields, "shell", "sh")
	if err != nil {
		return Result{Err: err}
	}
	argv := strings.Fields(shell)
	if len(argv) == 0 {
		argv = []string{"sh"}
	}
	argv[0] = lookPath(argv[0])
	opts := procOptions{grace: s.Grace, waitDelay: s.WaitDelay, scratch: s.Scratch, env: s.Env}
	return opts.run(ctx, job, sink, func(prefix string) (procSpec, error) {
		args := append(argv[1:len(argv):len(argv)], "-e")
		if len(script) <= maxInlineScript {
			// $0 is the task id, so the shell's own messages name the task.
			return procSpec{path: argv[0], args: append(args, "-c", script, job.TaskID)}, nil
		}
		path := prefix + ".sh"
		spec := procSpec{path: argv[0], args: append(args, path), files: []string{path}}
		if err := os.WriteFile(path, []byte(script), 0o600); err != nil {
			return spec, fmt.Errorf("write the script: %w", err)
		}
		return spec, nil
	})
}

// maxInlineScript is the longest script passed as an argument (`sh -e -c`);
// Linux caps one argument at 128 KiB, and longer scripts go through a file.
const maxInlineScript = 64 << 10

// shells caches where interpreters were found in PATH, saving a dozen stat
// calls on every task start.
var shells sync.Map

// lookPath returns the path of an interpreter, cached; names with a slash
// and names not found are returned as given (exec reports the error).
func lookPath(name string) string {
	if strings.Contains(name, "/") {
		return name
	}
	if p, ok := shells.Load(name); ok {
		return p.(string)
	}
	p, err := exec.LookPath(name)
	if err != nil || !filepath.IsAbs(p) {
		return name
	}
	shells.Store(name, p)
	return p
}
