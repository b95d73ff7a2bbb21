package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

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
	doc, err := h.openDoc(r.Context(), fmt.Appendf(nil, newCompositionYAML, name))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.renderEditorPage(w, r, &editorState{doc: doc, tab: "canvas"}, "")
}

// editorOpen opens the editor on a stored composition's current version.
func (h *Handler) editorOpen(w http.ResponseWriter, r *http.Request) {
	v, err := h.store.GetComposition(r.Context(), r.PathValue("name"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	doc, err := h.openDoc(r.Context(), []byte(v.Source))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	st := &editorState{doc: doc, base: v.Version, orig: v.Name, tab: "canvas"}
	if rows := st.doc.Rows(); len(rows) > 0 {
		st.selected = rows[0][0].ID
	}
	notice := ""
	if saved := r.URL.Query().Get("saved"); saved != "" {
		notice = "Saved version " + saved + "."
		if n := len(doc.Warnings()); n > 0 {
			notice += fmt.Sprintf(" It has %d %s, marked in amber: warnings do not stop a save, but see to them before a run gets there.", n, plural(n, "warning", "warnings"))
		}
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

// openDoc opens the editor on src, knowing the stored compositions, which
// its warnings check the names it calls against.
func (h *Handler) openDoc(ctx context.Context, src []byte) (*editor.Doc, error) {
	names, err := h.store.CompositionNames(ctx)
	if err != nil {
		return nil, err
	}
	d := editor.Open(src, h.engine.Catalog())
	d.KnowCompositions(names)
	return d, nil
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
	d, err := h.openDoc(r.Context(), []byte(doc))
	if err != nil {
		return nil, err
	}
	return &editorState{
		doc:     d,
		base:    base,
		orig:    r.PostFormValue("orig"),
		tab:     tab,
		message: r.PostFormValue("message"),
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
	edit, err := editor.DecodeEdit(r.PostForm)
	if errors.Is(err, editor.ErrNoAction) {
		h.fail(w, r, &badInput{err.Error()})
		return
	}
	var res editor.Result
	if err == nil {
		res, err = st.doc.Apply(edit)
	}
	st.selected = res.Selected
	if res.Tab != "" {
		st.tab = res.Tab
	}
	m := h.editorModel(r, st)
	if err != nil {
		var in *editor.InputError
		if !errors.As(err, &in) || !placeError(&m, in) {
			m.Error = err.Error()
		}
	}
	if res.Part != "" {
		h.render(w, r, http.StatusOK, pages.EditorParts(m, string(res.Part)))
		return
	}
	h.render(w, r, http.StatusOK, pages.EditorBody(m))
}

// placeError shows an edit's error on the input or row it concerns, with
// the refused value kept in the input; it reports false when the model has
// no such input.
func placeError(m *pages.Editor, in *editor.InputError) bool {
	msg := in.Err.Error()
	place := func(fields []pages.EditField) bool {
		for i := range fields {
			if fields[i].Name == in.Input {
				fields[i].Errors = append([]string{msg}, fields[i].Errors...)
				fields[i].Value = in.Value
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
		if m.Settings.Params[i].Prefix == in.Input {
			m.Settings.Params[i].Errors = append([]string{msg}, m.Settings.Params[i].Errors...)
			return true
		}
	}
	for i := range m.Settings.Schedules {
		if m.Settings.Schedules[i].Prefix == in.Input {
			m.Settings.Schedules[i].Errors = append([]string{msg}, m.Settings.Schedules[i].Errors...)
			return true
		}
	}
	return false
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
	edit, err := editor.DecodeEdit(r.PostForm)
	if err != nil {
		h.fail(w, r, &badInput{err.Error()})
		return
	}
	selected, errs := d.ApplyPending(edit)
	st.selected = selected
	if len(errs) > 0 {
		m := h.editorModel(r, st)
		var unplaced []string
		for _, in := range errs {
			if !placeError(&m, in) {
				unplaced = append(unplaced, in.Err.Error())
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
