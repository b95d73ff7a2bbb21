-- Compositions: every saved version is kept; heads point at the current one.
CREATE TABLE composition_versions (
    name       TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    source     TEXT    NOT NULL,
    author     TEXT    NOT NULL DEFAULT '',
    message    TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    PRIMARY KEY (name, version)
);

CREATE TABLE composition_heads (
    name    TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0
);

-- Runs and the state of each of their tasks. Times are Unix microseconds, 0 when unset.
CREATE TABLE runs (
    id            INTEGER PRIMARY KEY,
    composition   TEXT    NOT NULL,
    version       INTEGER NOT NULL,
    params        TEXT    NOT NULL DEFAULT '{}',
    status        TEXT    NOT NULL,
    error         TEXT    NOT NULL DEFAULT '',
    queue_reason  TEXT    NOT NULL DEFAULT '',
    trigger       TEXT    NOT NULL DEFAULT '',
    parent_run_id INTEGER NOT NULL DEFAULT 0,
    parent_task   TEXT    NOT NULL DEFAULT '',
    context       TEXT    NOT NULL DEFAULT '{}',
    outputs       TEXT    NOT NULL DEFAULT '{}',
    agent         TEXT    NOT NULL DEFAULT '',
    workspace     TEXT    NOT NULL DEFAULT '',
    log_seq       INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    started_at    INTEGER NOT NULL DEFAULT 0,
    finished_at   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX runs_by_composition ON runs (composition, id);
CREATE INDEX runs_by_status ON runs (status, id);
CREATE INDEX runs_by_parent ON runs (parent_run_id) WHERE parent_run_id != 0;

CREATE TABLE task_runs (
    run_id       INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    task_id      TEXT    NOT NULL,
    idx          INTEGER NOT NULL,
    status       TEXT    NOT NULL,
    attempt      INTEGER NOT NULL DEFAULT 0,
    outputs      TEXT    NOT NULL DEFAULT '{}',
    error        TEXT    NOT NULL DEFAULT '',
    agent        TEXT    NOT NULL DEFAULT '',
    child_run_id INTEGER NOT NULL DEFAULT 0,
    approval     TEXT    NOT NULL DEFAULT '',
    started_at   INTEGER NOT NULL DEFAULT 0,
    finished_at  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, task_id)
) WITHOUT ROWID;

-- The aggregated log of a run, stored as chunks of consecutive lines
-- (first_seq..last_seq) in a compact binary encoding (see logcodec.go).
CREATE TABLE log_chunks (
    id        INTEGER PRIMARY KEY,
    run_id    INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    first_seq INTEGER NOT NULL,
    last_seq  INTEGER NOT NULL,
    data      BLOB    NOT NULL
);
CREATE UNIQUE INDEX log_chunks_by_run ON log_chunks (run_id, last_seq);
