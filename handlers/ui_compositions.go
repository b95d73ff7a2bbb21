package handlers

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"baton/composition"
	"baton/engine"
	"baton/storage"
	"baton/views/pages"
)

func (h *Handler) compositions(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	versions, err := h.store.ListCompositions(ctx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	last, err := h.store.LastRuns(ctx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	m := pages.Compositions{Layout: h.page(r, "Compositions", "compositions"), Now: time.Now()}
	for _, v := range versions {
		row := pages.CompositionRow{Name: v.Name, Version: v.Version}
		if c, err := h.engine.CompositionVersion(ctx, v.Name, v.Version); err != nil {
			row.Invalid = "does not validate any more: " + firstLine(err.Error())
		} else {
			row.Description, row.Tasks = firstLine(c.Description), len(c.Tasks)
		}
		if run, ok := last[v.Name]; ok {
			rr := runRow(run, m.Now)
			row.LastRun = &rr
		}
		m.Rows = append(m.Rows, row)
	}
	h.render(w, r, http.StatusOK, pages.CompositionsPage(m))
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimLeft(s, "# ")
}

func (h *Handler) composition(w http.ResponseWriter, r *http.Request) {
	m, err := h.compositionPage(r, r.PathValue("name"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	m.Form = runForm(m.comp, nil, nil)
	h.render(w, r, http.StatusOK, pages.CompositionPage(m.Composition))
}

type compositionModel struct {
	pages.Composition
	comp *composition.Composition
}

func (h *Handler) compositionPage(r *http.Request, name string) (*compositionModel, error) {
	ctx := r.Context()
	v, err := h.store.GetComposition(ctx, name)
	if err != nil {
		return nil, err
	}
	m := &compositionModel{Composition: pages.Composition{Layout: h.page(r, name, "compositions"), Now: time.Now(),
		Name: v.Name, Version: v.Version, SavedBy: v.Author, SavedAt: v.CreatedAt}}
	c, err := h.engine.CompositionVersion(ctx, v.Name, v.Version)
	if err != nil {
		m.Invalid = "This version does not validate any more, so it cannot run: " + err.Error()
		m.comp = &composition.Composition{Name: name}
	} else {
		m.comp = c
		m.DescriptionHTML = markdown(c.Description)
		for i, sc := range c.Schedules {
			view := pages.ScheduleView{Trigger: engine.ScheduleName(c.Name, i), Cron: sc.Cron, Zone: cmp.Or(sc.Timezone, "UTC"), Params: paramsText(sc.Params)}
			if cr, err := composition.NewCron(sc.Cron, sc.Timezone); err == nil {
				view.Next = cr.NextN(m.Now, 3)
			}
			m.Schedules = append(m.Schedules, view)
		}
		for _, t := range c.Tasks {
			m.Tasks = append(m.Tasks, t.ID)
		}
	}
	runs, err := h.store.ListRuns(ctx, storage.RunFilter{Composition: name, Limit: 20})
	if err != nil {
		return nil, err
	}
	m.Runs = runRows(runs, m.Now)
	return m, nil
}

// runForm builds the params form: the values given (or defaults) and a
// message per bad field.
func runForm(c *composition.Composition, given map[string]string, errs map[string]string) pages.RunForm {
	f := pages.RunForm{Composition: c.Name}
	for _, p := range c.Params {
		pf := pages.ParamField{Name: p.Name, Type: string(p.Type), Required: p.Required, Error: errs[p.Name]}
		if p.Description != "" {
			pf.HelpHTML = markdown(p.Description)
		}
		for _, o := range p.Enum {
			pf.Options = append(pf.Options, composition.FormatValue(o))
		}
		if v, ok := given[p.Name]; ok {
			pf.Value = v
		} else if p.Default != nil {
			pf.Value = defaultText(p.Default)
		}
		if p.Type == composition.TypeBoolean {
			pf.Checked = pf.Value == "true"
		}
		f.Fields = append(f.Fields, pf)
	}
	return f
}

// defaultText shows a default in an input: lists one item per line.
func defaultText(v any) string {
	if list, ok := v.([]any); ok {
		items := make([]string, len(list))
		for i, x := range list {
			items[i] = composition.FormatValue(x)
		}
		return strings.Join(items, "\n")
	}
	return composition.FormatValue(v)
}

// compositionRun starts a run from the params form.
func (h *Handler) compositionRun(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	c, _, err := h.engine.Composition(r.Context(), name)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, &badInput{"the form could not be read: " + err.Error()})
		return
	}
	given := map[string]string{}
	params := map[string]any{}
	for _, p := range c.Params {
		raw, present := r.PostForm[p.Name]
		value := strings.TrimSpace(strings.Join(raw, ""))
		switch {
		case p.Type == composition.TypeBoolean:
			if present || r.PostFormValue("_present_"+p.Name) != "" {
				value = fmt.Sprint(present && value == "true")
				params[p.Name] = value
			}
		case p.Type == composition.TypeList && value != "":
			var items []any
			for _, line := range strings.Split(value, "\n") {
				if line = strings.TrimSpace(line); line != "" {
					items = append(items, line)
				}
			}
			params[p.Name] = items
		case value != "":
			params[p.Name] = value
		}
		given[p.Name] = value
	}
	run, err := h.engine.StartRun(r.Context(), engine.RunRequest{Composition: name, Params: params, Trigger: who(r)})
	var pe *engine.ParamsError
	if errors.As(err, &pe) {
		errs := map[string]string{}
		var other []string
		for _, fe := range pe.Errors {
			if c.Param(fe.Field) != nil {
				errs[fe.Field] = fe.Message
			} else {
				other = append(other, fe.Error())
			}
		}
		form := runForm(c, given, errs)
		sort.Strings(other)
		form.Error = "The run was not started: fix the fields marked below." + strings.Join(other, " ")
		if isHTMX(r) {
			h.render(w, r, http.StatusOK, pages.RunFormCard(form))
			return
		}
		m, err := h.compositionPage(r, name)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		m.Form = form
		h.render(w, r, http.StatusUnprocessableEntity, pages.CompositionPage(m.Composition))
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	redirect(w, r, fmt.Sprintf("/runs/%d", run.ID))
}

// paramsText shows fixed params as name=value, by name.
func paramsText(params map[string]any) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + composition.FormatValue(params[k])
	}
	return strings.Join(parts, ", ")
}
