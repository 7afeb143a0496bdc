-- The catalog (queryable projection) and the custody ledger (source of truth).

CREATE TABLE recorders (
  serial         text PRIMARY KEY,
  vendor         text,
  model          text,
  officer_id     text,
  officer_name   text,
  unit_id        text,
  unit_name      text,
  registered     boolean NOT NULL DEFAULT false,
  first_seen_at  timestamptz NOT NULL DEFAULT now(),
  last_seen_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE dock_sessions (
  id               uuid PRIMARY KEY,
  workstation_id   text NOT NULL,
  recorder_serial  text NOT NULL,
  driver           text NOT NULL,
  mount_path       text NOT NULL,
  identity         jsonb NOT NULL,
  defaults         jsonb NOT NULL DEFAULT '{}',
  clock_offset_ms  bigint,
  status           text NOT NULL,
  file_count       integer NOT NULL DEFAULT 0,
  skipped          jsonb NOT NULL DEFAULT '[]',
  gaps             jsonb NOT NULL DEFAULT '[]',
  started_at       timestamptz NOT NULL DEFAULT now(),
  acquired_at      timestamptz,
  finished_at      timestamptz
);
CREATE INDEX dock_sessions_serial ON dock_sessions (recorder_serial, started_at);

-- One row per file per docking. The same recording docked twice has two rows with the
-- same fingerprint; the evidence it became is one row in `evidence`.
CREATE TABLE session_files (
  id               uuid PRIMARY KEY,
  session_id       uuid NOT NULL REFERENCES dock_sessions (id),
  recorder_serial  text NOT NULL,
  raw_path         bytea NOT NULL,
  display_path     text NOT NULL,
  size             bigint NOT NULL,
  mtime_ms         bigint NOT NULL,
  kind             text NOT NULL,
  parsed           jsonb,
  fingerprint      text NOT NULL,
  stage            text NOT NULL,
  bytes_acquired   bigint NOT NULL DEFAULT 0,
  sha256           text,
  sm3              text,
  evidence_id      uuid,
  duplicate        boolean NOT NULL DEFAULT false,
  error            text,
  attempts         integer NOT NULL DEFAULT 0,
  acquired_at      timestamptz,
  stored_at        timestamptz,
  verified_at      timestamptz,
  recorded_at      timestamptz,
  cleared_at       timestamptz,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (session_id, raw_path)
);
CREATE INDEX session_files_fingerprint ON session_files (fingerprint);
CREATE INDEX session_files_serial ON session_files (recorder_serial);

CREATE TABLE evidence (
  id                      uuid PRIMARY KEY,
  sha256                  text NOT NULL UNIQUE,
  sm3                     text,
  size                    bigint NOT NULL,
  media_type              text NOT NULL,
  object_key              text NOT NULL,
  object_version          text,
  object_etag             text NOT NULL,
  original_name           text NOT NULL,
  original_path           text NOT NULL,
  recorder_serial         text NOT NULL,
  officer_id              text,
  officer_name            text,
  unit_id                 text,
  case_numbers            text[] NOT NULL DEFAULT '{}',
  subject                 text,
  place                   text,
  capture_start           timestamptz,
  capture_end             timestamptz,
  capture_time_source     text,
  first_session_id        uuid NOT NULL,
  acquired_at             timestamptz NOT NULL,
  verified_at             timestamptz NOT NULL,
  recorded_at             timestamptz NOT NULL DEFAULT now(),
  transfer_delay_seconds  bigint,
  transfer_deadline       timestamptz,
  transfer_late           boolean,
  flags                   text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX evidence_case_numbers ON evidence USING gin (case_numbers);
CREATE INDEX evidence_officer_time ON evidence (officer_id, capture_start);
CREATE INDEX evidence_serial_time ON evidence (recorder_serial, capture_start);
CREATE INDEX evidence_capture_start ON evidence (capture_start);

CREATE TABLE ledger_keys (
  key_id          text PRIMARY KEY,
  workstation_id  text NOT NULL,
  public_key_pem  text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE custody_events (
  seq             bigint PRIMARY KEY,
  at              timestamptz NOT NULL,
  at_text         text NOT NULL,
  workstation_id  text NOT NULL,
  type            text NOT NULL,
  actor_kind      text NOT NULL,
  actor_id        text NOT NULL,
  evidence_id     uuid,
  session_id      uuid,
  file_id         uuid,
  details         jsonb NOT NULL,
  prev_hash       text NOT NULL,
  key_id          text NOT NULL,
  hash            text NOT NULL UNIQUE,
  signature       text NOT NULL
);
CREATE INDEX custody_events_evidence ON custody_events (evidence_id, seq);
CREATE INDEX custody_events_session ON custody_events (session_id, seq);
CREATE INDEX custody_events_file ON custody_events (file_id, seq);

-- Append-only at the database level. A superuser can still drop the trigger; that is
-- why every event is also mirrored to the write-once ledger bucket and chained by hash.
CREATE FUNCTION custody_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'custody_events is append-only (% refused)', TG_OP;
END $$;
CREATE TRIGGER custody_events_no_update BEFORE UPDATE OR DELETE OR TRUNCATE ON custody_events
  FOR EACH STATEMENT EXECUTE FUNCTION custody_events_append_only();
