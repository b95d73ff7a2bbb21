package plugin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"
)

// DefaultGrace is how long the processes of a cancelled task get between
// SIGTERM and SIGKILL when a runner's Grace is zero.
const DefaultGrace = 5 * time.Second

// DefaultWaitDelay is how long a task's output is still read after its
// process exited, when a runner's WaitDelay is zero. It matters only when a
// process the task left in the background keeps the output open.
const DefaultWaitDelay = 2 * time.Second

// procSpec is the command a process runner starts.
type procSpec struct {
	path  string
	args  []string
	env   []string // after the BATON_* variables, before the job's env
	stdin []byte   // nil means /dev/null
	files []string // scratch files the spec wrote, removed after the run
}

// procOptions are the settings shared by the runners that start processes.
type procOptions struct {
	grace     time.Duration
	waitDelay time.Duration
	scratch   *Scratch   // nil: a private scratch directory per attempt
	env       *EnvPolicy // nil: DefaultTaskEnv
}

// run executes one attempt of a process task: it prepares the workspace,
// names the attempt's outputs files, starts the command in its own process
// group with the task's environment, streams its stdout and stderr to sink
// line by line, and collects the outputs and context files. When ctx ends,
// the whole process group gets SIGTERM, then SIGKILL after the grace, and
// run returns once the group is gone (or the grace and two more seconds
// have passed). build receives a path prefix for any file it must write.
func (o procOptions) run(ctx context.Context, job Job, sink Sink, build func(prefix string) (procSpec, error)) Result {
	grace, waitDelay := o.grace, o.waitDelay
	if grace <= 0 {
		grace = DefaultGrace
	}
	if waitDelay <= 0 {
		waitDelay = DefaultWaitDelay
	}
	workdir, err := prepareWorkdir(job.Workdir)
	if err != nil {
		return Result{Err: err}
	}
	scratch := o.scratch
	if scratch == nil {
		scratch = &Scratch{}
		defer scratch.Close()
	}
	prefix, err := scratch.prefix()
	if err != nil {
		return Result{Err: err}
	}
	// The outputs files are created by the task when it writes to them;
	// most tasks never do, and creating files is slow on some disks.
	outPath, ctxPath := prefix+".output", prefix+".context"
	defer os.Remove(outPath)
	defer os.Remove(ctxPath)
	spec, err := build(prefix)
	for _, f := range spec.files {
		defer os.Remove(f)
	}
	if err != nil {
		return Result{Err: err}
	}

	cmd := exec.CommandContext(ctx, spec.path, spec.args...)
	cmd.Dir = workdir
	cmd.Env = taskEnv(job, o.env, workdir, outPath, ctxPath, spec.env)
	if spec.stdin != nil {
		cmd.Stdin = bytes.NewReader(spec.stdin)
	}
	// Our own pipes rather than cmd.StdoutPipe: exec hands *os.File
	// straight to the child (no copying goroutine), we read them with large
	// buffers, and we decide how long to keep reading after the exit.
	outR, outW, err := os.Pipe()
	if err != nil {
		return Result{Err: fmt.Errorf("create stdout pipe: %w", err)}
	}
	defer outR.Close()
	errR, errW, err := os.Pipe()
	if err != nil {
		outW.Close()
		return Result{Err: fmt.Errorf("create stderr pipe: %w", err)}
	}
	defer errR.Close()
	cmd.Stdout, cmd.Stderr = outW, errW
	grp := &group{grace: grace}
	setGroup(cmd)
	cmd.Cancel = func() error { return grp.stop(cmd.Process) }
	// Past the grace, exec kills the leader itself should our group kill
	// somehow not have ended it.
	cmd.WaitDelay = grace + time.Second

	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		if ctx.Err() != nil {
			return Result{Err: stopErr(ctx)}
		}
		return Result{Err: fmt.Errorf("start %s: %w", spec.path, err)}
	}
	if job.OnStart != nil {
		job.OnStart(cmd.Process.Pid)
	}
	var wg sync.WaitGroup
	var readErrs [2]error
	tail := &errTail{}
	wg.Go(func() { readErrs[0] = pumpLines(outR, Stdout, sink) })
	wg.Go(func() { readErrs[1] = pumpLines(errR, Stderr, tail.watch(sink)) })

	waitErr := cmd.Wait()
	grp.waitGone(cmd.Process.Pid)
	drainOutput(ctx, &wg, waitDelay, sink, outR, errR)

	res := Result{ExitCode: cmd.ProcessState.ExitCode()}
	var outErr, ctxErr error
	res.Outputs, outErr = readOutputsFile(outPath, "BATON_OUTPUT")
	res.Context, ctxErr = readOutputsFile(ctxPath, "BATON_CONTEXT")
	switch {
	case waitErr != nil && ctx.Err() != nil:
		res.Err = stopErr(ctx)
	case waitErr != nil:
		res.Err = tail.describe(exitError(waitErr))
	case outErr != nil || ctxErr != nil:
		res.Err = errors.Join(outErr, ctxErr)
	case readErrs[0] != nil || readErrs[1] != nil:
		res.Err = fmt.Errorf("read the task's output: %w", errors.Join(readErrs[:]...))
	}
	return res
}

// drainOutput waits for the line readers to reach the end of the output.
// A process the task left in the background may hold the pipes open; after
// waitDelay (or when ctx ends) the readers are stopped, with a note in the
// log saying why.
func drainOutput(ctx context.Context, wg *sync.WaitGroup, waitDelay time.Duration, sink Sink, pipes ...*os.File) {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	timer := time.NewTimer(waitDelay)
	defer timer.Stop()
	select {
	case <-done:
		return
	case <-timer.C:
	case <-ctx.Done():
	}
	for _, p := range pipes {
		p.SetReadDeadline(time.Now())
	}
	<-done
	if ctx.Err() == nil {
		sink(System, time.Now(), fmt.Sprintf("the task exited but a process it left running still holds its output open; stopped reading after %s (redirect a background process's output to a file, e.g. cmd >cmd.log 2>&1 &)", waitDelay))
	}
}

// exitError turns the error of cmd.Wait into the task's error, "exit status
// 3" for an exit code.
func exitError(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() >= 0 {
		return fmt.Errorf("exit status %d", ee.ExitCode())
	}
	return err
}

// prepareWorkdir returns the absolute workspace directory, created if
// missing.
func prepareWorkdir(dir string) (string, error) {
	if dir == "" {
		return "", errors.New("the job has no workdir: a process task needs a workspace directory to run in")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("workspace %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return "", fmt.Errorf("create the workspace: %w", err)
	}
	return abs, nil
}

// taskEnv builds a task's environment: what policy lets it inherit of
// this process's own (see EnvPolicy), then the run's BATON_ variables,
// then extra, then the task's env: entries, which win. exec keeps the last
// value of a repeated name.
func taskEnv(job Job, policy *EnvPolicy, workdir, outPath, ctxPath string, extra []string) []string {
	env := policy.Inherited()
	env = slices.Grow(env, 7+len(extra)+len(job.Env))
	env = append(env,
		"BATON_RUN_ID="+strconv.FormatInt(job.RunID, 10),
		"BATON_COMPOSITION="+job.Composition,
		"BATON_TASK_ID="+job.TaskID,
		"BATON_ATTEMPT="+strconv.Itoa(job.Attempt),
		"BATON_WORKSPACE="+workdir,
		"BATON_OUTPUT="+outPath,
		"BATON_CONTEXT="+ctxPath,
	)
	env = append(env, extra...)
	for _, k := range slices.Sorted(maps.Keys(job.Env)) {
		env = append(env, k+"="+job.Env[k])
	}
	return env
}

// readOutputsFile parses an outputs file the task may have written; a file
// the task removed counts as empty.
func readOutputsFile(path, label string) (map[string]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	defer f.Close()
	return ParseOutputs(f, label)
}
