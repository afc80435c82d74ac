-- The governance audit log (issue 14, contract C4): append-only and hash-chained.
-- `at` is RFC 3339 UTC with milliseconds as hashed (text, so the bytes hashed are the bytes stored and
-- lexicographic order is time order). The trigger refuses UPDATE and DELETE; someone with the rights to drop it
-- can still edit rows, and `medmlops audit verify` then names the first entry whose hash or link is broken.
CREATE TABLE audit_log (
  seq bigint PRIMARY KEY,
  at text NOT NULL,
  action text NOT NULL,
  subject_namespace text NOT NULL,
  subject_kind text NOT NULL,
  subject_name text NOT NULL,
  actor text NOT NULL,
  reason text NOT NULL,
  details jsonb NOT NULL,
  prev_hash text NOT NULL,
  hash text NOT NULL UNIQUE
);
CREATE INDEX audit_log_at ON audit_log (at);

CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_log_append_only
  BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
