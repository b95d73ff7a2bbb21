package storage

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"baton/model"
)

// ClaimAgent checks the credential an agent presents for its name, given
// as its hash, and records the token it connected with. A credential an
// operator reset is ClaimRevoked; a name no credential holds (new, or
// reset) is taken by this one, ClaimRegistered; the credential holding the
// name is ClaimProven; any other is ClaimMismatch. The check and the claim
// are one transaction, so two agents claiming a free name at once cannot
// both win.
//
// Before a name that has a record is registered or proven, allow (when not
// nil) is given the pools and labels an operator set on the record, which
// the agent takes on with the name; an error from it refuses the agent:
// nothing is written and ClaimAgent returns that error, wrapped.
func (s *Store) ClaimAgent(ctx context.Context, name, credentialHash string, tokenID int64, now time.Time,
	allow func(setPools []string, setLabels map[string]string) error) (model.AgentClaim, error) {
	var claim model.AgentClaim
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var revoked int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM agent_revoked_credentials WHERE hash = ?`, credentialHash).Scan(&revoked); err != nil {
			return err
		}
		if revoked > 0 {
			claim = model.ClaimRevoked
			return nil
		}
		var held, setPools, setLabels string
		err := tx.QueryRowContext(ctx, `SELECT credential_hash, set_pools, set_labels FROM agents WHERE name = ?`, name).Scan(&held, &setPools, &setLabels)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			claim = model.ClaimRegistered
			_, err = tx.ExecContext(ctx, `INSERT INTO agents (name, credential_hash, token_id, registered_at, last_seen) VALUES (?, ?, ?, ?, ?)`,
				name, credentialHash, tokenID, micros(now), micros(now))
			return err
		case err != nil:
			return err
		}
		proven := held != "" && subtle.ConstantTimeCompare([]byte(held), []byte(credentialHash)) == 1
		if (held == "" || proven) && allow != nil {
			var pools []string
			var labels map[string]string
			if err := errors.Join(fromJSON(setPools, &pools), fromJSON(setLabels, &labels)); err != nil {
				return fmt.Errorf("decode the operator's pools and labels: %w", err)
			}
			if err := allow(pools, labels); err != nil {
				return err
			}
		}
		switch {
		case held == "":
			claim = model.ClaimRegistered
			_, err = tx.ExecContext(ctx, `UPDATE agents SET credential_hash = ?, token_id = ?, registered_at = ? WHERE name = ?`,
				credentialHash, tokenID, micros(now), name)
			return err
		case proven:
			claim = model.ClaimProven
			_, err = tx.ExecContext(ctx, `UPDATE agents SET token_id = ? WHERE name = ?`, tokenID, name)
			return err
		default:
			claim = model.ClaimMismatch
			return nil
		}
	})
	if err != nil {
		return 0, fmt.Errorf("storage: agent %s: check its credential: %w", name, err)
	}
	return claim, nil
}

// ResetAgentCredential revokes the credential that holds an agent's name,
// for good, and frees the name for the next agent allowed to use it.
// Resetting an agent without a credential changes nothing.
func (s *Store) ResetAgentCredential(ctx context.Context, name string, now time.Time) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var held string
		err := tx.QueryRowContext(ctx, `SELECT credential_hash FROM agents WHERE name = ?`, name).Scan(&held)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("agent %s: %w", name, ErrNotFound)
		}
		if err != nil || held == "" {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO agent_revoked_credentials (hash, agent, revoked_at) VALUES (?, ?, ?) ON CONFLICT (hash) DO NOTHING`,
			held, name, micros(now)); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE agents SET credential_hash = '', registered_at = 0 WHERE name = ?`, name)
		return err
	})
	if err != nil {
		return fmt.Errorf("storage: reset the credential of agent %s: %w", name, err)
	}
	return nil
}

// DeleteAgent removes an agent's record, and the records of jobs it was
// given, so that its name is free again. A credential reset before stays
// revoked.
func (s *Store) DeleteAgent(ctx context.Context, name string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM agents WHERE name = ?`, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("agent %s: %w", name, ErrNotFound)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM agent_jobs WHERE agent = ?`, name)
		return err
	})
	if err != nil {
		return fmt.Errorf("storage: remove agent %s: %w", name, err)
	}
	return nil
}

// StaleAgents returns the names of agents whose last recorded sign of life
// is older than before. The record is written at most once a minute while
// an agent is connected, so the caller must skip agents connected now.
func (s *Store) StaleAgents(ctx context.Context, before time.Time) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name FROM agents WHERE max(last_seen, connected_at, registered_at) < ? ORDER BY name`, micros(before))
	if err != nil {
		return nil, fmt.Errorf("storage: stale agents: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("storage: stale agents: %w", err)
		}
		out = append(out, name)
	}
	return out, rows.Err()
}
