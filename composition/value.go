package composition

import (
	"errors"
	"strings"
)

// ParseValue reads one YAML value, such as the text after "url:" under a
// task's with:, into the form Parse gives free-form values: float64 for
// numbers (or an integer type when a float64 cannot hold it exactly), bool,
// string, []any, map[string]any, and nil for an empty text. An editor uses
// it to turn what a user typed back into the value the file would hold.
func ParseValue(src string) (any, error) {
	probs := &problemList{}
	root, ok := readYAML([]byte(src), probs)
	if !ok || len(probs.probs) > 0 {
		msgs := make([]string, len(probs.probs))
		for i, p := range probs.probs {
			msgs[i] = p.Message
		}
		return nil, errors.New(strings.Join(msgs, "; "))
	}
	if root == nil {
		return nil, nil
	}
	d := &decoder{probs: probs, pos: Positions{}}
	return d.value(root, ""), nil
}

// ValueYAML writes a free-form value as Format writes it: a scalar on its
// own (quoted when plain text would read as something else), a map or a
// list as block YAML, one entry per line. ParseValue reads the result back
// to an equal value.
func ValueYAML(v any) string {
	if _, ok := entries(v); ok {
		return blockText(v)
	}
	if _, ok := items(v); ok {
		return blockText(v)
	}
	if s, ok := v.(string); ok && literalOK(s) {
		var e emitter
		e.literal(s, 2)
		return strings.TrimPrefix(e.b.String(), " ")
	}
	return scalarText(v)
}

// blockText writes v as the value of a key and returns the text without the
// key: the entries of a map or the items of a list at no indent.
func blockText(v any) string {
	var e emitter
	e.value(v, -2)
	return strings.TrimPrefix(e.b.String(), "\n")
}

// ScalarText writes a scalar as Format would after "key: ": plain when that
// reads back as the same value, else double-quoted.
func ScalarText(v any) string { return scalarText(v) }
