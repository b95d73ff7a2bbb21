package yamltree

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// small are limits small enough for a fuzzer to pass them with short
// inputs.
var small = limits{bytes: 1 << 20, depth: 4, nodes: 60, keys: 6, keyPath: 40, blankTail: 1 << 30}

// FuzzGuard compares the guard with what goccy/go-yaml builds. Whenever the
// guard lets a file through, the tree built from it must stay within the
// limits as written (aliases aside, which only the converter sees). The
// guard's count of values must be within a factor of two of the
// converter's: at least half of it, so that the guard bounds what parsing
// costs, and at most twice, so that it does not refuse files for what they
// do not hold. (goccy/go-yaml accepts some text the YAML spec does not, such
// as an empty key's value at its key's column; the guard cannot follow
// every such turn exactly.) No map may have more keys than the limit.
func FuzzGuard(f *testing.F) {
	for _, s := range seeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > 4<<10 {
			return
		}
		if _, bad := check(src, small); bad {
			return
		}
		file, err := parse(src)
		if err != nil {
			return
		}
		for _, doc := range file.Docs {
			if doc == nil || doc.Body == nil {
				continue
			}
			cv := &converter{lim: small, anchors: map[string]*Node{}}
			root := cv.convert(doc.Body, 0, 0)
			if bytes.ContainsAny(src, "*<") {
				// merge keys add keys, aliases share maps
			} else if n := widest(root); n > small.keys {
				t.Fatalf("the guard let through a map of %d keys:\n%s", n, src)
			}
			for _, p := range cv.probs {
				if strings.HasPrefix(p.Message, "values nest more than") || strings.HasPrefix(p.Message, "the keys down to this value") {
					t.Fatalf("the guard let through what the parser builds as %q at %d:%d:\n%s", p.Message, p.Pos.Line, p.Pos.Col, src)
				}
			}
		}
		if bytes.Contains(src, []byte("*")) || len(file.Docs) != 1 || file.Docs[0] == nil || file.Docs[0].Body == nil {
			// Aliases repeat values, which only the converter counts;
			// goccy/go-yaml may lose a document that follows an empty one.
			return
		}
		guarded, built := counts(t, src)
		if built > 2*guarded+2 || guarded > 2*built+2 && ordinary(src) && !markers(src) {
			t.Fatalf("the guard counts %d values where the parser builds %d:\n%s", guarded, built, src)
		}
	})
}

// seeds are inputs that exercise every way of nesting and every kind of
// text that holds brackets without nesting.
func seeds() []string {
	return []string{
		"a:\n  b:\n    c:\n      d: 1\n",
		"- - - - x\n",
		"[[[[x]]]]",
		"{a: {b: {c: {d: 1}}}}",
		"a: [b: [c: [d]]]\n",
		"- a: [1, {b: [2, {c: 3}]}]\n",
		"a: '[[[[['\nb: \"{{{{\\\" [[\"\nc: |\n  [[[[[\n  - - - -\nd: >-\n  {{{{\n",
		"a: x # [[[[[\n# {{{{{{\nb: y#[[[\n",
		"a: b\n  - c\n  [[[[d\n",
		"? [a]\n: - - - b\n",
		"? a\n? b\n",
		"<<: {a: 1}\nb: &x [1, [2, [3]]]\nc: *x\n",
		"--- |\n  text\n---\n- [a, [b]]\n...\n- c\n",
		"%YAML 1.2\n---\na: {b: c}\n",
		"a: !!str [x]\nb: &a\n  c: d\n",
		"k:\nj:\n- \n-\n- [a, , b]\n",
		"a: |2-\n    x\n  y: [[\nb: 1\n",
		"'a': [1]\n\"b\" : {c: d}\n",
		"a:\n- b\n- - c\n  - d:\n    - e\n",
		"{a: [b, {c: [d]}], e: f}\n",
		"a: [\n  b,\n  [c,\n   [d]]\n]\n",
		"- &a [x]\n- *a\n",
		"x: y: z\n",
		"]\n[[[[\n",
		"a: http://x:y/[z]\n{u: http://x/[y]}\n",
		"...[[[[[x]]]]]\n",
		"key: \\[[[[\n",
		"a:\r\n  b:\r\n    - c\r\n",
	}
}

// ordinary reports whether src is UTF-8 text without control characters
// other than line feeds. goccy/go-yaml drops some text around tabs and
// NULs silently, which the guard then counts and the parser does not.
func ordinary(src []byte) bool {
	if !utf8.Valid(src) {
		return false
	}
	for _, r := range string(src) {
		if r < ' ' && r != '\n' || r == 0x7f {
			return false
		}
	}
	return true
}

// markers reports whether src may hold document markers, which the guard
// counts as values on purpose.
func markers(src []byte) bool {
	return bytes.Contains(src, []byte("---")) || bytes.Contains(src, []byte("..."))
}

// widest returns the most keys one map of the tree holds.
func widest(n *Node) int {
	most := len(n.Entries)
	for _, e := range n.Entries {
		most = max(most, widest(e.Val))
	}
	for _, item := range n.Items {
		most = max(most, widest(item))
	}
	return most
}
