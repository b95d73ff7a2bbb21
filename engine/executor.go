package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"baton/plugin"
)

// Executor runs work tasks. The local executor runs them inside the
// server; agents run them on other machines. A run's work tasks all go to
// the executor that holds its workspace.
type Executor interface {
	// Name identifies the executor; the local one is "local".
	Name() string
	// WorkspacePath turns a workspace key ("<composition>/<n>") into the
	// directory tasks run in on that executor.
	WorkspacePath(key string) string
	// PrepareWorkspace makes sure the directory exists, emptied when clean.
	PrepareWorkspace(ctx context.Context, key string, clean bool) error
	// Acquire takes a slot for a task, waiting until one is free or ctx
	// ends; TryAcquire takes one only if it is free now. Release gives back
	// a slot that will not be used.
	Acquire(ctx context.Context) error
	TryAcquire() bool
	Release()
	// Execute runs one job on a slot taken with Acquire or TryAcquire and
	// gives the slot back when the job has ended or ctx is done.
	Execute(ctx context.Context, job plugin.Job, sink plugin.Sink) plugin.Result
	// Gone reports that the executor takes no more work (an agent lost,
	// draining or disabled): a run placed on it must move.
	Gone() bool
}

// Local runs work tasks in this process with a fixed number of slots,
// each task in its run's workspace under Root.
type Local struct {
	reg   *plugin.Registry
	root  string
	slots chan struct{}
	n     int
	// Leftovers, when set, records the process group of each running task
	// so that after a crash the next start kills what is still running
	// before it retries those tasks.
	Leftovers *plugin.Leftovers
}

var _ Executor = (*Local)(nil)

// NewLocal returns a local executor with the given number of slots and
// workspaces under root. With 0 slots it takes no work: every run goes to
// an agent.
func NewLocal(reg *plugin.Registry, root string, slots int) *Local {
	if abs, err := filepath.Abs(root); err == nil {
		root = abs // workdir in the context is a full path
	}
	return &Local{reg: reg, root: root, slots: make(chan struct{}, max(slots, 0)), n: max(slots, 0)}
}

// Slots is how many tasks the local executor runs at once.
func (l *Local) Slots() int { return l.n }

// Used is how many of its slots are taken.
func (l *Local) Used() int { return len(l.slots) }

// Name is "local".
func (l *Local) Name() string { return "local" }

// WorkspacePath returns root/key.
func (l *Local) WorkspacePath(key string) string {
	return filepath.Join(l.root, filepath.FromSlash(key))
}

// PrepareWorkspace creates the workspace directory, emptying it first
// when clean. Like an agent, it refuses a key that does not name a real
// directory strictly inside root (see plugin.PrepareWorkspace).
func (l *Local) PrepareWorkspace(_ context.Context, key string, clean bool) error {
	_, err := plugin.PrepareWorkspace(l.root, key, clean)
	return err
}

// Acquire waits for a free slot.
func (l *Local) Acquire(ctx context.Context) error {
	if l.n == 0 {
		return errAgentGone
	}
	select {
	case l.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// TryAcquire takes a slot if one is free.
func (l *Local) TryAcquire() bool {
	select {
	case l.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

// Release gives a slot back.
func (l *Local) Release() { <-l.slots }

// Gone reports whether the local executor has no slots at all.
func (l *Local) Gone() bool { return l.n == 0 }

// Execute runs job through the plugin registry on an acquired slot.
func (l *Local) Execute(ctx context.Context, job plugin.Job, sink plugin.Sink) plugin.Result {
	defer l.Release()
	if l.Leftovers != nil {
		key := fmt.Sprintf("run%d-%s-%d", job.RunID, job.TaskID, job.Attempt)
		job.OnStart = func(pid int) { l.Leftovers.Record(key, pid) }
		defer l.Leftovers.Forget(key)
	}
	return l.reg.Run(ctx, job, sink)
}

// KillLeftovers kills the processes of tasks a crashed predecessor left
// running; the engine calls it before it resumes runs.
func (l *Local) KillLeftovers() ([]string, error) {
	if l.Leftovers == nil {
		return nil, nil
	}
	return l.Leftovers.KillAll()
}

// workspaces hands out workspace keys so that two active runs of one
// composition on one executor never share a directory, while a finished
// run's directory is reused by the next (a warm cache).
type workspaces struct {
	mu     sync.Mutex
	leased map[string]int64 // executor + "\x00" + key -> run id
}

func newWorkspaces() *workspaces { return &workspaces{leased: map[string]int64{}} }

// lease returns the lowest free key "<composition>/<n>" on the executor.
func (w *workspaces) lease(executor, composition string, runID int64) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	for n := 0; ; n++ {
		key := composition + "/" + strconv.Itoa(n)
		if _, taken := w.leased[executor+"\x00"+key]; !taken {
			w.leased[executor+"\x00"+key] = runID
			return key
		}
	}
}

// leaseWant leases the key want when it is a free key of the composition
// on the executor (a retry takes the workspace of the run it retries),
// else the lowest free key.
func (w *workspaces) leaseWant(executor, want, composition string, runID int64) string {
	if want != "" && strings.HasPrefix(want, composition+"/") {
		w.mu.Lock()
		_, taken := w.leased[executor+"\x00"+want]
		if !taken {
			w.leased[executor+"\x00"+want] = runID
		}
		w.mu.Unlock()
		if !taken {
			return want
		}
	}
	return w.lease(executor, composition, runID)
}

// hold records a lease read back from storage after a restart.
func (w *workspaces) hold(executor, key string, runID int64) {
	w.mu.Lock()
	w.leased[executor+"\x00"+key] = runID
	w.mu.Unlock()
}

// release frees a key if runID holds it.
func (w *workspaces) release(executor, key string, runID int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.leased[executor+"\x00"+key] == runID {
		delete(w.leased, executor+"\x00"+key)
	}
}
