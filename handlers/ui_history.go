package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"baton/editor"
	"baton/model"
	"baton/storage"
	"baton/views/pages"
)

// diffContext is how many unchanged lines a diff shows around a change.
const diffContext = 3

// compositionHistory lists a composition's versions and shows the
// difference between two of them (by default the last two).
func (h *Handler) compositionHistory(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	versions, err := h.store.ListCompositionVersions(r.Context(), name)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	current, err := h.currentVersion(r, name)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	m := pages.History{Layout: h.page(r, name+" history", "compositions"), Now: time.Now(), Name: name, Current: current}
	byVersion := map[int]model.CompositionVersion{}
	for _, v := range versions {
		byVersion[v.Version] = v
		m.Versions = append(m.Versions, pages.VersionRow{Version: v.Version, Author: v.Author, Message: v.Message, SavedAt: v.CreatedAt, Current: v.Version == current})
	}
	m.B = versions[0].Version
	m.A = max(m.B-1, 1)
	q := r.URL.Query()
	for key, dst := range map[string]*int{"a": &m.A, "b": &m.B} {
		raw := q.Get(key)
		if raw == "" {
			continue
		}
		n, err := strconv.Atoi(raw)
		if _, ok := byVersion[n]; err != nil || !ok {
			h.fail(w, r, &badInput{fmt.Sprintf("%s=%s is not a version of %s; the versions are 1 to %d", key, raw, name, versions[0].Version)})
			return
		}
		*dst = n
	}
	m.Diff, m.Changes = diffRows(editor.Diff([]byte(byVersion[m.A].Source), []byte(byVersion[m.B].Source)))
	h.render(w, r, http.StatusOK, pages.HistoryPage(m))
}

// diffRows turns a diff into what the page shows: changed lines with
// diffContext unchanged lines around them, and a gap row for the rest. It
// also counts the changed lines.
func diffRows(lines []editor.Line) ([]pages.DiffLine, int) {
	keep := make([]bool, len(lines))
	changes := 0
	for i, l := range lines {
		if l.Op == ' ' {
			continue
		}
		changes++
		for k := max(i-diffContext, 0); k <= min(i+diffContext, len(lines)-1); k++ {
			keep[k] = true
		}
	}
	var out []pages.DiffLine
	skipped := 0
	flush := func() {
		if skipped > 0 {
			out = append(out, pages.DiffLine{Op: "gap", Text: fmt.Sprintf("%d unchanged lines", skipped)})
			skipped = 0
		}
	}
	for i, l := range lines {
		if !keep[i] {
			skipped++
			continue
		}
		flush()
		op := map[byte]string{' ': "same", '-': "del", '+': "add"}[l.Op]
		out = append(out, pages.DiffLine{Op: op, Text: l.Text, Old: l.Old, New: l.New})
	}
	flush()
	return out, changes
}

// compositionVersion shows one stored version's YAML, with a way to
// restore it.
func (h *Handler) compositionVersion(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	n, err := versionNumber(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v, err := h.store.GetCompositionVersion(r.Context(), name, n)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	current, err := h.currentVersion(r, name)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	m := pages.VersionPage{Layout: h.page(r, fmt.Sprintf("%s version %d", name, n), "compositions"), Now: time.Now(),
		Name: name, Version: v.Version, Author: v.Author, Message: v.Message, SavedAt: v.CreatedAt,
		Source: v.Source, Current: current}
	if _, err := h.engine.CompositionVersion(r.Context(), name, n); err != nil {
		m.Invalid = err.Error()
	}
	h.render(w, r, http.StatusOK, pages.VersionSourcePage(m))
}

// compositionRestore saves an old version's YAML as the newest version.
// The form carries the version current when the page was shown, so a
// restore never overwrites a save made in between.
func (h *Handler) compositionRestore(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	n, err := versionNumber(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	base, err := strconv.Atoi(r.PostFormValue("base"))
	if err != nil {
		h.fail(w, r, &badInput{"the form lacks the current version (base); reload the page and try again"})
		return
	}
	v, created, err := h.restore(r, name, n, base)
	var stale *storage.StaleError
	if errors.As(err, &stale) {
		h.flash(r, false, stale.Error()+". Nothing was restored; look at the newer version before trying again.")
		http.Redirect(w, r, fmt.Sprintf("/compositions/%s/history?a=%d&b=%d", name, n, stale.Current.Version), http.StatusSeeOther)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if created {
		h.flash(r, true, fmt.Sprintf("Version %d restored as version %d.", n, v.Version))
	} else {
		h.flash(r, true, fmt.Sprintf("Version %d is the same as the current version; nothing to restore.", n))
	}
	http.Redirect(w, r, "/compositions/"+name+"/history", http.StatusSeeOther)
}

// restore saves version n of name again as the next version, if base is
// still current.
func (h *Handler) restore(r *http.Request, name string, n, base int) (model.CompositionVersion, bool, error) {
	old, err := h.store.GetCompositionVersion(r.Context(), name, n)
	if err != nil {
		return old, false, err
	}
	return h.engine.SaveCompositionFrom(r.Context(), name, []byte(old.Source), who(r), fmt.Sprintf("Restore version %d", n), base)
}

// currentVersion returns the current version of a composition, or 0 when
// it has been deleted.
func (h *Handler) currentVersion(r *http.Request, name string) (int, error) {
	cur, err := h.store.GetComposition(r.Context(), name)
	if err != nil && !errors.Is(err, model.ErrNotFound) {
		return 0, err
	}
	return cur.Version, nil
}
