package trigger

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"baton/composition"
)

func TestParseDir(t *testing.T) {
	triggers, err := ParseDir(filepath.Join("testdata", "dir"), testEnv)
	var names []string
	for _, tr := range triggers {
		names = append(names, tr.Name)
	}
	if strings.Join(names, ",") != "github-app,nightly" {
		t.Errorf("triggers = %v, want github-app and nightly", names)
	}
	var probs composition.Problems
	if !errors.As(err, &probs) {
		t.Fatalf("err = %v (%T), want composition.Problems", err, err)
	}
	want := []string{
		"testdata/dir/c-broken.yaml:3:13: secret_env GITLAB_TOKEN_NOT_SET is not set in the server's environment",
		"testdata/dir/c-broken.yaml:5:11: when of rule 1 is a bare expression: drop the ${{ }}",
		"testdata/dir/d-duplicate.yaml:2:7: trigger name \"github-app\" is already used by testdata/dir/a-github.yaml:1",
		"testdata/dir/e-duplicate-of-broken.yaml:1:7: trigger name \"broken\" is already used by testdata/dir/c-broken.yaml:1",
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Fatalf("problems:\n%v\nwant %d", err, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], filepath.FromSlash(w)) {
			t.Errorf("problem %d = %q, want %q...", i, lines[i], w)
		}
	}
}

func TestParseDirMissing(t *testing.T) {
	triggers, err := ParseDir(filepath.Join(t.TempDir(), "none"), testEnv)
	if triggers != nil || err != nil {
		t.Errorf("ParseDir(missing) = %v, %v; want nothing and no error", triggers, err)
	}
}

func TestParseDirGood(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"github-app.yaml", "runs.yaml"} {
		src, err := os.ReadFile(filepath.Join("testdata", "triggers", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), src, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	triggers, err := ParseDir(dir, testEnv)
	if err != nil || len(triggers) != 2 {
		t.Fatalf("ParseDir = %d triggers, %v", len(triggers), err)
	}
}

func TestParseDirNotADir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseDir(file, testEnv); err == nil {
		t.Error("ParseDir(a file) gave no error")
	}
}
