package composition

import (
	"slices"
	"strings"
	"testing"
)

// TestTaskKeysTable: the parser accepts the table's top-level keys and
// Format writes a task's keys in the table's order.
func TestTaskKeysTable(t *testing.T) {
	src := `name: all
tasks:
  - id: first
    run: echo one
  - id: every
    name: Every key
    type: shell
    needs: [first]
    if: ${{ true }}
    with: {run: echo hi}
    env: {A: b}
    timeout: 1m
    retries: 1
    retry_delay: 2s
    continue_on_error: true
    always: true
    requires: {pool: p}
`
	c, err := Parse("all.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	b, ferr := Format(c)
	if ferr != nil {
		t.Fatal(ferr)
	}
	out := string(b)
	i := strings.Index(out, "- id: every")
	if i < 0 {
		t.Fatalf("no task every in:\n%s", out)
	}
	var written []string
	for _, line := range strings.Split(out[i+2:], "\n") {
		if !strings.HasPrefix(line, "    ") || strings.HasPrefix(line, "     ") {
			continue
		}
		key, _, _ := strings.Cut(strings.TrimSpace(line), ":")
		written = append(written, key)
	}
	written = append([]string{"id"}, written...)
	var want []string
	for _, k := range taskFileKeys {
		if slices.Contains(written, k) {
			want = append(want, k)
		}
	}
	if !slices.Equal(written, want) {
		t.Errorf("Format writes %v; the table's order is %v", written, want)
	}
	if len(written) < 12 {
		t.Errorf("only %v written: the test task should have nearly every key", written)
	}
}
