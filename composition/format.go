package composition

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/goccy/go-yaml/token"
)

// Format writes a composition as canonical YAML, for the editor to save what
// it built. Keys come in a fixed order: name, description, params,
// concurrency, timeout, workspace, requires, on_failure, schedules,
// outputs, tasks; a task's as id, name, type (left out for a shell task
// written with run:), run, needs (only when the file gave needs:, as given, or when Needs
// differs from what leaving it out means), if, with, env,
// timeout, retries, retry_delay, continue_on_error, always, requires. Zero values
// are left out, maps of free-form values are sorted by key, multi-line text
// is written as a literal block (|) where YAML can hold it exactly, and
// strings are quoted only when they would otherwise read as something else.
//
// Parsing the result gives back the same composition, apart from Source,
// Pos and File. Comments and the file's own layout are not kept; see
// FormatKeeping for comments.
func Format(c *Composition) ([]byte, error) {
	return FormatKeeping(c, nil)
}

// FormatKeeping is Format that writes back the comments and blank lines of
// cm (see ReadComments) at the keys and list items they belong to. The
// editor uses it so that a change made on the canvas keeps what people
// wrote around the YAML.
func FormatKeeping(c *Composition, cm *Comments) ([]byte, error) {
	if c == nil {
		return nil, errors.New("composition: format: nil composition")
	}
	e := emitter{cm: cm}
	if cm != nil && len(cm.header) > 0 {
		e.comments(cm.header, 0)
		e.b.WriteByte('\n')
	}
	e.mapping(compositionMap(c), 0, "", 0)
	if cm != nil && len(cm.footer) > 0 {
		e.comments(cm.footer, 0)
	}
	return []byte(e.b.String()), nil
}

// omap is an ordered map for writing.
type omap []kv

type kv struct {
	key string
	val any
}

func (m *omap) add(key string, val any) {
	*m = append(*m, kv{key, val})
}

func compositionMap(c *Composition) omap {
	var m omap
	if c.Name != "" {
		m.add("name", c.Name)
	}
	if c.Project != "" {
		m.add("project", c.Project)
	}
	if c.Description != "" {
		m.add("description", c.Description)
	}
	if len(c.Params) > 0 {
		var ps omap
		for _, p := range c.Params {
			ps.add(p.Name, paramMap(p))
		}
		m.add("params", ps)
	}
	if c.Concurrency != 0 {
		m.add("concurrency", c.Concurrency)
	}
	if c.Timeout != 0 {
		m.add("timeout", FormatDuration(c.Timeout))
	}
	if c.Workspace.Clean {
		m.add("workspace", omap{{"clean", true}})
	}
	if c.Requires != nil {
		m.add("requires", requiresMap(c.Requires))
	}
	if c.OnFailure != nil {
		var call omap
		if c.OnFailure.Composition != "" {
			call.add("composition", c.OnFailure.Composition)
		}
		if c.OnFailure.Params != nil {
			call.add("params", c.OnFailure.Params)
		}
		m.add("on_failure", call)
	}
	if len(c.Schedules) > 0 {
		list := make([]any, len(c.Schedules))
		for i, sc := range c.Schedules {
			list[i] = scheduleMap(sc)
		}
		m.add("schedules", list)
	}
	if c.Outputs != nil {
		m.add("outputs", c.Outputs)
	}
	tasks := make([]any, len(c.Tasks))
	for i, t := range c.Tasks {
		var implicit []string
		if i > 0 && c.Tasks[i-1].ID != "" {
			implicit = []string{c.Tasks[i-1].ID}
		}
		// A composition built in code may set Needs without NeedsGiven;
		// write them when leaving them out would change the graph.
		explicit := t.NeedsGiven || !slices.Equal(t.Needs, implicit)
		tasks[i] = taskMap(t, explicit)
	}
	m.add("tasks", tasks)
	return m
}

func scheduleMap(s Schedule) omap {
	m := omap{{"cron", s.Cron}}
	if s.Timezone != "" {
		m.add("timezone", s.Timezone)
	}
	if s.Params != nil {
		m.add("params", s.Params)
	}
	if s.CatchUp {
		m.add("catch_up", true)
	}
	if s.Overlap {
		m.add("overlap", true)
	}
	return m
}

func paramMap(p Param) omap {
	m := omap{{"type", string(p.Type)}}
	if p.Type == "" {
		m[0].val = string(TypeString)
	}
	if p.Required {
		m.add("required", true)
	}
	if p.Default != nil {
		m.add("default", p.Default)
	}
	if p.Enum != nil {
		m.add("enum", p.Enum)
	}
	if p.Description != "" {
		m.add("description", p.Description)
	}
	return m
}

func requiresMap(r *Requires) omap {
	m := omap{}
	if r.Pool != "" {
		m.add("pool", r.Pool)
	}
	if r.Labels != nil {
		m.add("labels", r.Labels)
	}
	if r.Facts != "" {
		m.add("facts", r.Facts)
	}
	if r.Local != nil {
		m.add("local", *r.Local)
	}
	return m
}

func taskMap(t *Task, writeNeeds bool) omap {
	m := omap{}
	if t.ID != "" {
		m.add("id", t.ID)
	}
	if t.Name != "" {
		m.add("name", t.Name)
	}
	runSugar := t.Run != ""
	if t.Type != "" && (t.Type != ShellTaskType || !runSugar) {
		m.add("type", t.Type)
	}
	if runSugar {
		m.add("run", t.Run)
	}
	if writeNeeds {
		needs := make([]any, len(t.Needs))
		for i, n := range t.Needs {
			needs[i] = n
		}
		m.add("needs", needs)
	}
	switch t.If {
	case "":
	case "true", "false":
		m.add("if", t.If == "true")
	default:
		m.add("if", t.If)
	}
	if with := withoutRun(t, runSugar); with != nil {
		m.add("with", with)
	}
	if t.Env != nil {
		m.add("env", t.Env)
	}
	if t.Timeout != 0 {
		m.add("timeout", FormatDuration(t.Timeout))
	}
	if t.Retries != 0 {
		m.add("retries", t.Retries)
	}
	if t.RetryDelay != 0 {
		m.add("retry_delay", FormatDuration(t.RetryDelay))
	}
	if t.ContinueOnError {
		m.add("continue_on_error", true)
	}
	if t.Always {
		m.add("always", true)
	}
	if t.Requires != nil {
		m.add("requires", requiresMap(t.Requires))
	}
	return m
}

// withoutRun returns a task's with without the script written as run:, or
// nil when nothing else is left.
func withoutRun(t *Task, runSugar bool) map[string]any {
	if !runSugar {
		return t.With
	}
	out := make(map[string]any, len(t.With))
	for k, v := range t.With {
		if k != "run" {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// FormatDuration writes a duration the way people do: 1h30m, 10m, 5s; with
// fractions of a second as Go does (1.5s, 500ms).
func FormatDuration(d time.Duration) string {
	if d%time.Second != 0 || d <= 0 {
		return d.String()
	}
	var b strings.Builder
	if h := d / time.Hour; h > 0 {
		fmt.Fprintf(&b, "%dh", h)
	}
	if m := d % time.Hour / time.Minute; m > 0 {
		fmt.Fprintf(&b, "%dm", m)
	}
	if s := d % time.Minute / time.Second; s > 0 {
		fmt.Fprintf(&b, "%ds", s)
	}
	return b.String()
}

// emitter writes block-style YAML, with the comments of cm when it is
// not nil.
type emitter struct {
	b  strings.Builder
	cm *Comments
	// carried is a comment for the end of the next line when its place
	// has none of its own: a list item's, written after its first key.
	carried string
}

func (e *emitter) indent(n int) {
	e.b.WriteString(strings.Repeat(" ", n))
}

// comments writes whole-line comments at an indent.
func (e *emitter) comments(lines []string, indent int) {
	for _, c := range lines {
		e.indent(indent)
		e.b.WriteByte('#')
		e.b.WriteString(c)
		e.b.WriteByte('\n')
	}
}

// before writes what comes above the place: a blank line (not as the
// first line of a block) and its head comments.
func (e *emitter) before(place string, indent int, first bool) {
	if e.cm == nil {
		return
	}
	if e.cm.blank[place] && !first && !strings.HasSuffix(e.b.String(), "\n\n") {
		e.b.WriteByte('\n')
	}
	e.comments(e.cm.head[place], indent)
}

// eol ends a line: with the comment written after the place's value, if
// any.
func (e *emitter) eol(place string) {
	if e.cm != nil {
		c, ok := e.cm.line[place]
		if !ok {
			c, ok = e.carried, e.carried != ""
		}
		if ok {
			e.b.WriteString("  #")
			e.b.WriteString(c)
		}
		e.carried = ""
	}
	e.b.WriteByte('\n')
}

// entries returns a map value's entries in writing order, or false when v
// is not a map.
func entries(v any) (omap, bool) {
	switch x := v.(type) {
	case omap:
		return x, true
	case map[string]any:
		m := make(omap, 0, len(x))
		for _, k := range sortedKeys(x) {
			m.add(k, x[k])
		}
		return m, true
	case map[string]string:
		m := make(omap, 0, len(x))
		for _, k := range sortedKeys(x) {
			m.add(k, x[k])
		}
		return m, true
	}
	return nil, false
}

// items returns a list value's items, or false when v is not a list.
func items(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out, true
	}
	return nil, false
}

// mapping writes the entries of m, one per line at the given indent.
func (e *emitter) mapping(m omap, indent int, path string, from int) {
	for i, item := range m {
		p := joinPath(path, item.key)
		e.before(p, indent, i+from == 0)
		e.indent(indent)
		e.entry(item, indent, p)
	}
}

// entry writes "key:" and the value, from where the key's line starts.
func (e *emitter) entry(item kv, indent int, place string) {
	e.b.WriteString(keyText(item.key))
	e.b.WriteByte(':')
	e.value(item.val, indent, place)
}

// value writes v after "key:" or "-", whose line is at indent.
func (e *emitter) value(v any, indent int, place string) {
	if m, ok := entries(v); ok {
		if len(m) == 0 {
			e.b.WriteString(" {}")
			e.eol(place)
			return
		}
		e.eol(place)
		e.mapping(m, indent+2, place, 0)
		return
	}
	if l, ok := items(v); ok {
		if len(l) == 0 {
			e.b.WriteString(" []")
			e.eol(place)
			return
		}
		e.eol(place)
		e.sequence(l, indent+2, place)
		return
	}
	if s, ok := v.(string); ok && literalOK(s) {
		e.literal(s, indent+2, place)
		return
	}
	e.b.WriteByte(' ')
	e.b.WriteString(scalarText(v))
	e.eol(place)
}

// sequence writes the items of l as "- item" lines at the given indent. A
// map or list item starts on the dash's line: a map item's first key shares
// the item's comments.
func (e *emitter) sequence(l []any, indent int, path string) {
	for i, item := range l {
		p := indexPath(path, i)
		m, isMap := entries(item)
		sub, isList := items(item)
		switch {
		case isMap && len(m) > 0:
			first := joinPath(p, m[0].key)
			e.before(p, indent, i == 0)
			e.before(first, indent, true)
			e.indent(indent)
			e.b.WriteString("- ")
			if e.cm != nil {
				e.carried = e.cm.line[p]
			}
			e.entry(m[0], indent+2, first)
			e.mapping(m[1:], indent+2, p, 1)
		case isList && len(sub) > 0:
			// A list in a list: written without comments.
			inner := emitter{}
			inner.sequence(sub, indent+2, p)
			e.before(p, indent, i == 0)
			e.indent(indent)
			e.b.WriteString("- ")
			e.b.WriteString(inner.b.String()[indent+2:])
		default:
			e.before(p, indent, i == 0)
			e.indent(indent)
			e.b.WriteByte('-')
			e.value(item, indent, p)
		}
	}
}

// literal writes s as a literal block, its lines at the given indent.
func (e *emitter) literal(s string, indent int, place string) {
	body, clipped := strings.CutSuffix(s, "\n")
	if clipped {
		e.b.WriteString(" |")
	} else {
		e.b.WriteString(" |-")
	}
	e.eol(place)
	for line := range strings.SplitSeq(body, "\n") {
		if line != "" {
			e.indent(indent)
			e.b.WriteString(line)
		}
		e.b.WriteByte('\n')
	}
}

// literalOK reports whether a literal block holds s exactly: several lines,
// the first not empty nor indented, no line ending in blanks, no control
// characters, at most one final newline.
func literalOK(s string) bool {
	if !strings.Contains(s, "\n") || !utf8.ValidString(s) {
		return false
	}
	body := strings.TrimSuffix(s, "\n")
	if body == "" || strings.HasSuffix(body, "\n") || body[0] == ' ' || body[0] == '\t' || body[0] == '\n' {
		return false
	}
	for line := range strings.SplitSeq(body, "\n") {
		if strings.HasSuffix(line, " ") || strings.HasSuffix(line, "\t") {
			return false
		}
		for _, r := range line {
			if r != '\t' && !unicode.IsPrint(r) || r == '\uFEFF' {
				return false
			}
		}
	}
	return true
}

// scalarText writes a scalar: strings plain when safe, else double-quoted;
// numbers so that they read back as the same number.
func scalarText(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		if plainOK(x) {
			return x
		}
		return doubleQuote(x)
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return floatText(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	}
	if f, ok := toFloat(v); ok {
		return floatText(f)
	}
	return doubleQuote(FormatValue(v))
}

// plainKeyRe is what a key may look like to be written without quotes;
// goccy/go-yaml is stricter about keys than about values.
var plainKeyRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)

// keyText writes a map key: plain when it looks like a name, else quoted.
func keyText(k string) string {
	if plainKeyRe.MatchString(k) && plainOK(k) {
		return k
	}
	return doubleQuote(k)
}

// floatText writes a float64 so that it reads back as the same float64:
// whole numbers up to 2^53 as integers (which read back as float64), others
// with a decimal point or an exponent with one.
func floatText(f float64) string {
	switch {
	case math.IsNaN(f):
		return ".nan"
	case math.IsInf(f, 1):
		return ".inf"
	case math.IsInf(f, -1):
		return "-.inf"
	case f == math.Trunc(f) && math.Abs(f) <= 1<<53:
		return strconv.FormatFloat(f, 'f', -1, 64)
	case math.Abs(f) >= 1e-4 && math.Abs(f) < 1e15:
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	s := strconv.FormatFloat(f, 'e', -1, 64)
	mant, exp, _ := strings.Cut(s, "e")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	return mant + "e" + exp
}

// plainOK reports whether s can be written without quotes and read back as
// the same string. It is deliberately strict, and asks goccy/go-yaml too
// whether the text would read as a number, date or keyword.
func plainOK(s string) bool {
	if s == "" || strings.TrimSpace(s) != s || !utf8.ValidString(s) || token.IsNeedQuoted(s) {
		return false
	}
	if strings.ContainsRune("-?:,[]{}#&*!|>'\"%@`<=~", rune(s[0])) {
		return false
	}
	if strings.Contains(s, ": ") || strings.Contains(s, " #") || strings.HasSuffix(s, ":") {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) || r == '\uFEFF' {
			return false
		}
	}
	switch strings.ToLower(s) {
	case "null", "true", "false", "yes", "no", "on", "off", "y", "n":
		return false
	}
	return true
}

// doubleQuote writes s as a YAML double-quoted string.
func doubleQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case unicode.IsPrint(r) && r != '\uFEFF':
			b.WriteRune(r)
		case r <= 0xFF:
			fmt.Fprintf(&b, `\x%02X`, r)
		case r <= 0xFFFF:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			fmt.Fprintf(&b, `\U%08X`, r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
