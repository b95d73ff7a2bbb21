package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServerKilledMidRun kills -9 a real baton serve with runs in flight
// (a running shell task, a waiting approval, a queued run, a sleep) and
// starts it again: every run carries on to the end it should have.
func TestServerKilledMidRun(t *testing.T) {
	dir := t.TempDir()
	comps := filepath.Join(dir, "compositions")
	marker := filepath.Join(dir, "attempts")
	writeFile(t, filepath.Join(comps, "slow.yaml"), fmt.Sprintf(`name: slow
tasks:
  - id: work
    retries: 1
    run: |
      echo "attempt $BATON_ATTEMPT" >> %[1]s
      echo $$ > %[1]s.pid
      sleep 2 &
      wait
      echo "finished attempt $BATON_ATTEMPT"
  - id: after
    run: echo after
`, marker))
	writeFile(t, filepath.Join(comps, "gate.yaml"), `name: gate
tasks:
  - id: ask
    type: approval
    with: {message: "Go on?"}
  - id: go
    run: echo went on
`)
	writeFile(t, filepath.Join(comps, "single.yaml"), `name: single
concurrency: 1
tasks:
  - id: nap
    type: sleep
    with: {duration: 1500ms}
`)
	writeFile(t, filepath.Join(comps, "halfway.yaml"), `name: halfway
tasks:
  - id: bad
    needs: []
    run: exit 2
  - id: slow
    needs: []
    retries: 2
    run: sleep 30
  - id: next
    needs: [bad, slow]
    run: echo never
  - id: tidy
    needs: [bad, slow]
    always: true
    run: echo tidied
`)
	data := filepath.Join(dir, "data")
	s := startServer(t, data, "--compositions", comps, "--local-slots", "4")

	var slow, gate, single1, single2, halfway apiRun
	s.call("POST", "/api/v1/compositions/slow/runs", "", 201, &slow)
	s.call("POST", "/api/v1/compositions/halfway/runs", "", 201, &halfway)
	s.call("POST", "/api/v1/compositions/gate/runs", "", 201, &gate)
	s.call("POST", "/api/v1/compositions/single/runs", "", 201, &single1)
	s.call("POST", "/api/v1/compositions/single/runs", "", 201, &single2)
	s.waitFor(slow.ID, "work running", func(r apiRun) bool {
		b, _ := os.ReadFile(marker)
		return r.task("work").Status == "running" && strings.Contains(string(b), "attempt 1")
	})
	s.waitFor(gate.ID, "waiting", func(r apiRun) bool { return r.Status == "waiting" })
	s.waitFor(single2.ID, "a queue reason", func(r apiRun) bool { return r.QueueReason != "" })
	s.waitFor(halfway.ID, "failing with slow running", func(r apiRun) bool {
		return r.Ending == "failed" && r.task("slow").Status == "running"
	})
	pidText, _ := os.ReadFile(marker + ".pid")

	s.kill()
	// The killed server's task is still running as an orphan...
	pid, _ := strconv.Atoi(strings.TrimSpace(string(pidText)))
	if pid == 0 || syscall.Kill(pid, 0) != nil {
		t.Fatalf("expected the first attempt (pid %q) to outlive the server", pidText)
	}
	s.start()
	// ...until the restarted server stops it before retrying.
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil && !isZombie(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("the orphaned first attempt (pid %d) was not stopped", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}

	r := s.waitFor(slow.ID, "an end", func(r apiRun) bool { return r.Status == "succeeded" || r.Status == "failed" })
	if r.Status != "succeeded" || r.task("work").Attempt != 2 {
		t.Fatalf("slow run after restart: %+v\n%s", r, s.logText(slow.ID))
	}
	log := s.logText(slow.ID)
	for _, want := range []string{"interrupted by server restart", "finished attempt 2", "after | after"} {
		if !strings.Contains(log, want) {
			t.Errorf("slow run log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "finished attempt 1") {
		t.Errorf("the interrupted attempt finished too:\n%s", log)
	}

	g := s.run(gate.ID)
	if g.Status != "waiting" || g.task("ask").Status != "waiting" {
		t.Fatalf("approval did not survive the restart: %+v", g)
	}
	s.call("POST", fmt.Sprintf("/api/v1/runs/%d/tasks/ask/approve", gate.ID), `{"comment": "after restart"}`, 200, nil)
	if g = s.waitFor(gate.ID, "an end", func(r apiRun) bool { return r.Status == "succeeded" || r.Status == "failed" }); g.Status != "succeeded" {
		t.Errorf("gate run: %+v", g)
	}
	// The run that was failing when the server died resumes failing: the
	// interrupted task is not retried, the clean-up still runs.
	h := s.waitFor(halfway.ID, "an end", func(r apiRun) bool { return r.Status == "succeeded" || r.Status == "failed" })
	if h.Status != "failed" || h.Error != "task bad failed: exit status 2" || h.task("slow").Attempt != 1 ||
		h.task("next").Status != "skipped" || h.task("tidy").Status != "succeeded" {
		t.Errorf("halfway run after restart: %+v\n%s", h, s.logText(halfway.ID))
	}
	for _, id := range []int64{single1.ID, single2.ID} {
		if r := s.waitFor(id, "an end", func(r apiRun) bool { return r.Status == "succeeded" || r.Status == "failed" }); r.Status != "succeeded" {
			t.Errorf("single run %d: %+v", id, r)
		}
	}
	s.stop()
}

func isZombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return err == nil && strings.Contains(string(b), ") Z ")
}

// TestServeSIGTERMLetsTasksFinish: a graceful stop lets a running task end
// within the grace and records its result; nothing is left for the next start.
func TestServeSIGTERMLetsTasksFinish(t *testing.T) {
	dir := t.TempDir()
	comps := filepath.Join(dir, "c")
	writeFile(t, filepath.Join(comps, "short.yaml"), "name: short\ntasks:\n  - id: nap\n    run: sleep 1; echo woke\n")
	s := startServer(t, filepath.Join(dir, "data"), "--compositions", comps)
	var run apiRun
	s.call("POST", "/api/v1/compositions/short/runs", "", 201, &run)
	s.waitFor(run.ID, "running", func(r apiRun) bool { return r.task("nap").Status == "running" })
	s.stop()
	s.start()
	r := s.run(run.ID)
	if r.Status != "succeeded" || r.task("nap").Attempt != 1 {
		t.Fatalf("after a graceful stop: %+v\n%s", r, s.logText(run.ID))
	}
}
