package plugin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ShellRunner runs shell tasks: the script in the run field, written to a
// file and run as `<shell> -e <file>`, so the script stops at the first
// failing command. The shell field names the interpreter, "sh" by default;
// scripts that need bash set shell: bash. Words after the first are passed
// before -e, as in shell: bash -o pipefail.
type ShellRunner struct {
	// Grace is how long the task's processes get between SIGTERM and
	// SIGKILL when it is cancelled; zero means DefaultGrace.
	Grace time.Duration
	// WaitDelay bounds how long output is still read after the script
	// exited while a background process holds it open; zero means
	// DefaultWaitDelay.
	WaitDelay time.Duration
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
	opts := procOptions{grace: s.Grace, waitDelay: s.WaitDelay}
	return opts.run(ctx, job, sink, func(tmp string) (procSpec, error) {
		path := filepath.Join(tmp, "script")
		if err := os.WriteFile(path, []byte(script), 0o600); err != nil {
			return procSpec{}, fmt.Errorf("write the script: %w", err)
		}
		args := append(argv[1:len(argv):len(argv)], "-e", path)
		return procSpec{path: argv[0], args: args}, nil
	})
}
