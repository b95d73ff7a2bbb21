-- Retries: a run that retries an ended run names it, and starts with the
-- tasks it keeps from it already succeeded (see engine/retry.go).
ALTER TABLE runs ADD COLUMN retry_of INTEGER NOT NULL DEFAULT 0;
CREATE INDEX runs_by_retry_of ON runs (retry_of) WHERE retry_of != 0;
-- A task a retry kept: the run whose attempt its result is (0: it ran here).
ALTER TABLE task_runs ADD COLUMN kept_from INTEGER NOT NULL DEFAULT 0;
-- 1 when the task was skipped because its if was false (a retry keeps it
-- skipped), 0 for every other task, skipped ones included.
ALTER TABLE task_runs ADD COLUMN if_false INTEGER NOT NULL DEFAULT 0;
-- The context keys a task's successful attempt set, as a JSON object, so a
-- retry can rebuild the context its kept tasks made. NULL: not recorded
-- (tasks that ended before this migration); a retry then keeps the old
-- run's whole context.
ALTER TABLE task_runs ADD COLUMN context_set TEXT;
