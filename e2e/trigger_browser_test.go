package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserTriggerEditor drives the trigger pages in Chromium: New
// trigger, a mistake typed into the YAML shows at its line and column as
// it is typed, the fix clears it, Save makes the trigger active, its page
// sends a test event with the sample payload, and the run that started is
// opened and succeeds. The literal secret is shown nowhere, even on Edit.
func TestBrowserTriggerEditor(t *testing.T) {
	ctx := browser(t)
	dir := t.TempDir()
	comps := filepath.Join(dir, "compositions")
	writeFile(t, filepath.Join(comps, "greet.yaml"), `name: greet
params:
  who: {type: string, default: nobody}
tasks:
  - id: hi
    run: echo "hello ${{ params.who }} from a test event"
`)
	s := startServer(t, filepath.Join(dir, "data"), "--compositions", comps)
	login(t, ctx, s)

	const secret = "e2e-literal-secret-8080"
	src := `name: deploys
kind: gihub
secret: ` + secret + `
rules:
  - name: greet pushes to main
    when: 'event == "push" && payload.ref == "refs/heads/main"'
    run: {composition: greet, params: {who: "${{ payload.pusher.name }}"}}
`
	step(t, ctx, "open the triggers", chromedp.Navigate(s.url+"/triggers"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=new-trigger]`)))
	click(t, ctx, `[data-testid=new-trigger]`, chromedp.WaitVisible(chromedp.CSS(`[data-testid=trigger-yaml]`)))
	step(t, ctx, "clear the starter", chromedp.Evaluate[chromedp.Void](`(() => { const e = document.querySelector("[data-testid=trigger-yaml]"); e.focus(); e.value = ""; })()`))
	step(t, ctx, "type a trigger with a mistake", chromedp.SendKeys(chromedp.CSS(`[data-testid=trigger-yaml]`), src))
	eventually(t, ctx, "the mistake is shown at its line and column",
		`Array.from(document.querySelectorAll("[data-testid=trigger-problem]")).some(e => e.textContent.includes("line 2:7") && e.textContent.includes('not "gihub"'))`)
	shot(t, ctx, "trigger-problem")

	// Fix it: select the misspelt kind and type over it.
	step(t, ctx, "select the mistake", chromedp.Evaluate[chromedp.Void](`(() => { const e = document.querySelector("[data-testid=trigger-yaml]");
		const i = e.value.indexOf("gihub"); e.focus(); e.setSelectionRange(i, i + 5); })()`))
	step(t, ctx, "type the fix", chromedp.SendKeys(chromedp.CSS(`[data-testid=trigger-yaml]`), "github"))
	eventually(t, ctx, "no problems once fixed", `!!document.querySelector("[data-testid=no-problems]")`)
	step(t, ctx, "say what changed", chromedp.SendKeys(chromedp.CSS(`[data-testid=trigger-message]`), "greet pushes"))
	click(t, ctx, `[data-testid=save-trigger]`, chromedp.WaitVisible(chromedp.CSS(`[data-testid=test-card]`)))
	if got := text(t, ctx, `[data-testid=trigger-version]`); !strings.Contains(got, "version 1, saved by admin") {
		t.Errorf("the trigger's page says %q", got)
	}

	// Send the sample push (its pusher is octocat) and open the run.
	if p := value(t, ctx, `[data-testid=test-payload]`); !strings.Contains(p, `"ref": "refs/heads/main"`) {
		t.Fatalf("the sample payload is %q", p)
	}
	click(t, ctx, `[data-testid=send-test]`, chromedp.WaitVisible(chromedp.CSS(`[data-testid=test-run-link] a`)))
	if got := text(t, ctx, `[data-testid=test-result]`); !strings.Contains(got, "a test sent by admin") || !strings.Contains(got, "held") {
		t.Errorf("the test's result says %q", got)
	}
	shot(t, ctx, "trigger-test-event")
	click(t, ctx, `[data-testid=test-run-link] a`, chromedp.WaitVisible(chromedp.CSS(`#run-panel`)))
	eventually(t, ctx, "the run succeeds", `(document.getElementById("run-panel")||{dataset:{}}).dataset.status === "succeeded"`)
	eventually(t, ctx, "the run greets the sample's pusher", `Array.from(document.querySelectorAll("#log .line")).some(e => e.textContent.includes("hello octocat from a test event"))`)

	var events struct {
		Events []struct {
			TestBy string `json:"test_by"`
			Runs   []int64
		}
	}
	s.call("GET", "/api/v1/events?trigger=deploys", "", 200, &events)
	if len(events.Events) != 1 || events.Events[0].TestBy != "admin" || len(events.Events[0].Runs) != 1 {
		t.Errorf("events = %+v", events)
	}

	// Edit shows the secret as "[redacted]" only.
	step(t, ctx, "open Edit", chromedp.Navigate(fmt.Sprintf("%s/triggers/deploys/edit", s.url)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=trigger-yaml]`)))
	if v := value(t, ctx, `[data-testid=trigger-yaml]`); strings.Contains(v, secret) || !strings.Contains(v, `secret: "[redacted]"`) {
		t.Errorf("the edit page's YAML:\n%s", v)
	}
	body, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	if err != nil || strings.Contains(body, secret) {
		t.Errorf("the edit page holds the secret (%v)", err)
	}
}
