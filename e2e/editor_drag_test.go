package e2e

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// zones returns where the canvas's rows and gaps are, by test id.
func zones(t *testing.T, ctx context.Context) map[string][]float64 {
	t.Helper()
	z, err := chromedp.Run(ctx, chromedp.Evaluate[map[string][]float64](`Object.fromEntries(Array.from(
		document.querySelectorAll("#canvas [data-drop]:not(.drag-ghost)")).map(e => { const r = e.getBoundingClientRect();
		return [e.dataset.testid, [r.left, r.top, r.width, r.height]]; }))`))
	if err != nil {
		t.Fatalf("measure the drop zones: %v", err)
	}
	return z
}

// canvasRows returns the task ids of each row of the canvas.
func canvasRows(t *testing.T, ctx context.Context) [][]string {
	t.Helper()
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[][]string](`Array.from(document.querySelectorAll("#canvas .row")).map(
		r => Array.from(r.querySelectorAll("[data-task-id]")).map(e => e.dataset.taskId))`))
	if err != nil {
		t.Fatalf("read the rows: %v", err)
	}
	return rows
}

// ghostIn returns the test id of the drop zone that holds the drag's
// placeholder, or "".
func ghostIn(t *testing.T, ctx context.Context) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const g = document.querySelector("#canvas .drag-ghost");
		return g && g.parentElement ? g.parentElement.dataset.testid || "" : ""; })()`))
	if err != nil {
		t.Fatalf("find the placeholder: %v", err)
	}
	return s
}

// press starts a drag on from and moves the pointer a little, so that the
// drag has begun; it returns where it pressed.
func press(t *testing.T, ctx context.Context, from string) (float64, float64) {
	t.Helper()
	x, y := center(t, ctx, from)
	quiet(t, ctx)
	step(t, ctx, "press on "+from, chromedp.MouseEvent(chromedp.MousePressed, x, y, chromedp.ButtonLeft, chromedp.ClickCount(1)))
	for i := 1; i <= 3; i++ {
		step(t, ctx, "start the drag", chromedp.MouseEvent(chromedp.MouseMoved, x+float64(3*i), y+float64(3*i), chromedp.ButtonLeft))
		time.Sleep(30 * time.Millisecond) // a hand's pace, not a synchronisation
	}
	return x + 9, y + 9
}

// moveTo moves the pressed pointer in steps from (x1, y1) to (x2, y2) and
// lingers there, a few pixels either way, as a hand does.
func moveTo(t *testing.T, ctx context.Context, x1, y1, x2, y2 float64) {
	t.Helper()
	const steps = 12
	for i := 1; i <= steps; i++ {
		x := x1 + (x2-x1)*float64(i)/steps
		y := y1 + (y2-y1)*float64(i)/steps
		step(t, ctx, "drag", chromedp.MouseEvent(chromedp.MouseMoved, x, y, chromedp.ButtonLeft))
		time.Sleep(25 * time.Millisecond)
	}
	for _, d := range []float64{-3, 3, -1, 1, 0} {
		step(t, ctx, "linger", chromedp.MouseEvent(chromedp.MouseMoved, x2+d, y2+d/2, chromedp.ButtonLeft))
		time.Sleep(60 * time.Millisecond)
	}
}

// TestBrowserEditorDropStaysPut drags onto the places a person aims at, as
// the canvas shows them before the drag: the drop zones do not move when a
// drag starts or while the placeholder is shown, and the task lands where
// the placeholder showed it.
func TestBrowserEditorDropStaysPut(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, filepath.Join(dir, "data"))
	ctx := browser(t)
	login(t, ctx, s)
	step(t, ctx, "open a new composition", chromedp.Navigate(s.url+"/editor/new"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=drop-first]`)))
	for i := 1; i <= 3; i++ {
		click(t, ctx, `[data-testid="palette-shell"] button`)
		eventually(t, ctx, fmt.Sprintf("%d tasks", i), fmt.Sprintf(`document.querySelectorAll("#canvas [data-task-id]").length === %d`, i))
	}
	if got := canvasRows(t, ctx); !slices.EqualFunc(got, [][]string{{"shell_1"}, {"shell_2"}, {"shell_3"}}, slices.Equal) {
		t.Fatalf("rows = %v", got)
	}

	for _, tc := range []struct {
		name, from, target string
		want               [][]string
	}{
		{"a new type into the gap below the first row", `[data-testid="palette-shell"] .palette-text`, "gap-1",
			[][]string{{"shell_1"}, {"shell_4"}, {"shell_2"}, {"shell_3"}}},
		{"a card into the gap above the last row", `[data-testid="card-shell_1"] [data-handle]`, "gap-3",
			[][]string{{"shell_4"}, {"shell_2"}, {"shell_1"}, {"shell_3"}}},
		{"a card beside another", `[data-testid="card-shell_3"] [data-handle]`, "row-0",
			[][]string{{"shell_4", "shell_3"}, {"shell_2"}, {"shell_1"}}},
	} {
		before := zones(t, ctx)
		aim := before[tc.target]
		if aim == nil {
			t.Fatalf("%s: no drop zone %s in %v", tc.name, tc.target, before)
		}
		// Aim at the middle of the zone as it shows before the drag; a
		// row is aimed at past its last card.
		x2, y2 := aim[0]+aim[2]/2, aim[1]+aim[3]/2
		if tc.target[:3] == "row" {
			x2 = aim[0] + aim[2] - 12
		}
		x1, y1 := press(t, ctx, tc.from)
		during := zones(t, ctx)
		for id, r := range before {
			if d := during[id]; d == nil || math.Abs(d[1]-r[1]) > 1 || math.Abs(d[3]-r[3]) > 1 {
				t.Errorf("%s: drop zone %s moved when the drag started: %v, then %v", tc.name, id, r, d)
			}
		}
		moveTo(t, ctx, x1, y1, x2, y2)
		shown := ghostIn(t, ctx)
		if shown != tc.target {
			t.Errorf("%s: the placeholder shows in %q, want %s", tc.name, shown, tc.target)
		}
		step(t, ctx, "drop", chromedp.MouseEvent(chromedp.MouseReleased, x2, y2, chromedp.ButtonLeft, chromedp.ClickCount(1)))
		want := fmt.Sprint(tc.want)
		eventually(t, ctx, tc.name+": the task lands where the placeholder was",
			fmt.Sprintf(`JSON.stringify(Array.from(document.querySelectorAll("#canvas .row")).map(r => Array.from(r.querySelectorAll("[data-task-id]")).map(e => e.dataset.taskId))) === %q`, jsonRows(tc.want)))
		quiet(t, ctx)
		if got := fmt.Sprint(canvasRows(t, ctx)); got != want {
			t.Fatalf("%s: rows = %s, want %s", tc.name, got, want)
		}
	}
}

// jsonRows writes rows of ids as JSON.
func jsonRows(rows [][]string) string {
	out := "["
	for i, r := range rows {
		if i > 0 {
			out += ","
		}
		out += "["
		for j, id := range r {
			if j > 0 {
				out += ","
			}
			out += fmt.Sprintf("%q", id)
		}
		out += "]"
	}
	return out + "]"
}
