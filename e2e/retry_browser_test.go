package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserRetryFromFailed drives "Retry from failed" in Chromium: a
// failed run's page offers it; clicking it opens the new run, which links
// back to the run it retries, marks the task it kept, runs the failed task
// again and ends succeeded without the button; the old run's page links to
// its retry.
func TestBrowserRetryFromFailed(t *testing.T) {
	ctx := browser(t)
	dir := t.TempDir()
	comps := filepath.Join(dir, "compositions")
	fixed := filepath.Join(dir, "fixed")
	writeFile(t, filepath.Join(comps, "ship.yaml"), fmt.Sprintf(`name: ship
tasks:
  - id: build
    run: echo "image=app:3" >> "$BATON_OUTPUT"
  - id: push
    run: 'test -f %q || { echo "registry said 503" >&2; exit 1; }; echo pushed ${{ tasks.build.outputs.image }}'
`, fixed))
	s := startServer(t, filepath.Join(dir, "data"), "--compositions", comps)
	var first apiRun
	s.call("POST", "/api/v1/compositions/ship/runs", "", 201, &first)
	s.waitFor(first.ID, "failed", func(r apiRun) bool { return r.Status == "failed" })
	writeFile(t, fixed, "")

	step(t, ctx, "log in", chromedp.Navigate(s.url+"/login"),
		chromedp.SendKeys(chromedp.CSS(`#name`), "admin"), chromedp.SendKeys(chromedp.CSS(`#password`), adminPassword),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=active-runs]`)))
	step(t, ctx, "open the failed run", chromedp.Navigate(fmt.Sprintf("%s/runs/%d", s.url, first.ID)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=retry]`)))
	eventually(t, ctx, "the run's error is shown with the task's stderr", `(document.querySelector("[data-testid=run-error]")||{}).textContent.includes("registry said 503")`)
	settled(t, ctx)
	shot(t, ctx, "retry-failed-run")
	step(t, ctx, "retry from failed", chromedp.Click(chromedp.CSS(`[data-testid=retry]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=retry-of]`)))
	eventually(t, ctx, "the retry succeeds", `(document.getElementById("run-panel")||{dataset:{}}).dataset.status === "succeeded"`)
	if got := text(t, ctx, `[data-testid=retry-of]`); got != fmt.Sprintf("· retries #%d", first.ID) {
		t.Errorf("the retry's page says %q", got)
	}
	if got := text(t, ctx, `[data-testid=kept-from]`); got != fmt.Sprintf("kept from #%d", first.ID) {
		t.Errorf("the kept task is marked %q", got)
	}
	eventually(t, ctx, "push ran again", `Array.from(document.querySelectorAll("#log .line")).some(e => e.textContent.includes("pushed app:3"))`)
	eventually(t, ctx, "no retry button on a run that succeeded", `!document.querySelector("[data-testid=retry]")`)
	shot(t, ctx, "retry-succeeded")
	retryURL, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	step(t, ctx, "back to the old run", chromedp.Click(chromedp.CSS(`[data-testid=retry-of] a`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=retries]`)))
	if got, want := text(t, ctx, `[data-testid=retries]`), "· retried by #"+retryURL[strings.LastIndex(retryURL, "/")+1:]; got != want {
		t.Errorf("the old run's page says %q, want %q", got, want)
	}
}
