// Package agentd is the Baton agent daemon: it dials the server's agent
// endpoint, reports the machine's facts, runs the jobs it is assigned
// through a plugin.Registry exactly as the server's local executor does,
// and streams their output back, keeping every line and result until the
// server has stored it, across reconnects and agent restarts. The
// conversation is the one package protocol describes.
//
// The agent keeps its state under Config.Workdir:
//
//	agent-credential               what proves the agent's name to the server (mode 0600)
//	workspaces/<composition>/<n>/  the runs' workspaces
//	plugins/<hash>/                plugins fetched from the server, kept across restarts
//	outbox/<job>.job|.lines|.result  undelivered output of each held job
//	running/<job>                  process groups of running jobs (plugin.Leftovers)
package agentd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"baton/plugin"
	"baton/protocol"
)

// Defaults and bounds of an agent.
const (
	// DefaultGrace is how long running jobs get to finish when the agent
	// is stopped, when Config.Grace is zero.
	DefaultGrace = 5 * time.Minute
	// memoryBudget is how many bytes of undelivered log lines all jobs
	// together keep in memory before they spill to disk.
	memoryBudget = 8 << 20
	// sendWindow is how many bytes of log messages may be sent and not yet
	// acknowledged; the agent waits for acks beyond it.
	sendWindow = 4 << 20
	// factsInterval is how often facts are gathered again.
	factsInterval = time.Minute
	// deliverTimeout is how long a stopping agent waits for the server to
	// store what its jobs wrote; abortDeliverTimeout after Abort. What is
	// not delivered stays on disk for the next start.
	deliverTimeout      = 15 * time.Second
	abortDeliverTimeout = 3 * time.Second
)

// Config is what an agent is started with.
type Config struct {
	// Server is the base URL of the Baton server, http or https.
	Server string
	// Token is the agent token the server issued.
	Token string
	// Name identifies the agent; it must be unique among connected agents.
	Name string
	// Pools and Labels let compositions choose agents.
	Pools  []string
	Labels map[string]string
	// FactsDir holds external facts (see Facts); empty means none.
	FactsDir string
	// Slots is how many jobs run at once; at least 1.
	Slots int
	// Workdir holds workspaces, fetched plugins and undelivered output.
	Workdir string
	// Grace is how long running jobs get to finish once Run's context
	// ends; zero means DefaultGrace.
	Grace time.Duration
	// Logger receives the agent's log; nil discards it.
	Logger *slog.Logger
	// Version is the agent's release, reported to the server and in the
	// agent_version fact.
	Version string
	// Registry runs built-in task types and holds any plugins installed
	// with the agent; nil means plugin.NewRegistry(). Run closes a
	// registry it created, never one it was given. Plugins fetched from
	// the server each get a registry of their own, so two versions of a
	// plugin can be used side by side.
	Registry *plugin.Registry
	// TaskEnv decides what of the agent's own environment tasks inherit;
	// nil means plugin.DefaultTaskEnv. It applies to the registry the
	// agent creates and to those of fetched plugins.
	TaskEnv *plugin.EnvPolicy
}

// Agent is one agent daemon. Create it with New and start it with Run.
type Agent struct {
	cfg        Config
	log        *slog.Logger
	credential string // proves the agent's name to the server; set by start
	wsURL      string // .../api/v1/agents/connect
	httpBase   string // the server URL without a trailing slash
	reg        *plugin.Registry
	ownReg     bool
	plugins    *pluginCache
	leftovers  plugin.Leftovers
	workspace  string // Workdir/workspaces
	outboxDir  string
	mem        *budget
	window     int64
	random     func() float64
	// deliverWait is how long a stopping agent waits for the server to
	// store its jobs' output.
	deliverWait time.Duration

	slots     chan struct{} // one token per running job
	kick      chan struct{} // something new to send
	rescan    chan struct{}
	forgotten chan struct{} // a job was forgotten
	aborted   chan struct{}
	abortOnce sync.Once
	jobsWG    sync.WaitGroup
	jobsCtx   context.Context
	stopJobs  context.CancelCauseFunc

	// factsFiles reads the facts directory; used by one gather at a time
	// (the first, then the facts loop).
	factsFiles factsFiles

	mu        sync.Mutex
	jobs      map[string]*job
	order     []*job // held jobs in the order they were taken
	facts     map[string]any
	factsJSON string
	draining  bool
	sess      *session // the connection after welcome, nil between connections
	control   []any    // messages for the current connection, sent before any log
}

// New checks cfg and returns an agent. It touches neither the network
// nor the disk; Run does.
func New(cfg Config) (*Agent, error) {
	u, err := url.Parse(cfg.Server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server %q: give the server's URL, such as https://baton.example.com", cfg.Server)
	}
	if strings.TrimSpace(cfg.Token) == "" {
		return nil, errors.New("no agent token: create one on the server with `baton agent-token create` and pass it with --token-file or BATON_AGENT_TOKEN")
	}
	if cfg.Name == "" {
		if cfg.Name, err = os.Hostname(); err != nil || cfg.Name == "" {
			return nil, errors.New("no agent name and no host name to use instead: give one with --name")
		}
	}
	if cfg.Slots < 1 {
		return nil, fmt.Errorf("slots %d: an agent runs at least one job at a time", cfg.Slots)
	}
	if cfg.Workdir == "" {
		return nil, errors.New("no work directory: give one with --workdir")
	}
	if cfg.Workdir, err = filepath.Abs(cfg.Workdir); err != nil {
		return nil, fmt.Errorf("workdir: %w", err)
	}
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Agent{
		cfg:         cfg,
		log:         log,
		httpBase:    strings.TrimSuffix(u.String(), "/"),
		reg:         cfg.Registry,
		leftovers:   plugin.Leftovers{Dir: filepath.Join(cfg.Workdir, "running")},
		workspace:   filepath.Join(cfg.Workdir, "workspaces"),
		outboxDir:   filepath.Join(cfg.Workdir, "outbox"),
		mem:         &budget{limit: memoryBudget},
		window:      sendWindow,
		deliverWait: deliverTimeout,
		random:      rand.Float64,
		slots:       make(chan struct{}, cfg.Slots),
		kick:        make(chan struct{}, 1),
		rescan:      make(chan struct{}, 1),
		forgotten:   make(chan struct{}, 1),
		aborted:     make(chan struct{}),
		jobs:        make(map[string]*job),
	}
	ws := *u
	ws.Scheme = map[string]string{"http": "ws", "https": "wss"}[u.Scheme]
	ws.Path = strings.TrimSuffix(ws.Path, "/") + "/api/v1/agents/connect"
	a.wsURL = ws.String()
	if a.reg == nil {
		a.reg, a.ownReg = plugin.NewRegistry(), true
		a.reg.Env = cfg.TaskEnv
	}
	a.plugins = newPluginCache(filepath.Join(cfg.Workdir, "plugins"), a.httpBase, cfg.Token, a.reg)
	a.jobsCtx, a.stopJobs = context.WithCancelCause(context.Background())
	return a, nil
}

// Drain makes the agent take no new jobs and tells the server so; running
// jobs go on. It cannot be undone short of restarting the agent.
func (a *Agent) Drain() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.draining {
		return
	}
	a.draining = true
	a.sendLocked(&protocol.Drain{})
}

// Rescan gathers the facts again now rather than at the next minute.
func (a *Agent) Rescan() {
	select {
	case a.rescan <- struct{}{}:
	default:
	}
}

// Abort hurries a stopping agent: running jobs are cancelled now rather
// than at the end of the grace period, and Run waits only a few seconds
// for their output to be delivered. It is the agent's answer to a second
// SIGTERM.
func (a *Agent) Abort() {
	a.abortOnce.Do(func() { close(a.aborted) })
}

// connectLoop connects, and reconnects with backoff after every failure
// worth retrying, until ctx ends (nil) or a failure is not (the error).
func (a *Agent) connectLoop(ctx context.Context) error {
	attempt := 0
	for {
		began := time.Now()
		err := a.connect(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if !retryable(err) {
			return err
		}
		if time.Since(began) > stableAfter {
			attempt = 0
		}
		wait := backoff(attempt, a.random)
		attempt++
		a.log.Warn("not connected to the server; retrying", "server", a.httpBase, "err", err, "retry_in", wait.Round(time.Millisecond))
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil
		}
	}
}

// factsLoop gathers facts every factsInterval and on Rescan.
func (a *Agent) factsLoop(ctx context.Context) {
	t := time.NewTicker(factsInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-a.rescan:
		}
		a.updateFacts(ctx)
	}
}

// updateFacts gathers the facts and, when they changed, sends them.
func (a *Agent) updateFacts(ctx context.Context) {
	facts := gatherFacts(ctx, a.cfg.FactsDir, a.cfg.Version, &a.factsFiles, a.log)
	key := factsKey(facts)
	a.mu.Lock()
	defer a.mu.Unlock()
	if key == a.factsJSON {
		return
	}
	changed := a.facts != nil
	a.facts, a.factsJSON = facts, key
	if changed {
		a.log.Info("facts changed")
		a.sendLocked(&protocol.Facts{Facts: facts})
	}
}

// sendLocked queues a message for the current connection, if there is
// one; a.mu must be held. Between connections nothing is queued: hello
// carries the agent's whole state.
func (a *Agent) sendLocked(msg any) {
	if a.sess == nil {
		return
	}
	a.control = append(a.control, msg)
	a.wake()
}

// wake tells the writer there is something to send.
func (a *Agent) wake() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}
