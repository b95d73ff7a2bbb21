-- Agent identity: an agent proves its name with a credential of its own,
-- made at its first hello and kept in its workdir; the server keeps only
-- its SHA-256. An empty credential_hash means the name is not claimed yet
-- (agents recorded before credentials existed, or after an operator reset
-- it): the next agent allowed to use the name claims it.
ALTER TABLE agents ADD COLUMN credential_hash TEXT NOT NULL DEFAULT '';
-- The agent token the agent last connected with (0: none known).
ALTER TABLE agents ADD COLUMN token_id INTEGER NOT NULL DEFAULT 0;
-- When the name was claimed with the current credential.
ALTER TABLE agents ADD COLUMN registered_at INTEGER NOT NULL DEFAULT 0;

-- Agent tokens again, with AUTOINCREMENT so that the id of a revoked token
-- is never given to a new one (the server closes the connections of agents
-- whose token id is gone, and an agent shows the id of its token), and
-- with what a token allows: a name pattern (a glob; '' any name), the pools
-- and the labels an agent connecting with it may claim (empty: any). A
-- label value '*' allows any value for that key.
CREATE TABLE agent_tokens_v2 (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT    NOT NULL,
    hash         TEXT    NOT NULL UNIQUE,
    prefix       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL DEFAULT 0,
    name_pattern TEXT    NOT NULL DEFAULT '',
    pools        TEXT    NOT NULL DEFAULT '[]',
    labels       TEXT    NOT NULL DEFAULT '{}'
);
INSERT INTO agent_tokens_v2 (id, name, hash, prefix, created_at, last_used_at)
    SELECT id, name, hash, prefix, created_at, last_used_at FROM agent_tokens;
DROP TABLE agent_tokens;
ALTER TABLE agent_tokens_v2 RENAME TO agent_tokens;

-- Credentials an operator reset: a hello that proves one of these is
-- refused for good, even after the agent's record is removed.
CREATE TABLE agent_revoked_credentials (
    hash       TEXT PRIMARY KEY,
    agent      TEXT    NOT NULL,
    revoked_at INTEGER NOT NULL
);
