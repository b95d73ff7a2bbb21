package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"baton/auth"
	"baton/engine"
	"baton/handlers"
	"baton/plugin"
	"baton/storage"
)

// serveConfig is everything `baton serve` is started with.
type serveConfig struct {
	addr          string
	data          string
	compositions  string
	triggers      string
	plugins       []string
	taskEnv       *plugin.EnvPolicy
	localSlots    int
	shutdownGrace time.Duration
	logLevel      string
	secureCookies bool
	agentTimeout  time.Duration
	agentGrace    time.Duration
	readTimeout   time.Duration
	skipCheck     bool
	proxies       []netip.Prefix
	agentExpire   time.Duration
}

func cmdServe(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("serve", stdout, stderr)
	var cfg serveConfig
	fs.StringVar(&cfg.addr, "addr", envString("addr", "127.0.0.1:8080"), help("addr", "address to listen on"))
	fs.StringVar(&cfg.data, "data", envString("data", "./baton-data"), help("data", "data directory: baton.db, workspaces/, plugins/"))
	fs.StringVar(&cfg.compositions, "compositions", envString("compositions", ""), help("compositions", "directory of *.yaml compositions to load at start"))
	fs.StringVar(&cfg.triggers, "triggers", envString("triggers", ""), help("triggers", "directory of *.yaml triggers to load at start (default: triggers/ in the compositions directory)"))
	plugins := envList("plugins")
	fs.Var(&plugins, "plugins", help("plugins", "a plugin directory to load (repeatable); default: plugins/ beside the compositions and in the data directory"))
	taskEnv := taskEnvFlag(fs, "task-env")
	fs.IntVar(&cfg.localSlots, "local-slots", envInt("local-slots", 2), help("local-slots", "work tasks the server runs at once itself (0: none, every run goes to agents)"))
	fs.DurationVar(&cfg.shutdownGrace, "shutdown-grace", envDuration("shutdown-grace", 30*time.Second), help("shutdown-grace", "on SIGTERM, how long running tasks get to finish"))
	fs.StringVar(&cfg.logLevel, "log-level", envString("log-level", "info"), help("log-level", "debug, info, warn or error"))
	fs.DurationVar(&cfg.agentTimeout, "agent-timeout", envDuration("agent-timeout", 60*time.Second), help("agent-timeout", "an agent silent this long is offline"))
	fs.DurationVar(&cfg.agentGrace, "agent-grace", envDuration("agent-grace", 5*time.Minute), help("agent-grace", "how long the jobs of an offline agent wait for it before they fail as agent_lost"))
	fs.DurationVar(&cfg.readTimeout, "read-timeout", envDuration("read-timeout", 30*time.Second), help("read-timeout", "how long a client may take to send a request's headers and body (headers: at most 10s)"))
	fs.BoolVar(&cfg.skipCheck, "skip-integrity-check", envBool("skip-integrity-check"), help("skip-integrity-check", "serve without checking the database for damage at start (for a database too large to check, or to rescue data from a damaged one)"))
	fs.DurationVar(&cfg.agentExpire, "agent-expire", envDuration("agent-expire", 0), help("agent-expire", "remove agents not seen for this long, such as 720h (0: keep them until removed by hand)"))
	fs.BoolVar(&cfg.secureCookies, "secure-cookies", envBool("secure-cookies"), help("secure-cookies", "mark the session cookie Secure (set it when users reach Baton over HTTPS)"))
	var proxies listFlag
	fs.Var(&proxies, "trusted-proxy", help("trusted-proxy", "a reverse proxy (CIDR or address, repeatable or comma-separated) whose X-Forwarded-For names the client and X-Forwarded-Proto the scheme"))
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	source := "--trusted-proxy"
	if len(proxies) == 0 {
		proxies, source = listFlag{envString("trusted-proxy", "")}, envName("trusted-proxy")+" (it sets --trusted-proxy; fix or unset it)"
	}
	var err error
	if cfg.proxies, err = handlers.ParseTrustedProxies(proxies); err != nil {
		fmt.Fprintf(stderr, "baton serve: %s: %v\n", source, err)
		return exitBadArgs
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "baton serve: unexpected argument %q (flags start with --)\n", fs.Arg(0))
		return exitBadArgs
	}
	if _, _, err := net.SplitHostPort(cfg.addr); err != nil {
		fmt.Fprintf(stderr, "baton serve: --addr %q: give host:port, such as 127.0.0.1:8080 or :8080 (all interfaces)\n", cfg.addr)
		return exitBadArgs
	}
	if !dirsExist(stderr, "serve", "compositions", cfg.compositions) || !dirsExist(stderr, "serve", "triggers", cfg.triggers) ||
		!dirsExist(stderr, "serve", "plugins", plugins...) {
		return exitBadArgs
	}
	if pw, given := os.LookupEnv("BATON_ADMIN_PASSWORD"); given && !exists(dbPath(cfg.data)) {
		// Used only on a first start, so checked then, before anything is
		// created.
		if _, err := auth.HashPassword(pw); err != nil {
			fmt.Fprintf(stderr, "baton serve: BATON_ADMIN_PASSWORD: %v\n", err)
			return exitBadArgs
		}
	}
	if cfg.readTimeout <= 0 {
		fmt.Fprintf(stderr, "baton serve: --read-timeout %s: give a duration above 0, such as 30s\n", cfg.readTimeout)
		return exitBadArgs
	}
	if cfg.agentExpire < 0 {
		fmt.Fprintf(stderr, "baton serve: --agent-expire %s: give 0 (keep agents) or a duration such as 720h\n", cfg.agentExpire)
		return exitBadArgs
	}
	if cfg.localSlots < 0 {
		fmt.Fprintf(stderr, "baton serve: --local-slots %d: give 0 (every run goes to agents) or more\n", cfg.localSlots)
		return exitBadArgs
	}
	cfg.plugins = plugins
	var ok bool
	if cfg.taskEnv, ok = taskEnvPolicy(stderr, "serve", taskEnv); !ok {
		return exitBadArgs
	}
	abs, err := filepath.Abs(cfg.data)
	if err != nil {
		fmt.Fprintf(stderr, "baton serve: --data %s: %v\n", cfg.data, err)
		return exitBadArgs
	}
	cfg.data = abs
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.logLevel)); err != nil {
		fmt.Fprintf(stderr, "baton serve: --log-level %q: use debug, info, warn or error\n", cfg.logLevel)
		return exitBadArgs
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, cfg, log); err != nil {
		log.Error("baton serve stopped", "err", err)
		return exitFailed
	}
	return exitOK
}

// serve runs the server until ctx ends, then shuts down in order: HTTP
// first (no new requests), then the engine (running tasks get the grace
// period), then the database.
func serve(ctx context.Context, cfg serveConfig, log *slog.Logger) error {
	// The address first: a server that cannot listen must not create the
	// first user, resume runs or change anything else before it stops.
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("listen on %s: the address is in use (is another Baton server running? pick another with --addr)", cfg.addr)
		}
		return fmt.Errorf("listen on %s: %w", cfg.addr, err)
	}
	defer ln.Close()
	var beside []string
	if cfg.compositions != "" {
		beside = append(beside, cfg.compositions)
	}
	reg, err := loadPlugins(cfg.plugins, beside, cfg.data)
	if err != nil {
		log.Warn("some plugins could not be loaded", "err", err)
	}
	reg.Env = cfg.taskEnv
	for _, p := range reg.Plugins() {
		log.Info("plugin loaded", "plugin", p.Name, "version", p.Version, "dir", p.Dir)
	}
	defer reg.Close()
	store, err := openChecked(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := ensureAdmin(ctx, store, log); err != nil {
		return err
	}
	go cleanSessions(ctx, store, log)
	warnOpenPools(ctx, store, log)
	local := engine.NewLocal(reg, filepath.Join(cfg.data, "workspaces"), cfg.localSlots)
	local.Leftovers = &plugin.Leftovers{Dir: filepath.Join(cfg.data, "running")}
	eng := engine.New(engine.Config{Store: store, Catalog: reg, Logger: log, Local: local, Version: version,
		Hub: engine.HubConfig{AgentTimeout: cfg.agentTimeout, AgentGrace: cfg.agentGrace, AgentExpire: cfg.agentExpire}})
	if cfg.compositions != "" {
		eng.LoadCompositionDir(ctx, cfg.compositions)
	}
	triggersDir := cfg.triggers
	if triggersDir == "" && cfg.compositions != "" {
		triggersDir = filepath.Join(cfg.compositions, "triggers")
	}
	if err := eng.LoadTriggerDir(ctx, triggersDir); err != nil {
		return err
	}
	if err := eng.Start(ctx); err != nil {
		return err
	}
	srv := &http.Server{
		Handler: handlers.New(handlers.Config{Engine: eng, Store: store, Logger: log, Version: version, SecureCookies: cfg.secureCookies, TrustedProxies: cfg.proxies}),
		// A client that sends its request slowly holds a connection: it
		// gets read-timeout for headers and body together (the headers
		// within 10 s), and headers of at most maxHeaderBytes. Websockets
		// clear the deadline once upgraded.
		ReadHeaderTimeout: min(10*time.Second, cfg.readTimeout),
		ReadTimeout:       cfg.readTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	// Make the unknown-user hash now, so the first failed login takes no
	// longer than the rest.
	go auth.CheckNoUser("")
	log.Info("baton is serving", "url", "http://"+ln.Addr().String(), "data", cfg.data, "version", version)

	select {
	case err = <-served:
	case <-ctx.Done():
		log.Info("shutting down; running tasks get the grace period", "grace", cfg.shutdownGrace)
	}
	httpCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.Shutdown(httpCtx)
	engCtx, cancel2 := context.WithTimeout(context.Background(), cfg.shutdownGrace)
	defer cancel2()
	if e := eng.Shutdown(engCtx); e != nil {
		log.Warn("tasks still running at the end of the grace period were stopped; they resume at the next start", "err", e)
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// maxHeaderBytes bounds the request line and headers of one request; a
// larger one gets 431.
const maxHeaderBytes = 64 << 10

// openChecked opens the database and, unless told to skip it, checks it
// for damage before anything is served from it.
func openChecked(ctx context.Context, cfg serveConfig, log *slog.Logger) (*storage.Store, error) {
	path := dbPath(cfg.data)
	store, err := storage.Open(ctx, path)
	if errors.Is(err, storage.ErrDamaged) {
		return nil, fmt.Errorf("%w; restore the data directory from a backup (docs/server.md, Backups)", err)
	}
	if err != nil || cfg.skipCheck {
		return store, err
	}
	start := time.Now()
	switch err := store.QuickCheck(ctx); {
	case errors.Is(err, storage.ErrCheckTooLong):
		log.Warn("the database is too large to check for damage at start: serving it unchecked", "err", err)
	case err != nil:
		store.Close()
		return nil, fmt.Errorf("%w; restore the data directory from a backup (docs/server.md, Backups), or start with --skip-integrity-check to serve it anyway (for example to read what it still holds)", err)
	default:
		log.Debug("database checked", "took", time.Since(start).Round(time.Millisecond))
	}
	return store, nil
}

// ensureAdmin creates the user admin on a first start, with the password
// from BATON_ADMIN_PASSWORD or a random one printed once in the log.
func ensureAdmin(ctx context.Context, store *storage.Store, log *slog.Logger) error {
	n, err := store.CountUsers(ctx)
	if err != nil || n > 0 {
		return err
	}
	password, given := os.LookupEnv("BATON_ADMIN_PASSWORD")
	if !given {
		password = auth.RandomPassword()
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return fmt.Errorf("BATON_ADMIN_PASSWORD: %w", err)
	}
	if _, err := store.CreateUser(ctx, "admin", hash); err != nil {
		return err
	}
	if given {
		log.Info("first start: created user admin with the password from BATON_ADMIN_PASSWORD")
	} else {
		log.Warn("first start: created user admin; this password is shown only once, change it after logging in (or with `baton user passwd admin`)", "user", "admin", "password", password)
	}
	return nil
}

// cleanSessions removes expired web sessions every hour.
func cleanSessions(ctx context.Context, store *storage.Store, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := store.DeleteExpiredSessions(ctx); err != nil && ctx.Err() == nil {
				log.Warn("could not remove expired sessions", "err", err)
			}
		}
	}
}

// warnOpenPools warns when agent tokens without a pool limit may claim a
// pool that other tokens are limited to (see docs/agents.md).
func warnOpenPools(ctx context.Context, store *storage.Store, log *slog.Logger) {
	toks, err := store.ListAgentTokens(ctx)
	if err != nil {
		log.Warn("could not read the agent tokens to check their limits", "err", err)
		return
	}
	if pools, open := engine.OpenPools(toks); len(pools) > 0 {
		log.Warn("agent tokens without a pool limit can register agents in pools other tokens are limited to: give every token a pool limit (baton agent-token list shows what each allows)",
			"pools", strings.Join(pools, ","), "unlimited_tokens", strings.Join(open, ","))
	}
}
