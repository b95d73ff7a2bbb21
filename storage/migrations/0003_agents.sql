-- Agents: machines that dial in and run work. Pools and labels are what
-- the agent reports, merged with what an operator assigned by hand.
CREATE TABLE agents (
    name         TEXT PRIMARY KEY,
    facts        TEXT    NOT NULL DEFAULT '{}',
    labels       TEXT    NOT NULL DEFAULT '{}',
    pools        TEXT    NOT NULL DEFAULT '[]',
    set_labels   TEXT    NOT NULL DEFAULT '{}',
    set_pools    TEXT    NOT NULL DEFAULT '[]',
    slots        INTEGER NOT NULL DEFAULT 1,
    state        TEXT    NOT NULL DEFAULT 'enabled', -- enabled, draining, disabled: the operator's choice
    online       INTEGER NOT NULL DEFAULT 0,
    version      TEXT    NOT NULL DEFAULT '',
    workdir      TEXT    NOT NULL DEFAULT '',
    address      TEXT    NOT NULL DEFAULT '',
    connected_at INTEGER NOT NULL DEFAULT 0,
    last_seen    INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT    NOT NULL DEFAULT ''
);

-- Agent tokens are stored as SHA-256 hashes; the token is shown once.
CREATE TABLE agent_tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL,
    hash         TEXT    NOT NULL UNIQUE,
    prefix       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL DEFAULT 0
);

-- Jobs given to agents: how many of each job's lines are stored, updated in
-- the transaction that stores them, so a resent line is never stored twice.
CREATE TABLE agent_jobs (
    job_id      TEXT PRIMARY KEY,
    run_id      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    task_id     TEXT    NOT NULL,
    attempt     INTEGER NOT NULL,
    agent       TEXT    NOT NULL,
    log_seq     INTEGER NOT NULL DEFAULT 0,
    assigned_at INTEGER NOT NULL
);
CREATE INDEX agent_jobs_by_agent ON agent_jobs (agent);
