package handlers

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"baton/agentd"
	"baton/engine"
	"baton/plugin"
	"baton/protocol"
)

// launched is an agent started in the background whose end the test
// watches: one the server should refuse, or one it should cut off.
type launched struct {
	done chan error
	stop func()
}

// launch starts an agent without waiting for it to come online.
func (f *fleet) launch(name string, o agentOpts) *launched {
	f.t.Helper()
	if o.token == "" {
		o.token = f.agentToken
	}
	if o.workdir == "" {
		o.workdir = f.t.TempDir()
	}
	if o.slots == 0 {
		o.slots = 1
	}
	ag, err := agentd.New(agentd.Config{Server: f.srv.URL, Token: o.token, Name: name, Pools: o.pools, Labels: o.labels,
		FactsDir: f.t.TempDir(), Slots: o.slots, Workdir: o.workdir, Grace: 5 * time.Second, Version: "test",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		f.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &launched{done: make(chan error, 1)}
	ended := make(chan struct{})
	go func() {
		l.done <- ag.Run(ctx)
		close(ended)
	}()
	l.stop = func() {
		cancel()
		select {
		case <-ended:
		case <-time.After(30 * time.Second):
			f.t.Errorf("agent %s did not stop", name)
		}
	}
	f.t.Cleanup(l.stop)
	return l
}

// ended waits for the agent to stop on its own and returns why.
func (l *launched) ended(t *testing.T, within time.Duration) error {
	t.Helper()
	select {
	case err := <-l.done:
		l.done <- err
		return err
	case <-time.After(within):
		t.Fatalf("the agent did not stop within %s", within)
		return nil
	}
}

// agentStatus returns what the API says of an agent: its status, or ""
// when there is no such agent.
func (f *fleet) agentStatus(name string) string {
	var got agentJSON
	req, _ := http.NewRequest("GET", f.srv.URL+"/api/v1/agents/"+name, nil)
	req.Header.Set("Authorization", "Bearer "+f.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return ""
	}
	decodeJSON(resp.Body, &got)
	return got.Status
}

// rawHello dials the agents' endpoint with token, sends hello and then
// each of more, and returns the types of every message the server sent
// until it closed the connection, and the text of its error message.
func (f *fleet) rawHello(token string, hello map[string]any, more ...map[string]any) (types []string, errText string) {
	f.t.Helper()
	ws := "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/api/v1/agents/connect"
	c, resp, err := websocket.DefaultDialer.Dial(ws, http.Header{"Authorization": {"Bearer " + token}})
	if err != nil {
		f.t.Fatalf("dial: %v %v", err, resp)
	}
	defer c.Close()
	hello["type"] = "hello"
	for _, m := range append([]map[string]any{hello}, more...) {
		data, _ := json.Marshal(m)
		if err := c.WriteMessage(websocket.TextMessage, data); err != nil {
			break // the server may close before reading the rest
		}
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, data, err := c.ReadMessage()
		if err != nil {
			if !websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseProtocolError, websocket.ClosePolicyViolation) &&
				!strings.Contains(err.Error(), "reset") && !strings.Contains(err.Error(), "EOF") {
				f.t.Errorf("the server did not close the connection of a refused agent: %v (got %v)", err, types)
			}
			return types, errText
		}
		var head struct{ Type, Message string }
		json.Unmarshal(data, &head)
		types = append(types, head.Type)
		if head.Type == protocol.TypeError {
			errText = head.Message
		}
	}
}

// TestAgentImpostorRefused: a client with a valid agent token that says
// hello with the name of a connected agent, without that agent's
// credential, is refused and its connection closed; the result it sends
// for the real agent's running job is not taken, and the next job still
// goes to the real agent.
func TestAgentImpostorRefused(t *testing.T) {
	f := newFleet(t, plugin.NewRegistry(), engine.HubConfig{})
	f.startAgent("victim", agentOpts{pools: []string{"v"}})
	f.do("PUT", "/api/v1/compositions/slow", "name: slow\nrequires: {pool: v}\ntasks:\n  - id: t\n    run: echo started; sleep 3; echo finished\n", http.StatusCreated, nil)
	f.do("PUT", "/api/v1/compositions/next", "name: next\nrequires: {pool: v}\ntasks:\n  - id: t\n    run: echo on $BATON_WORKSPACE\n", http.StatusCreated, nil)
	var run runJSON
	began := time.Now()
	f.do("POST", "/api/v1/compositions/slow/runs", "", http.StatusCreated, &run)
	f.waitRun(run.ID, func(r runJSON) bool { return r.LogLines != nil && *r.LogLines >= 1 })
	forged := map[string]any{"type": "result", "job_id": protocol.JobID(run.ID, "t", 1), "exit_code": 0, "log_lines": 1,
		"outputs": map[string]string{"forged": "yes"}}

	tests := []struct {
		name  string
		hello map[string]any
		want  string // in the error message
	}{
		{"no credential", map[string]any{"version": protocol.Version, "name": "victim", "slots": 4}, "credential"},
		{"a made-up credential", map[string]any{"version": protocol.Version, "name": "victim", "slots": 4,
			"credential": strings.Repeat("0f", 32)}, "belongs to another agent"},
		{"an installation id, as before", map[string]any{"version": protocol.Version, "name": "victim", "slots": 4,
			"instance": "0123456789abcdef0123"}, "credential"},
		{"the old protocol", map[string]any{"version": 1, "name": "victim", "slots": 4}, "protocol version"},
	}
	for _, tt := range tests {
		types, msg := f.rawHello(f.agentToken, tt.hello, forged, map[string]any{"type": "heartbeat"})
		if len(types) == 0 || types[0] != protocol.TypeError || !strings.Contains(msg, tt.want) {
			t.Errorf("%s: the impostor got %v (%q); want an error saying %q, then the close", tt.name, types, msg, tt.want)
		}
		for _, typ := range types {
			if typ == protocol.TypeWelcome || typ == protocol.TypeAssign {
				t.Errorf("%s: the impostor was sent a %s", tt.name, typ)
			}
		}
		if st := f.agentStatus("victim"); st != "online" {
			t.Errorf("%s: the real agent is %q after the impostor's attempt", tt.name, st)
		}
	}

	r := f.waitRun(run.ID, func(r runJSON) bool { return r.Status == "succeeded" || r.Status == "failed" })
	if took := time.Since(began); r.Status != "succeeded" || took < 3*time.Second || r.Tasks[0].Outputs["forged"] != nil {
		t.Errorf("the victim's run: %s after %s, outputs %v: the forged result was taken", r.Status, took.Round(time.Millisecond), r.Tasks[0].Outputs)
	}
	if log := f.logText(run.ID); !strings.Contains(log, "t|finished") {
		t.Errorf("the real agent's end of the job is missing:\n%s", log)
	}
	if next := f.run("next"); next.Status != "succeeded" || next.Agent != "victim" {
		t.Errorf("the next job: %s on %q, want succeeded on victim", next.Status, next.Agent)
	}
}

// TestAgentNameInUse: another agent installation (another credential)
// claiming the name of one that is connected, or that is away with a job
// waiting for it, is refused for good; the first comes back and its job
// ends once, on it. A copy of the first's workdir (its credential) is
// refused while the first is connected and heard from, and retries.
func TestAgentNameInUse(t *testing.T) {
	f := newFleet(t, plugin.NewRegistry(), engine.HubConfig{})
	p := newProxy(t, strings.TrimPrefix(f.srv.URL, "http://"))
	workdir := t.TempDir()
	f.startAgent("busy", agentOpts{pools: []string{"b"}, server: p.url(), workdir: workdir})
	f.do("PUT", "/api/v1/compositions/slow", "name: slow\nrequires: {pool: b}\ntasks:\n  - id: t\n    run: echo started; sleep 2; echo finished\n", http.StatusCreated, nil)
	var run runJSON
	f.do("POST", "/api/v1/compositions/slow/runs", "", http.StatusCreated, &run)
	f.waitRun(run.ID, func(r runJSON) bool { return r.LogLines != nil && *r.LogLines >= 2 })

	hello := func(credential string) (types []string, msg string, fatal bool) {
		t.Helper()
		ws := "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/api/v1/agents/connect"
		c, resp, err := websocket.DefaultDialer.Dial(ws, http.Header{"Authorization": {"Bearer " + f.agentToken}})
		if err != nil {
			t.Fatalf("dial: %v %v", err, resp)
		}
		defer c.Close()
		data, _ := protocol.Encode(&protocol.Hello{Version: protocol.Version, Name: "busy", Credential: credential, Slots: 1})
		if err := c.WriteMessage(websocket.TextMessage, data); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, data, err = c.ReadMessage()
		if err != nil {
			t.Fatalf("no answer to hello: %v", err)
		}
		m, err := protocol.Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		if e, ok := m.(*protocol.Error); ok {
			return []string{e.Type}, e.Message, e.Fatal
		}
		return []string{protocol.TypeWelcome}, "", false
	}
	refused := func(credential, why string, wantFatal bool) {
		t.Helper()
		types, msg, fatal := hello(credential)
		if types[0] != protocol.TypeError || !strings.Contains(msg, why) || fatal != wantFatal {
			t.Fatalf("answer %v %q (fatal %v); want an error saying %q, fatal %v", types, msg, fatal, why, wantFatal)
		}
	}
	another := strings.Repeat("5a", 32)
	refused(another, "belongs to another agent installation", true)
	own := credentialOf(t, workdir)
	refused(own, "already connected", false)

	// The first agent's connection drops: its job waits for it, and the
	// name with it.
	p.cut()
	f.waitAgent("busy", "offline")
	refused(another, "belongs to another agent installation", true)
	p.restore()
	r := f.waitRun(run.ID, func(r runJSON) bool { return r.Status == "succeeded" || r.Status == "failed" })
	if r.Status != "succeeded" || r.Tasks[0].Attempt != 1 {
		t.Fatalf("the first agent's run: %+v", r)
	}
	f.waitAgent("busy", "online")
}

// credentialOf reads the credential an agent keeps in its workdir.
func credentialOf(t *testing.T, workdir string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(workdir, "agent-credential"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct{ Credentials []struct{ Credential string } }
	if err := json.Unmarshal(data, &file); err != nil || len(file.Credentials) != 1 {
		t.Fatalf("credential file: %v %s", err, data)
	}
	return file.Credentials[0].Credential
}
