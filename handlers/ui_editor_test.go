package handlers

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"baton/composition"
	"baton/engine"
	"baton/plugin"
)

// formValues returns what a browser would post for the editor's form as the
// page shows it: every named input, checked box, selected option and
// textarea inside #editor-form.
func formValues(t testing.TB, page string) url.Values {
	t.Helper()
	root, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	attr := func(n *html.Node, key string) (string, bool) {
		for _, a := range n.Attr {
			if a.Key == key {
				return a.Val, true
			}
		}
		return "", false
	}
	var form *html.Node
	for n := range root.Descendants() {
		if id, _ := attr(n, "id"); n.Type == html.ElementNode && id == "editor-form" {
			form = n
		}
	}
	if form == nil {
		t.Fatalf("no #editor-form in the page:\n%.2000s", page)
	}
	out := url.Values{}
	for n := range form.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		name, ok := attr(n, "name")
		if !ok {
			continue
		}
		switch n.Data {
		case "input":
			typ, _ := attr(n, "type")
			v, _ := attr(n, "value")
			if typ == "checkbox" {
				if _, checked := attr(n, "checked"); checked {
					out.Add(name, v)
				}
				continue
			}
			out.Add(name, v)
		case "textarea":
			var b strings.Builder
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				b.WriteString(c.Data)
			}
			out.Add(name, b.String())
		case "select":
			value, first, found := "", "", false
			for o := range n.Descendants() {
				if o.Type != html.ElementNode || o.Data != "option" {
					continue
				}
				v, _ := attr(o, "value")
				if first == "" && !found {
					first = v
				}
				if _, sel := attr(o, "selected"); sel {
					value, found = v, true
				}
			}
			if !found {
				value = first
			}
			out.Add(name, value)
		}
	}
	return out
}

// newEditorAPI is a server with the examples' plugins, and a logged-in
// browser client.
func newEditorAPI(t *testing.T) (*apiHarness, *http.Client) {
	t.Helper()
	reg := plugin.NewRegistry()
	if _, err := reg.LoadDir("../examples/plugins"); err != nil {
		t.Fatal(err)
	}
	a := newAPIWith(t, reg, engine.HubConfig{}, 2)
	c := a.browserClient()
	a.login(c)
	return a, c
}

// editorPost sends one editor action with the form as it stands.
func editorPost(a *apiHarness, c *http.Client, path string, form url.Values, extra ...string) (int, string) {
	a.t.Helper()
	f := url.Values{}
	for k, v := range form {
		f[k] = slices.Clone(v)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		f.Set(extra[i], extra[i+1])
	}
	resp, body := a.page(c, "POST", path, f)
	return resp.StatusCode, body
}

// TestEditorRoundTripExamples opens every example in the editor, selects
// each task (its whole form on the page) and saves what the browser would
// post: nothing changes, so nothing is saved, and the YAML keeps its
// meaning exactly.
func TestEditorRoundTripExamples(t *testing.T) {
	a, c := newEditorAPI(t)
	files, _ := filepath.Glob("../examples/*.yaml")
	if len(files) < 5 {
		t.Fatalf("found %d examples", len(files))
	}
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		orig, err := composition.Load(file, src, a.eng.Catalog())
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		a.do("PUT", "/api/v1/compositions/"+orig.Name, string(src), http.StatusCreated, nil)
		resp, page := a.page(c, "GET", "/compositions/"+orig.Name+"/edit", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: open the editor: %d", file, resp.StatusCode)
		}
		for _, task := range orig.Tasks {
			form := formValues(t, page)
			status, body := editorPost(a, c, "/editor", form, "op", "select", "task", task.ID)
			if status != http.StatusOK {
				t.Fatalf("%s: select %s: %d", file, task.ID, status)
			}
			if got := byTestID(t, body, "editor-error"); len(got) > 0 {
				t.Fatalf("%s: select %s: %s", file, task.ID, textOf(got[0]))
			}
			// Everything on the page, the task's form and the settings,
			// posted back as shown.
			status, body = editorPost(a, c, "/editor/save", formValues(t, body))
			if status != http.StatusOK {
				t.Fatalf("%s: save with %s selected: %d: %.500s", file, task.ID, status, body)
			}
			if errs := byTestID(t, body, "editor-error"); len(errs) > 0 {
				t.Fatalf("%s: save with %s selected was refused: %s", file, task.ID, textOf(errs[0]))
			}
			notice := byTestID(t, body, "editor-notice")
			if len(notice) == 0 || !strings.Contains(textOf(notice[0]), "Nothing to save") {
				t.Fatalf("%s: saving unchanged with %s selected did not say so; the forms changed the YAML to:\n%s", file, task.ID, formValues(t, body).Get("doc"))
			}
			page = body
		}
		// The YAML as the editor writes it (after any change) means the same.
		d := formValues(t, page).Get("doc")
		again, err := composition.Load(file, []byte(d), a.eng.Catalog())
		if err != nil {
			t.Fatalf("%s: the editor's YAML does not load: %v", file, err)
		}
		if !sameMeaning(orig, again) {
			t.Errorf("%s: the editor changed the composition's meaning", file)
		}
	}
}

// sameMeaning compares two compositions apart from where they came from.
func sameMeaning(a, b *composition.Composition) bool {
	x, y := *a, *b
	for _, c := range []*composition.Composition{&x, &y} {
		c.Source, c.Pos, c.File = nil, nil, ""
		tasks := make([]*composition.Task, len(c.Tasks))
		for i, t := range c.Tasks {
			tt := *t
			tt.NeedsGiven = false
			tasks[i] = &tt
		}
		c.Tasks = tasks
	}
	return reflect.DeepEqual(x, y)
}

// TestEditorBuildAndSave builds a composition through the editor's actions
// alone, as the canvas and forms send them, and saves it.
func TestEditorBuildAndSave(t *testing.T) {
	a, c := newEditorAPI(t)
	resp, page := a.page(c, "GET", "/editor/new", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("new: %d", resp.StatusCode)
	}
	form := formValues(t, page)
	act := func(extra ...string) string {
		t.Helper()
		status, body := editorPost(a, c, "/editor", form, extra...)
		if status != http.StatusOK {
			t.Fatalf("%v: %d: %.300s", extra, status, body)
		}
		// A parts answer carries the state out of band.
		for k, v := range formValues2(t, body) {
			form[k] = v
		}
		return body
	}
	act("op", "layout", "rows", `[["new:cloud.provision"],["new:shell","new:cloud.deprovision"]]`)
	doc := form.Get("doc")
	for _, want := range []string{"type: cloud.provision", "run: echo hello", "type: cloud.deprovision"} {
		if !strings.Contains(doc, want) {
			t.Fatalf("after the drop the YAML lacks %q:\n%s", want, doc)
		}
	}
	comp, _ := composition.Parse("x", []byte(doc))
	layers := comp.Layers()
	if len(layers) != 2 || len(layers[1]) != 2 {
		t.Fatalf("layers = %v, want one task then a parallel pair", layers)
	}
	prov, shell, deprov := layers[0][0].ID, layers[1][0].ID, layers[1][1].ID

	// A bad value: refused on its field; the YAML keeps the old one.
	form.Set("selected", prov)
	form.Set("in-field-count", "many")
	body := act("op", "field", "key", "count")
	if !strings.Contains(body, `id="msg-field-count"`) || !strings.Contains(body, "many") {
		t.Errorf("the refused count is not reported on its field:\n%.2000s", body)
	}
	if strings.Contains(form.Get("doc"), "many") {
		t.Errorf("a refused value reached the YAML")
	}
	form.Set("in-field-image", "debian-12")
	act("op", "field", "key", "image")
	form.Set("selected", shell)
	form.Set("in-field-run", "echo hi\r\n")
	act("op", "field", "key", "run")
	form.Set("in-setting-name", "built")
	act("op", "setting", "key", "name")
	if d := form.Get("doc"); !strings.Contains(d, "name: built") || !strings.Contains(d, "image: debian-12") || !strings.Contains(d, "echo hi") {
		t.Fatalf("the YAML lacks the edits:\n%s", d)
	}

	// The deprovision task inherits its instances from the provision task.
	form.Set("selected", deprov)
	body = act("op", "select", "task", deprov)
	inh := byTestID(t, body, "inherited")
	if len(inh) != 1 || !strings.Contains(textOf(inh[0]), "cloud.instances") || !strings.Contains(textOf(inh[0]), prov) {
		t.Errorf("inherited note = %v", inh)
	}

	// A value typed but refused blocks the save; nothing is stored.
	form = formValues(t, body)
	form.Set("selected", deprov)
	form.Set("in-task-retries", "lots")
	status, body := editorPost(a, c, "/editor/save", form)
	if status != http.StatusOK || len(byTestID(t, body, "editor-error")) == 0 {
		t.Fatalf("save with a bad retries: %d", status)
	}
	a.do("GET", "/api/v1/compositions/built", "", http.StatusNotFound, nil)
	form.Set("in-task-retries", "2")
	resp, _ = a.page(c, "POST", "/editor/save", form)
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusNoContent {
		t.Fatalf("save: %d", resp.StatusCode)
	}
	var got struct {
		Version int
		Source  string
	}
	a.do("GET", "/api/v1/compositions/built", "", http.StatusOK, &got)
	if got.Version != 1 || !strings.Contains(got.Source, "retries: 2") {
		t.Errorf("saved = %+v", got)
	}

	// Marked always, the clean-up task says so on its card.
	_, page = a.page(c, "GET", "/compositions/built/edit", nil)
	form = formValues(t, page)
	if len(byTestID(t, page, "card-always")) != 0 {
		t.Errorf("a task not marked always has the mark")
	}
	form.Set("selected", deprov)
	form.Set("in-task-always", "true")
	body = act("op", "task", "key", "always")
	if len(byTestID(t, body, "card-always")) != 1 || !strings.Contains(form.Get("doc"), "always: true") {
		t.Errorf("always: %d card marks; doc:\n%s", len(byTestID(t, body, "card-always")), form.Get("doc"))
	}
}

// stateOnly keeps the editor's state and drops its forms' fields.
func stateOnly(form url.Values) url.Values {
	for k := range form {
		if strings.HasPrefix(k, "in-") || strings.HasPrefix(k, "param-") {
			delete(form, k)
		}
	}
	return form
}

// formValues2 reads the state from an answer that may be parts sent out of
// band: the doc and selected inputs wherever they are.
func formValues2(t *testing.T, body string) url.Values {
	t.Helper()
	root, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	out := url.Values{}
	for n := range root.Descendants() {
		if n.Type != html.ElementNode || n.Data != "input" {
			continue
		}
		var id, value string
		for _, a := range n.Attr {
			switch a.Key {
			case "id":
				id = a.Val
			case "value":
				value = a.Val
			}
		}
		if id == "doc" || id == "selected" {
			out.Set(id, value)
		}
	}
	return out
}

// TestEditorSecondSaveRefused: two people edit version 1; the second save
// is refused with what changed, and nothing is overwritten.
func TestEditorSecondSaveRefused(t *testing.T) {
	a, c := newEditorAPI(t)
	a.do("PUT", "/api/v1/compositions/hello", helloYAML, http.StatusCreated, nil)
	_, page := a.page(c, "GET", "/compositions/hello/edit", nil)
	// Each changes the YAML (as the YAML tab does, which refreshes the
	// forms; here the forms are simply left out).
	alice, bob := stateOnly(formValues(t, page)), stateOnly(formValues(t, page))

	alice.Set("doc", strings.Replace(alice.Get("doc"), "default: world", "default: alice", 1))
	alice.Set("message", "alice's change")
	resp, _ := a.page(c, "POST", "/editor/save", alice)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("alice's save: %d", resp.StatusCode)
	}
	bob.Set("doc", strings.Replace(bob.Get("doc"), "default: world", "default: bob", 1))
	status, body := editorPost(a, c, "/editor/save", bob)
	conflict := byTestID(t, body, "conflict")
	if status != http.StatusOK || len(conflict) != 1 {
		t.Fatalf("bob's save: %d, conflict panel %d", status, len(conflict))
	}
	if msg := textOf(conflict[0]); !strings.Contains(msg, "version 2") || !strings.Contains(msg, "default: bob") {
		t.Errorf("conflict panel = %q; want their version and the difference", msg)
	}
	if link := byTestID(t, body, "their-change"); len(link) != 1 {
		t.Errorf("no link to their change")
	}
	var cur struct {
		Version int
		Source  string
	}
	a.do("GET", "/api/v1/compositions/hello", "", http.StatusOK, &cur)
	if cur.Version != 2 || !strings.Contains(cur.Source, "alice") {
		t.Fatalf("after the refused save: %+v", cur)
	}
	// Bob saves over it knowingly.
	bob = stateOnly(formValues(t, body))
	bob.Set("base", "2")
	resp, _ = a.page(c, "POST", "/editor/save", bob)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("bob's second save: %d", resp.StatusCode)
	}
	a.do("GET", "/api/v1/compositions/hello", "", http.StatusOK, &cur)
	if cur.Version != 3 || !strings.Contains(cur.Source, "bob") {
		t.Errorf("after saving over: %+v", cur)
	}

	// The API refuses a stale save the same way.
	var stale struct {
		Error   string
		Current int `json:"current_version"`
	}
	a.do("PUT", "/api/v1/compositions/hello?base=1", helloYAML, http.StatusConflict, &stale)
	if stale.Current != 3 || !strings.Contains(stale.Error, "changed while you edited") {
		t.Errorf("stale PUT = %+v", stale)
	}
	a.do("PUT", "/api/v1/compositions/hello?base=3", helloYAML, http.StatusOK, nil)
}

// TestEditorYAMLAndProblems: text typed on the YAML tab is kept as typed;
// problems come with line numbers and on the task they concern.
func TestEditorYAMLAndProblems(t *testing.T) {
	a, c := newEditorAPI(t)
	_, page := a.page(c, "GET", "/editor/new", nil)
	form := formValues(t, page)
	src := "# my pipeline\nname: typed\ntasks:\n  - id: fetch\n    type: http\n    with: {url: \"${{ params.nope }}\"}\n"
	form.Set("yaml", src)
	status, body := editorPost(a, c, "/editor", form, "op", "yaml")
	if status != http.StatusOK {
		t.Fatalf("yaml: %d", status)
	}
	if st := formValues2(t, body); st.Get("doc") != src {
		t.Errorf("doc after typing = %q, want the text as typed", st.Get("doc"))
	}
	if strings.Contains(body, `id="yaml-area"`) {
		t.Errorf("the answer replaces the textarea the user is typing in")
	}
	probs := byTestID(t, body, "yaml-problem")
	if len(probs) != 1 || !strings.Contains(textOf(probs[0]), "line 6") || !strings.Contains(textOf(probs[0]), "params.nope") {
		t.Fatalf("problems = %d: %v", len(probs), probs)
	}
	cards := byTestID(t, body, "card-fetch")
	if len(cards) != 1 || len(byTestID(t, body, "card-problems")) != 1 {
		t.Errorf("the problem is not shown on the task's card")
	}
	// Saving is refused while there are problems.
	form.Set("doc", src)
	status, body = editorPost(a, c, "/editor/save", form)
	if errs := byTestID(t, body, "editor-error"); status != http.StatusOK || len(errs) != 1 || !strings.Contains(textOf(errs[0]), "1 problem") {
		t.Errorf("save with a problem: %d %v", status, errs)
	}
	a.do("GET", "/api/v1/compositions/typed", "", http.StatusNotFound, nil)

	// YAML the canvas cannot hold stops canvas actions, with a reason.
	form.Set("doc", "name: typed\ntasks:\n  - id: a\n    run: echo\n    timeout: 10\n")
	_, body = editorPost(a, c, "/editor", form, "op", "add", "type", "shell")
	if len(byTestID(t, body, "editor-error")) != 1 || len(byTestID(t, body, "blocked")) != 1 {
		t.Errorf("an action on YAML the canvas cannot hold was not refused with a reason")
	}
}

// TestHistoryAndRestore: the history diffs two versions; a restore saves
// the old YAML as the newest version, and refuses when it would overwrite
// a save it has not seen.
func TestHistoryAndRestore(t *testing.T) {
	a, c := newEditorAPI(t)
	a.do("PUT", "/api/v1/compositions/hello", helloYAML, http.StatusCreated, nil)
	a.do("PUT", "/api/v1/compositions/hello", strings.Replace(helloYAML, "world", "there", 1), http.StatusOK, nil)
	resp, page := a.page(c, "GET", "/compositions/hello/history", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("history: %d", resp.StatusCode)
	}
	del, add := byTestID(t, page, "diff-del"), byTestID(t, page, "diff-add")
	if len(del) != 1 || len(add) != 1 || !strings.Contains(textOf(del[0]), "world") || !strings.Contains(textOf(add[0]), "there") {
		t.Errorf("diff: %d removed, %d added", len(del), len(add))
	}
	if rows := byTestID(t, page, "version-row"); len(rows) != 2 {
		t.Errorf("versions listed: %d", len(rows))
	}
	if resp, _ := a.page(c, "GET", "/compositions/hello/history?a=9", nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("history of a missing version: %d", resp.StatusCode)
	}

	// A restore based on an old current version is refused.
	resp, _ = a.page(c, "POST", "/compositions/hello/versions/1/restore", url.Values{"base": {"1"}})
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "history?a=1&b=2") {
		t.Errorf("stale restore: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = a.page(c, "POST", "/compositions/hello/versions/1/restore", url.Values{"base": {"2"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("restore: %d", resp.StatusCode)
	}
	var cur struct {
		Version int
		Source  string
		Message string
	}
	a.do("GET", "/api/v1/compositions/hello", "", http.StatusOK, &cur)
	if cur.Version != 3 || cur.Source != helloYAML || cur.Message != "Restore version 1" {
		t.Errorf("after restore: %+v", cur)
	}
	// The API does it too, and needs the base.
	a.do("POST", "/api/v1/compositions/hello/versions/2/restore", "", http.StatusBadRequest, nil)
	a.do("POST", "/api/v1/compositions/hello/versions/2/restore?base=3", "", http.StatusOK, &cur)
	if cur.Version != 4 {
		t.Errorf("API restore made version %d", cur.Version)
	}
	var v struct{ Source string }
	a.do("GET", "/api/v1/compositions/hello/versions/1", "", http.StatusOK, &v)
	if v.Source != helloYAML {
		t.Errorf("version 1 source = %q", v.Source)
	}
}

// TestEditorSchedules edits a composition's schedules on the settings tab:
// a cron that never fires shows on its row; rows are added and removed.
func TestEditorSchedules(t *testing.T) {
	a, c := newEditorAPI(t)
	src, err := os.ReadFile("../examples/nightly-cleanup.yaml")
	if err != nil {
		t.Fatal(err)
	}
	a.do("PUT", "/api/v1/compositions/nightly-cleanup", string(src), http.StatusCreated, nil)
	_, page := a.page(c, "GET", "/compositions/nightly-cleanup/edit", nil)
	if rows := byTestID(t, page, "schedule-next"); len(rows) != 2 || textOf(rows[0]) == "" {
		t.Fatalf("schedule rows with their next time: %d", len(rows))
	}
	form := formValues(t, page)
	form.Set("sched-1-cron", "0 0 30 2 *")
	_, body := editorPost(a, c, "/editor", form, "op", "schedule", "index", "1")
	errs := byTestID(t, body, "schedule-error")
	if len(errs) != 1 || !strings.Contains(textOf(errs[0]), "never fires") {
		t.Fatalf("schedule errors = %v", errs)
	}
	if doc := formValues2(t, body).Get("doc"); !strings.Contains(doc, `cron: 0 0 30 2 *`) && !strings.Contains(doc, `cron: "0 0 30 2 *"`) {
		t.Errorf("the YAML lacks the new cron:\n%s", doc)
	}
	form = formValues(t, page)
	_, body = editorPost(a, c, "/editor", form, "op", "schedule-add")
	if rows := byTestID(t, body, "schedule-next"); len(rows) != 3 {
		t.Errorf("after adding: %d schedules", len(rows))
	}
	_, body = editorPost(a, c, "/editor", formValues(t, body), "op", "schedule-remove", "index", "0")
	doc := formValues(t, body).Get("doc")
	if strings.Contains(doc, "0 3 * * *") || !strings.Contains(doc, "0 12 * * 6") {
		t.Errorf("after removing the first schedule:\n%s", doc)
	}
	// The composition page lists the schedules with their next times.
	_, page = a.page(c, "GET", "/compositions/nightly-cleanup", nil)
	if n := byTestID(t, page, "schedule-next"); len(n) != 6 {
		t.Errorf("composition page shows %d next times, want 3 for each of 2 schedules", len(n))
	}
}

// BenchmarkEditorActions measures the editor's round trips on the largest
// example (release-webapp, 9 tasks): opening it, a field change (a parts
// answer), a drag (the whole editor), and the YAML tab. Each parses,
// changes, formats and validates the composition and renders the answer.
func BenchmarkEditorActions(b *testing.B) {
	reg := plugin.NewRegistry()
	if _, err := reg.LoadDir("../examples/plugins"); err != nil {
		b.Fatal(err)
	}
	a := newAPIWith(b, reg, engine.HubConfig{}, 2)
	c := a.browserClient()
	a.login(c)
	src, err := os.ReadFile("../examples/release-webapp.yaml")
	if err != nil {
		b.Fatal(err)
	}
	a.do("PUT", "/api/v1/compositions/release-webapp", string(src), http.StatusCreated, nil)
	_, page := a.page(c, "GET", "/compositions/release-webapp/edit", nil)
	form := formValues(b, page)
	form.Set("selected", "fetch")
	rows := `[["fetch","provision","checkout-tests"],["deploy"],["acceptance"],["approve"],["deprovision"]]`
	for _, bc := range []struct {
		name, method, path string
		extra              []string
	}{
		{"open", "GET", "/compositions/release-webapp/edit", nil},
		{"field", "POST", "/editor", []string{"op", "field", "key", "url", "in-field-url", "${{ params.artifact_url }}?x=1"}},
		{"layout", "POST", "/editor", []string{"op", "layout", "rows", rows}},
		{"yaml", "POST", "/editor", []string{"op", "yaml", "yaml", string(src) + "# a comment\n"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				var f url.Values
				if bc.method == "POST" {
					f = url.Values{}
					for k, v := range form {
						f[k] = v
					}
					for j := 0; j+1 < len(bc.extra); j += 2 {
						f.Set(bc.extra[j], bc.extra[j+1])
					}
				}
				resp, _ := a.page(c, bc.method, bc.path, f)
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("%s: %d", bc.name, resp.StatusCode)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/action")
		})
	}
}
