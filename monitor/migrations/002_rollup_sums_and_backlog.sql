-- Per-bin sums in numeric roll-ups (the stats' NumericSummary keeps them: they make binned Wasserstein-1 exact
-- wherever the CDFs do not cross inside a bin), and annotation bookkeeping that keeps the backlog gauge and the
-- worklist from scanning annotated cases.
ALTER TABLE rollup_numeric ADD COLUMN sums float8[] NOT NULL DEFAULT '{}';

ALTER TABLE records ADD COLUMN annotated boolean NOT NULL DEFAULT false;
DROP INDEX records_worklist;
CREATE INDEX records_worklist ON records (namespace, model, time) WHERE sampled AND NOT annotated;

-- sampled cases of the bucket that have been annotated since (backlog = Σ sampled − Σ annotated)
ALTER TABLE traffic ADD COLUMN annotated bigint NOT NULL DEFAULT 0;
