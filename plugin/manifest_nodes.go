package plugin

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"

	"baton/composition"
)

// This file reads values out of a manifest's YAML syntax tree, reporting a
// value of the wrong kind at its place.

// unwrap returns the value under tags and anchors.
func unwrap(n ast.Node) ast.Node {
	for {
		switch v := n.(type) {
		case *ast.TagNode:
			n = v.Value
		case *ast.AnchorNode:
			n = v.Value
		default:
			return n
		}
	}
}

// place returns where n starts; a mapping starts at its first key.
func place(n ast.Node) (line, col int) {
	if n == nil {
		return 0, 0
	}
	if m, ok := n.(*ast.MappingNode); ok && len(m.Values) > 0 {
		n = m.Values[0].Key
	}
	if kv, ok := n.(*ast.MappingValueNode); ok {
		n = kv.Key
	}
	if doc, ok := n.(*ast.DocumentNode); ok && doc.Body != nil {
		return place(doc.Body)
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return 0, 0
	}
	return tk.Position.Line, tk.Position.Column
}

// keyName returns the text of a mapping key.
func keyName(kv *ast.MappingValueNode) string {
	switch k := unwrap(kv.Key).(type) {
	case *ast.StringNode:
		return k.Value
	case nil:
		return ""
	default:
		if tk := k.GetToken(); tk != nil {
			return tk.Value
		}
	}
	return ""
}

// seqItem returns item i of a sequence node, or n itself when it is not a
// sequence or too short, for placing a problem.
func seqItem(n ast.Node, i int) ast.Node {
	if s, ok := unwrap(n).(*ast.SequenceNode); ok && i < len(s.Values) {
		return s.Values[i]
	}
	return n
}

// kindOf names a node's kind for a problem.
func kindOf(n ast.Node) string {
	switch n.(type) {
	case *ast.StringNode, *ast.LiteralNode:
		return "a string"
	case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "a number"
	case *ast.BoolNode:
		return "a boolean"
	case *ast.NullNode:
		return "nothing"
	case *ast.SequenceNode:
		return "a list"
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.AliasNode:
		return "an alias"
	}
	return "a " + n.Type().String()
}

// isMapping reports whether n is a mapping or nothing (an empty mapping).
func isMapping(n ast.Node) bool {
	switch unwrap(n).(type) {
	case nil, *ast.NullNode, *ast.MappingNode, *ast.MappingValueNode:
		return true
	}
	return false
}

// entries returns the pairs of a mapping node in file order; nothing (a
// key without a value) is an empty mapping.
func (d *manifestDecoder) entries(n ast.Node, where string) []*ast.MappingValueNode {
	switch v := unwrap(n).(type) {
	case nil, *ast.NullNode:
		return nil
	case *ast.MappingNode:
		return v.Values
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{v}
	default:
		d.errorf(v, "%s: want a mapping of keys to values, got %s", where, kindOf(v))
		return nil
	}
}

// str returns a string value; nothing is "".
func (d *manifestDecoder) str(n ast.Node, where string) string {
	switch v := unwrap(n).(type) {
	case nil, *ast.NullNode:
		return ""
	case *ast.StringNode:
		return v.Value
	case *ast.LiteralNode:
		return v.Value.Value
	default:
		d.errorf(v, "%s: want a string, got %s; quote it if it is meant as text", where, kindOf(v))
		return ""
	}
}

// scalarText returns a scalar as written, so that version: 1.10 stays
// "1.10".
func (d *manifestDecoder) scalarText(n ast.Node, where string) string {
	switch v := unwrap(n).(type) {
	case nil, *ast.NullNode:
		return ""
	case *ast.StringNode:
		return v.Value
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
		return v.GetToken().Value
	default:
		d.errorf(v, "%s: want a string, got %s", where, kindOf(v))
		return ""
	}
}

// boolean returns a true/false value; nothing is false.
func (d *manifestDecoder) boolean(n ast.Node, where string) bool {
	switch v := unwrap(n).(type) {
	case nil, *ast.NullNode:
		return false
	case *ast.BoolNode:
		return v.Value
	default:
		d.errorf(v, "%s: want true or false, got %s", where, kindOf(v))
		return false
	}
}

// strList returns a list of strings; nothing is an empty list.
func (d *manifestDecoder) strList(n ast.Node, where string) []string {
	switch v := unwrap(n).(type) {
	case nil, *ast.NullNode:
		return nil
	case *ast.SequenceNode:
		out := make([]string, 0, len(v.Values))
		for _, item := range v.Values {
			out = append(out, d.str(item, where))
		}
		return out
	default:
		d.errorf(v, "%s: want a list such as [a, b], got %s", where, kindOf(v))
		return nil
	}
}

// list returns a list of values; nothing is an empty list.
func (d *manifestDecoder) list(n ast.Node, where string) []any {
	switch v := unwrap(n).(type) {
	case nil, *ast.NullNode:
		return nil
	case *ast.SequenceNode:
		out := make([]any, 0, len(v.Values))
		for _, item := range v.Values {
			out = append(out, d.value(item, where))
		}
		return out
	default:
		d.errorf(v, "%s: want a list such as [a, b], got %s", where, kindOf(v))
		return nil
	}
}

// value converts a node to the Go value a JSON decoder would give: string,
// float64, bool, nil, []any or map[string]any.
func (d *manifestDecoder) value(n ast.Node, where string) any {
	if t, ok := n.(*ast.TagNode); ok && t.Start != nil && t.Start.Value == "!!str" {
		if tk := unwrap(t.Value).GetToken(); tk != nil {
			return tk.Value
		}
	}
	switch v := unwrap(n).(type) {
	case nil, *ast.NullNode:
		return nil
	case *ast.StringNode:
		return v.Value
	case *ast.LiteralNode:
		return v.Value.Value
	case *ast.BoolNode:
		return v.Value
	case *ast.IntegerNode:
		switch x := v.Value.(type) {
		case int64:
			return float64(x)
		case uint64:
			return float64(x)
		}
		return v.GetToken().Value
	case *ast.FloatNode:
		return v.Value
	case *ast.SequenceNode:
		return d.list(v, where)
	case *ast.MappingNode, *ast.MappingValueNode:
		out := map[string]any{}
		for _, kv := range d.entries(v, where) {
			out[keyName(kv)] = d.value(kv.Value, where+"."+keyName(kv))
		}
		return out
	case *ast.AliasNode:
		d.errorf(v, "%s: aliases (*name) are not supported in %s; write the value out", where, ManifestFile)
	default:
		d.errorf(v, "%s: unsupported value: %s", where, kindOf(v))
	}
	return nil
}

// isExpression reports whether v is a string holding a ${{ }} expression,
// which is resolved when a run starts and may stand for any type.
func isExpression(v any) bool {
	s, ok := v.(string)
	return ok && strings.Contains(s, "${{")
}

// checkFieldValue says what is wrong with v as a value of a field of type
// t, or returns "" when it fits.
func checkFieldValue(t composition.FieldType, v any) string {
	if v == nil || isExpression(v) {
		return ""
	}
	switch t {
	case composition.TypeString, composition.TypeText, composition.TypeSecret:
		if _, ok := v.(string); !ok {
			return fmt.Sprintf("want a string, got %s; quote it", describe(v))
		}
	case composition.TypeNumber:
		if f, ok := v.(float64); !ok || math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Sprintf("want a number, got %s", describe(v))
		}
	case composition.TypeBoolean:
		if _, ok := v.(bool); !ok {
			return fmt.Sprintf("want true or false, got %s", describe(v))
		}
	case composition.TypeList:
		if _, ok := v.([]any); !ok {
			return fmt.Sprintf("want a list such as [a, b], got %s", describe(v))
		}
	case composition.TypeMap:
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Sprintf("want a mapping of names to values, got %s", describe(v))
		}
		for k, x := range m {
			switch x.(type) {
			case []any, map[string]any:
				return fmt.Sprintf("%s: a map's values are strings, numbers or booleans, got %s", k, describe(x))
			}
		}
	case composition.TypeDuration:
		s, ok := v.(string)
		if !ok {
			return fmt.Sprintf("want a duration such as 30s or 5m, got %s", describe(v))
		}
		if _, err := time.ParseDuration(s); err != nil {
			return fmt.Sprintf("%q is not a duration; write e.g. 30s, 5m or 1h30m", s)
		}
	}
	return ""
}

// inEnum reports whether v is one of the enum values.
func inEnum(v any, enum []any) bool {
	switch v.(type) {
	case string, float64, bool:
	default:
		return true // only scalars are compared
	}
	for _, e := range enum {
		if e == v {
			return true
		}
	}
	return false
}
