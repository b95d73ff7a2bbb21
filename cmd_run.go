package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"baton/composition"
	"baton/engine"
	"baton/model"
	"baton/plugin"
	"baton/storage"
)

func cmdRun(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("run", stdout, stderr)
	var params listFlag
	fs.Var(&params, "param", "a parameter as name=value (repeatable)")
	yes := fs.Bool("yes", false, "approve every approval task without asking")
	dbPath := fs.String("db", envString("db", ""), help("db", "SQLite file to keep the run in (default: a temporary file, removed afterwards)"))
	plugins := envList("plugins")
	fs.Var(&plugins, "plugins", help("plugins", "a plugin directory to load (repeatable); default: plugins/ beside FILE"))
	slots := fs.Int("slots", envInt("slots", 8), help("slots", "how many work tasks may run at once"))
	workdir := fs.String("workdir", envString("workdir", defaultWorkdir()), help("workdir", "where workspaces are kept between runs"))
	taskEnv := taskEnvFlag(fs, "task-env")
	files, code, ok := interleaved(fs, args)
	if !ok {
		return code
	}
	policy, ok := taskEnvPolicy(stderr, "run", taskEnv)
	if !ok {
		return exitBadArgs
	}
	if !dirsExist(stderr, "run", "plugins", plugins...) {
		return exitBadArgs
	}
	if *slots < 1 {
		fmt.Fprintf(stderr, "baton run: --slots %d: give at least 1 (how many work tasks may run at once)\n", *slots)
		return exitBadArgs
	}
	if len(files) != 1 {
		fmt.Fprintln(stderr, "baton run: name exactly one composition file, e.g. baton run examples/hello.yaml")
		return exitBadArgs
	}
	given, err := parseParams(params)
	if err != nil {
		fmt.Fprintf(stderr, "baton run: %v\n", err)
		return exitBadArgs
	}
	r := &cliRun{file: files[0], params: given, yes: *yes, stdout: stdout, stderr: stderr, color: isTerminal(stdout), taskEnv: policy}
	return r.main(plugins, *dbPath, *workdir, *slots)
}

func defaultWorkdir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "baton", "workspaces")
	}
	return filepath.Join(os.TempDir(), "baton-workspaces")
}

// parseParams turns name=value pairs into a map; values stay strings and
// are converted to the parameter's type when the run is bound.
func parseParams(pairs []string) (map[string]any, error) {
	out := map[string]any{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--param %q: write it as name=value", p)
		}
		out[k] = v
	}
	return out, nil
}

// cliRun is one `baton run`: an engine in this process over a private
// database, its log printed as it is stored.
type cliRun struct {
	file    string
	params  map[string]any
	yes     bool
	stdout  io.Writer
	stderr  io.Writer
	color   bool
	taskEnv *plugin.EnvPolicy

	eng      *engine.Engine
	store    *storage.Store
	rootID   int64
	prefixes map[int64]string // run id -> prefix of its task names
	asked    map[string]bool  // approvals already handled
	answers  chan approvalAnswer
	printed  map[int64]int64 // run id -> last seq printed

	root      *model.Run // the run, once it has ended
	followUps []int64    // runs its end started (on_failure)
}

// anyActive reports whether a run in this process has not ended: the
// command waits for the runs its run starts when it fails, too.
func (c *cliRun) anyActive(ctx context.Context) bool {
	runs, err := c.store.ListRuns(ctx, storage.RunFilter{Statuses: []model.RunStatus{model.RunQueued, model.RunRunning, model.RunWaiting}, Limit: 1})
	return err != nil || len(runs) > 0
}

func atoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

type approvalAnswer struct {
	runID  int64
	task   string
	yes    bool
	answer string
}

func (c *cliRun) main(pluginDirs []string, dbPath, workdir string, slots int) int {
	reg, err := loadPlugins(pluginDirs, []string{filepath.Dir(c.file)}, "")
	if err != nil {
		warnPlugins(c.stderr, err)
	}
	reg.Env = c.taskEnv
	src, err := os.ReadFile(c.file)
	if err != nil {
		fmt.Fprintf(c.stderr, "baton run: %v\n", err)
		return exitBadArgs
	}
	defer reg.Close()
	comp, err := composition.Load(c.file, src, reg)
	if err != nil {
		fmt.Fprintln(c.stderr, err)
		return exitBadArgs
	}
	if _, ferrs := comp.BindParams(c.params); len(ferrs) > 0 {
		for _, fe := range ferrs {
			fmt.Fprintf(c.stderr, "%s: %v\n", c.file, fe)
		}
		return exitBadArgs
	}
	ctx := context.Background()
	temporary := dbPath == ""
	if temporary {
		dir, err := os.MkdirTemp("", "baton-run-")
		if err != nil {
			fmt.Fprintf(c.stderr, "baton run: %v\n", err)
			return exitFailed
		}
		defer os.RemoveAll(dir)
		dbPath = filepath.Join(dir, "baton.db")
	}
	c.store, err = storage.Open(ctx, dbPath)
	if err != nil {
		fmt.Fprintf(c.stderr, "baton run: %v\n", err)
		return exitFailed
	}
	if temporary {
		defer c.store.Discard()
	} else {
		defer c.store.Close()
	}
	logger := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c.eng = engine.New(engine.Config{Store: c.store, Catalog: reg, Local: engine.NewLocal(reg, workdir, slots), Logger: logger})
	if err := c.loadSiblings(ctx, comp.Name, src); err != nil {
		fmt.Fprintf(c.stderr, "baton run: %v\n", err)
		return exitFailed
	}
	sub := c.eng.Bus().Subscribe(4096, nil)
	if err := c.eng.Start(ctx); err != nil {
		fmt.Fprintf(c.stderr, "baton run: %v\n", err)
		return exitFailed
	}
	run, err := c.eng.StartRun(ctx, engine.RunRequest{Composition: comp.Name, Params: c.params, Trigger: "baton run"})
	if err != nil {
		fmt.Fprintf(c.stderr, "baton run: %v\n", err)
		c.eng.Shutdown(ctx)
		return exitBadArgs
	}
	c.rootID = run.ID
	c.prefixes = map[int64]string{run.ID: ""}
	c.asked = map[string]bool{}
	c.printed = map[int64]int64{}
	c.answers = make(chan approvalAnswer)
	final := c.follow(ctx, sub)
	c.eng.Shutdown(ctx)
	c.summary(ctx, final)
	if final.Status == model.RunSucceeded {
		return exitOK
	}
	return exitFailed
}

// loadSiblings stores the file and every valid composition beside it, so
// composition tasks can call them by name.
func (c *cliRun) loadSiblings(ctx context.Context, name string, src []byte) error {
	if _, _, err := c.eng.SaveComposition(ctx, name, src, "baton run", c.file); err != nil {
		return err
	}
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(c.file), "*.y*ml"))
	for _, m := range matches {
		if same(m, c.file) {
			continue
		}
		b, err := os.ReadFile(m)
		if err != nil {
			continue
		}
		other, err := composition.Load(m, b, c.eng.Catalog())
		if err != nil || other.Name == name {
			continue // not a valid composition; only an error if a task calls it
		}
		c.eng.SaveComposition(ctx, other.Name, b, "baton run", m)
	}
	return nil
}

func same(a, b string) bool {
	x, err1 := filepath.Abs(a)
	y, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && x == y
}

// follow prints the log and answers approvals until the root run ends.
func (c *cliRun) follow(ctx context.Context, sub *engine.Subscription) *model.Run {
	interrupt := make(chan os.Signal, 2)
	signal.Notify(interrupt, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(interrupt)
	interrupts := 0
	for {
		select {
		case ev, ok := <-sub.C:
			if !ok { // we fell behind; read what we missed from storage
				sub = c.eng.Bus().Subscribe(4096, nil)
				for id := range c.prefixes {
					c.catchUp(ctx, id)
				}
				if r, err := c.store.GetRun(ctx, c.rootID); err == nil && r.Status.Done() && !c.anyActive(ctx) {
					return r
				}
				continue
			}
			if r := c.handle(ctx, ev); r != nil {
				return r
			}
		case a := <-c.answers:
			d := model.Rejected
			if a.yes {
				d = model.Approved
			}
			if err := c.eng.Decide(ctx, a.runID, a.task, d, "terminal", a.answer); err != nil {
				fmt.Fprintf(c.stderr, "baton run: %v\n", err)
			}
		case sig := <-interrupt:
			interrupts++
			by := "Ctrl-C"
			if sig == syscall.SIGTERM {
				by = "SIGTERM"
			}
			switch interrupts {
			case 1:
				fmt.Fprintf(c.stderr, "baton run: %s: cancelling the run; tasks marked always still run (Ctrl-C or SIGTERM again stops them too)\n", by)
			case 2:
				fmt.Fprintf(c.stderr, "baton run: %s again: cancelling with force, tasks marked always stop too (once more exits at once)\n", by)
			default:
				fmt.Fprintln(c.stderr, "baton run: interrupted again; exiting without waiting")
				os.Exit(130)
			}
			go c.eng.Cancel(ctx, c.rootID, by, interrupts > 1)
		}
	}
}

// handle reacts to one event; it returns the root run once it has ended.
func (c *cliRun) handle(ctx context.Context, ev engine.Event) *model.Run {
	switch ev.Kind {
	case engine.EventLog:
		if _, ok := c.prefixes[ev.RunID]; ok {
			c.print(ev.RunID, ev.Lines)
		}
	case engine.EventRun:
		r := ev.Run
		if _, ok := c.prefixes[r.ID]; !ok {
			if p, ok := c.prefixes[r.ParentRunID]; ok && r.ParentRunID != 0 {
				c.prefixes[r.ID] = p + r.ParentTask + "/"
				c.catchUp(ctx, r.ID)
			} else if id, ok := strings.CutPrefix(r.Trigger, "on_failure of run "); ok {
				if p, ok := c.prefixes[atoi(id)]; ok {
					c.prefixes[r.ID] = p + "on_failure:" + r.Composition + "/"
					c.followUps = append(c.followUps, r.ID)
					c.catchUp(ctx, r.ID)
				}
			}
		}
		if r.ID == c.rootID && r.Status.Done() {
			c.catchUp(ctx, r.ID)
			c.root = r
		}
		if r.Status.Done() && c.root != nil && !c.anyActive(ctx) {
			c.catchUp(ctx, r.ID)
			return c.root
		}
	case engine.EventTask:
		t := ev.Task
		if _, ok := c.prefixes[t.RunID]; ok && t.Status == model.TaskWaiting && t.Approval != nil {
			key := fmt.Sprintf("%d/%s/%d", t.RunID, t.TaskID, t.Attempt)
			if !c.asked[key] {
				c.asked[key] = true
				c.ask(t)
			}
		}
	}
	return nil
}

// ask answers an approval: --yes approves, a terminal asks the user, and
// with neither the task is rejected with a message saying how to approve.
func (c *cliRun) ask(t *model.TaskRun) {
	name := c.prefixes[t.RunID] + t.TaskID
	switch {
	case c.yes:
		go func() { c.answers <- approvalAnswer{t.RunID, t.TaskID, true, "approved by --yes"} }()
	case isTerminal(os.Stdin) && isTerminal(c.stdout):
		fmt.Fprintf(c.stdout, "\n%s asks: %s\nApprove? [y/N] ", name, t.Approval.Message)
		go func() {
			var answer string
			fmt.Fscanln(os.Stdin, &answer)
			yes := strings.EqualFold(answer, "y") || strings.EqualFold(answer, "yes")
			c.answers <- approvalAnswer{t.RunID, t.TaskID, yes, "answered " + answer + " on the terminal"}
		}()
	default:
		go func() {
			c.answers <- approvalAnswer{t.RunID, t.TaskID, false,
				"no terminal to ask on; run again with --yes to approve, or answer the question on a terminal"}
		}()
	}
}

// catchUp prints lines of a run stored but not yet printed.
func (c *cliRun) catchUp(ctx context.Context, runID int64) {
	for {
		lines, err := c.store.ReadLogs(ctx, storage.LogQuery{RunID: runID, After: c.printed[runID], Limit: 10000})
		if err != nil || len(lines) == 0 {
			return
		}
		c.print(runID, lines)
	}
}

const (
	ansiReset = "\x1b[0m"
	ansiDim   = "\x1b[2m"
	ansiRed   = "\x1b[31m"
)

var prefixColors = []string{"\x1b[36m", "\x1b[33m", "\x1b[35m", "\x1b[32m", "\x1b[34m", "\x1b[96m"}

func (c *cliRun) print(runID int64, lines []model.LogLine) {
	var b strings.Builder
	for _, l := range lines {
		if l.Seq <= c.printed[runID] {
			continue
		}
		c.printed[runID] = l.Seq
		name := c.prefixes[runID] + l.TaskID
		if l.TaskID == "" {
			name = c.prefixes[runID] + "baton"
		}
		if !c.color {
			fmt.Fprintf(&b, "%-12s | %s\n", name, l.Text)
			continue
		}
		color := prefixColors[hash(name)%uint32(len(prefixColors))]
		text := l.Text
		switch l.Stream {
		case model.System:
			text = ansiDim + text + ansiReset
		case model.Stderr:
			text = ansiRed + text + ansiReset
		}
		fmt.Fprintf(&b, "%s%-12s%s | %s\n", color, name, ansiReset, text)
	}
	io.WriteString(c.stdout, b.String())
}

func hash(s string) uint32 {
	var h uint32 = 2166136261
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return h
}

// summary prints each task with its status and duration.
func (c *cliRun) summary(ctx context.Context, run *model.Run) {
	tasks, err := c.store.GetTasks(ctx, run.ID)
	if err != nil {
		fmt.Fprintf(c.stderr, "baton run: %v\n", err)
		return
	}
	fmt.Fprintln(c.stdout)
	for _, t := range tasks {
		line := fmt.Sprintf("  %-20s %-10s %8s", t.TaskID, t.Status, t.Duration(run.FinishedAt).Round(time.Millisecond))
		if t.Attempt > 1 {
			line += fmt.Sprintf("  (%d attempts)", t.Attempt)
		}
		if t.Error != "" {
			line += "  " + t.Error
		}
		fmt.Fprintln(c.stdout, line)
	}
	result := fmt.Sprintf("run %d of %s %s in %s", run.ID, run.Composition, run.Status, run.Duration(run.FinishedAt).Round(time.Millisecond))
	if run.Error != "" {
		result += ": " + run.Error
	}
	fmt.Fprintln(c.stdout, result)
	for _, id := range c.followUps {
		if f, err := c.store.GetRun(ctx, id); err == nil {
			fmt.Fprintf(c.stdout, "its on_failure run %d of %s %s\n", f.ID, f.Composition, f.Status)
		}
	}
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
