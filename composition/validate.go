package composition

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Load parses and validates a composition file: Parse, then Validate. The
// error, when not nil, is a Problems value holding every problem of both,
// sorted by position. The composition is returned whenever the YAML could be
// read, even with problems, so that an editor can still show it.
func Load(file string, src []byte, cat Catalog) (*Composition, error) {
	c, probs := Parse(file, src)
	if c != nil {
		probs = append(probs, Validate(c, cat)...)
	}
	probs.Sort()
	return c, probs.Err()
}

// Validate checks what Parse cannot see alone: task types against the
// catalog (with a suggestion for unknown ones), each task's with fields
// against its type's FieldSpecs (unknown fields, missing required fields,
// literal values of the wrong type or outside the enum; values holding
// ${{ }} are checked only at run time), duplicate task ids, needs naming
// unknown tasks or the task itself, dependency cycles, and every ${{ }}
// expression: each must compile, params.X must name a declared param,
// tasks.X a declared task (in a task's own with, env, if, run and requires,
// one that runs before it through needs), tasks.X.Y must be outputs or
// status, run.Y one of id, composition, status and error, agent.Y one of
// name, facts, labels and pools (only in the with, run and env of a task
// that is not a control task), and no other names are known. requires.facts is a bare expression over facts. Each
// schedule's cron must be able to fire, in a known time zone, and its
// params must bind as a run's would. A nil
// catalog skips the type and field checks. Problems point at the positions
// Parse recorded in c.Pos (at the value holding an expression), and are
// sorted.
func Validate(c *Composition, cat Catalog) Problems {
	if c == nil {
		return nil
	}
	v := &validator{c: c, cat: cat, probs: &problemList{file: c.File}, index: c.taskIndex()}
	v.checkIDs()
	if cat != nil {
		for i, t := range c.Tasks {
			v.checkType(i, t)
		}
	}
	v.checkNeeds()
	v.checkCycles()
	v.checkExpressions()
	v.checkSchedules()
	v.probs.probs.Sort()
	return v.probs.probs
}

type validator struct {
	c     *Composition
	cat   Catalog
	probs *problemList
	index map[string]int // task id to index, first wins
}

// at returns the position of the first of paths that was recorded. When
// none was, it tries the parents of the first path ("tasks.2.with.url",
// then "tasks.2.with", then "tasks.2").
func (v *validator) at(paths ...string) Pos {
	for _, p := range paths {
		if pos, ok := v.c.Pos[p]; ok {
			return pos
		}
	}
	if len(paths) == 0 {
		return Pos{}
	}
	p := paths[0]
	for {
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			return Pos{}
		}
		p = p[:i]
		if pos, ok := v.c.Pos[p]; ok {
			return pos
		}
	}
}

func taskPath(i int) string {
	return "tasks." + strconv.Itoa(i)
}

func (v *validator) checkIDs() {
	for i, t := range v.c.Tasks {
		if t.ID == "" {
			continue
		}
		first := v.index[t.ID]
		if first == i {
			continue
		}
		where := fmt.Sprintf("task %d", first+1)
		if pos := v.at(taskPath(first) + ".id"); pos.Line > 0 {
			where = fmt.Sprintf("line %d", pos.Line)
		}
		v.probs.add(v.at(taskPath(i)+".id"), "task id %q is already used (at %s); ids must be unique", t.ID, where)
	}
}

func (v *validator) checkType(i int, t *Task) {
	if t.Type == "" {
		return // Parse reported it.
	}
	path := taskPath(i)
	spec, ok := v.cat.TaskType(t.Type)
	if !ok || spec == nil {
		names := make([]string, 0)
		for _, s := range v.cat.TaskTypes() {
			if s != nil {
				names = append(names, s.Name)
			}
		}
		v.probs.add(v.at(path+".type", path+".run", path), "unknown task type %q in %s%s", t.Type, taskLabel(i, t.ID), DidYouMean(t.Type, names))
		return
	}
	v.checkFields(i, t, spec)
	if len(t.Env) > 0 && (spec.Control || spec.InProcess) {
		v.probs.add(v.at(path+".env", path), "env has no effect in %s: type %s runs no process to see it; put the values in its fields, with ${{ }} where they come from elsewhere", taskLabel(i, t.ID), t.Type)
	}
}

// checkFields checks a task's with against its type's fields.
func (v *validator) checkFields(i int, t *Task, spec *TypeSpec) {
	path := taskPath(i)
	label := taskLabel(i, t.ID)
	names := make([]string, len(spec.Fields))
	for k, f := range spec.Fields {
		names[k] = f.Name
	}
	for _, key := range sortedKeys(t.With) {
		val := t.With[key]
		f, ok := spec.Field(key)
		if !ok {
			if key == "run" && t.Run != "" && t.Type != ShellTaskType {
				v.probs.add(v.at(path+".run"), "%s is of type %s, which has no run field; run: is for shell tasks", label, t.Type)
				continue
			}
			v.probs.add(v.at(path+".with."+key), "unknown field %q in %s (type %s)%s", key, label, t.Type, DidYouMean(key, names))
			continue
		}
		if val == nil {
			continue
		}
		if containsExpr(val) {
			if s, ok := val.(string); ok && f.Type == TypeMap && !IsSingleExpr(s) && !strings.HasPrefix(strings.TrimSpace(s), "{") {
				v.probs.add(v.fieldPos(i, t, key), "field %q in %s is a map, but %s is text with ${{ }} inside, which gives text, not a map; "+
					"write one `name: value` per line under %s:, or make the whole value one ${{ }} expression", key, label, describeValue(s), key)
			}
			continue // the rest is checked at run time
		}
		if _, err := f.coerceChecked(val); err != nil {
			v.probs.add(v.fieldPos(i, t, key), "field %q in %s: %v", key, label, err)
		}
	}
	if spec.CheckWith != nil && !containsExpr(t.With) { // expressions: judged at run time
		if err := spec.CheckWith(t.With); err != nil {
			v.probs.add(v.at(path+".with", path), "%s (type %s): %v", label, t.Type, err)
		}
	}
	for _, f := range spec.Fields {
		if !f.Required || f.Default != nil {
			continue
		}
		if val, ok := t.With[f.Name]; !ok || val == nil || val == "" {
			v.probs.addPath(path+".with."+f.Name, v.at(path+".with", path), "%s (type %s) is missing required field %q", label, t.Type, f.Name)
		}
	}
}

// fieldPos is where the value of with field key is; the script of run: is
// under tasks.N.run.
func (v *validator) fieldPos(i int, t *Task, key string) Pos {
	path := taskPath(i)
	if key == "run" {
		return v.at(path+".with.run", path+".run", path)
	}
	return v.at(path + ".with." + key)
}

// containsExpr reports whether v is or holds a string with ${{.
func containsExpr(v any) bool {
	switch x := v.(type) {
	case string:
		return HasExpr(x)
	case []any:
		return slices.ContainsFunc(x, containsExpr)
	case map[string]any:
		for _, item := range x {
			if containsExpr(item) {
				return true
			}
		}
	}
	return false
}

func (v *validator) checkNeeds() {
	ids := make([]string, 0, len(v.index))
	for _, t := range v.c.Tasks {
		if t.ID != "" {
			ids = append(ids, t.ID)
		}
	}
	for i, t := range v.c.Tasks {
		if !t.NeedsGiven {
			continue // implicit needs name the task before, which exists
		}
		label := taskLabel(i, t.ID)
		seen := map[string]bool{}
		for j, n := range t.Needs {
			pos := v.at(fmt.Sprintf("%s.needs.%d", taskPath(i), j))
			switch _, known := v.index[n]; {
			case n == t.ID:
				v.probs.add(pos, "%s needs itself; remove %s from its needs", label, n)
			case !known:
				v.probs.add(pos, "%s needs %q, which is not a task of this composition%s", label, n, DidYouMean(n, ids))
			case seen[n]:
				v.probs.add(pos, "%s lists %s twice in needs", label, n)
			}
			seen[n] = true
		}
	}
}

// checkCycles reports each dependency cycle once, as "a -> b -> a" where
// the arrow reads "needs", starting from the task listed first in the file.
// Tasks already in a reported cycle are not reported again.
func (v *validator) checkCycles() {
	n := len(v.c.Tasks)
	state := make([]int8, n) // 0 unvisited, 1 on the stack, 2 done
	inCycle := make([]bool, n)
	var stack []int
	var visit func(i int)
	visit = func(i int) {
		state[i] = 1
		stack = append(stack, i)
		for _, need := range v.c.Tasks[i].Needs {
			j, ok := v.index[need]
			if !ok || j == i {
				continue
			}
			switch state[j] {
			case 0:
				visit(j)
			case 1:
				v.reportCycle(stack[slices.Index(stack, j):], inCycle)
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = 2
	}
	for i := range v.c.Tasks {
		if state[i] == 0 {
			visit(i)
		}
	}
}

func (v *validator) reportCycle(cycle []int, inCycle []bool) {
	if slices.ContainsFunc(cycle, func(i int) bool { return inCycle[i] }) {
		return
	}
	first := slices.Index(cycle, slices.Min(cycle))
	names := make([]string, 0, len(cycle)+1)
	for k := range cycle {
		i := cycle[(first+k)%len(cycle)]
		inCycle[i] = true
		names = append(names, v.c.Tasks[i].ID)
	}
	names = append(names, names[0])
	start := cycle[first]
	v.probs.add(v.at(taskPath(start)+".needs", taskPath(start)), "dependency cycle: %s", strings.Join(names, " -> "))
}

// checkSchedules checks each schedule's cron and time zone, and that its
// params would start a run: fixed values that fit the composition's params.
func (v *validator) checkSchedules() {
	for i, s := range v.c.Schedules {
		path := "schedules." + strconv.Itoa(i)
		where := fmt.Sprintf("schedule %d", i+1)
		zoneOK := true
		if s.Timezone != "" {
			if _, err := LoadZone(s.Timezone); err != nil {
				v.probs.add(v.at(path+".timezone"), "timezone of %s: %v", where, err)
				zoneOK = false
			}
		}
		if s.Cron != "" && zoneOK {
			if _, err := NewCron(s.Cron, s.Timezone); err != nil {
				v.probs.add(v.at(path+".cron"), "cron of %s: %v", where, err)
			}
		}
		for _, k := range sortedKeys(s.Params) {
			if containsExpr(s.Params[k]) {
				v.probs.add(v.at(path+".params."+k), "param %q of %s holds ${{ }}; schedule params are fixed values", k, where)
			}
		}
		_, errs := v.c.BindParams(s.Params)
		for _, fe := range errs {
			v.probs.addPath(path+".params."+fe.Field, v.at(path+".params."+fe.Field, path+".params", path), "%s: %s", where, fe.Error())
		}
	}
}
