-- One row that /readyz rewrites to check that the database takes writes.
CREATE TABLE probe (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    checked_at INTEGER NOT NULL
);
INSERT INTO probe (id, checked_at) VALUES (1, 0);
