// Package bench measures Baton as a user meets it: the real binary, real
// processes, a real SQLite file. Run with `make bench`; the figures are
// recorded in docs/performance.md.
package bench

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"baton/plugin"
	"baton/storage"
)

var baton string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "baton-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	baton = filepath.Join(dir, "baton")
	build := exec.Command("go", "build", "-o", baton, "..")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// tasksFile writes a composition of n `true` tasks, in a chain or all
// parallel.
func tasksFile(b *testing.B, n int, parallel bool) string {
	var sb strings.Builder
	sb.WriteString("name: many\ntasks:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "  - id: t%d\n    run: \"true\"\n", i)
		if parallel {
			sb.WriteString("    needs: []\n")
		}
	}
	path := filepath.Join(b.TempDir(), "many.yaml")
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

func runBaton(b *testing.B, args ...string) time.Duration {
	b.Helper()
	cmd := exec.Command(baton, args...)
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+b.TempDir())
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("baton %v: %v\n%s", args, err, out)
	}
	return time.Since(start)
}

// BenchmarkSequential100 runs 100 sequential `true` shell tasks through
// `baton run` (process start, database, every transition committed) and,
// in the same iteration, a shell loop of 100 `sh -c true` (target: at most
// 1.3x the loop) and the shell runner alone starting the same 100 scripts
// the way every task starts (own process group, stdout and stderr pipes),
// with no engine and no database: the floor that Baton's own cost
// (baton-ms minus runner-ms: start-up, scheduling, commits) sits on.
func BenchmarkSequential100(b *testing.B) {
	file := tasksFile(b, 100, false)
	var engine, loop, runner time.Duration
	for i := 0; i < b.N; i++ {
		engine += runBaton(b, "run", file)
		start := time.Now()
		if out, err := exec.Command("sh", "-c", "i=0; while [ $i -lt 100 ]; do sh -c true; i=$((i+1)); done").CombinedOutput(); err != nil {
			b.Fatalf("loop: %v %s", err, out)
		}
		loop += time.Since(start)
		runner += runnerAlone(b, 100)
	}
	b.ReportMetric(float64(engine.Milliseconds())/float64(b.N), "baton-ms")
	b.ReportMetric(float64(loop.Milliseconds())/float64(b.N), "loop-ms")
	b.ReportMetric(float64(runner.Milliseconds())/float64(b.N), "runner-ms")
	b.ReportMetric(float64(engine)/float64(loop), "ratio")
	b.ReportMetric(float64(runner)/float64(loop), "runner-ratio")
}

// runnerAlone runs n `true` scripts one after another through the shell
// runner, in this process, and returns how long they took.
func runnerAlone(b *testing.B, n int) time.Duration {
	ws := b.TempDir()
	sh := &plugin.ShellRunner{Scratch: &plugin.Scratch{}}
	defer sh.Scratch.Close()
	sink := func(plugin.Stream, time.Time, string) {}
	start := time.Now()
	for i := 0; i < n; i++ {
		job := plugin.Job{RunID: 1, Composition: "many", TaskID: fmt.Sprintf("t%d", i), Attempt: 1, Type: "shell",
			Fields: map[string]any{"run": "true"}, Workdir: ws}
		if res := sh.Run(context.Background(), job, sink); res.Err != nil {
			b.Fatalf("runner: %v", res.Err)
		}
	}
	return time.Since(start)
}

// BenchmarkParallel100 runs 100 `true` tasks that all may start at once.
// Target: under 0.3 s on 2 cores.
func BenchmarkParallel100(b *testing.B) {
	file := tasksFile(b, 100, true)
	var total time.Duration
	for i := 0; i < b.N; i++ {
		total += runBaton(b, "run", file)
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/run")
}

// BenchmarkLogIngest runs one task that prints 1,000,000 short lines and
// checks every line was stored. Target: over 500,000 lines/s stored.
func BenchmarkLogIngest(b *testing.B) {
	dir := b.TempDir()
	file := filepath.Join(dir, "lines.yaml")
	os.WriteFile(file, []byte("name: lines\ntasks:\n  - id: print\n    run: seq 1000000\n"), 0o644)
	var total time.Duration
	for i := 0; i < b.N; i++ {
		db := filepath.Join(dir, fmt.Sprintf("b%d.db", i))
		total += runBaton(b, "run", file, "--db", db)
		s, err := storage.Open(context.Background(), db)
		if err != nil {
			b.Fatal(err)
		}
		n, err := s.LogCount(context.Background(), 1)
		lines, _ := s.ReadLogs(context.Background(), storage.LogQuery{RunID: 1, Before: n + 1, Limit: 3})
		s.Close()
		// 1,000,000 task lines plus Baton's own start and end lines.
		if err != nil || n < 1000000 || len(lines) == 0 {
			b.Fatalf("stored %d lines (%v)", n, err)
		}
	}
	b.ReportMetric(1e6*float64(b.N)/total.Seconds(), "lines/s")
}

// BenchmarkServeMemory measures `baton serve`: resident memory idle, and
// its peak with 50 runs active at once.
func BenchmarkServeMemory(b *testing.B) {
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		comps := filepath.Join(dir, "c")
		os.MkdirAll(comps, 0o755)
		os.WriteFile(filepath.Join(comps, "nap.yaml"), []byte("name: nap\ntasks:\n  - id: nap\n    run: sleep 2; echo done\n  - id: log\n    run: seq 1000\n"), 0o644)
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := ln.Addr().String()
		ln.Close()
		cmd := exec.Command(baton, "serve", "--addr", addr, "--data", filepath.Join(dir, "data"), "--compositions", comps, "--local-slots", "50", "--log-level", "warn")
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		url := "http://" + addr
		waitUp(b, url)
		out, err := exec.Command(baton, "token", "create", "--data", filepath.Join(dir, "data")).Output()
		if err != nil {
			b.Fatalf("token create: %v", err)
		}
		token := strings.TrimSpace(string(out))
		time.Sleep(2 * time.Second)
		idle := rssKB(b, cmd.Process.Pid, "VmRSS")
		for j := 0; j < 50; j++ {
			req, _ := http.NewRequest("POST", url+"/api/v1/compositions/nap/runs", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != 201 {
				b.Fatalf("start run: %v %v", err, resp)
			}
			resp.Body.Close()
		}
		deadline := time.Now().Add(60 * time.Second)
		for !allDone(url, token) {
			if time.Now().After(deadline) {
				b.Fatal("50 runs did not finish")
			}
			time.Sleep(100 * time.Millisecond)
		}
		peak := rssKB(b, cmd.Process.Pid, "VmHWM")
		cmd.Process.Kill()
		cmd.Wait()
		b.ReportMetric(float64(idle)/1024, "idle-MB")
		b.ReportMetric(float64(peak)/1024, "peak-50-runs-MB")
	}
}

func waitUp(b *testing.B, url string) {
	for start := time.Now(); time.Since(start) < 20*time.Second; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(url + "/healthz"); err == nil {
			resp.Body.Close()
			return
		}
	}
	b.Fatal("server did not start")
}

func allDone(url, token string) bool {
	req, _ := http.NewRequest("GET", url+"/api/v1/runs?status=queued,running,waiting&limit=1", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var buf [64]byte
	n, _ := resp.Body.Read(buf[:])
	return strings.HasPrefix(string(buf[:n]), `{"runs":[]}`)
}

// rssKB reads a memory figure (kB) from /proc/PID/status.
func rssKB(b *testing.B, pid int, field string) int {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, _ := strconv.Atoi(strings.Fields(v)[0])
			return n
		}
	}
	b.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}
