package handlers

import (
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"baton/editor"
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

// TestEditorPagePostsKnownOps: every action the editor's pages post (in
// hx-vals, and the ones editor.js reads from data-*-op) is one package
// editor decodes, and between them the pages post every one.
func TestEditorPagePostsKnownOps(t *testing.T) {
	a, c := newEditorAPI(t)
	for _, name := range []string{"release-webapp", "nightly-cleanup"} {
		src, err := os.ReadFile("../examples/" + name + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		a.do("PUT", "/api/v1/compositions/"+name, string(src), http.StatusCreated, nil)
	}
	opRe := regexp.MustCompile(`&#34;op&#34;:&#34;([a-z-]+)&#34;|"op":"([a-z-]+)"|data-(?:layout-)?op="([a-z-]+)"`)
	seen := map[string]bool{}
	for _, path := range []string{"/compositions/release-webapp/edit", "/compositions/nightly-cleanup/edit", "/editor/new"} {
		_, page := a.page(c, "GET", path, nil)
		for _, m := range opRe.FindAllStringSubmatch(page, -1) {
			op := m[1] + m[2] + m[3]
			seen[op] = true
			if _, err := editor.DecodeEdit(url.Values{"op": {op}, "index": {"0"}, "dir": {"1"}, "rows": {"[]"}}); err != nil {
				t.Errorf("%s posts op %q: %v", path, op, err)
			}
		}
	}
	for _, op := range []editor.Op{editor.OpSelect, editor.OpLayout, editor.OpAdd, editor.OpMove, editor.OpDuplicate, editor.OpRemove,
		editor.OpField, editor.OpTask, editor.OpSetting, editor.OpParam, editor.OpParamAdd, editor.OpParamRemove,
		editor.OpSchedule, editor.OpScheduleAdd, editor.OpScheduleRemove, editor.OpYAML} {
		if !seen[string(op)] {
			t.Errorf("no page posts op %q (seen %v)", op, seen)
		}
	}
}
