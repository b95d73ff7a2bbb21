package trigger

import (
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
// and returns new params, with composition.Resolve: a string that is
// exactly one expression takes the expression's value with its type;
// otherwise each expression is formatted into the text. Lists and maps are
// walked. Errors name the param and the expression.
func (s RunSpec) ResolveParams(env map[string]any) (map[string]any, error) {
	if s.Params == nil {
		return nil, nil
	}
	out, err := composition.Resolve(s.Params, env)
	if err != nil {
		return nil, err
	}
	return out.(map[string]any), nil
}
