package handlers

import (
	"bytes"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"baton/composition"
	"baton/editor"
	"baton/views/pages"
)

// editorModel builds what the editor shows from its state.
func (h *Handler) editorModel(r *http.Request, st *editorState) pages.Editor {
	d := st.doc
	c := d.Composition()
	m := pages.Editor{Doc: string(d.Source()), Base: st.base, Orig: st.orig, Tab: st.tab, Name: docName(d), Dirty: true, RowComplete: d.RowComplete(), Ops: editorOps()}
	if st.orig != "" {
		if v, err := h.store.GetCompositionVersion(r.Context(), st.orig, st.base); err == nil {
			m.Dirty = !bytes.Equal([]byte(v.Source), d.Source())
		}
	} else {
		m.Dirty = !pristine(d)
	}
	if err := d.Editable(); err != nil {
		m.Blocked = capitalize(err.Error()) + "."
	}
	m.Palette = h.palette()
	for _, p := range d.Problems() {
		m.Problems = append(m.Problems, pages.EditorProblem{Line: p.Line, Col: p.Col, Message: p.Message})
	}
	for _, p := range d.Warnings() {
		m.Warnings = append(m.Warnings, pages.EditorProblem{Line: p.Line, Col: p.Col, Message: p.Message})
	}
	m.ProblemCount = len(m.Problems)
	if c == nil {
		st.selected = ""
		return m
	}
	if c.Task(st.selected) == nil {
		st.selected = ""
	}
	m.Selected = st.selected
	rows := d.Rows()
	for r, row := range rows {
		var cards []pages.Card
		var above []string
		if r > 0 {
			for _, t := range rows[r-1] {
				above = append(above, t.ID)
			}
		}
		for _, t := range row {
			cards = append(cards, h.taskCard(d, t, above, st.selected))
		}
		m.Rows = append(m.Rows, cards)
	}
	if t := c.Task(st.selected); t != nil {
		m.Inspector = h.inspector(d, t)
	}
	m.Settings = settingsModel(d)
	return m
}

// pristine reports whether a new composition is still as the editor
// started it: nothing in it worth asking about before leaving.
func pristine(d *editor.Doc) bool {
	name := docName(d)
	return strings.HasPrefix(name, "new-composition") && string(d.Source()) == fmt.Sprintf(newCompositionYAML, name)
}

// editorOps are the names of the editor's actions, for the page.
func editorOps() pages.EditorOps {
	return pages.EditorOps{
		Select: string(editor.OpSelect), Layout: string(editor.OpLayout), Add: string(editor.OpAdd), Move: string(editor.OpMove),
		Duplicate: string(editor.OpDuplicate), Remove: string(editor.OpRemove),
		ParamAdd: string(editor.OpParamAdd), Param: string(editor.OpParam), ParamRemove: string(editor.OpParamRemove),
		ScheduleAdd: string(editor.OpScheduleAdd), Schedule: string(editor.OpSchedule), ScheduleRemove: string(editor.OpScheduleRemove),
		YAML: string(editor.OpYAML),
	}
}

// palette lists the installed task types by group, in catalog order.
func (h *Handler) palette() []pages.PaletteGroup {
	var groups []pages.PaletteGroup
	for _, t := range h.engine.Catalog().TaskTypes() {
		pt := pages.PaletteType{Name: t.Name, Icon: t.Icon, Summary: summary(t.Description, 90)}
		i := slices.IndexFunc(groups, func(g pages.PaletteGroup) bool { return g.Name == t.Group })
		if i < 0 {
			groups = append(groups, pages.PaletteGroup{Name: t.Group})
			i = len(groups) - 1
		}
		groups[i].Types = append(groups[i].Types, pt)
	}
	return groups
}

var mdMarks = strings.NewReplacer("`", "", "**", "", "*", "", "_", " ")

// summary is the first sentence of a markdown description, as plain text
// of at most n characters.
func summary(desc string, n int) string {
	s := firstLine(desc)
	if i := strings.Index(s, ". "); i > 0 {
		s = s[:i+1]
	}
	s = mdMarks.Replace(s)
	if r := []rune(s); len(r) > n {
		s = string(r[:n-1]) + "…"
	}
	return s
}

func (h *Handler) taskCard(d *editor.Doc, t *composition.Task, above []string, selected string) pages.Card {
	card := pages.Card{ID: t.ID, Label: t.Name, Type: t.Type, Icon: "box", Selected: t.ID == selected, Always: t.Always}
	if spec, ok := h.engine.Catalog().TaskType(t.Type); ok {
		card.Icon = spec.Icon
		for _, f := range spec.Fields {
			if v, set := editor.FieldValue(t, f); set && f.Required {
				card.Summary = summary(v, 48)
				break
			}
		}
	}
	for _, msgs := range d.ProblemsFor(t.ID) {
		card.Problems += len(msgs)
	}
	for _, msgs := range d.WarningsFor(t.ID) {
		card.Warnings += len(msgs)
	}
	if len(above) > 0 && !sameIDs(t.Needs, above) {
		card.Needs = strings.Join(t.Needs, ", ")
		if card.Needs == "" {
			card.Needs = "nothing (starts with the run)"
		}
	}
	return card
}

func sameIDs(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

// inspector builds the form of one task from its type's manifest.
func (h *Handler) inspector(d *editor.Doc, t *composition.Task) *pages.Inspector {
	in := &pages.Inspector{ID: t.ID, Type: t.Type, Icon: "box"}
	probs, warns := d.ProblemsFor(t.ID), d.WarningsFor(t.ID)
	shown := map[string]bool{}
	spec, ok := h.engine.Catalog().TaskType(t.Type)
	if !ok {
		in.Unknown = true
	} else {
		in.Icon = spec.Icon
		in.TypeHTML = markdown(spec.Description)
		in.Exports = spec.Exports
		for _, f := range spec.Fields {
			ef := withField(t, f)
			ef.Errors, ef.Warnings = probs["with."+f.Name], warns["with."+f.Name]
			if f.NamesComposition {
				ef.Suggestions = d.KnownCompositions()
			}
			shown["with."+f.Name] = true
			if _, set := editor.FieldValue(t, f); !set {
				if inh, ok := d.Inherited(t.ID, f.Name); ok {
					ef.Inherited, ef.From = inh.Key, inh.Task
				} else if key, ok := editor.DefaultContextKey(f); ok {
					ef.Inherited = key
				}
				if ef.Inherited != "" {
					ef.Placeholder = "inherited from " + ef.Inherited
					if ef.Kind == "select" || ef.Kind == "bool" {
						ef.Placeholder = "(" + ef.Placeholder + ")"
					}
				}
			}
			in.Fields = append(in.Fields, ef)
		}
	}
	for _, key := range editor.TaskKeys {
		if key == "run" {
			continue // a with field of shell tasks
		}
		ef := taskField(t, key)
		ef.Errors, ef.Warnings = probs[key], warns[key]
		shown[key] = true
		in.TaskFields = append(in.TaskFields, ef)
	}
	c := d.Composition()
	for _, o := range c.Tasks {
		if o.ID != t.ID {
			in.NeedOptions = append(in.NeedOptions, pages.NeedOption{ID: o.ID, Checked: slices.Contains(t.Needs, o.ID)})
		}
	}
	keys := make([]string, 0, len(probs))
	for k := range probs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !shown[k] {
			in.Problems = append(in.Problems, probs[k]...)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(warns)) {
		if !shown[k] {
			in.Warnings = append(in.Warnings, warns[k]...)
		}
	}
	return in
}

// withField is the input of one field of a task's type.
func withField(t *composition.Task, f composition.FieldSpec) pages.EditField {
	ef := pages.EditField{Op: string(editor.OpField), Key: f.Name, Name: editor.InputName(editor.OpField, f.Name), Label: f.Name, Type: string(f.Type), Required: f.Required, HelpHTML: markdown(f.Description)}
	ef.Value, _ = editor.FieldValue(t, f)
	switch f.Type {
	case composition.TypeText:
		ef.Kind = "textarea"
		if f.Name == "run" || f.Name == "script" {
			ef.Kind = "code"
		}
	case composition.TypeNumber:
		ef.Kind = "number"
	case composition.TypeBoolean:
		ef.Kind, ef.Options = "bool", []string{"true", "false"}
	case composition.TypeList:
		ef.Kind = "list"
		ef.Note = "One item per line."
	case composition.TypeMap:
		ef.Kind = "map"
		ef.Note = "One name=value per line."
	case composition.TypeSecret:
		ef.Kind = "secret"
	case composition.TypeDuration:
		ef.Kind = "duration"
	default:
		ef.Kind = "text"
	}
	if len(f.Enum) > 0 && ef.Kind != "list" {
		ef.Kind = "select"
		ef.Options = nil
		for _, e := range f.Enum {
			ef.Options = append(ef.Options, composition.FormatValue(e))
		}
	}
	if f.Default != nil && !composition.HasExpr(composition.FormatValue(f.Default)) {
		ef.Placeholder = "default: " + composition.FormatValue(f.Default)
	}
	return ef
}

func taskField(t *composition.Task, key string) pages.EditField {
	l, _ := composition.TaskKey(key)
	ef := pages.EditField{Op: string(editor.OpTask), Key: key, Name: editor.InputName(editor.OpTask, key), Label: l.Label, Kind: string(l.Input), Note: l.Note, Value: editor.TaskValue(t, key)}
	if ef.Label == "" {
		ef.Label, ef.Kind = key, "text"
	}
	if ef.Kind == "bool" {
		ef.Options = []string{"true", "false"}
	}
	if key == "id" {
		ef.Required = true
	}
	return ef
}

// settingLabels are the settings' labels and hints.
var settingLabels = map[string][3]string{
	"name":                   {"Name", "text", "Lowercase letters, digits, - and _. A new name saves a copy under that name."},
	"description":            {"Description", "textarea", "Markdown, shown on the composition's page."},
	"concurrency":            {"Concurrency", "number", "At most this many runs at once; the rest wait. Empty means no limit."},
	"timeout":                {"Timeout", "duration", "Limit for the whole run, such as 1h."},
	"workspace.clean":        {"Clean workspace", "bool", "true: every run starts in an empty workspace."},
	"on_failure.composition": {"On failure, run", "text", "A composition to start when a run fails; it sees the failed run."},
	"on_failure.params":      {"Its parameters", "map", "name=value per line; ${{ run.error }} holds the failure."},
	"requires.pool":          {"Agent pool", "text", "The run's work goes to agents of this pool."},
	"requires.labels":        {"Agent labels", "map", "name=value per line, all must match."},
	"requires.facts":         {"Agent facts", "text", "An expression over facts, such as facts.os == \"linux\"."},
	"requires.local":         {"Server's own executor", "bool", "false: never run on the server itself."},
	"outputs":                {"Outputs", "map", "name=value per line; empty means the outputs of every task."},
}

// settingsModel builds the composition's settings form; each problem goes
// to the setting or param it concerns.
func settingsModel(d *editor.Doc) pages.Settings {
	c := d.Composition()
	var s pages.Settings
	if c == nil {
		return s
	}
	s.PreviewHTML = markdown(c.Description)
	byKey, warns := d.SettingProblems(), d.SettingWarnings()
	for _, key := range editor.SettingKeys {
		l := settingLabels[key]
		ef := pages.EditField{Op: string(editor.OpSetting), Key: key, Name: editor.InputName(editor.OpSetting, key), Label: l[0], Kind: l[1], Note: l[2], Value: editor.SettingValue(c, key), Errors: byKey[key], Warnings: warns[key]}
		if ef.Label == "" {
			ef.Label, ef.Kind = key, "text"
		}
		if ef.Kind == "bool" {
			ef.Options = []string{"true", "false"}
		}
		if key == "workspace.clean" && ef.Value == "false" {
			ef.Value = ""
		}
		ef.Required = key == "name"
		s.Fields = append(s.Fields, ef)
	}
	for i, p := range c.Params {
		pe := editor.ParamForm(p)
		s.Params = append(s.Params, pages.ParamRow{Index: i, Prefix: editor.RowPrefix(editor.OpParam, i), Name: p.Name, Type: pe.Type, Required: pe.Required,
			Default: pe.Default, Enum: pe.Enum, Description: pe.Description, Errors: byKey["params."+p.Name]})
	}
	for i, sc := range c.Schedules {
		se := editor.ScheduleForm(sc)
		row := pages.ScheduleRow{Index: i, Prefix: editor.RowPrefix(editor.OpSchedule, i), Cron: se.Cron, Timezone: se.Timezone, Params: se.Params, CatchUp: se.CatchUp, Overlap: se.Overlap,
			Errors: byKey["schedules."+strconv.Itoa(i)]}
		if cr, err := composition.NewCron(sc.Cron, sc.Timezone); err == nil {
			if next := cr.Next(time.Now()); !next.IsZero() {
				row.Next = next.Format("Mon 2 Jan 15:04 MST")
			}
		}
		s.Schedules = append(s.Schedules, row)
	}
	s.Errors, s.Warnings = byKey[""], warns[""]
	return s
}
