package storage

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"baton/model"
)

// TestEventDigests: a remembered digest makes the same request a duplicate
// (nothing stored, no run created), across a reopen of the database file;
// an expired digest does not, and is deleted when the next digest is
// stored.
func TestEventDigests(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "baton.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	first := &model.Event{Trigger: "gh", Kind: "github", Name: "push", DeliveryID: "a", Digest: "d1", DigestUntil: now.Add(time.Hour)}
	if err := s.RecordEvent(ctx, first, nil); err != nil {
		t.Fatal(err)
	}
	r := &model.Run{Composition: "build", Version: 1, Status: model.RunQueued, CreatedAt: now}
	again := &model.Event{Trigger: "gh", Kind: "github", Name: "push", DeliveryID: "b", Digest: "d1", DigestUntil: now.Add(time.Hour),
		Results: []model.RuleResult{{Rule: "build", Matched: true, Run: r}}}
	if err := s.RecordEvent(ctx, again, []model.NewRun{{Run: r}}); !errors.Is(err, ErrConflict) {
		t.Fatalf("the same digest with a new delivery id: %v, want ErrConflict", err)
	}
	if runs, _ := s.ListRuns(ctx, RunFilter{}); len(runs) != 0 {
		t.Fatalf("a duplicate created %d runs", len(runs))
	}

	// The digest survives closing and opening the database.
	s.Close()
	if s, err = Open(ctx, path); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tests := []struct {
		name, trigger, id, digest string
		want                      int64 // 0: not a duplicate
	}{
		{"same digest, new id", "gh", "new", "d1", first.ID},
		{"same digest, no id", "gh", "", "d1", first.ID},
		{"same id, no digest", "gh", "a", "", first.ID},
		{"new id and digest", "gh", "c", "d2", 0},
		{"no id, no digest", "gh", "", "", 0},
		{"another trigger", "gl", "a", "d1", 0},
	}
	for _, tt := range tests {
		got, err := s.FindDuplicate(ctx, tt.trigger, tt.id, tt.digest)
		switch {
		case tt.want == 0 && !errors.Is(err, ErrNotFound):
			t.Errorf("%s: event %d, %v; want ErrNotFound", tt.name, got, err)
		case tt.want != 0 && (err != nil || got != tt.want):
			t.Errorf("%s: event %d, %v; want %d", tt.name, got, err, tt.want)
		}
	}

	// An expired digest is no duplicate, and the next stored digest
	// deletes it.
	old := &model.Event{Trigger: "gh", Kind: "github", Name: "push", Digest: "d-old", DigestUntil: now.Add(-time.Second)}
	if err := s.RecordEvent(ctx, old, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FindDuplicate(ctx, "gh", "", "d-old"); !errors.Is(err, ErrNotFound) {
		t.Errorf("an expired digest is a duplicate: %v", err)
	}
	if err := s.RecordEvent(ctx, &model.Event{Trigger: "gh", Kind: "github", Name: "push", Digest: "d3", DigestUntil: now.Add(time.Hour)}, nil); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM webhook_digests WHERE digest = 'd-old'`).Scan(&left); err != nil || left != 0 {
		t.Errorf("expired digest rows left: %d, %v", left, err)
	}
	if err := s.RecordEvent(ctx, &model.Event{Trigger: "gh", Kind: "github", Name: "push", Digest: "d-old", DigestUntil: now.Add(time.Hour)}, nil); err != nil {
		t.Errorf("a request whose digest expired is refused: %v", err)
	}
}
