package handlers

import (
	"net/http"
	"strings"
	"testing"
)

// TestEditorHostileForms: a form the editor cannot read is answered with
// what was wrong and changes nothing: an action the editor does not have is
// a bad request, and arguments that do not fit their action are shown in
// the editor.
func TestEditorHostileForms(t *testing.T) {
	a, c := newEditorAPI(t)
	a.do("PUT", "/api/v1/compositions/hello", helloYAML, http.StatusCreated, nil)
	_, page := a.page(c, "GET", "/compositions/hello/edit", nil)
	form := formValues(t, page)
	doc := form.Get("doc")
	for _, tc := range []struct {
		name   string
		extra  []string
		status int
		want   string
	}{
		{"an unknown action", []string{"op", "explode"}, http.StatusBadRequest, ""},
		{"a layout that is not JSON", []string{"op", "layout", "rows", `[["greet"`}, http.StatusOK, "could not be read"},
		{"a layout that leaves out a task", []string{"op", "layout", "rows", `[]`}, http.StatusOK, "leaves out"},
		{"a move of many places", []string{"op", "move", "task", "greet", "dir", "9"}, http.StatusOK, "one place at a time"},
		{"a param row that is not a number", []string{"op", "param", "index", "x"}, http.StatusOK, "not a row number"},
		{"a param row that is not on the page", []string{"op", "param", "index", "7"}, http.StatusOK, "parameter 8"},
		{"removing a schedule that is not there", []string{"op", "schedule-remove", "index", "3"}, http.StatusOK, "no schedule 4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := editorPost(a, c, "/editor", form, tc.extra...)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %.300s", status, tc.status, body)
			}
			if tc.want == "" {
				return
			}
			errs := byTestID(t, body, "editor-error")
			if len(errs) != 1 || !strings.Contains(textOf(errs[0]), tc.want) {
				t.Errorf("editor error = %v, want one saying %q", errs, tc.want)
			}
			if got := formValues2(t, body).Get("doc"); got != doc {
				t.Errorf("the YAML changed:\n%s", got)
			}
		})
	}
}
