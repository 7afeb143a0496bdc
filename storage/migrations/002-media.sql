-- Media facts read from the originals, and the derivatives made from them.

ALTER TABLE evidence
  ADD COLUMN media_status       text NOT NULL DEFAULT 'pending',
  ADD COLUMN media_problem      text,
  ADD COLUMN duration_seconds   double precision,
  ADD COLUMN container          text,
  ADD COLUMN video_codec        text,
  ADD COLUMN audio_codec        text,
  ADD COLUMN width              integer,
  ADD COLUMN height             integer,
  ADD COLUMN frame_rate         double precision,
  ADD COLUMN rotation           integer,
  ADD COLUMN gps_latitude       double precision,
  ADD COLUMN gps_longitude      double precision,
  ADD COLUMN device_make        text,
  ADD COLUMN device_model       text,
  ADD COLUMN device_serial      text,
  ADD COLUMN media_metadata     jsonb;

-- Regenerable: not object-locked. A regeneration adds a row; the newest per kind is current.
CREATE TABLE derivatives (
  id              uuid PRIMARY KEY,
  evidence_id     uuid NOT NULL REFERENCES evidence (id),
  kind            text NOT NULL,
  object_key      text NOT NULL,
  content_type    text NOT NULL,
  sha256          text NOT NULL,
  size            bigint NOT NULL,
  partial         boolean NOT NULL DEFAULT false,
  width           integer,
  height          integer,
  duration_seconds double precision,
  tool            text NOT NULL,
  tool_version    text NOT NULL,
  arguments       jsonb NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX derivatives_evidence ON derivatives (evidence_id, kind, created_at DESC);
