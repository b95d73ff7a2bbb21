package trigger

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"baton/composition"
)

// deepTrigger is a trigger whose rule's params hold lists 60,000 deep. Five
// maps and lists hold them, so the level past the limit is the 60th [, on
// line 6 at column 19+59.
func deepTrigger() string {
	return "name: deep\nkind: api\nrules:\n  - run:\n      composition: x\n      params: {v: " +
		strings.Repeat("[", 60_000) + strings.Repeat("]", 60_000) + "}\n"
}

// TestParseHostileYAML: a trigger 60,000 levels deep is refused before it
// is parsed, at its line and column, alone and among other files of a
// --triggers directory, whose good files still load.
func TestParseHostileYAML(t *testing.T) {
	want := "deep.yaml:6:78: values nest more than 64 levels deep here (maps and lists inside each other); flatten the structure"
	tr, probs := Parse("deep.yaml", []byte(deepTrigger()), testEnv)
	if tr != nil || len(probs) != 1 || probs[0].String() != want {
		t.Fatalf("Parse: trigger %v, problems %v; want %q", tr != nil, probs, want)
	}

	dir := t.TempDir()
	good, err := os.ReadFile(filepath.Join("testdata", "triggers", "runs.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for name, src := range map[string]string{"deep.yaml": deepTrigger(), "runs.yaml": string(good)} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	triggers, err := ParseDir(dir, testEnv)
	var dirProbs composition.Problems
	if !errors.As(err, &dirProbs) || len(dirProbs) != 1 || dirProbs[0].String() != filepath.Join(dir, want) {
		t.Errorf("ParseDir: %v; want %s", err, filepath.Join(dir, want))
	}
	if len(triggers) != 1 || triggers[0].File != filepath.Join(dir, "runs.yaml") {
		t.Errorf("ParseDir loaded %d triggers, want runs.yaml alone", len(triggers))
	}
}
