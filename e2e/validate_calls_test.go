package e2e

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestValidateMissingComposition: a call to a composition that is not
// among the files beside the caller is a warning at its line, which does
// not fail the check: the composition may be added, or be stored on the
// server the file is meant for. A name given by an expression is not
// checked.
func TestValidateMissingComposition(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "lint.yaml"), "name: lint\ntasks:\n  - id: a\n    run: \"true\"\n")
	writeFile(t, filepath.Join(dir, "broken.yaml"), "name: broken\ntasks:\n  - id: a\n    type: htp\n")
	writeFile(t, filepath.Join(dir, "caller.yaml"), `name: caller
params:
  target: {default: lint}
on_failure: {composition: alert}
tasks:
  - id: known
    type: composition
    with: {name: lint}
  - id: typo
    type: composition
    with: {name: lnit}
  - id: invalid_one
    type: composition
    with: {name: broken}
  - id: later
    type: composition
    with: {name: "${{ params.target }}"}
`)
	res := runBaton(t, dir, "validate", "caller.yaml")
	if res.code != 0 {
		t.Fatalf("exit %d, want 0: warnings do not fail validate\n%s%s", res.code, res.stdout, res.stderr)
	}
	for _, want := range []string{
		`caller.yaml:4:27: warning: on_failure names composition "alert", which is not among the compositions of ./`,
		`caller.yaml:11:18: warning: task typo (type composition) names composition "lnit" in name`,
		`did you mean "lint"?`,
		`caller.yaml:14:18: warning: task invalid_one (type composition) names composition "broken"`,
	} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("validate output lacks %q:\n%s", want, res.stderr)
		}
	}
	if n := strings.Count(res.stderr, "warning:"); n != 3 {
		t.Errorf("%d warnings, want 3 (not the known name, nor the expression):\n%s", n, res.stderr)
	}
	if !strings.Contains(res.stdout, "caller.yaml: ok, with 3 warnings") {
		t.Errorf("stdout = %q", res.stdout)
	}
}
