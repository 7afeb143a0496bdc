-- Face suggestions for redaction (issue 20): a run samples frames of an item's original,
-- finds faces and tracks them into proposed boxes; a custodian accepts each (the box goes into
-- a new version of a project, a REDACTION_SAVED event) or rejects it (a
-- REDACTION_SUGGESTION_REJECTED event). A finished run is what its REDACTION_SUGGESTED event
-- says in full.

CREATE TABLE redaction_suggestion_runs (
  id                 uuid PRIMARY KEY,
  evidence_id        uuid NOT NULL REFERENCES evidence (id),
  requested_by       text NOT NULL,
  requested_at       timestamptz NOT NULL,
  -- queued until the job ends; 'running' is what the queue says, not stored.
  status             text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'done', 'skipped', 'failed')),
  model              text,
  frames_per_second  double precision,
  frame_count        integer,
  -- Set when the run found nothing to do, covered only part of the recording, or failed.
  warning            text,
  finished_at        timestamptz,
  -- The REDACTION_SUGGESTED event of a done run.
  event_seq          bigint
);
CREATE INDEX redaction_suggestion_runs_evidence ON redaction_suggestion_runs (evidence_id, requested_at);

CREATE TABLE redaction_suggestions (
  run_id             uuid NOT NULL REFERENCES redaction_suggestion_runs (id),
  n                  integer NOT NULL CHECK (n >= 1),
  box                jsonb NOT NULL,
  detections         integer NOT NULL,
  mean_score         double precision NOT NULL,
  decision           text NOT NULL DEFAULT 'pending' CHECK (decision IN ('pending', 'accepted', 'rejected')),
  decided_by         text,
  decided_at         timestamptz,
  -- Where an accepted box went.
  project_id         uuid REFERENCES redaction_projects (id),
  version            integer,
  decision_event_seq bigint,
  PRIMARY KEY (run_id, n)
);
