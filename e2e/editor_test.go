package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// login logs the browser in as admin.
func login(t *testing.T, ctx context.Context, s *server) {
	t.Helper()
	step(t, ctx, "open the login page", chromedp.Navigate(s.url+"/login"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=login-form]`)))
	step(t, ctx, "log in",
		chromedp.SendKeys(chromedp.CSS(`#name`), "admin"), chromedp.SendKeys(chromedp.CSS(`#password`), adminPassword),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=active-runs]`)))
}

// center returns the middle of the first element sel matches, in the
// viewport.
func center(t *testing.T, ctx context.Context, sel string) (float64, float64) {
	t.Helper()
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return null;
		const r = e.getBoundingClientRect();
		return [r.left + r.width / 2, r.top + r.height / 2]; })()`, sel)
	xy, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](js))
	if err != nil || len(xy) != 2 {
		t.Fatalf("find %s to drag: %v", sel, err)
	}
	return xy[0], xy[1]
}

// drag presses the mouse on from, moves it in steps onto to, and lets go,
// as a person drags: aiming where to shows before the drag starts.
func drag(t *testing.T, ctx context.Context, from, to string) {
	t.Helper()
	step(t, ctx, "show "+from, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).scrollIntoView({block: "nearest"})`, from)))
	quiet(t, ctx)
	x2, y2 := center(t, ctx, to)
	x1, y1 := press(t, ctx, from)
	moveTo(t, ctx, x1, y1, x2, y2)
	step(t, ctx, "drop on "+to, chromedp.MouseEvent(chromedp.MouseReleased, x2, y2, chromedp.ButtonLeft, chromedp.ClickCount(1)))
}

// docHas waits until the editor's YAML holds s.
func docHas(t *testing.T, ctx context.Context, what, s string) {
	t.Helper()
	eventually(t, ctx, what, fmt.Sprintf(`(document.getElementById("doc") || {value: ""}).value.includes(%q)`, s))
}

// quiet waits until htmx has no request in flight and has settled what it
// swapped in: new elements answer to events only once settled.
func quiet(t *testing.T, ctx context.Context) {
	t.Helper()
	eventually(t, ctx, "htmx is idle", `document.querySelectorAll(".htmx-request, .htmx-settling, .htmx-swapping, .htmx-added").length === 0`)
}

// click clicks an element once the page is quiet.
func click(t *testing.T, ctx context.Context, sel string, then ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	quiet(t, ctx)
	step(t, ctx, "click "+sel, append([]chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(sel))}, then...)...)
	quiet(t, ctx)
}

// setField types a value into an editor input and sends it, as leaving
// the field does.
func setField(t *testing.T, ctx context.Context, sel, value string) {
	t.Helper()
	quiet(t, ctx)
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.focus(); e.value = %q;
		e.dispatchEvent(new Event("change", {bubbles: true})); return true; })()`, sel, value)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js)); err != nil {
		t.Fatalf("set %s: %v", sel, err)
	}
	quiet(t, ctx)
}

// openEditor logs in and opens the editor on a stored composition.
func openEditor(t *testing.T, s *server, name string) context.Context {
	t.Helper()
	ctx := browser(t)
	login(t, ctx, s)
	step(t, ctx, "open the editor on "+name, chromedp.Navigate(s.url+"/compositions/"+name+"/edit"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=canvas]`)))
	return ctx
}

// docValue reads the editor's YAML, its state.
func docValue(t *testing.T, ctx context.Context) string {
	t.Helper()
	return value(t, ctx, "#doc")
}

// TestBrowserEditor builds a composition in the editor by dragging task
// types, fills its fields (one inherited from the context), sees a bad
// value refused on its field with nothing saved, saves, runs it, changes
// it through the YAML tab, and restores the first version.
func TestBrowserEditor(t *testing.T) {
	ctx := browser(t)
	dir := t.TempDir()
	plugins, _ := filepath.Abs("../examples/plugins")
	s := startServer(t, filepath.Join(dir, "data"), "--plugins", plugins)
	login(t, ctx, s)

	step(t, ctx, "open a new composition", chromedp.Navigate(s.url+"/compositions"),
		chromedp.Click(chromedp.CSS(`[data-testid=new-composition]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=drop-first]`)))

	// Three tasks, two of them side by side, all by dragging.
	drag(t, ctx, `[data-testid="palette-cloud.provision"] .palette-text`, `[data-testid=drop-first]`)
	eventually(t, ctx, "the provision task is on the canvas", `!!document.querySelector("[data-testid=row-0] [data-task-id]")`)
	drag(t, ctx, `[data-testid="palette-shell"] .palette-text`, `[data-testid=gap-1]`)
	eventually(t, ctx, "a shell task in a second row", `document.querySelectorAll("[data-testid=row-1] [data-task-id]").length === 1`)
	drag(t, ctx, `[data-testid="palette-cloud.deprovision"] .palette-text`, `[data-testid=row-1] [data-task-id]`)
	eventually(t, ctx, "the deprovision task beside the shell task",
		`document.querySelectorAll("[data-testid=row-1] [data-task-id]").length === 2`)
	ids, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#canvas [data-task-id]")).map(e => e.dataset.taskId)`))
	if err != nil || len(ids) != 3 {
		t.Fatalf("canvas tasks = %v, %v; want 3", ids, err)
	}
	provision, shell, deprovision := ids[0], "", ""
	for _, id := range ids[1:] {
		if strings.Contains(id, "deprovision") {
			deprovision = id
		} else {
			shell = id
		}
	}
	if shell == "" || deprovision == "" {
		t.Fatalf("canvas tasks = %v; want a shell and a deprovision task", ids)
	}

	// Fill the fields: the provision task's image, the shell script.
	click(t, ctx, `[data-testid="card-`+provision+`"] .task-main`, chromedp.WaitVisible(chromedp.CSS(`#in-field-image`)))
	setField(t, ctx, `#in-field-image`, "debian-12")
	docHas(t, ctx, "the image is in the YAML", "image: debian-12")
	click(t, ctx, `[data-testid="card-`+shell+`"] .task-main`, chromedp.WaitVisible(chromedp.CSS(`#in-field-run`)))
	setField(t, ctx, `#in-field-run`, "echo \"checking ${{ context.cloud.instances }}\"\n")
	docHas(t, ctx, "the script is in the YAML", "checking ${{ context.cloud.instances }}")

	// The deprovision task needs no configuration: its instances come
	// from the context, set by the provision task.
	click(t, ctx, `[data-testid="card-`+deprovision+`"] .task-main`, chromedp.WaitVisible(chromedp.CSS(`[data-testid=field-field-instances] [data-testid=inherited]`)))
	if note := text(t, ctx, `[data-testid=field-field-instances] [data-testid=inherited]`); !strings.Contains(note, "cloud.instances") || !strings.Contains(note, provision) {
		t.Errorf("inherited note = %q, want it to name cloud.instances and task %s", note, provision)
	}

	// Name it on the settings tab.
	click(t, ctx, `[data-testid=tab-settings]`, chromedp.WaitVisible(chromedp.CSS(`#in-setting-name`)))
	setField(t, ctx, `#in-setting-name`, "editor-demo")
	docHas(t, ctx, "the name is in the YAML", "name: editor-demo")
	setField(t, ctx, `#in-setting-description`, "Built in the **editor**.")
	eventually(t, ctx, "the description preview renders markdown",
		`(document.querySelector("[data-testid=desc-preview] strong") || {}).textContent === "editor"`)

	// A bad value shows on its field, and nothing is saved.
	click(t, ctx, `[data-testid=tab-canvas]`)
	click(t, ctx, `[data-testid="card-`+provision+`"] .task-main`, chromedp.WaitVisible(chromedp.CSS(`#in-field-count`)))
	setField(t, ctx, `#in-field-count`, "many")
	eventually(t, ctx, "the bad count is marked on its field",
		`!!document.querySelector("[data-testid=field-field-count] [data-testid=field-error]")`)
	if msg := text(t, ctx, `[data-testid=field-field-count] [data-testid=field-error]`); !strings.Contains(msg, "many") {
		t.Errorf("field error = %q, want it to name the bad value", msg)
	}
	click(t, ctx, `[data-testid=save]`)
	eventually(t, ctx, "the save is refused", `!!document.querySelector("[data-testid=editor-error]")`)
	eventually(t, ctx, "the bad count is still marked after the refused save",
		`!!document.querySelector("[data-testid=field-field-count] [data-testid=field-error]") && document.getElementById("in-field-count").value === "many"`)
	s.call("GET", "/api/v1/compositions/editor-demo", "", 404, nil)

	setField(t, ctx, `#in-field-count`, "2")
	eventually(t, ctx, "the count is accepted",
		`!document.querySelector("[data-testid=field-field-count] [data-testid=field-error]")`)
	docHas(t, ctx, "the count is in the YAML", "count: 2")
	click(t, ctx, `[data-testid="card-`+deprovision+`"] .task-main`, chromedp.WaitVisible(chromedp.CSS(`[data-testid=field-field-instances] [data-testid=inherited]`)))
	shot(t, ctx, "editor")

	// Save: version 1, by admin, with the message.
	step(t, ctx, "write a message", chromedp.SetValue(chromedp.CSS(`[data-testid=save-message]`), "first version"))
	click(t, ctx, `[data-testid=save]`, chromedp.WaitVisible(chromedp.CSS(`[data-testid=editor-notice]`)))
	var v1 struct {
		Version         int
		Author, Message string
		Source          string
	}
	s.call("GET", "/api/v1/compositions/editor-demo", "", 200, &v1)
	if v1.Version != 1 || v1.Author != "admin" || v1.Message != "first version" {
		t.Fatalf("saved composition = %+v", v1)
	}
	eventually(t, ctx, "the editor says it is saved", `!!document.querySelector("[data-testid=clean]")`)

	// Run it from the editor; the run page draws the pair in one column.
	click(t, ctx, `[data-testid=run-pop] summary`)
	click(t, ctx, `[data-testid=run-pop] [data-testid=start-run]`, chromedp.WaitVisible(chromedp.CSS(`[data-testid=run-panel]`)))
	eventually(t, ctx, "the run succeeds", `document.getElementById("run-panel").dataset.status === "succeeded"`)
	xs, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]float64](`Object.fromEntries(Array.from(
		document.querySelectorAll("[data-testid=graph-node]")).map(n => [n.dataset.task, n.getBoundingClientRect().left]))`))
	if err != nil || len(xs) != 3 || xs[shell] != xs[deprovision] || xs[provision] >= xs[shell] {
		t.Errorf("graph node positions = %v (%v): want %s first and %s beside %s in the next column", xs, err, provision, shell, deprovision)
	}
	if v := text(t, ctx, `[data-testid=run-version]`); !strings.Contains(v, "version 1") {
		t.Errorf("run page version link = %q", v)
	}

	// Change it on the YAML tab: the canvas follows.
	step(t, ctx, "edit again", chromedp.Navigate(s.url+"/compositions/editor-demo/edit"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=canvas]`)))
	click(t, ctx, `[data-testid=tab-yaml]`)
	add := "  # tell the team\n  - id: announce  # last\n    needs: [" + shell + ", " + deprovision + "]\n    run: echo done\n"
	js := fmt.Sprintf(`(() => { const ta = document.getElementById("yaml"); ta.focus();
		ta.value = ta.value.replace(/\n*$/, "\n") + %q; ta.dispatchEvent(new Event("input", {bubbles: true})); return true; })()`, add)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js)); err != nil {
		t.Fatal(err)
	}
	eventually(t, ctx, "the new task shows on the canvas in a row of its own",
		`!!document.querySelector("[data-testid=row-2] [data-testid=card-announce]")`)
	docHas(t, ctx, "the YAML state follows the text", "id: announce")

	// A change on the canvas keeps the comments typed on the YAML tab.
	click(t, ctx, `[data-testid=tab-canvas]`)
	click(t, ctx, `[data-testid="card-announce"] .task-main`, chromedp.WaitVisible(chromedp.CSS(`#in-field-run`)))
	setField(t, ctx, `#in-field-run`, "echo shipped\n")
	docHas(t, ctx, "the form's change is in the YAML", "echo shipped")
	docHas(t, ctx, "the comments are still there", "  # tell the team\n  - id: announce  # last\n")
	step(t, ctx, "write a message", chromedp.SetValue(chromedp.CSS(`[data-testid=save-message]`), "announce"))
	click(t, ctx, `[data-testid=save]`, chromedp.WaitVisible(chromedp.CSS(`[data-testid=editor-notice]`)))
	var v2 struct {
		Version int
		Source  string
	}
	s.call("GET", "/api/v1/compositions/editor-demo", "", 200, &v2)
	if v2.Version != 2 {
		t.Fatalf("version after the YAML change = %d, want 2", v2.Version)
	}
	if !strings.Contains(v2.Source, "# tell the team") || !strings.Contains(v2.Source, "echo shipped") {
		t.Errorf("saved version 2 lacks the comment or the form's change:\n%s", v2.Source)
	}

	// History shows the change; restoring version 1 makes version 3.
	step(t, ctx, "history", chromedp.Navigate(s.url+"/compositions/editor-demo/history"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=diff-add]`)))
	if added := text(t, ctx, `[data-testid=diff]`); !strings.Contains(added, "id: announce") {
		t.Errorf("the diff does not show the added task:\n%s", added)
	}
	step(t, ctx, "open version 1", chromedp.Navigate(s.url+"/compositions/editor-demo/versions/1"))
	click(t, ctx, `[data-testid=restore]`, chromedp.WaitVisible(chromedp.CSS(`[data-testid=versions]`)))
	var v3 struct {
		Version int
		Source  string
	}
	s.call("GET", "/api/v1/compositions/editor-demo", "", 200, &v3)
	if v3.Version != 3 || v3.Source != v1.Source {
		t.Errorf("after restoring version 1: version %d, same source as version 1: %v", v3.Version, v3.Source == v1.Source)
	}

	// Usable on a narrow screen: one column, nothing wider than the window.
	step(t, ctx, "narrow window", chromedp.EmulateViewport(768, 1000), chromedp.Navigate(s.url+"/compositions/editor-demo/edit"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=canvas]`)))
	eventually(t, ctx, "no sideways scrolling at 768 px", `document.documentElement.scrollWidth <= window.innerWidth`)
	eventually(t, ctx, "the palette scrolls with the page", `getComputedStyle(document.querySelector(".palette")).position === "static"`)
}
