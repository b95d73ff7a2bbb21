package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The scripts of the seed story's shell tasks, as a person types them.
const (
	deployScript = `for id in $(echo "$INSTANCES" | tr ',' ' '); do
  cp "dist/webapp-${{ params.version }}.war" "instances/$id/webapp.war"
  echo "deployed to $id"
done
`
	checkoutScript = `rm -rf demo-src demo.git tests && mkdir demo-src && cd demo-src
git init -q && git config user.email demo@example.com && git config user.name demo
printf '#!/bin/sh\ntest -s "$1" && echo "acceptance: $1 ok"\n' > accept.sh
chmod +x accept.sh && git add accept.sh && git commit -qm tests
cd .. && git clone -q --bare demo-src demo.git && git clone -q demo.git tests
`
	testScript = `for dir in instances/*/; do ./tests/accept.sh "$dir/webapp.war"; done
`
)

// TestBrowserEditorSeedStory builds the seed story in the editor alone, by
// dragging types and filling forms, as a new user would: download a war
// with http, start an instance with the cloud plugin, deploy to it, check
// out tests with git and run them, ask for an approval, tell another
// composition (a composition call whose params map holds an expression),
// and destroy the instance with no configuration. A param is added and
// renamed on the way. It saves, runs from the editor, approves, and the
// run succeeds.
func TestBrowserEditorSeedStory(t *testing.T) {
	dir := t.TempDir()
	plugins, _ := filepath.Abs("../examples/plugins")
	s := startServer(t, filepath.Join(dir, "data"), "--plugins", plugins)
	s.call("PUT", "/api/v1/compositions/announce", `name: announce
params:
  version: {type: string, required: true}
tasks:
  - id: say
    env: {VERSION: "${{ params.version }}"}
    run: echo "released $VERSION"
`, 201, nil)
	ctx := browser(t)
	login(t, ctx, s)
	began := time.Now()

	step(t, ctx, "new composition", chromedp.Navigate(s.url+"/compositions"),
		chromedp.Click(chromedp.CSS(`[data-testid=new-composition]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=drop-first]`)))

	// The parameter first: added, then renamed, typed and given a default.
	click(t, ctx, `[data-testid=tab-settings]`, chromedp.WaitVisible(chromedp.CSS(`#in-setting-name`)))
	setField(t, ctx, `#in-setting-name`, "ship-webapp")
	click(t, ctx, `[data-testid=param-add]`, chromedp.WaitVisible(chromedp.CSS(`input[name="param-0-name"]`)))
	setField(t, ctx, `input[name="param-0-name"]`, "version")
	setField(t, ctx, `input[name="param-0-default"]`, "1.4.2")
	setField(t, ctx, `input[name="param-0-description"]`, "Version to ship")
	docHas(t, ctx, "the renamed param keeps its later edits", "description: Version to ship")

	// The first row: download, start an instance, check out the tests, side by side.
	click(t, ctx, `[data-testid=tab-canvas]`)
	drag(t, ctx, `[data-testid="palette-http"] .palette-text`, `[data-testid=drop-first]`)
	eventually(t, ctx, "the http task", `!!document.querySelector("[data-testid=card-http_1]")`)
	drag(t, ctx, `[data-testid="palette-cloud.provision"] .palette-text`, `[data-testid=row-0]`)
	eventually(t, ctx, "provision beside it", `document.querySelectorAll("[data-testid=row-0] [data-task-id]").length === 2`)
	drag(t, ctx, `[data-testid="palette-shell"] .palette-text`, `[data-testid=row-0]`)
	eventually(t, ctx, "a shell task beside them", `document.querySelectorAll("[data-testid=row-0] [data-task-id]").length === 3`)
	// The rest in order, each in a row of its own, with the + buttons.
	for i, typ := range []string{"shell", "shell", "approval", "composition", "cloud.deprovision"} {
		click(t, ctx, `[data-testid="palette-`+typ+`"] button`)
		eventually(t, ctx, fmt.Sprintf("row %d", i+1), fmt.Sprintf(`!!document.querySelector("[data-testid=row-%d] [data-task-id]")`, i+1))
	}
	rows := canvasRows(t, ctx)
	if len(rows) != 6 || len(rows[0]) != 3 {
		t.Fatalf("rows = %v", rows)
	}

	// Fill the forms.
	open := func(id, sel string) {
		t.Helper()
		click(t, ctx, `[data-testid="card-`+id+`"] .task-main`, chromedp.WaitVisible(chromedp.CSS(sel)))
	}
	open("http_1", `#in-field-url`)
	setField(t, ctx, `#in-task-id`, "fetch")
	setField(t, ctx, `#in-field-url`, s.url+"/healthz")
	setField(t, ctx, `#in-field-save_as`, "dist/webapp-${{ params.version }}.war")
	setField(t, ctx, `#in-field-headers`, "X-Version=${{ params.version }}\n")
	open("cloud_provision_1", `#in-field-image`)
	// What the deploy step needs to know: where the instances are named.
	if note := text(t, ctx, `[data-testid=exports]`); !strings.Contains(note, "${{ context.cloud.instances }}") {
		t.Errorf("the provision task's form does not say what it sets in the context: %q", note)
	}
	setField(t, ctx, `#in-field-image`, "webapp-base")
	open("shell_1", `#in-field-run`)
	setField(t, ctx, `#in-task-id`, "checkout_tests")
	setField(t, ctx, `#in-field-run`, checkoutScript)
	open(rows[1][0], `#in-field-run`)
	setField(t, ctx, `#in-task-id`, "deploy")
	setField(t, ctx, `#in-field-run`, deployScript)
	setField(t, ctx, `#in-task-env`, "INSTANCES=${{ context.cloud.instances }}\n")
	open(rows[2][0], `#in-field-run`)
	setField(t, ctx, `#in-task-id`, "acceptance")
	setField(t, ctx, `#in-field-run`, testScript)
	open(rows[3][0], `#in-field-message`)
	setField(t, ctx, `#in-field-message`, "Ship **${{ params.version }}**?")
	open(rows[4][0], `#in-field-name`)
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#in-field-name-options option[value=announce]").length`)); n != 1 {
		t.Errorf("the composition task's name does not offer the stored compositions")
	}
	setField(t, ctx, `#in-field-name`, "announce")
	setField(t, ctx, `#in-field-params`, "version=${{ params.version }}\n")
	open(rows[5][0], `[data-testid=field-field-instances] [data-testid=inherited]`)
	if note := text(t, ctx, `[data-testid=field-field-instances] [data-testid=inherited]`); !strings.Contains(note, "cloud_provision_1") {
		t.Errorf("the deprovision task does not say it inherits from the provision task: %q", note)
	}
	setField(t, ctx, `#in-task-always`, "true")
	quiet(t, ctx)
	shot(t, ctx, "story-editor")
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("[data-testid=problem-count], [data-testid=warning-count], [data-testid=field-error]").length`)); n != 0 {
		t.Fatalf("the composition has problems or warnings:\n%s", text(t, ctx, `[data-testid=yaml-problems]`))
	}

	click(t, ctx, `[data-testid=save]`, chromedp.WaitVisible(chromedp.CSS(`[data-testid=editor-notice]`)))
	built := time.Since(began)
	var saved struct{ Source string }
	s.call("GET", "/api/v1/compositions/ship-webapp", "", 200, &saved)
	for _, want := range []string{"X-Version: ${{ params.version }}", "version: ${{ params.version }}", "version:\n    type: string\n    default: 1.4.2"} {
		if !strings.Contains(saved.Source, want) && !strings.Contains(saved.Source, strings.ReplaceAll(want, ": ${{", `: "${{`)) {
			t.Errorf("saved source lacks %q:\n%s", want, saved.Source)
		}
	}

	// Run it from the editor, approve, and it succeeds.
	click(t, ctx, `[data-testid=run-pop] summary`)
	click(t, ctx, `[data-testid=run-pop] [data-testid=start-run]`, chromedp.WaitVisible(chromedp.CSS(`[data-testid=run-panel]`)))
	eventually(t, ctx, "the run waits for the approval", `document.getElementById("run-panel").dataset.status === "waiting"`)
	settled(t, ctx)
	shot(t, ctx, "story-approval")
	step(t, ctx, "approve", chromedp.Click(chromedp.CSS(`[data-testid=approve]`)))
	eventually(t, ctx, "the run succeeds", `["succeeded", "failed"].includes(document.getElementById("run-panel").dataset.status)`)
	var runs struct{ Runs []apiRun }
	s.call("GET", "/api/v1/runs?composition=ship-webapp", "", 200, &runs)
	if len(runs.Runs) != 1 {
		t.Fatalf("runs = %+v", runs.Runs)
	}
	run := s.run(runs.Runs[0].ID)
	log := s.logText(run.ID)
	if run.Status != "succeeded" {
		t.Fatalf("run %s: %s\n%s", run.Status, run.Error, log)
	}
	for _, want := range []string{"deployed to i-", "acceptance: instances/", "approved by admin", "of announce", "stopped i-"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q:\n%s", want, log)
		}
	}
	s.call("GET", "/api/v1/runs?composition=announce", "", 200, &runs)
	if len(runs.Runs) != 1 || !strings.Contains(s.logText(runs.Runs[0].ID), "released 1.4.2") {
		t.Errorf("the called composition did not get the version: %+v", runs.Runs)
	}
	t.Logf("built and saved in %s of browser time, run and approved in %s more", built.Round(time.Millisecond), (time.Since(began) - built).Round(time.Millisecond))
}
