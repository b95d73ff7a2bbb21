package e2e

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// lintYAML is a composition that others call: it fails when told to.
const lintYAML = `name: lint
params:
  fail: {type: boolean, default: false}
tasks:
  - id: lint
    env: {FAIL: "${{ params.fail }}"}
    run: test "$FAIL" = false
`

// callerYAML calls lint from a composition task whose params the test
// fills in the editor.
const callerYAML = `name: caller
params:
  fail_lint: {type: boolean, default: false}
tasks:
  - id: call_lint
    type: composition
    with: {name: lint}
`

// TestBrowserEditorMapField types name=value lines holding expressions into
// a composition task's params, a map field: the YAML gets a map with the
// expressions inside, a line that cannot be read is refused on the field
// before anything is saved, and the saved composition runs.
func TestBrowserEditorMapField(t *testing.T) {
	dir := t.TempDir()
	plugins, _ := filepath.Abs("../examples/plugins")
	s := startServer(t, filepath.Join(dir, "data"), "--plugins", plugins)
	s.call("PUT", "/api/v1/compositions/lint", lintYAML, 201, nil)
	s.call("PUT", "/api/v1/compositions/caller", callerYAML, 201, nil)
	ctx := openEditor(t, s, "caller")

	click(t, ctx, `[data-testid="card-call_lint"] .task-main`, chromedp.WaitVisible(chromedp.CSS(`#in-field-params`)))
	setField(t, ctx, `#in-field-params`, "fail=${{ params.fail_lint }}\n")
	eventually(t, ctx, "the params are a map with the expression inside",
		`/\n +params:\n +fail: "?\$\{\{ params\.fail_lint \}\}"?\n/.test(document.getElementById("doc").value)`)
	if got := text(t, ctx, `[data-testid=save-state]`); strings.Contains(got, "problem") {
		t.Errorf("save state after a good map = %q", got)
	}
	// It reads back into the field as it was typed.
	step(t, ctx, "reselect", chromedp.Evaluate[chromedp.Void](`document.getElementById("in-field-params").value = ""`))
	click(t, ctx, `[data-testid="card-call_lint"] .task-main`, chromedp.WaitVisible(chromedp.CSS(`#in-field-params`)))
	if got := strings.TrimSpace(value(t, ctx, `#in-field-params`)); got != "fail=${{ params.fail_lint }}" {
		t.Errorf("the params field shows %q after the round trip", got)
	}

	// A line without = is a problem on the field; the YAML keeps the map.
	before := docValue(t, ctx)
	setField(t, ctx, `#in-field-params`, "fail ${{ params.fail_lint }}\n")
	eventually(t, ctx, "the unreadable line is marked on its field",
		`!!document.querySelector("[data-testid=field-field-params] [data-testid=field-error]")`)
	if msg := text(t, ctx, `[data-testid=field-field-params] [data-testid=field-error]`); !strings.Contains(msg, "has no =") {
		t.Errorf("field error = %q, want it to say the line has no =", msg)
	}
	if got := docValue(t, ctx); got != before {
		t.Errorf("a refused map changed the YAML:\n%s", got)
	}
	click(t, ctx, `[data-testid=save]`)
	eventually(t, ctx, "the save is refused", `!!document.querySelector("[data-testid=editor-error]")`)
	var cur struct{ Version int }
	s.call("GET", "/api/v1/compositions/caller", "", 200, &cur)
	if cur.Version != 1 {
		t.Fatalf("a refused save stored version %d", cur.Version)
	}

	// Fixed, saved and run: the child gets a boolean, as a map carries it.
	setField(t, ctx, `#in-field-params`, "fail=${{ params.fail_lint }}\n")
	eventually(t, ctx, "the field error is gone", `!document.querySelector("[data-testid=field-field-params] [data-testid=field-error]")`)
	click(t, ctx, `[data-testid=save]`, chromedp.WaitVisible(chromedp.CSS(`[data-testid=editor-notice]`)))
	var saved struct {
		Version int
		Source  string
	}
	s.call("GET", "/api/v1/compositions/caller", "", 200, &saved)
	if saved.Version != 2 || !regexp.MustCompile(`\n +params:\n +fail: "?\$\{\{ params\.fail_lint \}\}"?\n`).MatchString(saved.Source) {
		t.Fatalf("saved = %+v", saved)
	}
	var run apiRun
	s.call("POST", "/api/v1/compositions/caller/runs", "", 201, &run)
	got := s.waitFor(run.ID, "an end", func(r apiRun) bool { return r.Status == "succeeded" || r.Status == "failed" })
	if got.Status != "succeeded" {
		t.Fatalf("the run of the saved composition %s: %s\n%s", got.Status, got.Error, s.logText(run.ID))
	}
	s.call("POST", "/api/v1/compositions/caller/runs", `{"params": {"fail_lint": true}}`, 201, &run)
	got = s.waitFor(run.ID, "an end", func(r apiRun) bool { return r.Status == "succeeded" || r.Status == "failed" })
	if got.Status != "failed" || strings.Contains(got.Error+s.logText(run.ID), "not a map") {
		t.Errorf("with fail_lint=true the child should fail its test, not the call: %s: %s", got.Status, got.Error)
	}
}

// TestBrowserEditorMissingComposition: a composition task that calls a
// composition that is not stored shows a warning on its field, with the
// name it may have meant; the warning does not stop a save and says so,
// and it goes once the composition is stored.
func TestBrowserEditorMissingComposition(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, filepath.Join(dir, "data"))
	s.call("PUT", "/api/v1/compositions/lint", lintYAML, 201, nil)
	s.call("PUT", "/api/v1/compositions/caller", callerYAML, 201, nil)
	ctx := openEditor(t, s, "caller")
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("[data-testid=field-warning], [data-testid=warning-count]").length`)); n != 0 {
		t.Fatalf("a call to a stored composition is warned about")
	}

	click(t, ctx, `[data-testid="card-call_lint"] .task-main`, chromedp.WaitVisible(chromedp.CSS(`#in-field-name`)))
	setField(t, ctx, `#in-field-name`, "lnit")
	eventually(t, ctx, "the missing composition is marked on its field",
		`!!document.querySelector("[data-testid=field-field-name] [data-testid=field-warning]")`)
	warning := text(t, ctx, `[data-testid=field-field-name] [data-testid=field-warning]`)
	for _, want := range []string{`"lnit"`, "is not stored yet", `did you mean "lint"?`, "does not stop a save"} {
		if !strings.Contains(warning, want) {
			t.Errorf("warning %q lacks %q", warning, want)
		}
	}
	if got := text(t, ctx, `[data-testid=warning-count]`); !strings.Contains(got, "1 warning") {
		t.Errorf("warning count = %q", got)
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("[data-testid=problem-count], [data-testid=field-error]").length`)); n != 0 {
		t.Errorf("the warning counts as a problem")
	}
	if got := text(t, ctx, `[data-testid="card-call_lint"] [data-testid=card-warnings]`); got != "1" {
		t.Errorf("card warnings = %q", got)
	}

	// The composition to start on a failure is checked too.
	click(t, ctx, `[data-testid=tab-settings]`, chromedp.WaitVisible(chromedp.CSS(`[name="in-setting-on_failure.composition"]`)))
	setField(t, ctx, `[name="in-setting-on_failure.composition"]`, "alert")
	eventually(t, ctx, "the missing on_failure composition is marked on its field",
		`(document.querySelector('[data-testid="field-setting-on_failure.composition"] [data-testid=field-warning]') || {textContent: ""}).textContent.includes('"alert"')`)

	// Warnings do not stop a save.
	click(t, ctx, `[data-testid=save]`, chromedp.WaitVisible(chromedp.CSS(`[data-testid=editor-notice]`)))
	if notice := text(t, ctx, `[data-testid=editor-notice]`); !strings.Contains(notice, "Saved version 2") || !strings.Contains(notice, "2 warnings") {
		t.Errorf("notice after saving with warnings = %q", notice)
	}
	var saved struct{ Version int }
	s.call("GET", "/api/v1/compositions/caller", "", 200, &saved)
	if saved.Version != 2 {
		t.Fatalf("saved version = %d", saved.Version)
	}

	// Once lnit is stored, its warning goes.
	s.call("PUT", "/api/v1/compositions/lnit", strings.Replace(lintYAML, "name: lint", "name: lnit", 1), 201, nil)
	step(t, ctx, "reopen", chromedp.Navigate(s.url+"/compositions/caller/edit"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=canvas]`)))
	click(t, ctx, `[data-testid="card-call_lint"] .task-main`, chromedp.WaitVisible(chromedp.CSS(`#in-field-name`)))
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("[data-testid=field-field-name] [data-testid=field-warning]").length`)); n != 0 {
		t.Errorf("the call to a stored composition is still warned about")
	}
	if got := text(t, ctx, `[data-testid=warning-count]`); !strings.Contains(got, "1 warning") {
		t.Errorf("warning count with only on_failure left = %q", got)
	}
}
