package trigger

import (
	"fmt"
	"sort"
	"strings"

	"baton/composition"
)

// templateExprs returns the expressions inside the ${{ }} of s.
func templateExprs(s string) ([]string, error) {
	segs, err := composition.SplitTemplate(s)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, seg := range segs {
		if seg.Expr {
			out = append(out, seg.Text)
		}
	}
	return out, nil
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
	segs, err := composition.SplitTemplate(s)
	if err != nil {
		return nil, err
	}
	var only *composition.Segment
	for i := range segs {
		if segs[i].Expr && only == nil {
			only = &segs[i]
		} else if segs[i].Expr || strings.TrimSpace(segs[i].Text) != "" {
			only = nil
			break
		}
	}
	if only != nil {
		return eval(only.Text, env)
	}
	var b strings.Builder
	for _, seg := range segs {
		if !seg.Expr {
			b.WriteString(seg.Text)
			continue
		}
		v, err := eval(seg.Text, env)
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
