package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"baton/trigger"
)

// greetYAML is a composition that runs at once and ends.
const greetYAML = `name: greet
params:
  who: {type: string, default: world}
tasks:
  - id: hi
    run: echo "hello ${{ params.who }}"
`

// htmx posts a form as htmx does.
func (a *apiHarness) htmx(c *http.Client, path string, form url.Values) (*http.Response, string) {
	a.t.Helper()
	req, _ := http.NewRequest("POST", a.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("HX-Request", "true")
	resp, err := c.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp, b.String()
}

// textarea returns the text of the textarea with a data-testid, as the
// browser holds it.
func textarea(t testing.TB, page, id string) string {
	t.Helper()
	root, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var found []*html.Node
	for n := range root.Descendants() {
		for _, at := range n.Attr {
			if at.Key == "data-testid" && at.Val == id {
				found = append(found, n)
			}
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d elements %s on the page", len(found), id)
	}
	var b strings.Builder
	for d := range found[0].Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return b.String()
}

// pageProblems returns the problems a trigger editor page or fragment
// lists, as "line:col message" (or the message alone).
func pageProblems(t *testing.T, page string) []string {
	t.Helper()
	var out []string
	for _, n := range byTestID(t, page, "trigger-problem") {
		out = append(out, textOf(n))
	}
	return out
}

// TestTriggerProblemsSameEverywhere: the editor's live check, a refused
// save, the API and a --triggers file all give the same problems, in the
// same words, at the same line and column; the refused save stores
// nothing.
func TestTriggerProblemsSameEverywhere(t *testing.T) {
	a := newAPI(t)
	c := a.browserClient()
	a.login(c)
	cases := []struct{ name, src string }{
		{"a misspelt kind", "name: gh\nkind: gihub\nsecret: abc\nrules:\n  - run: {composition: greet}\n"},
		{"a bad condition and an unknown key", "name: gh\nkind: github\nsecret: abc\nrules:\n  - when: 'event =='\n    rum: {composition: greet}\n"},
		{"a schedule that never fires", "name: gh\nkind: schedule\nschedule: '0 0 30 2 *'\nrun: {composition: greet}\n"},
		{"YAML that does not parse", "name: gh\nkind: [github\n"},
		{"an unset secret_env", "name: gh\nkind: github\nsecret_env: BATON_TEST_UNSET_SECRET_VAR\nrules:\n  - run: {composition: greet}\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var e apiError
			a.do("PUT", "/api/v1/triggers/gh", tc.src, http.StatusUnprocessableEntity, &e)
			var fromAPI []string
			for _, d := range e.Details {
				fromAPI = append(fromAPI, fmt.Sprintf("line %d:%d %s", d.Line, d.Column, d.Message))
			}
			_, probs := trigger.Parse("gh.yaml", []byte(tc.src), nil)
			var fromFile []string
			for _, p := range probs {
				fromFile = append(fromFile, fmt.Sprintf("line %d:%d %s", p.Line, p.Col, p.Message))
			}
			_, frag := a.htmx(c, "/trigger-editor/check", url.Values{"orig": {""}, "yaml": {tc.src}})
			checked := pageProblems(t, frag)
			resp, page := a.page(c, "POST", "/trigger-editor/save", url.Values{"orig": {""}, "base": {"0"}, "yaml": {tc.src}})
			saved := pageProblems(t, page)
			if resp.StatusCode != http.StatusUnprocessableEntity || len(byTestID(t, page, "save-error")) != 1 {
				t.Errorf("refused save: %d", resp.StatusCode)
			}
			if len(fromAPI) == 0 || strings.Join(fromAPI, "\n") != strings.Join(fromFile, "\n") ||
				strings.Join(checked, "\n") != strings.Join(fromAPI, "\n") || strings.Join(saved, "\n") != strings.Join(fromAPI, "\n") {
				t.Errorf("the problems differ:\nAPI:   %q\nfile:  %q\ncheck: %q\nsave:  %q", fromAPI, fromFile, checked, saved)
			}
			if got := textarea(t, page, "trigger-yaml"); got != tc.src {
				t.Errorf("the refused text is not kept in the editor")
			}
		})
	}
	var list struct{ Triggers []triggerJSON }
	a.do("GET", "/api/v1/triggers", "", http.StatusOK, &list)
	if len(list.Triggers) != 0 {
		t.Fatalf("a refused save stored something: %+v", list.Triggers)
	}
}

// TestTriggerEditorNewEditConflict: New trigger starts from an example of
// each kind; saving makes version 1 by the user; the edit page shows a
// literal secret only as "[redacted]", and saving it so keeps the secret
// (signed deliveries still pass); an unchanged save writes nothing; a
// second editor who saves from an old version is told, with a diff, and
// nothing is stored until they choose to save over the first.
func TestTriggerEditorNewEditConflict(t *testing.T) {
	a := newAPI(t)
	a.do("PUT", "/api/v1/compositions/greet", greetYAML, http.StatusCreated, nil)
	c := a.browserClient()
	a.login(c)

	for _, k := range []string{"github", "gitlab", "generic", "api", "schedule", "runs"} {
		resp, page := a.page(c, "GET", "/trigger-editor/new?kind="+k, nil)
		src := textarea(t, page, "trigger-yaml")
		if resp.StatusCode != http.StatusOK || !strings.Contains(src, "kind: "+k+"\n") || !strings.Contains(src, "greet") {
			t.Errorf("starter %s: %d\n%s", k, resp.StatusCode, src)
		}
		if webhook := trigger.Kind(k).Webhook(); webhook != (len(byTestID(t, page, "secret-card")) == 1) {
			t.Errorf("starter %s: a webhook %v, but the secret card shows %v", k, webhook, !webhook)
		}
	}
	if resp, _ := a.page(c, "GET", "/trigger-editor/new?kind=gopher", nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("an unknown kind: %d", resp.StatusCode)
	}

	const secret = "literal-secret-5551"
	src := "name: gh\nkind: github\nsecret: " + secret + "\nrules:\n  - name: greet on push\n    when: 'event == \"push\"'\n    run: {composition: greet}\n"
	resp, _ := a.page(c, "POST", "/trigger-editor/save", url.Values{"orig": {""}, "base": {"0"}, "yaml": {src}, "message": {"first"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/triggers/gh" {
		t.Fatalf("save a new trigger: %d to %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if tj := a.triggerInfo("gh"); tj.Version != 1 || tj.UpdatedBy != "tester" || !tj.SecretInFile {
		t.Fatalf("after the first save: %+v", tj)
	}

	_, page := a.page(c, "GET", "/triggers/gh/edit", nil)
	shown := textarea(t, page, "trigger-yaml")
	if strings.Contains(page, secret) || !strings.Contains(shown, `secret: "[redacted]"`) {
		t.Fatalf("the edit page shows the secret, or not its placeholder:\n%s", shown)
	}
	if n := len(byTestID(t, page, "trigger-problem")) + len(byTestID(t, page, "trigger-note")); n != 0 {
		t.Errorf("the stored trigger shows %d problems and notes in the editor:\n%s", n, textOf(byTestID(t, page, "trigger-problems")[0]))
	}
	edit := func(text string, base int, extra ...string) (*http.Response, string) {
		form := url.Values{"orig": {"gh"}, "base": {fmt.Sprint(base)}, "yaml": {text}}
		for i := 0; i+1 < len(extra); i += 2 {
			form.Set(extra[i], extra[i+1])
		}
		return a.page(c, "POST", "/trigger-editor/save", form)
	}
	resp, _ = edit(shown, 1)
	if _, flash := a.page(c, "GET", "/triggers/gh", nil); resp.StatusCode != http.StatusSeeOther || !strings.Contains(flash, "Nothing to save") {
		t.Errorf("an unchanged save: %d", resp.StatusCode)
	}
	changed := strings.Replace(shown, "kind: github", "kind: github\ndescription: Greets on every push.", 1)
	if resp, _ = edit(changed, 1, "message", "describe it"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save an edit: %d", resp.StatusCode)
	}
	if tj := a.triggerInfo("gh"); tj.Version != 2 || tj.Description != "Greets on every push." {
		t.Fatalf("after the edit: %+v", tj)
	}
	body := []byte(`{"ref": "refs/heads/main"}`)
	if got := send(t, http.DefaultClient, githubHook(a.srv.URL+"/hooks/gh", "d-1", trigger.Sign(secret, body), body)); got.status != http.StatusAccepted {
		t.Fatalf("a delivery signed with the kept secret: %d %s", got.status, got.body)
	}

	// Two editors start from version 2; the second to save is told.
	first := strings.Replace(changed, "Greets on every push.", "First editor.", 1)
	second := strings.Replace(changed, "Greets on every push.", "Second editor.", 1)
	if resp, _ = edit(first, 2); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the first editor's save: %d", resp.StatusCode)
	}
	resp, page = edit(second, 2)
	conflict := byTestID(t, page, "conflict")
	if resp.StatusCode != http.StatusConflict || len(conflict) != 1 || !strings.Contains(textOf(conflict[0]), "version 3 was saved by tester") ||
		len(byTestID(t, page, "diff-add")) == 0 || strings.Contains(page, secret) {
		t.Fatalf("the second editor's save: %d\n%s", resp.StatusCode, page)
	}
	if tj := a.triggerInfo("gh"); tj.Version != 3 || tj.Description != "First editor." {
		t.Fatalf("a refused save changed the trigger: %+v", tj)
	}
	if resp, _ = edit(second, 2, "over", "3"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save mine over theirs: %d", resp.StatusCode)
	}
	if tj := a.triggerInfo("gh"); tj.Version != 4 || tj.Description != "Second editor." {
		t.Fatalf("after saving over: %+v", tj)
	}
	// A new trigger under a taken name is a conflict too.
	if resp, _ = a.page(c, "POST", "/trigger-editor/save", url.Values{"orig": {""}, "base": {"0"}, "yaml": {src}}); resp.StatusCode != http.StatusConflict {
		t.Errorf("a new trigger under a taken name: %d", resp.StatusCode)
	}
}
