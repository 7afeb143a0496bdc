-- The custody ledger becomes a Merkle-tree log (RFC 9162 style, issue 19). Appends take
-- their seq from a sequence instead of a global lock and carry no prevHash link; an
-- integrator gives committed events dense leaf indexes, stores the complete subtrees' hashes
-- and signs tree heads (checkpoints). Existing rows keep their prevHash chain (checked as a
-- chain) and become the first leaves at the first integration.

CREATE SEQUENCE custody_event_seq AS bigint;
SELECT setval('custody_event_seq', COALESCE((SELECT max(seq) FROM custody_events), 0) + 1, false);

-- NULL: a Merkle-log event; its place is proven by the tree, not by a link.
ALTER TABLE custody_events ALTER COLUMN prev_hash DROP NOT NULL;
-- Position in the tree, set once by the integrator; NULL until then.
ALTER TABLE custody_events ADD COLUMN leaf_index bigint;
CREATE UNIQUE INDEX custody_events_leaf ON custody_events (leaf_index);
CREATE INDEX custody_events_pending ON custody_events (seq) WHERE leaf_index IS NULL;

-- Still append-only: nothing but leaf_index may change, and that only from NULL. The list of
-- columns is explicit (a column added later must be added here too).
DROP TRIGGER custody_events_no_update ON custody_events;
CREATE TRIGGER custody_events_no_update
  BEFORE UPDATE OF seq, at, at_text, workstation_id, type, actor_kind, actor_id, evidence_id, session_id, file_id, details, prev_hash, key_id, hash, signature
  OR DELETE OR TRUNCATE ON custody_events
  FOR EACH STATEMENT EXECUTE FUNCTION custody_events_append_only();
CREATE TRIGGER custody_events_leaf_once BEFORE UPDATE OF leaf_index ON custody_events
  FOR EACH ROW WHEN (OLD.leaf_index IS NOT NULL) EXECUTE FUNCTION custody_events_append_only();

-- Hashes of complete subtrees of two or more leaves (level >= 1; a leaf is its event row):
-- the node (level, idx) covers leaves [idx * 2^level, (idx + 1) * 2^level).
CREATE TABLE ledger_tree_nodes (
  level  smallint NOT NULL,
  idx    bigint NOT NULL,
  hash   text NOT NULL,
  PRIMARY KEY (level, idx)
);

-- Signed tree heads. The body signed is the canonical JSON of
-- {treeSize, rootHash, timestamp, keyId}; the same document is kept write-once in the ledger
-- bucket as checkpoints/<size>.json.
CREATE TABLE ledger_checkpoints (
  tree_size  bigint PRIMARY KEY,
  root_hash  text NOT NULL,
  at_text    text NOT NULL,
  key_id     text NOT NULL,
  signature  text NOT NULL
);

CREATE FUNCTION ledger_tree_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP;
END $$;
CREATE TRIGGER ledger_tree_nodes_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger_tree_nodes
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_tree_append_only();
CREATE TRIGGER ledger_checkpoints_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_tree_append_only();
