package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// agentProc is a `baton agent` subprocess.
type agentProc struct {
	cmd *exec.Cmd
	log *syncBuffer
}

// agentToken creates an agent token on a server's data directory.
func agentToken(t *testing.T, s *server) string {
	t.Helper()
	res := runBaton(t, ".", "agent-token", "create", "--data", s.data, "--name", "e2e")
	if res.code != 0 {
		t.Fatalf("agent-token create: %s", res.stderr)
	}
	return strings.TrimSpace(res.stdout)
}

// startAgentProc starts `baton agent` against a server.
func startAgentProc(t *testing.T, s *server, token, name string, args ...string) *agentProc {
	t.Helper()
	a := &agentProc{log: &syncBuffer{}}
	all := append([]string{"agent", "--server", s.url, "--token", token, "--name", name, "--workdir", t.TempDir(), "--facts-dir", t.TempDir()}, args...)
	a.cmd = exec.Command(baton, all...)
	a.cmd.Stdout, a.cmd.Stderr = a.log, a.log
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if a.cmd.ProcessState == nil {
			a.cmd.Process.Kill()
			a.cmd.Wait()
		}
	})
	s.waitAgent(name, "online")
	return a
}

type apiAgent struct {
	Name   string
	Status string
	Facts  map[string]any
	Pools  []string
	Jobs   []string
}

func (s *server) waitAgent(name, status string) apiAgent {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var a apiAgent
		s.callQuiet("GET", "/api/v1/agents/"+name, &a)
		if a.Status == status {
			return a
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("agent %s is %q, want %q\nserver log:\n%s", name, a.Status, status, s.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAgentBinary: the real `baton agent` reports external facts, and a
// composition that requires it runs there with a plugin it did not have.
func TestAgentBinary(t *testing.T) {
	dir := t.TempDir()
	comps := filepath.Join(dir, "compositions")
	copyDir(t, "../examples/plugins/cloud", filepath.Join(comps, "plugins", "cloud"))
	writeFile(t, filepath.Join(comps, "provision.yaml"), `name: provision
requires: {pool: builders, facts: 'facts.team == "blue" && facts.rack == 7'}
tasks:
  - id: up
    type: cloud.provision
    with: {count: 1, image: base}
  - id: down
    type: cloud.deprovision
`)
	s := startServer(t, filepath.Join(dir, "data"), "--compositions", comps, "--local-slots", "0")
	token := agentToken(t, s)
	facts := t.TempDir()
	writeFile(t, filepath.Join(facts, "team.txt"), "# who owns this machine\nteam=blue\n")
	writeFile(t, filepath.Join(facts, "rack.json"), `{"rack": 7, "room": "b2"}`)
	writeFile(t, filepath.Join(facts, "probe.sh"), "#!/bin/sh\necho probed=yes\n")
	os.Chmod(filepath.Join(facts, "probe.sh"), 0o755)
	startAgentProc(t, s, token, "blue-1", "--pool", "builders", "--facts-dir", facts)

	a := s.waitAgent("blue-1", "online")
	if a.Facts["team"] != "blue" || a.Facts["rack"] != 7.0 || a.Facts["room"] != "b2" || a.Facts["probed"] != true && a.Facts["probed"] != "yes" {
		t.Errorf("external facts = %v", a.Facts)
	}
	if a.Facts["os"] != "linux" || a.Facts["hostname"] == nil || a.Facts["memory_total"] == nil {
		t.Errorf("built-in facts = %v", a.Facts)
	}
	var run apiRun
	s.call("POST", "/api/v1/compositions/provision/runs", "", 201, &run)
	r := s.waitFor(run.ID, "an end", func(r apiRun) bool { return r.Status == "succeeded" || r.Status == "failed" })
	if r.Status != "succeeded" || r.task("down").Outputs["stopped"] != "1" {
		t.Fatalf("run: %+v\n%s", r, s.logText(run.ID))
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if out, err := exec.Command("cp", "-a", from, to).CombinedOutput(); err != nil {
		os.MkdirAll(filepath.Dir(to), 0o755)
		if out, err = exec.Command("cp", "-a", from, to).CombinedOutput(); err != nil {
			t.Fatalf("copy %s: %v %s", from, err, out)
		}
	}
}

// TestAgentKilledMidTask: kill -9 an agent while it runs a task; after the
// grace the task fails as agent_lost and is retried on another agent.
func TestAgentKilledMidTask(t *testing.T) {
	dir := t.TempDir()
	comps := filepath.Join(dir, "compositions")
	writeFile(t, filepath.Join(comps, "job.yaml"), `name: job
requires: {pool: p}
tasks:
  - id: work
    retries: 1
    run: echo "start on $BATON_WORKSPACE"; sleep 3; echo finished
`)
	s := startServer(t, filepath.Join(dir, "data"), "--compositions", comps, "--local-slots", "0", "--agent-grace", "2s", "--agent-timeout", "5s")
	token := agentToken(t, s)
	first := startAgentProc(t, s, token, "a1", "--pool", "p")
	var run apiRun
	s.call("POST", "/api/v1/compositions/job/runs", "", 201, &run)
	s.waitFor(run.ID, "work running on a1", func(r apiRun) bool { return r.task("work").Status == "running" })
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.cmd.Wait()
	startAgentProc(t, s, token, "a2", "--pool", "p")
	r := s.waitFor(run.ID, "an end", func(r apiRun) bool { return r.Status == "succeeded" || r.Status == "failed" })
	if r.Status != "succeeded" || r.task("work").Attempt != 2 {
		t.Fatalf("run: %+v\n%s\nserver log:\n%s", r, s.logText(run.ID), s.log)
	}
	var detail struct{ Agent string }
	s.call("GET", fmt.Sprintf("/api/v1/runs/%d", run.ID), "", 200, &detail)
	log := s.logText(run.ID)
	if detail.Agent != "a2" || !strings.Contains(log, "agent_lost") || !strings.Contains(log, "moved to a2") {
		t.Errorf("the retry did not go to a2 after agent_lost (run on %q):\n%s", detail.Agent, log)
	}
}

// TestServerRestartWhileAgentRuns: kill -9 the server while an agent runs
// a task that writes lines; the restarted server takes the agent back and
// every line arrives once, in order, with the result.
func TestServerRestartWhileAgentRuns(t *testing.T) {
	dir := t.TempDir()
	comps := filepath.Join(dir, "compositions")
	writeFile(t, filepath.Join(comps, "talk.yaml"), `name: talk
requires: {pool: p}
tasks:
  - id: talk
    run: |
      i=1
      while [ $i -le 30 ]; do echo "line $i"; i=$((i+1)); sleep 0.1; done
      echo "said=30" >> "$BATON_OUTPUT"
`)
	s := startServer(t, filepath.Join(dir, "data"), "--compositions", comps, "--local-slots", "0")
	token := agentToken(t, s)
	startAgentProc(t, s, token, "a1", "--pool", "p")
	var run apiRun
	s.call("POST", "/api/v1/compositions/talk/runs", "", 201, &run)
	s.waitFor(run.ID, "a few lines", func(r apiRun) bool { return strings.Contains(s.logText(run.ID), "line 5") })
	s.kill()
	time.Sleep(500 * time.Millisecond)
	s.start()
	r := s.waitFor(run.ID, "an end", func(r apiRun) bool { return r.Status == "succeeded" || r.Status == "failed" })
	if r.Status != "succeeded" || r.task("talk").Attempt != 1 || r.Outputs["said"] != "30" {
		t.Fatalf("run after the restart: %+v\n%s", r, s.logText(run.ID))
	}
	var page struct {
		Lines []struct{ Text, Stream string }
	}
	s.call("GET", fmt.Sprintf("/api/v1/runs/%d/log?task=talk", run.ID), "", 200, &page)
	var out []struct{ Text, Stream string }
	for _, l := range page.Lines {
		if l.Stream == "stdout" {
			out = append(out, l)
		}
	}
	if len(out) != 30 {
		t.Fatalf("%d lines of output stored, want 30:\n%s", len(out), s.logText(run.ID))
	}
	for i, l := range out {
		if l.Text != fmt.Sprintf("line %d", i+1) {
			t.Fatalf("line %d is %q", i+1, l.Text)
		}
	}
}

// waitExit waits for an agent process to exit on its own and returns its
// exit code.
func (a *agentProc) waitExit(t *testing.T, within time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- a.cmd.Wait() }()
	select {
	case <-done:
		return a.cmd.ProcessState.ExitCode()
	case <-time.After(within):
		a.cmd.Process.Kill()
		<-done
		t.Fatalf("the agent did not exit within %s:\n%s", within, a.log)
		return 0
	}
}

// startAgentBare starts `baton agent` without waiting for it to come online.
func startAgentBare(t *testing.T, s *server, token, name, workdir string) *agentProc {
	t.Helper()
	a := &agentProc{log: &syncBuffer{}}
	a.cmd = exec.Command(baton, "agent", "--server", s.url, "--token", token, "--name", name, "--workdir", workdir, "--facts-dir", t.TempDir())
	a.cmd.Stdout, a.cmd.Stderr = a.log, a.log
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if a.cmd.ProcessState == nil {
			a.cmd.Process.Kill()
			a.cmd.Wait()
		}
	})
	return a
}

// TestAgentIdentity: an agent's name is held by the credential in its
// workdir. The same workdir restarted is the same agent; another machine
// claiming the name is refused and stops; a copy of the workdir cannot
// take over while the agent is connected; after an operator resets the
// credential the old one is refused and a new machine may register.
func TestAgentIdentity(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, filepath.Join(dir, "data"), "--local-slots", "0")
	token := agentToken(t, s)
	home := filepath.Join(dir, "a1-workdir")
	first := startAgentBare(t, s, token, "a1", home)
	s.waitAgent("a1", "online")
	info, err := os.Stat(filepath.Join(home, "agent-credential"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("the agent's credential file: %v, mode %v; want mode 0600", err, info)
	}

	other := startAgentBare(t, s, token, "a1", filepath.Join(dir, "another-machine"))
	if code := other.waitExit(t, 30*time.Second); code != 1 || !strings.Contains(other.log.String(), "belongs to another agent") {
		t.Errorf("another machine named a1: exit %d\n%s", code, other.log)
	}

	copied := filepath.Join(dir, "copied-workdir")
	copyDir(t, home, copied)
	clone := startAgentBare(t, s, token, "a1", copied)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(clone.log.String(), "already connected") {
		if time.Now().After(deadline) || clone.cmd.ProcessState != nil {
			t.Fatalf("a copy of the workdir while a1 is connected:\n%s", clone.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	clone.cmd.Process.Kill()
	clone.cmd.Wait()
	s.waitAgent("a1", "online")

	first.cmd.Process.Kill()
	first.cmd.Wait()
	s.waitAgent("a1", "offline")
	again := startAgentBare(t, s, token, "a1", home)
	s.waitAgent("a1", "online")

	s.call("DELETE", "/api/v1/agents/a1/credential", "", 204, nil)
	if code := again.waitExit(t, 10*time.Second); code != 1 || !strings.Contains(again.log.String(), "credential") {
		t.Errorf("after the reset: exit %d\n%s", code, again.log)
	}
	old := startAgentBare(t, s, token, "a1", home)
	if code := old.waitExit(t, 30*time.Second); code != 1 || !strings.Contains(old.log.String(), "agent-credential") {
		t.Errorf("the old credential after the reset: exit %d\n%s", code, old.log)
	}
	startAgentBare(t, s, token, "a1", filepath.Join(dir, "rebuilt-machine"))
	s.waitAgent("a1", "online")
}

// TestAgentExpireFlag: with --agent-expire, an agent gone longer than that
// is removed.
func TestAgentExpireFlag(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, filepath.Join(dir, "data"), "--local-slots", "0", "--agent-expire", "1s")
	a := startAgentProc(t, s, agentToken(t, s), "short-lived")
	a.cmd.Process.Kill()
	a.cmd.Wait()
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequest("GET", s.url+"/api/v1/agents/short-lived", nil)
		req.Header.Set("Authorization", "Bearer "+s.token)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNotFound {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent was not expired\n%s", s.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
