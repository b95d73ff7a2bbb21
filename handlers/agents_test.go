package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"baton/agentd"
	"baton/auth"
	"baton/engine"
	"baton/model"
	"baton/plugin"
	"baton/protocol"
)

// fleet is a server with agents on loopback: real agentd agents, real
// websockets, a real SQLite store.
type fleet struct {
	*apiHarness
	agentToken string
}

func newFleet(t *testing.T, reg *plugin.Registry, hub engine.HubConfig) *fleet {
	t.Helper()
	a := newAPIWith(t, reg, hub, 1)
	return &fleet{apiHarness: a, agentToken: fleetToken(t, a)}
}

// fleetToken makes an agent token.
func fleetToken(t testing.TB, a *apiHarness) string {
	token, hash, prefix := auth.NewToken()
	if _, err := a.store.CreateAgentToken(context.Background(), &model.AgentToken{Name: "test", Prefix: prefix}, hash); err != nil {
		t.Fatal(err)
	}
	return token
}

type agentOpts struct {
	pools   []string
	labels  map[string]string
	slots   int
	server  string // URL to dial, when not the server itself (a proxy)
	workdir string // default: a new temporary directory
	token   string // agent token; default: the fleet's
}

// startAgent runs an agent until the test ends, or until stop is called,
// and waits until the server sees it online.
func (f *fleet) startAgent(name string, o agentOpts) (stop func()) {
	return f.startAgentTB(f.t, name, o)
}

// startAgentB starts an agent in pool p for a benchmark.
func (f *fleet) startAgentB(b testing.TB, name string) {
	f.startAgentTB(b, name, agentOpts{pools: []string{"p"}})
}

func (f *fleet) startAgentTB(tb testing.TB, name string, o agentOpts) (stop func()) {
	tb.Helper()
	if o.slots == 0 {
		o.slots = 1
	}
	if o.server == "" {
		o.server = f.srv.URL
	}
	if o.workdir == "" {
		o.workdir = tb.TempDir()
	}
	if o.token == "" {
		o.token = f.agentToken
	}
	ag, err := agentd.New(agentd.Config{Server: o.server, Token: o.token, Name: name, Pools: o.pools, Labels: o.labels,
		FactsDir: tb.TempDir(), Slots: o.slots, Workdir: o.workdir, Grace: 5 * time.Second, Version: "test",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		ag.Run(ctx)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				tb.Errorf("agent %s did not stop", name)
			}
		})
	}
	tb.Cleanup(stop)
	f.waitAgent(name, "online")
	return stop
}

func (f *fleet) waitAgent(name, status string) {
	f.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var got agentJSON
		req, _ := http.NewRequest("GET", f.srv.URL+"/api/v1/agents/"+name, nil)
		req.Header.Set("Authorization", "Bearer "+f.token)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			if resp.StatusCode == http.StatusOK {
				decodeJSON(resp.Body, &got)
			}
			resp.Body.Close()
		}
		if got.Status == status {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("agent %s is %q, want %q", name, got.Status, status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runOn starts a run and waits for it to end.
func (f *fleet) run(name string) runJSON {
	f.t.Helper()
	var run runJSON
	f.do("POST", "/api/v1/compositions/"+name+"/runs", "", http.StatusCreated, &run)
	return f.waitRun(run.ID, func(r runJSON) bool {
		return r.Status == "succeeded" || r.Status == "failed" || r.Status == "cancelled"
	})
}

func (f *fleet) logText(id int64) string {
	f.t.Helper()
	var page struct{ Lines []logLineJSON }
	f.do("GET", fmt.Sprintf("/api/v1/runs/%d/log?limit=100000", id), "", http.StatusOK, &page)
	var b strings.Builder
	for _, l := range page.Lines {
		fmt.Fprintf(&b, "%s|%s\n", l.Task, l.Text)
	}
	return b.String()
}

func TestAgentRouting(t *testing.T) {
	f := newFleet(t, plugin.NewRegistry(), engine.HubConfig{})
	f.startAgent("lin-a", agentOpts{pools: []string{"linux"}, labels: map[string]string{"zone": "a"}})
	f.startAgent("lin-b", agentOpts{pools: []string{"linux"}, labels: map[string]string{"zone": "b"}})
	f.startAgent("win", agentOpts{pools: []string{"windows"}})
	for name, req := range map[string]string{
		"on-windows": `{pool: windows}`,
		"on-zone-b":  `{labels: {zone: b}}`,
		"on-facts":   `{facts: 'facts.os == "linux" && facts.cpus >= 1', local: false}`,
		"anywhere":   `{local: false}`,
		"on-gpu":     `{pool: gpu}`,
		"on-plan9":   `{facts: 'facts.os == "plan9"'}`,
	} {
		f.do("PUT", "/api/v1/compositions/"+name, fmt.Sprintf("name: %s\nrequires: %s\ntasks:\n  - id: where\n    run: echo \"on $BATON_WORKSPACE\"\n", name, req), http.StatusCreated, nil)
	}
	for name, want := range map[string][]string{"on-windows": {"win"}, "on-zone-b": {"lin-b"}, "on-facts": {"lin-a", "lin-b", "win"}, "anywhere": {"lin-a", "lin-b", "win"}} {
		r := f.run(name)
		if r.Status != "succeeded" || !slicesContains(want, r.Agent) {
			t.Errorf("%s ran on %q (%s %s), want one of %v", name, r.Agent, r.Status, r.Error, want)
		}
		if log := f.logText(r.ID); !strings.Contains(log, "where|on "+r.Context["workdir"].(string)) {
			t.Errorf("%s (run %d, workdir %v): the agent's line did not arrive:\n%s", name, r.ID, r.Context["workdir"], log)
		}
	}

	// Nothing fits: the run waits and says why; an agent that fits starts it.
	var gpu, plan9 runJSON
	f.do("POST", "/api/v1/compositions/on-gpu/runs", "", http.StatusCreated, &gpu)
	f.do("POST", "/api/v1/compositions/on-plan9/runs", "", http.StatusCreated, &plan9)
	gpu = f.waitRun(gpu.ID, func(r runJSON) bool { return strings.Contains(r.QueueReason, "none is online") })
	if gpu.Status != "queued" || gpu.QueueReason != "waiting for an executor in pool gpu: none is online" {
		t.Errorf("gpu run: %s %q", gpu.Status, gpu.QueueReason)
	}
	plan9 = f.waitRun(plan9.ID, func(r runJSON) bool { return r.QueueReason != "" && r.QueueReason != "waiting for the scheduler" })
	if !strings.Contains(plan9.QueueReason, "whose facts match `facts.os == \"plan9\"`") {
		t.Errorf("plan9 run: %q", plan9.QueueReason)
	}
	f.startAgent("gpu-1", agentOpts{pools: []string{"gpu"}})
	if r := f.waitRun(gpu.ID, func(r runJSON) bool { return r.Status == "succeeded" }); r.Agent != "gpu-1" {
		t.Errorf("gpu run went to %q", r.Agent)
	}
	// A queued run that cannot be placed never blocks one that can.
	if r := f.run("on-windows"); r.Status != "succeeded" {
		t.Errorf("a placeable run was held back: %+v", r)
	}
}

func slicesContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestAgentSlotsAndAffinity(t *testing.T) {
	f := newFleet(t, plugin.NewRegistry(), engine.HubConfig{})
	f.startAgent("p1", agentOpts{pools: []string{"p"}})
	f.startAgent("p2", agentOpts{pools: []string{"p"}})
	f.do("PUT", "/api/v1/compositions/build", "name: build\nrequires: {pool: p}\ntasks:\n  - id: compile\n    run: echo built >> cache.txt; wc -l < cache.txt\n", http.StatusCreated, nil)
	f.do("PUT", "/api/v1/compositions/long", "name: long\nrequires: {pool: p}\ntasks:\n  - id: wait\n    run: sleep 1\n", http.StatusCreated, nil)
	first := f.run("build")
	for i := 0; i < 3; i++ {
		again := f.run("build")
		if again.Agent != first.Agent {
			t.Fatalf("run %d went to %s, not %s where the workspace is warm", again.ID, again.Agent, first.Agent)
		}
		if !strings.Contains(f.logText(again.ID), fmt.Sprintf("compile|%d", i+2)) {
			t.Errorf("the workspace was not kept between runs:\n%s", f.logText(again.ID))
		}
	}
	// Slots: two long runs take both agents; a third waits for a slot.
	var runs [3]runJSON
	for i := range runs {
		f.do("POST", "/api/v1/compositions/long/runs", "", http.StatusCreated, &runs[i])
	}
	third := f.waitRun(runs[2].ID, func(r runJSON) bool { return strings.Contains(r.QueueReason, "free slot") })
	if third.QueueReason != "waiting for a free slot on p1, p2 (all busy)" {
		t.Errorf("third run: %q", third.QueueReason)
	}
	a := f.waitRun(runs[0].ID, func(r runJSON) bool { return r.Status == "succeeded" })
	b := f.waitRun(runs[1].ID, func(r runJSON) bool { return r.Status == "succeeded" })
	if a.Agent == b.Agent {
		t.Errorf("both concurrent runs went to %s", a.Agent)
	}
	f.waitRun(runs[2].ID, func(r runJSON) bool { return r.Status == "succeeded" })
}

func TestAgentRunsPluginItLacks(t *testing.T) {
	reg := plugin.NewRegistry()
	if _, err := reg.LoadDir("../examples/plugins"); err != nil {
		t.Fatal(err)
	}
	f := newFleet(t, reg, engine.HubConfig{})
	f.startAgent("cloudy", agentOpts{pools: []string{"cloud"}})
	f.do("PUT", "/api/v1/compositions/instances", `name: instances
requires: {pool: cloud}
tasks:
  - id: provision
    type: cloud.provision
    with: {count: 2, image: base}
  - id: deprovision
    type: cloud.deprovision
`, http.StatusCreated, nil)
	r := f.run("instances")
	if r.Status != "succeeded" || r.Agent != "cloudy" {
		t.Fatalf("run: %s on %s: %s\n%s", r.Status, r.Agent, r.Error, f.logText(r.ID))
	}
	if r.Tasks[1].Outputs["stopped"] != "2" {
		t.Errorf("deprovision did not inherit the instances: %+v\n%s", r.Tasks[1], f.logText(r.ID))
	}
}

func TestAgentCancelKillsProcessGroup(t *testing.T) {
	f := newFleet(t, plugin.NewRegistry(), engine.HubConfig{})
	dir := t.TempDir()
	f.startAgent("worker", agentOpts{pools: []string{"w"}})
	pidFile := filepath.Join(dir, "pid")
	f.do("PUT", "/api/v1/compositions/forever", fmt.Sprintf("name: forever\nrequires: {pool: w}\ntasks:\n  - id: nap\n    run: sleep 60 & echo $! > %s; wait\n", pidFile), http.StatusCreated, nil)
	var run runJSON
	f.do("POST", "/api/v1/compositions/forever/runs", "", http.StatusCreated, &run)
	f.waitRun(run.ID, func(r runJSON) bool { _, err := os.Stat(pidFile); return err == nil })
	b, _ := os.ReadFile(pidFile)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	start := time.Now()
	f.do("POST", fmt.Sprintf("/api/v1/runs/%d/cancel", run.ID), "", http.StatusAccepted, nil)
	r := f.waitRun(run.ID, func(r runJSON) bool { return r.Status == "cancelled" })
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("cancel took %s", took)
	}
	if r.Tasks[0].Status != "cancelled" {
		t.Errorf("task: %+v", r.Tasks[0])
	}
	if alive(pid) {
		t.Errorf("the task's background sleep (pid %d) survived the cancel", pid)
	}
}

// alive reports whether a process exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return err == nil && !strings.Contains(string(b), ") Z ")
}

// proxy forwards TCP connections and can cut them all, and refuse new
// ones, for a while: a network outage between an agent and the server.
type proxy struct {
	ln       net.Listener
	upstream string
	mu       sync.Mutex
	conns    []net.Conn
	down     bool
}

func newProxy(t *testing.T, upstream string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, upstream: upstream}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			down := p.down
			p.mu.Unlock()
			if down {
				c.Close()
				continue
			}
			u, err := net.Dial("tcp", upstream)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { io.Copy(u, c); u.Close() }()
			go func() { io.Copy(c, u); c.Close() }()
		}
	}()
	return p
}

func (p *proxy) url() string { return "http://" + p.ln.Addr().String() }

// cut drops every connection and refuses new ones until restore.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *proxy) restore() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

// TestAgentConnectionCut cuts the network between an agent and the server
// for 20 s while a task writes its output: every line arrives exactly once
// and in order, and the result is accepted once.
func TestAgentConnectionCut(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 20 s")
	}
	f := newFleet(t, plugin.NewRegistry(), engine.HubConfig{})
	u := strings.TrimPrefix(f.srv.URL, "http://")
	p := newProxy(t, u)
	f.startAgent("far", agentOpts{pools: []string{"far"}, server: p.url()})
	const n = 3000
	f.do("PUT", "/api/v1/compositions/chatty", fmt.Sprintf(`name: chatty
requires: {pool: far}
tasks:
  - id: talk
    run: |
      i=1
      while [ $i -le %d ]; do echo "line $i"; i=$((i+1)); if [ $((i %% 100)) = 0 ]; then sleep 0.05; fi; done
      echo "done=yes" >> "$BATON_OUTPUT"
`, n), http.StatusCreated, nil)
	var run runJSON
	f.do("POST", "/api/v1/compositions/chatty/runs", "", http.StatusCreated, &run)
	f.waitRun(run.ID, func(r runJSON) bool { return r.LogLines != nil && *r.LogLines > 200 })
	p.cut()
	f.waitAgent("far", "offline")
	time.Sleep(20 * time.Second)
	p.restore()
	r := f.waitRun(run.ID, func(r runJSON) bool { return r.Status == "succeeded" || r.Status == "failed" })
	if r.Status != "succeeded" || r.Tasks[0].Attempt != 1 || r.Outputs["done"] != "yes" {
		t.Fatalf("run after the outage: %+v", r)
	}
	var page struct{ Lines []logLineJSON }
	f.do("GET", fmt.Sprintf("/api/v1/runs/%d/log?task=talk&limit=100000", run.ID), "", http.StatusOK, &page)
	if len(page.Lines) != n {
		t.Fatalf("%d lines of talk stored, want %d", len(page.Lines), n)
	}
	for i, l := range page.Lines {
		if want := fmt.Sprintf("line %d", i+1); l.Text != want {
			t.Fatalf("line %d is %q, want %q: lost, doubled or out of order", i+1, l.Text, want)
		}
	}
}

// TestAgentBadMessages: a malformed or oversized message closes that
// agent's connection and harms nothing else.
func TestAgentBadMessages(t *testing.T) {
	f := newFleet(t, plugin.NewRegistry(), engine.HubConfig{})
	f.startAgent("good", agentOpts{pools: []string{"g"}})
	f.do("PUT", "/api/v1/compositions/g", "name: g\nrequires: {pool: g}\ntasks:\n  - id: t\n    run: echo fine\n", http.StatusCreated, nil)
	dial := func() *websocket.Conn {
		ws := "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/api/v1/agents/connect"
		c, resp, err := websocket.DefaultDialer.Dial(ws, http.Header{"Authorization": {"Bearer " + f.agentToken}})
		if err != nil {
			t.Fatalf("dial: %v %v", err, resp)
		}
		return c
	}
	hello, _ := protocol.Encode(&protocol.Hello{Version: protocol.Version, Name: "rogue", Credential: strings.Repeat("r0", 32), Slots: 1})
	for name, frame := range map[string][]byte{
		"garbage":   []byte(`{"type": "log", "job_id": `),
		"unknown":   []byte(`{"type": "launch"}`),
		"oversized": []byte(`{"type":"heartbeat","x":"` + strings.Repeat("a", protocol.MaxMessageBytes) + `"}`),
		"gap":       []byte(`{"type":"assign","job_id":"1/x/1","task_type":"shell"}`),
	} {
		c := dial()
		c.WriteMessage(websocket.TextMessage, hello)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, _, err := c.ReadMessage(); err != nil { // welcome
			t.Fatalf("%s: no welcome: %v", name, err)
		}
		c.WriteMessage(websocket.TextMessage, frame)
		var closeErr error
		for closeErr == nil {
			_, _, closeErr = c.ReadMessage()
		}
		if !websocket.IsCloseError(closeErr, websocket.CloseProtocolError, websocket.CloseMessageTooBig, websocket.CloseNormalClosure) && !strings.Contains(closeErr.Error(), "reset") {
			t.Errorf("%s: connection ended with %v", name, closeErr)
		}
		c.Close()
	}
	// A user's API token is not an agent token.
	ws := "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/api/v1/agents/connect"
	if _, resp, err := websocket.DefaultDialer.Dial(ws, http.Header{"Authorization": {"Bearer " + f.token}}); err == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("user token on the agents' endpoint: %v", err)
	}
	if r := f.run("g"); r.Status != "succeeded" || r.Agent != "good" {
		t.Errorf("the good agent was harmed: %+v", r)
	}
}

func decodeJSON(r io.Reader, v any) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// TestTaskWithOwnRequires: a task with requires of its own runs on an
// agent that meets them; the run's other tasks stay on the run's agent.
func TestTaskWithOwnRequires(t *testing.T) {
	f := newFleet(t, plugin.NewRegistry(), engine.HubConfig{})
	f.startAgent("builder", agentOpts{pools: []string{"build"}})
	f.startAgent("signer", agentOpts{pools: []string{"hsm"}})
	f.do("PUT", "/api/v1/compositions/signed", `name: signed
requires: {pool: build}
tasks:
  - id: compile
    run: echo compiled > app.bin
  - id: sign
    requires: {pool: hsm}
    run: echo "signed in $PWD"
  - id: package
    run: test -f app.bin && echo packaged
`, http.StatusCreated, nil)
	r := f.run("signed")
	if r.Status != "succeeded" {
		t.Fatalf("run: %+v\n%s", r, f.logText(r.ID))
	}
	for _, task := range r.Tasks {
		want := "builder"
		if task.ID == "sign" {
			want = "signer"
		}
		if task.Agent != want {
			t.Errorf("task %s ran on %q, want %s", task.ID, task.Agent, want)
		}
	}
	if r.Agent != "builder" {
		t.Errorf("run placed on %q", r.Agent)
	}
}

// TestAgentLongLine: a line over the cap, cut on the agent, is stored with
// the agent's note and its true count of dropped bytes.
func TestAgentLongLine(t *testing.T) {
	f := newFleet(t, plugin.NewRegistry(), engine.HubConfig{})
	f.startAgent("wide", agentOpts{pools: []string{"w"}})
	f.do("PUT", "/api/v1/compositions/wide", "name: wide\nrequires: {pool: w}\ntasks:\n  - id: t\n    run: head -c 70000 /dev/zero | tr '\\0' a; echo\n", http.StatusCreated, nil)
	r := f.run("wide")
	if r.Status != "succeeded" {
		t.Fatalf("run = %+v", r)
	}
	var page struct{ Lines []logLineJSON }
	f.do("GET", fmt.Sprintf("/api/v1/runs/%d/log?task=t", r.ID), "", http.StatusOK, &page)
	want := strings.Repeat("a", plugin.MaxLineBytes) + fmt.Sprintf(" [line truncated: %d bytes dropped]", 70000-plugin.MaxLineBytes)
	if len(page.Lines) != 1 || page.Lines[0].Text != want {
		got := ""
		if len(page.Lines) > 0 {
			got = page.Lines[0].Text[max(0, len(page.Lines[0].Text)-60):]
		}
		t.Fatalf("%d lines; the long one ends %q, want it to end %q", len(page.Lines), got, want[len(want)-60:])
	}
}
