package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"baton/model"
)

// ErrDamaged says the database file is damaged: SQLite reports it
// malformed, or it is not a database at all.
var ErrDamaged = errors.New("the database file is damaged")

// classify turns the SQLite result codes a person can act on into Baton's
// errors, keeping SQLite's own words: a full disk is model.ErrStorageFull,
// a damaged file ErrDamaged.
func classify(err error) error {
	var se *sqlite.Error
	if err == nil || !errors.As(err, &se) {
		return err
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_FULL:
		return fmt.Errorf("%w: free space where the data directory is (SQLite: %v)", model.ErrStorageFull, err)
	case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
		return fmt.Errorf("%w (SQLite: %v)", ErrDamaged, err)
	}
	return err
}

// quickCheckBudget bounds the integrity check at start: a database too
// large to check in that time is served unchecked, with a warning.
const quickCheckBudget = time.Minute

// ErrCheckTooLong says the integrity check did not finish within its budget.
var ErrCheckTooLong = errors.New("the integrity check did not finish in " + quickCheckBudget.String())

// QuickCheck runs SQLite's quick_check over the whole database, within a
// time budget. It returns nil for a sound database, an error wrapping
// ErrDamaged with SQLite's first findings for a damaged one, and
// ErrCheckTooLong when the budget ran out first.
func (s *Store) QuickCheck(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, quickCheckBudget)
	defer cancel()
	rows, err := s.r.QueryContext(ctx, `PRAGMA quick_check(5)`)
	if err != nil {
		return s.checkFailed(ctx, err)
	}
	defer rows.Close()
	var found []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return s.checkFailed(ctx, err)
		}
		if line != "ok" {
			found = append(found, strings.Join(strings.Fields(line), " "))
		}
	}
	if err := rows.Err(); err != nil {
		return s.checkFailed(ctx, err)
	}
	if len(found) > 0 {
		return fmt.Errorf("storage: %s: %w: %s", s.path, ErrDamaged, strings.Join(found, "; "))
	}
	return nil
}

func (s *Store) checkFailed(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("storage: %s: %w", s.path, ErrCheckTooLong)
	}
	return fmt.Errorf("storage: %s: integrity check: %w", s.path, classify(err))
}

// CheckWritable rewrites a row of its own to prove that the database
// takes writes now (a full disk, a read-only file or a lock held elsewhere
// all fail it).
func (s *Store) CheckWritable(ctx context.Context) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE probe SET checked_at = ? WHERE id = 1`, time.Now().UnixMicro())
		return err
	})
	if err != nil {
		return fmt.Errorf("storage: the database does not take writes: %w", err)
	}
	return nil
}
