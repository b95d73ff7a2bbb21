package composition

import (
	"fmt"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// factsRoots are the names requires.facts may use.
var factsRoots = []string{"facts"}

// exprScope says what a template may refer to: within a task's own fields
// (with, env, if, run, requires) only upstream tasks, elsewhere any task.
type exprScope struct {
	task     *Task
	index    int
	label    string
	upstream []bool // tasks upstream of task by index, computed when first needed
	// agent: the fields of a work task (with, run, env), which also see
	// the executor the task runs on.
	agent bool
}

// checkExpressions checks every ${{ }} of the composition: each must
// compile; params.X must name a declared param; tasks.X a declared task
// (and, in a task's own fields, one upstream of it through needs);
// tasks.X.Y must be outputs or status; run.Y one of run's fields; other
// names are unknown. requires.facts is a bare expression over facts.
func (v *validator) checkExpressions() {
	outer := &exprScope{}
	for _, k := range sortedKeys(v.c.Outputs) {
		v.checkValue(v.c.Outputs[k], "outputs."+k, outer)
	}
	if v.c.OnFailure != nil {
		for _, k := range sortedKeys(v.c.OnFailure.Params) {
			v.checkValue(v.c.OnFailure.Params[k], "on_failure.params."+k, outer)
		}
	}
	v.checkRequires(v.c.Requires, "requires", outer)
	for i, t := range v.c.Tasks {
		path := taskPath(i)
		scope := &exprScope{task: t, index: i, label: taskLabel(i, t.ID)}
		fields := &exprScope{task: t, index: i, label: scope.label, agent: v.isWork(t)}
		for _, k := range sortedKeys(t.With) {
			if s, ok := t.With[k].(string); ok && k == "run" {
				v.checkTemplate(s, v.fieldPos(i, t, k), fields)
				continue
			}
			v.checkValue(t.With[k], path+".with."+k, fields)
		}
		for _, k := range sortedKeys(t.Env) {
			v.checkTemplate(t.Env[k], v.at(path+".env."+k), fields)
		}
		v.checkTemplate(t.If, v.at(path+".if"), scope)
		v.checkRequires(t.Requires, path+".requires", scope)
	}
}

// isWork reports whether a task runs on an executor (not a control task
// the engine handles itself). Without a catalog every task may be one.
func (v *validator) isWork(t *Task) bool {
	if v.cat == nil {
		return true
	}
	spec, ok := v.cat.TaskType(t.Type)
	return !ok || spec == nil || !spec.Control
}

func (v *validator) checkRequires(r *Requires, path string, scope *exprScope) {
	if r == nil {
		return
	}
	v.checkTemplate(r.Pool, v.at(path+".pool"), scope)
	for _, k := range sortedKeys(r.Labels) {
		v.checkTemplate(r.Labels[k], v.at(path+".labels."+k), scope)
	}
	if strings.TrimSpace(r.Facts) == "" {
		return
	}
	if err := CheckExpr(r.Facts, factsRoots...); err != nil {
		where := "requires"
		if scope.task != nil {
			where += " of " + scope.label
		}
		v.probs.add(v.at(path+".facts"), "facts in %s: %v", where, err)
	}
}

// checkValue checks the templates in a free-form value, recursively.
func (v *validator) checkValue(val any, path string, scope *exprScope) {
	switch x := val.(type) {
	case string:
		v.checkTemplate(x, v.at(path), scope)
	case []any:
		for i, item := range x {
			v.checkValue(item, fmt.Sprintf("%s.%d", path, i), scope)
		}
	case map[string]any:
		for _, k := range sortedKeys(x) {
			v.checkValue(x[k], path+"."+k, scope)
		}
	}
}

func (v *validator) checkTemplate(s string, pos Pos, scope *exprScope) {
	if !HasExpr(s) {
		return
	}
	segs, err := splitTemplate(s)
	if err != nil {
		v.probs.add(pos, "%v", err)
		return
	}
	for _, seg := range segs {
		if seg.isExpr {
			v.checkExpr(seg.text, pos, scope)
		}
	}
}

func (v *validator) checkExpr(src string, pos Pos, scope *exprScope) {
	roots := templateRoots
	if scope.agent {
		roots = agentRoots
	}
	if _, err := compile(src, roots); err != nil {
		msg := err.Error()
		switch {
		case !scope.agent && strings.HasPrefix(msg, "unknown name agent"):
			msg = "agent is known only in the with, run and env of a task that runs on an executor (not in if, requires, outputs, on_failure or a control task): " +
				"the executor is chosen just before the task starts"
		case strings.HasPrefix(msg, "unknown name "):
			msg += "; expressions can use params, tasks, context and run (and agent in a work task's with, run and env)"
		}
		v.probs.add(pos, "${{ %s }}: %s", truncate(src, 60), msg)
		return
	}
	seen := map[string]bool{}
	for _, r := range exprRefs(src) {
		if msg := v.refProblem(r, scope); msg != "" && !seen[msg] {
			seen[msg] = true
			v.probs.add(pos, "%s", msg)
		}
	}
}

// refProblem returns what is wrong with one reference, or "".
func (v *validator) refProblem(r exprRef, scope *exprScope) string {
	switch r.root {
	case "params":
		if v.c.Param(r.name) != nil {
			return ""
		}
		names := make([]string, len(v.c.Params))
		for i, p := range v.c.Params {
			names[i] = p.Name
		}
		if len(names) == 0 {
			return fmt.Sprintf("params.%s: this composition declares no params; add it under params:", r.name)
		}
		return fmt.Sprintf("params.%s: unknown param %q%s", r.name, r.name, DidYouMean(r.name, names))
	case "run":
		if contains(runFields, r.name) {
			return ""
		}
		return fmt.Sprintf("run.%s: run has only %s%s", r.name, strings.Join(runFields, ", "), DidYouMean(r.name, runFields))
	case "tasks":
		return v.taskRefProblem(r, scope)
	case "agent":
		if contains(agentFields, r.name) {
			return ""
		}
		return fmt.Sprintf("agent.%s: agent has only %s%s (facts are under agent.facts)", r.name, strings.Join(agentFields, ", "), DidYouMean(r.name, agentFields))
	}
	return ""
}

func (v *validator) taskRefProblem(r exprRef, scope *exprScope) string {
	ref := "tasks." + r.name
	if _, ok := v.index[r.name]; !ok {
		if r.field != "" {
			return "" // reported for the bare tasks.X reference
		}
		ids := make([]string, 0, len(v.index))
		for _, t := range v.c.Tasks {
			if t.ID != "" {
				ids = append(ids, t.ID)
			}
		}
		return fmt.Sprintf("%s: unknown task %q%s", ref, r.name, DidYouMean(r.name, ids))
	}
	if r.field != "" {
		if !contains(taskFields, r.field) {
			return fmt.Sprintf("%s.%s: a task has only outputs and status%s", ref, r.field, DidYouMean(r.field, taskFields))
		}
		return "" // the bare tasks.X reference is checked on its own
	}
	if scope.task == nil {
		return ""
	}
	if r.name == scope.task.ID {
		return fmt.Sprintf("%s cannot use its own outputs or status (%s)", scope.label, ref)
	}
	if scope.upstream == nil {
		scope.upstream = v.c.ancestors(scope.index, v.index)
	}
	if j := v.index[r.name]; !scope.upstream[j] || j == scope.index {
		return fmt.Sprintf("%s uses %s but does not run after it; add %s to its needs", scope.label, ref, r.name)
	}
	return ""
}

// exprRef is a reference to a root's member found in an expression:
// params.<name>, run.<name>, tasks.<name>, or tasks.<name>.<field>.
type exprRef struct {
	root  string
	name  string
	field string
}

// exprRefs returns the constant member references of an expression that
// compiles. Dynamic ones (tasks[x]) cannot be checked and are left out.
func exprRefs(src string) []exprRef {
	tree, err := parser.Parse(rewriteHyphens(src))
	if err != nil {
		return nil
	}
	c := &refCollector{}
	ast.Walk(&tree.Node, c)
	return c.refs
}

type refCollector struct {
	refs []exprRef
}

// Visit implements ast.Visitor.
func (c *refCollector) Visit(n *ast.Node) {
	m, ok := (*n).(*ast.MemberNode)
	if !ok {
		return
	}
	prop, ok := m.Property.(*ast.StringNode)
	if !ok {
		return
	}
	switch base := unchain(m.Node).(type) {
	case *ast.IdentifierNode:
		c.refs = append(c.refs, exprRef{root: base.Value, name: prop.Value})
	case *ast.MemberNode:
		root, isIdent := unchain(base.Node).(*ast.IdentifierNode)
		id, isString := base.Property.(*ast.StringNode)
		if isIdent && isString && root.Value == "tasks" {
			c.refs = append(c.refs, exprRef{root: "tasks", name: id.Value, field: prop.Value})
		}
	}
}

func unchain(n ast.Node) ast.Node {
	for {
		ch, ok := n.(*ast.ChainNode)
		if !ok {
			return n
		}
		n = ch.Node
	}
}
