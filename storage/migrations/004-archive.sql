-- The archive server: units, people and systems, cases, access approvals and the access log,
-- case documents, webhook subscriptions and deliveries.

-- Enforcement units (执法单位), nested province → city → county. `path` is the chain of ids
-- from the root ('/GD/SZ/FT/'), so "this unit and everything under it" is a prefix match.
CREATE TABLE units (
  id          text PRIMARY KEY,
  name        text NOT NULL,
  parent_id   text REFERENCES units (id),
  path        text NOT NULL UNIQUE,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- The recorder registry lives here now (config entries are imported once).
ALTER TABLE recorders
  ADD COLUMN registered_by text,
  ADD COLUMN registered_at timestamptz,
  ADD COLUMN removed_at    timestamptz;

CREATE INDEX evidence_unit_time ON evidence (unit_id, capture_start);

-- People. Passwords are argon2id (PHC strings); a locked account says until when.
CREATE TABLE users (
  id                    uuid PRIMARY KEY,
  name                  text NOT NULL UNIQUE,
  display_name          text,
  role                  text NOT NULL,
  officer_id            text,
  password_hash         text NOT NULL,
  must_change_password  boolean NOT NULL DEFAULT true,
  disabled_at           timestamptz,
  failed_logins         integer NOT NULL DEFAULT 0,
  locked_until          timestamptz,
  created_at            timestamptz NOT NULL DEFAULT now(),
  password_changed_at   timestamptz
);

-- Systems (case-management systems). Only the SHA-256 of the secret is kept.
CREATE TABLE api_keys (
  id            uuid PRIMARY KEY,
  name          text NOT NULL,
  role          text NOT NULL,
  secret_hash   text NOT NULL,
  created_by    text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  revoked_at    timestamptz,
  last_used_at  timestamptz
);

-- Which units a user or key is scoped to (it sees those and every unit below them).
CREATE TABLE principal_units (
  principal_kind  text NOT NULL,
  principal_id    uuid NOT NULL,
  unit_id         text NOT NULL REFERENCES units (id),
  PRIMARY KEY (principal_kind, principal_id, unit_id)
);

-- Login sessions: the cookie holds a random token, the database its SHA-256.
CREATE TABLE web_sessions (
  token_hash    text PRIMARY KEY,
  user_id       uuid NOT NULL REFERENCES users (id),
  csrf_token    text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_seen_at  timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL,
  ended_at      timestamptz,
  ip            text,
  user_agent    text
);
CREATE INDEX web_sessions_user ON web_sessions (user_id);

-- Cases (案件) as the archive knows them: created on first use; an item's case numbers stay
-- on the item (evidence.case_numbers), this row holds the case's own dates.
CREATE TABLE cases (
  case_number  text PRIMARY KEY,
  unit_id      text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  ended_at     timestamptz,
  archived_at  timestamptz
);

-- Enforcement actions registered for a case, and the recordings they suggest.
CREATE TABLE case_actions (
  id           uuid PRIMARY KEY,
  case_number  text NOT NULL REFERENCES cases (case_number),
  officer_ids  text[] NOT NULL,
  starts_at    timestamptz NOT NULL,
  ends_at      timestamptz NOT NULL,
  subject      text,
  place        text,
  created_by   text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX case_actions_case ON case_actions (case_number);
CREATE INDEX case_actions_officers ON case_actions USING gin (officer_ids);

CREATE TABLE action_matches (
  action_id    uuid NOT NULL REFERENCES case_actions (id),
  evidence_id  uuid NOT NULL REFERENCES evidence (id),
  state        text NOT NULL DEFAULT 'suggested',
  decided_by   text,
  decided_at   timestamptz,
  reason       text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (action_id, evidence_id)
);
CREATE INDEX action_matches_evidence ON action_matches (evidence_id);

-- Text records of a case (PDFs, scans, photos, office files): stored write-once beside the
-- originals, content-addressed.
CREATE TABLE documents (
  id             uuid PRIMARY KEY,
  case_number    text NOT NULL REFERENCES cases (case_number),
  sha256         text NOT NULL,
  size           bigint NOT NULL,
  content_type   text NOT NULL,
  original_name  text NOT NULL,
  object_key     text NOT NULL,
  object_etag    text NOT NULL,
  unit_id        text,
  uploaded_by    text NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX documents_case ON documents (case_number, created_at);

-- Requests to view, play, download or export an item or a case (调阅/复制申请).
CREATE TABLE access_requests (
  id               uuid PRIMARY KEY,
  principal_kind   text NOT NULL,
  principal_id     uuid NOT NULL,
  principal_name   text NOT NULL,
  evidence_id      uuid,
  case_number      text,
  actions          text[] NOT NULL,
  purpose          text NOT NULL,
  state            text NOT NULL DEFAULT 'pending',
  decided_by       text,
  decided_at       timestamptz,
  reason           text,
  expires_at       timestamptz,
  -- The units of the custodian who approved: the approval covers the case's items there.
  granted_unit_ids text[],
  created_at       timestamptz NOT NULL DEFAULT now(),
  CHECK ((evidence_id IS NULL) <> (case_number IS NULL))
);
CREATE INDEX access_requests_principal ON access_requests (principal_kind, principal_id, state);
CREATE INDEX access_requests_state ON access_requests (state, created_at);

-- Every look at evidence. Sealed into the custody ledger in batches (sealed_seq).
CREATE TABLE access_log (
  id              bigserial PRIMARY KEY,
  at              timestamptz NOT NULL DEFAULT now(),
  principal_kind  text NOT NULL,
  principal_id    uuid NOT NULL,
  principal_name  text NOT NULL,
  role            text NOT NULL,
  unit_ids        text[] NOT NULL,
  action          text NOT NULL,
  evidence_id     uuid,
  evidence_ids    uuid[],
  case_number     text,
  purpose         text,
  approval_id     uuid,
  ip              text,
  user_agent      text,
  sealed_seq      bigint
);
CREATE INDEX access_log_evidence ON access_log (evidence_id, at);
CREATE INDEX access_log_principal ON access_log (principal_id, at);
CREATE INDEX access_log_unsealed ON access_log (id) WHERE sealed_seq IS NULL;

-- Case systems' subscriptions, and each delivery of an event to one of them.
CREATE TABLE webhooks (
  id           uuid PRIMARY KEY,
  api_key_id   uuid NOT NULL REFERENCES api_keys (id),
  url          text NOT NULL,
  events       text[] NOT NULL,
  secret       text NOT NULL,
  unit_ids     text[] NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  deleted_at   timestamptz
);

CREATE TABLE webhook_deliveries (
  id             uuid PRIMARY KEY,
  webhook_id     uuid NOT NULL REFERENCES webhooks (id),
  event          text NOT NULL,
  payload        jsonb NOT NULL,
  state          text NOT NULL DEFAULT 'pending',
  attempts       integer NOT NULL DEFAULT 0,
  last_status    integer,
  last_error     text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  delivered_at   timestamptz,
  updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (webhook_id, created_at);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (created_at) WHERE state = 'pending';

-- Whether a recorder is still docked: the daemon records the undock (the dock board shows
-- what is docked now, from any host).
ALTER TABLE dock_sessions ADD COLUMN undocked_at timestamptz;

-- The archive's search order (newest capture first, keyset-paged), and its text filters.
CREATE INDEX evidence_capture_order ON evidence ((coalesce(capture_start, '-infinity'::timestamptz)) DESC, id DESC);
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX evidence_subject_trgm ON evidence USING gin (subject gin_trgm_ops);
CREATE INDEX evidence_place_trgm ON evidence USING gin (place gin_trgm_ops);
