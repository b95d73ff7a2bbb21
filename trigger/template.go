package trigger

import (
	"fmt"
	"sort"
	"strings"

	"baton/composition"
)

// segment is a piece of a template: literal text or one expression.
type segment struct {
	text   string // the literal text, or the expression's source
	isExpr bool
}

// splitTemplate splits s into literal text and the expressions inside its
// ${{ }}. An expression ends at the first }} outside its string literals
// and braces, so ${{ {"a": {"b": 1}} }} is one expression.
func splitTemplate(s string) ([]segment, error) {
	var segs []segment
	for {
		i := strings.Index(s, "${{")
		if i < 0 {
			if s != "" {
				segs = append(segs, segment{text: s})
			}
			return segs, nil
		}
		if i > 0 {
			segs = append(segs, segment{text: s[:i]})
		}
		body := s[i+3:]
		end := closingBraces(body)
		if end < 0 {
			return nil, fmt.Errorf("unclosed ${{ in %s; close it with }}", quote(s[i:]))
		}
		segs = append(segs, segment{text: strings.TrimSpace(body[:end]), isExpr: true})
		s = body[end+2:]
	}
}

// templateExprs returns the expressions inside the ${{ }} of s.
func templateExprs(s string) ([]string, error) {
	segs, err := splitTemplate(s)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, seg := range segs {
		if seg.isExpr {
			out = append(out, seg.text)
		}
	}
	return out, nil
}

// closingBraces returns the index of the }} that closes an expression, or -1.
func closingBraces(s string) int {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\'', '`':
			i = stringEnd(s, i) - 1
		case '{':
			depth++
		case '}':
			if depth == 0 && strings.HasPrefix(s[i:], "}}") {
				return i
			}
			if depth > 0 {
				depth--
			}
		}
	}
	return -1
}

// stringEnd returns the index just past the string literal that starts at
// s[i], or len(s) when it is not closed.
func stringEnd(s string, i int) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			if q != '`' {
				j++
			}
		case q:
			return j + 1
		}
	}
	return len(s)
}

// ResolveParams evaluates the ${{ }} templates in the rule's params against
// env (Delivery.Env, or the same names for API, schedule and run events)
// and returns new params. It follows composition.Resolve, which only knows
// a composition's own names: a string that is exactly one expression takes
// the expression's value with its type; otherwise each expression is
// formatted into the text with composition.FormatValue. Lists and maps are
// walked. Errors name the param and the expression.
func (s RunSpec) ResolveParams(env map[string]any) (map[string]any, error) {
	if s.Params == nil {
		return nil, nil
	}
	out, err := resolveValue(s.Params, env)
	if err != nil {
		return nil, err
	}
	return out.(map[string]any), nil
}

func resolveValue(v any, env map[string]any) (any, error) {
	switch x := v.(type) {
	case string:
		return resolveString(x, env)
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			r, err := resolveValue(item, env)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = r
		}
		return out, nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make(map[string]any, len(x))
		for _, k := range keys {
			r, err := resolveValue(x[k], env)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = r
		}
		return out, nil
	}
	return v, nil
}

func resolveString(s string, env map[string]any) (any, error) {
	if !composition.HasExpr(s) {
		return s, nil
	}
	segs, err := splitTemplate(s)
	if err != nil {
		return nil, err
	}
	var only *segment
	for i := range segs {
		if segs[i].isExpr && only == nil {
			only = &segs[i]
		} else if segs[i].isExpr || strings.TrimSpace(segs[i].text) != "" {
			only = nil
			break
		}
	}
	if only != nil {
		return eval(only.text, env)
	}
	var b strings.Builder
	for _, seg := range segs {
		if !seg.isExpr {
			b.WriteString(seg.text)
			continue
		}
		v, err := eval(seg.text, env)
		if err != nil {
			return nil, err
		}
		b.WriteString(composition.FormatValue(v))
	}
	return b.String(), nil
}

func eval(src string, env map[string]any) (any, error) {
	v, err := composition.Eval(src, env)
	if err != nil {
		return nil, fmt.Errorf("${{ %s }}: %v", truncate(src, 60), err)
	}
	return v, nil
}
