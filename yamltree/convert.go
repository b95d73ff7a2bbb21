package yamltree

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// exactFloatLimit is 2^53: every integer up to it has an exact float64.
const exactFloatLimit = 1 << 53

// converter turns goccy's syntax tree into Nodes. It checks the limits
// again with aliases followed, which the guard cannot see: an alias repeats
// its anchor's nodes, nests them where the alias stands, and puts them
// under the alias's keys.
type converter struct {
	lim     limits
	anchors map[string]*Node
	probs   []Problem
	nodes   int
	tooMany bool
}

func (cv *converter) add(pos Pos, format string, args ...any) {
	cv.probs = append(cv.probs, Problem{Pos: pos, Message: fmt.Sprintf(format, args...)})
}

// convert turns n, which sits in depth maps and lists under keys path bytes
// long, into a Node.
func (cv *converter) convert(n ast.Node, depth, path int) *Node {
	if n == nil {
		return &Node{Kind: Null, size: 1}
	}
	pos := tokenPos(n.GetToken())
	null := &Node{Kind: Null, Pos: pos, size: 1}
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode, *ast.SequenceNode:
		if depth >= cv.lim.depth {
			cv.add(pos, "values nest more than %d levels deep (maps and lists inside each other); flatten the structure", cv.lim.depth)
			return null
		}
	}
	switch n.(type) {
	case *ast.AliasNode, *ast.AnchorNode, *ast.TagNode, *ast.MappingKeyNode:
		// An alias counts what it repeats; the others wrap a value.
	default:
		if !cv.count(1, pos) {
			return null
		}
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
		return scalar(pos, exactInt(v.Value), tokenText(v.GetToken()))
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
		return cv.mapping(v.Values, start, depth, path)
	case *ast.MappingValueNode:
		return cv.mapping([]*ast.MappingValueNode{v}, tokenPos(v.Key.GetToken()), depth, path)
	case *ast.SequenceNode:
		return cv.sequence(v, pos, depth, path)
	case *ast.AnchorNode:
		val := cv.convert(v.Value, depth, path)
		if v.Name != nil {
			cv.anchors[tokenText(v.Name.GetToken())] = val
		}
		return val
	case *ast.AliasNode:
		return cv.alias(v, pos, depth, path)
	case *ast.TagNode:
		return cv.tagged(v, pos, depth, path)
	case *ast.MappingKeyNode:
		return cv.convert(v.Value, depth, path)
	}
	cv.add(pos, "unsupported YAML %s", strings.ToLower(n.Type().String()))
	return null
}

// count adds n nodes to the file's total and reports once when the total
// passes the limit.
func (cv *converter) count(n int, pos Pos) bool {
	cv.nodes += n
	if cv.nodes <= cv.lim.nodes {
		return true
	}
	if !cv.tooMany {
		cv.tooMany = true
		cv.add(pos, "the file expands to more than %d values (too many aliases?)", cv.lim.nodes)
	}
	return false
}

func scalar(pos Pos, value any, text string) *Node {
	return &Node{Kind: Scalar, Pos: pos, Value: value, Text: text, size: 1}
}

// exactInt turns a YAML integer into a float64, the one number type of
// free-form values (as in JSON), unless a float64 cannot hold it exactly.
func exactInt(v any) any {
	switch n := v.(type) {
	case int64:
		if n >= -exactFloatLimit && n <= exactFloatLimit {
			return float64(n)
		}
	case uint64:
		if n <= exactFloatLimit {
			return float64(n)
		}
	}
	return v
}

// keyPath is the length of the key path of a child, part, under one path
// bytes long: the parts are joined with dots.
func keyPath(path, part int) int {
	if path == 0 {
		return part
	}
	return path + 1 + part
}

// grow makes out's size, height and span cover child, which sits under a
// part of the key path part bytes long.
func grow(out, child *Node, part int) {
	out.size += child.size
	out.height = max(out.height, 1+child.height)
	out.span = max(out.span, keyPath(part, child.span))
}

func (cv *converter) mapping(values []*ast.MappingValueNode, pos Pos, depth, path int) *Node {
	out := &Node{Kind: Map, Pos: pos, size: 1, height: 1}
	seen := make(map[string]Pos, len(values))
	var merged []Entry
	for _, mv := range values {
		if cv.tooMany {
			break // past the limit every key reads as empty: no use reporting each
		}
		if mv == nil || mv.Key == nil {
			continue
		}
		keyPos := tokenPos(mv.Key.GetToken())
		if mv.Key.IsMergeKey() {
			if cv.count(1, keyPos) {
				merged = append(merged, cv.mergeEntries(mv.Value, keyPos, depth+1, path)...)
			}
			continue
		}
		key, ok := cv.key(mv.Key, keyPos, depth, path)
		if !ok {
			continue
		}
		childPath := keyPath(path, len(key))
		if childPath > cv.lim.keyPath {
			cv.add(keyPos, "the keys down to this value are more than %d bytes long together; use shorter keys", cv.lim.keyPath)
			continue
		}
		val := cv.convert(mv.Value, depth+1, childPath)
		if val.Kind == Null {
			// An empty value has nothing to point at; point at its key.
			val = &Node{Kind: Null, Pos: keyPos, size: 1}
		}
		if first, dup := seen[key]; dup {
			cv.add(keyPos, "duplicate key %q (first given at line %d); remove one", key, first.Line)
			continue
		}
		seen[key] = keyPos
		out.Entries = append(out.Entries, Entry{Key: key, KeyPos: keyPos, Val: val})
		grow(out, val, len(key))
	}
	for _, e := range merged {
		if _, dup := seen[e.Key]; !dup {
			seen[e.Key] = e.KeyPos
			out.Entries = append(out.Entries, e)
			grow(out, e.Val, len(e.Key))
		}
	}
	return out
}

// key returns a map key as text. A key that is a list or a map is reported
// and not read further.
func (cv *converter) key(k ast.MapKeyNode, pos Pos, depth, path int) (string, bool) {
	inner := ast.Node(k)
	for {
		switch v := inner.(type) {
		case *ast.MappingKeyNode:
			inner = v.Value
			continue
		case *ast.TagNode:
			inner = v.Value
			continue
		case *ast.AnchorNode:
			inner = v.Value
			continue
		}
		break
	}
	switch inner.(type) {
	case *ast.MappingNode, *ast.MappingValueNode, *ast.SequenceNode:
		cv.add(pos, "keys must be plain text, not a list or map")
		return "", false
	}
	n := cv.convert(k, depth+1, path)
	switch n.Kind {
	case Scalar:
		return n.Text, true
	case Null:
		return "", true
	}
	cv.add(pos, "keys must be plain text, not a list or map")
	return "", false
}

// mergeEntries returns the entries a merge key (<<) brings in: those of one
// map, or of a list of maps with the earlier map winning.
func (cv *converter) mergeEntries(v ast.Node, pos Pos, depth, path int) []Entry {
	src := cv.convert(v, depth, path)
	var maps []*Node
	switch src.Kind {
	case Map:
		maps = []*Node{src}
	case List:
		maps = src.Items
	}
	var out []Entry
	seen := map[string]bool{}
	for _, m := range maps {
		if m.Kind != Map {
			cv.add(pos, "a merge key (<<) takes a map or a list of maps")
			return nil
		}
		for _, e := range m.Entries {
			if !seen[e.Key] {
				seen[e.Key] = true
				out = append(out, e)
			}
		}
	}
	if maps == nil {
		cv.add(pos, "a merge key (<<) takes a map or a list of maps")
	}
	return out
}

func (cv *converter) sequence(s *ast.SequenceNode, pos Pos, depth, path int) *Node {
	out := &Node{Kind: List, Pos: pos, size: 1, height: 1}
	for i, v := range s.Values {
		if cv.tooMany {
			break
		}
		part := digits(i)
		childPath := keyPath(path, part)
		if childPath > cv.lim.keyPath {
			cv.add(tokenPos(v.GetToken()), "the keys down to this value are more than %d bytes long together; use shorter keys", cv.lim.keyPath)
			break
		}
		item := cv.convert(v, depth+1, childPath)
		out.Items = append(out.Items, item)
		grow(out, item, part)
	}
	return out
}

// alias returns the anchor's tree, shared, after checking that repeating it
// here stays within the limits.
func (cv *converter) alias(a *ast.AliasNode, pos Pos, depth, path int) *Node {
	null := &Node{Kind: Null, Pos: pos, size: 1}
	name := ""
	if a.Value != nil {
		name = tokenText(a.Value.GetToken())
	}
	target, ok := cv.anchors[name]
	switch {
	case !ok:
		cv.add(pos, "alias *%s names no anchor defined before it (&%s)", name, name)
		return null
	case depth+target.height > cv.lim.depth:
		cv.add(pos, "alias *%s makes values nest more than %d levels deep; write the value out, flatter", name, cv.lim.depth)
		return null
	case keyPath(path, target.span) > cv.lim.keyPath && target.span > 0:
		cv.add(pos, "alias *%s puts values under keys more than %d bytes long together; use shorter keys", name, cv.lim.keyPath)
		return null
	case !cv.count(target.size, pos):
		return null
	}
	return target
}

// tagged handles an explicit tag: !!str makes a scalar text, the other
// standard tags are taken as written, and custom tags are problems.
func (cv *converter) tagged(t *ast.TagNode, pos Pos, depth, path int) *Node {
	tag := tokenText(t.Start)
	val := cv.convert(t.Value, depth, path)
	switch tag {
	case "!!str", "tag:yaml.org,2002:str":
		switch val.Kind {
		case Scalar:
			return scalar(val.Pos, val.Text, val.Text)
		case Null:
			return scalar(pos, "", "")
		}
		cv.add(pos, "!!str applies to text, not to a list or map")
	case "!!int", "!!float", "!!bool", "!!null", "!!map", "!!seq", "!!binary", "!!timestamp":
	default:
		cv.add(pos, "unsupported YAML tag %s; remove it", tag)
	}
	return val
}

func tokenText(tk *token.Token) string {
	if tk == nil {
		return ""
	}
	return tk.Value
}

func tokenPos(tk *token.Token) Pos {
	if tk == nil || tk.Position == nil {
		return Pos{}
	}
	return Pos{Line: tk.Position.Line, Col: tk.Position.Column}
}

// yamlError is what goccy/go-yaml's errors provide.
type yamlError interface {
	GetToken() *token.Token
	GetMessage() string
}

// syntaxProblem turns a parse error into a problem: goccy's message on one
// line, without its position prefix and the quoted source, at its place.
func syntaxProblem(err error) Problem {
	msg := err.Error()
	var pos Pos
	var ye yamlError
	if errors.As(err, &ye) {
		msg = ye.GetMessage()
		pos = tokenPos(ye.GetToken())
	}
	tab := strings.Contains(msg, "\t")
	msg = strings.Join(strings.Fields(strings.ReplaceAll(msg, "\t", `\t`)), " ")
	if tab {
		msg += "; indent with spaces, not tabs"
	}
	if msg == "" {
		return Problem{Pos: pos, Message: "invalid YAML"}
	}
	return Problem{Pos: pos, Message: "invalid YAML: " + msg}
}
