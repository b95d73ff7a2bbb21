package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// hostileFiles writes the security review's files into dir: a composition
// 60,000 levels deep (120 KB), one with a map of 60,000 keys (960 KB), a
// trigger and a plugin manifest 60,000 levels deep; and a good composition
// and trigger beside them. It returns where each hostile file passes a
// limit, as the file:line:col: message it is reported with.
func hostileFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	deep := strings.Repeat("[", 60_000) + strings.Repeat("]", 60_000)
	var wide strings.Builder
	wide.WriteString("name: wide\ntasks:\n  - id: a\n    run: x\n    env:\n")
	for i := range 60_000 {
		fmt.Fprintf(&wide, "      K%05d: v\n", i)
	}
	files := map[string]string{
		"compositions/deep.yaml":   "name: deep\ntasks:\n  - id: a\n    type: x\n    with: {v: " + deep + "}\n",
		"compositions/wide.yaml":   wide.String(),
		"compositions/good.yaml":   "name: good\ntasks:\n  - id: a\n    run: \"true\"\n",
		"triggers/deep.yaml":       "name: deep\nkind: api\nrules:\n  - run:\n      composition: x\n      params: {v: " + deep + "}\n",
		"triggers/hook.yaml":       "name: hook\nkind: api\nrules:\n  - run: {composition: good}\n",
		"plugins/deep/plugin.yaml": "name: deep\ntasks:\n  deep.a:\n    command: [sh]\n    fields:\n      f: {type: list, default: " + deep + "}\n",
	}
	for name, src := range files {
		writeFile(t, filepath.Join(dir, name), src)
	}
	const deepMsg = "values nest more than 64 levels deep here (maps and lists inside each other); flatten the structure"
	return map[string]string{
		"compositions/deep.yaml":   "deep.yaml:5:75: " + deepMsg,
		"compositions/wide.yaml":   "wide.yaml:1006:7: this map holds more than 1000 keys; split it into smaller maps, or make it a list",
		"triggers/deep.yaml":       "deep.yaml:6:78: " + deepMsg,
		"plugins/deep/plugin.yaml": "plugin.yaml:6:91: " + deepMsg,
	}
}

// TestServeSkipsHostileFiles starts the real server over the review's
// files: it comes up, reports each hostile file with the place that passes
// a limit and skips it, and loads the good ones. Its peak memory stays far
// from the 24 GB that parsing one of them took.
func TestServeSkipsHostileFiles(t *testing.T) {
	dir := t.TempDir()
	want := hostileFiles(t, dir)
	s := startServer(t, filepath.Join(dir, "data"), "--compositions", filepath.Join(dir, "compositions"),
		"--triggers", filepath.Join(dir, "triggers"), "--plugins", filepath.Join(dir, "plugins"))
	log := s.log.String()
	for file, msg := range want {
		if !strings.Contains(log, msg) {
			t.Errorf("the log does not report %s as %q:\n%s", file, msg, log)
		}
	}
	var comps struct{ Compositions []struct{ Name string } }
	s.call("GET", "/api/v1/compositions", "", 200, &comps)
	if len(comps.Compositions) != 1 || comps.Compositions[0].Name != "good" {
		t.Errorf("compositions = %+v, want good alone", comps.Compositions)
	}
	var trigs struct{ Triggers []struct{ Name string } }
	s.call("GET", "/api/v1/triggers", "", 200, &trigs)
	if len(trigs.Triggers) != 1 || trigs.Triggers[0].Name != "hook" {
		t.Errorf("triggers = %+v, want hook alone", trigs.Triggers)
	}
	if peak, ok := peakMemory(t, s.cmd.Process.Pid); ok && peak > 500<<20 {
		t.Errorf("the server's peak memory is %d MB", peak>>20)
	}
}

// peakMemory reads the peak resident memory of a process from Linux's
// /proc; ok is false elsewhere.
func peakMemory(t *testing.T, pid int) (int64, bool) {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", v, err)
			}
			return kb << 10, true
		}
	}
	return 0, false
}

// TestValidateHostileFiles runs baton validate over the review's files:
// each hostile one is reported at its place, the good one is ok, and a
// plugin manifest that passes a limit is a warning naming its place.
func TestValidateHostileFiles(t *testing.T) {
	dir := t.TempDir()
	want := hostileFiles(t, dir)
	comps := filepath.Join(dir, "compositions")
	res := runBaton(t, comps, "validate", "--plugins", filepath.Join(dir, "plugins"), "deep.yaml", "wide.yaml", "good.yaml")
	if res.code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", res.code, res.stdout, res.stderr)
	}
	lines := strings.Split(res.stderr, "\n")
	for _, file := range []string{"compositions/deep.yaml", "compositions/wide.yaml"} {
		if !slices.Contains(lines, want[file]) {
			t.Errorf("validate does not report %s as %q:\n%s", file, want[file], res.stderr)
		}
	}
	if !strings.Contains(res.stderr, filepath.Join(dir, "plugins", "deep", want["plugins/deep/plugin.yaml"])) {
		t.Errorf("validate does not warn of the plugin manifest:\n%s", res.stderr)
	}
	if !strings.Contains(res.stdout, "good.yaml: ok") || !strings.Contains(res.stderr, "2 of 3 files have problems") {
		t.Errorf("stdout %q, stderr %q", res.stdout, res.stderr)
	}
}
