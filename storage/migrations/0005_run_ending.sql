-- The status a running run will end with once its running work finishes:
-- set when a task fails or someone cancels, so that a server restarted in
-- between resumes the run as failing or cancelled, not as healthy.
ALTER TABLE runs ADD COLUMN ending TEXT NOT NULL DEFAULT '';
-- 1 once the run was cancelled a second time: tasks marked always stop
-- too, and are not started or retried after a restart either.
ALTER TABLE runs ADD COLUMN forced INTEGER NOT NULL DEFAULT 0;
