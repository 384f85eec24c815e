-- The carrier's desk (issue 14): a feedback's handling status (new, in_work, resolved) and
-- the replies the carrier sent the passenger by SMS, each with who wrote it and when.
ALTER TABLE feedback ADD COLUMN status TEXT NOT NULL DEFAULT 'new';
ALTER TABLE feedback ADD COLUMN updated_at_ms INTEGER NOT NULL DEFAULT 0;
CREATE TABLE feedback_replies (
    id INTEGER PRIMARY KEY,
    feedback_id INTEGER NOT NULL REFERENCES feedback(id),
    author TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX feedback_replies_by_feedback ON feedback_replies (feedback_id, id);
