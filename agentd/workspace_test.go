package agentd

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWorkspaceKeyAttacks: a server that sends a workspace key naming
// anything but a directory strictly inside the workspaces directory (the
// directory itself, a parent, an absolute path, nothing, or a path through
// a symlink that leads out) gets an error result, and nothing is deleted
// or written outside the workspace it could legitimately name: neither a
// file outside the workdir nor another run's workspace.
func TestWorkspaceKeyAttacks(t *testing.T) {
	// $OUTSIDE in a key is a directory the agent must never touch.
	tests := []struct {
		name string
		key  string
		// prepare makes the symlinks of the attack under the workspaces
		// directory, leading to outside.
		prepare func(t *testing.T, workspaces, outside string)
	}{
		{"the workspaces directory itself", ".", nil},
		{"the directory itself, spelt longer", "demo/..", nil},
		{"a dot component", "demo/./0", nil},
		{"the parent", "..", nil},
		{"a way up", "demo/../../outbox", nil},
		{"an absolute path", "$OUTSIDE", nil},
		{"an absolute path to a workspace", "$OUTSIDE/0", nil},
		{"empty", "", nil},
		{"an empty component", "demo//0", nil},
		{"a backslash", `demo\..\..`, nil},
		{"a symlinked composition directory leading out", "evil/0", func(t *testing.T, ws, outside string) {
			symlink(t, outside, filepath.Join(ws, "evil"))
		}},
		{"a symlinked workspace leading out", "demo/1", func(t *testing.T, ws, outside string) {
			symlink(t, filepath.Join(outside, "0"), filepath.Join(ws, "demo", "1"))
		}},
		{"a symlink leading up and out", "up/0", func(t *testing.T, ws, outside string) {
			symlink(t, "../..", filepath.Join(ws, "up"))
		}},
	}
	for _, tt := range tests {
		for _, clean := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/clean=%v", tt.name, clean), func(t *testing.T) {
				outside := t.TempDir()
				workspaceAttack(t, strings.ReplaceAll(tt.key, "$OUTSIDE", outside), clean, outside, tt.prepare)
			})
		}
	}
}

// workspaceAttack sends one job with a hostile workspace key and checks
// that it is refused and harms nothing.
func workspaceAttack(t *testing.T, key string, clean bool, outside string, prepare func(t *testing.T, workspaces, outside string)) {
	ts := newTestServer(t)
	workdir := t.TempDir()
	workspaces := filepath.Join(workdir, "workspaces")
	other := filepath.Join(workspaces, "demo", "0", "other-run-file")
	writeSentinel(t, other)
	keep := filepath.Join(outside, "0", "precious")
	writeSentinel(t, keep)
	if prepare != nil {
		prepare(t, workspaces, outside)
	}
	startAgent(t, ts, workdir, nil)
	job := shellJob("1/t/1", `echo written > planted; echo ran`)
	job.Workspace, job.Clean = key, clean
	ts.assign(job)
	res := ts.waitResult(job.JobID)
	if res.Error == "" || res.ExitCode == 0 || !strings.Contains(res.Error, "workspace") {
		t.Errorf("key %q: result %+v, want an error about the workspace", key, res)
	}
	if got := ts.lineTexts(job.JobID); len(got) != 0 {
		t.Errorf("key %q: the job ran: %q", key, got)
	}
	for _, f := range []string{keep, other} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("key %q: %s was deleted: %v", key, f, err)
		}
	}
	for _, root := range []string{outside, filepath.Dir(workdir)} {
		if found := findFile(root, "planted"); found != "" {
			t.Errorf("key %q: the job wrote %s", key, found)
		}
	}
}

// TestWorkspaceCleanEmptiesOnlyItsOwn: a good key with clean empties that
// workspace and no other, and the job runs in it.
func TestWorkspaceCleanEmptiesOnlyItsOwn(t *testing.T) {
	ts := newTestServer(t)
	workdir := t.TempDir()
	ws := filepath.Join(workdir, "workspaces")
	mine := filepath.Join(ws, "demo", "0", "old-file")
	other := filepath.Join(ws, "demo", "1", "other-file")
	writeSentinel(t, mine)
	writeSentinel(t, other)
	startAgent(t, ts, workdir, nil)
	job := shellJob("1/t/1", `ls; pwd`)
	job.Clean = true
	ts.assign(job)
	if res := ts.waitResult(job.JobID); res.Error != "" {
		t.Fatalf("result = %+v", res)
	}
	if got := ts.lineTexts(job.JobID); len(got) != 1 || got[0] != filepath.Join(ws, "demo", "0") {
		t.Errorf("lines = %q: want only the workspace's path (it is emptied)", got)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another workspace was touched: %v", err)
	}
}

func writeSentinel(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("keep me\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// findFile returns the first file called name under root, not following
// symlinks, or "".
func findFile(root, name string) string {
	found := ""
	filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == name && found == "" {
			found = path
		}
		return nil
	})
	return found
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}
