// Package engine runs compositions: the run state machine, DAG scheduling,
// the queue, the control tasks (approval, composition, wait, sleep), the
// log writer and the event bus that feeds live views. The engine is the
// only writer of run state; every transition is committed to the Store
// before anything acts on it or sees it, so a server killed at any instant
// restarts into a consistent state and carries on.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"baton/model"
	"baton/plugin"
)

// Store is what the engine needs from storage. *storage.Store satisfies it.
type Store interface {
	GetComposition(ctx context.Context, name string) (model.CompositionVersion, error)
	GetCompositionVersion(ctx context.Context, name string, version int) (model.CompositionVersion, error)
	SaveComposition(ctx context.Context, name, source, author, message string) (model.CompositionVersion, bool, error)
	SaveCompositionIf(ctx context.Context, name, source, author, message string, base int) (model.CompositionVersion, bool, error)
	ListCompositions(ctx context.Context) ([]model.CompositionVersion, error)
	ListCompositionVersions(ctx context.Context, name string) ([]model.CompositionVersion, error)
	DeleteComposition(ctx context.Context, name string) error
	CreateRun(ctx context.Context, r *model.Run, tasks []*model.TaskRun) error
	SaveState(ctx context.Context, r *model.Run, tasks ...*model.TaskRun) error
	SetQueueReason(ctx context.Context, runID int64, reason string) (bool, error)
	FinishRun(ctx context.Context, r *model.Run, tasks []*model.TaskRun, follow []model.NewRun, events []*model.Event) error
	RecordEvent(ctx context.Context, ev *model.Event, runs []model.NewRun) error
	SaveTrigger(ctx context.Context, name, source, author, message string) (model.TriggerVersion, bool, error)
	SaveTriggerIf(ctx context.Context, name, source, author, message string, base int) (model.TriggerVersion, bool, error)
	GetTrigger(ctx context.Context, name string) (model.TriggerVersion, error)
	ListTriggerVersions(ctx context.Context, name string) ([]model.TriggerVersion, error)
	ListTriggers(ctx context.Context) ([]model.TriggerSource, error)
	DeleteTrigger(ctx context.Context, name string) error
	LastEvent(ctx context.Context, trigger string) (*model.Event, error)
	GetEvent(ctx context.Context, id int64) (*model.Event, error)
	GetRun(ctx context.Context, id int64) (*model.Run, error)
	GetTasks(ctx context.Context, runID int64) ([]*model.TaskRun, error)
	ActiveRuns(ctx context.Context) ([]*model.Run, error)
	AppendLogs(ctx context.Context, batches []model.LogBatch) error

	// Agents
	GetAgent(ctx context.Context, name string) (*model.Agent, error)
	AgentConnected(ctx context.Context, a *model.Agent) error
	AgentDisconnected(ctx context.Context, name string, lastSeen time.Time, reason string) error
	AgentSeen(ctx context.Context, name string, lastSeen time.Time, facts map[string]any) error
	ResetAgentsOnline(ctx context.Context) error
	CreateAgentJob(ctx context.Context, j *model.AgentJob) error
	GetAgentJob(ctx context.Context, jobID string) (*model.AgentJob, error)
	DeleteAgentJob(ctx context.Context, jobID string) error
	ClaimAgent(ctx context.Context, name, credentialHash string, tokenID int64, now time.Time, allow func(setPools []string, setLabels map[string]string) error) (model.AgentClaim, error)
	ResetAgentCredential(ctx context.Context, name string, now time.Time) error
	DeleteAgent(ctx context.Context, name string) error
	StaleAgents(ctx context.Context, before time.Time) ([]string, error)
	AgentTokenIDs(ctx context.Context) (map[int64]bool, error)
	DeleteAgentToken(ctx context.Context, id int64) error
}

// Config holds what the engine is built from.
type Config struct {
	Store   Store
	Catalog *plugin.Registry
	Local   Executor // the server's own executor
	Logger  *slog.Logger
	Hub     HubConfig
	Version string // of the server, told to agents
}

// Engine runs compositions. Create it with New, call Start once, and
// Shutdown at the end.
type Engine struct {
	store Store
	cat   *plugin.Registry
	local Executor
	log   *slog.Logger
	bus   *Bus
	logs  *logWriter
	comps *compCache
	ws    *workspaces
	hub   *Hub
	trig  *triggers

	version    string
	localFacts map[string]any

	ctx    context.Context // ends when the engine shuts down
	cancel context.CancelFunc

	mu       sync.Mutex
	queue    []*model.Run      // queued runs, oldest first
	runners  map[int64]*runner // active runs
	active   map[string]int    // composition -> active runs
	lastGood map[string]string // composition -> executor of its last successful run
	ended    chan struct{}     // closed and replaced whenever a run ends
	stopping bool
	wg       sync.WaitGroup
	kick     chan struct{}
	pings    chan chan struct{} // Ready's question to the queue loop
	health   health
	// hints: where queued retries would like to run (see retryHintOf).
	hints map[int64]retryHint
	// retryMu makes deciding and creating a retry one step (see Retry).
	retryMu sync.Mutex
	// queueDone is closed when the queue loop has stopped.
	queueDone chan struct{}
}

// New returns an engine; nothing runs until Start.
func New(cfg Config) *Engine {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	bus := NewBus()
	ctx, cancel := context.WithCancel(context.Background())
	e := &Engine{
		store:   cfg.Store,
		cat:     cfg.Catalog,
		local:   cfg.Local,
		log:     log,
		bus:     bus,
		logs:    newLogWriter(cfg.Store, bus, log),
		comps:   newCompCache(cfg.Store, cfg.Catalog),
		ws:      newWorkspaces(),
		ctx:     ctx,
		cancel:  cancel,
		runners: map[int64]*runner{},
		active:  map[string]int{},
		ended:   make(chan struct{}),
		kick:    make(chan struct{}, 1),
		pings:   make(chan chan struct{}),

		queueDone:  make(chan struct{}),
		lastGood:   map[string]string{},
		hints:      map[int64]retryHint{},
		version:    cfg.Version,
		localFacts: gatherLocalFacts(),
	}
	e.logs.refused, e.logs.health = e.logsRefused, &e.health
	e.hub = newHub(e, cfg.Hub)
	e.trig = newTriggers()
	return e
}

// Hub returns the agents' hub, which the HTTP layer hands connections to.
func (e *Engine) Hub() *Hub { return e.hub }

// executor returns the executor a run or task was placed on, by name.
func (e *Engine) executor(name string) Executor {
	if name == "" || name == "local" {
		return e.local
	}
	e.hub.mu.Lock()
	defer e.hub.mu.Unlock()
	return e.hub.stateLocked(name).exec
}

// Bus returns the event bus that live views subscribe to.
func (e *Engine) Bus() *Bus { return e.bus }

// Catalog returns the task types the engine knows.
func (e *Engine) Catalog() *plugin.Registry { return e.cat }

// Start picks up every run a previous process left unfinished, then starts
// the queue loop. Runs that were running go on where they were; tasks that
// were running in this process when it died are failed with "interrupted
// by server restart" and retried when they have retries left.
func (e *Engine) Start(ctx context.Context) error {
	if k, ok := e.local.(interface{ KillLeftovers() ([]string, error) }); ok {
		killed, err := k.KillLeftovers()
		if len(killed) > 0 {
			e.log.Warn("stopped task processes the previous server left running", "tasks", killed)
		}
		if err != nil {
			e.log.Error("could not stop every task process the previous server left running", "err", err)
		}
	}
	if err := e.store.ResetAgentsOnline(ctx); err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	runs, err := e.store.ActiveRuns(ctx)
	if err != nil {
		return fmt.Errorf("engine: recover: %w", err)
	}
	for _, r := range runs {
		if r.Status == model.RunQueued {
			e.queue = append(e.queue, r)
			continue
		}
		if err := e.resume(ctx, r); err != nil {
			e.log.Error("could not resume run", "run", r.ID, "composition", r.Composition, "err", err)
		}
	}
	if len(runs) > 0 {
		e.log.Info("recovered unfinished runs", "runs", len(runs))
	}
	if err := e.loadSchedules(ctx); err != nil {
		return err
	}
	go e.queueLoop()
	go e.scheduleTriggers()
	e.hub.start(e.ctx)
	e.poke()
	return nil
}

// Shutdown stops the engine: no new task starts, running work tasks get
// until ctx ends to finish (their results are kept), then they are killed
// and left for the next start to retry. Waiting approvals, sleeps and
// queued runs are durable and simply resume at the next start.
func (e *Engine) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	if e.stopping {
		e.mu.Unlock()
		<-e.queueDone
		e.wg.Wait()
		return nil
	}
	e.stopping = true
	runners := make([]*runner, 0, len(e.runners))
	for _, r := range e.runners {
		runners = append(runners, r)
	}
	e.mu.Unlock()
	e.poke()
	<-e.queueDone
	for _, r := range runners {
		r.send(evShutdown{})
	}
	done := make(chan struct{})
	go func() { e.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		e.cancel() // kills work still running
		<-done
		err = ctx.Err()
	}
	e.cancel()
	e.logs.Close()
	return err
}

// poke wakes the queue loop.
func (e *Engine) poke() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// runEnded returns a channel closed when the next run ends.
func (e *Engine) runEnded() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.ended
}

// isActive reports whether a run is queued or running in this engine.
func (e *Engine) isActive(id int64) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.runners[id]; ok {
		return true
	}
	for _, q := range e.queue {
		if q.ID == id {
			return true
		}
	}
	return false
}

// activeOf returns the ids of the queued and running runs of a composition.
func (e *Engine) activeOf(composition string) []int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	var ids []int64
	for id, r := range e.runners {
		if r.run.Composition == composition {
			ids = append(ids, id)
		}
	}
	for _, q := range e.queue {
		if q.Composition == composition {
			ids = append(ids, q.ID)
		}
	}
	return ids
}

// publishRun tells subscribers a run changed; r is copied.
func (e *Engine) publishRun(r *model.Run) {
	e.bus.Publish(Event{Kind: EventRun, RunID: r.ID, Composition: r.Composition, Run: cloneRun(r)})
}

// cloneRun copies a run with the maps the engine may still change, so the
// copy can be handed to other goroutines.
func cloneRun(r *model.Run) *model.Run {
	c := *r
	c.Context = maps.Clone(r.Context)
	c.Params = maps.Clone(r.Params)
	c.Outputs = maps.Clone(r.Outputs)
	return &c
}

// publishTask tells subscribers a task changed; t is copied.
func (e *Engine) publishTask(composition string, t *model.TaskRun) {
	c := *t
	if t.Approval != nil {
		a := *t.Approval
		c.Approval = &a
	}
	e.bus.Publish(Event{Kind: EventTask, RunID: t.RunID, Composition: composition, Task: &c})
}

// systemLog writes a line of Baton's own into a run's log.
func (e *Engine) systemLog(runID int64, taskID, format string, args ...any) {
	e.logs.Write(runID, model.LogLine{TaskID: taskID, Stream: model.System, Time: time.Now(), Text: fmt.Sprintf(format, args...)})
}

// errStopping is returned for requests that arrive while the engine shuts down.
var errStopping = errors.New("the server is shutting down; try again when it is back")
