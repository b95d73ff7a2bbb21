// Package storage holds every SQL statement of Baton: the embedded,
// numbered migrations and the Store over one SQLite file. Nothing else in
// Baton writes SQL.
package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"baton/model"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// ErrNotFound is returned when the asked-for record does not exist. It is
// model.ErrNotFound, so packages that must not import storage can test for it.
var ErrNotFound = model.ErrNotFound

// ErrConflict is returned when a write would break a uniqueness rule or
// clash with a concurrent change. It is model.ErrConflict.
var ErrConflict = model.ErrConflict

// Store is Baton's database. Writes go through one connection, so SQLite
// never sees two writers fight over the lock; reads use a pool and see a
// consistent snapshot thanks to WAL.
type Store struct {
	w    *sql.DB // one connection: every write transaction
	r    *sql.DB // read-only pool
	cp   *sql.DB // one connection for WAL checkpoints
	path string
	stop chan struct{}
	done chan struct{}

	// Statements on the engine's hot path, prepared once.
	stmtUpdateRun  *sql.Stmt
	stmtUpdateTask *sql.Stmt
}

// Open opens (creating if needed) the SQLite database at path and brings
// its schema up to date.
func Open(ctx context.Context, path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("storage: create directory for %s: %w", path, err)
	}
	pragmas := "_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)"
	u := "file:" + (&url.URL{Path: path}).EscapedPath()
	// The writer never checkpoints: a checkpoint ends in an fsync of the
	// database file, which would stall whichever commit crossed the
	// threshold and every writer queued behind it. A connection of its own
	// checkpoints in the background instead (see checkpoints).
	w, err := sql.Open("sqlite", u+"?"+pragmas+"&_pragma=wal_autocheckpoint(0)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("storage: %s: %w", path, classify(err))
	}
	r, err := sql.Open("sqlite", u+"?"+pragmas+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("storage: open %s for reading: %w", path, err)
	}
	r.SetMaxOpenConns(max(4, runtime.NumCPU()))
	cp, err := sql.Open("sqlite", u+"?"+pragmas)
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("storage: open %s for checkpoints: %w", path, err)
	}
	cp.SetMaxOpenConns(1)
	s := &Store{w: w, r: r, cp: cp, path: path, stop: make(chan struct{}), done: make(chan struct{})}
	go s.checkpoints()
	if s.stmtUpdateRun, err = w.PrepareContext(ctx, updateRunSQL); err == nil {
		s.stmtUpdateTask, err = w.PrepareContext(ctx, updateTaskSQL)
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("storage: prepare statements: %w", err)
	}
	return s, nil
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Close folds the write-ahead log into the database file and closes the
// connection pools.
func (s *Store) Close() error {
	return s.close(true)
}

// Discard closes the store without folding the write-ahead log into the
// database file, for a database about to be deleted (baton run's
// temporary one): the copy and its fsync would be wasted.
func (s *Store) Discard() error {
	return s.close(false)
}

func (s *Store) close(checkpoint bool) error {
	close(s.stop)
	<-s.done
	for _, st := range []*sql.Stmt{s.stmtUpdateRun, s.stmtUpdateTask} {
		if st != nil {
			st.Close()
		}
	}
	if checkpoint {
		s.cp.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	}
	return errors.Join(s.cp.Close(), s.r.Close(), s.w.Close())
}

// checkpoints copies the write-ahead log into the database file every
// second, beside the writers (a PASSIVE checkpoint waits for nobody), so
// the log stays short and no commit pays for the copy.
func (s *Store) checkpoints() {
	defer close(s.done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.cp.Exec("PRAGMA wal_checkpoint(PASSIVE)")
		}
	}
}

// DB returns the write connection for libraries that need a *sql.DB of
// their own tables (the session store). Baton's own SQL stays in this package.
func (s *Store) DB() *sql.DB { return s.w }

// tx runs fn in one write transaction. A full disk or a damaged file
// comes back as model.ErrStorageFull or ErrDamaged (see classify).
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return classify(err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return classify(err)
	}
	return classify(tx.Commit())
}

// micros stores a time as Unix microseconds, 0 for the zero time.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// fromMicros is the inverse of micros.
func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v)
}

// toJSON encodes v for a TEXT column; nil maps become "{}".
func toJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	if string(b) == "null" {
		return "{}", nil
	}
	return string(b), nil
}

// fromJSON decodes a TEXT column written by toJSON.
func fromJSON(s string, v any) error {
	if s == "" {
		return nil
	}
	return json.Unmarshal([]byte(s), v)
}
