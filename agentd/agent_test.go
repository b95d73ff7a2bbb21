package agentd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"baton/protocol"
)

// runningAgent is an agent under test, running in the background.
type runningAgent struct {
	*Agent
	cancel context.CancelFunc
	done   chan error
}

// startAgent starts an agent against ts, with workdir as its work
// directory (a new one when empty); change adjusts its config.
func startAgent(t testing.TB, ts *testServer, workdir string, change func(*Config)) *runningAgent {
	t.Helper()
	return startAgentWith(t, ts, workdir, change, nil)
}

// startAgentWith is startAgent with tweak, when set, called on the agent
// before it runs.
func startAgentWith(t testing.TB, ts *testServer, workdir string, change func(*Config), tweak func(*Agent)) *runningAgent {
	t.Helper()
	if workdir == "" {
		workdir = t.TempDir()
	}
	cfg := Config{
		Server: ts.srv.URL, Token: ts.token, Name: "test-agent", Slots: 2, Workdir: workdir,
		Version: "v-test", Pools: []string{"linux"}, Labels: map[string]string{"zone": "a"},
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if _, bench := t.(*testing.B); bench {
		cfg.Logger = nil
	}
	if change != nil {
		change(&cfg)
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.deliverWait = 2 * time.Second
	if tweak != nil {
		tweak(a)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ra := &runningAgent{Agent: a, cancel: cancel, done: make(chan error, 1)}
	go func() { ra.done <- a.Run(ctx) }()
	t.Cleanup(func() { ra.stop(t) })
	return ra
}

// stop stops the agent at once and waits for Run to return.
func (ra *runningAgent) stop(t testing.TB) error {
	t.Helper()
	ra.cancel()
	ra.Abort()
	select {
	case err := <-ra.done:
		ra.done <- err // for a later stop
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return")
		return nil
	}
}

// testWriter sends the agent's log to the test's log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func shellJob(id, script string) *protocol.Assign {
	return &protocol.Assign{JobID: id, RunID: 1, Composition: "demo", TaskID: "t", Attempt: 1,
		TaskType: "shell", Fields: map[string]any{"run": script}, Workspace: "demo/0"}
}

func TestHelloWelcome(t *testing.T) {
	ts := newTestServer(t)
	workdir := t.TempDir()
	startAgent(t, ts, workdir, nil)
	ts.waitFor("hello", func() bool { return len(ts.hellos) == 1 })
	h := ts.hellos[0]
	if h.Version != protocol.Version || h.Name != "test-agent" || h.Slots != 2 || h.AgentVersion != "v-test" {
		t.Errorf("hello = %+v", h)
	}
	if h.Workdir != filepath.Join(workdir, "workspaces") || h.Pools[0] != "linux" || h.Labels["zone"] != "a" || len(h.Jobs) != 0 || h.Draining {
		t.Errorf("hello = %+v", h)
	}
	for _, k := range []string{"os", "arch", "cpus", "hostname", "fqdn", "ip_addresses", "agent_version"} {
		if _, ok := h.Facts[k]; !ok {
			t.Errorf("fact %s missing from %v", k, h.Facts)
		}
	}
}

func TestGracefulStopFinishesRunningJob(t *testing.T) {
	ts := newTestServer(t)
	ra := startAgent(t, ts, "", nil)
	ts.assign(shellJob("1/t/1", `echo started; sleep 0.5; echo done`))
	ts.waitFor("the job to start", func() bool { return len(ts.jobs["1/t/1"].lines) == 1 })
	ra.cancel()
	select {
	case err := <-ra.done:
		ra.done <- err
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	sj := ts.jobs["1/t/1"]
	if sj.result == nil || sj.result.Error != "" || len(sj.lines) != 2 || ts.drains != 1 {
		t.Errorf("result %+v, %d lines, %d drains", sj.result, len(sj.lines), ts.drains)
	}
}

func TestGraceRunsOutCancelsJobs(t *testing.T) {
	ts := newTestServer(t)
	ra := startAgent(t, ts, "", func(c *Config) { c.Grace = 200 * time.Millisecond })
	ts.assign(shellJob("1/t/1", `echo started; sleep 60`))
	ts.waitFor("the job to start", func() bool { return len(ts.jobs["1/t/1"].lines) == 1 })
	ra.cancel()
	res := ts.waitResult("1/t/1")
	if !strings.Contains(res.Error, "grace period of 200ms ran out") {
		t.Errorf("result = %+v", res)
	}
}

func TestRefusedTokenIsFatal(t *testing.T) {
	ts := newTestServer(t)
	ra := startAgent(t, ts, "", func(c *Config) { c.Token = "wrong" })
	select {
	case err := <-ra.done:
		ra.done <- err
		if !errors.Is(err, ErrTokenRefused) || !strings.Contains(err.Error(), "baton agent-token create") {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run kept retrying a refused token")
	}
}

func TestVersionMismatchIsFatal(t *testing.T) {
	tests := []struct {
		name   string
		answer any
		want   string
	}{
		{"error", &protocol.Error{Message: "protocol version 1 is not supported; upgrade the agent", Fatal: true}, "upgrade the agent"},
		{"welcome", &protocol.Welcome{Version: protocol.Version + 1}, fmt.Sprintf("protocol version %d", protocol.Version+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t)
			ts.welcome = func(*protocol.Hello) any { return tt.answer }
			ra := startAgent(t, ts, "", nil)
			select {
			case err := <-ra.done:
				ra.done <- err
				var fatal *FatalError
				if !errors.As(err, &fatal) || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("Run = %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run kept retrying")
			}
			if ts.conns != 1 {
				t.Errorf("%d connections, want 1", ts.conns)
			}
		})
	}
}

func TestNonFatalErrorRetries(t *testing.T) {
	ts := newTestServer(t)
	refusals := 0
	ts.welcome = func(*protocol.Hello) any {
		if refusals < 2 {
			refusals++
			return &protocol.Error{Message: "an agent named test-agent is already connected"}
		}
		return nil
	}
	startAgent(t, ts, "", nil)
	ts.waitFor("a welcome after two refusals", func() bool { return ts.conns == 3 && ts.conn != nil })
}

func TestBadMessageReconnects(t *testing.T) {
	tests := []struct {
		name string
		kind int
		data []byte
		code int
	}{
		{"unknown type", websocket.TextMessage, []byte(`{"type":"launch"}`), websocket.CloseProtocolError},
		{"malformed", websocket.TextMessage, []byte(`{"type":`), websocket.CloseProtocolError},
		{"binary", websocket.BinaryMessage, []byte(`{"type":"heartbeat"}`), websocket.CloseProtocolError},
		{"oversized", websocket.TextMessage, []byte(`{"type":"heartbeat","x":"` + strings.Repeat("a", protocol.MaxMessageBytes) + `"}`), websocket.CloseMessageTooBig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t)
			startAgent(t, ts, "", nil)
			c := ts.waitConn()
			c.wmu.Lock()
			c.ws.WriteMessage(tt.kind, tt.data)
			c.wmu.Unlock()
			ts.waitFor("a reconnect", func() bool { return ts.conns == 2 })
			ts.mu.Lock()
			defer ts.mu.Unlock()
			if len(ts.closes) == 0 || ts.closes[0] != tt.code {
				t.Errorf("close codes %v, want %d", ts.closes, tt.code)
			}
		})
	}
}
