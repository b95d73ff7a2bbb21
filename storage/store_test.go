package storage

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"baton/model"
)

func TestMigrateIsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.db")
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("open #%d: %v", i, err)
		}
		var v int
		if err := s.r.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
			t.Fatal(err)
		}
		all, _ := migrations()
		if v != len(all) {
			t.Fatalf("user_version = %d, want %d", v, len(all))
		}
		s.Close()
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec("PRAGMA user_version = 999"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = Open(context.Background(), path)
	if err == nil || !strings.Contains(err.Error(), "newer baton binary") {
		t.Fatalf("err = %v, want a message about a newer binary", err)
	}
}

func TestCompositionVersions(t *testing.T) {
	s := NewTestStore(t)
	ctx := context.Background()
	v1, created, err := s.SaveComposition(ctx, "build", "name: build\n", "alice", "first")
	if err != nil || !created || v1.Version != 1 {
		t.Fatalf("save 1: %+v %v %v", v1, created, err)
	}
	same, created, err := s.SaveComposition(ctx, "build", "name: build\n", "bob", "again")
	if err != nil || created || same.Version != 1 || same.Author != "alice" {
		t.Fatalf("unchanged save should keep version 1: %+v %v %v", same, created, err)
	}
	v2, created, err := s.SaveComposition(ctx, "build", "name: build\ndescription: x\n", "bob", "second")
	if err != nil || !created || v2.Version != 2 {
		t.Fatalf("save 2: %+v %v %v", v2, created, err)
	}
	cur, err := s.GetComposition(ctx, "build")
	if err != nil || cur.Version != 2 || cur.Author != "bob" || cur.Message != "second" {
		t.Fatalf("current: %+v %v", cur, err)
	}
	vs, err := s.ListCompositionVersions(ctx, "build")
	if err != nil || len(vs) != 2 || vs[0].Version != 2 {
		t.Fatalf("versions: %+v %v", vs, err)
	}
	if err := s.DeleteComposition(ctx, "build"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetComposition(ctx, "build"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v, want ErrNotFound", err)
	}
	if err := s.DeleteComposition(ctx, "build"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v, want ErrNotFound", err)
	}
	old, err := s.GetCompositionVersion(ctx, "build", 1)
	if err != nil || old.Source != "name: build\n" {
		t.Fatalf("old version after delete: %+v %v", old, err)
	}
	v3, _, err := s.SaveComposition(ctx, "build", "name: build\n", "carol", "back")
	if err != nil || v3.Version != 3 {
		t.Fatalf("re-create continues numbering: %+v %v", v3, err)
	}
	list, err := s.ListCompositions(ctx)
	if err != nil || len(list) != 1 || list[0].Version != 3 {
		t.Fatalf("list: %+v %v", list, err)
	}
}

func TestRunLifecycle(t *testing.T) {
	s := NewTestStore(t)
	ctx := context.Background()
	now := time.Now().Truncate(time.Microsecond)
	r := &model.Run{Composition: "build", Version: 1, Params: map[string]any{"v": "1.2"}, Status: model.RunQueued,
		Context: map[string]string{"workdir": "/w"}, CreatedAt: now, Trigger: "api"}
	tasks := []*model.TaskRun{{TaskID: "a", Status: model.TaskPending}, {TaskID: "b", Status: model.TaskPending}}
	if err := s.CreateRun(ctx, r, tasks); err != nil {
		t.Fatal(err)
	}
	if r.ID == 0 || tasks[1].RunID != r.ID {
		t.Fatalf("ids not set: run %d task run %d", r.ID, tasks[1].RunID)
	}
	r.Status, r.StartedAt = model.RunRunning, now
	tasks[0].Status, tasks[0].Attempt, tasks[0].StartedAt = model.TaskSucceeded, 1, now
	tasks[0].Outputs = map[string]any{"artifact": "dist/app.war"}
	tasks[1].Status = model.TaskWaiting
	tasks[1].Approval = &model.Approval{Message: "ship?"}
	if err := s.SaveState(ctx, r, tasks...); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetRun(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != model.RunRunning || got.Params["v"] != "1.2" || got.Context["workdir"] != "/w" || !got.StartedAt.Equal(now) {
		t.Fatalf("run read back: %+v", got)
	}
	gt, err := s.GetTasks(ctx, r.ID)
	if err != nil || len(gt) != 2 {
		t.Fatalf("tasks: %v %v", gt, err)
	}
	if gt[0].Outputs["artifact"] != "dist/app.war" || gt[1].Approval == nil || gt[1].Approval.Message != "ship?" {
		t.Fatalf("tasks read back: %+v %+v", gt[0], gt[1])
	}
	active, err := s.ActiveRuns(ctx)
	if err != nil || len(active) != 1 {
		t.Fatalf("active: %v %v", active, err)
	}

	child := &model.Run{Composition: "deploy", Version: 1, Status: model.RunQueued, CreatedAt: now, ParentRunID: r.ID, ParentTask: "b"}
	if err := s.CreateRun(ctx, child, nil); err != nil {
		t.Fatal(err)
	}
	gt, _ = s.GetTasks(ctx, r.ID)
	if gt[1].ChildRunID != child.ID {
		t.Fatalf("parent task child id = %d, want %d", gt[1].ChildRunID, child.ID)
	}
	bad := &model.Run{Composition: "deploy", Version: 1, Status: model.RunQueued, CreatedAt: now, ParentRunID: r.ID, ParentTask: "nope"}
	if err := s.CreateRun(ctx, bad, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("child of unknown task: %v, want ErrNotFound", err)
	}
	runs, err := s.ListRuns(ctx, RunFilter{Composition: "deploy"})
	if err != nil || len(runs) != 1 {
		t.Fatalf("list runs of deploy: %v %v (the failed child must not exist)", runs, err)
	}
	runs, err = s.ListRuns(ctx, RunFilter{Statuses: []model.RunStatus{model.RunRunning}})
	if err != nil || len(runs) != 1 || runs[0].ID != r.ID {
		t.Fatalf("list running: %v %v", runs, err)
	}
	if _, err := s.GetRun(ctx, 9999); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing run: %v", err)
	}
}

func newRun(t testing.TB, s *Store) int64 {
	t.Helper()
	r := &model.Run{Composition: "logs", Version: 1, Status: model.RunRunning, CreatedAt: time.Now()}
	if err := s.CreateRun(context.Background(), r, nil); err != nil {
		t.Fatal(err)
	}
	return r.ID
}

func TestLogsRoundTrip(t *testing.T) {
	s := NewTestStore(t)
	ctx := context.Background()
	id := newRun(t, s)
	other := newRun(t, s)
	base := time.Now().Truncate(time.Microsecond)
	const n = 5000 // more than one chunk per batch
	var lines []model.LogLine
	for i := 0; i < n; i++ {
		task := "build"
		if i%3 == 0 {
			task = "test"
		}
		lines = append(lines, model.LogLine{TaskID: task, Stream: model.Stream(1 + i%2), Time: base.Add(time.Duration(i) * time.Millisecond), Text: fmt.Sprintf("line %d", i)})
	}
	if err := s.AppendLogs(ctx, []model.LogBatch{{RunID: id, Lines: lines[:3000]}, {RunID: other, Lines: []model.LogLine{{TaskID: "x", Stream: model.Stdout, Time: base, Text: "other"}}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendLogs(ctx, []model.LogBatch{{RunID: id, Lines: lines[3000:]}}); err != nil {
		t.Fatal(err)
	}
	if lines[n-1].Seq != n {
		t.Fatalf("last seq = %d, want %d", lines[n-1].Seq, n)
	}
	if c, _ := s.LogCount(ctx, id); c != n {
		t.Fatalf("count = %d", c)
	}
	all, err := s.ReadLogs(ctx, LogQuery{RunID: id, Limit: 100000})
	if err != nil || len(all) != n {
		t.Fatalf("read all: %d lines, %v", len(all), err)
	}
	for i, l := range all {
		want := lines[i]
		if l.Seq != int64(i+1) || l.Text != want.Text || l.TaskID != want.TaskID || l.Stream != want.Stream || !l.Time.Equal(want.Time) {
			t.Fatalf("line %d = %+v, want %+v", i, l, want)
		}
	}
	tests := []struct {
		name      string
		q         LogQuery
		wantFirst int64
		wantLen   int
	}{
		{"after", LogQuery{RunID: id, After: 2047, Limit: 3}, 2048, 3},
		{"after end", LogQuery{RunID: id, After: n}, 0, 0},
		{"tail", LogQuery{RunID: id, Before: n + 1, Limit: 10}, n - 9, 10},
		{"earlier across chunks", LogQuery{RunID: id, Before: 2050, Limit: 5}, 2045, 5},
		{"task filter", LogQuery{RunID: id, TaskID: "test", Limit: 2}, 1, 2},
		{"contains", LogQuery{RunID: id, Contains: "line 4999"}, 5000, 1},
		{"other run", LogQuery{RunID: other}, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ReadLogs(ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.wantLen {
				t.Fatalf("got %d lines, want %d", len(got), tt.wantLen)
			}
			if tt.wantLen > 0 && got[0].Seq != tt.wantFirst {
				t.Fatalf("first seq %d, want %d", got[0].Seq, tt.wantFirst)
			}
			for i := 1; i < len(got); i++ {
				if got[i].Seq <= got[i-1].Seq {
					t.Fatalf("not in order at %d", i)
				}
			}
		})
	}
}

// BenchmarkAppendLogs stores short lines in batches of 10,000, as the
// engine's log writer does under load; it reports stored lines per second.
func BenchmarkAppendLogs(b *testing.B) {
	s := NewTestStore(b)
	ctx := context.Background()
	id := newRun(b, s)
	batch := make([]model.LogLine, 10000)
	now := time.Now()
	for i := range batch {
		batch[i] = model.LogLine{TaskID: "build", Stream: model.Stdout, Time: now, Text: fmt.Sprintf("line %d of the build output", i)}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.AppendLogs(ctx, []model.LogBatch{{RunID: id, Lines: batch}}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "lines/s")
}

func TestEventsAndDuplicates(t *testing.T) {
	s := NewTestStore(t)
	ctx := context.Background()
	r := &model.Run{Composition: "build", Version: 1, Status: model.RunQueued, CreatedAt: time.Now()}
	ev := &model.Event{Trigger: "gh", Kind: "github", Name: "push", DeliveryID: "d1", Payload: map[string]any{"ref": "main"},
		Results: []model.RuleResult{{Rule: "build", Matched: true, Run: r}, {Rule: "other"}}}
	if err := s.RecordEvent(ctx, ev, []model.NewRun{{Run: r}}); err != nil {
		t.Fatal(err)
	}
	if ev.ID == 0 || r.ID == 0 || ev.Results[0].RunID != r.ID {
		t.Fatalf("ids not set: event %d run %d result %+v", ev.ID, r.ID, ev.Results[0])
	}
	// The same delivery again: conflict, and its run is not created.
	r2 := &model.Run{Composition: "build", Version: 1, Status: model.RunQueued, CreatedAt: time.Now()}
	dup := &model.Event{Trigger: "gh", Kind: "github", Name: "push", DeliveryID: "d1", Results: []model.RuleResult{{Rule: "build", Matched: true, Run: r2}}}
	if err := s.RecordEvent(ctx, dup, []model.NewRun{{Run: r2}}); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate delivery: %v", err)
	}
	if runs, _ := s.ListRuns(ctx, RunFilter{}); len(runs) != 1 {
		t.Fatalf("%d runs after a duplicate delivery, want 1", len(runs))
	}
	// Events without a delivery id never clash; an event without results reads back.
	for i := 0; i < 2; i++ {
		if err := s.RecordEvent(ctx, &model.Event{Trigger: "gh", Kind: "github", Name: "ping"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	last, err := s.LastEvent(ctx, "gh")
	if err != nil || last.Name != "ping" || len(last.Results) != 0 {
		t.Fatalf("last event = %+v, %v", last, err)
	}
	got, err := s.GetEvent(ctx, ev.ID)
	if err != nil || got.Payload.(map[string]any)["ref"] != "main" || got.Results[0].RunID != r.ID {
		t.Fatalf("event read back = %+v, %v", got, err)
	}
}

func TestSaveCompositionIf(t *testing.T) {
	s := NewTestStore(t)
	ctx := context.Background()
	if _, _, err := s.SaveCompositionIf(ctx, "x", "name: x\n", "alice", "new", 0); err != nil {
		t.Fatal(err)
	}
	// Bob and Carol both start from version 1; Bob saves first.
	if v, _, err := s.SaveCompositionIf(ctx, "x", "name: x\n# bob\n", "bob", "b", 1); err != nil || v.Version != 2 {
		t.Fatalf("bob: %+v %v", v, err)
	}
	_, _, err := s.SaveCompositionIf(ctx, "x", "name: x\n# carol\n", "carol", "c", 1)
	var stale *StaleError
	if !errors.As(err, &stale) || stale.Current.Version != 2 || stale.Current.Author != "bob" {
		t.Fatalf("carol's save: %v", err)
	}
	cur, _ := s.GetComposition(ctx, "x")
	if cur.Author != "bob" {
		t.Errorf("carol's stale save overwrote bob's: %+v", cur)
	}
	if _, _, err := s.SaveCompositionIf(ctx, "y", "name: y\n", "dan", "", 3); !errors.As(err, &stale) || !strings.Contains(err.Error(), "deleted") {
		t.Errorf("creating with a base version: %v", err)
	}
	if _, _, err := s.SaveCompositionIf(ctx, "x", "name: x\n# new\n", "erin", "", 0); !errors.As(err, &stale) || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("creating one that exists: %v", err)
	}
}
