package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"baton/model"
)

// TestTriggerVersions: every save of a changed source is a version with
// its author and message; an unchanged source writes nothing; a save from
// a base that is no longer current writes nothing and says what is; a
// deleted trigger keeps its versions and numbers on when saved again.
func TestTriggerVersions(t *testing.T) {
	ctx := context.Background()
	s := NewTestStore(t)
	const one, two = "name: gh\n# one\n", "name: gh\n# two\n"

	v, created, err := s.SaveTrigger(ctx, "gh", one, "file", "loaded from gh.yaml")
	if err != nil || !created || v.Version != 1 {
		t.Fatalf("first save: %+v %v %v", v, created, err)
	}
	if v, created, err = s.SaveTrigger(ctx, "gh", one, "alice", "again"); err != nil || created || v.Version != 1 || v.Author != "file" {
		t.Fatalf("an unchanged source wrote a version: %+v %v %v", v, created, err)
	}
	if v, created, err = s.SaveTriggerIf(ctx, "gh", two, "alice", "second", 1); err != nil || !created || v.Version != 2 {
		t.Fatalf("save from the current base: %+v %v %v", v, created, err)
	}

	stales := []struct {
		name    string
		base    int
		current int
		says    string
	}{
		{"an old base", 1, 2, "changed while you edited it: version 2 was saved by alice"},
		{"a new trigger whose name is taken", 0, 2, "a trigger named gh already exists (version 2, saved by alice)"},
		{"a base from the future", 7, 2, "you started from version 7"},
	}
	for _, c := range stales {
		_, _, err := s.SaveTriggerIf(ctx, "gh", "name: gh\n# bob\n", "bob", "", c.base)
		var stale *TriggerStaleError
		if !errors.As(err, &stale) || stale.Current.Version != c.current || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v, want a stale error with version %d saying %q", c.name, err, c.current, c.says)
		}
	}
	vs, err := s.ListTriggerVersions(ctx, "gh")
	if err != nil || len(vs) != 2 || vs[0].Version != 2 || vs[0].Message != "second" || vs[1].Author != "file" {
		t.Fatalf("versions after refused saves: %+v %v", vs, err)
	}

	if err := s.DeleteTrigger(ctx, "gh"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetTrigger(ctx, "gh"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a deleted trigger: %v", err)
	}
	if old, err := s.GetTriggerVersion(ctx, "gh", 1); err != nil || old.Source != one {
		t.Fatalf("a deleted trigger's version 1: %+v %v", old, err)
	}
	var stale *TriggerStaleError
	if _, _, err := s.SaveTriggerIf(ctx, "gh", two, "bob", "", 2); !errors.As(err, &stale) || !strings.Contains(err.Error(), "was deleted while you edited it") {
		t.Fatalf("saving a deleted trigger from its old version: %v", err)
	}
	if v, created, err = s.SaveTriggerIf(ctx, "gh", two, "bob", "back", 0); err != nil || !created || v.Version != 3 {
		t.Fatalf("saving a deleted trigger again: %+v %v %v", v, created, err)
	}
	if cur, err := s.GetTrigger(ctx, "gh"); err != nil || cur.Version != 3 || cur.Author != "bob" {
		t.Fatalf("current after coming back: %+v %v", cur, err)
	}
	ts, err := s.ListTriggers(ctx)
	if err != nil || len(ts) != 1 || ts[0].Version != 3 || ts[0].UpdatedBy != "bob" {
		t.Fatalf("ListTriggers: %+v %v", ts, err)
	}
	if _, err := s.ListTriggerVersions(ctx, "never"); !errors.Is(err, ErrNotFound) {
		t.Errorf("versions of a trigger that never was: %v", err)
	}
}

// TestTestEventsAreMarked: an event's TestBy is stored and read back; real
// events have none.
func TestTestEventsAreMarked(t *testing.T) {
	ctx := context.Background()
	s := NewTestStore(t)
	for _, by := range []string{"alice", ""} {
		ev := &model.Event{Trigger: "gh", Kind: "github", Name: "push", TestBy: by}
		if err := s.RecordEvent(ctx, ev, nil); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetEvent(ctx, ev.ID)
		if err != nil || got.TestBy != by {
			t.Errorf("event %d: TestBy %q (%v), want %q", ev.ID, got.TestBy, err, by)
		}
	}
}

// TestUpgradeKeepsTriggers builds a database as the version before trigger
// versions left it, with a stored trigger, and opens it with this version:
// the trigger is its version 1, by whoever had saved it.
func TestUpgradeKeepsTriggers(t *testing.T) {
	all, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	versions := 0
	for _, m := range all {
		if strings.HasSuffix(m.name, "_trigger_versions.sql") {
			versions = m.version
		}
	}
	if versions == 0 {
		t.Fatal("no trigger_versions migration")
	}
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range all[:versions-1] {
		if _, err := db.Exec(m.sql); err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
	}
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	if _, err := db.Exec(fmt.Sprintf(`PRAGMA user_version = %d; INSERT INTO triggers (name, source, updated_by, updated_at) VALUES ('gh', 'name: gh', 'file', ?)`, versions-1),
		at.UnixMicro()); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	v, err := s.GetTrigger(context.Background(), "gh")
	if err != nil || v.Version != 1 || v.Author != "file" || v.Source != "name: gh" || !v.CreatedAt.Equal(at) {
		t.Fatalf("the trigger from before the upgrade: %+v %v", v, err)
	}
	if v, created, err := s.SaveTriggerIf(context.Background(), "gh", "name: gh\n", "alice", "", 1); err != nil || !created || v.Version != 2 {
		t.Fatalf("saving it after the upgrade: %+v %v %v", v, created, err)
	}
}
