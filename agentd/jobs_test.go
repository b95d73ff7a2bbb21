package agentd

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"baton/plugin"
	"baton/protocol"
)

func TestShellJobStreamsLinesAndResult(t *testing.T) {
	ts := newTestServer(t)
	workdir := t.TempDir()
	ra := startAgent(t, ts, workdir, nil)
	ts.assign(shellJob("1/t/1", countLines(2000)+`; echo oops >&2; echo "k=v" >> "$BATON_OUTPUT"; pwd`))
	res := ts.waitResult("1/t/1")
	if res.Error != "" || res.ExitCode != 0 || res.LogLines != 2002 || res.Outputs["k"] != "v" {
		t.Fatalf("result = %+v", res)
	}
	got := ts.lineTexts("1/t/1")
	checkCounted(t, got[:2000], 2000)
	// stdout and stderr are two pipes: their lines may come in either order.
	for _, l := range ts.jobs["1/t/1"].lines[2000:] {
		want := map[uint8]string{1: filepath.Join(workdir, "workspaces", "demo", "0"), 2: "oops"}[l.Stream]
		if l.Text != want {
			t.Errorf("stream %d line %q, want %q", l.Stream, l.Text, want)
		}
	}
	// Acks free everything: no memory, no files, no held job.
	outboxEmpty(t, workdir)
	if used := ra.mem.used.Load(); used != 0 {
		t.Errorf("%d bytes of lines still in memory", used)
	}
	ra.mu.Lock()
	held := len(ra.jobs)
	ra.mu.Unlock()
	if held != 0 {
		t.Errorf("%d jobs still held", held)
	}
}

func TestAssignOfHeldJobIgnored(t *testing.T) {
	ts := newTestServer(t)
	startAgent(t, ts, "", nil)
	job := shellJob("1/t/1", `echo once; sleep 0.3`)
	ts.assign(job)
	ts.assign(job)
	ts.waitResult("1/t/1")
	time.Sleep(100 * time.Millisecond)
	if got := ts.lineTexts("1/t/1"); len(got) != 1 {
		t.Errorf("lines = %q: the job ran twice", got)
	}
}

func TestDropInWelcomeKillsRunningJob(t *testing.T) {
	ts := newTestServer(t)
	workdir := t.TempDir()
	pidFile := filepath.Join(t.TempDir(), "pid")
	startAgent(t, ts, workdir, nil)
	ts.assign(shellJob("1/t/1", `echo $$ > `+pidFile+`; echo started; sleep 60`))
	ts.waitFor("the job to start", func() bool { return len(ts.jobs["1/t/1"].lines) == 1 })
	pid := readPid(t, pidFile)

	ts.mu.Lock()
	ts.drop = []string{"1/t/1"}
	ts.conn.cut()
	ts.mu.Unlock()
	waitGone(t, pid)
	outboxEmpty(t, workdir)
	time.Sleep(200 * time.Millisecond)
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.jobs["1/t/1"].results != 0 {
		t.Error("a dropped job sent its result")
	}
}

func TestCancelKillsProcessGroup(t *testing.T) {
	ts := newTestServer(t)
	pidFile := filepath.Join(t.TempDir(), "pid")
	startAgent(t, ts, "", nil)
	ts.assign(shellJob("1/t/1", `sleep 60 & echo $! > `+pidFile+`; echo started; wait`))
	ts.waitFor("the job to start", func() bool { return len(ts.jobs["1/t/1"].lines) == 1 })
	child := readPid(t, pidFile)
	ts.conn.send(&protocol.Cancel{JobID: "1/t/1", Reason: "stopped by alice"})
	res := ts.waitResult("1/t/1")
	if res.Error != "cancelled by the server: stopped by alice" {
		t.Errorf("result = %+v", res)
	}
	waitGone(t, child)
}

func TestTimeout(t *testing.T) {
	ts := newTestServer(t)
	startAgent(t, ts, "", nil)
	job := shellJob("1/t/1", `sleep 30`)
	job.TimeoutMS = 300
	ts.assign(job)
	if res := ts.waitResult("1/t/1"); res.Error != "timed out after 300ms" {
		t.Errorf("result = %+v", res)
	}
}

func TestDrainRefusesNewJobs(t *testing.T) {
	ts := newTestServer(t)
	ra := startAgent(t, ts, "", nil)
	ts.waitConn()
	ra.Drain()
	ts.waitFor("drain", func() bool { return ts.drains == 1 })
	ts.assign(shellJob("1/t/1", `echo should not run`))
	res := ts.waitResult("1/t/1")
	if !strings.HasPrefix(res.Error, "agent is draining") || res.LogLines != 0 {
		t.Errorf("result = %+v", res)
	}
	// A reconnect says it again in hello.
	ts.conn.cut()
	ts.waitFor("a second hello", func() bool { return len(ts.hellos) == 2 })
	if !ts.hellos[1].Draining {
		t.Error("hello after drain does not say draining")
	}
}

// startOrphan starts a process group as a crashed agent's job would have
// left it, recorded in leftovers dir under key.
func startOrphan(t *testing.T, dir, key string) int {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go cmd.Wait()
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	if err := (plugin.Leftovers{Dir: dir}).Record(key, cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// waitGone waits until process pid no longer exists (or is a zombie).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || strings.Contains(string(stat), ") Z ") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d still runs", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAssignBeyondSlotsWaits(t *testing.T) {
	ts := newTestServer(t)
	startAgent(t, ts, "", func(c *Config) { c.Slots = 1 })
	ts.assign(shellJob("1/a/1", `echo a-start; sleep 0.4; echo a-end`))
	ts.waitFor("job a to start", func() bool { return len(ts.jobs["1/a/1"].lines) == 1 })
	ts.assign(shellJob("1/b/1", `echo b`))
	ts.waitResult("1/b/1")
	ts.mu.Lock()
	defer ts.mu.Unlock()
	a, b := ts.jobs["1/a/1"], ts.jobs["1/b/1"]
	if a.result == nil || len(a.lines) != 2 || !b.lines[0].Time.After(a.lines[1].Time) {
		t.Errorf("job b ran alongside job a on one slot: a %+v, b %+v", a.lines, b.lines)
	}
}
