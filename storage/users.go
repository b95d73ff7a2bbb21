package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"baton/model"
)

// CreateUser stores a new user; a name already taken is ErrConflict.
func (s *Store) CreateUser(ctx context.Context, name, passwordHash string) (*model.User, error) {
	u := &model.User{Name: name, PasswordHash: passwordHash, CreatedAt: time.Now()}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO users (name, password_hash, created_at) VALUES (?, ?, ?)`, name, passwordHash, micros(u.CreatedAt))
		if err != nil {
			if strings.Contains(err.Error(), "UNIQUE") {
				return fmt.Errorf("user %s already exists: %w", name, ErrConflict)
			}
			return err
		}
		u.ID, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("storage: create user: %w", err)
	}
	return u, nil
}

const userColumns = `id, name, password_hash, created_at`

func scanUser(sc scanner) (*model.User, error) {
	var u model.User
	var created int64
	if err := sc.Scan(&u.ID, &u.Name, &u.PasswordHash, &created); err != nil {
		return nil, err
	}
	u.CreatedAt = fromMicros(created)
	return &u, nil
}

// GetUser returns a user by name.
func (s *Store) GetUser(ctx context.Context, name string) (*model.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("storage: user %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("storage: user %s: %w", name, err)
	}
	return u, nil
}

// GetUserByID returns a user by id.
func (s *Store) GetUserByID(ctx context.Context, id int64) (*model.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("storage: user %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("storage: user %d: %w", id, err)
	}
	return u, nil
}

// ListUsers returns every user by name.
func (s *Store) ListUsers(ctx context.Context) ([]*model.User, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("storage: list users: %w", err)
	}
	defer rows.Close()
	var out []*model.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("storage: list users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// CountUsers returns how many users exist.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("storage: count users: %w", err)
	}
	return n, nil
}

// SetPassword replaces a user's password hash and ends every session of
// the user in the same transaction; it says how many sessions it ended.
// API tokens stay valid.
func (s *Store) SetPassword(ctx context.Context, name, passwordHash string) (int, error) {
	var ended int
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `UPDATE users SET password_hash = ? WHERE name = ? RETURNING id`, passwordHash, name).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("storage: user %s: %w", name, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("storage: set password of %s: %w", name, err)
		}
		if ended, err = endUserSessions(ctx, tx, id); err != nil {
			return fmt.Errorf("storage: set password of %s: end sessions: %w", name, err)
		}
		return nil
	})
	return ended, err
}

// DeleteUser removes a user with their API tokens, and ends their
// sessions in the same transaction (a user added later may get the same
// id; no session of the removed one may carry over).
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE name = ?`, name).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("storage: user %s: %w", name, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("storage: delete user %s: %w", name, err)
		}
		if _, err := endUserSessions(ctx, tx, id); err != nil {
			return fmt.Errorf("storage: delete user %s: end sessions: %w", name, err)
		}
		// api_tokens go with the user (ON DELETE CASCADE).
		if _, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id); err != nil {
			return fmt.Errorf("storage: delete user %s: %w", name, err)
		}
		return nil
	})
}

// CreateAPIToken stores a token's hash for a user.
func (s *Store) CreateAPIToken(ctx context.Context, userID int64, name, hash, prefix string) (*model.APIToken, error) {
	t := &model.APIToken{UserID: userID, Name: name, Prefix: prefix, CreatedAt: time.Now()}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO api_tokens (user_id, name, hash, prefix, created_at) VALUES (?, ?, ?, ?, ?)`,
			userID, name, hash, prefix, micros(t.CreatedAt))
		if err != nil {
			return err
		}
		t.ID, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("storage: create token: %w", err)
	}
	return t, nil
}

// UserByTokenHash finds the user owning a token and records its use. The
// last-used time is written at most once a minute per token.
func (s *Store) UserByTokenHash(ctx context.Context, hash string) (*model.User, *model.APIToken, error) {
	var t model.APIToken
	var created, used int64
	u := &model.User{}
	var ucreated int64
	err := s.r.QueryRowContext(ctx, `SELECT t.id, t.name, t.prefix, t.created_at, t.last_used_at, u.id, u.name, u.password_hash, u.created_at
		FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ?`, hash).
		Scan(&t.ID, &t.Name, &t.Prefix, &created, &used, &u.ID, &u.Name, &u.PasswordHash, &ucreated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, fmt.Errorf("storage: token: %w", ErrNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("storage: token: %w", err)
	}
	t.UserID, t.UserName, t.CreatedAt, t.LastUsedAt = u.ID, u.Name, fromMicros(created), fromMicros(used)
	u.CreatedAt = fromMicros(ucreated)
	if now := time.Now(); now.Sub(t.LastUsedAt) > time.Minute {
		t.LastUsedAt = now
		s.tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, micros(now), t.ID)
			return err
		})
	}
	return u, &t, nil
}

// ListAPITokens returns a user's tokens (every user's when userID is 0), newest first.
func (s *Store) ListAPITokens(ctx context.Context, userID int64) ([]*model.APIToken, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT t.id, t.user_id, u.name, t.name, t.prefix, t.created_at, t.last_used_at
		FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE ? = 0 OR t.user_id = ? ORDER BY t.id DESC`, userID, userID)
	if err != nil {
		return nil, fmt.Errorf("storage: list tokens: %w", err)
	}
	defer rows.Close()
	var out []*model.APIToken
	for rows.Next() {
		var t model.APIToken
		var created, used int64
		if err := rows.Scan(&t.ID, &t.UserID, &t.UserName, &t.Name, &t.Prefix, &created, &used); err != nil {
			return nil, fmt.Errorf("storage: list tokens: %w", err)
		}
		t.CreatedAt, t.LastUsedAt = fromMicros(created), fromMicros(used)
		out = append(out, &t)
	}
	return out, rows.Err()
}

// DeleteAPIToken revokes a token; with userID not 0 only that user's.
func (s *Store) DeleteAPIToken(ctx context.Context, userID, tokenID int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM api_tokens WHERE id = ? AND (? = 0 OR user_id = ?)`, tokenID, userID, userID)
		if err != nil {
			return fmt.Errorf("storage: revoke token %d: %w", tokenID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("storage: token %d: %w", tokenID, ErrNotFound)
		}
		return nil
	})
}
