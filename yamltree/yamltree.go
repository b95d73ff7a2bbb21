// Package yamltree reads YAML into a small tree of maps, lists and scalars
// that keeps the line and column of every value, within limits that bound
// what a hostile file can cost.
//
// Reading takes three steps. A guard walks the bytes first, without
// building anything, and refuses a file that passes one of the limits below
// before goccy/go-yaml sees it: that parser's time and memory grow with the
// square of the nesting depth, of the keys of one map, of the length of the
// keys above a value, and of the blank lines that end a block scalar. Then
// goccy/go-yaml parses the text into its syntax tree. Last, that tree
// becomes the Node tree, with anchors, aliases, merge keys (<<), tags and
// duplicate keys dealt with here, once, so that the readers of compositions,
// triggers and plugin manifests only see maps, lists and scalars.
package yamltree

import (
	"fmt"
	"strconv"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// The limits of a YAML file. No real file comes close to them; together
// they keep what reading any file costs within a tenth of a second of CPU
// or so (the package's benchmarks measure the worst files each lets through).
const (
	// MaxBytes is the largest file read.
	MaxBytes = 1 << 20
	// MaxDepth is how many maps and lists one value may sit in: the url
	// of tasks.0.with.url sits in 4 (the file's map, the tasks list, the
	// task, its with).
	MaxDepth = 64
	// MaxNodes is how many values a file may hold: every key, list item,
	// scalar, empty value, map and list, again whatever an alias repeats,
	// and each document marker after the first.
	MaxNodes = 20_000
	// MaxKeys is how many keys one map may be written with. (goccy/go-yaml
	// spends time with the square of it: 10,000 keys take 0.4 s of CPU.)
	MaxKeys = 1000
	// MaxKeyPath is how long the keys above a value, its own key and the
	// list indexes on the way may be together, in bytes, joined by dots as
	// in tasks.2.with.url.
	MaxKeyPath = 1024
	// MaxBlankTail bounds the blank lines that end a block scalar written
	// with a plain | or > (neither - nor +): their number times the
	// scalar's size in bytes. A 100 KiB script may end in 20 blank lines,
	// a 1 KiB one in 2,000.
	MaxBlankTail = 2 << 20
)

// limits are the limits one read applies; tests use smaller ones.
type limits struct {
	bytes, depth, nodes, keys, keyPath, blankTail int
}

func defaultLimits() limits {
	return limits{bytes: MaxBytes, depth: MaxDepth, nodes: MaxNodes, keys: MaxKeys, keyPath: MaxKeyPath, blankTail: MaxBlankTail}
}

// Pos is a place in a source file. Line and Col count from 1, Col in
// characters; both are 0 for no place.
type Pos struct {
	Line int
	Col  int
}

// Problem is something wrong with the YAML, at its place.
type Problem struct {
	Pos     Pos
	Message string
}

// Kind is what a Node holds.
type Kind int

// The kinds of nodes.
const (
	Null   Kind = iota // nothing: a key without a value, ~, null
	Scalar             // text, a number or a boolean
	Map
	List
)

// Node is a YAML value with the place where it starts: a block map at its
// first key, a flow map at its "{", a list at its first "-" or its "[".
// Nodes that an alias repeats are shared; treat the tree as read-only.
type Node struct {
	Kind Kind
	Pos  Pos
	// Value is a scalar as YAML typed it: string, bool, float64, or int64
	// and uint64 for integers a float64 cannot hold exactly.
	Value   any
	Text    string  // a scalar as written, such as "0x1F" or "1.10"
	Entries []Entry // a map's keys in file order, merged ones last
	Items   []*Node // a list's items

	size   int // nodes in this value, counting what aliases repeat
	height int // maps and lists on the deepest way down, itself included
	span   int // bytes of the longest key path below it
}

// Entry is one key of a map and its value.
type Entry struct {
	Key    string
	KeyPos Pos
	Val    *Node
}

// Lookup returns the entry of a map with the given key.
func (n *Node) Lookup(key string) (Entry, bool) {
	for _, e := range n.Entries {
		if e.Key == key {
			return e, true
		}
	}
	return Entry{}, false
}

// Describe names a value for messages: a scalar by its text (quoted when it
// is a string, cut after 40 characters), else "a map", "a list" or "empty".
func Describe(n *Node) string {
	switch n.Kind {
	case Map:
		return "a map"
	case List:
		return "a list"
	case Null:
		return "empty"
	}
	if s, ok := n.Value.(string); ok {
		return strconv.Quote(truncate(s, 40))
	}
	return n.Text
}

// truncate shortens s to at most n characters for a message, marking the
// cut with an ellipsis.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// Read parses src, which must hold at most one YAML document; secondDoc is
// the problem to report at the start of a second one. ok is false when
// nothing could be read: the file passes a limit, or its YAML does not
// parse; the problems say where and why. Otherwise root is the document's
// value, nil for an empty file, and the problems are those met while
// building the tree; a value with a problem reads as Null.
func Read(src []byte, secondDoc string) (root *Node, probs []Problem, ok bool) {
	return read(src, secondDoc, defaultLimits())
}

func read(src []byte, secondDoc string, lim limits) (*Node, []Problem, bool) {
	if p, bad := check(src, lim); bad {
		return nil, []Problem{p}, false
	}
	f, err := parse(src)
	if err != nil {
		return nil, []Problem{syntaxProblem(err)}, false
	}
	var bodies []ast.Node
	for _, doc := range f.Docs {
		if doc != nil && doc.Body != nil {
			bodies = append(bodies, doc.Body)
		}
	}
	if len(bodies) == 0 {
		return nil, nil, true
	}
	cv := &converter{lim: lim, anchors: map[string]*Node{}}
	if len(bodies) > 1 {
		cv.add(tokenPos(bodies[1].GetToken()), "%s", secondDoc)
	}
	root := cv.convert(bodies[0], 0, 0)
	return root, cv.probs, true
}

// parse runs goccy/go-yaml. A panic in it becomes an error, so that no file
// can bring down a server.
func parse(src []byte) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("the YAML parser failed on this file (%v); simplify the YAML around the last change", r)
		}
	}()
	return parser.ParseBytes(src, 0, parser.AllowDuplicateMapKey())
}
