package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"baton/composition"
	"baton/editor"
	"baton/engine"
	"baton/model"
	"baton/storage"
	"baton/views/pages"
)

// newCompositionYAML is where a new composition starts: a name and no
// tasks yet.
const newCompositionYAML = "name: %s\ntasks: []\n"

// editorState is what every editor request carries: the YAML and where it
// came from. The YAML is the whole state; the server keeps nothing between
// requests.
type editorState struct {
	doc      *editor.Doc
	base     int    // the stored version the draft started from; 0 for new
	orig     string // the stored composition's name; "" for new
	selected string
	tab      string
	message  string
}

// editorNew opens the editor on a new composition.
func (h *Handler) editorNew(w http.ResponseWriter, r *http.Request) {
	name := "new-composition"
	for n := 2; ; n++ {
		_, err := h.store.GetComposition(r.Context(), name)
		if errors.Is(err, model.ErrNotFound) {
			break
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		name = fmt.Sprintf("new-composition-%d", n)
	}
	st := &editorState{doc: editor.Open(fmt.Appendf(nil, newCompositionYAML, name), h.engine.Catalog()), tab: "canvas"}
	h.renderEditorPage(w, r, st, "")
}

// editorOpen opens the editor on a stored composition's current version.
func (h *Handler) editorOpen(w http.ResponseWriter, r *http.Request) {
	v, err := h.store.GetComposition(r.Context(), r.PathValue("name"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	st := &editorState{doc: editor.Open([]byte(v.Source), h.engine.Catalog()), base: v.Version, orig: v.Name, tab: "canvas"}
	if rows := st.doc.Rows(); len(rows) > 0 {
		st.selected = rows[0][0].ID
	}
	notice := ""
	if saved := r.URL.Query().Get("saved"); saved != "" {
		notice = "Saved version " + saved + "."
	}
	h.renderEditorPage(w, r, st, notice)
}

func (h *Handler) renderEditorPage(w http.ResponseWriter, r *http.Request, st *editorState, notice string) {
	title := "New composition"
	if st.orig != "" {
		title = "Edit " + st.orig
	}
	m := pages.EditorPage{Layout: h.page(r, title, "compositions")}
	m.Ed = h.editorModel(r, st)
	m.Ed.Notice = notice
	if st.orig != "" {
		if c, err := h.engine.CompositionVersion(r.Context(), st.orig, st.base); err == nil {
			form := runForm(c, nil, nil)
			m.Run = &form
		}
	}
	h.render(w, r, http.StatusOK, pages.EditorScreen(m))
}

// readEditorState reads the editor's form.
func (h *Handler) readEditorState(w http.ResponseWriter, r *http.Request) (*editorState, error) {
	// The YAML travels twice (the state and the YAML tab), and forms add
	// their own copies of fields.
	r.Body = http.MaxBytesReader(w, r.Body, 4*maxCompositionBytes)
	if err := r.ParseForm(); err != nil {
		return nil, &badInput{"the editor's form could not be read: " + err.Error()}
	}
	base, err := strconv.Atoi(r.PostFormValue("base"))
	if err != nil || base < 0 {
		return nil, &badInput{"the editor's form lacks the version it edits; reload the editor"}
	}
	doc := strings.ReplaceAll(r.PostFormValue("doc"), "\r\n", "\n")
	tab := r.PostFormValue("tab")
	if !slices.Contains([]string{"canvas", "yaml", "settings"}, tab) {
		tab = "canvas"
	}
	return &editorState{
		doc:      editor.Open([]byte(doc), h.engine.Catalog()),
		base:     base,
		orig:     r.PostFormValue("orig"),
		selected: r.PostFormValue("selected"),
		tab:      tab,
		message:  r.PostFormValue("message"),
	}, nil
}

// editorAction applies one action of the editor and sends back what
// changed: the whole editor after a change of structure, or the parts
// around a form the user is typing in.
func (h *Handler) editorAction(w http.ResponseWriter, r *http.Request) {
	st, err := h.readEditorState(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := st.doc
	op := r.PostFormValue("op")
	task := r.PostFormValue("task")
	var (
		actErr error
		except string   // the form left in place, for a parts answer
		errKey string   // the field the action's error belongs to
		before []string // task ids before a change that may add one
	)
	if c := d.Composition(); c != nil {
		for _, t := range c.Tasks {
			before = append(before, t.ID)
		}
	}
	switch op {
	case "select":
		st.selected = task
	case "layout":
		var rows [][]string
		if err := json.Unmarshal([]byte(r.PostFormValue("rows")), &rows); err != nil {
			actErr = errors.New("the canvas sent a layout that could not be read; reload the editor")
			break
		}
		actErr = d.Layout(rows)
	case "add":
		var id string
		id, actErr = d.Add(r.PostFormValue("type"), len(d.Rows()), false)
		if actErr == nil {
			st.selected = id
		}
	case "move":
		delta, _ := strconv.Atoi(r.PostFormValue("dir"))
		actErr = d.Move(task, delta)
		st.selected = task
	case "duplicate":
		var id string
		id, actErr = d.Duplicate(task)
		if actErr == nil {
			st.selected = id
		}
	case "remove":
		actErr = d.Remove(task)
		if actErr == nil && st.selected == task {
			st.selected = ""
		}
	case "field", "task":
		except = "inspector"
		key := r.PostFormValue("key")
		errKey = op + "-" + key
		value := r.PostFormValue("in-" + errKey)
		if op == "task" && key == "needs" {
			value = strings.Join(r.PostForm["in-"+errKey], ", ")
		}
		if op == "field" {
			actErr = d.SetField(st.selected, key, value)
		} else {
			actErr = d.SetTask(st.selected, key, value)
			if actErr == nil && key == "id" {
				st.selected = strings.TrimSpace(value)
			}
		}
	case "setting":
		except = "settings"
		key := r.PostFormValue("key")
		errKey = "setting-" + key
		actErr = d.SetSetting(key, r.PostFormValue("in-"+errKey))
	case "param":
		except = "settings"
		i := r.PostFormValue("index")
		errKey = "param-" + i
		orig := r.PostFormValue("param-" + i + "-orig")
		actErr = d.SetParam(orig, editor.ParamEdit{
			Name:        r.PostFormValue("param-" + i + "-name"),
			Type:        r.PostFormValue("param-" + i + "-type"),
			Required:    r.PostFormValue("param-"+i+"-required") == "true",
			Default:     r.PostFormValue("param-" + i + "-default"),
			HasDefault:  r.PostFormValue("param-"+i+"-default") != "",
			Enum:        r.PostFormValue("param-" + i + "-enum"),
			Description: r.PostFormValue("param-" + i + "-description"),
		})
	case "param-add":
		actErr = d.SetParam(newParamName(d.Composition()), editor.ParamEdit{Type: "string"})
		st.tab = "settings"
	case "param-remove":
		st.tab = "settings"
		if c := d.Composition(); c != nil {
			if i, err := strconv.Atoi(r.PostFormValue("index")); err == nil && i >= 0 && i < len(c.Params) {
				actErr = d.RemoveParam(c.Params[i].Name)
			}
		}
	case "schedule":
		except = "settings"
		i := r.PostFormValue("index")
		errKey = "sched-" + i
		n, err := strconv.Atoi(i)
		if err != nil {
			actErr = errors.New("the schedule's form could not be read; reload the editor")
			break
		}
		actErr = d.SetSchedule(n, scheduleEdit(r, i))
	case "schedule-add":
		st.tab = "settings"
		if c := d.Composition(); c != nil {
			actErr = d.SetSchedule(len(c.Schedules), editor.ScheduleEdit{Cron: "@daily"})
		}
	case "schedule-remove":
		st.tab = "settings"
		if i, err := strconv.Atoi(r.PostFormValue("index")); err == nil {
			actErr = d.RemoveSchedule(i)
		}
	case "yaml":
		except = "yaml"
		src := strings.ReplaceAll(r.PostFormValue("yaml"), "\r\n", "\n")
		d.ReplaceSource([]byte(src))
	default:
		h.fail(w, r, &badInput{fmt.Sprintf("the editor has no action %q; reload the editor", op)})
		return
	}
	if after := d.Composition(); after != nil && actErr == nil && (op == "layout") {
		for _, t := range after.Tasks {
			if !slices.Contains(before, t.ID) {
				st.selected = t.ID
			}
		}
	}
	m := h.editorModel(r, st)
	if actErr != nil {
		if !placeError(&m, errKey, actErr.Error(), r.PostForm["in-"+errKey]) {
			m.Error = actErr.Error()
		}
	}
	if except != "" {
		h.render(w, r, http.StatusOK, pages.EditorParts(m, except))
		return
	}
	h.render(w, r, http.StatusOK, pages.EditorBody(m))
}

// placeError shows an action's error on the field it concerns, with the
// value that was refused (posted) kept in the input; it reports false when
// no field of the model is that one.
func placeError(m *pages.Editor, key, msg string, posted []string) bool {
	if key == "" {
		return false
	}
	place := func(fields []pages.EditField) bool {
		for i := range fields {
			if fields[i].Op+"-"+fields[i].Key == key {
				fields[i].Errors = append([]string{msg}, fields[i].Errors...)
				if len(posted) == 1 {
					fields[i].Value = strings.ReplaceAll(posted[0], "\r\n", "\n")
				}
				return true
			}
		}
		return false
	}
	if m.Inspector != nil && (place(m.Inspector.Fields) || place(m.Inspector.TaskFields)) {
		return true
	}
	if place(m.Settings.Fields) {
		return true
	}
	for i := range m.Settings.Params {
		if "param-"+strconv.Itoa(m.Settings.Params[i].Index) == key {
			m.Settings.Params[i].Errors = append([]string{msg}, m.Settings.Params[i].Errors...)
			return true
		}
	}
	for i := range m.Settings.Schedules {
		if "sched-"+strconv.Itoa(m.Settings.Schedules[i].Index) == key {
			m.Settings.Schedules[i].Errors = append([]string{msg}, m.Settings.Schedules[i].Errors...)
			return true
		}
	}
	return false
}

// scheduleEdit reads the form of schedule row i.
func scheduleEdit(r *http.Request, i string) editor.ScheduleEdit {
	p := "sched-" + i + "-"
	return editor.ScheduleEdit{
		Cron: r.PostFormValue(p + "cron"), Timezone: r.PostFormValue(p + "timezone"),
		Params:  strings.ReplaceAll(r.PostFormValue(p+"params"), "\r\n", "\n"),
		CatchUp: r.PostFormValue(p+"catch_up") == "true", Overlap: r.PostFormValue(p+"overlap") == "true",
	}
}

// newParamName returns a param name no param has yet.
func newParamName(c *composition.Composition) string {
	for n := 1; ; n++ {
		name := "param_" + strconv.Itoa(n)
		if c == nil || c.Param(name) == nil {
			return name
		}
	}
}

// editorSave stores the draft as a new version, unless it has problems or
// someone else saved since the draft started.
func (h *Handler) editorSave(w http.ResponseWriter, r *http.Request) {
	st, err := h.readEditorState(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := st.doc
	if errs := h.pendingEdits(r, st); len(errs) > 0 {
		m := h.editorModel(r, st)
		var unplaced []string
		for key, msg := range errs {
			if !placeError(&m, key, msg, r.PostForm["in-"+key]) {
				unplaced = append(unplaced, msg)
			}
		}
		slices.Sort(unplaced)
		m.Error = strings.TrimSpace(fmt.Sprintf("Not saved: %d %s hold values that do not fit; they are marked below. %s",
			len(errs), plural(len(errs), "field", "fields"), strings.Join(unplaced, " ")))
		h.render(w, r, http.StatusOK, pages.EditorBody(m))
		return
	}
	if n := len(d.Problems()); n > 0 {
		m := h.editorModel(r, st)
		m.Error = fmt.Sprintf("Not saved: the composition has %d %s. Fix the fields marked in red (all are listed on the YAML tab) and save again.", n, plural(n, "problem", "problems"))
		h.render(w, r, http.StatusOK, pages.EditorBody(m))
		return
	}
	name := docName(d)
	base := st.base
	if name != st.orig {
		base = 0 // a new name saves a new composition; the old one stays
	}
	v, created, err := h.engine.SaveCompositionFrom(r.Context(), name, d.Source(), who(r), strings.TrimSpace(st.message), base)
	var stale *storage.StaleError
	switch {
	case errors.As(err, &stale):
		m := h.editorModel(r, st)
		m.Conflict = &pages.Conflict{Message: stale.Error() + ". Your changes are not saved.", Theirs: stale.Current.Version,
			Author: stale.Current.Author, Name: name}
		if stale.Current.Version > 0 {
			m.Conflict.Diff, _ = diffRows(editor.Diff([]byte(stale.Current.Source), d.Source()))
		}
		if base == 0 && stale.Current.Version > 0 {
			m.Conflict.Message = stale.Error() + "."
		}
		h.render(w, r, http.StatusOK, pages.EditorBody(m))
		return
	case err != nil:
		var invalid *engine.InvalidError
		if errors.As(err, &invalid) {
			m := h.editorModel(r, st)
			m.Error = "Not saved: " + invalid.Err.Error()
			h.render(w, r, http.StatusOK, pages.EditorBody(m))
			return
		}
		h.fail(w, r, err)
		return
	}
	if !created {
		m := h.editorModel(r, st)
		m.Notice = fmt.Sprintf("Nothing to save: the YAML is the same as version %d.", v.Version)
		h.render(w, r, http.StatusOK, pages.EditorBody(m))
		return
	}
	redirect(w, r, fmt.Sprintf("/compositions/%s/edit?saved=%d", v.Name, v.Version))
}

// docName is the name in the editor's YAML, or "".
func docName(d *editor.Doc) string {
	if c := d.Composition(); c != nil {
		return c.Name
	}
	return ""
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
