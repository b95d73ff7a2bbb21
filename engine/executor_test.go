package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"baton/engine"
	"baton/plugin"
)

// TestLocalWorkspaceRefusesLinksOut: the server's own executor treats a
// workspace the way agents do: a path through a symlink leading out of its
// workspaces directory, and a key that names that directory itself, are
// refused, and cleaning deletes nothing outside.
func TestLocalWorkspaceRefusesLinksOut(t *testing.T) {
	root := filepath.Join(t.TempDir(), "ws")
	outside := t.TempDir()
	precious := filepath.Join(outside, "0", "precious")
	other := filepath.Join(root, "other", "0", "file")
	for _, f := range []string{precious, other} {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte("keep"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(root, "deploy")); err != nil {
		t.Fatal(err)
	}
	l := engine.NewLocal(plugin.NewRegistry(), root, 1)
	for _, key := range []string{"deploy/0", ".", "other/..", "../x"} {
		if err := l.PrepareWorkspace(context.Background(), key, true); err == nil {
			t.Errorf("workspace %q was accepted", key)
		}
	}
	for _, f := range []string{precious, other} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("%s was deleted: %v", f, err)
		}
	}
	if err := l.PrepareWorkspace(context.Background(), "build/0", true); err != nil {
		t.Errorf("a good key: %v", err)
	}
}
