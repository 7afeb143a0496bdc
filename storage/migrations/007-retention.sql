-- Preservation: each record's retention class and retain-until date (mirroring the object
-- lock on its original), legal holds, two-person purge runs and the tombstones they leave,
-- and the case lifecycle (open → ended → archived) that the 30-day archiving rule needs.

CREATE TABLE evidence_retention (
  evidence_id    uuid PRIMARY KEY REFERENCES evidence (id),
  class          text NOT NULL CHECK (class IN ('unlinked', 'case', 'major-case')),
  -- What the object lock on the original's version says (never earlier than before).
  retain_until   timestamptz NOT NULL,
  legal_hold     boolean NOT NULL DEFAULT false,
  hold_reason    text,
  updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX evidence_retention_expiry ON evidence_retention (retain_until) WHERE NOT legal_hold;

ALTER TABLE documents ADD COLUMN retain_until timestamptz;

ALTER TABLE cases
  ADD COLUMN state        text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'ended', 'archived')),
  ADD COLUMN major        boolean NOT NULL DEFAULT false,
  ADD COLUMN legal_hold   boolean NOT NULL DEFAULT false,
  ADD COLUMN hold_reason  text,
  ADD COLUMN archive_key  text;

-- A purge is proposed by one custodian and approved by another before anything is deleted.
CREATE TABLE purge_runs (
  id            uuid PRIMARY KEY,
  status        text NOT NULL CHECK (status IN ('proposed', 'approved', 'refused', 'done')),
  reason        text NOT NULL,
  proposed_by   text NOT NULL,
  proposed_at   timestamptz NOT NULL DEFAULT now(),
  decided_by    text,
  decided_at    timestamptz,
  finished_at   timestamptz,
  evidence_ids  uuid[] NOT NULL,
  CHECK (decided_by IS NULL OR decided_by <> proposed_by)
);

-- What was deleted, when, under whose approval, and its hash: the catalog row stays, the bytes do not.
CREATE TABLE evidence_tombstones (
  evidence_id   uuid PRIMARY KEY REFERENCES evidence (id),
  purge_run_id  uuid NOT NULL REFERENCES purge_runs (id),
  sha256        text NOT NULL,
  size          bigint NOT NULL,
  approved_by   text NOT NULL,
  purged_at     timestamptz NOT NULL DEFAULT now()
);
