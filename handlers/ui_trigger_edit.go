package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"

	"baton/composition"
	"baton/editor"
	"baton/engine"
	"baton/model"
	"baton/storage"
	"baton/trigger"
	"baton/views/pages"
)

// triggerNew opens the trigger editor on a starter of the kind asked for
// (?kind=, github by default), under a name no trigger has yet.
func (h *Handler) triggerNew(w http.ResponseWriter, r *http.Request) {
	kind := trigger.Kind(r.URL.Query().Get("kind"))
	if kind == "" {
		kind = trigger.GitHub
	}
	if !slices.Contains(starterKinds(), kind) {
		h.fail(w, r, &badInput{fmt.Sprintf("there is no kind of trigger %q; the kinds are %s", kind, kindNames())})
		return
	}
	name, err := h.freeTriggerName(r, starterName(kind))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	comp := "build"
	if cs, err := h.store.ListCompositions(r.Context()); err == nil && len(cs) > 0 {
		comp = cs[0].Name
	}
	src := starter(kind, name, comp)
	m := pages.TriggerEditor{Layout: h.page(r, "New trigger", "triggers"), Kind: string(kind), Source: src,
		Check: h.checkTriggerText(r, "", []byte(src)), Webhook: kind.Webhook()}
	for _, k := range starterKinds() {
		m.Kinds = append(m.Kinds, string(k))
	}
	h.render(w, r, http.StatusOK, pages.TriggerEditorPage(m))
}

func kindNames() string {
	var names []string
	for _, k := range starterKinds() {
		names = append(names, string(k))
	}
	return strings.Join(names, ", ")
}

// freeTriggerName returns base, or base-2, base-3, ...: the first that no
// trigger has, stored or active.
func (h *Handler) freeTriggerName(r *http.Request, base string) (string, error) {
	name := base
	for n := 2; ; n++ {
		_, err := h.store.GetTrigger(r.Context(), name)
		if err != nil && !errors.Is(err, model.ErrNotFound) {
			return "", err
		}
		if _, active := h.engine.Trigger(name); err != nil && !active {
			return name, nil
		}
		name = fmt.Sprintf("%s-%d", base, n)
	}
}

// triggerEdit opens the trigger editor on a stored trigger's current
// version, its secret redacted.
func (h *Handler) triggerEdit(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	cur, err := h.store.GetTrigger(r.Context(), name)
	if errors.Is(err, model.ErrNotFound) {
		if t, ok := h.engine.Trigger(name); ok && t.Owner != "" {
			err = &engine.StateError{Msg: fmt.Sprintf("trigger %s is a schedule of composition %s: edit it in that composition's schedules: (the editor's Settings tab)", name, t.Owner)}
		}
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	shown, _ := redactedSource(cur.Source)
	m := pages.TriggerEditor{Layout: h.page(r, "Edit "+name, "triggers"), Orig: name, Base: cur.Version, Source: shown,
		Check: h.checkTriggerText(r, name, []byte(shown)), Secret: secretNote(cur.Source), Webhook: isWebhookText([]byte(shown))}
	h.render(w, r, http.StatusOK, pages.TriggerEditorPage(m))
}

// isWebhookText reports whether a trigger's text is of a webhook kind,
// which needs a secret.
func isWebhookText(src []byte) bool {
	t, _ := trigger.Parse("trigger.yaml", src, func(string) (string, bool) { return "", false })
	return t != nil && t.Kind.Webhook()
}

// secretNote says where a trigger's secret comes from, never what it is.
func secretNote(src string) string {
	t, _ := trigger.Parse("trigger.yaml", []byte(src), os.LookupEnv)
	switch {
	case t == nil:
		return ""
	case t.SecretEnv != "":
		return "The secret is read from the server's environment variable " + t.SecretEnv + "."
	case t.Secret != "":
		return "The secret is written in the trigger, so it shows as \"[redacted]\" here: leave that as it is to keep it, or write a new secret in its place."
	}
	return ""
}

// triggerCheck checks the editor's text as a save would and answers with
// the problems it found, for the list beside the text.
func (h *Handler) triggerCheck(w http.ResponseWriter, r *http.Request) {
	src, err := readTriggerForm(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, pages.TriggerProblemsView(h.checkTriggerText(r, r.PostFormValue("orig"), src)))
}

// readTriggerForm reads the editor's form and returns its text.
func readTriggerForm(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxCompositionBytes+64<<10)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &badInput{fmt.Sprintf("the trigger is larger than %s, the most a trigger file may be; make it smaller", byteSize(maxCompositionBytes))}
		}
		return nil, &badInput{"the editor's form could not be read: " + err.Error()}
	}
	return []byte(strings.ReplaceAll(r.PostFormValue("yaml"), "\r\n", "\n")), nil
}

// checkTriggerText checks a trigger's text with the engine, exactly as a
// save would, and says what it found: problems with their places, and
// notes worth knowing that do not stop a save.
func (h *Handler) checkTriggerText(r *http.Request, orig string, src []byte) pages.TriggerCheck {
	t, err := h.engine.CheckTriggerSource(r.Context(), orig, src)
	var c pages.TriggerCheck
	c.Problems = problemViews(err)
	if t == nil {
		return c
	}
	// The trigger checked has the kept secret put back; whether the text
	// keeps it is read from the text.
	placeholders := strings.Count(string(src), trigger.RedactedSecret)
	if typed, _ := trigger.Parse("trigger.yaml", src, func(string) (string, bool) { return "", false }); typed.KeepsSecret() {
		placeholders--
	}
	if placeholders > 0 {
		c.Notes = append(c.Notes, fmt.Sprintf("%s appears where the secret was hidden outside secret: (a comment, a param); saved as it is, those places hold the text %s itself. Move the secret to secret_env to avoid this.",
			trigger.RedactedSecret, trigger.RedactedSecret))
	}
	comps, err := h.store.ListCompositions(r.Context())
	if err != nil {
		return c // the notes are a help; the check itself is done
	}
	exists := make(map[string]bool, len(comps))
	for _, v := range comps {
		exists[v.Name] = true
	}
	for i, rl := range t.Rules {
		comp := rl.Run.Composition
		if comp == "" || exists[comp] {
			continue
		}
		exists[comp] = true // one note per composition
		rule := rl.Name
		if rule == "" {
			rule = "rule " + strconv.Itoa(i+1)
		}
		c.Notes = append(c.Notes, fmt.Sprintf("%s runs composition %s, which does not exist yet; until it does, each event records that error on the rule.", rule, comp))
	}
	return c
}

// problemViews lists the problems of a check or save error, each at its
// place when it has one.
func problemViews(err error) []pages.EditorProblem {
	if err == nil {
		return nil
	}
	var probs composition.Problems
	if errors.As(err, &probs) {
		out := make([]pages.EditorProblem, len(probs))
		for i, p := range probs {
			out[i] = pages.EditorProblem{Line: p.Line, Col: p.Col, Message: p.Message}
		}
		return out
	}
	var invalid *engine.InvalidError
	if errors.As(err, &invalid) {
		return []pages.EditorProblem{{Message: invalid.Err.Error()}}
	}
	return []pages.EditorProblem{{Message: err.Error()}}
}

// triggerSave stores the editor's text as the trigger's next version,
// unless it has problems or someone else saved since the text started
// from its version: then nothing is stored and the editor says why, with
// the text kept.
func (h *Handler) triggerSave(w http.ResponseWriter, r *http.Request) {
	src, err := readTriggerForm(w, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	orig := r.PostFormValue("orig")
	base, err := strconv.Atoi(r.PostFormValue("base"))
	if over := r.PostFormValue("over"); over != "" {
		base, err = strconv.Atoi(over)
	}
	if err != nil || base < 0 {
		h.fail(w, r, &badInput{"the editor's form lacks the version it edits; reload the editor"})
		return
	}
	message := strings.TrimSpace(r.PostFormValue("message"))
	v, created, err := h.engine.SaveTriggerFrom(r.Context(), orig, src, who(r), message, base)
	var (
		stale   *storage.TriggerStaleError
		invalid *engine.InvalidError
	)
	switch {
	case errors.As(err, &stale):
		m := h.editorAgain(r, orig, base, src, message)
		m.Conflict = &pages.TriggerConflict{Name: stale.Name, Message: stale.Error() + ". Your text is not saved.",
			Theirs: stale.Current.Version, Author: stale.Current.Author}
		if stale.Current.Version > 0 {
			theirs, _ := redactedSource(stale.Current.Source)
			m.Conflict.Diff, _ = diffRows(editor.Diff([]byte(theirs), src))
		}
		h.render(w, r, http.StatusConflict, pages.TriggerEditorPage(m))
		return
	case errors.As(err, &invalid):
		m := h.editorAgain(r, orig, base, src, message)
		m.Check.Problems = problemViews(err)
		n := len(m.Check.Problems)
		m.Error = fmt.Sprintf("Not saved: the trigger has %d %s, listed beside the text. Nothing was changed; fix them and save again.", n, plural(n, "problem", "problems"))
		h.render(w, r, http.StatusUnprocessableEntity, pages.TriggerEditorPage(m))
		return
	case err != nil:
		h.fail(w, r, err)
		return
	}
	if created {
		h.flash(r, true, fmt.Sprintf("Saved version %d of %s; it is active now.", v.Version, v.Name))
	} else {
		h.flash(r, true, fmt.Sprintf("Nothing to save: the text is the same as version %d.", v.Version))
	}
	http.Redirect(w, r, "/triggers/"+v.Name, http.StatusSeeOther)
}

// editorAgain is the editor showing text that was not saved, as it was
// posted.
func (h *Handler) editorAgain(r *http.Request, orig string, base int, src []byte, message string) pages.TriggerEditor {
	title := "New trigger"
	if orig != "" {
		title = "Edit " + orig
	}
	m := pages.TriggerEditor{Layout: h.page(r, title, "triggers"), Orig: orig, Base: base, Source: string(src), Message: message,
		Check: h.checkTriggerText(r, orig, src), Webhook: isWebhookText(src)}
	if orig == "" {
		for _, k := range starterKinds() {
			m.Kinds = append(m.Kinds, string(k))
		}
	} else if cur, err := h.store.GetTrigger(r.Context(), orig); err == nil {
		m.Secret = secretNote(cur.Source)
	}
	return m
}
