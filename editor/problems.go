package editor

import (
	"strconv"
	"strings"

	"baton/composition"
)

// ProblemsFor returns the problems that concern a task, for its form, by
// what they are about: "with.<field>" for a field of its type (the script of
// a shell task is "with.run", however it is written), a task key such as
// "needs", "env", "timeout" or "requires.pool", and "" for the task as a
// whole (an unknown key, its type). A problem belongs to the task when it
// is placed on one of the task's values, or within the task's lines. It is
// nil when the YAML cannot be read or there is no such task.
func (d *Doc) ProblemsFor(taskID string) map[string][]string {
	return filedFor(d.comp, d.probs, taskID)
}

// WarningsFor is ProblemsFor for the task's Warnings.
func (d *Doc) WarningsFor(taskID string) map[string][]string {
	return filedFor(d.comp, d.Warnings(), taskID)
}

// filedFor files the problems of probs that concern a task, as
// ProblemsFor says.
func filedFor(c *composition.Composition, probs composition.Problems, taskID string) map[string][]string {
	if c == nil {
		return nil
	}
	idx := -1
	for i, t := range c.Tasks {
		if t.ID == taskID {
			idx = i
			break
		}
	}
	if idx < 0 {
		return nil
	}
	prefix := "tasks." + strconv.Itoa(idx)
	start, ok := c.Pos[prefix]
	if !ok {
		return nil
	}
	// The most specific path of this task at each position, and where the
	// next part of the file starts.
	exact := map[composition.Pos]string{}
	var end *composition.Pos
	for path, pos := range c.Pos {
		if path == prefix || strings.HasPrefix(path, prefix+".") {
			if cur, ok := exact[pos]; !ok || len(path) > len(cur) || len(path) == len(cur) && path < cur {
				exact[pos] = path
			}
			continue
		}
		if strings.HasPrefix(path, "tasks.") && !isTaskPath(path) {
			continue // inside another task, which starts later anyway
		}
		if before(start, pos) && (end == nil || before(pos, *end)) {
			end = &pos
		}
	}
	out := map[string][]string{}
	for _, p := range probs {
		if p.Line == 0 {
			continue
		}
		pos := composition.Pos{Line: p.Line, Col: p.Col}
		key := ""
		if path, ok := exact[pos]; ok {
			key = problemKey(strings.TrimPrefix(strings.TrimPrefix(path, prefix), "."))
		} else if before(pos, start) || end != nil && !before(pos, *end) || pos.Col < start.Col {
			continue
		}
		if rest, ok := strings.CutPrefix(p.Path, prefix+"."); ok {
			key = problemKey(rest) // a key without a place, such as a missing field
		}
		out[key] = append(out[key], p.Message)
	}
	return out
}

// isTaskPath reports whether path is "tasks.N", the start of a task.
func isTaskPath(path string) bool {
	rest, ok := strings.CutPrefix(path, "tasks.")
	if !ok {
		return false
	}
	_, err := strconv.Atoi(rest)
	return err == nil
}

// before reports whether a comes before b in the file.
func before(a, b composition.Pos) bool {
	return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
}

// problemKey turns the path of a value under a task ("with.url",
// "needs.0", "env.HOME", "run") into the key ProblemsFor files it under.
func problemKey(rest string) string {
	if rest == "" {
		return ""
	}
	parts := strings.SplitN(rest, ".", 3)
	switch parts[0] {
	case "run":
		return "with.run"
	case "with", "requires":
		if len(parts) > 1 {
			return parts[0] + "." + parts[1]
		}
	}
	return parts[0]
}

// Inherited says where a field's value comes from when the task leaves it
// to its default: the context key, and the task that sets it.
type Inherited struct {
	Key  string // the context key, such as cloud.instances
	Task string // the id of the task whose type exports it
}

// Inherited reports where an unset field of a task gets its value from:
// the field's manifest default is an expression over context.X, and a task
// upstream of this one (through needs) has a type that exports X. When
// several do, the one listed last wins, as its value is usually the one the
// context holds. It is false when the field is set, its default reads no
// context, or no upstream task exports the key.
func (d *Doc) Inherited(taskID, field string) (Inherited, bool) {
	c := d.comp
	if c == nil || d.cat == nil {
		return Inherited{}, false
	}
	t := c.Task(taskID)
	if t == nil {
		return Inherited{}, false
	}
	spec, ok := d.cat.TaskType(t.Type)
	if !ok || spec == nil {
		return Inherited{}, false
	}
	f, ok := spec.Field(field)
	if !ok {
		return Inherited{}, false
	}
	if _, set := FieldValue(t, *f); set {
		return Inherited{}, false
	}
	def, ok := f.Default.(string)
	if !ok {
		return Inherited{}, false
	}
	keys := contextKeys(def)
	up := c.Upstream(taskID)
	for i := len(up) - 1; i >= 0; i-- {
		u := c.Task(up[i])
		us, ok := d.cat.TaskType(u.Type)
		if !ok || us == nil {
			continue
		}
		for _, k := range keys {
			for _, e := range us.Exports {
				if e == k || strings.HasPrefix(k, e+".") || strings.HasPrefix(e, k+".") {
					return Inherited{Key: e, Task: u.ID}, true
				}
			}
		}
	}
	return Inherited{}, false
}

// SettingProblems returns the problems that are not about a task, for the
// settings tab, by what they concern: a setting of SettingKeys ("timeout",
// "requires.pool"), a param ("params.NAME"), a schedule ("schedules.N",
// from 0), or "" for the composition as a whole. A problem is filed by its
// Path, or else by the most specific key found where it points.
func (d *Doc) SettingProblems() map[string][]string {
	return settingProblems(d.comp, d.probs)
}

// SettingWarnings is SettingProblems for the Warnings.
func (d *Doc) SettingWarnings() map[string][]string {
	return settingProblems(d.comp, d.Warnings())
}

func settingProblems(c *composition.Composition, probs composition.Problems) map[string][]string {
	out := map[string][]string{}
	if c == nil {
		return out
	}
	at := map[composition.Pos]string{}
	for path, pos := range c.Pos {
		if old, ok := at[pos]; !ok || len(path) > len(old) || len(path) == len(old) && path < old {
			at[pos] = path
		}
	}
	for _, p := range probs {
		path := p.Path
		if path == "" {
			path = at[composition.Pos{Line: p.Line, Col: p.Col}]
		}
		if strings.HasPrefix(path, "tasks") {
			continue
		}
		key := settingKey(path)
		out[key] = append(out[key], p.Message)
	}
	return out
}

// settingKey maps a path to the setting, param or schedule it belongs to.
func settingKey(path string) string {
	parts := strings.Split(path, ".")
	switch parts[0] {
	case "params", "schedules":
		if len(parts) > 1 {
			return parts[0] + "." + parts[1]
		}
	case "workspace":
		return "workspace.clean"
	case "outputs":
		return "outputs"
	case "on_failure", "requires":
		if len(parts) > 1 {
			return parts[0] + "." + parts[1]
		}
		if parts[0] == "on_failure" {
			return "on_failure.composition"
		}
	case "name", "description", "concurrency", "timeout":
		return parts[0]
	}
	return ""
}

// DefaultContextKey returns the context key a field's manifest default
// reads, such as "cloud.instances" for ${{ context.cloud.instances }}, and
// whether it reads one. Inherited says which task sets it.
func DefaultContextKey(f composition.FieldSpec) (string, bool) {
	def, ok := f.Default.(string)
	if !ok {
		return "", false
	}
	keys := contextKeys(def)
	if len(keys) == 0 {
		return "", false
	}
	return keys[0], true
}
