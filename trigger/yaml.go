package trigger

import (
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"baton/composition"
)

// A trigger file is read in two steps, as composition files are: goccy's
// parser gives an AST with line and column, which is turned into the small
// tree below (maps, lists, scalars) with anchors, aliases, merge keys, tags
// and duplicate keys handled once; parse.go then only walks that tree.

type nodeKind int

const (
	nodeNull nodeKind = iota
	nodeScalar
	nodeMap
	nodeList
)

// node is a YAML value with the place where it starts.
type node struct {
	kind nodeKind
	pos  composition.Pos
	// value is the scalar as YAML typed it: string, bool, float64, or
	// int64/uint64 for integers a float64 cannot hold exactly.
	value   any
	text    string // the scalar as written
	entries []entry
	items   []*node
	size    int // nodes in this value, counting what aliases repeat
}

// entry is one key of a map.
type entry struct {
	key    string
	keyPos composition.Pos
	val    *node
}

// Limits against hostile files: nesting depth and the number of values a
// file may expand to once aliases are followed.
const (
	maxDepth = 32
	maxNodes = 20_000
)

// readYAML parses src into a tree. ok is false when the YAML cannot be read
// at all; the tree is nil for an empty file.
func readYAML(src []byte, probs *problemList) (root *node, ok bool) {
	f, err := parser.ParseBytes(src, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		probs.add(syntaxPos(err), "%s", syntaxMessage(err))
		return nil, false
	}
	var bodies []ast.Node
	for _, doc := range f.Docs {
		if doc != nil && doc.Body != nil {
			bodies = append(bodies, doc.Body)
		}
	}
	if len(bodies) == 0 {
		return nil, true
	}
	if len(bodies) > 1 {
		probs.add(tokenPos(bodies[1].GetToken()), "a trigger file holds one YAML document; move the one after --- to its own file")
	}
	cv := &converter{anchors: map[string]*node{}, probs: probs}
	return cv.convert(bodies[0], 0), true
}

// yamlError is what goccy's errors provide.
type yamlError interface {
	GetToken() *token.Token
	GetMessage() string
}

func syntaxPos(err error) composition.Pos {
	var ye yamlError
	if errors.As(err, &ye) {
		return tokenPos(ye.GetToken())
	}
	return composition.Pos{}
}

// syntaxMessage is goccy's message on one line, without its position and
// the quoted source.
func syntaxMessage(err error) string {
	msg := err.Error()
	var ye yamlError
	if errors.As(err, &ye) {
		msg = ye.GetMessage()
	}
	tab := strings.Contains(msg, "\t")
	msg = strings.Join(strings.Fields(strings.ReplaceAll(msg, "\t", `\t`)), " ")
	if tab {
		msg += "; indent with spaces, not tabs"
	}
	return "invalid YAML: " + msg
}

func tokenPos(tk *token.Token) composition.Pos {
	if tk == nil || tk.Position == nil {
		return composition.Pos{}
	}
	return composition.Pos{Line: tk.Position.Line, Col: tk.Position.Column}
}

func tokenText(tk *token.Token) string {
	if tk == nil {
		return ""
	}
	return tk.Value
}

type converter struct {
	anchors map[string]*node
	probs   *problemList
	nodes   int
	tooBig  bool
}

func (cv *converter) convert(n ast.Node, depth int) *node {
	if n == nil {
		return &node{kind: nodeNull, size: 1}
	}
	pos := tokenPos(n.GetToken())
	null := &node{kind: nodeNull, pos: pos, size: 1}
	if depth > maxDepth {
		cv.probs.add(pos, "values nest more than %d levels deep", maxDepth)
		return null
	}
	if !cv.count(1, pos) {
		return null
	}
	switch v := n.(type) {
	case *ast.NullNode:
		return null
	case *ast.StringNode:
		return scalar(pos, v.Value, v.Value)
	case *ast.LiteralNode:
		s := ""
		if v.Value != nil {
			s = v.Value.Value
		}
		return scalar(pos, s, s)
	case *ast.BoolNode:
		return scalar(pos, v.Value, tokenText(v.GetToken()))
	case *ast.IntegerNode:
		return scalar(pos, exactFloat(v.Value), tokenText(v.GetToken()))
	case *ast.FloatNode:
		return scalar(pos, v.Value, tokenText(v.GetToken()))
	case *ast.InfinityNode:
		return scalar(pos, v.Value, tokenText(v.GetToken()))
	case *ast.NanNode:
		return scalar(pos, math.NaN(), tokenText(v.GetToken()))
	case *ast.MappingNode:
		start := pos
		if !v.IsFlowStyle && len(v.Values) > 0 {
			start = tokenPos(v.Values[0].Key.GetToken())
		}
		return cv.mapping(v.Values, start, depth)
	case *ast.MappingValueNode:
		return cv.mapping([]*ast.MappingValueNode{v}, tokenPos(v.Key.GetToken()), depth)
	case *ast.SequenceNode:
		out := &node{kind: nodeList, pos: pos, size: 1}
		for _, item := range v.Values {
			c := cv.convert(item, depth+1)
			out.items = append(out.items, c)
			out.size += c.size
		}
		return out
	case *ast.AnchorNode:
		val := cv.convert(v.Value, depth+1)
		if v.Name != nil {
			cv.anchors[tokenText(v.Name.GetToken())] = val
		}
		return val
	case *ast.AliasNode:
		name := ""
		if v.Value != nil {
			name = tokenText(v.Value.GetToken())
		}
		target, ok := cv.anchors[name]
		if !ok {
			cv.probs.add(pos, "alias *%s names no anchor defined before it (&%s)", name, name)
			return null
		}
		if !cv.count(target.size, pos) {
			return null
		}
		return target
	case *ast.TagNode:
		return cv.tagged(v, pos, depth)
	}
	cv.probs.add(pos, "unsupported YAML %s", strings.ToLower(n.Type().String()))
	return null
}

// count adds n values to the file's total and reports once when it passes
// maxNodes.
func (cv *converter) count(n int, pos composition.Pos) bool {
	cv.nodes += n
	if cv.nodes <= maxNodes {
		return true
	}
	if !cv.tooBig {
		cv.tooBig = true
		cv.probs.add(pos, "the file expands to more than %d values (too many aliases?)", maxNodes)
	}
	return false
}

func scalar(pos composition.Pos, value any, text string) *node {
	return &node{kind: nodeScalar, pos: pos, value: value, text: text, size: 1}
}

// exactFloat turns a YAML integer into a float64, the one number type of
// free-form values (as in JSON), when a float64 holds it exactly.
func exactFloat(v any) any {
	const limit = 1 << 53
	switch n := v.(type) {
	case int64:
		if n >= -limit && n <= limit {
			return float64(n)
		}
	case uint64:
		if n <= limit {
			return float64(n)
		}
	}
	return v
}

func (cv *converter) mapping(values []*ast.MappingValueNode, pos composition.Pos, depth int) *node {
	out := &node{kind: nodeMap, pos: pos, size: 1}
	var merged []entry
	for _, mv := range values {
		if mv == nil || mv.Key == nil {
			continue
		}
		keyPos := tokenPos(mv.Key.GetToken())
		if mv.Key.IsMergeKey() {
			merged = append(merged, cv.mergeEntries(mv.Value, keyPos, depth)...)
			continue
		}
		k := cv.convert(mv.Key, depth+1)
		if k.kind == nodeMap || k.kind == nodeList {
			cv.probs.add(keyPos, "keys must be plain text, not a list or map")
			continue
		}
		val := cv.convert(mv.Value, depth+1)
		if val.kind == nodeNull {
			// An empty value has no place of its own; point at its key.
			val = &node{kind: nodeNull, pos: keyPos, size: 1}
		}
		if prev, dup := out.lookup(k.text); dup {
			cv.probs.add(keyPos, "duplicate key %q (first given at line %d); remove one", k.text, prev.keyPos.Line)
			continue
		}
		out.entries = append(out.entries, entry{key: k.text, keyPos: keyPos, val: val})
		out.size += val.size
	}
	for _, e := range merged {
		if _, dup := out.lookup(e.key); !dup {
			out.entries = append(out.entries, e)
			out.size += e.val.size
		}
	}
	return out
}

// mergeEntries returns what a merge key (<<) brings in: the entries of one
// map, or of a list of maps with the earlier map winning.
func (cv *converter) mergeEntries(v ast.Node, pos composition.Pos, depth int) []entry {
	src := cv.convert(v, depth+1)
	maps := []*node{src}
	if src.kind == nodeList {
		maps = src.items
	}
	var out []entry
	seen := map[string]bool{}
	for _, m := range maps {
		if m.kind != nodeMap {
			cv.probs.add(pos, "a merge key (<<) takes a map or a list of maps")
			return nil
		}
		for _, e := range m.entries {
			if !seen[e.key] {
				seen[e.key] = true
				out = append(out, e)
			}
		}
	}
	return out
}

// tagged handles an explicit tag: !!str makes a scalar text, the other
// standard tags are taken as written, and custom tags are problems.
func (cv *converter) tagged(t *ast.TagNode, pos composition.Pos, depth int) *node {
	tag := tokenText(t.Start)
	val := cv.convert(t.Value, depth+1)
	switch tag {
	case "!!str", "tag:yaml.org,2002:str":
		switch val.kind {
		case nodeScalar:
			return scalar(val.pos, val.text, val.text)
		case nodeNull:
			return scalar(pos, "", "")
		}
		cv.probs.add(pos, "!!str applies to text, not to a list or map")
	case "!!int", "!!float", "!!bool", "!!null", "!!map", "!!seq", "!!binary", "!!timestamp":
	default:
		cv.probs.add(pos, "unsupported YAML tag %s; remove it", tag)
	}
	return val
}

func (n *node) lookup(key string) (entry, bool) {
	for _, e := range n.entries {
		if e.key == key {
			return e, true
		}
	}
	return entry{}, false
}

// describe names a value for messages: its text for a scalar, or "a map",
// "a list", "empty".
func describe(n *node) string {
	switch n.kind {
	case nodeMap:
		return "a map"
	case nodeList:
		return "a list"
	case nodeNull:
		return "empty"
	}
	if s, ok := n.value.(string); ok {
		return quote(s)
	}
	return n.text
}

// quote quotes s for a message, shortened to 40 runes.
func quote(s string) string {
	r := []rune(s)
	if len(r) > 40 {
		s = string(r[:40]) + "…"
	}
	return strconv.Quote(s)
}
