package handlers

import (
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
)

// deepComposition is the security review's file: 120 KB of lists 60,000
// deep under a task's with:. The level past the limit is on line 5 at
// column 11+64.
func deepComposition(name string) string {
	return "name: " + name + "\ntasks:\n  - id: a\n    type: x\n    with: {v: " +
		strings.Repeat("[", 60_000) + strings.Repeat("]", 60_000) + "}\n"
}

const deepMessage = "values nest more than 64 levels deep here (maps and lists inside each other); flatten the structure"

// TestPutHostileYAML sends what once took the server's memory (a
// composition 60,000 levels deep) or many seconds of CPU (a map of 60,000
// keys) through the composition and trigger APIs: each is a 422 that says
// where the limit was passed, and stores nothing. Answering the deep file
// allocates little: a loose bound of 20 MB, for a parse that took 24 GB.
func TestPutHostileYAML(t *testing.T) {
	a := newAPI(t)
	var wide strings.Builder
	wide.WriteString("name: wide\ntasks:\n  - id: a\n    run: x\n    env:\n")
	for i := range 60_000 {
		fmt.Fprintf(&wide, "      K%05d: v\n", i)
	}
	deepTrigger := "name: deep\nkind: api\nrules:\n  - run:\n      composition: x\n      params: {v: " +
		strings.Repeat("[", 60_000) + strings.Repeat("]", 60_000) + "}\n"
	tests := []struct {
		name, path, body string
		want             detail
	}{
		{"deep composition", "/api/v1/compositions/deep", deepComposition("deep"), detail{Line: 5, Column: 75, Message: deepMessage}},
		{"wide composition", "/api/v1/compositions/wide", wide.String(),
			detail{Line: 1006, Column: 7, Message: "this map holds more than 1000 keys; split it into smaller maps, or make it a list"}},
		{"deep trigger", "/api/v1/triggers/deep", deepTrigger, detail{Line: 6, Column: 78, Message: deepMessage}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			var e apiError
			a.do("PUT", tt.path, tt.body, http.StatusUnprocessableEntity, &e)
			runtime.ReadMemStats(&after)
			if len(e.Details) != 1 || e.Details[0] != tt.want {
				t.Fatalf("422 with %+v; want one detail %+v", e, tt.want)
			}
			if used := after.TotalAlloc - before.TotalAlloc; tt.name != "wide composition" && used > 20<<20 {
				t.Errorf("answering it allocated %d MB", used>>20)
			}
			a.do("GET", tt.path, "", http.StatusNotFound, nil)
		})
	}
}

// TestEditorHostileYAML: the editor reads through the same parser: a deep
// composition typed on the YAML tab shows its problem at its line, and
// saving it is refused.
func TestEditorHostileYAML(t *testing.T) {
	a, c := newEditorAPI(t)
	_, page := a.page(c, "GET", "/editor/new", nil)
	form := formValues(t, page)
	src := deepComposition("deep")
	form.Set("yaml", src)
	status, body := editorPost(a, c, "/editor", form, "op", "yaml")
	probs := byTestID(t, body, "yaml-problem")
	if status != http.StatusOK || len(probs) != 1 || !strings.Contains(textOf(probs[0]), "5:75") || !strings.Contains(textOf(probs[0]), deepMessage) {
		t.Fatalf("yaml tab: %d, problems %d: %v", status, len(probs), probs)
	}
	form.Set("doc", src)
	status, body = editorPost(a, c, "/editor/save", form)
	if errs := byTestID(t, body, "editor-error"); status != http.StatusOK || len(errs) != 1 || !strings.Contains(textOf(errs[0]), "1 problem") {
		t.Errorf("save: %d %v", status, errs)
	}
	a.do("GET", "/api/v1/compositions/deep", "", http.StatusNotFound, nil)
}

// BenchmarkPutDeepComposition times the API's answer to the 60,000-deep
// composition, over real HTTP on loopback.
func BenchmarkPutDeepComposition(b *testing.B) {
	a := newAPI(b)
	body := deepComposition("deep")
	b.ReportAllocs()
	for b.Loop() {
		a.do("PUT", "/api/v1/compositions/deep", body, http.StatusUnprocessableEntity, nil)
	}
}
