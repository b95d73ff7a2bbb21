// Package e2e tests the real baton binary: built once, run as a
// subprocess, talked to over real HTTP on loopback.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// baton is the path of the binary under test.
var baton string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "baton-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	baton = filepath.Join(dir, "baton")
	build := exec.Command("go", "build", "-o", baton, "..")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build baton:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is what one command run printed and how it exited.
type result struct {
	stdout, stderr string
	code           int
}

// runBaton runs the binary to completion.
func runBaton(t *testing.T, dir string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, baton, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+t.TempDir())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("baton %v: %v", args, err)
	}
	return result{out.String(), errb.String(), code}
}

// server is a `baton serve` subprocess.
type server struct {
	t     *testing.T
	cmd   *exec.Cmd
	url   string
	data  string
	log   *syncBuffer
	args  []string
	env   []string // NAME=value entries added to the server's environment
	token string   // an API token of the user admin
}

// adminPassword is the password of the user admin on test servers.
const adminPassword = "e2e-admin-password"

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServer starts baton serve on a free port over data, with extra args.
func startServer(t *testing.T, data string, args ...string) *server {
	t.Helper()
	s := &server{t: t, data: data, args: args}
	s.start()
	t.Cleanup(func() { s.kill() })
	return s
}

func (s *server) start() {
	s.t.Helper()
	if s.url == "" {
		s.url = "http://" + freeAddr(s.t)
	}
	addr := strings.TrimPrefix(s.url, "http://")
	s.log = &syncBuffer{}
	s.cmd = exec.Command(baton, append([]string{"serve", "--addr", addr, "--data", s.data}, s.args...)...)
	s.cmd.Env = append(append(os.Environ(), s.env...), "BATON_ADMIN_PASSWORD="+adminPassword)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(s.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if s.token == "" {
				res := runBaton(s.t, ".", "token", "create", "--data", s.data, "--name", "e2e")
				if res.code != 0 {
					s.t.Fatalf("baton token create: %s", res.stderr)
				}
				s.token = strings.TrimSpace(res.stdout)
			}
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("server did not come up: %v\n%s", err, s.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill stops the server with SIGKILL, as a crash would.
func (s *server) kill() {
	if s.cmd != nil && s.cmd.ProcessState == nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop() {
	s.t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			s.t.Fatalf("server exited with %v after SIGTERM\n%s", err, s.log)
		}
	case <-time.After(40 * time.Second):
		s.t.Fatalf("server did not stop after SIGTERM\n%s", s.log)
	}
}

// call sends a JSON request and decodes the answer into out.
func (s *server) call(method, path, body string, want int, out any) {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		s.t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
}

type apiTask struct {
	ID       string
	Status   string
	Attempt  int
	Error    string
	Outputs  map[string]any
	Approval *struct{ Message, Decision, By string }
}

type apiRun struct {
	ID          int64
	Status      string
	Error       string
	Ending      string
	QueueReason string `json:"queue_reason"`
	Tasks       []apiTask
	Outputs     map[string]any
	Context     map[string]any
}

func (r apiRun) task(id string) apiTask {
	for _, t := range r.Tasks {
		if t.ID == id {
			return t
		}
	}
	return apiTask{}
}

func (s *server) run(id int64) apiRun {
	s.t.Helper()
	var r apiRun
	s.call("GET", fmt.Sprintf("/api/v1/runs/%d", id), "", 200, &r)
	return r
}

// waitFor polls a run until cond holds.
func (s *server) waitFor(id int64, what string, cond func(apiRun) bool) apiRun {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := s.run(id)
		if cond(r) {
			return r
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("run %d never got %s: %+v\n%s", id, what, r, s.log)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func (s *server) logText(id int64) string {
	s.t.Helper()
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/runs/%d/log?format=text", s.url, id), nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// callQuiet is call for polling: a failure leaves out untouched.
func (s *server) callQuiet(method, path string, out any) {
	req, _ := http.NewRequest(method, s.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		json.NewDecoder(resp.Body).Decode(out)
	}
}

// waitABit pauses between polls.
func waitABit() { time.Sleep(25 * time.Millisecond) }

// syncBuffer is a buffer the server process writes to while a test reads
// it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
