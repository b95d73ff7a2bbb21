package plugin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckWorkspaceKey(t *testing.T) {
	tests := []struct {
		key  string
		want string // part of the error; "" for a good key
	}{
		{"build/0", ""},
		{"a.b_c-d/12", ""},
		{"single", ""},
		{"", "empty"},
		{".", `"." component`},
		{"..", `".." component`},
		{"build/..", `".." component`},
		{"build/./0", `"." component`},
		{"build//0", `"" component`},
		{"build/0/", `"" component`},
		{"/etc", "absolute"},
		{`build\..\..`, "backslash"},
		{"build/\x000", "NUL"},
		{strings.Repeat("a", 513), "over the limit"},
	}
	for _, tt := range tests {
		err := CheckWorkspaceKey(tt.key)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("CheckWorkspaceKey(%q) = %v, want nil", tt.key, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("CheckWorkspaceKey(%q) = %v, want an error with %q", tt.key, err, tt.want)
		}
	}
}

func TestPrepareWorkspace(t *testing.T) {
	root := filepath.Join(t.TempDir(), "workspaces")
	outside := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "app", "0"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "app", "0", "old"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(root, "file"), []byte("x"), 0o644)
	os.Symlink(outside, filepath.Join(root, "out"))
	os.Symlink("app", filepath.Join(root, "alias")) // inside, but still a link

	dir, err := PrepareWorkspace(root, "app/0", false)
	if err != nil || dir != filepath.Join(root, "app", "0") {
		t.Fatalf("PrepareWorkspace(app/0) = %q, %v", dir, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "old")); err != nil {
		t.Errorf("without clean the workspace was emptied: %v", err)
	}
	if _, err := PrepareWorkspace(root, "app/0", true); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("clean left %v", entries)
	}
	for key, want := range map[string]string{
		"out/0":   "is a symbolic link",
		"out":     "is a symbolic link",
		"alias/0": "is a symbolic link",
		"file/0":  "is not a directory",
	} {
		if _, err := PrepareWorkspace(root, key, true); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("PrepareWorkspace(%q) = %v, want %q", key, err, want)
		}
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("something was made outside: %v", entries)
	}
}
