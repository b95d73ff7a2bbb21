package agentd

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
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

	f := gatherFacts(context.Background(), dir, "v1", slog.New(slog.DiscardHandler))
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
	writeFile(t, filepath.Join(dir, "a.txt"), "role=web\n", 0o644)
	ts := newTestServer(t)
	ra := startAgent(t, ts, "", func(c *Config) { c.FactsDir = dir })
	ts.waitFor("hello", func() bool { return len(ts.hellos) == 1 })
	if ts.hellos[0].Facts["role"] != "web" {
		t.Fatalf("hello facts = %v", ts.hellos[0].Facts)
	}
	ra.Rescan() // nothing changed: nothing sent
	writeFile(t, filepath.Join(dir, "a.txt"), "role=db\n", 0o644)
	ra.Rescan()
	ts.waitFor("new facts", func() bool { return len(ts.facts) > 0 })
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if len(ts.facts) != 1 || ts.facts[0]["role"] != "db" || ts.facts[0]["os"] != runtime.GOOS {
		t.Errorf("facts sent = %v", ts.facts)
	}
}
