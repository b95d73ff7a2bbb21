package composition

import (
	"strings"
	"testing"
)

// commented is a hand-written file: a header, comments above keys, list
// items and a task's first key, after values and block headers, blank
// lines between parts, keys out of canonical order, flow maps, and a
// script whose own # lines are text, not comments.
const commented = `# Release pipeline for the webapp.
# Owned by the platform team.

name: rel   # the name
description: |  # markdown
  Ships it.
# how long a run may take
timeout: 1h
params:
  version: {type: string, required: true}  # semver

  env: {type: string, default: staging}
tasks:
  # fetch the artifact
  - id: fetch  # first
    run: |
      # a script comment, kept as script
      echo hi
    needs: []  # start at once

  # build it
  - id: build
    with: {shell: bash}  # bash please
    run: make
    env:
      A: "1"   # one
    needs:
      - fetch  # after fetch
# the end
`

// Keys take canonical order and flow maps become blocks; every comment
// and blank line stays with its key or item.
const commentedFormatted = `# Release pipeline for the webapp.
# Owned by the platform team.

name: rel  # the name
description: |  # markdown
  Ships it.
params:
  version:  # semver
    type: string
    required: true

  env:
    type: string
    default: staging
# how long a run may take
timeout: 1h
tasks:
  # fetch the artifact
  - id: fetch  # first
    run: |
      # a script comment, kept as script
      echo hi
    needs: []  # start at once

  # build it
  - id: build
    run: make
    needs:
      - fetch  # after fetch
    with:  # bash please
      shell: bash
    env:
      A: "1"  # one
# the end
`

func TestFormatKeepingComments(t *testing.T) {
	c, probs := Parse("", []byte(commented))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	out, err := FormatKeeping(c, ReadComments([]byte(commented)))
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != commentedFormatted {
		t.Fatalf("FormatKeeping =\n%s\nwant\n%s", out, commentedFormatted)
	}
	again, probs := Parse("", out)
	if len(probs) > 0 || !sameComposition(c, again) {
		t.Fatalf("the comments changed the meaning: %v", probs)
	}
	// Formatting the result again changes nothing.
	twice, _ := FormatKeeping(again, ReadComments(out))
	if string(twice) != string(out) {
		t.Errorf("not stable:\n%s", twice)
	}
	// Without comments, FormatKeeping is Format.
	plain, _ := Format(c)
	if none, _ := FormatKeeping(c, nil); string(none) != string(plain) {
		t.Errorf("FormatKeeping(nil) differs from Format")
	}
	if ReadComments(plain) != nil {
		t.Errorf("ReadComments of a file with no comments and no blank lines: want nil")
	}
}

func TestCommentsMoveItems(t *testing.T) {
	c, _ := Parse("", []byte(commented))
	// build first, fetch gone.
	c.Tasks = []*Task{c.Tasks[1]}
	c.Tasks[0].Needs, c.Tasks[0].NeedsGiven = nil, false
	out, err := FormatKeeping(c, ReadComments([]byte(commented)).MoveItems("tasks", []int{-1, 0}))
	if err != nil {
		t.Fatal(err)
	}
	want := `tasks:
  # build it
  - id: build
    run: make
    with:  # bash please
`
	if !strings.Contains(string(out), want) {
		t.Errorf("build's comments did not follow it:\n%s", out)
	}
	for _, gone := range []string{"fetch the artifact", "# first", "start at once"} {
		if strings.Contains(string(out), gone) {
			t.Errorf("comment %q of the removed task is still there:\n%s", gone, out)
		}
	}
}
