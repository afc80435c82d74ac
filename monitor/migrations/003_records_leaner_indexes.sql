-- Ingest throughput (issue 12): every index on records is written for every stored record. records_version_time
-- (namespace, model, version, time) served no query: per-version scans (reference freeze, roll-up rebuild) use
-- the unique (namespace, model, version, case_id) index's prefix, evaluation probes records_case per annotation,
-- the worklist has its own partial index and dataset selection filters by (namespace, model) and time.
DROP INDEX IF EXISTS records_version_time;
