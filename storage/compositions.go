package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"baton/model"
)

// StaleError says a composition changed since the version an editor
// started from: someone else saved in between.
type StaleError struct {
	Name    string
	Base    int                      // the version the editor started from
	Current model.CompositionVersion // what is current now
}

func (e *StaleError) Error() string {
	switch {
	case e.Current.Version == 0:
		return fmt.Sprintf("composition %s was deleted while you edited it (you started from version %d); save it as new (base 0) to bring it back", e.Name, e.Base)
	case e.Base == 0:
		return fmt.Sprintf("a composition named %s already exists (version %d, saved by %s); choose another name, or edit that one", e.Name, e.Current.Version, e.Current.Author)
	}
	return fmt.Sprintf("composition %s changed while you edited it: version %d was saved by %s at %s (you started from version %d)",
		e.Name, e.Current.Version, e.Current.Author, e.Current.CreatedAt.Format("15:04:05"), e.Base)
}

// SaveCompositionIf stores source as the next version only if the current
// version is still base (0: the composition must not exist yet). Otherwise
// nothing is written and the error is a *StaleError: two people editing
// one composition never overwrite each other silently.
func (s *Store) SaveCompositionIf(ctx context.Context, name, source, author, message string, base int) (model.CompositionVersion, bool, error) {
	return s.saveComposition(ctx, name, source, author, message, &base)
}

// SaveComposition stores source as the next version of the named
// composition and makes it current. When source equals the current
// version's, nothing is written and the current version is returned with
// created false. Saving a deleted composition brings it back.
func (s *Store) SaveComposition(ctx context.Context, name, source, author, message string) (model.CompositionVersion, bool, error) {
	return s.saveComposition(ctx, name, source, author, message, nil)
}

// saveComposition checks the base version (when given) and writes, in one
// transaction.
func (s *Store) saveComposition(ctx context.Context, name, source, author, message string, base *int) (v model.CompositionVersion, created bool, err error) {
	var stale *StaleError
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var cur int
		var deleted bool
		err := tx.QueryRowContext(ctx, `SELECT version, deleted FROM composition_heads WHERE name = ?`, name).Scan(&cur, &deleted)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if base != nil {
			live := cur
			if deleted {
				live = 0
			}
			if live != *base {
				stale = &StaleError{Name: name, Base: *base}
				if live > 0 {
					stale.Current, _ = getVersion(ctx, tx, name, live)
				}
				return stale
			}
		}
		if cur > 0 && !deleted {
			var old string
			if err := tx.QueryRowContext(ctx, `SELECT source FROM composition_versions WHERE name = ? AND version = ?`, name, cur).Scan(&old); err != nil {
				return err
			}
			if old == source {
				v, err = getVersion(ctx, tx, name, cur)
				return err
			}
		}
		v = model.CompositionVersion{Name: name, Version: cur + 1, Source: source, Author: author, Message: message, CreatedAt: time.Now()}
		if _, err := tx.ExecContext(ctx, `INSERT INTO composition_versions (name, version, source, author, message, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			v.Name, v.Version, v.Source, v.Author, v.Message, micros(v.CreatedAt)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO composition_heads (name, version, deleted) VALUES (?, ?, 0)
			ON CONFLICT (name) DO UPDATE SET version = excluded.version, deleted = 0`, v.Name, v.Version); err != nil {
			return err
		}
		created = true
		return nil
	})
	if stale != nil {
		return model.CompositionVersion{}, false, stale
	}
	if err != nil {
		return v, false, fmt.Errorf("storage: save composition %s: %w", name, err)
	}
	return v, created, nil
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func getVersion(ctx context.Context, q queryer, name string, version int) (model.CompositionVersion, error) {
	v := model.CompositionVersion{Name: name, Version: version}
	var created int64
	err := q.QueryRowContext(ctx, `SELECT source, author, message, created_at FROM composition_versions WHERE name = ? AND version = ?`, name, version).
		Scan(&v.Source, &v.Author, &v.Message, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return v, ErrNotFound
	}
	v.CreatedAt = fromMicros(created)
	return v, err
}

// GetComposition returns the current version of a composition that is not deleted.
func (s *Store) GetComposition(ctx context.Context, name string) (model.CompositionVersion, error) {
	var version int
	err := s.r.QueryRowContext(ctx, `SELECT version FROM composition_heads WHERE name = ? AND deleted = 0`, name).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		return model.CompositionVersion{}, fmt.Errorf("storage: composition %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return model.CompositionVersion{}, fmt.Errorf("storage: composition %s: %w", name, err)
	}
	v, err := getVersion(ctx, s.r, name, version)
	if err != nil {
		return v, fmt.Errorf("storage: composition %s: %w", name, err)
	}
	return v, nil
}

// GetCompositionVersion returns one stored version, even of a deleted composition.
func (s *Store) GetCompositionVersion(ctx context.Context, name string, version int) (model.CompositionVersion, error) {
	v, err := getVersion(ctx, s.r, name, version)
	if err != nil {
		return v, fmt.Errorf("storage: composition %s version %d: %w", name, version, err)
	}
	return v, nil
}

// ListCompositions returns the current version of every composition that is
// not deleted, by name.
func (s *Store) ListCompositions(ctx context.Context) ([]model.CompositionVersion, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT v.name, v.version, v.source, v.author, v.message, v.created_at
		FROM composition_heads h JOIN composition_versions v ON v.name = h.name AND v.version = h.version
		WHERE h.deleted = 0 ORDER BY h.name`)
	if err != nil {
		return nil, fmt.Errorf("storage: list compositions: %w", err)
	}
	return scanVersions(rows)
}

// CompositionNames returns the names of the compositions that are not
// deleted, sorted: what a composition task may call now.
func (s *Store) CompositionNames(ctx context.Context) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name FROM composition_heads WHERE deleted = 0 ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("storage: list composition names: %w", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("storage: list composition names: %w", err)
		}
		names = append(names, name)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("storage: list composition names: %w", err)
	}
	return names, nil
}

// ListCompositionVersions returns every version of a composition, newest first.
func (s *Store) ListCompositionVersions(ctx context.Context, name string) ([]model.CompositionVersion, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, version, source, author, message, created_at
		FROM composition_versions WHERE name = ? ORDER BY version DESC`, name)
	if err != nil {
		return nil, fmt.Errorf("storage: list versions of %s: %w", name, err)
	}
	vs, err := scanVersions(rows)
	if err == nil && len(vs) == 0 {
		err = fmt.Errorf("storage: composition %s: %w", name, ErrNotFound)
	}
	return vs, err
}

func scanVersions(rows *sql.Rows) ([]model.CompositionVersion, error) {
	defer rows.Close()
	var out []model.CompositionVersion
	for rows.Next() {
		var v model.CompositionVersion
		var created int64
		if err := rows.Scan(&v.Name, &v.Version, &v.Source, &v.Author, &v.Message, &created); err != nil {
			return nil, err
		}
		v.CreatedAt = fromMicros(created)
		out = append(out, v)
	}
	return out, rows.Err()
}

// DeleteComposition marks a composition deleted. Its versions and runs stay,
// so history remains readable; saving it again continues its numbering.
func (s *Store) DeleteComposition(ctx context.Context, name string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE composition_heads SET deleted = 1 WHERE name = ? AND deleted = 0`, name)
		if err != nil {
			return fmt.Errorf("storage: delete composition %s: %w", name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("storage: composition %s: %w", name, ErrNotFound)
		}
		return nil
	})
}
