package agentd

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func TestExternalFacts(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "10-a.txt"), "# comment\n\nrole = web\nweight=42\nversion=1.10\nnot a fact\nenabled=true\nratio=2.5\n", 0o644)
	writeFile(t, filepath.Join(dir, "20-b.json"), `{"rack": "r1", "cpus": 999, "nested": {"a": 1}}`, 0o644)
	writeFile(t, filepath.Join(dir, "30-c.yaml"), "zone: eu-1\nrole: db\nlist: [1, two]\nmap: {k: v}\n", 0o644)
	writeFile(t, filepath.Join(dir, "40-gpu"), "#!/bin/sh\necho gpu=true\necho 'gpu_model = A 100'\n", 0o755)
	writeFile(t, filepath.Join(dir, "50-broken"), "#!/bin/sh\necho partial=1\necho failing >&2\nexit 3\n", 0o755)
	writeFile(t, filepath.Join(dir, "60-notes.md"), "ignored=1\n", 0o644)
	writeFile(t, filepath.Join(dir, "70-list.json"), `[1, 2]`, 0o644)
	writeFile(t, filepath.Join(dir, "80-bad.yml"), "a: [unclosed\n", 0o644)

	f := gatherFacts(context.Background(), dir, "v1", &factsFiles{settle: func() {}}, slog.New(slog.DiscardHandler))
	want := map[string]any{
		"role": "db", "weight": int64(42), "version": "1.10", "enabled": true, "ratio": 2.5,
		"rack": "r1", "cpus": float64(999), "nested": map[string]any{"a": float64(1)},
		"zone": "eu-1", "list": []any{float64(1), "two"}, "map": map[string]any{"k": "v"},
		"gpu": true, "gpu_model": "A 100",
		"os": runtime.GOOS, "arch": runtime.GOARCH, "agent_version": "v1",
	}
	for k, v := range want {
		if !reflect.DeepEqual(f[k], v) {
			t.Errorf("fact %s = %#v, want %#v", k, f[k], v)
		}
	}
	for _, k := range []string{"partial", "ignored", "not a fact"} {
		if _, ok := f[k]; ok {
			t.Errorf("fact %s should not be there", k)
		}
	}
}

func TestBuiltinFacts(t *testing.T) {
	f := builtinFacts(context.Background(), "v1")
	if runtime.GOOS == "linux" {
		if m, ok := f["memory_total"].(int64); !ok || m < 1<<20 {
			t.Errorf("memory_total = %#v", f["memory_total"])
		}
		if k, ok := f["kernel"].(string); !ok || k == "" {
			t.Errorf("kernel = %#v", f["kernel"])
		}
	}
	if _, ok := f["ip_addresses"].([]string); !ok {
		t.Errorf("ip_addresses = %#v", f["ip_addresses"])
	}
	if f["cpus"] != runtime.NumCPU() {
		t.Errorf("cpus = %#v", f["cpus"])
	}
}

func TestOSRelease(t *testing.T) {
	path := filepath.Join(t.TempDir(), "os-release")
	writeFile(t, path, "NAME=\"Debian GNU/Linux\"\nID=debian\nVERSION_ID=\"12\"\n", 0o644)
	id, ver, ok := osRelease(path)
	if !ok || id != "debian" || ver != "12" {
		t.Errorf("osRelease = %q %q %v", id, ver, ok)
	}
}

func TestFactValue(t *testing.T) {
	tests := []struct {
		in   string
		want any
	}{
		{"42", int64(42)}, {"-3", int64(-3)}, {"2.5", 2.5}, {"true", true}, {"false", false},
		{"1.10", "1.10"}, {"007", "007"}, {"1e3", "1e3"}, {"1.0", "1.0"}, {"True", "True"},
		{"9007199254740993", "9007199254740993"}, {"", ""}, {"web-1", "web-1"}, {"+1", "+1"},
	}
	for _, tt := range tests {
		if got := factValue(tt.in); got != tt.want {
			t.Errorf("factValue(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

func TestRescanSendsChangedFacts(t *testing.T) {
	dir := t.TempDir()
	replaceFile(t, filepath.Join(dir, "a.txt"), "role=web\n")
	ts := newTestServer(t)
	ra := startAgent(t, ts, "", func(c *Config) { c.FactsDir = dir })
	ts.waitFor("hello", func() bool { return len(ts.hellos) == 1 })
	if ts.hellos[0].Facts["role"] != "web" {
		t.Fatalf("hello facts = %v", ts.hellos[0].Facts)
	}
	// The file is replaced whole: whichever of the two rescans reads it,
	// it reads it complete, and only the change is sent, once.
	ra.Rescan()
	replaceFile(t, filepath.Join(dir, "a.txt"), "role=db\n")
	ra.Rescan()
	ts.waitFor("new facts", func() bool { return len(ts.facts) > 0 })
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if len(ts.facts) != 1 || ts.facts[0]["role"] != "db" || ts.facts[0]["os"] != runtime.GOOS {
		t.Errorf("facts sent = %v", ts.facts)
	}
}

// TestFactsFileCaughtHalfWritten: a facts file read while it is being
// rewritten (truncated, its new content not yet written) is read again
// once the writer is done, and its whole new content is what counts.
func TestFactsFileCaughtHalfWritten(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.txt")
	log := slog.New(slog.DiscardHandler)
	files := &factsFiles{settle: func() {}}
	writeFile(t, path, "role=web\nzone=a\n", 0o644)
	if f := externalFacts(context.Background(), dir, files, log); f["role"] != "web" || f["zone"] != "a" {
		t.Fatalf("facts = %v", f)
	}
	for name, half := range map[string]string{"truncated": "", "cut in a line": "role=d", "cut after a line": "role=db\n"} {
		t.Run(name, func(t *testing.T) {
			writeFile(t, path, half, 0o644)
			waits := 0
			files.settle = func() { // the writer finishes while the agent waits
				if waits++; waits == 1 {
					writeFile(t, path, "role=db\nzone=b\n", 0o644)
				}
			}
			f := externalFacts(context.Background(), dir, files, log)
			if f["role"] != "db" || f["zone"] != "b" {
				t.Errorf("facts = %v, want role=db zone=b", f)
			}
			if waits != 2 { // half, then whole, then whole again: two readings agree
				t.Errorf("the agent waited %d times, want 2", waits)
			}
			// Unchanged since: one reading, no waiting.
			waits = 0
			if f := externalFacts(context.Background(), dir, files, log); f["role"] != "db" || waits != 0 {
				t.Errorf("unchanged file: facts %v after %d waits", f, waits)
			}
			writeFile(t, path, "role=web\nzone=a\n", 0o644)
			files.settle = func() {}
			externalFacts(context.Background(), dir, files, log)
		})
	}
}

// TestFactsFileThatKeepsChanging: a file that never reads the same twice
// is read a bounded number of times, and its last content is used.
func TestFactsFileThatKeepsChanging(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tick.txt")
	n := 0
	files := &factsFiles{settle: func() { n++; writeFile(t, path, fmt.Sprintf("tick=%d\n", n), 0o644) }}
	writeFile(t, path, "tick=0\n", 0o644)
	f := externalFacts(context.Background(), dir, files, slog.New(slog.DiscardHandler))
	if n != settleReads-1 || f["tick"] != int64(n) {
		t.Errorf("after %d waits facts = %v, want tick=%d", n, f, settleReads-1)
	}
}

// replaceFile writes a file whole: readers see the old content or the new,
// never a part.
func replaceFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestDeepYAMLFactsFile: a YAML facts file nested far too deep is skipped
// before the YAML parser sees it (its cost grows with the square of the
// depth: 60,000 levels took all memory), and the other facts still count.
func TestDeepYAMLFactsFile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "10-deep.yaml"), "deep: "+strings.Repeat("[", 60000)+strings.Repeat("]", 60000)+"\n", 0o644)
	writeFile(t, filepath.Join(dir, "20-ok.yaml"), "zone: eu-1\n", 0o644)
	var logs strings.Builder
	f := gatherFacts(context.Background(), dir, "v1", &factsFiles{settle: func() {}}, slog.New(slog.NewTextHandler(&logs, nil)))
	if f["zone"] != "eu-1" {
		t.Errorf("zone = %v", f["zone"])
	}
	if _, ok := f["deep"]; ok {
		t.Error("the deep file's fact was read")
	}
	if !strings.Contains(logs.String(), "10-deep.yaml") || !strings.Contains(logs.String(), "line 1, column") {
		t.Errorf("the log does not say which file and where:\n%s", logs.String())
	}
}
