-- The status a running run will end with once its running work finishes:
-- set when a task fails or someone cancels, so that a server restarted in
-- between resumes the run as failing or cancelled, not as healthy.
ALTER TABLE runs ADD COLUMN ending TEXT NOT NULL DEFAULT '';
