package storage

import (
	"context"
	"path/filepath"
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
