package composition

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
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
	topKeys       = []string{"name", "description", "params", "concurrency", "timeout", "workspace", "requires", "on_failure", "schedules", "outputs", "tasks"}
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

// decoder turns the ynode tree into a Composition, collecting problems and
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

func (d *decoder) composition(c *Composition, root *ynode) {
	if root == nil {
		d.probs.add(Pos{}, "the file is empty; a composition needs at least a name and tasks")
		return
	}
	if root.kind != yMap {
		d.probs.add(root.pos, "a composition must be a map with keys such as name: and tasks:, not %s", describe(root))
		return
	}
	f := d.fields(root, "", "", topKeys)
	if n, ok := f["name"]; ok {
		if name, ok := d.text(n, "name"); ok {
			c.Name = name
			d.checkName(name, n.pos)
		}
	} else {
		d.probs.add(root.pos, "missing name; add one such as name: release-webapp")
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
		d.probs.add(root.pos, "missing tasks; a composition needs at least one task")
		return
	}
	c.Tasks = d.tasks(n)
	if n.kind == yNull || n.kind == ySeq && len(n.items) == 0 {
		d.probs.add(n.pos, "tasks is empty; a composition needs at least one task")
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
func (d *decoder) fields(n *ynode, path, where string, known []string) map[string]*ynode {
	out := make(map[string]*ynode, len(n.entries))
	for _, e := range n.entries {
		if !contains(known, e.key) {
			loc := "at the top level"
			if where != "" {
				loc = "in " + where
			}
			d.probs.add(e.keyPos, "unknown key %q %s%s", e.key, loc, didYouMean(e.key, known))
			continue
		}
		d.pos[joinPath(path, e.key)] = e.val.pos
		out[e.key] = e.val
	}
	return out
}

// section is fields for a nested map that may also be empty; a value that
// is not a map is reported.
func (d *decoder) section(n *ynode, path, where string, known []string) map[string]*ynode {
	switch n.kind {
	case yMap:
		return d.fields(n, path, where, known)
	case yNull:
		return nil
	}
	d.probs.add(n.pos, "%s must be a map with keys %s, not %s", where, strings.Join(known, ", "), describe(n))
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
func (d *decoder) text(n *ynode, subj string) (string, bool) {
	switch n.kind {
	case yNull:
		return "", true
	case yScalar:
		if s, ok := n.value.(string); ok {
			return s, true
		}
		return n.text, true
	}
	d.probs.add(n.pos, "%s must be text, not %s", subj, describe(n))
	return "", false
}

func (d *decoder) flag(n *ynode, subj string) (bool, bool) {
	if b, ok := n.value.(bool); ok && n.kind == yScalar {
		return b, true
	}
	d.probs.add(n.pos, "%s must be true or false, not %s", subj, describe(n))
	return false, false
}

// whole reads a whole number of 0 or more.
func (d *decoder) whole(n *ynode, subj string) (int, bool) {
	if f, ok := n.value.(float64); ok && n.kind == yScalar && f >= 0 && f == math.Trunc(f) && f <= 1e9 {
		return int(f), true
	}
	d.probs.add(n.pos, "%s must be a whole number of 0 or more, not %s", subj, describe(n))
	return 0, false
}

func (d *decoder) duration(n *ynode, subj string) (time.Duration, bool) {
	if n.kind == yScalar {
		if s, ok := n.value.(string); ok {
			dur, err := time.ParseDuration(strings.TrimSpace(s))
			switch {
			case err != nil:
				d.probs.add(n.pos, "%s must be a duration such as 90s, 10m or 1h30m, not %s", subj, describe(n))
				return 0, false
			case dur < 0:
				d.probs.add(n.pos, "%s must not be negative", subj)
				return 0, false
			}
			return dur, true
		}
		if _, isNum := n.value.(float64); isNum {
			d.probs.add(n.pos, "%s must be a duration with a unit, such as %ss or %sm, not %s", subj, n.text, n.text, n.text)
			return 0, false
		}
	}
	d.probs.add(n.pos, "%s must be a duration such as 90s, 10m or 1h30m, not %s", subj, describe(n))
	return 0, false
}

// value turns a free-form YAML value into Go values (map[string]any, []any,
// string, float64, bool, nil) and records the position of every part.
func (d *decoder) value(n *ynode, path string) any {
	d.pos[path] = n.pos
	switch n.kind {
	case yScalar:
		return n.value
	case yMap:
		m := make(map[string]any, len(n.entries))
		for _, e := range n.entries {
			m[e.key] = d.value(e.val, joinPath(path, e.key))
		}
		return m
	case ySeq:
		l := make([]any, len(n.items))
		for i, item := range n.items {
			l[i] = d.value(item, indexPath(path, i))
		}
		return l
	}
	return nil
}

// freeMap reads a map of free-form values; what says what it should be for
// the message when it is not a map.
func (d *decoder) freeMap(n *ynode, path, subj, what string) map[string]any {
	switch n.kind {
	case yNull:
		return nil
	case yMap:
		return d.value(n, path).(map[string]any)
	}
	d.probs.add(n.pos, "%s must be %s, not %s", subj, what, describe(n))
	return nil
}

func (d *decoder) params(n *ynode) []Param {
	switch n.kind {
	case yNull:
		return nil
	case yMap:
	default:
		d.probs.add(n.pos, "params must be a map of name: {type: ..., default: ...}, not %s", describe(n))
		return nil
	}
	params := make([]Param, 0, len(n.entries))
	for _, e := range n.entries {
		path := "params." + e.key
		d.pos[path] = e.val.pos
		if !paramNameRe.MatchString(e.key) {
			d.probs.add(e.keyPos, "param name %q may hold only lowercase letters, digits and _, and must not start with a digit (so that ${{ params.NAME }} works without quoting)", truncate(e.key, 40))
		}
		p := Param{Name: e.key, Type: TypeString}
		d.param(&p, e.val, path)
		params = append(params, p)
	}
	return params
}

func (d *decoder) param(p *Param, n *ynode, path string) {
	where := "param " + p.Name
	if n.kind != yMap && n.kind != yNull {
		d.probs.add(n.pos, "%s must be a map such as {type: string, required: true}, not %s", where, describe(n))
		return
	}
	f := d.section(n, path, where, paramKeys)
	if v, ok := f["type"]; ok {
		if s, ok := d.text(v, "type of "+where); ok {
			if contains(paramTypes, s) {
				p.Type = FieldType(s)
			} else {
				hint := didYouMean(s, paramTypes)
				if alias, ok := paramTypeAliases[strings.ToLower(s)]; ok {
					hint = fmt.Sprintf("; did you mean %q?", alias)
				}
				d.probs.add(v.pos, "type of %s must be one of %s, not %q%s", where, strings.Join(paramTypes, ", "), s, hint)
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
	if v, ok := f["default"]; ok && v.kind != yNull {
		def, err := coerce(p.Type, p.Enum, d.value(v, path+".default"))
		if err != nil {
			d.probs.add(v.pos, "default of %s: %v", where, err)
		} else {
			p.Default = def
		}
	}
}

func (d *decoder) paramEnum(p *Param, n *ynode, path, where string) {
	if n.kind != ySeq {
		d.probs.add(n.pos, "enum of %s must be a list of the allowed values, not %s", where, describe(n))
		return
	}
	// The enum of a list param holds the values its items may take.
	itemType := p.Type
	if itemType == TypeList {
		itemType = TypeString
	}
	for i, item := range n.items {
		v, err := coerce(itemType, nil, d.value(item, indexPath(path, i)))
		if err != nil || v == nil {
			if err == nil {
				err = fmt.Errorf("an empty value is not allowed")
			}
			d.probs.add(item.pos, "enum of %s: %v", where, err)
			continue
		}
		p.Enum = append(p.Enum, v)
	}
}

// requires reads a requires map; owner is "" at the top level or "task x".
func (d *decoder) requires(n *ynode, path, owner string) *Requires {
	where := "requires"
	if owner != "" {
		where += " of " + owner
	}
	if n.kind == yNull {
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
func (d *decoder) stringMap(n *ynode, path, key, item, where string) map[string]string {
	switch n.kind {
	case yNull:
		return nil
	case yMap:
	default:
		d.probs.add(n.pos, "%s must be a map of name: value, not %s", subject(key, where), describe(n))
		return nil
	}
	out := make(map[string]string, len(n.entries))
	for _, e := range n.entries {
		d.pos[joinPath(path, e.key)] = e.val.pos
		if s, ok := d.text(e.val, subject(item+" "+e.key, where)); ok {
			out[e.key] = s
		}
	}
	return out
}

func (d *decoder) call(n *ynode, path string) *Call {
	if n.kind == yNull {
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
		d.probs.add(n.pos, "%s needs the name of the composition to start: add composition: <name>", path)
	}
	if v, ok := f["params"]; ok {
		c.Params = d.freeMap(v, path+".params", "params in "+path, "a map of param: value")
	}
	return c
}

// schedules reads the list of schedules; the cron specs and time zones are
// checked by Validate.
func (d *decoder) schedules(n *ynode) []Schedule {
	switch n.kind {
	case yNull:
		return nil
	case ySeq:
	default:
		d.probs.add(n.pos, `schedules must be a list such as - {cron: "0 3 * * *"}, not %s`, describe(n))
		return nil
	}
	out := make([]Schedule, 0, len(n.items))
	for i, item := range n.items {
		path := indexPath("schedules", i)
		where := fmt.Sprintf("schedule %d", i+1)
		d.pos[path] = item.pos
		if item.kind != yMap {
			d.probs.add(item.pos, "%s must be a map with cron: and optionally timezone, params, catch_up, overlap; not %s", where, describe(item))
			continue
		}
		f := d.fields(item, path, where, scheduleKeys)
		var s Schedule
		if v, ok := f["cron"]; ok {
			s.Cron, _ = d.text(v, "cron in "+where)
		} else {
			d.probs.add(item.pos, `%s has no cron; add one such as cron: "0 3 * * *" (5 fields), @daily or "@every 90m"`, where)
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
