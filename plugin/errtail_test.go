package plugin

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestExitErrorCarriesStderr: a process that fails says, besides its exit
// status, the last line it wrote to stderr, cleaned for a message, with
// secrets masked; one that wrote nothing there says only its status.
func TestExitErrorCarriesStderr(t *testing.T) {
	long := strings.Repeat("x", 400)
	tests := []struct {
		name, script string
		secrets      []string
		want         string // the whole error
	}{
		{name: "last line", script: `echo "step one" >&2; echo "curl: (6) Could not resolve host: nope" >&2; exit 6`,
			want: `exit status 6; its last line on stderr: curl: (6) Could not resolve host: nope`},
		{name: "blank lines after it", script: `echo "disk full" >&2; echo "" >&2; echo "   " >&2; exit 1`,
			want: `exit status 1; its last line on stderr: disk full`},
		{name: "stdout only", script: `echo "all on stdout"; exit 2`, want: `exit status 2`},
		{name: "colour and control characters", script: `printf '\033[31mError:\033[0m bad\tinput\n' >&2; exit 1`,
			want: `exit status 1; its last line on stderr: Error: bad input`},
		{name: "long line cut", script: `echo "` + long + `" >&2; exit 1`,
			want: `exit status 1; its last line on stderr: ` + strings.Repeat("x", maxErrTailBytes) + `…`},
		{name: "secret masked", script: `echo "login failed for hunter2-secret" >&2; exit 1`, secrets: []string{"hunter2-secret"},
			want: `exit status 1; its last line on stderr: login failed for ***`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := shellJob(t, tt.script)
			job.Secrets = tt.secrets
			var c collector
			res := NewRegistry().Run(context.Background(), job, c.sink)
			if res.Err == nil || res.Err.Error() != tt.want {
				t.Fatalf("err = %v, want %q", res.Err, tt.want)
			}
		})
	}
}

// BenchmarkShellStderrLines measures lines per second on stderr, where
// each line also passes the watch that keeps the last one for the error.
func BenchmarkShellStderrLines(b *testing.B) {
	r := NewRegistry()
	job := Job{Type: "shell", Fields: map[string]any{"run": "seq 1000000 >&2"}, Workdir: b.TempDir()}
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
