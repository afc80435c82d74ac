-- The validation ledger (issue 12). Plain PostgreSQL: runs unchanged on PGlite and on PostgreSQL 13+.

-- One row per answered inference. No names, IDs, dates of birth or free text: features, scores, the decision,
-- non-PHI DICOM metadata, a keyed case id and at most a keyed patient pseudonym (pn:<hex>).
CREATE TABLE records (
  id bigserial PRIMARY KEY,
  namespace text NOT NULL,
  model text NOT NULL,
  version text NOT NULL,
  case_id text NOT NULL,
  time timestamptz NOT NULL,
  bucket timestamptz NOT NULL,            -- time truncated to the roll-up bucket (1 h)
  patient text,
  site text,
  metadata jsonb NOT NULL DEFAULT '{}',
  inputs jsonb NOT NULL DEFAULT '{}',
  outputs jsonb NOT NULL DEFAULT '{}',
  decision_label text,
  decision_score float8,
  decision_positive boolean,
  inclusion_prob float8,                  -- π from the policy's sampling at ingest; NULL when no policy
  sampled boolean NOT NULL DEFAULT false, -- drawn for annotation (on the worklist until annotated)
  received_at timestamptz NOT NULL DEFAULT now(),
  -- a retried batch stores each case once per version (idempotent ingest)
  UNIQUE (namespace, model, version, case_id)
);
CREATE INDEX records_case ON records (namespace, model, case_id);
CREATE INDEX records_version_time ON records (namespace, model, version, time);
CREATE INDEX records_patient ON records (patient) WHERE patient IS NOT NULL;
CREATE INDEX records_worklist ON records (namespace, model, time) WHERE sampled;

-- The reference standard: one annotation per case and source (a reader's read wins over a report).
CREATE TABLE annotations (
  namespace text NOT NULL,
  model text NOT NULL,
  case_id text NOT NULL,
  source text NOT NULL CHECK (source IN ('report', 'reader')),
  positive boolean,
  value float8,
  dice float8,
  time timestamptz NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (namespace, model, case_id, source)
);

-- A version's reference profile (format medmlops.io/reference-profile/v1).
CREATE TABLE reference_profiles (
  namespace text NOT NULL,
  model text NOT NULL,
  version text NOT NULL,
  profile jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (namespace, model, version)
);

-- Roll-ups: per version, feature and hour, the histogram on the reference's bins (numeric features) or the
-- category counts (categorical ones). Evaluation sums a window's buckets instead of scanning records.
CREATE TABLE rollup_numeric (
  namespace text NOT NULL,
  model text NOT NULL,
  version text NOT NULL,
  feature text NOT NULL,                  -- "<source>:<feature>", e.g. input:image:mean
  bucket timestamptz NOT NULL,
  counts bigint[] NOT NULL,
  n bigint NOT NULL,
  sum float8 NOT NULL,
  sum_sq float8 NOT NULL,
  min float8 NOT NULL,
  max float8 NOT NULL,
  PRIMARY KEY (namespace, model, version, feature, bucket)
);
CREATE TABLE rollup_categorical (
  namespace text NOT NULL,
  model text NOT NULL,
  version text NOT NULL,
  feature text NOT NULL,
  bucket timestamptz NOT NULL,
  category text NOT NULL,
  count bigint NOT NULL,
  PRIMARY KEY (namespace, model, version, feature, bucket, category)
);

-- Traffic per version, hour and decision (positive | negative | none), and how many were sampled: the
-- "last N cases" window, stratified sampling's class frequencies and minPerWindow read these few rows.
CREATE TABLE traffic (
  namespace text NOT NULL,
  model text NOT NULL,
  version text NOT NULL,
  bucket timestamptz NOT NULL,
  decision text NOT NULL,
  total bigint NOT NULL,
  sampled bigint NOT NULL,
  PRIMARY KEY (namespace, model, version, bucket, decision)
);

-- ValidationPolicy specs, pushed by the operator's ValidationPolicy controller.
CREATE TABLE policies (
  namespace text NOT NULL,
  name text NOT NULL,
  model text NOT NULL,
  spec jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (namespace, name)
);
CREATE INDEX policies_model ON policies (namespace, model);

-- Consent decisions per pseudonym (ConsentRecord spec), pushed by the ConsentRecord controller.
CREATE TABLE consent (
  pseudonym text PRIMARY KEY,
  spec jsonb NOT NULL,
  excluded bigint NOT NULL DEFAULT 0,     -- records refused at ingest because of this decision
  erased bigint NOT NULL DEFAULT 0,       -- stored records erased on request
  updated_at timestamptz NOT NULL DEFAULT now()
);
