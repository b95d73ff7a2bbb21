package yamltree

import (
	"fmt"
	"strings"
	"testing"
)

// nested builds a file whose values nest n levels deep in one way, and
// returns where the level n opens.
type nested func(n int) (src string, at Pos)

// Every way the YAML has of nesting a map or a list in another.
var nestings = map[string]nested{
	"block maps": func(n int) (string, Pos) {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "%sk%d:\n", strings.Repeat(" ", 2*i), i)
		}
		return b.String(), Pos{Line: n, Col: 2*(n-1) + 1}
	},
	"block lists, one per line": func(n int) (string, Pos) {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "%s-\n", strings.Repeat(" ", 2*i))
		}
		return b.String(), Pos{Line: n, Col: 2*(n-1) + 1}
	},
	"block lists on one line": func(n int) (string, Pos) {
		return strings.Repeat("- ", n) + "x\n", Pos{Line: 1, Col: 2*(n-1) + 1}
	},
	"flow lists": func(n int) (string, Pos) {
		return strings.Repeat("[", n) + strings.Repeat("]", n) + "\n", Pos{Line: 1, Col: n}
	},
	"flow maps": func(n int) (string, Pos) {
		return strings.Repeat("{a: ", n) + "1" + strings.Repeat("}", n) + "\n", Pos{Line: 1, Col: 4*(n-1) + 1}
	},
	"pairs in flow lists": func(n int) (string, Pos) {
		// [a: [a: x]]: each [ holds a map of one pair.
		src := strings.Repeat("[a: ", n/2) + "x" + strings.Repeat("]", n/2) + "\n"
		if n%2 == 1 {
			return "- " + src, Pos{Line: 1, Col: 2 + 4*(n/2-1) + 2}
		}
		return src, Pos{Line: 1, Col: 4*(n/2-1) + 2}
	},
	"maps in list items": func(n int) (string, Pos) {
		// - a:
		//     - a:
		var b strings.Builder
		for i := range n / 2 {
			fmt.Fprintf(&b, "%s- a:\n", strings.Repeat(" ", 4*i))
		}
		if n%2 == 1 {
			fmt.Fprintf(&b, "%s- x\n", strings.Repeat(" ", 4*(n/2)))
			return b.String(), Pos{Line: n/2 + 1, Col: 4*(n/2) + 1}
		}
		return b.String(), Pos{Line: n / 2, Col: 4*(n/2-1) + 3}
	},
	"flow in block": func(n int) (string, Pos) {
		// a:\n  b: [[...]]
		src := "a:\n  b: " + strings.Repeat("[", n-2) + strings.Repeat("]", n-2) + "\n"
		return src, Pos{Line: 2, Col: 6 + n - 3}
	},
	"empty items at column 1": func(n int) (string, Pos) {
		// goccy/go-yaml nests -, then 0: below it, at the same column.
		src := strings.Repeat("-\n0:\n", n/2)
		if n%2 == 1 {
			return src + "-\n", Pos{Line: n, Col: 1}
		}
		return src, Pos{Line: n, Col: 1}
	},
	"tags waiting for their value": func(n int) (string, Pos) {
		// goccy/go-yaml takes the next node as a lone tag's value,
		// wherever it starts.
		return strings.Repeat("- !!seq\n", n), Pos{Line: n, Col: 1}
	},
}

func TestGuardDepth(t *testing.T) {
	for name, build := range nestings {
		t.Run(name, func(t *testing.T) {
			src, _ := build(MaxDepth)
			if p, bad := check([]byte(src), defaultLimits()); bad {
				t.Fatalf("%d levels refused: %v\n%s", MaxDepth, p, src)
			}
			root, probs, ok := Read([]byte(src), "second")
			if !ok || len(probs) > 0 || root.height != MaxDepth {
				t.Fatalf("%d levels: ok %v, problems %v, height %d", MaxDepth, ok, probs, root.height)
			}
			src, at := build(MaxDepth + 1)
			p, bad := check([]byte(src), defaultLimits())
			want := Problem{Pos: at, Message: "values nest more than 64 levels deep here (maps and lists inside each other); flatten the structure"}
			if !bad || p != want {
				t.Fatalf("%d levels: got %v (refused %v), want %v", MaxDepth+1, p, bad, want)
			}
		})
	}
}

// indented are the nestings whose text grows with the square of the
// depth: 1,000 levels fill MaxBytes.
var indented = map[string]bool{"block maps": true, "block lists, one per line": true, "maps in list items": true}

// deepest is how deep a file of a nesting can go within MaxBytes, up to
// the 60,000 levels of the security review's file. It is odd, as
// MaxDepth+1 is, so that both files start alike.
func deepest(name string) int {
	if indented[name] {
		return 1001
	}
	return 60_001
}

// TestGuardDeepInput reads the input of the security review, 60,000 levels
// deep, through Read: refused at the level that passes the limit.
func TestGuardDeepInput(t *testing.T) {
	for name, build := range nestings {
		t.Run(name, func(t *testing.T) {
			src, _ := build(deepest(name))
			if len(src) > MaxBytes {
				t.Fatalf("the test file is %d bytes, over MaxBytes", len(src))
			}
			_, at := build(MaxDepth + 1)
			_, probs, ok := Read([]byte(src), "second")
			if ok || len(probs) != 1 || probs[0].Pos != at || !strings.HasPrefix(probs[0].Message, "values nest more than 64 levels deep") {
				t.Fatalf("ok %v, problems %v; want one at %v", ok, probs, at)
			}
		})
	}
}

// TestGuardText checks that what looks like nesting inside text is none:
// brackets, dashes and colons in quoted and block scalars, comments and
// plain scalars. The limit is 2 levels, which each file would pass if the
// guard took its text for structure.
func TestGuardText(t *testing.T) {
	tests := map[string]string{
		"single-quoted":           "a: '[[[ {{{ - - - a: b'\n",
		"single-quoted, escaped":  "a: 'it''s [[[ {{{'\n",
		"double-quoted":           "a: \"[[[ \\\" {{{ - - -\"\n",
		"quoted over lines":       "a: \"[[[\n  {{{\n  - - - b: c\"\n",
		"literal block":           "a: |\n  [[[[[\n  {{{{{\n  - - - -\n  b: c: d\n",
		"folded block":            "a: >-\n  [[[[[\n  - - - -\n\n  {{{{{\n",
		"indented block":          "a: |2\n    [[[[\n   - - -\n",
		"block with a comment":    "a: | # [[[[\n  {{{{\n",
		"block then a key":        "a: |\n  [[[[\nb: [1]\n",
		"block in a list":         "- |\n  [[[[\n  {{{{\n- x\n",
		"comment":                 "a: 1 # [[[[ {{{{ - - -\n# [[[[[[[[\n  # - - - -\n",
		"plain with brackets":     "a: x[[[[y]\nb: ${{ params.x }} {{ y }}\n",
		"plain with a dash line":  "a: b\n  - c\n  [[[[[\n",
		"URL in a flow map":       "{a: http://x/[y]}\n",
		"colons in plain text":    "a: b:c:d\n",
		"anchor and alias":        "a: &x [1]\nb: *x\n",
		"document markers":        "a: 1\n---\nb: 2\n...\n",
		"block scalar to the end": "--- |\n  [[[[\n  {{{{\n",
		"CRLF":                    "a:\r\n  b: '[[[['\r\n",
	}
	lim := limits{bytes: MaxBytes, depth: 2, nodes: MaxNodes, keys: MaxKeys, keyPath: MaxKeyPath, blankTail: MaxBlankTail}
	for name, src := range tests {
		t.Run(name, func(t *testing.T) {
			if p, bad := check([]byte(src), lim); bad {
				t.Fatalf("refused: %v\n%s", p, src)
			}
		})
	}
}

// TestGuardWidth feeds the second input of the review, a map of 60,000
// keys: refused at its key 1,001. A list of as many values is refused
// where the count passes MaxNodes.
func TestGuardWidth(t *testing.T) {
	tests := []struct {
		name, format string
		want         Problem
	}{
		{"keys", "key%05d: value\n", Problem{Pos: Pos{Line: MaxKeys + 1, Col: 1},
			Message: "this map holds more than 1000 keys; split it into smaller maps, or make it a list"}},
		{"list items", "- item%05d\n", Problem{Pos: Pos{Line: MaxNodes, Col: 3},
			Message: "the file holds more than 20000 values (keys, list items and scalars); split it into smaller files"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			for i := range 60_000 {
				fmt.Fprintf(&b, tt.format, i)
			}
			_, probs, ok := Read([]byte(b.String()), "second")
			if ok || len(probs) != 1 || probs[0] != tt.want {
				t.Fatalf("ok %v, problems %v; want %v", ok, probs, tt.want)
			}
		})
	}
}

func TestGuardLimits(t *testing.T) {
	tests := []struct {
		name string
		src  string
		lim  limits
		want Problem
	}{
		{"bytes", strings.Repeat("a: 1\n", 10) + "b: 2\n", limits{bytes: 52, depth: 9, nodes: 99, keys: 99, keyPath: 99, blankTail: 99},
			Problem{Pos: Pos{Line: 11, Col: 3}, Message: "the YAML goes on past 52 bytes here (55 bytes in all); make the file smaller or split it"}},
		{"empty values count", "a:\nb:\nc:\n", limits{bytes: 99, depth: 9, nodes: 6, keys: 99, keyPath: 99, blankTail: 99},
			Problem{Pos: Pos{Line: 4, Col: 1}, Message: "the file holds more than 6 values (keys, list items and scalars); split it into smaller files"}},
		{"keys of a map", "a: 1\nb: 2\nc: 3\n", limits{bytes: 99, depth: 9, nodes: 99, keys: 2, keyPath: 99, blankTail: 99},
			Problem{Pos: Pos{Line: 3, Col: 1}, Message: "this map holds more than 2 keys; split it into smaller maps, or make it a list"}},
		{"keys of a flow map", "x: {a: 1, b: 2, c: 3}\n", limits{bytes: 99, depth: 9, nodes: 99, keys: 2, keyPath: 99, blankTail: 99},
			Problem{Pos: Pos{Line: 1, Col: 17}, Message: "this map holds more than 2 keys; split it into smaller maps, or make it a list"}},
		{"documents count", "---\n---\n---\n---\n", limits{bytes: 99, depth: 9, nodes: 2, keys: 99, keyPath: 99, blankTail: 99},
			Problem{Pos: Pos{Line: 4, Col: 1}, Message: "the file holds more than 2 values (keys, list items and scalars); split it into smaller files"}},
		{"key path", "aaaa:\n  bbbb:\n    cccc: 1\n", limits{bytes: 99, depth: 9, nodes: 99, keys: 99, keyPath: 13, blankTail: 99},
			Problem{Pos: Pos{Line: 3, Col: 5}, Message: "the keys down to this value are more than 13 bytes long together; use shorter keys"}},
		{"key path of list items", "aaaa:\n  - - - x\n", limits{bytes: 99, depth: 9, nodes: 99, keys: 99, keyPath: 9, blankTail: 99},
			Problem{Pos: Pos{Line: 2, Col: 7}, Message: "the keys down to this value are more than 9 bytes long together; use shorter keys"}},
		{"long explicit key", "? " + strings.Repeat("k", 20) + "\n", limits{bytes: 99, depth: 9, nodes: 99, keys: 99, keyPath: 19, blankTail: 99},
			Problem{Pos: Pos{Line: 1, Col: 1}, Message: "the keys down to this value are more than 19 bytes long together; use shorter keys"}},
		{"blank lines after a block scalar", "a: |\n  xxxx\n" + strings.Repeat("\n", 20) + "b: 1\n", limits{bytes: 99, depth: 9, nodes: 99, keys: 99, keyPath: 99, blankTail: 100},
			Problem{Pos: Pos{Line: 1, Col: 4}, Message: "this block scalar ends in 20 blank lines, too many for its 27 bytes of text; remove the blank lines at its end, or write |- (or >-) to drop them"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, bad := check([]byte(tt.src), tt.lim)
			if !bad || p != tt.want {
				t.Errorf("got %v (refused %v), want %v", p, bad, tt.want)
			}
		})
	}
	// Stripping or keeping the blank lines costs goccy/go-yaml nothing.
	for _, h := range []string{"|-", "|+", ">-"} {
		src := "a: " + h + "\n  xxxx\n" + strings.Repeat("\n", 20) + "b: 1\n"
		if p, bad := check([]byte(src), limits{bytes: 99, depth: 9, nodes: 99, keys: 99, keyPath: 99, blankTail: 100}); bad {
			t.Errorf("%s: refused: %v", h, p)
		}
	}
}
