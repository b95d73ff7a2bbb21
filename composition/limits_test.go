package composition

import (
	"fmt"
	"strings"
	"testing"
)

// deepComposition is the security review's file: a composition whose
// task's with: holds lists 60,000 deep, 120 KB in all. The level that
// passes the limit opens on line 5 at column 11+64.
func deepComposition() string {
	return "name: deep\ntasks:\n  - id: a\n    type: x\n    with: {v: " +
		strings.Repeat("[", 60_000) + strings.Repeat("]", 60_000) + "}\n"
}

// wideComposition holds a map of 60,000 keys, 960 KB.
func wideComposition() string {
	var b strings.Builder
	b.WriteString("name: wide\ntasks:\n  - id: a\n    run: x\n    env:\n")
	for i := range 60_000 {
		fmt.Fprintf(&b, "      K%05d: v\n", i)
	}
	return b.String()
}

// TestParseHostileYAML: what goccy/go-yaml would need gigabytes or many
// seconds for is refused before it parses, at its line and column, by
// Parse, Load and ReadComments alike.
func TestParseHostileYAML(t *testing.T) {
	tests := []struct {
		name, src string
		want      string
	}{
		{"60,000 levels deep", deepComposition(),
			"f.yaml:5:75: values nest more than 64 levels deep here (maps and lists inside each other); flatten the structure"},
		{"60,000 keys", wideComposition(),
			"f.yaml:1006:7: this map holds more than 1000 keys; split it into smaller maps, or make it a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, probs := Parse("f.yaml", []byte(tt.src))
			if c != nil || len(probs) != 1 || probs[0].String() != tt.want {
				t.Fatalf("Parse: composition %v, problems %v; want %q", c != nil, probs, tt.want)
			}
			if _, err := Load("f.yaml", []byte(tt.src), nil); err == nil || err.Error() != tt.want {
				t.Errorf("Load: %v", err)
			}
			if cm := ReadComments([]byte(tt.src)); cm != nil {
				t.Errorf("ReadComments read the file")
			}
		})
	}
}

// TestParseLimitsAreShared: the limits are those of package yamltree, the
// same for compositions as for triggers and plugins; the old ones of this
// package (64 deep, 100,000 values) are gone.
func TestParseLimitsAreShared(t *testing.T) {
	var b strings.Builder
	b.WriteString("name: many\ntasks:\n")
	for i := range 5_000 {
		fmt.Fprintf(&b, "  - {id: t%d, run: x}\n", i)
	}
	_, probs := Parse("f.yaml", []byte(b.String()))
	// Five values for the file's own keys, five for each task.
	want := "f.yaml:4002:5: the file holds more than 20000 values (keys, list items and scalars); split it into smaller files"
	if len(probs) != 1 || probs[0].String() != want {
		t.Errorf("problems %v; want %q", probs, want)
	}
}
