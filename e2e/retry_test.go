package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// retriedRun is what these tests read of a run, retries included.
type retriedRun struct {
	ID      int64
	Status  string
	Error   string
	RetryOf int64   `json:"retry_of"`
	Retries []int64 `json:"retries"`
	Tasks   []struct {
		ID       string
		Status   string
		Attempt  int
		KeptFrom int64 `json:"kept_from"`
	}
}

func (s *server) retried(id int64) retriedRun {
	s.t.Helper()
	var r retriedRun
	s.call("GET", fmt.Sprintf("/api/v1/runs/%d", id), "", 200, &r)
	return r
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

// TestRetryCommandAndKill: `baton retry` asks the real server to retry a
// failed run; the retry keeps the task that succeeded and runs the failed
// one again. The server is killed with SIGKILL while that task runs, and
// after the restart the retry carries on to succeed, its kept task still
// kept and never run twice. `baton retry --wait` follows a retry to its
// end and exits with how it ended; mistakes exit 2 and say why.
func TestRetryCommandAndKill(t *testing.T) {
	dir := t.TempDir()
	comps := filepath.Join(dir, "compositions")
	writeFile(t, filepath.Join(comps, "deliver.yaml"), fmt.Sprintf(`name: deliver
tasks:
  - id: build
    run: echo built >> %[1]s/build.count
  - id: deploy
    retries: 1
    run: |
      test -f %[1]s/fixed || { echo "registry said 503" >&2; exit 1; }
      echo "attempt $BATON_ATTEMPT" >> %[1]s/deploy.count
      while [ ! -f %[1]s/go ]; do sleep 0.05; done
      echo deployed
`, dir))
	writeFile(t, filepath.Join(comps, "quick.yaml"), fmt.Sprintf(`name: quick
tasks:
  - id: prepare
    run: echo prepared
  - id: check
    run: 'test -f %[1]s/quick-fixed || { echo "not yet" >&2; exit 1; }'
`, dir))
	data := filepath.Join(dir, "data")
	s := startServer(t, data, "--compositions", comps)
	tokenFile := filepath.Join(dir, "token")
	writeFile(t, tokenFile, s.token+"\n")
	retry := func(args ...string) result {
		return runBaton(t, dir, append([]string{"retry", "--server", s.url, "--token-file", tokenFile}, args...)...)
	}

	var first apiRun
	s.call("POST", "/api/v1/compositions/deliver/runs", "", 201, &first)
	first = s.waitFor(first.ID, "failed", func(r apiRun) bool { return r.Status == "failed" })
	if !strings.Contains(first.Error, "registry said 503") {
		t.Errorf("the run's error %q lacks the task's stderr", first.Error)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"999"}, "run 999 not found"},
		{[]string{fmt.Sprint(first.ID), "--from", "deplyo"}, `from: "deplyo" is not a task of deliver; its tasks are build, deploy`},
		{[]string{"first"}, `"first" is not a run number`},
	} {
		if res := retry(tc.args...); res.code != 2 || !strings.Contains(res.stderr, tc.want) {
			t.Errorf("baton retry %v: exit %d, stderr %q; want 2 and %q", tc.args, res.code, res.stderr, tc.want)
		}
	}
	if res := runBaton(t, dir, "retry", "--server", s.url, fmt.Sprint(first.ID)); res.code != 2 || !strings.Contains(res.stderr, "an API token is needed") {
		t.Errorf("without a token: exit %d, %q", res.code, res.stderr)
	}

	writeFile(t, filepath.Join(dir, "fixed"), "")
	res := retry(fmt.Sprint(first.ID))
	var second int64
	if _, err := fmt.Sscanf(res.stdout, "run %d of deliver retries run", &second); res.code != 0 || err != nil ||
		!strings.Contains(res.stdout, fmt.Sprintf("retries run %d: keeps build; runs again deploy\n%s/runs/%d\n", first.ID, s.url, second)) {
		t.Fatalf("baton retry: exit %d\nstdout %q\nstderr %q", res.code, res.stdout, res.stderr)
	}
	// (Lines still in the log writer's buffer when the server is killed
	// are lost, so the kill waits for the retry's first lines to be stored.)
	s.waitFor(second, "deploy running", func(r apiRun) bool {
		return r.task("deploy").Status == "running" && countLines(t, filepath.Join(dir, "deploy.count")) == 1 &&
			strings.Contains(s.logText(second), "retrying run")
	})

	s.kill()
	s.start()
	writeFile(t, filepath.Join(dir, "go"), "")
	done := s.waitFor(second, "an end", func(r apiRun) bool { return r.Status == "succeeded" || r.Status == "failed" })
	if done.Status != "succeeded" {
		t.Fatalf("the retry after a SIGKILL: %+v\n%s", done, s.logText(second))
	}
	r := s.retried(second)
	if r.RetryOf != first.ID || r.Tasks[0].KeptFrom != first.ID || r.Tasks[1].KeptFrom != 0 || r.Tasks[1].Attempt != 2 {
		t.Errorf("the retry after the restart: %+v", r)
	}
	if n := countLines(t, filepath.Join(dir, "build.count")); n != 1 {
		t.Errorf("build ran %d times, want once", n)
	}
	if old := s.retried(first.ID); len(old.Retries) != 1 || old.Retries[0] != second {
		t.Errorf("the old run's retries: %v", old.Retries)
	}
	log := s.logText(second)
	for _, want := range []string{fmt.Sprintf("retrying run %d: kept build", first.ID), "interrupted by server restart", "deploy | deployed"} {
		if !strings.Contains(log, want) {
			t.Errorf("the retry's log lacks %q:\n%s", want, log)
		}
	}

	// --wait follows the retry and exits with how it ended.
	var q apiRun
	s.call("POST", "/api/v1/compositions/quick/runs", "", 201, &q)
	s.waitFor(q.ID, "failed", func(r apiRun) bool { return r.Status == "failed" })
	if res := retry(fmt.Sprint(q.ID), "--wait"); res.code != 1 || !strings.Contains(res.stdout, "check        | not yet\n") ||
		!strings.Contains(res.stdout, " of quick failed\n") {
		t.Errorf("baton retry --wait of a retry that fails: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	writeFile(t, filepath.Join(dir, "quick-fixed"), "")
	if res := retry(fmt.Sprint(q.ID), "--wait"); res.code != 0 || !strings.Contains(res.stdout, fmt.Sprintf("baton        | retrying run %d: kept prepare", q.ID)) ||
		!strings.Contains(res.stdout, " of quick succeeded\n") {
		t.Errorf("baton retry --wait: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
}
