package storage

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
)

// NewTestStore returns a migrated store over a fresh SQLite file in a
// temporary directory, closed when the test ends.
func NewTestStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "baton.db"))
	if err != nil {
		t.Fatalf("open test store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// SetMaxPageCount caps how many pages the database may grow to (SQLite's
// max_page_count, on the write connection): writes past it fail as on a
// full disk. Tests use it to fill the database without filling a disk;
// the cap cannot go below the pages already used.
func (s *Store) SetMaxPageCount(ctx context.Context, pages int64) error {
	_, err := s.w.ExecContext(ctx, "PRAGMA max_page_count = "+strconv.FormatInt(pages, 10))
	return err
}

// PageCount is how many pages the database uses now.
func (s *Store) PageCount(ctx context.Context) (int64, error) {
	var n int64
	err := s.w.QueryRowContext(ctx, "PRAGMA page_count").Scan(&n)
	return n, err
}
