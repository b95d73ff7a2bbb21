package plugin

import (
	"fmt"
	"math"
	"strings"
	"time"

	"baton/composition"
	"baton/yamltree"
)

// This file reads values out of a manifest's YAML tree, reporting a value
// of the wrong kind at its place.

// seqItem returns item i of a list, or n itself when it is not a list or
// too short, for placing a problem.
func seqItem(n *yamltree.Node, i int) *yamltree.Node {
	if n.Kind == yamltree.List && i < len(n.Items) {
		return n.Items[i]
	}
	return n
}

// kindOf names a node's kind for a problem.
func kindOf(n *yamltree.Node) string {
	switch n.Kind {
	case yamltree.Null:
		return "nothing"
	case yamltree.List:
		return "a list"
	case yamltree.Map:
		return "a mapping"
	}
	switch n.Value.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	}
	return "a number"
}

// isMapping reports whether n is a mapping or nothing (an empty mapping).
func isMapping(n *yamltree.Node) bool {
	return n.Kind == yamltree.Map || n.Kind == yamltree.Null
}

// entries returns the keys of a mapping in file order; nothing (a key
// without a value) is an empty mapping.
func (d *manifestDecoder) entries(n *yamltree.Node, where string) []yamltree.Entry {
	switch n.Kind {
	case yamltree.Null:
		return nil
	case yamltree.Map:
		return n.Entries
	}
	d.errorf(n, "%s: want a mapping of keys to values, got %s", where, kindOf(n))
	return nil
}

// str returns a string value; nothing is "".
func (d *manifestDecoder) str(n *yamltree.Node, where string) string {
	if n.Kind == yamltree.Null {
		return ""
	}
	if s, ok := n.Value.(string); ok && n.Kind == yamltree.Scalar {
		return s
	}
	d.errorf(n, "%s: want a string, got %s; quote it if it is meant as text", where, kindOf(n))
	return ""
}

// scalarText returns a scalar as written, so that version: 1.10 stays
// "1.10".
func (d *manifestDecoder) scalarText(n *yamltree.Node, where string) string {
	switch n.Kind {
	case yamltree.Null:
		return ""
	case yamltree.Scalar:
		if s, ok := n.Value.(string); ok {
			return s
		}
		return n.Text
	}
	d.errorf(n, "%s: want a string, got %s", where, kindOf(n))
	return ""
}

// boolean returns a true/false value; nothing is false.
func (d *manifestDecoder) boolean(n *yamltree.Node, where string) bool {
	if n.Kind == yamltree.Null {
		return false
	}
	if b, ok := n.Value.(bool); ok && n.Kind == yamltree.Scalar {
		return b
	}
	d.errorf(n, "%s: want true or false, got %s", where, kindOf(n))
	return false
}

// strList returns a list of strings; nothing is an empty list.
func (d *manifestDecoder) strList(n *yamltree.Node, where string) []string {
	switch n.Kind {
	case yamltree.Null:
		return nil
	case yamltree.List:
		out := make([]string, 0, len(n.Items))
		for _, item := range n.Items {
			out = append(out, d.str(item, where))
		}
		return out
	}
	d.errorf(n, "%s: want a list such as [a, b], got %s", where, kindOf(n))
	return nil
}

// list returns a list of values; nothing is an empty list.
func (d *manifestDecoder) list(n *yamltree.Node, where string) []any {
	switch n.Kind {
	case yamltree.Null:
		return nil
	case yamltree.List:
		out := make([]any, 0, len(n.Items))
		for _, item := range n.Items {
			out = append(out, d.value(item, where))
		}
		return out
	}
	d.errorf(n, "%s: want a list such as [a, b], got %s", where, kindOf(n))
	return nil
}

// value converts a node to the Go value a JSON decoder would give: string,
// float64, bool, nil, []any or map[string]any.
func (d *manifestDecoder) value(n *yamltree.Node, where string) any {
	switch n.Kind {
	case yamltree.List:
		return d.list(n, where)
	case yamltree.Map:
		out := make(map[string]any, len(n.Entries))
		for _, e := range n.Entries {
			out[e.Key] = d.value(e.Val, where+"."+e.Key)
		}
		return out
	case yamltree.Scalar:
		switch x := n.Value.(type) {
		case int64: // too large for a float64 to hold exactly
			return float64(x)
		case uint64:
			return float64(x)
		}
		return n.Value
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
