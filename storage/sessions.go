package storage

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Sessions stores web sessions for github.com/alexedwards/scs (it
// satisfies scs.Store and scs.CtxStore): reads use the read pool, writes the
// write connection.
//
// Tokens are kept as SHA-256 hashes: the store hashes every token it is
// given, so a copy of the database holds no usable session. Each session
// row names its user (found by the owner function from the session's
// data), which lets SetPassword and DeleteUser end a user's sessions. An ended session stays as an empty row marked ended until its
// expiry, and Commit never revives it, so a request of that session still
// in flight cannot undo the end when it saves. Expired sessions are never
// returned and are removed by DeleteExpiredSessions.
type Sessions struct {
	s     *Store
	owner func(data []byte) int64
}

// Sessions returns the session store over this database. owner reads the
// id of the logged-in user from a session's encoded data, 0 for a session
// of nobody (before login); it must not fail on data it does not know.
func (s *Store) Sessions(owner func(data []byte) int64) *Sessions {
	return &Sessions{s: s, owner: owner}
}

// hashSession is the stored form of a session token. Tokens are 256 random
// bits, so a fast hash is enough: there is nothing to guess.
func hashSession(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// FindCtx returns a session's data; found is false for an unknown,
// expired or ended token.
func (ss *Sessions) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	var data []byte
	err := ss.s.r.QueryRowContext(ctx, `SELECT data FROM sessions WHERE token_hash = ? AND ended = 0 AND expiry > ?`,
		hashSession(token), time.Now().Unix()).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("storage: find session: %w", err)
	}
	return data, true, nil
}

// CommitCtx stores a session. It does nothing for a session that was
// ended, or for one whose user no longer exists: the next request of that
// session finds no session.
func (ss *Sessions) CommitCtx(ctx context.Context, token string, data []byte, expiry time.Time) error {
	var owner sql.NullInt64
	if ss.owner != nil {
		if id := ss.owner(data); id != 0 {
			owner = sql.NullInt64{Int64: id, Valid: true}
		}
	}
	err := ss.s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (token_hash, user_id, data, expiry)
			SELECT ?1, ?2, ?3, ?4 WHERE ?2 IS NULL OR EXISTS (SELECT 1 FROM users WHERE id = ?2)
			ON CONFLICT (token_hash) DO UPDATE SET user_id = excluded.user_id, data = excluded.data, expiry = excluded.expiry
			WHERE ended = 0`, hashSession(token), owner, data, expiry.Unix())
		return err
	})
	if err != nil {
		return fmt.Errorf("storage: save session: %w", err)
	}
	return nil
}

// endSQL ends sessions: their data goes, their hash stays until expiry.
const endSQL = `UPDATE sessions SET ended = 1, data = x'', user_id = NULL`

// DeleteCtx ends a session (logout, or a login that replaced its token).
func (ss *Sessions) DeleteCtx(ctx context.Context, token string) error {
	err := ss.s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, endSQL+` WHERE token_hash = ?`, hashSession(token))
		return err
	})
	if err != nil {
		return fmt.Errorf("storage: end session: %w", err)
	}
	return nil
}

// Find, Commit and Delete satisfy scs.Store for callers without a context.
func (ss *Sessions) Find(token string) ([]byte, bool, error) {
	return ss.FindCtx(context.Background(), token)
}

// Commit stores a session.
func (ss *Sessions) Commit(token string, data []byte, expiry time.Time) error {
	return ss.CommitCtx(context.Background(), token, data, expiry)
}

// Delete ends a session.
func (ss *Sessions) Delete(token string) error {
	return ss.DeleteCtx(context.Background(), token)
}

// endUserSessions ends every live session of a user inside tx and says
// how many there were.
func endUserSessions(ctx context.Context, tx *sql.Tx, userID int64) (int, error) {
	res, err := tx.ExecContext(ctx, endSQL+` WHERE user_id = ? AND ended = 0`, userID)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// DeleteExpiredSessions removes sessions past their expiry, ended or not.
func (s *Store) DeleteExpiredSessions(ctx context.Context) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expiry <= ?`, time.Now().Unix())
		return err
	})
	if err != nil {
		return fmt.Errorf("storage: remove expired sessions: %w", err)
	}
	return nil
}
