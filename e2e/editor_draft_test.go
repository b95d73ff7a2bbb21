package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// dialogs answers the page's beforeunload prompts and counts them. While
// stay is true it dismisses them (the person stays on the page), otherwise
// it accepts them (the person leaves).
type dialogs struct {
	mu    sync.Mutex
	count int
	stay  bool
}

// watchDialogs starts answering the page's beforeunload prompts.
func watchDialogs(t *testing.T, ctx context.Context) *dialogs {
	t.Helper()
	d := &dialogs{stay: true}
	lctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	opening := chromedp.Events(lctx, page.JavascriptDialogOpening)
	go func() {
		for e, err := range opening {
			if err != nil {
				return
			}
			d.mu.Lock()
			d.count++
			accept := !d.stay || e.Type != page.DialogTypeBeforeunload
			d.mu.Unlock()
			// Answered from another goroutine than the one that reads
			// the events, as chromedp requires.
			go chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				_, err := cdp.Call(ctx, tg, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: accept})
				return err
			}))
		}
	}()
	return d
}

// setStay says how the next prompts are answered.
func (d *dialogs) setStay(stay bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stay = stay
}

// seen returns how many prompts the page has shown.
func (d *dialogs) seen() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.count
}

// prompted runs leave and waits until the page has asked once more than
// before it.
func (d *dialogs) prompted(t *testing.T, ctx context.Context, what string, leave chromedp.Action[chromedp.Void]) {
	t.Helper()
	before := d.seen()
	step(t, ctx, what, leave)
	deadline := time.Now().Add(20 * time.Second)
	for d.seen() == before {
		if time.Now().After(deadline) {
			t.Fatalf("%s: no prompt about unsaved changes within 20s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := d.seen() - before; n != 1 {
		t.Errorf("%s: %d prompts, want 1", what, n)
	}
}

// none checks that leaving did not prompt, by waiting for where it leads.
func (d *dialogs) none(t *testing.T, what string, before int) {
	t.Helper()
	if n := d.seen(); n != before {
		t.Errorf("%s: the page prompted %d times", what, n-before)
	}
}

// TestBrowserEditorUnsavedDraft: leaving the editor by a link, by Back or
// by a reload while there are unsaved changes (sent or still being typed)
// asks first; staying keeps the draft. A new composition's draft survives a
// reload and is gone once saved; an unchanged editor lets you go freely.
func TestBrowserEditorUnsavedDraft(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, filepath.Join(dir, "data"))
	s.call("PUT", "/api/v1/compositions/hello", "name: hello\ntasks:\n  - id: greet\n    run: echo hi\n", 201, nil)
	ctx := browser(t)
	dlg := watchDialogs(t, ctx)
	login(t, ctx, s)

	// Unchanged: no prompt.
	step(t, ctx, "open the list", chromedp.Navigate(s.url+"/compositions"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=composition-table]`)))
	step(t, ctx, "open the editor", chromedp.Navigate(s.url+"/compositions/hello/edit"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=canvas]`)))
	click(t, ctx, `[data-testid="card-greet"] .task-main`, chromedp.WaitVisible(chromedp.CSS(`#in-field-run`)))
	n := dlg.seen()
	click(t, ctx, `.crumbs a[href="/compositions"]`, chromedp.WaitVisible(chromedp.CSS(`[data-testid=composition-table]`)))
	dlg.none(t, "leaving an unchanged editor", n)

	// A value typed and not yet sent: leaving at once asks.
	step(t, ctx, "open the editor again", chromedp.Navigate(s.url+"/compositions/hello/edit"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=canvas]`)))
	click(t, ctx, `[data-testid=tab-settings]`, chromedp.WaitVisible(chromedp.CSS(`#in-setting-timeout`)))
	step(t, ctx, "type a timeout", chromedp.Click(chromedp.CSS(`#in-setting-timeout`)), chromedp.SendKeys(chromedp.CSS(`#in-setting-timeout`), "10m"))
	dlg.prompted(t, ctx, "reload with a value typed and not sent", chromedp.Evaluate[chromedp.Void](`location.reload()`))
	quiet(t, ctx)
	if got := value(t, ctx, `#in-setting-timeout`); got != "10m" {
		t.Fatalf("after staying, the typed value is %q", got)
	}

	// A change sent to the server: a link and Back both ask; staying
	// keeps the draft on the page.
	click(t, ctx, `[data-testid=tab-canvas]`)
	click(t, ctx, `[data-testid="card-greet"] .task-main`, chromedp.WaitVisible(chromedp.CSS(`#in-field-run`)))
	setField(t, ctx, `#in-field-run`, "echo changed\n")
	docHas(t, ctx, "the change is in the draft", "echo changed")
	dlg.prompted(t, ctx, "follow a link with unsaved changes", chromedp.Click(chromedp.CSS(`.crumbs a[href="/compositions"]`)))
	dlg.prompted(t, ctx, "Back with unsaved changes", chromedp.Evaluate[chromedp.Void](`history.back()`))
	quiet(t, ctx)
	if !strings.Contains(docValue(t, ctx), "echo changed") || !strings.Contains(docValue(t, ctx), "timeout: 10m") {
		t.Fatalf("after staying, the draft is gone:\n%s", docValue(t, ctx))
	}

	// A new composition: its draft survives a reload.
	dlg.setStay(false)
	step(t, ctx, "new composition", chromedp.Navigate(s.url+"/editor/new"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=drop-first]`)))
	click(t, ctx, `[data-testid="palette-shell"] button`)
	eventually(t, ctx, "a shell task is on the canvas", `!!document.querySelector("[data-testid=card-shell_1]")`)
	click(t, ctx, `[data-testid="card-shell_1"] .task-main`, chromedp.WaitVisible(chromedp.CSS(`#in-field-run`)))
	setField(t, ctx, `#in-field-run`, "echo draft kept\n")
	docHas(t, ctx, "the script is in the draft", "echo draft kept")
	step(t, ctx, "mark the page", chromedp.Evaluate[chromedp.Void](`window.beforeReload = true`))
	dlg.prompted(t, ctx, "reload a new composition with changes", chromedp.Evaluate[chromedp.Void](`location.reload()`))
	eventually(t, ctx, "the draft is back after the reload", `!window.beforeReload && document.readyState === "complete" &&
		!!document.querySelector("[data-testid=card-shell_1]") && document.getElementById("doc").value.includes("echo draft kept")`)
	if note := text(t, ctx, `[data-testid=draft-note]`); !strings.Contains(note, "draft") {
		t.Errorf("the note about the restored draft = %q", note)
	}

	// Discarded, it is gone for good; leaving for that does not ask.
	n = dlg.seen()
	step(t, ctx, "mark the page", chromedp.Evaluate[chromedp.Void](`window.beforeReload = true`))
	step(t, ctx, "discard the draft", chromedp.Click(chromedp.CSS(`[data-testid=draft-discard]`)))
	eventually(t, ctx, "a fresh new composition", `!window.beforeReload && document.readyState === "complete" && !!document.querySelector("[data-testid=drop-first]")`)
	quiet(t, ctx)
	if doc := docValue(t, ctx); strings.Contains(doc, "shell_1") {
		t.Errorf("after discarding, the draft is still there:\n%s", doc)
	}
	dlg.none(t, "discarding the draft", n)

	// Saved, the draft is gone too: a new composition starts empty again.
	click(t, ctx, `[data-testid="palette-shell"] button`)
	eventually(t, ctx, "a shell task is on the canvas", `!!document.querySelector("[data-testid=card-shell_1]")`)
	click(t, ctx, `[data-testid=save]`, chromedp.WaitVisible(chromedp.CSS(`[data-testid=editor-notice]`)))
	s.call("GET", "/api/v1/compositions/new-composition", "", 200, nil)
	step(t, ctx, "another new composition", chromedp.Navigate(s.url+"/editor/new"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=drop-first]`)))
	quiet(t, ctx)
	if doc := docValue(t, ctx); strings.Contains(doc, "shell_1") {
		t.Errorf("after saving, a new composition still opens the old draft:\n%s", doc)
	}
}
