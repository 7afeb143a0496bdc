-- Share links for a named recipient (受控共享): the token itself is never stored, only its
-- SHA-256. Every column is also in the SHARE_CREATED / SHARE_REVOKED events' details, so
-- `evidock reindex` can rebuild both tables from the write-once ledger. Independent of
-- 008 (redaction): nothing here refers to its tables.

CREATE TABLE shares (
  id              uuid PRIMARY KEY,
  token_sha256    text NOT NULL UNIQUE CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
  recipient       text NOT NULL,
  case_number     text,
  mode            text NOT NULL CHECK (mode IN ('view', 'download')),
  watermark       boolean NOT NULL,
  -- An approved access request (调阅/复制申请), or null when the creator's role allowed it.
  approval_id     uuid,
  authorized_by   text NOT NULL CHECK (authorized_by IN ('approval', 'role')),
  purpose         text,
  created_by      text NOT NULL,
  unit_ids        text[] NOT NULL,
  created_at      timestamptz NOT NULL,
  expires_at      timestamptz NOT NULL CHECK (expires_at > created_at),
  revoked_at      timestamptz,
  revoked_by      text,
  revoke_reason   text
);
CREATE INDEX shares_created ON shares (created_at DESC);

-- What the recipient gets of each item: a copy (watermarked, or the plain proxy) in the
-- derivatives bucket, with the hash of the original it stands for.
CREATE TABLE share_items (
  share_id        uuid NOT NULL REFERENCES shares (id),
  position        integer NOT NULL,
  evidence_id     uuid NOT NULL REFERENCES evidence (id),
  sha256          text NOT NULL,
  copy_kind       text NOT NULL,
  copy_key        text NOT NULL,
  copy_sha256     text NOT NULL,
  copy_size       bigint NOT NULL,
  content_type    text NOT NULL,
  watermark_lines text[],
  PRIMARY KEY (share_id, evidence_id)
);
CREATE INDEX share_items_evidence ON share_items (evidence_id);
