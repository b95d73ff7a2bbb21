package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"baton/editor"
	"baton/engine"
	"baton/model"
	"baton/storage"
	"baton/views/pages"
)

// triggerHistory lists a trigger's versions and shows the difference
// between two of them (by default the last two), secrets redacted.
func (h *Handler) triggerHistory(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	versions, err := h.store.ListTriggerVersions(r.Context(), name)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	current, err := h.currentTriggerVersion(r, name)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	m := pages.History{Layout: h.page(r, name+" history", "triggers"), Now: time.Now(), Name: name, Current: current}
	byVersion := map[int]model.TriggerVersion{}
	for _, v := range versions {
		byVersion[v.Version] = v
		m.Versions = append(m.Versions, pages.VersionRow{Version: v.Version, Author: v.Author, Message: v.Message, SavedAt: v.CreatedAt, Current: v.Version == current})
	}
	m.B = versions[0].Version
	m.A = m.B
	if len(versions) > 1 {
		m.A = versions[1].Version
	}
	q := r.URL.Query()
	for key, dst := range map[string]*int{"a": &m.A, "b": &m.B} {
		raw := q.Get(key)
		if raw == "" {
			continue
		}
		n, err := strconv.Atoi(raw)
		if _, ok := byVersion[n]; err != nil || !ok {
			h.fail(w, r, &badInput{fmt.Sprintf("%s=%s is not a version of trigger %s; the versions are 1 to %d", key, raw, name, versions[0].Version)})
			return
		}
		*dst = n
	}
	a, _ := redactedSource(byVersion[m.A].Source)
	b, _ := redactedSource(byVersion[m.B].Source)
	m.Diff, m.Changes = diffRows(editor.Diff([]byte(a), []byte(b)))
	h.render(w, r, http.StatusOK, pages.TriggerHistoryPage(m))
}

// triggerVersion shows one stored version, its secret redacted, with a
// way to restore it.
func (h *Handler) triggerVersion(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	n, err := versionNumber(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v, err := h.store.GetTriggerVersion(r.Context(), name, n)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	current, err := h.currentTriggerVersion(r, name)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	shown, _ := redactedSource(v.Source)
	m := pages.VersionPage{Layout: h.page(r, fmt.Sprintf("%s version %d", name, n), "triggers"), Now: time.Now(),
		Name: name, Version: v.Version, Author: v.Author, Message: v.Message, SavedAt: v.CreatedAt, Source: shown, Current: current}
	if _, err := h.engine.CheckTriggerSource(r.Context(), name, []byte(v.Source)); err != nil {
		var invalid *engine.InvalidError
		if errors.As(err, &invalid) {
			m.Invalid = invalid.Err.Error()
		} else {
			m.Invalid = err.Error()
		}
	}
	h.render(w, r, http.StatusOK, pages.TriggerVersionSourcePage(m))
}

// triggerRestore saves an old version as the newest. The form carries the
// version current when the page was shown, so a restore never overwrites
// a save made in between.
func (h *Handler) triggerRestore(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	n, err := versionNumber(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	base, err := strconv.Atoi(r.PostFormValue("base"))
	if err != nil || base < 0 {
		h.fail(w, r, &badInput{"the form lacks the current version (base); reload the page and try again"})
		return
	}
	v, created, err := h.restoreTrigger(r, name, n, base)
	var (
		stale   *storage.TriggerStaleError
		invalid *engine.InvalidError
	)
	switch {
	case errors.As(err, &stale):
		h.flash(r, false, stale.Error()+". Nothing was restored; look at the newer version before trying again.")
		http.Redirect(w, r, fmt.Sprintf("/triggers/%s/history?a=%d&b=%d", name, n, max(stale.Current.Version, n)), http.StatusSeeOther)
		return
	case errors.As(err, &invalid):
		h.flash(r, false, fmt.Sprintf("Version %d does not validate now, so nothing was restored: %s", n, invalid.Err.Error()))
		http.Redirect(w, r, fmt.Sprintf("/triggers/%s/versions/%d", name, n), http.StatusSeeOther)
		return
	case err != nil:
		h.fail(w, r, err)
		return
	}
	if created {
		h.flash(r, true, fmt.Sprintf("Version %d restored as version %d; it is active now.", n, v.Version))
	} else {
		h.flash(r, true, fmt.Sprintf("Version %d is the same as the current version; nothing to restore.", n))
	}
	http.Redirect(w, r, "/triggers/"+name, http.StatusSeeOther)
}
