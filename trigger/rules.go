package trigger

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"baton/composition"
	"baton/yamltree"
)

var paramNameRe = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// triggerRules reads rules, or a schedule's run shorthand, into t.Rules.
func (d *decoder) triggerRules(t *Trigger, root *yamltree.Node, f map[string]yamltree.Entry, kindKnown bool) {
	run, hasRun := f["run"]
	rules, hasRules := f["rules"]
	switch {
	case hasRun && hasRules:
		d.probs.add(run.KeyPos, "give either run (one rule that always fires) or rules, not both")
		return
	case hasRun:
		if r, ok := d.runSpec(run.Val, "run", "run"); ok {
			t.Rules = []Rule{{Name: "rule 1", Run: r}}
		}
		return
	case hasRules:
		t.Rules = d.rules(rules.Val)
		return
	case !kindKnown:
		return
	case t.Kind == Schedule:
		d.probs.add(root.Pos, "missing run; add run: {composition: NAME} for the composition each tick starts")
	default:
		d.probs.add(root.Pos, "missing rules; add at least one rule such as rules: [{run: {composition: NAME}}]")
	}
}

func (d *decoder) rules(n *yamltree.Node) []Rule {
	if n.Kind == yamltree.Null || n.Kind == yamltree.List && len(n.Items) == 0 {
		d.probs.add(n.Pos, "rules is empty; add at least one rule with run: {composition: NAME}")
		return nil
	}
	if n.Kind != yamltree.List {
		d.probs.add(n.Pos, "rules must be a list of rules, each with when: and run:, not %s", yamltree.Describe(n))
		return nil
	}
	var out []Rule
	names := map[string]int{}
	for i, item := range n.Items {
		path := "rules." + strconv.Itoa(i)
		d.pos[path] = item.Pos
		if item.Kind != yamltree.Map {
			d.probs.add(item.Pos, "rule %d must be a map with when: and run:, not %s", i+1, yamltree.Describe(item))
			continue
		}
		r := Rule{Name: "rule " + strconv.Itoa(i+1)}
		f := d.fields(item, path, fmt.Sprintf("rule %d", i+1), []string{"name", "when", "run"})
		if e, ok := f["name"]; ok {
			if s, ok := d.text(e.Val, fmt.Sprintf("name of rule %d", i+1)); ok && strings.TrimSpace(s) != "" {
				r.Name = s
				if prev, dup := names[s]; dup {
					d.probs.add(e.Val.Pos, "rule name %s is also the name of rule %d; give each rule its own name", quote(s), prev)
				}
				names[s] = i + 1
			}
		}
		where := "rule " + strconv.Itoa(i+1)
		if r.Name != where {
			where = "rule " + quote(r.Name)
		}
		if e, ok := f["when"]; ok {
			r.When = d.when(e.Val, where)
		}
		e, ok := f["run"]
		if !ok {
			d.probs.add(item.Pos, "%s needs run: {composition: NAME}, the composition it starts", where)
			continue
		}
		spec, ok := d.runSpec(e.Val, path+".run", "run of "+where)
		if ok {
			r.Run = spec
			out = append(out, r)
		}
	}
	return out
}

// when reads a rule's condition, a bare expression.
func (d *decoder) when(n *yamltree.Node, where string) string {
	s, ok := d.text(n, "when of "+where)
	if !ok {
		return ""
	}
	src := strings.TrimSpace(s)
	if src == "" {
		return ""
	}
	if inner, wrapped := strings.CutPrefix(src, "${{"); wrapped && strings.HasSuffix(inner, "}}") {
		inner = strings.TrimSpace(strings.TrimSuffix(inner, "}}"))
		d.probs.add(n.Pos, "when of %s is a bare expression: drop the ${{ }} around it and write %s", where, truncate(inner, 60))
		return s
	}
	if composition.HasExpr(src) {
		d.probs.add(n.Pos, "when of %s is a bare expression: write it without ${{ }}", where)
		return s
	}
	if err := checkRuleExpr(src); err != nil {
		d.probs.add(n.Pos, "when of %s: %v", where, err)
	}
	return s
}

// runSpec reads {composition, params}; subj names it in messages.
func (d *decoder) runSpec(n *yamltree.Node, path, subj string) (RunSpec, bool) {
	if n.Kind != yamltree.Map {
		d.probs.add(n.Pos, "%s must be a map such as {composition: build, params: {version: v1}}, not %s", subj, yamltree.Describe(n))
		return RunSpec{}, false
	}
	f := d.fields(n, path, subj, []string{"composition", "params"})
	var r RunSpec
	ok := true
	if e, has := f["composition"]; has {
		name, good := d.text(e.Val, "composition in "+subj)
		r.Composition = name
		switch {
		case !good:
			ok = false
		case name == "":
			d.probs.add(e.Val.Pos, "composition in %s is empty; name the composition to start", subj)
			ok = false
		case len(name) > composition.MaxNameLen || !nameRe.MatchString(name):
			d.probs.add(e.Val.Pos, "composition in %s must be the name of a composition (lowercase letters, digits, - and _), not %s", subj, quote(name))
			ok = false
		}
	} else {
		d.probs.add(n.Pos, "%s needs the composition to start: add composition: NAME", subj)
		ok = false
	}
	if e, has := f["params"]; has {
		r.Params = d.params(e.Val, path+".params", subj)
	}
	return r, ok
}

// params reads a rule's params: a map of param name to a free-form value
// whose strings may hold ${{ }} templates over the rule's names.
func (d *decoder) params(n *yamltree.Node, path, subj string) map[string]any {
	switch n.Kind {
	case yamltree.Null:
		return nil
	case yamltree.Map:
	default:
		d.probs.add(n.Pos, "params in %s must be a map of param: value, not %s", subj, yamltree.Describe(n))
		return nil
	}
	out := make(map[string]any, len(n.Entries))
	for _, e := range n.Entries {
		if !paramNameRe.MatchString(e.Key) {
			d.probs.add(e.KeyPos, "param name %s in %s may hold only lowercase letters, digits and _, and must not start with a digit", quote(e.Key), subj)
		}
		out[e.Key] = d.value(e.Val, joinPath(path, e.Key), "param "+e.Key+" in "+subj)
	}
	return out
}

// value turns a free-form value into Go values (map[string]any, []any,
// string, float64, bool, nil), records the position of every part and
// checks the templates in its strings.
func (d *decoder) value(n *yamltree.Node, path, subj string) any {
	d.pos[path] = n.Pos
	switch n.Kind {
	case yamltree.Scalar:
		if s, ok := n.Value.(string); ok {
			d.checkTemplate(s, n, subj)
		}
		return n.Value
	case yamltree.Map:
		m := make(map[string]any, len(n.Entries))
		for _, e := range n.Entries {
			m[e.Key] = d.value(e.Val, joinPath(path, e.Key), subj)
		}
		return m
	case yamltree.List:
		l := make([]any, len(n.Items))
		for i, item := range n.Items {
			l[i] = d.value(item, path+"."+strconv.Itoa(i), subj)
		}
		return l
	}
	return nil
}

func (d *decoder) checkTemplate(s string, n *yamltree.Node, subj string) {
	if !composition.HasExpr(s) {
		return
	}
	exprs, err := templateExprs(s)
	if err != nil {
		d.probs.add(n.Pos, "%s: %v", subj, err)
		return
	}
	for _, src := range exprs {
		if err := checkRuleExpr(src); err != nil {
			d.probs.add(n.Pos, "%s: ${{ %s }}: %v", subj, truncate(src, 60), err)
		}
	}
}

// checkRuleExpr compiles a bare expression over the names a rule sees.
func checkRuleExpr(src string) error {
	if strings.TrimSpace(src) == "" {
		return fmt.Errorf("the expression is empty")
	}
	err := composition.CheckExpr(src, RuleRoots()...)
	if err != nil && strings.HasPrefix(err.Error(), "unknown name ") {
		roots := RuleRoots()
		return fmt.Errorf("%v; rules can use %s and %s", err, strings.Join(roots[:len(roots)-1], ", "), roots[len(roots)-1])
	}
	return err
}

// RuleRoots returns the names a rule's when and params may use: event,
// payload, headers, trigger and delivery. Delivery.Env builds them.
func RuleRoots() []string {
	return []string{"event", "payload", "headers", "trigger", "delivery"}
}

// truncate shortens s to n runes for a message, marking the cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
