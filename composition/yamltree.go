package composition

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// The YAML is read in two steps: goccy/go-yaml parses the text into its AST,
// which keeps line and column; that AST is then turned into the small tree
// below, with anchors, aliases, merge keys, tags and duplicate keys dealt with
// once, so the decoder in parse.go only sees maps, lists and scalars.

type ykind int

const (
	yNull ykind = iota
	yScalar
	yMap
	ySeq
)

// ynode is a YAML value with the position where it starts.
type ynode struct {
	kind ykind
	pos  Pos
	// value is the scalar as YAML typed it: string, bool, float64, or int64
	// and uint64 for integers too large for a float64 to hold exactly.
	value   any
	text    string // the scalar as written, e.g. "0x1F" or "10 minutes"
	entries []yentry
	items   []*ynode
	size    int // nodes in this value, counting what aliases repeat
}

// yentry is one key of a map.
type yentry struct {
	key    string
	keyPos Pos
	val    *ynode
}

func (n *ynode) lookup(key string) (yentry, bool) {
	for _, e := range n.entries {
		if e.key == key {
			return e, true
		}
	}
	return yentry{}, false
}

// Limits that keep a hostile file from using unbounded time or memory: how
// deep values may nest and how many nodes a file may expand to once aliases
// are followed (the "billion laughs" attack repeats one anchor many times).
const (
	maxDepth = 64
	maxNodes = 100_000
)

// exactFloatLimit is the largest integer every smaller integer of which a
// float64 holds exactly (2^53).
const exactFloatLimit = 1 << 53

// readYAML parses src into a ynode tree. It returns nil and the problem when
// the YAML cannot be parsed at all; otherwise a tree (nil for an empty file)
// and any problems met while building it.
func readYAML(src []byte, probs *problemList) (*ynode, bool) {
	f, err := parser.ParseBytes(src, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		probs.add(syntaxErrorPos(err), "%s", syntaxErrorMessage(err))
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
		probs.add(tokenPos(bodies[1].GetToken()), "a composition file holds one YAML document; remove the second one (after ---) or move it to its own file")
	}
	cv := &converter{anchors: map[string]*ynode{}, probs: probs}
	return cv.convert(bodies[0], 0), true
}

// yamlError is what goccy/go-yaml's errors provide.
type yamlError interface {
	GetToken() *token.Token
	GetMessage() string
}

func syntaxErrorPos(err error) Pos {
	var ye yamlError
	if errors.As(err, &ye) {
		return tokenPos(ye.GetToken())
	}
	return Pos{}
}

// syntaxErrorMessage returns goccy's message without its position prefix and
// the quoted source lines, on one line.
func syntaxErrorMessage(err error) string {
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
	if msg == "" {
		return "invalid YAML"
	}
	return "invalid YAML: " + msg
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

type converter struct {
	anchors map[string]*ynode
	probs   *problemList
	nodes   int
	tooBig  bool
}

func (cv *converter) convert(n ast.Node, depth int) *ynode {
	if n == nil {
		return &ynode{kind: yNull, size: 1}
	}
	pos := tokenPos(n.GetToken())
	if depth > maxDepth {
		cv.probs.add(pos, "values nest more than %d levels deep", maxDepth)
		return &ynode{kind: yNull, pos: pos, size: 1}
	}
	if !cv.count(1, pos) {
		return &ynode{kind: yNull, pos: pos, size: 1}
	}
	switch v := n.(type) {
	case *ast.NullNode:
		return &ynode{kind: yNull, pos: pos, size: 1}
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
		return scalar(pos, normalizeInt(v.Value), tokenText(v.GetToken()))
	case *ast.FloatNode:
		return scalar(pos, v.Value, tokenText(v.GetToken()))
	case *ast.InfinityNode:
		return scalar(pos, v.Value, tokenText(v.GetToken()))
	case *ast.NanNode:
		return scalar(pos, math.NaN(), tokenText(v.GetToken()))
	case *ast.MappingNode:
		return cv.mapping(v.Values, mappingPos(v), depth)
	case *ast.MappingValueNode:
		return cv.mapping([]*ast.MappingValueNode{v}, tokenPos(v.Key.GetToken()), depth)
	case *ast.SequenceNode:
		return cv.sequence(v, pos, depth)
	case *ast.AnchorNode:
		val := cv.convert(v.Value, depth+1)
		if v.Name != nil {
			cv.anchors[tokenText(v.Name.GetToken())] = val
		}
		return val
	case *ast.AliasNode:
		return cv.alias(v, pos)
	case *ast.TagNode:
		return cv.tagged(v, pos, depth)
	default:
		cv.probs.add(pos, "unsupported YAML %s", strings.ToLower(n.Type().String()))
		return &ynode{kind: yNull, pos: pos, size: 1}
	}
}

// count adds n nodes to the file's total and reports once when the total
// passes maxNodes.
func (cv *converter) count(n int, pos Pos) bool {
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

func scalar(pos Pos, value any, text string) *ynode {
	return &ynode{kind: yScalar, pos: pos, value: value, text: text, size: 1}
}

// normalizeInt turns a YAML integer into a float64, the one number type of
// free-form values (as in JSON), unless a float64 cannot hold it exactly.
func normalizeInt(v any) any {
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

// mappingPos is where a map starts: its first key for a block map, its "{"
// for a flow map.
func mappingPos(m *ast.MappingNode) Pos {
	if m.IsFlowStyle || len(m.Values) == 0 {
		return tokenPos(m.GetToken())
	}
	return tokenPos(m.Values[0].Key.GetToken())
}

func (cv *converter) mapping(values []*ast.MappingValueNode, pos Pos, depth int) *ynode {
	out := &ynode{kind: yMap, pos: pos, size: 1}
	var merged []yentry
	for _, mv := range values {
		if mv == nil || mv.Key == nil {
			continue
		}
		keyPos := tokenPos(mv.Key.GetToken())
		if mv.Key.IsMergeKey() {
			merged = append(merged, cv.mergeEntries(mv.Value, keyPos, depth)...)
			continue
		}
		key, ok := cv.keyString(mv.Key, depth)
		if !ok {
			cv.probs.add(keyPos, "keys must be plain text, not a list or map")
			continue
		}
		val := cv.convert(mv.Value, depth+1)
		if val.kind == yNull {
			// An empty value has nothing to point at; point at its key.
			val = &ynode{kind: yNull, pos: keyPos, size: 1}
		}
		if prev, dup := out.lookup(key); dup {
			cv.probs.add(keyPos, "duplicate key %q (first given at line %d); remove one", key, prev.keyPos.Line)
			continue
		}
		out.entries = append(out.entries, yentry{key: key, keyPos: keyPos, val: val})
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

// keyString returns a map key as text; keys that are lists or maps fail.
func (cv *converter) keyString(k ast.MapKeyNode, depth int) (string, bool) {
	n := cv.convert(k, depth+1)
	switch n.kind {
	case yScalar:
		return n.text, true
	case yNull:
		return "", true
	}
	return "", false
}

// mergeEntries returns the entries a merge key (<<) brings in: those of one
// map, or of a list of maps with the earlier map winning.
func (cv *converter) mergeEntries(v ast.Node, pos Pos, depth int) []yentry {
	src := cv.convert(v, depth+1)
	var maps []*ynode
	switch src.kind {
	case yMap:
		maps = []*ynode{src}
	case ySeq:
		maps = src.items
	}
	var out []yentry
	seen := map[string]bool{}
	for _, m := range maps {
		if m.kind != yMap {
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
	if maps == nil {
		cv.probs.add(pos, "a merge key (<<) takes a map or a list of maps")
	}
	return out
}

func (cv *converter) sequence(s *ast.SequenceNode, pos Pos, depth int) *ynode {
	out := &ynode{kind: ySeq, pos: pos, size: 1}
	for _, v := range s.Values {
		item := cv.convert(v, depth+1)
		out.items = append(out.items, item)
		out.size += item.size
	}
	return out
}

func (cv *converter) alias(a *ast.AliasNode, pos Pos) *ynode {
	name := ""
	if a.Value != nil {
		name = tokenText(a.Value.GetToken())
	}
	target, ok := cv.anchors[name]
	if !ok {
		cv.probs.add(pos, "alias *%s names no anchor defined before it (&%s)", name, name)
		return &ynode{kind: yNull, pos: pos, size: 1}
	}
	// The alias shares the anchor's tree; count what it repeats.
	if !cv.count(target.size, pos) {
		return &ynode{kind: yNull, pos: pos, size: 1}
	}
	return target
}

// tagged handles an explicit tag: !!str makes a scalar text, the other
// standard tags are taken as written, and custom tags are problems.
func (cv *converter) tagged(t *ast.TagNode, pos Pos, depth int) *ynode {
	tag := tokenText(t.Start)
	val := cv.convert(t.Value, depth+1)
	switch tag {
	case "!!str", "tag:yaml.org,2002:str":
		if val.kind == yScalar {
			return scalar(val.pos, val.text, val.text)
		}
		if val.kind == yNull {
			return scalar(pos, "", "")
		}
		cv.probs.add(pos, "!!str applies to text, not to a list or map")
	case "!!int", "!!float", "!!bool", "!!null", "!!map", "!!seq", "!!binary", "!!timestamp":
	default:
		cv.probs.add(pos, "unsupported YAML tag %s; remove it", tag)
	}
	return val
}

// describe names a value's kind for messages: its text for a scalar, "a
// map", "a list" or "empty".
func describe(n *ynode) string {
	switch n.kind {
	case yMap:
		return "a map"
	case ySeq:
		return "a list"
	case yNull:
		return "empty"
	}
	if s, ok := n.value.(string); ok {
		return fmt.Sprintf("%q", truncate(s, 40))
	}
	return n.text
}

// truncate shortens s to at most n runes for a message, marking the cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
