package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"baton/protocol"
)

// benchServer is a `baton serve` subprocess for the agent benchmarks.
type benchServer struct {
	cmd   *exec.Cmd
	url   string
	data  string
	token string // user API token
	log   *bytes.Buffer
}

func startBenchServer(b *testing.B, comps string, args ...string) *benchServer {
	b.Helper()
	dir := b.TempDir()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	s := &benchServer{url: "http://" + addr, data: filepath.Join(dir, "data"), log: &bytes.Buffer{}}
	all := append([]string{"serve", "--addr", addr, "--data", s.data, "--log-level", "warn"}, args...)
	if comps != "" {
		all = append(all, "--compositions", comps)
	}
	s.cmd = exec.Command(baton, all...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.cmd.Process.Kill(); s.cmd.Wait() })
	waitUp(b, s.url)
	out, err := exec.Command(baton, "token", "create", "--data", s.data).Output()
	if err != nil {
		b.Fatal(err)
	}
	s.token = strings.TrimSpace(string(out))
	return s
}

func (s *benchServer) agentToken(b *testing.B) string {
	out, err := exec.Command(baton, "agent-token", "create", "--data", s.data).Output()
	if err != nil {
		b.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func (s *benchServer) call(b *testing.B, method, path, body string, out any) {
	b.Helper()
	req, _ := http.NewRequest(method, s.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b.Fatalf("%s %s: %d", method, path, resp.StatusCode)
	}
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
}

func (s *benchServer) onlineAgents(b *testing.B) int {
	var list struct {
		Agents []struct{ Status string }
	}
	s.call(b, "GET", "/api/v1/agents", "", &list)
	n := 0
	for _, a := range list.Agents {
		if a.Status == "online" {
			n++
		}
	}
	return n
}

// cpuTicks reads a process's user+system CPU time in clock ticks.
func cpuTicks(b *testing.B, pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+2:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}

// BenchmarkDispatchLatency measures how long a task waits between becoming
// ready (the previous task's end is committed) and starting on an agent
// (the first instant of its script, read from bash's EPOCHREALTIME), over
// 1,000 tasks (10 runs of 100 chained tasks) with 10 agents connected.
// one-at-a-time runs the 10 runs one after another: the dispatch path
// alone. ten-at-once runs them together, which on 2 cores saturates the
// CPU (each task starts a bash, ~1.5 ms of CPU, beside the agent's and the
// server's work), so it shows queueing for the CPU as much as dispatch.
// Target: p99 under 10 ms.
func BenchmarkDispatchLatency(b *testing.B) {
	comps := b.TempDir()
	var sb strings.Builder
	sb.WriteString("name: chain\nrequires: {pool: bench}\ntasks:\n")
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&sb, "  - id: t%d\n    with: {shell: bash}\n    run: echo \"at=${EPOCHREALTIME/./}\" >> \"$BATON_OUTPUT\"\n", i)
	}
	os.WriteFile(filepath.Join(comps, "chain.yaml"), []byte(sb.String()), 0o644)
	for _, together := range []bool{false, true} {
		name := "one-at-a-time"
		if together {
			name = "ten-at-once"
		}
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				lat := dispatchRound(b, comps, together)
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
				b.ReportMetric(float64(len(lat)), "tasks")
			}
		})
	}
}

// dispatchRound starts a server with 10 agents, runs the chain 10 times
// and returns the sorted latencies.
func dispatchRound(b *testing.B, comps string, together bool) []time.Duration {
	s := startBenchServer(b, comps, "--local-slots", "0")
	token := s.agentToken(b)
	for a := 0; a < 10; a++ {
		cmd := exec.Command(baton, "agent", "--server", s.url, "--token", token, "--name", fmt.Sprintf("bench-%d", a),
			"--pool", "bench", "--workdir", b.TempDir(), "--facts-dir", b.TempDir(), "--log-level", "warn")
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	}
	for s.onlineAgents(b) < 10 { // local has no slots and is not online
		time.Sleep(50 * time.Millisecond)
	}
	var lat []time.Duration
	wait := func(id int64) {
		var run struct {
			Status string
			Tasks  []struct {
				Outputs    map[string]any
				FinishedAt time.Time `json:"finished_at"`
			}
		}
		for run.Status != "succeeded" {
			if run.Status == "failed" {
				b.Fatalf("run %d failed", id)
			}
			time.Sleep(50 * time.Millisecond)
			s.call(b, "GET", fmt.Sprintf("/api/v1/runs/%d", id), "", &run)
		}
		for t := 1; t < len(run.Tasks); t++ {
			us, _ := strconv.ParseInt(run.Tasks[t].Outputs["at"].(string), 10, 64)
			lat = append(lat, time.UnixMicro(us).Sub(run.Tasks[t-1].FinishedAt))
		}
	}
	var ids []int64
	for r := 0; r < 10; r++ {
		var run struct{ ID int64 }
		s.call(b, "POST", "/api/v1/compositions/chain/runs", "", &run)
		if together {
			ids = append(ids, run.ID)
		} else {
			wait(run.ID)
		}
	}
	for _, id := range ids {
		wait(id)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat
}

// fakeAgent is a bare protocol client: it says hello, answers pings and
// sends heartbeats, as an idle agent does.
func fakeAgent(url, token, name string, stop <-chan struct{}, ready *sync.WaitGroup) error {
	ws := "ws" + strings.TrimPrefix(url, "http") + "/api/v1/agents/connect"
	c, _, err := websocket.DefaultDialer.Dial(ws, http.Header{"Authorization": {"Bearer " + token}})
	if err != nil {
		return err
	}
	defer c.Close()
	hello, _ := protocol.Encode(&protocol.Hello{Version: protocol.Version, Name: name, Credential: "bench-credential-" + name + strings.Repeat("0", 32), Slots: 1,
		Facts: map[string]any{"os": "linux", "arch": "amd64", "cpus": 2.0, "memory_total": 4e9}})
	if err := c.WriteMessage(websocket.TextMessage, hello); err != nil {
		return err
	}
	if _, _, err := c.ReadMessage(); err != nil {
		return err
	}
	ready.Done()
	go func() { // reading also answers the server's pings
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}()
	beat, _ := protocol.Encode(&protocol.Heartbeat{})
	t := time.NewTicker(protocol.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return nil
		case <-t.C:
			if err := c.WriteMessage(websocket.TextMessage, beat); err != nil {
				return err
			}
		}
	}
}

// BenchmarkIdleAgents connects 1,000 idle agents (one helper process, this
// one) to one server and measures the server's resident memory and CPU
// while they idle for 30 s. Targets: under 150 MB and 5% of a core.
func BenchmarkIdleAgents(b *testing.B) {
	for i := 0; i < b.N; i++ {
		s := startBenchServer(b, "")
		token := s.agentToken(b)
		stop := make(chan struct{})
		var ready sync.WaitGroup
		const n = 1000
		ready.Add(n)
		for a := 0; a < n; a++ {
			go func() {
				if err := fakeAgent(s.url, token, fmt.Sprintf("idle-%04d", a), stop, &ready); err != nil {
					b.Errorf("agent %d: %v", a, err)
					ready.Done()
				}
			}()
			if a%50 == 49 {
				time.Sleep(20 * time.Millisecond) // do not storm the listen queue
			}
		}
		ready.Wait()
		if got := s.onlineAgents(b); got != n+1 { // and local
			b.Fatalf("%d agents online, want %d and local", got, n)
		}
		time.Sleep(5 * time.Second) // settle
		pid := s.cmd.Process.Pid
		before := cpuTicks(b, pid)
		const window = 30 * time.Second
		time.Sleep(window)
		ticks := cpuTicks(b, pid) - before
		rss := rssKB(b, pid, "VmRSS")
		close(stop)
		b.ReportMetric(float64(rss)/1024, "server-RSS-MB")
		b.ReportMetric(float64(ticks)/100/window.Seconds()*100, "server-CPU-%")
	}
}

// BenchmarkAgentIdleMemory measures `baton agent` idle, connected.
// Target: under 20 MB.
func BenchmarkAgentIdleMemory(b *testing.B) {
	for i := 0; i < b.N; i++ {
		s := startBenchServer(b, "")
		token := s.agentToken(b)
		cmd := exec.Command(baton, "agent", "--server", s.url, "--token", token, "--name", "idle", "--workdir", b.TempDir(), "--facts-dir", b.TempDir())
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		for s.onlineAgents(b) < 1 {
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(10 * time.Second)
		rss := rssKB(b, cmd.Process.Pid, "VmRSS")
		cmd.Process.Kill()
		cmd.Wait()
		b.ReportMetric(float64(rss)/1024, "agent-RSS-MB")
	}
}
