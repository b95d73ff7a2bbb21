package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTaskEnvironmentAllowList: a task inherits only the allow-listed part
// of the server's environment. A trigger's secret_env never reaches it,
// even when --task-env names it, and neither does anything else the
// server was started with.
func TestTaskEnvironmentAllowList(t *testing.T) {
	dir := t.TempDir()
	comps := filepath.Join(dir, "compositions")
	writeFile(t, filepath.Join(comps, "printenv.yaml"), "name: printenv\ntasks:\n  - id: env\n    run: env | sort\n")
	writeFile(t, filepath.Join(comps, "triggers", "github.yaml"), `name: github
kind: github
secret_env: GH_SECRET
rules:
  - when: event == "push"
    run: {composition: printenv}
`)
	s := &server{t: t, data: filepath.Join(dir, "data"), args: []string{"--compositions", comps, "--task-env", "PROXY_FOR_TASKS,GH_*"},
		env: []string{"GH_SECRET=gh-secret-value-1", "GH_OTHER=gh-other-value", "DATABASE_PASSWORD=db-password-value", "PROXY_FOR_TASKS=proxy-value"}}
	s.start()
	t.Cleanup(s.kill)
	var run apiRun
	s.call("POST", "/api/v1/compositions/printenv/runs", "", 201, &run)
	r := s.waitFor(run.ID, "an end", func(r apiRun) bool { return r.Status == "succeeded" || r.Status == "failed" })
	log := s.logText(run.ID)
	if r.Status != "succeeded" {
		t.Fatalf("run %s: %s", r.Status, log)
	}
	for _, secret := range []string{"gh-secret-value-1", "db-password-value", adminPassword, "GH_SECRET=", "DATABASE_PASSWORD=", "BATON_ADMIN_PASSWORD="} {
		if strings.Contains(log, secret) {
			t.Errorf("a task saw %q from the server's environment:\n%s", secret, log)
		}
	}
	for _, want := range []string{"PROXY_FOR_TASKS=proxy-value", "GH_OTHER=gh-other-value", "PATH=", "BATON_RUN_ID="} {
		if !strings.Contains(log, want) {
			t.Errorf("the task's environment lacks %s:\n%s", want, log)
		}
	}
	if res := runBaton(t, dir, "serve", "--data", filepath.Join(dir, "other"), "--task-env", "BATON_ADMIN_PASSWORD"); res.code != 2 || !strings.Contains(res.stderr, "BATON_ variables configure Baton") {
		t.Errorf("serve --task-env BATON_ADMIN_PASSWORD: exit %d, %s", res.code, res.stderr)
	}
}

// TestDamagedDatabaseRefused: a database SQLite reports malformed is not
// served; the message says what to do, and --skip-integrity-check serves
// it anyway.
func TestDamagedDatabaseRefused(t *testing.T) {
	dir := t.TempDir()
	comps := filepath.Join(dir, "compositions")
	writeFile(t, filepath.Join(comps, "noisy.yaml"), "name: noisy\ntasks:\n  - id: print\n    run: seq 1 50000\n")
	data := filepath.Join(dir, "data")
	s := startServer(t, data, "--compositions", comps)
	var run apiRun
	s.call("POST", "/api/v1/compositions/noisy/runs", "", 201, &run)
	s.waitFor(run.ID, "an end", func(r apiRun) bool { return r.Status == "succeeded" })
	s.stop()

	db := filepath.Join(data, "baton.db")
	f, err := os.OpenFile(db, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := f.Stat()
	if _, err := f.WriteAt([]byte(strings.Repeat("\xde\xad\xbe\xef", 2048)), st.Size()/2/4096*4096); err != nil {
		t.Fatal(err)
	}
	f.Close()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, baton, "serve", "--addr", freeAddr(t), "--data", data)
	cmd.Env = append(os.Environ(), "BATON_ADMIN_PASSWORD="+adminPassword)
	out, err := cmd.CombinedOutput()
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 1 {
		t.Fatalf("serve over a damaged database: %v (it must refuse to serve)\n%s", err, out)
	}
	for _, want := range []string{"damaged", "restore the data directory from a backup", "--skip-integrity-check"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the message lacks %q:\n%s", want, out)
		}
	}
	s2 := startServer(t, data, "--skip-integrity-check")
	resp, err := http.Get(s2.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// TestReadyz: /readyz answers for anyone, 200 when the database takes
// writes and the engine answers.
func TestReadyz(t *testing.T) {
	s := startServer(t, t.TempDir())
	resp, err := http.Get(s.url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"status":"ready"`) {
		t.Fatalf("/readyz: %d %s", resp.StatusCode, b)
	}
}

// TestSlowAndLargeRequests: a client that sends its headers or its body
// slowly is cut off at --read-timeout, and headers over 64 KiB get 431.
func TestSlowAndLargeRequests(t *testing.T) {
	s := startServer(t, t.TempDir(), "--read-timeout", "1s")
	addr := strings.TrimPrefix(s.url, "http://")
	trickle := func(t *testing.T, head string, then string) time.Duration {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		if _, err := io.WriteString(c, head); err != nil {
			t.Fatal(err)
		}
		closed := make(chan struct{})
		go func() { io.Copy(io.Discard, c); close(closed) }()
		for i := 0; ; i++ {
			select {
			case <-closed:
				return time.Since(start)
			case <-time.After(200 * time.Millisecond):
			}
			if time.Since(start) > 20*time.Second {
				t.Fatal("the server kept a slow client's connection open for 20 s")
			}
			if _, err := io.WriteString(c, then); err != nil {
				return time.Since(start)
			}
		}
	}
	t.Run("slow headers", func(t *testing.T) {
		took := trickle(t, "GET /healthz HTTP/1.1\r\nHost: x\r\n", "X-Slow: 1\r\n")
		t.Logf("cut off after %s", took.Round(10*time.Millisecond))
	})
	t.Run("slow body", func(t *testing.T) {
		took := trickle(t, "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n", "a")
		t.Logf("cut off after %s", took.Round(10*time.Millisecond))
	})
	t.Run("large headers", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", strings.Repeat("b", 100<<10))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("100 KiB of headers: %d, want 431", resp.StatusCode)
		}
	})
}
