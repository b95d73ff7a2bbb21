package editor

import (
	"fmt"
	"strconv"
	"strings"

	"baton/composition"
)

// NewShellScript is the script a new shell task starts with.
const NewShellScript = "echo hello"

// newTask makes a task of type typ with a fresh id, which it adds to taken.
// A shell task gets a small script; a task of another type gets each
// required field, with the manifest's default when that is a plain value,
// or an empty value for the user to fill. A required field whose default
// is an expression is left out, so that it inherits (see Inherited).
func (d *Doc) newTask(typ string, taken map[string]bool) (*composition.Task, error) {
	typ = strings.TrimSpace(typ)
	if typ == "" {
		return nil, fmt.Errorf("a new task needs a type, as in %sshell", NewPrefix)
	}
	var spec *composition.TypeSpec
	if d.cat != nil {
		s, ok := d.cat.TaskType(typ)
		if !ok || s == nil {
			return nil, fmt.Errorf("unknown task type %q%s", typ, hintTypes(d.cat))
		}
		spec = s
	}
	t := &composition.Task{ID: numberedID(idBase(typ), taken, 1), Type: typ}
	taken[t.ID] = true
	if typ == composition.ShellTaskType {
		t.Run = NewShellScript
		t.With = map[string]any{"run": NewShellScript}
		return t, nil
	}
	if spec == nil {
		return t, nil
	}
	for _, f := range spec.Fields {
		if !f.Required {
			continue
		}
		if t.With == nil {
			t.With = map[string]any{}
		}
		switch {
		case f.Default == nil:
			t.With[f.Name] = placeholder(f.Type)
		case !holdsExpr(f.Default):
			t.With[f.Name] = composition.CloneValue(f.Default)
		}
	}
	return t, nil
}

// placeholder is the empty value a new task shows for a required field
// without a default. Text gets "" and lists and maps are empty; numbers,
// booleans and durations get null, which validation reports as missing
// rather than as a wrong value.
func placeholder(t composition.FieldType) any {
	switch t {
	case composition.TypeList:
		return []any{}
	case composition.TypeMap:
		return map[string]any{}
	case composition.TypeNumber, composition.TypeBoolean, composition.TypeDuration:
		return nil
	}
	return ""
}

// holdsExpr reports whether a value is or holds a string with ${{.
func holdsExpr(v any) bool {
	switch x := v.(type) {
	case string:
		return composition.HasExpr(x)
	case []any:
		for _, item := range x {
			if holdsExpr(item) {
				return true
			}
		}
	case map[string]any:
		for _, item := range x {
			if holdsExpr(item) {
				return true
			}
		}
	}
	return false
}

func hintTypes(cat composition.Catalog) string {
	var names []string
	for _, s := range cat.TaskTypes() {
		if s != nil {
			names = append(names, s.Name)
		}
	}
	if len(names) == 0 {
		return ""
	}
	return "; the types are " + strings.Join(names, ", ")
}

func takenIDs(c *composition.Composition) map[string]bool {
	taken := make(map[string]bool, len(c.Tasks))
	for _, t := range c.Tasks {
		taken[t.ID] = true
	}
	return taken
}

// idBase turns a task type into the start of an id: lowercase letters,
// digits and _, so that "cloud.provision" gives "cloud_provision". An
// underscore rather than a hyphen keeps ${{ tasks.cloud_provision_1 }}
// readable as written: after a hyphen, a digit would mean subtraction.
func idBase(typ string) string {
	var b strings.Builder
	sep := false
	for _, r := range strings.ToLower(typ) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if sep && b.Len() > 0 {
				b.WriteByte('_')
			}
			sep = false
			b.WriteRune(r)
			continue
		}
		sep = true
	}
	if b.Len() == 0 {
		return "task"
	}
	return b.String()
}

// trimNumber removes a trailing _N or -N from an id, so that copies of
// shell_1 are shell_2, shell_3.
func trimNumber(id string) string {
	i := len(id)
	for i > 0 && id[i-1] >= '0' && id[i-1] <= '9' {
		i--
	}
	if i < len(id) && i > 1 && (id[i-1] == '_' || id[i-1] == '-') {
		return id[:i-1]
	}
	return id
}

// numberedID returns base_N for the first N from start that is not taken.
func numberedID(base string, taken map[string]bool, start int) string {
	for n := start; ; n++ {
		id := base + "_" + strconv.Itoa(n)
		if !taken[id] {
			return id
		}
	}
}
