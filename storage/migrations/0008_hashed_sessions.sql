-- Web sessions, second form. The table keeps the SHA-256 of each session
-- token, never the token itself, so a copy of the database file logs no one
-- in. Each session names the user it belongs to, so that a password change
-- or a removal ends that user's sessions with one statement (also from the
-- command line while the server runs). A session that was ended stays as a
-- row with ended = 1 and no data until its expiry: a request of that session
-- still in flight cannot bring it back when it saves the session.
--
-- The sessions of the first form held their tokens in the clear; they are
-- dropped, so everyone logs in once more after the upgrade.
DROP TABLE sessions;
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    data       BLOB    NOT NULL,
    expiry     INTEGER NOT NULL,
    ended      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sessions_by_expiry ON sessions (expiry);
CREATE INDEX sessions_by_user ON sessions (user_id);
