-- Ingest throughput (issue 12): ANALYZE reads a sample of 300 × the largest statistics target among the columns
-- it analyzes — 30,000 rows at the default target of 100, which cost PGlite ~170 ms per ANALYZE of a
-- 50,000-record ledger, 3,000 rows at 10 (~18 ms). The monitor ANALYZEs records as they grow (ingest.ts), and
-- its queries need from the statistics only the table's size, the few namespaces/models/versions and coarse time
-- ranges: ten histogram buckets and ten most common values do. The jsonb columns get none (no query filters on
-- them as whole values), which also keeps PostgreSQL's own autovacuum ANALYZE from reading them.
ALTER TABLE records
  ALTER COLUMN id SET STATISTICS 10,
  ALTER COLUMN namespace SET STATISTICS 10,
  ALTER COLUMN model SET STATISTICS 10,
  ALTER COLUMN version SET STATISTICS 10,
  ALTER COLUMN case_id SET STATISTICS 10,
  ALTER COLUMN time SET STATISTICS 10,
  ALTER COLUMN bucket SET STATISTICS 10,
  ALTER COLUMN patient SET STATISTICS 10,
  ALTER COLUMN site SET STATISTICS 10,
  ALTER COLUMN decision_label SET STATISTICS 10,
  ALTER COLUMN decision_score SET STATISTICS 10,
  ALTER COLUMN decision_positive SET STATISTICS 10,
  ALTER COLUMN inclusion_prob SET STATISTICS 10,
  ALTER COLUMN sampled SET STATISTICS 10,
  ALTER COLUMN annotated SET STATISTICS 10,
  ALTER COLUMN received_at SET STATISTICS 10,
  ALTER COLUMN metadata SET STATISTICS 0,
  ALTER COLUMN inputs SET STATISTICS 0,
  ALTER COLUMN outputs SET STATISTICS 0;
