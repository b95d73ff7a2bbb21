package handlers

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"baton/model"
)

// BenchmarkPages renders every page with 10,000 runs in the database,
// each run with tasks and a log. Target: every page under 50 ms.
func BenchmarkPages(b *testing.B) {
	a := newAPI(b)
	ctx := context.Background()
	for _, name := range []string{"build", "deploy", "nightly"} {
		a.do("PUT", "/api/v1/compositions/"+name, fmt.Sprintf("name: %s\nparams:\n  v: {type: string, default: x}\ntasks:\n  - id: a\n    run: \"true\"\n  - id: b\n    run: \"true\"\n  - id: c\n    needs: [a]\n    run: \"true\"\n", name), http.StatusCreated, nil)
	}
	statuses := []model.RunStatus{model.RunSucceeded, model.RunFailed, model.RunSucceeded, model.RunCancelled}
	var last int64
	for i := 0; i < 10000; i++ {
		comp := []string{"build", "deploy", "nightly"}[i%3]
		now := time.Now().Add(-time.Duration(10000-i) * time.Minute)
		r := &model.Run{Composition: comp, Version: 1, Status: model.RunRunning, Params: map[string]any{"v": "1.0"}, Trigger: "bench", CreatedAt: now, StartedAt: now}
		tasks := []*model.TaskRun{{TaskID: "a", Status: model.TaskPending}, {TaskID: "b", Status: model.TaskPending}, {TaskID: "c", Status: model.TaskPending}}
		if err := a.store.CreateRun(ctx, r, tasks); err != nil {
			b.Fatal(err)
		}
		r.Status, r.FinishedAt = statuses[i%len(statuses)], now.Add(90*time.Second)
		for _, t := range tasks {
			t.Status, t.Attempt, t.StartedAt, t.FinishedAt = model.TaskSucceeded, 1, now, now.Add(30*time.Second)
		}
		if err := a.store.FinishRun(ctx, r, tasks, nil, nil); err != nil {
			b.Fatal(err)
		}
		last = r.ID
	}
	lines := make([]model.LogLine, 2000)
	for i := range lines {
		lines[i] = model.LogLine{TaskID: "a", Stream: model.Stdout, Time: time.Now(), Text: fmt.Sprintf("log line %d", i)}
	}
	a.store.AppendLogs(ctx, []model.LogBatch{{RunID: last, Lines: lines}})

	c := a.browserClient()
	a.login(c)
	for _, path := range []string{"/", "/compositions", "/compositions/build", "/runs", "/runs?status=failed", "/runs?composition=deploy&before=5000",
		fmt.Sprintf("/runs/%d", last), fmt.Sprintf("/runs/%d?part=panel", last), "/settings/tokens", "/api/v1/runs?limit=50", fmt.Sprintf("/api/v1/runs/%d/log?before=99999&limit=1000", last)} {
		b.Run(path, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				req, _ := http.NewRequest("GET", a.srv.URL+path, nil)
				req.Header.Set("Authorization", "Bearer "+a.token)
				resp, err := c.Do(req)
				if err != nil || resp.StatusCode != http.StatusOK {
					b.Fatalf("%s: %v %v", path, err, resp.StatusCode)
				}
				resp.Body.Close()
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/page")
		})
	}
}
