package composition

import (
	"fmt"
	"strings"

	"baton/yamltree"
)

// ShellTaskType is the task type of a task that gives only run:.
const ShellTaskType = "shell"

func (d *decoder) tasks(n *yamltree.Node) []*Task {
	switch n.Kind {
	case yamltree.Null:
		return nil
	case yamltree.List:
	default:
		d.probs.add(n.Pos, "tasks must be a list of tasks, each starting with - id: <name>, not %s", yamltree.Describe(n))
		return nil
	}
	tasks := make([]*Task, len(n.Items))
	for i, item := range n.Items {
		path := indexPath("tasks", i)
		d.pos[path] = item.Pos
		tasks[i] = d.task(i, item, path)
	}
	// An omitted needs means the task listed just before.
	for i, t := range tasks {
		if !t.NeedsGiven && i > 0 && tasks[i-1].ID != "" {
			t.Needs = []string{tasks[i-1].ID}
		}
	}
	return tasks
}

// taskLabel names a task in messages: "task build", or "task 3" (counting
// from 1) when it has no id.
func taskLabel(i int, id string) string {
	if id == "" {
		return fmt.Sprintf("task %d", i+1)
	}
	return "task " + id
}

// task reads one task. A task that is not a map is kept as an empty Task so
// that Tasks[i] stays the i-th entry of the file.
func (d *decoder) task(i int, n *yamltree.Node, path string) *Task {
	t := &Task{Index: i}
	if n.Kind != yamltree.Map {
		d.probs.add(n.Pos, "task %d must be a map with id: and type: or run:, not %s", i+1, yamltree.Describe(n))
		return t
	}
	if e, ok := n.Lookup("id"); ok && e.Val.Kind == yamltree.Scalar {
		t.ID, _ = d.text(e.Val, "id")
	}
	where := taskLabel(i, t.ID)
	f := d.fields(n, path, where, taskFileKeys)
	if v, ok := f["id"]; ok {
		d.checkTaskID(t, v, where)
	} else {
		d.probs.add(n.Pos, "%s has no id; add id: <name>", where)
	}
	if v, ok := f["name"]; ok {
		t.Name, _ = d.text(v, subject("name", where))
	}
	typeGiven := false
	if v, ok := f["type"]; ok {
		var readable bool
		t.Type, readable = d.text(v, subject("type", where))
		typeGiven = t.Type != "" || !readable // an unreadable type was reported
	}
	runGiven := false
	if v, ok := f["run"]; ok {
		t.Run, runGiven = d.text(v, subject("run", where))
	}
	if v, ok := f["needs"]; ok {
		d.needs(t, v, path+".needs", where)
	}
	if v, ok := f["if"]; ok {
		d.condition(t, v, where)
	}
	if v, ok := f["with"]; ok {
		t.With = d.freeMap(v, path+".with", subject("with", where), "a map of field: value")
	}
	if v, ok := f["env"]; ok {
		t.Env = d.env(v, path+".env", where)
	}
	if v, ok := f["timeout"]; ok {
		t.Timeout, _ = d.duration(v, subject("timeout", where))
	}
	if v, ok := f["retries"]; ok {
		t.Retries, _ = d.whole(v, subject("retries", where))
	}
	if v, ok := f["retry_delay"]; ok {
		t.RetryDelay, _ = d.duration(v, subject("retry_delay", where))
	}
	if v, ok := f["continue_on_error"]; ok {
		t.ContinueOnError, _ = d.flag(v, subject("continue_on_error", where))
	}
	if v, ok := f["always"]; ok {
		t.Always, _ = d.flag(v, subject("always", where))
	}
	if v, ok := f["requires"]; ok {
		t.Requires = d.requires(v, path+".requires", where)
	}
	d.shellSugar(t, runGiven, typeGiven, path, where, n.Pos)
	return t
}

// shellSugar applies `run:`: it is stored in With["run"] too, and a task
// with run: and no type is a shell task. A shell task given with.run gets
// Task.Run from it.
func (d *decoder) shellSugar(t *Task, runGiven, typeGiven bool, path, where string, pos Pos) {
	switch {
	case runGiven:
		if !typeGiven {
			t.Type = ShellTaskType
		}
		if _, dup := t.With["run"]; dup {
			d.probs.add(d.pos[path+".with.run"], "%s gives its script twice, as run: and as with.run; keep one", where)
			return
		}
		if t.With == nil {
			t.With = map[string]any{}
		}
		t.With["run"] = t.Run
	case t.Type == ShellTaskType:
		if s, ok := t.With["run"].(string); ok {
			t.Run = s
		}
	case !typeGiven:
		d.probs.add(pos, "%s has no type; add type: <task type>, or run: <script> for a shell task", where)
	}
}

func (d *decoder) checkTaskID(t *Task, v *yamltree.Node, where string) {
	if v.Kind != yamltree.Scalar && v.Kind != yamltree.Null {
		d.probs.add(v.Pos, "id in %s must be text, not %s", where, yamltree.Describe(v))
		return
	}
	switch {
	case t.ID == "":
		d.probs.add(v.Pos, "%s has an empty id", where)
	case !taskIDRe.MatchString(t.ID):
		d.probs.add(v.Pos, "task id %q may hold only letters, digits, - and _, and must not start with -", truncate(t.ID, 40))
	}
}

// needs reads needs: a list of task ids, or one id.
func (d *decoder) needs(t *Task, n *yamltree.Node, path, where string) {
	t.NeedsGiven = true
	switch n.Kind {
	case yamltree.Null:
		return
	case yamltree.Scalar:
		if s, ok := d.text(n, subject("needs", where)); ok && s != "" {
			t.Needs = []string{s}
		}
		return
	case yamltree.Map:
		d.probs.add(n.Pos, "needs in %s must be a list of task ids such as [build, test], not a map", where)
		return
	}
	for i, item := range n.Items {
		d.pos[indexPath(path, i)] = item.Pos
		if item.Kind != yamltree.Scalar {
			d.probs.add(item.Pos, "needs in %s must list task ids, not %s", where, yamltree.Describe(item))
			continue
		}
		s, _ := d.text(item, subject("needs", where))
		t.Needs = append(t.Needs, s)
	}
}

// condition reads if: a YAML bool, or a string that is true, false or one
// ${{ }} expression. A bare expression is refused with the fix, since it
// would otherwise be a non-empty string and always true.
func (d *decoder) condition(t *Task, n *yamltree.Node, where string) {
	if b, ok := n.Value.(bool); ok && n.Kind == yamltree.Scalar {
		t.If = fmt.Sprint(b)
		return
	}
	s, isString := n.Value.(string)
	if n.Kind == yamltree.Null {
		return
	}
	if !isString || n.Kind != yamltree.Scalar {
		d.probs.add(n.Pos, "if in %s must be true, false or a ${{ }} expression, not %s", where, yamltree.Describe(n))
		return
	}
	t.If = s
	trimmed := strings.TrimSpace(s)
	if trimmed == "" || trimmed == "true" || trimmed == "false" {
		return
	}
	if !HasExpr(s) {
		d.probs.add(n.Pos, "if in %s must be true, false or a ${{ }} expression; did you mean %q?", where, "${{ "+trimmed+" }}")
		return
	}
	segs, err := splitTemplate(s)
	if err != nil {
		return // Validate reports the broken template.
	}
	if _, ok := singleExpr(segs); !ok {
		d.probs.add(n.Pos, "if in %s must be one ${{ }} expression with nothing around it; combine conditions inside it with and, or", where)
	}
}

// env reads env: names that are valid environment variable names, values
// kept as text.
func (d *decoder) env(n *yamltree.Node, path, where string) map[string]string {
	for _, e := range n.Entries {
		if !envNameRe.MatchString(e.Key) {
			d.probs.add(e.KeyPos, "env name %q in %s may hold only letters, digits and _, and must not start with a digit", truncate(e.Key, 40), where)
		}
	}
	return d.stringMap(n, path, "env", "env", where)
}
