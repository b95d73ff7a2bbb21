package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browser starts headless Chromium for a test. Without Chromium the test is
// skipped, unless BATON_REQUIRE_BROWSER is set (CI sets it), where it fails.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := ""
	for _, p := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if found, err := exec.LookPath(p); err == nil {
			path = found
			break
		}
	}
	if path == "" {
		if os.Getenv("BATON_REQUIRE_BROWSER") != "" {
			t.Fatal("no Chromium found; install it (apt-get install chromium)")
		}
		t.Skip("no Chromium found; install it (apt-get install chromium) to run the browser tests")
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("no-first-run", true), chromedp.Flag("disable-quic", true),
	)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// step runs browser actions with a time limit, failing the test with what
// it was doing.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(c, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// text reads the text of an element.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	s, err := chromedp.Run(c, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return s
}

// eventually polls a JavaScript condition until it is true.
func eventually(t *testing.T, ctx context.Context, what, js string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 3000) : ""`))
			t.Fatalf("%s: still not true after 20s (%v): %s\npage text:\n%s", what, err, js, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// settled waits until the run page's panel has not been swapped for a
// while: live events refresh it (throttled, so a refresh may come a
// moment after the event), and a click on an element that a swap has
// just replaced finds no node.
func settled(t *testing.T, ctx context.Context) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		quiet(t, ctx)
		step(t, ctx, "mark the panel", chromedp.Evaluate[chromedp.Void](`document.getElementById("run-panel").dataset.seen = "1"`))
		time.Sleep(700 * time.Millisecond)
		same, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("run-panel").dataset.seen === "1" && document.querySelectorAll(".htmx-request").length === 0`))
		if err == nil && same {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run panel kept changing for 20s (%v)", err)
		}
	}
}

// value reads the value of a form field.
func value(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q).value`, sel)))
	if err != nil {
		t.Fatalf("read the value of %s: %v", sel, err)
	}
	return v
}

// shot saves a screenshot of the page when BATON_SCREENSHOTS names a directory.
func shot(t *testing.T, ctx context.Context, name string) {
	dir := os.Getenv("BATON_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func runStatus(ctx context.Context) string {
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById("run-panel")||{dataset:{}}).dataset.status || ""`))
	return s
}

// TestBrowser drives the real UI in Chromium: log in, start a run from the
// params form, watch its lines arrive while it runs, see a field error,
// approve a waiting run, cancel a running one.
func TestBrowser(t *testing.T) {
	ctx := browser(t)
	dir := t.TempDir()
	comps := filepath.Join(dir, "compositions")
	writeFile(t, filepath.Join(comps, "slowlog.yaml"), `name: slowlog
description: |
  Prints **numbered lines** slowly, so you can watch them arrive.
params:
  count: {type: number, default: 5, description: How many lines}
  color: {type: string, default: green, enum: [green, red]}
tasks:
  - id: count
    env: {N: "${{ params.count }}"}
    run: |
      i=1
      while [ $i -le $N ]; do
        printf '\033[32mline %s\033[0m\n' $i
        i=$((i+1))
        sleep 0.4
      done
  - id: after
    run: echo "done=yes" >> "$BATON_OUTPUT"
`)
	writeFile(t, filepath.Join(comps, "gated.yaml"), `name: gated
tasks:
  - id: build
    run: echo built
  - id: approve
    type: approval
    with: {message: "Ship **it**?"}
  - id: ship
    run: echo shipped
`)
	writeFile(t, filepath.Join(comps, "forever.yaml"), `name: forever
tasks:
  - id: wait
    run: echo waiting; sleep 300
`)
	s := startServer(t, filepath.Join(dir, "data"), "--compositions", comps)

	// Logging in: a page asks for it, the wrong password is refused.
	step(t, ctx, "open the dashboard", chromedp.Navigate(s.url+"/"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=login-form]`)))
	shot(t, ctx, "login")
	step(t, ctx, "log in wrongly",
		chromedp.SendKeys(chromedp.CSS(`#name`), "admin"), chromedp.SendKeys(chromedp.CSS(`#password`), "not-the-password"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=login-error]`)))
	step(t, ctx, "log in",
		chromedp.SendKeys(chromedp.CSS(`#password`), adminPassword),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=active-runs]`)))
	eventually(t, ctx, "logged in as admin", `(document.querySelector("[data-testid=user]") || {}).textContent === "admin"`)

	// A bad value: the problem shows on its field and nothing starts.
	step(t, ctx, "open slowlog", chromedp.Navigate(s.url+"/compositions/slowlog"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=run-form]`)))
	step(t, ctx, "enter a bad count",
		chromedp.SetValue(chromedp.CSS(`#p-count`), "many"), chromedp.Click(chromedp.CSS(`[data-testid=start-run]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=field-count] [data-testid=field-error]`)))
	if msg := text(t, ctx, `[data-testid=field-count] [data-testid=field-error]`); !strings.Contains(msg, "not a number") {
		t.Errorf("field error = %q", msg)
	}
	var list struct{ Runs []apiRun }
	s.call("GET", "/api/v1/runs?composition=slowlog", "", 200, &list)
	if len(list.Runs) != 0 {
		t.Fatalf("a run started despite the bad field: %+v", list.Runs)
	}

	// Start a run from the form and watch its lines arrive while it runs.
	step(t, ctx, "start slowlog",
		chromedp.SetValue(chromedp.CSS(`#p-count`), "8"), chromedp.Click(chromedp.CSS(`[data-testid=start-run]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=run-panel]`)))
	eventually(t, ctx, "line 2 shows while the run is running",
		`Array.from(document.querySelectorAll("#log .line .text")).some(e => e.textContent === "line 2")`)
	if st := runStatus(ctx); st != "running" {
		t.Errorf("status when line 2 appeared = %q, want running: lines must appear while the task runs", st)
	}
	colored, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!document.querySelector("#log .line .text .ansi-32")`))
	if !colored {
		t.Errorf("ANSI colours were not rendered")
	}
	shot(t, ctx, "run-live")
	eventually(t, ctx, "the run succeeds", `document.getElementById("run-panel").dataset.status === "succeeded"`)
	eventually(t, ctx, "the graph shows both tasks succeeded",
		`document.querySelectorAll("[data-testid=graph-node][data-status=succeeded]").length === 2`)
	lines, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#log .line").length`))
	if lines < 8 {
		t.Errorf("log shows %d lines, want at least the 8 the task wrote", lines)
	}
	step(t, ctx, "filter the log by task", chromedp.SetValue(chromedp.CSS(`#log-task`), "after"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("log-task").dispatchEvent(new Event("change"))`))
	eventually(t, ctx, "only the task's lines are shown",
		`Array.from(document.querySelectorAll("#log .line:not(.hidden)")).every(l => l.dataset.task === "after")`)

	// Approve a waiting run.
	step(t, ctx, "start gated", chromedp.Navigate(s.url+"/compositions/gated"),
		chromedp.Click(chromedp.CSS(`[data-testid=start-run]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=approval]`)))
	eventually(t, ctx, "the approval message is rendered as markdown",
		`(document.querySelector("[data-testid=approval] .md strong") || {}).textContent === "it"`)
	eventually(t, ctx, "the run waits", `document.getElementById("run-panel").dataset.status === "waiting"`)
	shot(t, ctx, "run-approval")
	settled(t, ctx)
	step(t, ctx, "write a comment", chromedp.SendKeys(chromedp.CSS(`[data-testid=approval-comment]`), "looks good"))
	// A live refresh of the panel while the comment is being written
	// keeps what was typed.
	step(t, ctx, "refresh the panel", chromedp.Evaluate[chromedp.Void](`document.body.dispatchEvent(new CustomEvent("baton:run"))`))
	settled(t, ctx)
	if got := value(t, ctx, `[data-testid=approval-comment]`); got != "looks good" {
		t.Fatalf("the comment after a refresh of the panel = %q, want what was typed", got)
	}
	step(t, ctx, "approve", chromedp.Click(chromedp.CSS(`[data-testid=approve]`)))
	eventually(t, ctx, "the approved run succeeds", `document.getElementById("run-panel").dataset.status === "succeeded"`)
	eventually(t, ctx, "the decision is shown on the approval task",
		`(document.querySelector("[data-testid=task-table]") || {textContent: ""}).textContent.includes("approved by admin: looks good")`)

	// Cancel a running one.
	step(t, ctx, "start forever", chromedp.Navigate(s.url+"/compositions/forever"),
		chromedp.Click(chromedp.CSS(`[data-testid=start-run]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=cancel]`)))
	eventually(t, ctx, "it runs", `document.getElementById("run-panel").dataset.status === "running"`)
	settled(t, ctx)
	// A long settling time after the cancel's answer is swapped in: the
	// run ends meanwhile, and the panel, not yet listening, must still
	// catch up once it settles.
	step(t, ctx, "cancel", chromedp.Evaluate[chromedp.Void](`window.confirm = () => true; htmx.config.defaultSettleDelay = 1500`),
		chromedp.Click(chromedp.CSS(`[data-testid=cancel]`)))
	eventually(t, ctx, "the run is cancelled", `document.getElementById("run-panel").dataset.status === "cancelled"`)

	// The dashboard knows about all of it.
	step(t, ctx, "dashboard", chromedp.Navigate(s.url+"/"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=recent-failures]`)))
	shot(t, ctx, "dashboard")
	step(t, ctx, "compositions", chromedp.Navigate(s.url+"/compositions"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=composition-table]`)))
	shot(t, ctx, "compositions")
	step(t, ctx, "composition", chromedp.Navigate(s.url+"/compositions/slowlog"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=run-form]`)))
	shot(t, ctx, "composition")
	_ = fmt.Sprint
}

// TestBrowserMillionLineLog opens the page of a run whose log has a
// million lines: the page loads only the tail, stays responsive, and
// earlier lines load on demand.
func TestBrowserMillionLineLog(t *testing.T) {
	ctx := browser(t)
	dir := t.TempDir()
	comps := filepath.Join(dir, "compositions")
	writeFile(t, filepath.Join(comps, "million.yaml"), "name: million\ntasks:\n  - id: print\n    run: seq 1000000\n")
	s := startServer(t, filepath.Join(dir, "data"), "--compositions", comps)
	var run apiRun
	s.call("POST", "/api/v1/compositions/million/runs", "", 201, &run)
	s.waitFor(run.ID, "an end", func(r apiRun) bool { return r.Status == "succeeded" || r.Status == "failed" })

	step(t, ctx, "log in", chromedp.Navigate(s.url+"/login"),
		chromedp.SendKeys(chromedp.CSS(`#name`), "admin"), chromedp.SendKeys(chromedp.CSS(`#password`), adminPassword),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=active-runs]`)))
	start := time.Now()
	step(t, ctx, "open the run", chromedp.Navigate(fmt.Sprintf("%s/runs/%d", s.url, run.ID)), chromedp.WaitVisible(chromedp.CSS(`#log .line`)))
	eventually(t, ctx, "the last line is shown", `Array.from(document.querySelectorAll("#log .line .text")).some(e => e.textContent === "1000000")`)
	opened := time.Since(start)
	t.Logf("a run page with a 1,000,000-line log showed its last line %s after navigation", opened.Round(time.Millisecond))
	n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#log .line").length`))
	if n > 1000 {
		t.Errorf("the page holds %d lines; it should load only the tail", n)
	}
	// Responsive: a script runs at once, searching and loading earlier works.
	step(t, ctx, "load earlier", chromedp.Click(chromedp.CSS(`[data-testid=load-earlier]`)))
	eventually(t, ctx, "earlier lines are added", `document.querySelectorAll("#log .line").length >= 2000`)
	first, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#log .line .text").textContent`))
	if first == "1000000" || first == "" {
		t.Errorf("first line after loading earlier = %q", first)
	}
}

// TestBrowserAgentsAndExamples drives the UI over the shipped examples with
// an agent connected: the release run waits for approval with its graph,
// a fork/join fails and its on_failure run starts, and the agents pages
// show the agent. With BATON_SCREENSHOTS set it saves the pages shown in
// the README.
func TestBrowserAgentsAndExamples(t *testing.T) {
	ctx := browser(t)
	dir := t.TempDir()
	comps := filepath.Join(dir, "examples")
	copyDir(t, "../examples", comps)
	s := startServer(t, filepath.Join(dir, "data"), "--compositions", comps)
	token := agentToken(t, s)
	facts := t.TempDir()
	writeFile(t, filepath.Join(facts, "team.txt"), "team=payments\nrack=7\n")
	startAgentProc(t, s, token, "build-eu-1", "--pool", "linux-builders", "--label", "zone=eu-1", "--facts-dir", facts, "--slots", "2")

	var release, fork apiRun
	s.call("POST", "/api/v1/compositions/release-webapp/runs", fmt.Sprintf(`{"params": {"artifact_url": %q, "version": "2.1.0"}}`, s.url+"/healthz"), 201, &release)
	s.call("POST", "/api/v1/compositions/deploy-both/runs", `{"params": {"fail_host_b": true}}`, 201, &fork)
	s.waitFor(release.ID, "waiting", func(r apiRun) bool { return r.Status == "waiting" })
	s.waitFor(fork.ID, "failed", func(r apiRun) bool { return r.Status == "failed" })

	step(t, ctx, "log in", chromedp.Navigate(s.url+"/login"),
		chromedp.SendKeys(chromedp.CSS(`#name`), "admin"), chromedp.SendKeys(chromedp.CSS(`#password`), adminPassword),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=active-runs]`)))
	eventually(t, ctx, "the dashboard shows the waiting run and the failure",
		`!!document.querySelector("[data-testid=waiting-runs] [data-testid=run-row]") && !!document.querySelector("[data-testid=recent-failures] [data-testid=run-row]")`)
	eventually(t, ctx, "the dashboard lists the agent online",
		`(document.querySelector("[data-testid=agents]") || {textContent: ""}).textContent.includes("build-eu-1")`)
	shot(t, ctx, "dashboard")

	step(t, ctx, "the release run", chromedp.Navigate(fmt.Sprintf("%s/runs/%d", s.url, release.ID)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=approval]`)))
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("[data-testid=graph-node]").length`)); n != 7 {
		t.Errorf("graph of the release run has %d nodes, want 7", n)
	}
	shot(t, ctx, "run-approval")
	step(t, ctx, "narrow", chromedp.EmulateViewport(768, 1024))
	if w, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > 768 {
		t.Errorf("the run page is %d px wide at 768 px: it should not scroll sideways", w)
	}
	shot(t, ctx, "run-narrow")
	step(t, ctx, "wide again", chromedp.EmulateViewport(1280, 900))

	step(t, ctx, "agents", chromedp.Navigate(s.url+"/agents"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=agent-table]`)))
	eventually(t, ctx, "the agents table shows the agent online in its pool",
		`["build-eu-1", "online", "linux-builders"].every(s => (document.querySelector("[data-testid=agent-table]") || {textContent: ""}).textContent.includes(s))`)
	shot(t, ctx, "agents")
	step(t, ctx, "agent", chromedp.Navigate(s.url+"/agents/build-eu-1"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=facts]`)))
	if f := text(t, ctx, `[data-testid=facts]`); !strings.Contains(f, "team") || !strings.Contains(f, "payments") {
		t.Errorf("agent facts:\n%s", f)
	}
	shot(t, ctx, "agent")
	step(t, ctx, "the failed fork", chromedp.Navigate(fmt.Sprintf("%s/runs/%d", s.url, fork.ID)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=run-error]`)))
	shot(t, ctx, "run-failed")
}
