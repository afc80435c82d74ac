-- Idempotent audit appends (issue 14): a writer may send a deterministic `key` per governance event (e.g. the
-- MedModel controller's `failover/<uid>/<count>`). A second append with the same key returns the stored entry
-- instead of chaining a duplicate, so a retry after a lost answer or an operator restart never writes the event
-- twice. Entries without a key (NULL) are not constrained. Adding a nullable column rewrites no row (the
-- append-only trigger is not involved).
ALTER TABLE audit_log ADD COLUMN event_key text;
CREATE UNIQUE INDEX audit_log_event_key ON audit_log (event_key) WHERE event_key IS NOT NULL;
