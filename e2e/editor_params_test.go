package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserEditorParamRename renames a parameter in its row and then
// changes the same row's type and default, as a person does, without
// leaving the settings tab: every change lands on the renamed param.
func TestBrowserEditorParamRename(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, filepath.Join(dir, "data"))
	s.call("PUT", "/api/v1/compositions/hello", "name: hello\ntasks:\n  - id: greet\n    run: echo hi\n", 201, nil)
	ctx := openEditor(t, s, "hello")

	click(t, ctx, `[data-testid=tab-settings]`, chromedp.WaitVisible(chromedp.CSS(`[data-testid=param-add]`)))
	click(t, ctx, `[data-testid=param-add]`, chromedp.WaitVisible(chromedp.CSS(`input[name="param-0-name"]`)))
	docHas(t, ctx, "a param is added", "param_1:")
	setField(t, ctx, `input[name="param-0-name"]`, "fail_lint")
	docHas(t, ctx, "the param is renamed", "fail_lint:")
	setField(t, ctx, `select[name="param-0-type"]`, "boolean")
	docHas(t, ctx, "the renamed param's type changes", "type: boolean")
	setField(t, ctx, `input[name="param-0-default"]`, "false")
	docHas(t, ctx, "the renamed param gets its default", "default: false")
	setField(t, ctx, `input[name="param-0-name"]`, "skip_lint")
	docHas(t, ctx, "renamed again", "skip_lint:")
	setField(t, ctx, `input[name="param-0-description"]`, "Skip the linter")
	docHas(t, ctx, "the twice renamed param gets its description", "description: Skip the linter")
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("[data-testid=param-error]").length`)); n != 0 {
		t.Errorf("the row shows %d errors: %s", n, text(t, ctx, `[data-testid=params]`))
	}
	doc := docValue(t, ctx)
	if strings.Contains(doc, "param_1") || strings.Contains(doc, "fail_lint") || strings.Count(doc, "type: boolean") != 1 {
		t.Errorf("the YAML after the renames:\n%s", doc)
	}
	// Saving keeps the row as it stands.
	click(t, ctx, `[data-testid=save]`, chromedp.WaitVisible(chromedp.CSS(`[data-testid=editor-notice]`)))
	var saved struct{ Source string }
	s.call("GET", "/api/v1/compositions/hello", "", 200, &saved)
	for _, want := range []string{"skip_lint:", "type: boolean", "default: false", "description: Skip the linter"} {
		if !strings.Contains(saved.Source, want) {
			t.Errorf("saved source lacks %q:\n%s", want, saved.Source)
		}
	}
}
