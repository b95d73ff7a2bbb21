package handlers

import (
	"net/http"
	"strings"
	"testing"
)

// TestCompositionPutWarnings: the answer to a save lists the compositions
// it names that are not stored, as warnings that did not stop the save.
func TestCompositionPutWarnings(t *testing.T) {
	a := newAPI(t)
	const caller = "name: caller\ntasks:\n  - id: call\n    type: composition\n    with: {name: lnit}\n"
	type warning struct {
		Line, Column   int
		Field, Message string
	}
	var got struct {
		Version  int
		Warnings []warning
	}
	a.do("PUT", "/api/v1/compositions/caller", caller, http.StatusCreated, &got)
	if got.Version != 1 || len(got.Warnings) != 1 {
		t.Fatalf("answer = %+v, want version 1 with one warning", got)
	}
	if w := got.Warnings[0]; w.Line != 5 || w.Column != 18 || w.Field != "tasks.0.with.name" || !strings.Contains(w.Message, `"lnit"`) {
		t.Errorf("warning = %+v", w)
	}
	a.do("PUT", "/api/v1/compositions/lnit", "name: lnit\ntasks:\n  - id: a\n    run: echo\n", http.StatusCreated, nil)
	got.Warnings = nil
	a.do("PUT", "/api/v1/compositions/caller", caller, http.StatusOK, &got)
	if len(got.Warnings) != 0 {
		t.Errorf("warnings once lnit is stored: %+v", got.Warnings)
	}
}
