-- Redaction projects (脱敏处理): what to hide in copies of a recording. The recording itself is
-- never touched; each save of a project is a new, immutable version, and every row here is
-- what a REDACTION_SAVED custody event says in full (the catalog can be rebuilt from them).
-- Rendered copies are derivatives (kind 'redacted:<project>:v<version>').

CREATE TABLE redaction_projects (
  id           uuid PRIMARY KEY,
  evidence_id  uuid NOT NULL REFERENCES evidence (id),
  created_by   text NOT NULL,
  created_at   timestamptz NOT NULL
);
CREATE INDEX redaction_projects_evidence ON redaction_projects (evidence_id, created_at);

CREATE TABLE redaction_versions (
  project_id   uuid NOT NULL REFERENCES redaction_projects (id),
  version      integer NOT NULL CHECK (version >= 1),
  spec         jsonb NOT NULL,
  author       text NOT NULL,
  note         text,
  saved_at     timestamptz NOT NULL,
  -- The REDACTION_SAVED event that holds this version.
  event_seq    bigint NOT NULL,
  PRIMARY KEY (project_id, version)
);

-- A version is what a rendered copy names: it never changes once saved.
CREATE FUNCTION redaction_version_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'redaction versions are immutable: save a new version instead';
END
$$;
CREATE TRIGGER redaction_versions_immutable BEFORE UPDATE OR DELETE ON redaction_versions
  FOR EACH ROW EXECUTE FUNCTION redaction_version_immutable();
