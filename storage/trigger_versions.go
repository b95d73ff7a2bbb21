package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"baton/model"
)

// TriggerStaleError says a trigger changed since the version an editor
// started from: someone else saved (or deleted it) in between.
type TriggerStaleError struct {
	Name    string
	Base    int                  // the version the editor started from
	Current model.TriggerVersion // what is current now; Version 0 when deleted
}

func (e *TriggerStaleError) Error() string {
	switch {
	case e.Current.Version == 0:
		return fmt.Sprintf("trigger %s was deleted while you edited it (you started from version %d); save it as new (base 0) to bring it back", e.Name, e.Base)
	case e.Base == 0:
		return fmt.Sprintf("a trigger named %s already exists (version %d, saved by %s); choose another name, or edit that one", e.Name, e.Current.Version, e.Current.Author)
	}
	return fmt.Sprintf("trigger %s changed while you edited it: version %d was saved by %s at %s (you started from version %d)",
		e.Name, e.Current.Version, e.Current.Author, e.Current.CreatedAt.Format("15:04:05"), e.Base)
}

// SaveTrigger stores source as the next version of the named trigger and
// makes it current. When source equals the current version's, nothing is
// written and the current version is returned with created false. Saving
// a deleted trigger brings it back, numbered after its last version.
func (s *Store) SaveTrigger(ctx context.Context, name, source, author, message string) (model.TriggerVersion, bool, error) {
	return s.saveTrigger(ctx, name, source, author, message, nil)
}

// SaveTriggerIf is SaveTrigger only if the current version is still base
// (0: the trigger must not exist). Otherwise nothing is written and the
// error is a *TriggerStaleError.
func (s *Store) SaveTriggerIf(ctx context.Context, name, source, author, message string, base int) (model.TriggerVersion, bool, error) {
	return s.saveTrigger(ctx, name, source, author, message, &base)
}

// saveTrigger checks the base version (when given) and writes the version
// and the trigger's current row in one transaction.
func (s *Store) saveTrigger(ctx context.Context, name, source, author, message string, base *int) (v model.TriggerVersion, created bool, err error) {
	var stale *TriggerStaleError
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var live int
		err := tx.QueryRowContext(ctx, `SELECT version FROM triggers WHERE name = ?`, name).Scan(&live)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if base != nil && live != *base {
			stale = &TriggerStaleError{Name: name, Base: *base}
			if live > 0 {
				stale.Current, _ = getTriggerVersion(ctx, tx, name, live)
			}
			return stale
		}
		if live > 0 {
			cur, err := getTriggerVersion(ctx, tx, name, live)
			if err != nil {
				return err
			}
			if cur.Source == source {
				v = cur
				return nil
			}
		}
		var last int
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM trigger_versions WHERE name = ?`, name).Scan(&last); err != nil {
			return err
		}
		v = model.TriggerVersion{Name: name, Version: last + 1, Source: source, Author: author, Message: message, CreatedAt: time.Now()}
		if _, err := tx.ExecContext(ctx, `INSERT INTO trigger_versions (name, version, source, author, message, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			v.Name, v.Version, v.Source, v.Author, v.Message, micros(v.CreatedAt)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO triggers (name, source, updated_by, updated_at, version) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET source = excluded.source, updated_by = excluded.updated_by,
				updated_at = excluded.updated_at, version = excluded.version`,
			v.Name, v.Source, v.Author, micros(v.CreatedAt), v.Version); err != nil {
			return err
		}
		created = true
		return nil
	})
	if stale != nil {
		return model.TriggerVersion{}, false, stale
	}
	if err != nil {
		return model.TriggerVersion{}, false, fmt.Errorf("storage: save trigger %s: %w", name, err)
	}
	return v, created, nil
}

func getTriggerVersion(ctx context.Context, q queryer, name string, version int) (model.TriggerVersion, error) {
	v := model.TriggerVersion{Name: name, Version: version}
	var created int64
	err := q.QueryRowContext(ctx, `SELECT source, author, message, created_at FROM trigger_versions WHERE name = ? AND version = ?`, name, version).
		Scan(&v.Source, &v.Author, &v.Message, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return v, ErrNotFound
	}
	v.CreatedAt = fromMicros(created)
	return v, err
}

// GetTrigger returns the current version of a trigger that is not deleted.
func (s *Store) GetTrigger(ctx context.Context, name string) (model.TriggerVersion, error) {
	var version int
	err := s.r.QueryRowContext(ctx, `SELECT version FROM triggers WHERE name = ?`, name).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		return model.TriggerVersion{}, fmt.Errorf("storage: trigger %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return model.TriggerVersion{}, fmt.Errorf("storage: trigger %s: %w", name, err)
	}
	v, err := getTriggerVersion(ctx, s.r, name, version)
	if err != nil {
		return v, fmt.Errorf("storage: trigger %s: %w", name, err)
	}
	return v, nil
}

// GetTriggerVersion returns one stored version, even of a deleted trigger.
func (s *Store) GetTriggerVersion(ctx context.Context, name string, version int) (model.TriggerVersion, error) {
	v, err := getTriggerVersion(ctx, s.r, name, version)
	if err != nil {
		return v, fmt.Errorf("storage: trigger %s version %d: %w", name, version, err)
	}
	return v, nil
}

// ListTriggerVersions returns every version of a trigger, newest first;
// ErrNotFound when it never had one.
func (s *Store) ListTriggerVersions(ctx context.Context, name string) ([]model.TriggerVersion, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT version, source, author, message, created_at
		FROM trigger_versions WHERE name = ? ORDER BY version DESC`, name)
	if err != nil {
		return nil, fmt.Errorf("storage: versions of trigger %s: %w", name, err)
	}
	defer rows.Close()
	var out []model.TriggerVersion
	for rows.Next() {
		v := model.TriggerVersion{Name: name}
		var created int64
		if err := rows.Scan(&v.Version, &v.Source, &v.Author, &v.Message, &created); err != nil {
			return nil, fmt.Errorf("storage: versions of trigger %s: %w", name, err)
		}
		v.CreatedAt = fromMicros(created)
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: versions of trigger %s: %w", name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("storage: trigger %s: %w", name, ErrNotFound)
	}
	return out, nil
}

// ListTriggers returns the current version of every trigger, by name.
func (s *Store) ListTriggers(ctx context.Context) ([]model.TriggerSource, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, source, updated_by, updated_at, version FROM triggers ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("storage: list triggers: %w", err)
	}
	defer rows.Close()
	var out []model.TriggerSource
	for rows.Next() {
		var t model.TriggerSource
		var at int64
		if err := rows.Scan(&t.Name, &t.Source, &t.UpdatedBy, &at, &t.Version); err != nil {
			return nil, fmt.Errorf("storage: list triggers: %w", err)
		}
		t.UpdatedAt = fromMicros(at)
		out = append(out, t)
	}
	return out, rows.Err()
}

// DeleteTrigger removes a trigger from the current set; its versions and
// events stay.
func (s *Store) DeleteTrigger(ctx context.Context, name string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM triggers WHERE name = ?`, name)
		if err != nil {
			return fmt.Errorf("storage: delete trigger %s: %w", name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("storage: trigger %s: %w", name, ErrNotFound)
		}
		return nil
	})
}
