package plugin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// logLine is one line a sink received.
type logLine struct {
	stream Stream
	text   string
}

// collector is a Sink that keeps every line.
type collector struct {
	mu    sync.Mutex
	lines []logLine
}

func (c *collector) sink(stream Stream, _ time.Time, text string) {
	c.mu.Lock()
	c.lines = append(c.lines, logLine{stream, text})
	c.mu.Unlock()
}

// texts returns the lines of one stream.
func (c *collector) texts(stream Stream) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, l := range c.lines {
		if l.stream == stream {
			out = append(out, l.text)
		}
	}
	return out
}

func shellJob(t *testing.T, script string) Job {
	t.Helper()
	return Job{
		RunID: 42, Composition: "deploy", TaskID: "build", Attempt: 2, Type: "shell",
		Fields:  map[string]any{"run": script},
		Workdir: filepath.Join(t.TempDir(), "ws"),
	}
}

func TestShellOutputsAndContext(t *testing.T) {
	job := shellJob(t, `
echo "version=1.2.3" >> "$BATON_OUTPUT"
cat >> "$BATON_OUTPUT" <<'EOF'
notes<<END
first
second
END
EOF
echo "cloud.instances=i-1 i-2" >> "$BATON_CONTEXT"
echo hello
echo oops >&2
`)
	var c collector
	res := NewRegistry().Run(context.Background(), job, c.sink)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if got := res.Outputs["version"]; got != "1.2.3" {
		t.Errorf("version = %q", got)
	}
	if got := res.Outputs["notes"]; got != "first\nsecond" {
		t.Errorf("notes = %q", got)
	}
	if got := res.Context["cloud.instances"]; got != "i-1 i-2" {
		t.Errorf("context = %q", got)
	}
	if got := c.texts(Stdout); len(got) != 1 || got[0] != "hello" {
		t.Errorf("stdout = %q", got)
	}
	if got := c.texts(Stderr); len(got) != 1 || got[0] != "oops" {
		t.Errorf("stderr = %q", got)
	}
	if _, err := os.Stat(job.Workdir); err != nil {
		t.Errorf("workdir not created: %v", err)
	}
}

func TestShellBadOutputsFile(t *testing.T) {
	job := shellJob(t, `printf 'a=1\nb=2\nnonsense\n' >> "$BATON_OUTPUT"`)
	res := NewRegistry().Run(context.Background(), job, func(Stream, time.Time, string) {})
	if res.Err == nil || !strings.Contains(res.Err.Error(), "BATON_OUTPUT line 3:") {
		t.Fatalf("err = %v", res.Err)
	}
}

// TestShellEnv: a task inherits only the allow-listed part of the
// server's environment (never a BATON_ variable, never a denied secret),
// then the run's BATON_ variables, then its own env:, which wins.
func TestShellEnv(t *testing.T) {
	t.Setenv("PLUGIN_TEST_SERVER", "server")
	t.Setenv("PLUGIN_TEST_BOTH", "server")
	t.Setenv("PLUGIN_TEST_SECRET", "do-not-leak")
	t.Setenv("GH_SECRET", "do-not-leak")
	t.Setenv("BATON_SERVER_SECRET", "do-not-leak")
	t.Setenv("LANG", "C.UTF-8")
	allowTest, err := NewEnvPolicy([]string{"PLUGIN_TEST_*"})
	if err != nil {
		t.Fatal(err)
	}
	allowTest.Deny("PLUGIN_TEST_SECRET")
	script := `
for v in LANG PLUGIN_TEST_SERVER PLUGIN_TEST_BOTH PLUGIN_TEST_SECRET GH_SECRET BATON_SERVER_SECRET BATON_RUN_ID BATON_COMPOSITION \
         BATON_TASK_ID BATON_ATTEMPT BATON_WORKSPACE; do
  eval "echo $v=\${$v-unset}"
done
pwd
`
	tests := []struct {
		name   string
		policy *EnvPolicy
		server string // what PLUGIN_TEST_SERVER shows
	}{
		{"the default allow-list", nil, "unset"},
		{"PLUGIN_TEST_* allowed, its secret denied", allowTest, "server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := shellJob(t, script)
			job.Env = map[string]string{"PLUGIN_TEST_BOTH": "task", "BATON_TASK_ID": "overridden"}
			reg := NewRegistry()
			reg.Env = tt.policy
			var c collector
			if res := reg.Run(context.Background(), job, c.sink); res.Err != nil {
				t.Fatal(res.Err)
			}
			ws, _ := filepath.Abs(job.Workdir)
			want := []string{
				"LANG=C.UTF-8",
				"PLUGIN_TEST_SERVER=" + tt.server,
				"PLUGIN_TEST_BOTH=task",
				"PLUGIN_TEST_SECRET=unset",
				"GH_SECRET=unset",
				"BATON_SERVER_SECRET=unset",
				"BATON_RUN_ID=42",
				"BATON_COMPOSITION=deploy",
				"BATON_TASK_ID=overridden",
				"BATON_ATTEMPT=2",
				"BATON_WORKSPACE=" + ws,
				ws,
			}
			if got := c.texts(Stdout); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// TestEnvPolicyRefuses: --task-env takes variable names and prefixes, not
// the whole environment nor Baton's own variables.
func TestEnvPolicyRefuses(t *testing.T) {
	for _, name := range []string{"*", "BATON_ADMIN_PASSWORD", "BATON_*", "1X", "A B", "X=1", "A*B"} {
		if _, err := NewEnvPolicy([]string{name}); err == nil {
			t.Errorf("NewEnvPolicy(%q) was accepted", name)
		}
	}
	p, err := NewEnvPolicy([]string{" HTTP_PROXY ", "JAVA_*", ""})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Allowed(); !slices.Contains(got, "HTTP_PROXY") || !slices.Contains(got, "JAVA_*") || !slices.Contains(got, "PATH") {
		t.Fatalf("Allowed() = %v", got)
	}
}

func TestShellExit(t *testing.T) {
	tests := []struct {
		name, script, shell string
		code                int
		wantErr             string
		wantOut             []string
	}{
		{name: "success", script: "echo ok", wantOut: []string{"ok"}},
		{name: "exit code", script: "echo before; exit 3", code: 3, wantErr: "exit status 3", wantOut: []string{"before"}},
		{name: "-e stops at a failure", script: "echo one; false; echo two", code: 1, wantErr: "exit status 1", wantOut: []string{"one"}},
		{name: "bash", shell: "bash", script: "a=(x y); echo ${a[1]}", wantOut: []string{"y"}},
		{name: "shell with options", shell: "bash -o pipefail", script: "false | true; echo no", code: 1, wantErr: "exit status 1"},
		{name: "missing shell", shell: "no-such-shell-here", script: "echo", code: 0, wantErr: "start no-such-shell-here"},
		{name: "empty script", script: "  \n", wantErr: "field run is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := shellJob(t, tt.script)
			if tt.shell != "" {
				job.Fields["shell"] = tt.shell
			}
			var c collector
			res := NewRegistry().Run(context.Background(), job, c.sink)
			if tt.wantErr == "" && res.Err != nil {
				t.Fatalf("err = %v", res.Err)
			}
			if tt.wantErr != "" && (res.Err == nil || !strings.Contains(res.Err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", res.Err, tt.wantErr)
			}
			if res.ExitCode != tt.code {
				t.Errorf("exit code = %d, want %d", res.ExitCode, tt.code)
			}
			if got := c.texts(Stdout); strings.Join(got, "|") != strings.Join(tt.wantOut, "|") {
				t.Errorf("stdout = %q, want %q", got, tt.wantOut)
			}
		})
	}
}

func TestShellLineHandling(t *testing.T) {
	job := shellJob(t, `
head -c 204800 /dev/zero | tr '\0' a
echo
printf 'crlf\r\n'
printf 'bad \377 byte\n'
printf 'no newline at the end'
`)
	var c collector
	res := NewRegistry().Run(context.Background(), job, c.sink)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	got := c.texts(Stdout)
	if len(got) != 4 {
		t.Fatalf("got %d lines: %.100q", len(got), got)
	}
	want := strings.Repeat("a", MaxLineBytes) + fmt.Sprintf(" [line truncated: %d bytes dropped]", 204800-MaxLineBytes)
	if got[0] != want {
		t.Errorf("long line: len %d, ends %q", len(got[0]), got[0][len(got[0])-50:])
	}
	if got[1] != "crlf" || got[2] != "bad \uFFFD byte" || got[3] != "no newline at the end" {
		t.Errorf("lines = %q", got[1:])
	}
}

func TestClipValid(t *testing.T) {
	tests := []struct {
		in       string
		limit    int
		want     string
		wantUsed int
	}{
		{"hello", 10, "hello", 5},
		{"hello", 3, "hel", 3},
		{"héllo", 2, "h", 1}, // é is two bytes: not split
		{"a\xff\xfeb", 10, "a\uFFFDb", 4},
		{"a\xffb", 3, "a", 1}, // the replacement does not fit
		{"€€", 5, "€", 3},
	}
	for _, tt := range tests {
		got, used := clipValid([]byte(tt.in), tt.limit)
		if got != tt.want || used != tt.wantUsed {
			t.Errorf("clipValid(%q, %d) = %q, %d; want %q, %d", tt.in, tt.limit, got, used, tt.want, tt.wantUsed)
		}
	}
}

func TestShellMillionLines(t *testing.T) {
	job := shellJob(t, "seq 1000000")
	next := 1
	var bad string
	sink := func(stream Stream, _ time.Time, text string) {
		if stream != Stdout {
			return
		}
		if bad == "" && text != strconv.Itoa(next) {
			bad = fmt.Sprintf("line %d is %q", next, text)
		}
		next++
	}
	res := NewRegistry().Run(context.Background(), job, sink)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if bad != "" {
		t.Fatal(bad)
	}
	if next-1 != 1000000 {
		t.Fatalf("got %d lines", next-1)
	}
}

// pidGone reports whether a process no longer runs; a zombie left to an
// init that does not reap counts as gone.
func pidGone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	state, _, ok := procStat(pid)
	return ok && state == 'Z'
}

// waitForFile polls for a file the task writes and returns its contents.
func waitForFile(t *testing.T, path string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if data, err := os.ReadFile(path); err == nil && strings.HasSuffix(string(data), "\n") {
			return strings.TrimSpace(string(data))
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s never appeared", path)
	return ""
}

func TestShellCancelKillsGrandchildren(t *testing.T) {
	tests := []struct {
		name   string
		script string
	}{
		{name: "background sleep", script: `sleep 100 & echo $! > "$BATON_WORKSPACE/pid"; wait`},
		// A grandchild that ignores SIGTERM needs the SIGKILL after the grace.
		{name: "ignores SIGTERM", script: `(trap '' TERM; exec sleep 100) & echo $! > "$BATON_WORKSPACE/pid"; wait`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := shellJob(t, tt.script)
			r := NewRegistry()
			r.Grace = 300 * time.Millisecond
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan Result, 1)
			go func() { done <- r.Run(ctx, job, func(Stream, time.Time, string) {}) }()
			pid, err := strconv.Atoi(waitForFile(t, filepath.Join(job.Workdir, "pid")))
			if err != nil {
				t.Fatal(err)
			}
			cancel()
			var res Result
			select {
			case res = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return after cancel")
			}
			if !errors.Is(res.Err, ErrCancelled) || res.Err.Error() != "cancelled" {
				t.Errorf("err = %v, want cancelled", res.Err)
			}
			if !pidGone(pid) {
				syscall.Kill(pid, syscall.SIGKILL)
				t.Errorf("grandchild %d still runs", pid)
			}
		})
	}
}

func TestShellTimeout(t *testing.T) {
	job := shellJob(t, "sleep 30")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	res := NewRegistry().Run(ctx, job, func(Stream, time.Time, string) {})
	if res.Err == nil || res.Err.Error() != "timed out" || !errors.Is(res.Err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want timed out", res.Err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s", d)
	}
}

func TestShellBackgroundHoldsOutput(t *testing.T) {
	job := shellJob(t, `sleep 30 & echo $! > "$BATON_WORKSPACE/pid"; echo started`)
	r := NewRegistry()
	r.WaitDelay = 200 * time.Millisecond
	var c collector
	start := time.Now()
	res := r.Run(context.Background(), job, c.sink)
	if pid, err := strconv.Atoi(waitForFile(t, filepath.Join(job.Workdir, "pid"))); err == nil {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Run took %s; a background process holding the output must not hang it", d)
	}
	if got := c.texts(Stdout); len(got) != 1 || got[0] != "started" {
		t.Errorf("stdout = %q", got)
	}
	if got := c.texts(System); len(got) != 1 || !strings.Contains(got[0], "stopped reading") {
		t.Errorf("system = %q", got)
	}
}

func TestSecretMasking(t *testing.T) {
	job := shellJob(t, `
echo "token is hunter2, key is s3cr3t-key"
echo "hunter2" >&2
echo "line one of the cert"
echo "nothing here"
exit 4`)
	job.Secrets = []string{"hunter2", "", "s3cr3t-key", "line one of the cert\nline two"}
	var c collector
	res := NewRegistry().Run(context.Background(), job, c.sink)
	if res.ExitCode != 4 {
		t.Fatalf("exit = %d, err = %v", res.ExitCode, res.Err)
	}
	want := []string{"token is ***, key is ***", "***", "nothing here"}
	if got := c.texts(Stdout); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	if got := c.texts(Stderr); len(got) != 1 || got[0] != "***" {
		t.Errorf("stderr = %q", got)
	}

	// The log line and the error of an http task name its URL.
	srv := testServer(t)
	job = Job{Type: "http", Workdir: t.TempDir(), Secrets: []string{"hunter2"},
		Fields: map[string]any{"url": srv.URL + "/missing?token=hunter2"}}
	c = collector{}
	res = NewRegistry().Run(context.Background(), job, c.sink)
	if res.Err == nil || strings.Contains(res.Err.Error(), "hunter2") || !strings.Contains(res.Err.Error(), "token=***") {
		t.Errorf("err = %v", res.Err)
	}
	if got := c.texts(System); len(got) != 1 || strings.Contains(got[0], "hunter2") {
		t.Errorf("system = %q", got)
	}
}

func BenchmarkShellLines(b *testing.B) {
	r := NewRegistry()
	job := Job{Type: "shell", Fields: map[string]any{"run": "seq 1000000"}, Workdir: b.TempDir()}
	var lines int
	sink := func(Stream, time.Time, string) { lines++ }
	start := time.Now()
	for b.Loop() {
		if res := r.Run(context.Background(), job, sink); res.Err != nil {
			b.Fatal(res.Err)
		}
	}
	b.ReportMetric(float64(lines)/time.Since(start).Seconds(), "lines/s")
}
