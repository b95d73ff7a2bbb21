-- Triggers: the source of each trigger file, as loaded from the triggers
-- directory or saved through the API.
CREATE TABLE triggers (
    name       TEXT PRIMARY KEY,
    source     TEXT    NOT NULL,
    updated_by TEXT    NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL
);

-- Events a trigger received: the payload (secrets redacted), what each rule
-- decided, and the runs they started. A delivery id is unique per trigger,
-- so a redelivered webhook starts nothing twice.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    trigger     TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    delivery_id TEXT    NOT NULL DEFAULT '',
    payload     TEXT    NOT NULL DEFAULT 'null',
    headers     TEXT    NOT NULL DEFAULT '{}',
    results     TEXT    NOT NULL DEFAULT '[]',
    replay_of   INTEGER NOT NULL DEFAULT 0,
    received_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX events_delivery ON events (trigger, delivery_id) WHERE delivery_id != '';
CREATE INDEX events_by_trigger ON events (trigger, id);
