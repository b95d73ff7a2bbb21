package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"baton/model"
)

// fillLines returns n lines of about 100 bytes each.
func fillLines(n int) []model.LogLine {
	lines := make([]model.LogLine, n)
	for i := range lines {
		lines[i] = model.LogLine{TaskID: "t", Stream: model.Stdout, Time: time.Now(), Text: fmt.Sprintf("%06d %s", i, strings.Repeat("x", 90))}
	}
	return lines
}

// TestFullDatabase: once the database cannot grow, writes fail with
// model.ErrStorageFull (SQLite's SQLITE_FULL), nothing of the refused
// transaction is kept, and writes succeed again once there is room.
func TestFullDatabase(t *testing.T) {
	s := NewTestStore(t)
	ctx := context.Background()
	id := newRun(t, s)
	pages, err := s.PageCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetMaxPageCount(ctx, pages); err != nil {
		t.Fatal(err)
	}
	err = s.AppendLogs(ctx, []model.LogBatch{{RunID: id, Lines: fillLines(20000)}})
	if !errors.Is(err, model.ErrStorageFull) {
		t.Fatalf("AppendLogs on a full database: err = %v, want ErrStorageFull", err)
	}
	if !strings.Contains(err.Error(), "disk that holds the database is full") {
		t.Fatalf("message = %q", err)
	}
	if n, _ := s.LogCount(ctx, id); n != 0 {
		t.Fatalf("%d lines stored by a refused transaction", n)
	}
	if err := s.CheckWritable(ctx); err != nil {
		// Rewriting one row needs no new page: the database still takes it.
		t.Fatalf("CheckWritable with no room to grow: %v", err)
	}
	if err := s.SetMaxPageCount(ctx, 1<<30); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendLogs(ctx, []model.LogBatch{{RunID: id, Lines: fillLines(20000)}}); err != nil {
		t.Fatalf("AppendLogs with room again: %v", err)
	}
}

// TestQuickCheck: a sound database passes; one with a page overwritten is
// reported damaged with SQLite's findings.
func TestQuickCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "baton.db")
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	id := newRun(t, s)
	for i := 0; i < 5; i++ {
		if err := s.AppendLogs(ctx, []model.LogBatch{{RunID: id, Lines: fillLines(5000)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.QuickCheck(ctx); err != nil {
		t.Fatalf("sound database: %v", err)
	}
	s.Close()
	damage(t, path)
	s, err = Open(ctx, path)
	if err != nil {
		if !errors.Is(err, ErrDamaged) {
			t.Fatalf("open a damaged database: %v, want ErrDamaged", err)
		}
		return
	}
	defer s.Close()
	err = s.QuickCheck(ctx)
	if !errors.Is(err, ErrDamaged) {
		t.Fatalf("QuickCheck of a damaged database = %v, want ErrDamaged", err)
	}
	t.Log(err)
}

// damage overwrites pages in the middle of a database file (not the
// first, which holds the schema) with garbage.
func damage(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	junk := []byte(strings.Repeat("\xde\xad\xbe\xef", 4096))
	if _, err := f.WriteAt(junk, st.Size()/2/4096*4096); err != nil {
		t.Fatal(err)
	}
}
