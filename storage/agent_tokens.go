package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"baton/model"
)

const agentTokenColumns = `id, name, prefix, created_at, last_used_at, name_pattern, pools, labels`

func scanAgentToken(sc scanner) (*model.AgentToken, error) {
	var t model.AgentToken
	var created, used int64
	var pools, labels string
	if err := sc.Scan(&t.ID, &t.Name, &t.Prefix, &created, &used, &t.NamePattern, &pools, &labels); err != nil {
		return nil, err
	}
	t.CreatedAt, t.LastUsedAt = fromMicros(created), fromMicros(used)
	if err := errors.Join(fromJSON(pools, &t.Pools), fromJSON(labels, &t.Labels)); err != nil {
		return nil, fmt.Errorf("decode agent token %d: %w", t.ID, err)
	}
	return &t, nil
}

// CreateAgentToken stores a new agent token: the hash of its secret, its
// name and display prefix, and the limits of what agents using it may
// claim. It fills in the token's id and creation time.
func (s *Store) CreateAgentToken(ctx context.Context, t *model.AgentToken, hash string) (*model.AgentToken, error) {
	out := *t
	out.CreatedAt = time.Now()
	pools := "[]"
	if len(t.Pools) > 0 {
		pools, _ = toJSON(t.Pools)
	}
	labels, err := toJSON(t.Labels)
	if err != nil {
		return nil, fmt.Errorf("storage: create agent token: %w", err)
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO agent_tokens (name, hash, prefix, created_at, name_pattern, pools, labels) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			t.Name, hash, t.Prefix, micros(out.CreatedAt), t.NamePattern, pools, labels)
		if err != nil {
			return err
		}
		out.ID, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("storage: create agent token: %w", err)
	}
	return &out, nil
}

// AgentTokenByHash finds an agent token and records its use (at most once a minute).
func (s *Store) AgentTokenByHash(ctx context.Context, hash string) (*model.AgentToken, error) {
	t, err := scanAgentToken(s.r.QueryRowContext(ctx, `SELECT `+agentTokenColumns+` FROM agent_tokens WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("storage: agent token: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("storage: agent token: %w", err)
	}
	if now := time.Now(); now.Sub(t.LastUsedAt) > time.Minute {
		t.LastUsedAt = now
		s.tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE agent_tokens SET last_used_at = ? WHERE id = ?`, micros(now), t.ID)
			return err
		})
	}
	return t, nil
}

// ListAgentTokens returns every agent token, newest first.
func (s *Store) ListAgentTokens(ctx context.Context) ([]*model.AgentToken, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+agentTokenColumns+` FROM agent_tokens ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("storage: list agent tokens: %w", err)
	}
	defer rows.Close()
	var out []*model.AgentToken
	for rows.Next() {
		t, err := scanAgentToken(rows)
		if err != nil {
			return nil, fmt.Errorf("storage: list agent tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// AgentTokenIDs returns the ids of the agent tokens that exist: a token
// revoked by another process (the command line) is missing from it.
func (s *Store) AgentTokenIDs(ctx context.Context) (map[int64]bool, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id FROM agent_tokens`)
	if err != nil {
		return nil, fmt.Errorf("storage: agent token ids: %w", err)
	}
	defer rows.Close()
	out := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("storage: agent token ids: %w", err)
		}
		out[id] = true
	}
	return out, rows.Err()
}

// DeleteAgentToken revokes an agent token. The server closes the
// connections of agents that use it (see engine.Hub); agents registered
// with it keep their credentials and may connect again with another token
// that allows them.
func (s *Store) DeleteAgentToken(ctx context.Context, id int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM agent_tokens WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("storage: revoke agent token %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("storage: agent token %d: %w", id, ErrNotFound)
		}
		return nil
	})
}
