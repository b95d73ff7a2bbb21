package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"baton/agentd"
	"baton/engine"
)

// cmdAgent runs the agent daemon until SIGTERM or SIGINT: the first signal
// drains it (no new jobs; running ones get --grace, then their output is
// delivered), a second one cancels the running jobs and exits within a
// few seconds. SIGHUP gathers the facts again.
func cmdAgent(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("agent", stdout, stderr)
	server := fs.String("server", envString("agent-server", ""), help("agent-server", "URL of the Baton server, e.g. https://baton.example.com (required)"))
	token := fs.String("token", envString("agent-token", ""), help("agent-token", "agent token, made on the server with: baton agent-token create; prefer --token-file or the environment, which other users of the machine cannot read in the process list"))
	tokenFile := fs.String("token-file", envString("agent-token-file", ""), help("agent-token-file", "file holding the agent token"))
	name := fs.String("name", envString("agent-name", ""), help("agent-name", "the agent's name, unique among the server's agents (default: the host name)"))
	pools := commaList("agent-pools")
	fs.Var(&pools, "pool", help("agent-pools", "a pool the agent serves (repeatable; the variable takes a comma-separated list)"))
	labels := commaList("agent-labels")
	fs.Var(&labels, "label", help("agent-labels", "a label as key=value (repeatable; the variable takes a comma-separated list)"))
	factsDir := fs.String("facts-dir", envString("agent-facts-dir", "/etc/baton/facts.d"), help("agent-facts-dir", "directory of external facts: *.txt, *.json, *.yaml and executables"))
	slots := fs.Int("slots", envInt("agent-slots", 1), help("agent-slots", "how many jobs run at once"))
	workdir := fs.String("workdir", envString("agent-workdir", defaultAgentWorkdir()), help("agent-workdir", "where workspaces, fetched plugins and undelivered output are kept"))
	grace := fs.Duration("grace", envDuration("agent-grace", agentd.DefaultGrace), help("agent-grace", "on SIGTERM, how long running jobs get to finish"))
	logLevel := fs.String("log-level", envString("agent-log-level", "info"), help("agent-log-level", "debug, info, warn or error"))
	taskEnv := taskEnvFlag(fs, "agent-task-env")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	policy, ok := taskEnvPolicy(stderr, "agent", taskEnv)
	if !ok {
		return exitBadArgs
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "baton agent: unexpected argument %q (flags start with --)\n", fs.Arg(0))
		return exitBadArgs
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "baton agent: "+format+"\n", a...)
		return exitBadArgs
	}
	if *server == "" {
		return fail("--server is required: the URL of the Baton server, e.g. --server https://baton.example.com")
	}
	switch tokenGiven := flagGiven(fs, "token"); {
	case tokenGiven && flagGiven(fs, "token-file"):
		return fail("give the token with --token or --token-file, not both")
	case !tokenGiven && *tokenFile != "":
		data, err := os.ReadFile(*tokenFile)
		if err != nil {
			return fail("--token-file: %v", err)
		}
		*token = strings.TrimSpace(string(data))
	}
	labelMap, err := engine.ParseLabels(labels.vals)
	if err != nil {
		return fail("--label: %v", err)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fail("--log-level %q: use debug, info, warn or error", *logLevel)
	}
	if *name == "" {
		*name, _ = os.Hostname()
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	agent, err := agentd.New(agentd.Config{
		Server: *server, Token: *token, Name: *name, Pools: pools.vals, Labels: labelMap,
		FactsDir: *factsDir, Slots: *slots, Workdir: *workdir, Grace: *grace,
		Logger: log, Version: version, TaskEnv: policy,
	})
	if err != nil {
		return fail("%v", err)
	}

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	go func() {
		stopping := false
		for sig := range sigs {
			switch {
			case sig == syscall.SIGHUP:
				log.Info("SIGHUP: gathering facts again")
				agent.Rescan()
			case !stopping:
				stopping = true
				log.Info("signal received; signal again to cancel running jobs now", "signal", sig.String())
				stop()
			default:
				log.Warn("stopping now: cancelling running jobs", "signal", sig.String())
				agent.Abort()
			}
		}
	}()
	log.Info("baton agent starting", "server", *server, "name", *name, "workdir", *workdir, "slots", *slots, "version", version)
	err = agent.Run(ctx)
	var fatal *agentd.FatalError
	switch {
	case err == nil:
		log.Info("baton agent stopped")
		return exitOK
	case errors.Is(err, agentd.ErrTokenRefused), errors.As(err, &fatal):
		log.Error("baton agent cannot go on", "err", err)
	default:
		log.Error("baton agent stopped", "err", err)
	}
	return exitFailed
}

// defaultAgentWorkdir is /var/lib/baton-agent for root (a system service)
// and the user's cache directory otherwise (~/.cache/baton/agent).
func defaultAgentWorkdir() string {
	if os.Geteuid() == 0 {
		return "/var/lib/baton-agent"
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "baton", "agent")
	}
	return filepath.Join(os.TempDir(), "baton-agent")
}

// commaFlag is a repeatable flag whose default comes from a
// comma-separated environment variable; the flags given replace that
// default rather than add to it.
type commaFlag struct {
	vals  []string
	given bool
}

// commaList returns a commaFlag holding the environment's default.
func commaList(name string) commaFlag {
	var f commaFlag
	for _, v := range strings.Split(os.Getenv(envName(name)), ",") {
		if v = strings.TrimSpace(v); v != "" {
			f.vals = append(f.vals, v)
		}
	}
	return f
}

func (f *commaFlag) String() string { return strings.Join(f.vals, ",") }

func (f *commaFlag) Set(v string) error {
	if !f.given {
		f.vals, f.given = nil, true
	}
	f.vals = append(f.vals, v)
	return nil
}

// flagGiven reports whether the flag was set on the command line.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}
