-- Every saved version of every trigger, as compositions keep theirs: the
-- source, who saved it, why and when. The triggers table holds the current
-- version of each trigger that is not deleted; a deleted trigger's versions
-- stay, and saving it again continues its numbering. Triggers stored before
-- this migration become their version 1.
CREATE TABLE trigger_versions (
    name       TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    source     TEXT    NOT NULL,
    author     TEXT    NOT NULL DEFAULT '',
    message    TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    PRIMARY KEY (name, version)
);
INSERT INTO trigger_versions (name, version, source, author, message, created_at)
    SELECT name, 1, source, updated_by, '', updated_at FROM triggers;
ALTER TABLE triggers ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

-- A test event was sent by a person from a trigger's page (or
-- POST /api/v1/triggers/NAME/test) rather than by the trigger's source:
-- test_by names that user; it is '' for every other event.
ALTER TABLE events ADD COLUMN test_by TEXT NOT NULL DEFAULT '';
