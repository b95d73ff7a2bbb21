package handlers

import (
	"errors"
	"io"
	"net/http"
	"strconv"

	"baton/composition"
	"baton/model"
	"baton/yamltree"
)

// maxCompositionBytes limits a composition's or a trigger's source: the
// most the YAML reader reads, so that a body the API takes is never too
// big to read.
const maxCompositionBytes = yamltree.MaxBytes

func (h *Handler) apiTaskTypes(w http.ResponseWriter, r *http.Request) {
	types := h.engine.Catalog().TaskTypes()
	out := make([]taskTypeJSON, len(types))
	for i, t := range types {
		out[i] = toTaskTypeJSON(t)
	}
	writeJSON(w, http.StatusOK, map[string]any{"task_types": out})
}

func (h *Handler) apiCompositionList(w http.ResponseWriter, r *http.Request) {
	versions, err := h.store.ListCompositions(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]compositionJSON, 0, len(versions))
	for _, v := range versions {
		c, err := h.engine.CompositionVersion(r.Context(), v.Name, v.Version)
		j := toCompositionJSON(v, c)
		if err != nil {
			j.Invalid = err.Error()
		}
		out = append(out, j)
	}
	writeJSON(w, http.StatusOK, map[string]any{"compositions": out})
}

func (h *Handler) apiCompositionGet(w http.ResponseWriter, r *http.Request) {
	v, err := h.store.GetComposition(r.Context(), r.PathValue("name"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeVersion(w, r, v)
}

func (h *Handler) apiCompositionPut(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	src, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCompositionBytes))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	_, err = h.store.GetComposition(r.Context(), name)
	existed := err == nil
	if err != nil && !errors.Is(err, model.ErrNotFound) {
		h.fail(w, r, err)
		return
	}
	names, err := h.store.CompositionNames(r.Context()) // for the warnings of the answer
	if err != nil {
		h.fail(w, r, err)
		return
	}
	message := r.URL.Query().Get("message")
	if message == "" {
		message = r.Header.Get("X-Baton-Message")
	}
	var v model.CompositionVersion
	if b := r.URL.Query().Get("base"); b != "" {
		base, convErr := strconv.Atoi(b)
		if convErr != nil || base < 0 {
			badRequest(w, "base must be the version number you edited (0 for a new composition), not "+strconv.Quote(b))
			return
		}
		v, _, err = h.engine.SaveCompositionFrom(r.Context(), name, src, who(r), message, base)
	} else {
		v, _, err = h.engine.SaveComposition(r.Context(), name, src, who(r), message)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	c, _ := h.engine.CompositionVersion(r.Context(), v.Name, v.Version)
	status := http.StatusOK
	if !existed {
		status = http.StatusCreated
	}
	j := toCompositionJSON(v, c)
	for _, p := range composition.CheckCompositions(c, h.engine.Catalog(), names, "is not stored yet") {
		j.Warnings = append(j.Warnings, detail{Line: p.Line, Column: p.Col, Field: p.Path, Message: p.Message})
	}
	writeJSON(w, status, j)
}

func (h *Handler) apiCompositionDelete(w http.ResponseWriter, r *http.Request) {
	if err := h.engine.DeleteComposition(r.Context(), r.PathValue("name")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) apiCompositionVersions(w http.ResponseWriter, r *http.Request) {
	versions, err := h.store.ListCompositionVersions(r.Context(), r.PathValue("name"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]compositionJSON, len(versions))
	for i, v := range versions {
		out[i] = toCompositionJSON(v, nil)
	}
	writeJSON(w, http.StatusOK, map[string]any{"versions": out})
}

// versionNumber reads the {version} of the path.
func versionNumber(r *http.Request) (int, error) {
	n, err := strconv.Atoi(r.PathValue("version"))
	if err != nil || n < 1 {
		return 0, &badInput{"the version must be a number from 1, not " + strconv.Quote(r.PathValue("version"))}
	}
	return n, nil
}

func (h *Handler) apiCompositionVersionGet(w http.ResponseWriter, r *http.Request) {
	n, err := versionNumber(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v, err := h.store.GetCompositionVersion(r.Context(), r.PathValue("name"), n)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeVersion(w, r, v)
}

// apiCompositionRestore saves an old version as the newest. ?base=N, the
// version the caller believes current, is required: a restore must not
// overwrite a save it has not seen.
func (h *Handler) apiCompositionRestore(w http.ResponseWriter, r *http.Request) {
	n, err := versionNumber(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	base, err := strconv.Atoi(r.URL.Query().Get("base"))
	if err != nil || base < 0 {
		badRequest(w, "give ?base=N, the version you believe is current, so that a restore never overwrites a newer save")
		return
	}
	v, _, err := h.restore(r, r.PathValue("name"), n, base)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	c, _ := h.engine.CompositionVersion(r.Context(), v.Name, v.Version)
	writeJSON(w, http.StatusOK, toCompositionJSON(v, c))
}

// writeVersion answers with a stored version: its YAML alone with
// ?format=yaml, else JSON with the source and whether it still validates.
func (h *Handler) writeVersion(w http.ResponseWriter, r *http.Request, v model.CompositionVersion) {
	format, err := queryFormat(r, "json", "yaml")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if format == "yaml" {
		w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
		io.WriteString(w, v.Source)
		return
	}
	c, err := h.engine.CompositionVersion(r.Context(), v.Name, v.Version)
	j := toCompositionJSON(v, c)
	if err != nil {
		j.Invalid = err.Error()
	}
	writeJSON(w, http.StatusOK, struct {
		compositionJSON
		Source string `json:"source"`
	}{j, v.Source})
}
