package storage

import (
	"context"
	"fmt"
	"testing"
	"time"

	"baton/model"
)

// TestRetryRowsRoundTrip: a retry is stored with the run it retries, and
// its kept tasks with their whole result, the run they come from and the
// context keys they set; a task's context keys read back as nil when not
// recorded and as an empty map when it set none; ListRuns finds the
// retries of a run.
func TestRetryRowsRoundTrip(t *testing.T) {
	s := NewTestStore(t)
	ctx := context.Background()
	now := time.Now().Truncate(time.Microsecond).UTC()
	old := &model.Run{Composition: "deploy", Version: 3, Status: model.RunFailed, CreatedAt: now}
	if err := s.CreateRun(ctx, old, []*model.TaskRun{{TaskID: "build", Status: model.TaskPending}}); err != nil {
		t.Fatal(err)
	}
	approval := &model.Approval{Message: "ship?", Decision: model.Approved, By: "alice", At: now}
	kept := &model.TaskRun{TaskID: "build", Status: model.TaskSucceeded, Attempt: 2, Outputs: map[string]any{"image": "app:1"},
		Agent: "builder", StartedAt: now.Add(-time.Minute), FinishedAt: now, KeptFrom: old.ID, ContextSet: map[string]string{"cloud.region": "eu"}}
	quiet := &model.TaskRun{TaskID: "approve", Status: model.TaskSucceeded, Attempt: 1, Approval: approval, Outputs: map[string]any{},
		StartedAt: now, FinishedAt: now, KeptFrom: old.ID, ContextSet: map[string]string{}}
	skipped := &model.TaskRun{TaskID: "notify", Status: model.TaskSkipped, IfFalse: true, Outputs: map[string]any{}, StartedAt: now, FinishedAt: now, KeptFrom: old.ID}
	again := &model.TaskRun{TaskID: "deploy", Status: model.TaskPending, Outputs: map[string]any{}}
	retry := &model.Run{Composition: "deploy", Version: 3, Status: model.RunQueued, CreatedAt: now, RetryOf: old.ID,
		Context: map[string]string{"cloud.region": "eu"}}
	if err := s.CreateRun(ctx, retry, []*model.TaskRun{kept, quiet, skipped, again}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetRun(ctx, retry.ID)
	if err != nil || got.RetryOf != old.ID || got.Context["cloud.region"] != "eu" {
		t.Fatalf("retry read back: %+v, %v", got, err)
	}
	tasks, err := s.GetTasks(ctx, retry.ID)
	if err != nil || len(tasks) != 4 {
		t.Fatalf("tasks: %v, %v", tasks, err)
	}
	for i, want := range []*model.TaskRun{kept, quiet, skipped, again} {
		if got, w := taskText(tasks[i]), taskText(want); got != w {
			t.Errorf("task %s read back as\n %s\nwant\n %s", want.TaskID, got, w)
		}
	}
	if tasks[3].ContextSet != nil || tasks[1].ContextSet == nil {
		t.Errorf("context keys: not recorded = %v, recorded none = %v", tasks[3].ContextSet, tasks[1].ContextSet)
	}
	again.Status, again.Attempt, again.ContextSet = model.TaskSucceeded, 1, map[string]string{"url": "https://x"}
	if err := s.SaveState(ctx, nil, again); err != nil {
		t.Fatal(err)
	}
	if tasks, _ = s.GetTasks(ctx, retry.ID); tasks[3].ContextSet["url"] != "https://x" || tasks[3].KeptFrom != 0 {
		t.Errorf("saved task read back: %+v", tasks[3])
	}
	runs, err := s.ListRuns(ctx, RunFilter{RetryOf: old.ID})
	if err != nil || len(runs) != 1 || runs[0].ID != retry.ID {
		t.Fatalf("retries of run %d: %v, %v", old.ID, runs, err)
	}
}

// taskText shows a task's state with its times in UTC, for comparing.
func taskText(t *model.TaskRun) string {
	c := *t
	c.StartedAt, c.FinishedAt = t.StartedAt.UTC(), t.FinishedAt.UTC()
	approval := "none"
	if a := t.Approval; a != nil {
		approval = fmt.Sprintf("%s %s by %s at %s: %s", a.Message, a.Decision, a.By, a.At.UTC(), a.Comment)
	}
	c.Approval = nil
	return fmt.Sprintf("%+v approval=%s", c, approval)
}
