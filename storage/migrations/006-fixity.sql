-- Scheduled fixity: rolling cycles that re-hash every stored original once per
-- fixity.cycleDays, shared by every worker host and resumable across restarts.

-- One row a cycle. At most one is open (finished_at NULL); its totals are the catalog as it
-- stood when the cycle began (items ingested later were verified at ingest and wait for the
-- next cycle).
CREATE TABLE fixity_cycles (
  id                 bigserial PRIMARY KEY,
  started_at         timestamptz NOT NULL DEFAULT now(),
  due_at             timestamptz NOT NULL,
  total_items        bigint NOT NULL,
  total_bytes        bigint NOT NULL,
  finished_at        timestamptz,
  -- The ledger (chain, signatures, write-once mirror) and the catalog's orphans, checked
  -- once a cycle when its last item is done.
  ledger_ok          boolean,
  ledger_events      bigint,
  ledger_problems    jsonb
);
CREATE UNIQUE INDEX fixity_cycles_one_open ON fixity_cycles ((true)) WHERE finished_at IS NULL;

-- Each item's last scheduled check. A worker claims a batch of rows with
-- FOR UPDATE SKIP LOCKED and holds them until its batch commits, so two hosts never take
-- the same item; a worker that dies loses its transaction and the rows are free again.
-- last_cycle = the open cycle's id means done for this cycle.
CREATE TABLE fixity_items (
  evidence_id  uuid PRIMARY KEY REFERENCES evidence (id) ON DELETE CASCADE,
  size         bigint NOT NULL,
  last_cycle   bigint NOT NULL DEFAULT 0,
  checked_at   timestamptz,
  ok           boolean,
  -- The SHA-256 the stored bytes had (null: the object was missing).
  sha256       text,
  problems     jsonb NOT NULL DEFAULT '[]',
  -- The FIXITY_BATCH_CHECKED custody event that names this check.
  batch_seq    bigint
);
CREATE INDEX fixity_items_todo ON fixity_items (last_cycle, evidence_id);
CREATE INDEX fixity_items_checked ON fixity_items (checked_at NULLS FIRST);
CREATE INDEX fixity_items_failed ON fixity_items (checked_at) WHERE ok = false;
