-- Retraining datasets (issue 14): frozen once per RetrainJob (id = its uid), immutable afterwards.
CREATE TABLE datasets (
  id text PRIMARY KEY,
  namespace text NOT NULL,
  model text NOT NULL,
  job text NOT NULL,
  request jsonb NOT NULL,                 -- the freeze request; a different one for the same id is refused (409)
  manifest jsonb NOT NULL,                -- case ids, sites, labels, split: no pseudonyms
  manifest_sha256 text NOT NULL,
  train_cases int NOT NULL,
  test_cases int NOT NULL,
  excluded_by_consent int NOT NULL,
  historical int NOT NULL,
  sites text[] NOT NULL,
  evaluation jsonb,                       -- the report `medmlops evaluate` sent
  created_at timestamptz NOT NULL DEFAULT now()
);

-- One row per case of a dataset: the features as frozen, and the patient for taint listing (ledger only).
CREATE TABLE dataset_cases (
  dataset_id text NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
  case_id text NOT NULL,
  patient text,
  site text,
  split text NOT NULL CHECK (split IN ('train', 'test')),
  label jsonb,
  features jsonb NOT NULL,
  PRIMARY KEY (dataset_id, case_id)
);
CREATE INDEX dataset_cases_patient ON dataset_cases (patient) WHERE patient IS NOT NULL;

-- Kept de-identified DICOM instances of cases, for datasets that train on images. Erased with the patient.
CREATE TABLE kept_cases (
  namespace text NOT NULL,
  model text NOT NULL,
  case_id text NOT NULL,
  patient text,
  dicom bytea NOT NULL,
  sha256 text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (namespace, model, case_id)
);
CREATE INDEX kept_cases_patient ON kept_cases (patient) WHERE patient IS NOT NULL;
