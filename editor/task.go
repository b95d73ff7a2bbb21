package editor

import (
	"fmt"
	"regexp"
	"strings"

	"baton/composition"
)

// TaskKeys are the keys SetTask and TaskValue know, in form order: run
// and the rows of composition.TaskKeys that the task form edits. The
// requires.* keys set the task's own requires.
var TaskKeys = func() []string {
	var out []string
	for _, k := range composition.TaskKeys {
		if k.Label != "" || k.Name == "run" {
			out = append(out, k.Name)
		}
	}
	return out
}()

// taskIDRe is what Parse accepts as a task id.
var taskIDRe = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_-]*$`)

// SetTask sets one key of a task from form text (see TaskKeys):
//
//   - id renames the task. Needs that name it follow, and so do the
//     references to it in ${{ }} expressions anywhere in the composition
//     (tasks.OLD and tasks['OLD'] become tasks.NEW, or tasks['NEW'] when
//     NEW cannot be written plainly). Text outside ${{ }} is not touched.
//     The new id must be well formed and not taken.
//   - name, if: text; empty removes the key.
//   - run: the script of a shell task (an error for other types).
//   - needs: a comma separated list of task ids, written explicitly;
//     empty means "needs nothing" (needs: []).
//   - env, requires.labels: name=value lines.
//   - timeout, retry_delay: durations such as 90s; retries: a whole number;
//     continue_on_error, always: true or false; empty means the default.
//   - requires.pool, requires.facts: text; requires.local: true, false, or
//     empty for no preference.
//
// A value that cannot be represented (retries "abc") is an error and
// changes nothing.
func (d *Doc) SetTask(id, key, value string) error {
	value = formLines(value)
	return d.edit(func(c *composition.Composition) error {
		t := c.Task(id)
		if t == nil {
			return noTask(c, id)
		}
		if err := setTaskKey(c, t, key, value); err != nil {
			return fmt.Errorf("task %s: %w", id, err)
		}
		return nil
	})
}

func setTaskKey(c *composition.Composition, t *composition.Task, key, value string) error {
	var err error
	switch key {
	case "id":
		return rename(c, t, strings.TrimSpace(value))
	case "name":
		t.Name = strings.TrimSpace(value)
	case "if":
		t.If = strings.TrimSpace(value)
	case "run":
		if t.Type != composition.ShellTaskType {
			return fmt.Errorf("run is for shell tasks; this task is of type %s", t.Type)
		}
		setRun(t, value)
	case "needs":
		t.Needs = splitList(value)
		t.NeedsGiven = true
	case "env":
		t.Env, err = parseKV(value, "env")
	case "timeout":
		t.Timeout, err = parseDuration(value, "timeout")
	case "retry_delay":
		t.RetryDelay, err = parseDuration(value, "retry_delay")
	case "retries":
		t.Retries, err = parseWhole(value, "retries")
	case "continue_on_error":
		t.ContinueOnError, err = parseBool(value, "continue_on_error")
	case "always":
		t.Always, err = parseBool(value, "always")
	default:
		sub, ok := strings.CutPrefix(key, "requires.")
		if !ok {
			return fmt.Errorf("unknown key %q; the keys are %s", key, strings.Join(TaskKeys, ", "))
		}
		return setRequires(&t.Requires, sub, value)
	}
	return err
}

// setRun sets a shell task's script, which the model keeps both as Run and
// as with.run; empty removes it.
func setRun(t *composition.Task, script string) {
	t.Run = script
	if script == "" {
		delete(t.With, "run")
		if len(t.With) == 0 {
			t.With = nil
		}
		return
	}
	if t.With == nil {
		t.With = map[string]any{}
	}
	t.With["run"] = script
}

// rename gives task t the id newID and makes needs and expressions follow.
// When t's old id is shared with another task, only t changes: the
// references cannot say which task they meant.
func rename(c *composition.Composition, t *composition.Task, newID string) error {
	old := t.ID
	switch {
	case newID == old:
		return nil
	case newID == "":
		return fmt.Errorf("the id cannot be empty")
	case !taskIDRe.MatchString(newID):
		return fmt.Errorf("id %q may hold only letters, digits, - and _, and must not start with -", newID)
	case c.Task(newID) != nil:
		return fmt.Errorf("there is already a task %q; choose another id", newID)
	}
	shared := 0
	for _, u := range c.Tasks {
		if u.ID == old {
			shared++
		}
	}
	t.ID = newID
	if shared > 1 || old == "" {
		return nil
	}
	for _, u := range c.Tasks {
		for i, n := range u.Needs {
			if n == old {
				u.Needs[i] = newID
			}
		}
	}
	rewriteTemplates(c, func(s string) string { return renameRefs(s, "tasks", old, newID) })
	return nil
}

// setRequires sets one key of a requires map (pool, labels, facts, local)
// from form text; a requires left empty is removed.
func setRequires(rp **composition.Requires, key, value string) error {
	r := &composition.Requires{}
	if *rp != nil {
		r = cloneRequires(*rp)
	}
	switch key {
	case "pool":
		r.Pool = strings.TrimSpace(value)
	case "facts":
		r.Facts = strings.TrimSpace(value)
	case "labels":
		labels, err := parseKV(value, "requires.labels")
		if err != nil {
			return err
		}
		r.Labels = labels
	case "local":
		if strings.TrimSpace(value) == "" {
			r.Local = nil
			break
		}
		b, err := parseBool(value, "requires.local")
		if err != nil {
			return err
		}
		r.Local = &b
	default:
		return fmt.Errorf("unknown key requires.%s; requires has pool, labels, facts and local", key)
	}
	if r.Pool == "" && r.Facts == "" && len(r.Labels) == 0 && r.Local == nil {
		r = nil
	}
	*rp = r
	return nil
}

// SetField sets a with field of a task from form text, typed by the field's
// spec in the catalog (composition.FieldSpec.Coerce): a number, true or
// false, a list one item per line (or a JSON list), a map as name=value
// lines (or a JSON object), a duration, or text. Text holding ${{ }} is kept
// as it is. Empty text removes the field, so that its default applies. A
// value that does not fit the field's type or enum is an error and changes
// nothing.
func (d *Doc) SetField(id, field, value string) error {
	return d.edit(func(c *composition.Composition) error {
		t := c.Task(id)
		if t == nil {
			return noTask(c, id)
		}
		spec, err := d.spec(t)
		if err != nil {
			return err
		}
		f, ok := spec.Field(field)
		if !ok {
			names := make([]string, len(spec.Fields))
			for i, f := range spec.Fields {
				names[i] = f.Name
			}
			return fmt.Errorf("task %s: type %s has no field %q; its fields are %s", id, t.Type, field, strings.Join(names, ", "))
		}
		v, set, err := fieldFromText(f, value)
		if err != nil {
			return fmt.Errorf("task %s: %w", id, err)
		}
		if field == "run" && t.Type == composition.ShellTaskType {
			s, _ := v.(string)
			setRun(t, s)
			return nil
		}
		if !set {
			delete(t.With, field)
			if len(t.With) == 0 {
				t.With = nil
			}
			return nil
		}
		if t.With == nil {
			t.With = map[string]any{}
		}
		t.With[field] = v
		return nil
	})
}

// spec returns the type of a task from the catalog.
func (d *Doc) spec(t *composition.Task) (*composition.TypeSpec, error) {
	if d.cat == nil {
		return nil, fmt.Errorf("task %s: no task types are loaded, so its fields cannot be set; edit them in the YAML tab", t.ID)
	}
	spec, ok := d.cat.TaskType(t.Type)
	if !ok || spec == nil {
		return nil, fmt.Errorf("task %s: type %q is not known, so its fields cannot be set; fix the type or edit them in the YAML tab", t.ID, t.Type)
	}
	return spec, nil
}

// TaskValue returns a task key (see TaskKeys) as the form text SetTask
// reads: needs as a comma list (empty when the task needs nothing), env and
// labels as name=value lines, durations such as 1h30m.
func TaskValue(t *composition.Task, key string) string {
	if t == nil {
		return ""
	}
	switch key {
	case "id":
		return t.ID
	case "name":
		return t.Name
	case "if":
		return t.If
	case "run":
		return t.Run
	case "needs":
		return strings.Join(t.Needs, ", ")
	case "env":
		return kvText(t.Env)
	case "timeout":
		return durationText(t.Timeout)
	case "retry_delay":
		return durationText(t.RetryDelay)
	case "retries":
		if t.Retries == 0 {
			return ""
		}
		return fmt.Sprint(t.Retries)
	case "continue_on_error":
		return fmt.Sprint(t.ContinueOnError)
	case "always":
		return fmt.Sprint(t.Always)
	}
	if sub, ok := strings.CutPrefix(key, "requires."); ok {
		return requiresValue(t.Requires, sub)
	}
	return ""
}

func requiresValue(r *composition.Requires, key string) string {
	if r == nil {
		return ""
	}
	switch key {
	case "pool":
		return r.Pool
	case "labels":
		return kvText(r.Labels)
	case "facts":
		return r.Facts
	case "local":
		if r.Local == nil {
			return ""
		}
		return fmt.Sprint(*r.Local)
	}
	return ""
}
