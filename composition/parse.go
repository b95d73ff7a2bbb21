package composition

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"baton/yamltree"
)

var (
	nameRe      = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	paramNameRe = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
	taskIDRe    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_-]*$`)
	envNameRe   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// MaxNameLen is the longest composition name allowed.
const MaxNameLen = 64

// The keys each map of the file may hold, in the order Format writes them.
var (
	topKeys       = []string{"name", "project", "description", "params", "concurrency", "timeout", "workspace", "requires", "on_failure", "schedules", "outputs", "tasks"}
	scheduleKeys  = []string{"cron", "timezone", "params", "catch_up", "overlap"}
	paramKeys     = []string{"type", "required", "default", "enum", "description"}
	requiresKeys  = []string{"pool", "labels", "facts", "local"}
	workspaceKeys = []string{"clean"}
	callKeys      = []string{"composition", "params"}
	paramTypes    = []string{string(TypeString), string(TypeNumber), string(TypeBoolean), string(TypeList)}
	// paramTypeAliases are type names from other languages, for suggestions.
	paramTypeAliases = map[string]string{
		"int": "number", "integer": "number", "float": "number", "double": "number",
		"str": "string", "text": "string", "bool": "boolean", "array": "list",
	}
)

// Parse reads a composition file. It reports every problem it finds in the
// file's own shape, each with its line and column: YAML syntax, unknown keys
// (with a suggestion), values of the wrong kind, names and ids that break
// the rules, param defaults and enums that do not fit their type. What needs
// the catalog of task types or the whole task graph (types, with fields,
// needs, cycles, expressions) is left to Validate; Load does both.
//
// The composition is returned even when there are problems, filled in as far
// as the file allowed; it is nil only when the YAML cannot be read at all.
// Positions of values are recorded in Composition.Pos under dotted paths
// such as "name", "params.version", "tasks.2", "tasks.2.with.url" and
// "tasks.2.needs.0". The problems are sorted by position.
func Parse(file string, src []byte) (*Composition, Problems) {
	probs := &problemList{file: file}
	root, ok := readYAML(src, probs)
	if !ok {
		return nil, probs.probs
	}
	c := &Composition{Source: src, File: file, Pos: Positions{}}
	d := &decoder{probs: probs, pos: c.Pos}
	d.composition(c, root)
	probs.probs.Sort()
	return c, probs.probs
}

// readYAML reads src into a tree, adding the problems met to probs. ok is
// false when nothing could be read; the tree is nil for an empty file.
func readYAML(src []byte, probs *problemList) (root *yamltree.Node, ok bool) {
	root, found, ok := yamltree.Read(src, "a composition file holds one YAML document; remove the second one (after ---) or move it to its own file")
	for _, p := range found {
		probs.add(p.Pos, "%s", p.Message)
	}
	return root, ok
}

// decoder turns the YAML tree into a Composition, collecting problems and
// positions.
type decoder struct {
	probs *problemList
	pos   Positions
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func indexPath(path string, i int) string {
	return path + "." + strconv.Itoa(i)
}

// subject names a key for messages: "timeout in task build", or just
// "timeout" at the top level.
func subject(key, where string) string {
	if where == "" {
		return key
	}
	return key + " in " + where
}

func (d *decoder) composition(c *Composition, root *yamltree.Node) {
	if root == nil {
		d.probs.add(Pos{}, "the file is empty; a composition needs at least a name and tasks")
		return
	}
	if root.Kind != yamltree.Map {
		d.probs.add(root.Pos, "a composition must be a map with keys such as name: and tasks:, not %s", yamltree.Describe(root))
		return
	}
	f := d.fields(root, "", "", topKeys)
	if n, ok := f["name"]; ok {
		if name, ok := d.text(n, "name"); ok {
			c.Name = name
			d.checkName(name, n.Pos)
		}
	} else {
		d.probs.add(root.Pos, "missing name; add one such as name: release-webapp")
	}
	if n, ok := f["project"]; ok {
		if p, ok := d.text(n, "project"); ok {
			switch {
			case p == "":
				d.probs.add(n.Pos, "project is empty; name one such as payments, or leave the key out for the default project")
			case len(p) > MaxNameLen || !nameRe.MatchString(p):
				d.probs.add(n.Pos, "project %q may hold only lowercase letters, digits, - and _ (at most %d), and must start with a letter or digit", truncate(p, 40), MaxNameLen)
			case p != DefaultProject:
				c.Project = p
			}
		}
	}
	if n, ok := f["description"]; ok {
		c.Description, _ = d.text(n, "description")
	}
	if n, ok := f["params"]; ok {
		c.Params = d.params(n)
	}
	if n, ok := f["concurrency"]; ok {
		c.Concurrency, _ = d.whole(n, "concurrency")
	}
	if n, ok := f["timeout"]; ok {
		c.Timeout, _ = d.duration(n, "timeout")
	}
	if n, ok := f["workspace"]; ok {
		wf := d.section(n, "workspace", "workspace", workspaceKeys)
		if v, ok := wf["clean"]; ok {
			c.Workspace.Clean, _ = d.flag(v, "clean in workspace")
		}
	}
	if n, ok := f["requires"]; ok {
		c.Requires = d.requires(n, "requires", "")
	}
	if n, ok := f["on_failure"]; ok {
		c.OnFailure = d.call(n, "on_failure")
	}
	if n, ok := f["schedules"]; ok {
		c.Schedules = d.schedules(n)
	}
	if n, ok := f["outputs"]; ok {
		c.Outputs = d.freeMap(n, "outputs", "outputs", "a map of name: value")
	}
	n, ok := f["tasks"]
	if !ok {
		d.probs.add(root.Pos, "missing tasks; a composition needs at least one task")
		return
	}
	c.Tasks = d.tasks(n)
	if n.Kind == yamltree.Null || n.Kind == yamltree.List && len(n.Items) == 0 {
		d.probs.add(n.Pos, "tasks is empty; a composition needs at least one task")
	}
}

func (d *decoder) checkName(name string, pos Pos) {
	switch {
	case name == "":
		d.probs.add(pos, "name is empty; give the composition a name such as release-webapp")
	case len(name) > MaxNameLen:
		d.probs.add(pos, "name is %d characters long; at most %d are allowed", len(name), MaxNameLen)
	case !nameRe.MatchString(name):
		d.probs.add(pos, "name %q may hold only lowercase letters, digits, - and _, and must start with a letter or digit", truncate(name, 40))
	}
}

// fields returns the entries of the map n by key, records their positions
// under path and reports keys not in known. where names the map for
// messages ("" for the top level).
func (d *decoder) fields(n *yamltree.Node, path, where string, known []string) map[string]*yamltree.Node {
	out := make(map[string]*yamltree.Node, len(n.Entries))
	for _, e := range n.Entries {
		if !contains(known, e.Key) {
			loc := "at the top level"
			if where != "" {
				loc = "in " + where
			}
			d.probs.add(e.KeyPos, "unknown key %q %s%s", e.Key, loc, DidYouMean(e.Key, known))
			continue
		}
		d.pos[joinPath(path, e.Key)] = e.Val.Pos
		out[e.Key] = e.Val
	}
	return out
}

// section is fields for a nested map that may also be empty; a value that
// is not a map is reported.
func (d *decoder) section(n *yamltree.Node, path, where string, known []string) map[string]*yamltree.Node {
	switch n.Kind {
	case yamltree.Map:
		return d.fields(n, path, where, known)
	case yamltree.Null:
		return nil
	}
	d.probs.add(n.Pos, "%s must be a map with keys %s, not %s", where, strings.Join(known, ", "), yamltree.Describe(n))
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// text reads a scalar as text; numbers and bools give their text as written.
func (d *decoder) text(n *yamltree.Node, subj string) (string, bool) {
	switch n.Kind {
	case yamltree.Null:
		return "", true
	case yamltree.Scalar:
		if s, ok := n.Value.(string); ok {
			return s, true
		}
		return n.Text, true
	}
	d.probs.add(n.Pos, "%s must be text, not %s", subj, yamltree.Describe(n))
	return "", false
}

func (d *decoder) flag(n *yamltree.Node, subj string) (bool, bool) {
	if b, ok := n.Value.(bool); ok && n.Kind == yamltree.Scalar {
		return b, true
	}
	d.probs.add(n.Pos, "%s must be true or false, not %s", subj, yamltree.Describe(n))
	return false, false
}

// whole reads a whole number of 0 or more.
func (d *decoder) whole(n *yamltree.Node, subj string) (int, bool) {
	if f, ok := n.Value.(float64); ok && n.Kind == yamltree.Scalar && f >= 0 && f == math.Trunc(f) && f <= 1e9 {
		return int(f), true
	}
	d.probs.add(n.Pos, "%s must be a whole number of 0 or more, not %s", subj, yamltree.Describe(n))
	return 0, false
}

func (d *decoder) duration(n *yamltree.Node, subj string) (time.Duration, bool) {
	if n.Kind == yamltree.Scalar {
		if s, ok := n.Value.(string); ok {
			dur, err := time.ParseDuration(strings.TrimSpace(s))
			switch {
			case err != nil:
				d.probs.add(n.Pos, "%s must be a duration such as 90s, 10m or 1h30m, not %s", subj, yamltree.Describe(n))
				return 0, false
			case dur < 0:
				d.probs.add(n.Pos, "%s must not be negative", subj)
				return 0, false
			}
			return dur, true
		}
		if _, isNum := n.Value.(float64); isNum {
			d.probs.add(n.Pos, "%s must be a duration with a unit, such as %ss or %sm, not %s", subj, n.Text, n.Text, n.Text)
			return 0, false
		}
	}
	d.probs.add(n.Pos, "%s must be a duration such as 90s, 10m or 1h30m, not %s", subj, yamltree.Describe(n))
	return 0, false
}

// value turns a free-form YAML value into Go values (map[string]any, []any,
// string, float64, bool, nil) and records the position of every part.
func (d *decoder) value(n *yamltree.Node, path string) any {
	d.pos[path] = n.Pos
	switch n.Kind {
	case yamltree.Scalar:
		return n.Value
	case yamltree.Map:
		m := make(map[string]any, len(n.Entries))
		for _, e := range n.Entries {
			m[e.Key] = d.value(e.Val, joinPath(path, e.Key))
		}
		return m
	case yamltree.List:
		l := make([]any, len(n.Items))
		for i, item := range n.Items {
			l[i] = d.value(item, indexPath(path, i))
		}
		return l
	}
	return nil
}

// freeMap reads a map of free-form values; what says what it should be for
// the message when it is not a map.
func (d *decoder) freeMap(n *yamltree.Node, path, subj, what string) map[string]any {
	switch n.Kind {
	case yamltree.Null:
		return nil
	case yamltree.Map:
		return d.value(n, path).(map[string]any)
	}
	d.probs.add(n.Pos, "%s must be %s, not %s", subj, what, yamltree.Describe(n))
	return nil
}

func (d *decoder) params(n *yamltree.Node) []Param {
	switch n.Kind {
	case yamltree.Null:
		return nil
	case yamltree.Map:
	default:
		d.probs.add(n.Pos, "params must be a map of name: {type: ..., default: ...}, not %s", yamltree.Describe(n))
		return nil
	}
	params := make([]Param, 0, len(n.Entries))
	for _, e := range n.Entries {
		path := "params." + e.Key
		d.pos[path] = e.Val.Pos
		if !paramNameRe.MatchString(e.Key) {
			d.probs.add(e.KeyPos, "param name %q may hold only lowercase letters, digits and _, and must not start with a digit (so that ${{ params.NAME }} works without quoting)", truncate(e.Key, 40))
		}
		p := Param{Name: e.Key, Type: TypeString}
		d.param(&p, e.Val, path)
		params = append(params, p)
	}
	return params
}

func (d *decoder) param(p *Param, n *yamltree.Node, path string) {
	where := "param " + p.Name
	if n.Kind != yamltree.Map && n.Kind != yamltree.Null {
		d.probs.add(n.Pos, "%s must be a map such as {type: string, required: true}, not %s", where, yamltree.Describe(n))
		return
	}
	f := d.section(n, path, where, paramKeys)
	if v, ok := f["type"]; ok {
		if s, ok := d.text(v, "type of "+where); ok {
			if contains(paramTypes, s) {
				p.Type = FieldType(s)
			} else {
				hint := DidYouMean(s, paramTypes)
				if alias, ok := paramTypeAliases[strings.ToLower(s)]; ok {
					hint = fmt.Sprintf("; did you mean %q?", alias)
				}
				d.probs.add(v.Pos, "type of %s must be one of %s, not %q%s", where, strings.Join(paramTypes, ", "), s, hint)
			}
		}
	}
	if v, ok := f["required"]; ok {
		p.Required, _ = d.flag(v, "required of "+where)
	}
	if v, ok := f["description"]; ok {
		p.Description, _ = d.text(v, "description of "+where)
	}
	if v, ok := f["enum"]; ok {
		d.paramEnum(p, v, path+".enum", where)
	}
	if v, ok := f["default"]; ok && v.Kind != yamltree.Null {
		def, err := coerce(p.Type, p.Enum, d.value(v, path+".default"))
		if err != nil {
			d.probs.add(v.Pos, "default of %s: %v", where, err)
		} else {
			p.Default = def
		}
	}
}

func (d *decoder) paramEnum(p *Param, n *yamltree.Node, path, where string) {
	if n.Kind != yamltree.List {
		d.probs.add(n.Pos, "enum of %s must be a list of the allowed values, not %s", where, yamltree.Describe(n))
		return
	}
	// The enum of a list param holds the values its items may take.
	itemType := p.Type
	if itemType == TypeList {
		itemType = TypeString
	}
	for i, item := range n.Items {
		v, err := coerce(itemType, nil, d.value(item, indexPath(path, i)))
		if err != nil || v == nil {
			if err == nil {
				err = fmt.Errorf("an empty value is not allowed")
			}
			d.probs.add(item.Pos, "enum of %s: %v", where, err)
			continue
		}
		p.Enum = append(p.Enum, v)
	}
}

// requires reads a requires map; owner is "" at the top level or "task x".
func (d *decoder) requires(n *yamltree.Node, path, owner string) *Requires {
	where := "requires"
	if owner != "" {
		where += " of " + owner
	}
	if n.Kind == yamltree.Null {
		return nil
	}
	f := d.section(n, path, where, requiresKeys)
	if f == nil {
		return nil
	}
	r := &Requires{}
	if v, ok := f["pool"]; ok {
		r.Pool, _ = d.text(v, "pool in "+where)
	}
	if v, ok := f["facts"]; ok {
		r.Facts, _ = d.text(v, "facts in "+where)
	}
	if v, ok := f["local"]; ok {
		if b, ok := d.flag(v, "local in "+where); ok {
			r.Local = &b
		}
	}
	if v, ok := f["labels"]; ok {
		r.Labels = d.stringMap(v, path+".labels", "labels", "label", where)
	}
	return r
}

// stringMap reads the map key (of where) whose values are scalars, kept as
// text; item names one value in messages.
func (d *decoder) stringMap(n *yamltree.Node, path, key, item, where string) map[string]string {
	switch n.Kind {
	case yamltree.Null:
		return nil
	case yamltree.Map:
	default:
		d.probs.add(n.Pos, "%s must be a map of name: value, not %s", subject(key, where), yamltree.Describe(n))
		return nil
	}
	out := make(map[string]string, len(n.Entries))
	for _, e := range n.Entries {
		d.pos[joinPath(path, e.Key)] = e.Val.Pos
		if s, ok := d.text(e.Val, subject(item+" "+e.Key, where)); ok {
			out[e.Key] = s
		}
	}
	return out
}

func (d *decoder) call(n *yamltree.Node, path string) *Call {
	if n.Kind == yamltree.Null {
		return nil
	}
	f := d.section(n, path, path, callKeys)
	if f == nil {
		return nil
	}
	c := &Call{}
	if v, ok := f["composition"]; ok {
		c.Composition, _ = d.text(v, "composition in "+path)
	}
	if c.Composition == "" {
		d.probs.add(n.Pos, "%s needs the name of the composition to start: add composition: <name>", path)
	}
	if v, ok := f["params"]; ok {
		c.Params = d.freeMap(v, path+".params", "params in "+path, "a map of param: value")
	}
	return c
}

// schedules reads the list of schedules; the cron specs and time zones are
// checked by Validate.
func (d *decoder) schedules(n *yamltree.Node) []Schedule {
	switch n.Kind {
	case yamltree.Null:
		return nil
	case yamltree.List:
	default:
		d.probs.add(n.Pos, `schedules must be a list such as - {cron: "0 3 * * *"}, not %s`, yamltree.Describe(n))
		return nil
	}
	out := make([]Schedule, 0, len(n.Items))
	for i, item := range n.Items {
		path := indexPath("schedules", i)
		where := fmt.Sprintf("schedule %d", i+1)
		d.pos[path] = item.Pos
		if item.Kind != yamltree.Map {
			d.probs.add(item.Pos, "%s must be a map with cron: and optionally timezone, params, catch_up, overlap; not %s", where, yamltree.Describe(item))
			continue
		}
		f := d.fields(item, path, where, scheduleKeys)
		var s Schedule
		if v, ok := f["cron"]; ok {
			s.Cron, _ = d.text(v, "cron in "+where)
		} else {
			d.probs.add(item.Pos, `%s has no cron; add one such as cron: "0 3 * * *" (5 fields), @daily or "@every 90m"`, where)
		}
		if v, ok := f["timezone"]; ok {
			s.Timezone, _ = d.text(v, "timezone in "+where)
		}
		if v, ok := f["params"]; ok {
			s.Params = d.freeMap(v, path+".params", "params in "+where, "a map of param: value")
		}
		if v, ok := f["catch_up"]; ok {
			s.CatchUp, _ = d.flag(v, "catch_up in "+where)
		}
		if v, ok := f["overlap"]; ok {
			s.Overlap, _ = d.flag(v, "overlap in "+where)
		}
		out = append(out, s)
	}
	return out
}
