package composition

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// roundTrip checks that Parse(Format(c)) is c, apart from Source, Pos, File.
func roundTrip(t *testing.T, name string, c *Composition) {
	t.Helper()
	out, err := Format(c)
	if err != nil {
		t.Fatalf("%s: Format: %v", name, err)
	}
	again, probs := Parse(name, out)
	if again == nil {
		t.Fatalf("%s: formatted YAML does not parse: %v\n%s", name, probs, out)
	}
	if !sameComposition(c, again) {
		t.Errorf("%s: round trip changed the composition\nformatted:\n%s\n got %#v\nwant %#v", name, out, semantic(again), semantic(c))
		for i := range min(len(c.Tasks), len(again.Tasks)) {
			if fmt.Sprint(c.Tasks[i]) != fmt.Sprint(again.Tasks[i]) {
				t.Errorf("task %d:\n got %#v\nwant %#v", i, again.Tasks[i], c.Tasks[i])
			}
		}
	}
	if twice, _ := Format(again); string(twice) != string(out) {
		t.Errorf("%s: Format is not stable:\n%s\nthen\n%s", name, out, twice)
	}
}

func TestFormatRoundTripTestdata(t *testing.T) {
	for _, name := range testdataFiles(t) {
		c, probs := Parse(name, readTestdata(t, name))
		if len(probs) > 0 {
			t.Fatalf("%s: %v", name, probs)
		}
		roundTrip(t, name, c)
	}
}

func TestFormatRoundTripCases(t *testing.T) {
	cases := map[string]string{
		"tricky strings": `name: strings
description: "  leading blanks\nand two trailing newlines\n\n"
params:
  s: {default: "true"}
  n: {default: "2"}
  e: {default: ""}
  q: {default: "it's \"quoted\" # not a comment"}
  c: {default: "key: value"}
  t: {default: "tab\there"}
  u: {default: "zero\u0000width\u200bspace\u2028sep"}
  y: {default: "yes"}
  d: {default: "2024-01-01"}
  x: {default: "0x1F"}
  dash: {default: "- item"}
  star: {default: "*alias"}
  tilde: {default: "~"}
tasks:
  - id: a
    run: "trailing blanks   \nsecond line"
  - id: b
    run: "no final newline\nsecond"
  - id: c
    run: "\n starts with a newline\n"
  - id: d
    run: "crlf\r\nline\r\n"
  - id: "1st"
    run: x
`,
		"numbers": `name: numbers
tasks:
  - id: a
    type: http
    with:
      int: 42
      neg: -7
      float: 2.5
      whole_float: 2.0
      big: 12345678901234567890
      bigger: 9007199254740993
      tiny: 1.0e-10
      huge: 1.5e+300
      inf: .inf
      list: [1, 2.5, "3", true, null]
      nested: {a: {b: [{c: d}]}}
      empty_map: {}
      empty_list: []
      nothing: null
`,
		"all the keys": `name: everything
description: one line
params:
  l: {type: list, enum: [a, b], default: [a], description: "multi\nline\n", required: true}
concurrency: 3
timeout: 1h30m
workspace: {clean: true}
requires: {}
on_failure: {composition: other}
outputs: {}
tasks:
  - id: a
    name: "A: first"
    type: shell
    with: {run: "", shell: bash}
    needs: []
    if: "${{ params.l != [] }}"
    env: {A: "1", B: ""}
    timeout: 1500ms
    retries: 3
    retry_delay: 1m
    continue_on_error: true
    always: true
    requires: {pool: p, labels: {"a b": "c"}, facts: "facts.x > 1", local: true}
  - id: b
    type: ssh
    run: uptime
    with: {host: h}
  - id: c
    run: |
      multi
        indented
      lines
    with: {shell: zsh}
  - id: d
    type: composition
    needs: [a, c]
    if: false
    with:
      name: other
      params: {"with space": "${{ tasks.a.outputs[\"x\"] }}"}
`,
	}
	for name, src := range cases {
		t.Run(name, func(t *testing.T) {
			c, probs := Parse(name, []byte(src))
			if len(probs) > 0 {
				t.Fatalf("%v", probs)
			}
			roundTrip(t, name, c)
		})
	}
}

func TestFormatCanonical(t *testing.T) {
	local := false
	c := &Composition{
		Name:        "canonical",
		Description: "Two lines\nof text.\n",
		Params:      []Param{{Name: "version", Type: TypeString, Required: true}},
		Timeout:     90 * time.Minute,
		Requires:    &Requires{Pool: "linux", Local: &local},
		Tasks: []*Task{
			{ID: "build", Type: "shell", Run: "make\nmake test\n", With: map[string]any{"run": "make\nmake test\n"}, Retries: 2},
			{ID: "deploy", Type: "http", NeedsGiven: true, Needs: []string{"build"}, If: "true",
				With: map[string]any{"url": "https://x/${{ params.version }}", "method": "POST"}, Env: map[string]string{"B": "2", "A": "1"}},
		},
	}
	want := `name: canonical
description: |
  Two lines
  of text.
params:
  version:
    type: string
    required: true
timeout: 1h30m
requires:
  pool: linux
  local: false
tasks:
  - id: build
    run: |
      make
      make test
    retries: 2
  - id: deploy
    type: http
    needs:
      - build
    if: true
    with:
      method: POST
      url: https://x/${{ params.version }}
    env:
      A: "1"
      B: "2"
`
	out, err := Format(c)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != want {
		t.Errorf("Format =\n%s\nwant\n%s", out, want)
	}
}

func TestFormatNeedsBuiltInCode(t *testing.T) {
	// The editor may draw edges without setting NeedsGiven.
	c := &Composition{Name: "x", Tasks: []*Task{
		{ID: "a", Type: "shell", Run: "x", With: map[string]any{"run": "x"}},
		{ID: "b", Type: "shell", Run: "y", With: map[string]any{"run": "y"}, Needs: []string{"a"}},
		{ID: "c", Type: "shell", Run: "z", With: map[string]any{"run": "z"}, Needs: []string{"a"}},
		{ID: "d", Type: "shell", Run: "w", With: map[string]any{"run": "w"}},
	}}
	out, _ := Format(c)
	again, probs := Parse("x", out)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	want := [][]string{nil, {"a"}, {"a"}, nil}
	for i, task := range again.Tasks {
		if !slices.Equal(task.Needs, want[i]) {
			t.Errorf("task %s needs %v, want %v\n%s", task.ID, task.Needs, want[i], out)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	tests := map[time.Duration]string{
		time.Hour:                    "1h",
		90 * time.Minute:             "1h30m",
		10 * time.Minute:             "10m",
		5 * time.Second:              "5s",
		time.Hour + 5*time.Second:    "1h5s",
		1500 * time.Millisecond:      "1.5s",
		250 * time.Millisecond:       "250ms",
		49*time.Hour + 1*time.Minute: "49h1m",
	}
	for d, want := range tests {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
		if back, err := time.ParseDuration(want); err != nil || back != d {
			t.Errorf("%q does not parse back to %v", want, d)
		}
	}
}
