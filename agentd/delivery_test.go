package agentd

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"baton/protocol"
)

// countLines is a script that prints "line 1" to "line n", pausing every
// 500 lines so output is still flowing a while later.
func countLines(n int) string {
	return fmt.Sprintf(`i=1; while [ $i -le %d ]; do echo "line $i"; if [ $((i %% 500)) -eq 0 ]; then sleep 0.05; fi; i=$((i+1)); done`, n)
}

// checkCounted checks that got is "line 1" to "line n".
func checkCounted(t *testing.T, got []string, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("%d lines stored, want %d", len(got), n)
	}
	for i, text := range got {
		if want := fmt.Sprintf("line %d", i+1); text != want {
			t.Fatalf("line %d is %q, want %q", i+1, text, want)
		}
	}
}

func outboxEmpty(t *testing.T, workdir string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		entries, _ := os.ReadDir(filepath.Join(workdir, "outbox"))
		if len(entries) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox still holds %v", entries)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestReconnectMidJobDeliversEveryLineOnce(t *testing.T) {
	ts := newTestServer(t)
	cuts := 0
	ts.onLog = func(c *testConn, id string, stored int64) {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		if (cuts == 0 && stored >= 1000) || (cuts == 1 && stored >= 3000) {
			cuts++
			c.cut()
		}
	}
	startAgent(t, ts, "", nil)
	ts.assign(shellJob("1/t/1", countLines(5000)))
	res := ts.waitResult("1/t/1")
	if res.LogLines != 5000 || res.Error != "" {
		t.Fatalf("result = %+v", res)
	}
	checkCounted(t, ts.lineTexts("1/t/1"), 5000)
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if cuts == 0 || ts.conns != cuts+1 {
		t.Errorf("%d connections after %d cuts", ts.conns, cuts)
	}
	if ts.jobs["1/t/1"].results != 1 {
		t.Errorf("%d results received, want 1", ts.jobs["1/t/1"].results)
	}
	last := ts.hellos[len(ts.hellos)-1]
	if len(last.Jobs) != 1 || last.Jobs[0].JobID != "1/t/1" || last.Jobs[0].LogLines < 1000 {
		t.Errorf("hello after the cut holds %+v", last.Jobs)
	}
}

func TestSpillToDiskAndResend(t *testing.T) {
	ts := newTestServer(t)
	ts.ignore = true // nothing is acknowledged: everything stays held
	workdir := t.TempDir()
	ra := startAgentWith(t, ts, workdir, nil, func(a *Agent) { a.mem.limit = 4 << 10 })
	ts.assign(shellJob("1/t/1", countLines(3000)))
	ts.waitFor("the result, unacknowledged", func() bool { return ts.jobs["1/t/1"].results == 1 })
	if used := ra.mem.used.Load(); used != 0 {
		t.Errorf("%d bytes in memory after the job ended; all should be on disk", used)
	}
	if info, err := os.Stat(filepath.Join(workdir, "outbox", fileKey("1/t/1")+".lines")); err != nil || info.Size() < 3000*20 {
		t.Fatalf("spill file: %v, %v", info, err)
	}
	// Now the server stores: after a reconnect everything comes back from disk.
	ts.mu.Lock()
	ts.ignore = false
	ts.conn.cut()
	ts.mu.Unlock()
	ts.waitResult("1/t/1")
	checkCounted(t, ts.lineTexts("1/t/1"), 3000)
	outboxEmpty(t, workdir)
}

func TestRestartDeliversHeldResult(t *testing.T) {
	ts := newTestServer(t)
	ts.ignore = true
	workdir := t.TempDir()
	first := startAgent(t, ts, workdir, nil)
	ts.assign(shellJob("1/t/1", countLines(1200)+"; exit 3"))
	ts.waitFor("the result, unacknowledged", func() bool { return ts.jobs["1/t/1"].results == 1 })
	first.stop(t)
	if _, err := os.Stat(filepath.Join(workdir, "outbox", fileKey("1/t/1")+".result")); err != nil {
		t.Fatalf("no result on disk: %v", err)
	}

	ts.mu.Lock()
	ts.ignore = false
	ts.mu.Unlock()
	startAgent(t, ts, workdir, nil)
	res := ts.waitResult("1/t/1")
	if res.ExitCode != 3 || res.LogLines != 1200 || !strings.Contains(res.Error, "3") {
		t.Errorf("result = %+v", res)
	}
	checkCounted(t, ts.lineTexts("1/t/1"), 1200)
	last := ts.hellos[len(ts.hellos)-1]
	if len(last.Jobs) != 1 || last.Jobs[0].Running || last.Jobs[0].LogLines != 1200 {
		t.Errorf("hello after restart holds %+v", last.Jobs)
	}
	outboxEmpty(t, workdir)
}

func TestInterruptedJobReportedAfterRestart(t *testing.T) {
	// What a crashed agent leaves: a job's marker, two of its lines on
	// disk, and its process still running.
	workdir := t.TempDir()
	id := "7/build/1"
	key := fileKey(id)
	os.MkdirAll(filepath.Join(workdir, "outbox"), 0o755)
	out := newOutbox(filepath.Join(workdir, "outbox", key), &budget{limit: 0})
	writeFileAtomic(out.path+".job", jobMeta{JobID: id})
	for i := 1; i <= 3; i++ {
		out.append(1, time.Now(), fmt.Sprintf("line %d", i))
	}
	out.spillW.Flush()
	out.spill.Close()
	orphan := startOrphan(t, filepath.Join(workdir, "running"), key)

	ts := newTestServer(t)
	ts.jobs[id] = &serverJob{lines: []protocol.Line{{Stream: 1, Text: "line 1"}}} // stored before the crash
	startAgent(t, ts, workdir, nil)
	res := ts.waitResult(id)
	if res.ExitCode != -1 || res.Error != interruptedError || res.LogLines != 4 {
		t.Errorf("result = %+v", res)
	}
	got := ts.lineTexts(id)
	if len(got) != 4 || got[1] != "line 2" || got[2] != "line 3" || !strings.Contains(got[3], "output after line 3") {
		t.Errorf("lines = %q", got)
	}
	if h := ts.hellos[0]; len(h.Jobs) != 1 || h.Jobs[0].Running || h.Jobs[0].LogLines != 3 {
		t.Errorf("hello holds %+v", h.Jobs)
	}
	waitGone(t, orphan)
	outboxEmpty(t, workdir)
}

func TestSendWindowWaitsForAcks(t *testing.T) {
	ts := newTestServer(t)
	ts.ignore = true
	startAgentWith(t, ts, "", nil, func(a *Agent) { a.window = 8 << 10 })
	ts.assign(shellJob("1/t/1", countLines(20000)))
	ts.waitFor("the job's lines", func() bool { return ts.jobs["1/t/1"].received > 0 })
	time.Sleep(500 * time.Millisecond) // the job ends meanwhile
	ts.mu.Lock()
	got := ts.jobs["1/t/1"].received
	ts.ignore = false
	ts.conn.cut()
	ts.mu.Unlock()
	if got >= 20000 {
		t.Errorf("%d lines sent with no ack in an 8 KiB window", got)
	}
	ts.waitResult("1/t/1")
	checkCounted(t, ts.lineTexts("1/t/1"), 20000)
}

func TestResultStoredInWelcomeForgetsJob(t *testing.T) {
	ts := newTestServer(t)
	ts.noResAck = true // the ack of the result is lost
	workdir := t.TempDir()
	startAgent(t, ts, workdir, nil)
	ts.assign(shellJob("1/t/1", `echo hi`))
	ts.waitResult("1/t/1")
	ts.mu.Lock()
	ts.noResAck = false
	ts.conn.cut()
	ts.mu.Unlock()
	ts.waitFor("a second hello", func() bool { return len(ts.hellos) == 2 })
	if h := ts.hellos[1]; len(h.Jobs) != 1 || h.Jobs[0].Running || h.Jobs[0].LogLines != 1 {
		t.Errorf("second hello holds %+v", h.Jobs)
	}
	outboxEmpty(t, workdir)
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if n := ts.jobs["1/t/1"].results; n != 1 {
		t.Errorf("%d results sent; the welcome said it was stored", n)
	}
}
