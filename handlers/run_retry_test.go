package handlers

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// flakyYAML fails its deploy task until the file it names exists.
func flakyYAML(fixed string) string {
	return fmt.Sprintf(`name: flaky
tasks:
  - id: build
    run: echo "image=app:7" >> "$BATON_OUTPUT"
  - id: deploy
    run: 'test -f %q || { echo "registry said 503" >&2; exit 1; }'
  - id: notify
    run: echo "deployed ${{ tasks.build.outputs.image }}"
`, fixed)
}

// TestAPIRunRetry drives POST /api/v1/runs/{id}/retry: the answer is the
// queued retry with its kept tasks, the old run lists its retries, and
// what cannot be retried gets the fitting status and says why.
func TestAPIRunRetry(t *testing.T) {
	a := newAPI(t)
	fixed := filepath.Join(t.TempDir(), "fixed")
	a.do("PUT", "/api/v1/compositions/flaky", flakyYAML(fixed), http.StatusCreated, nil)
	a.do("PUT", "/api/v1/compositions/slow", "name: slow\ntasks:\n  - id: wait\n    type: approval\n", http.StatusCreated, nil)
	var first runJSON
	a.do("POST", "/api/v1/compositions/flaky/runs", "", http.StatusCreated, &first)
	first = a.waitRun(first.ID, func(r runJSON) bool { return r.Status == "failed" })
	if !strings.Contains(first.Error, "registry said 503") {
		t.Errorf("the failed run's error %q lacks the task's stderr", first.Error)
	}
	var waiting runJSON
	a.do("POST", "/api/v1/compositions/slow/runs", "", http.StatusCreated, &waiting)
	a.waitRun(waiting.ID, func(r runJSON) bool { return r.Status == "waiting" })

	var e apiError
	tests := []struct {
		name, path, body string
		status           int
		want             string
	}{
		{"not a run id", "/api/v1/runs/abc/retry", "", http.StatusBadRequest, `run id "abc" is not a positive number`},
		{"unknown run", "/api/v1/runs/999/retry", "", http.StatusNotFound, "run 999 not found"},
		{"still running", fmt.Sprintf("/api/v1/runs/%d/retry", waiting.ID), "", http.StatusConflict, "only a run that has ended can be retried"},
		{"unknown field", fmt.Sprintf("/api/v1/runs/%d/retry", first.ID), `{"form": ["build"]}`, http.StatusBadRequest, `unknown field "form"`},
		{"from is not a list", fmt.Sprintf("/api/v1/runs/%d/retry", first.ID), `{"from": "build"}`, http.StatusBadRequest, "field from: a JSON string where a list is expected"},
		{"unknown task", fmt.Sprintf("/api/v1/runs/%d/retry", first.ID), `{"from": ["biuld"]}`, http.StatusUnprocessableEntity, fmt.Sprintf("retry of run %d", first.ID)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e = apiError{}
			a.do("POST", tt.path, tt.body, tt.status, &e)
			if !strings.Contains(e.Error, tt.want) {
				t.Errorf("error %q lacks %q (details %+v)", e.Error, tt.want, e.Details)
			}
		})
	}
	if len(e.Details) != 1 || !strings.Contains(e.Details[0].Message, `from: "biuld" is not a task of flaky; its tasks are build, deploy, notify`) {
		t.Errorf("details of the unknown task: %+v", e.Details)
	}

	if err := os.WriteFile(fixed, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var retry runJSON
	a.do("POST", fmt.Sprintf("/api/v1/runs/%d/retry", first.ID), "", http.StatusCreated, &retry)
	if retry.RetryOf != first.ID || retry.Trigger != fmt.Sprintf("tester via API, retrying run %d", first.ID) || len(retry.Tasks) != 3 {
		t.Fatalf("retry = %+v", retry)
	}
	// (the retry may have started deploy by the time the answer is read)
	if retry.Tasks[0].KeptFrom != first.ID || retry.Tasks[0].Status != "succeeded" || retry.Tasks[1].KeptFrom != 0 || retry.Tasks[1].Status == "failed" {
		t.Errorf("tasks of the new retry: %+v", retry.Tasks)
	}
	done := a.waitRun(retry.ID, func(r runJSON) bool { return r.Status == "succeeded" || r.Status == "failed" })
	if done.Status != "succeeded" {
		t.Fatalf("retry %s: %s", done.Status, done.Error)
	}
	var old runJSON
	a.do("GET", fmt.Sprintf("/api/v1/runs/%d", first.ID), "", http.StatusOK, &old)
	if !slices.Equal(old.Retries, []int64{retry.ID}) {
		t.Errorf("old run's retries = %v, want [%d]", old.Retries, retry.ID)
	}
	e = apiError{}
	a.do("POST", fmt.Sprintf("/api/v1/runs/%d/retry", retry.ID), "", http.StatusConflict, &e)
	if !strings.Contains(e.Error, "succeeded, so there is nothing to retry") {
		t.Errorf("retrying a run that succeeded: %q", e.Error)
	}
}

// TestRunPageRetry: the run page of a failed run has "Retry from failed",
// which starts the retry and goes to its page; the retry's page links
// back, marks its kept tasks, and the old page links to the retry.
func TestRunPageRetry(t *testing.T) {
	a := newAPI(t)
	fixed := filepath.Join(t.TempDir(), "fixed")
	a.do("PUT", "/api/v1/compositions/flaky", flakyYAML(fixed), http.StatusCreated, nil)
	var first runJSON
	a.do("POST", "/api/v1/compositions/flaky/runs", "", http.StatusCreated, &first)
	a.waitRun(first.ID, func(r runJSON) bool { return r.Status == "failed" })
	c := a.browserClient()
	a.login(c)
	_, doc := a.page(c, "GET", fmt.Sprintf("/runs/%d", first.ID), nil)
	if len(byTestID(t, doc, "retry")) != 1 {
		t.Fatalf("a failed run's page has no retry button:\n%s", doc)
	}
	if err := os.WriteFile(fixed, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	resp, _ := a.page(c, "POST", fmt.Sprintf("/runs/%d/retry", first.ID), map[string][]string{})
	var retryID int64
	if _, err := fmt.Sscanf(resp.Header.Get("Location"), "/runs/%d", &retryID); resp.StatusCode != http.StatusSeeOther || err != nil || retryID <= first.ID {
		t.Fatalf("retry: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	a.waitRun(retryID, func(r runJSON) bool { return r.Status == "succeeded" })
	_, doc = a.page(c, "GET", fmt.Sprintf("/runs/%d", retryID), nil)
	if got := byTestID(t, doc, "retry-of"); len(got) != 1 || textOf(got[0]) != fmt.Sprintf("· retries #%d", first.ID) {
		t.Errorf("the retry's page does not link back: %q", texts(got))
	}
	if kept := byTestID(t, doc, "kept-from"); len(kept) != 1 || textOf(kept[0]) != fmt.Sprintf("kept from #%d", first.ID) {
		t.Errorf("kept tasks marked %q, want once (build)", texts(kept))
	}
	if len(byTestID(t, doc, "retry")) != 0 {
		t.Error("a run that succeeded offers a retry")
	}
	_, doc = a.page(c, "GET", fmt.Sprintf("/runs/%d", first.ID), nil)
	if got := byTestID(t, doc, "retries"); len(got) != 1 || textOf(got[0]) != fmt.Sprintf("· retried by #%d", retryID) {
		t.Errorf("the old page does not link to its retry: %q", texts(got))
	}
	resp, body := a.page(c, "POST", fmt.Sprintf("/runs/%d/retry", retryID), map[string][]string{})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "nothing to retry") {
		t.Errorf("retrying a run that succeeded from the page: %d", resp.StatusCode)
	}
}

func texts(nodes []*html.Node) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = textOf(n)
	}
	return out
}

// TestRunPageLinksParentAndChild: the page of a run a composition task
// started links to the calling run, and the calling task's row links to
// the run it started (they used to show the template's text instead).
func TestRunPageLinksParentAndChild(t *testing.T) {
	a := newAPI(t)
	a.do("PUT", "/api/v1/compositions/child", "name: child\ntasks:\n  - id: a\n    run: echo a\n", http.StatusCreated, nil)
	a.do("PUT", "/api/v1/compositions/parent", "name: parent\ntasks:\n  - id: call\n    type: composition\n    with: {name: child}\n", http.StatusCreated, nil)
	var parent runJSON
	a.do("POST", "/api/v1/compositions/parent/runs", "", http.StatusCreated, &parent)
	parent = a.waitRun(parent.ID, func(r runJSON) bool { return r.Status == "succeeded" })
	child := parent.Tasks[0].ChildRunID
	c := a.browserClient()
	a.login(c)
	_, doc := a.page(c, "GET", fmt.Sprintf("/runs/%d", parent.ID), nil)
	row := byTestID(t, doc, "task-row")
	if len(row) != 1 || !strings.Contains(textOf(row[0]), fmt.Sprintf("runs #%d", child)) || !hasLink(row[0], fmt.Sprintf("/runs/%d", child)) {
		t.Errorf("the calling task's row does not link to run %d: %q", child, texts(row))
	}
	_, doc = a.page(c, "GET", fmt.Sprintf("/runs/%d", child), nil)
	if !strings.Contains(doc, fmt.Sprintf(`from task call of <a href="/runs/%d">#%d</a>`, parent.ID, parent.ID)) {
		t.Errorf("the child's page does not link to its caller, run %d", parent.ID)
	}
}

// hasLink reports whether n holds a link to href.
func hasLink(n *html.Node, href string) bool {
	for d := range n.Descendants() {
		for _, at := range d.Attr {
			if d.Data == "a" && at.Key == "href" && at.Val == href {
				return true
			}
		}
	}
	return false
}
