-- Digests of the webhook requests triggers accepted: a hash of the body and
-- its signature, which a replay cannot change the way it can change the
-- unsigned delivery id. A request whose digest is still here (expires_at in
-- the future) is a duplicate and starts nothing. Rows are kept for the
-- trigger's replay_window and deleted once expired.
CREATE TABLE webhook_digests (
    trigger    TEXT    NOT NULL,
    digest     TEXT    NOT NULL,
    event_id   INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (trigger, digest)
);
CREATE INDEX webhook_digests_expiry ON webhook_digests (expires_at);
