package yamltree

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

// plain turns a tree into Go values, for comparing.
func plain(n *Node) any {
	switch n.Kind {
	case Map:
		m := map[string]any{}
		for _, e := range n.Entries {
			m[e.Key] = plain(e.Val)
		}
		return m
	case List:
		l := []any{}
		for _, item := range n.Items {
			l = append(l, plain(item))
		}
		return l
	case Scalar:
		return n.Value
	}
	return nil
}

func TestRead(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want any
	}{
		{"scalars", "s: text\ni: 42\nbig: 9007199254740993\nf: 1.5\nb: true\nn: null\ne:\n",
			map[string]any{"s": "text", "i": 42.0, "big": uint64(9007199254740993), "f": 1.5, "b": true, "n": nil, "e": nil}},
		{"block and flow", "a:\n  - 1\n  - {b: [c, d]}\n", map[string]any{"a": []any{1.0, map[string]any{"b": []any{"c", "d"}}}}},
		{"anchor and alias", "a: &x [1, 2]\nb: *x\n", map[string]any{"a": []any{1.0, 2.0}, "b": []any{1.0, 2.0}}},
		{"merge keys, explicit first", "d: &d {x: 1, y: 2}\nm:\n  <<: *d\n  y: 3\n",
			map[string]any{"d": map[string]any{"x": 1.0, "y": 2.0}, "m": map[string]any{"y": 3.0, "x": 1.0}}},
		{"merge of a list of maps, earlier first", "a: &a {x: 1}\nb: &b {x: 2, y: 2}\nm: {<<: [*a, *b]}\n",
			map[string]any{"a": map[string]any{"x": 1.0}, "b": map[string]any{"x": 2.0, "y": 2.0}, "m": map[string]any{"x": 1.0, "y": 2.0}}},
		{"!!str", "a: !!str 5\nb: !!str\n", map[string]any{"a": "5", "b": ""}},
		{"block scalars", "a: |\n  x\n  y\nb: >-\n  x\n  y\n", map[string]any{"a": "x\ny\n", "b": "x y"}},
		{"empty file", "# nothing\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, probs, ok := Read([]byte(tt.src), "second")
			if !ok || len(probs) > 0 {
				t.Fatalf("ok %v, problems %v", ok, probs)
			}
			var got any
			if root != nil {
				got = plain(root)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v\nwant %#v", got, tt.want)
			}
		})
	}
	root, _, _ := Read([]byte("n: .nan\n"), "second")
	if f, _ := root.Entries[0].Val.Value.(float64); !math.IsNaN(f) || root.Entries[0].Val.Text != ".nan" {
		t.Errorf(".nan read as %#v", root.Entries[0].Val)
	}
}

func TestReadProblems(t *testing.T) {
	tests := []struct {
		name string
		src  string
		lim  limits
		want []Problem
	}{
		{"duplicate key", "a: 1\nb: 2\na: 3\n", defaultLimits(),
			[]Problem{{Pos{Line: 3, Col: 1}, `duplicate key "a" (first given at line 1); remove one`}}},
		{"a key that is a map, by an alias", "a: &m {x: 1}\n*m : 1\n", defaultLimits(),
			[]Problem{{Pos{Line: 2, Col: 1}, "keys must be plain text, not a list or map"}}},
		{"merge of a scalar", "a:\n  <<: 1\n", defaultLimits(),
			[]Problem{{Pos{Line: 2, Col: 3}, "a merge key (<<) takes a map or a list of maps"}}},
		{"alias to nothing", "a: *nope\n", defaultLimits(),
			[]Problem{{Pos{Line: 1, Col: 4}, "alias *nope names no anchor defined before it (&nope)"}}},
		{"custom tag", "a: !secret x\n", defaultLimits(),
			[]Problem{{Pos{Line: 1, Col: 4}, "unsupported YAML tag !secret; remove it"}}},
		{"!!str of a list", "a: &l [x]\nb: !!str *l\n", defaultLimits(),
			[]Problem{{Pos{Line: 2, Col: 4}, "!!str applies to text, not to a list or map"}}},
		{"second document", "a: 1\n---\nb: 2\n", defaultLimits(),
			[]Problem{{Pos{Line: 3, Col: 2}, "second"}}},
		{"alias nests too deep", "a: &a [[x]]\nb: [[*a]]\n", limits{bytes: 99, depth: 4, nodes: 99, keys: 99, keyPath: 99, blankTail: 99},
			[]Problem{{Pos{Line: 2, Col: 6}, "alias *a makes values nest more than 4 levels deep; write the value out, flatter"}}},
		{"alias under long keys", "a: &a {bbbbbbbb: 1}\ncccccccc: *a\n", limits{bytes: 99, depth: 9, nodes: 99, keys: 99, keyPath: 16, blankTail: 99},
			[]Problem{{Pos{Line: 2, Col: 11}, "alias *a puts values under keys more than 16 bytes long together; use shorter keys"}}},
		{"alias bomb", "a: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nc: [*b, *b, *b, *b]\n", limits{bytes: 999, depth: 9, nodes: 50, keys: 99, keyPath: 99, blankTail: 99},
			[]Problem{{Pos{Line: 3, Col: 5}, "the file expands to more than 50 values (too many aliases?)"}}},
		{"alias bomb, then more keys", "a: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nc: [*b, *b]\nd: 1\ne: 2\nf: {g: 3}\n", limits{bytes: 999, depth: 9, nodes: 50, keys: 99, keyPath: 99, blankTail: 99},
			[]Problem{{Pos{Line: 3, Col: 5}, "the file expands to more than 50 values (too many aliases?)"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, probs, ok := read([]byte(tt.src), "second", tt.lim)
			if !ok || !reflect.DeepEqual(probs, tt.want) {
				t.Errorf("ok %v, problems\n %v\nwant\n %v", ok, probs, tt.want)
			}
		})
	}
}

func TestReadSyntaxError(t *testing.T) {
	tests := []struct {
		src  string
		want Problem
	}{
		{"a: [1, 2\n", Problem{Pos{Line: 1, Col: 4}, "invalid YAML: sequence end token ']' not found"}},
		{"a:\n\t- b\n", Problem{Pos{Line: 2, Col: 1}, `invalid YAML: found character '\t' that cannot start any token; indent with spaces, not tabs`}},
	}
	for _, tt := range tests {
		root, probs, ok := Read([]byte(tt.src), "second")
		if ok || root != nil || len(probs) != 1 || probs[0] != tt.want {
			t.Errorf("%q: ok %v, problems %v; want %v", tt.src, ok, probs, tt.want)
		}
	}
}

func TestReadPositions(t *testing.T) {
	src := "a:\n  b: 1\nc: {d: [e]}\nf:\n- g\n"
	root, _, _ := Read([]byte(src), "second")
	tests := []struct {
		what string
		got  Pos
		want Pos
	}{
		{"a block map, at its first key", root.Pos, Pos{Line: 1, Col: 1}},
		{"a nested block map", root.Entries[0].Val.Pos, Pos{Line: 2, Col: 3}},
		{"a scalar", root.Entries[0].Val.Entries[0].Val.Pos, Pos{Line: 2, Col: 6}},
		{"a flow map, at its {", root.Entries[1].Val.Pos, Pos{Line: 3, Col: 4}},
		{"a key", root.Entries[1].KeyPos, Pos{Line: 3, Col: 1}},
		{"a flow list", root.Entries[1].Val.Entries[0].Val.Pos, Pos{Line: 3, Col: 8}},
		{"a block list, at its first -", root.Entries[2].Val.Pos, Pos{Line: 5, Col: 1}},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: at %v, want %v", tt.what, tt.got, tt.want)
		}
	}
	root, _, _ = Read([]byte("a:\nb: 1\n"), "second")
	if e := root.Entries[0]; e.Val.Kind != Null || e.Val.Pos != e.KeyPos {
		t.Errorf("an empty value is at %v, want at its key %v", e.Val.Pos, e.KeyPos)
	}
}

func TestDescribe(t *testing.T) {
	root, _, _ := Read([]byte("m: {}\nl: []\nn:\ns: "+strings.Repeat("x", 50)+"\ni: 0x1F\n"), "second")
	want := []string{"a map", "a list", "empty", `"` + strings.Repeat("x", 40) + `…"`, "0x1F"}
	for i, e := range root.Entries {
		if got := Describe(e.Val); got != want[i] {
			t.Errorf("%s: %q, want %q", e.Key, got, want[i])
		}
	}
}
