import type { KeyObject } from 'node:crypto';
import { moduleLogger } from '../config/logger.ts';
import {
  canonicalJson,
  checkpointSignatureValid,
  LEDGER_START,
  publicKeyFromPem,
  sealEvent,
  signCheckpoint,
  signHash,
  verifyLedgerEvents,
  type ChainProblem,
  type Checkpoint,
  type CustodyEvent,
  type CustodyEventInput,
  type CustodyEventType,
  type JsonValue,
} from './custody-chain.ts';
import type { WorkstationKey } from './ledger-key.store.ts';
import {
  appendLeaves,
  consistencyRanges,
  EMPTY_FRONTIER,
  frontierIds,
  frontierRoot,
  inclusionRanges,
  leafHash,
  rangeHash,
  subtreesOf,
  verifyConsistency,
  type Frontier,
  type StoredNode,
  type SubtreeId,
} from './merkle-tree.ts';
import { ObjectExistsError, type ObjectStore } from './object-store.ts';
import type { Database, Queryable } from './postgres.database.ts';

const log = moduleLogger('custody-ledger');
// One integrator at a time across every process sharing the database (the others skip: it
// is being done). Appends never take it.
const SEQUENCER_LOCK = 0x6c647371;
/** Leaves a checkpoint adds at most (one transaction, one signed tree head). */
const INTEGRATE_BATCH = 20_000;
/** How long after a commit its events wait to be integrated, so a burst makes one checkpoint. */
const INTEGRATE_DEBOUNCE_MS = 1000;
/** How long a proof waits for another process's integration to cover the events asked for. */
const PROOF_WAIT_MS = 10_000;

/** A stored subtree the tree needs is not there: the tree tables were tampered with or lost. */
export class LedgerTreeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LedgerTreeError';
  }
}

export function eventObjectKey(seq: number): string {
  return `events/${String(seq).padStart(12, '0')}.json`;
}

/** Records an event seals by digest (a batch of access-log records), kept write-once beside it. */
export function attachmentObjectKey(seq: number): string {
  return `attachments/${String(seq).padStart(12, '0')}.json`;
}

/** A signed tree head, write-once: the root of the first `size` leaves. */
export function checkpointObjectKey(size: number): string {
  return `checkpoints/${String(size).padStart(12, '0')}.json`;
}

/** The seqs of the leaves an integration added from leaf `first` on, in leaf order (reindex restores the tree from them). */
export function leavesObjectKey(first: number): string {
  return `leaves/${String(first).padStart(12, '0')}.json`;
}

export function keyObjectKey(keyId: string): string {
  return `keys/${keyId}.pem`;
}

interface EventRow {
  seq: string;
  leaf_index?: string | null;
  at_text: string;
  workstation_id: string;
  type: string;
  actor_kind: string;
  actor_id: string;
  evidence_id: string | null;
  session_id: string | null;
  file_id: string | null;
  details: { [key: string]: JsonValue };
  prev_hash: string | null;
  key_id: string;
  hash: string;
  signature: string;
}

interface CheckpointRow {
  tree_size: string;
  root_hash: string;
  at_text: string;
  key_id: string;
  signature: string;
}

function rowToCheckpoint(row: CheckpointRow): Checkpoint {
  return { treeSize: Number(row.tree_size), rootHash: row.root_hash, timestamp: row.at_text, keyId: row.key_id, signature: row.signature };
}

/** An event's place in one signed tree head: with the checkpoint's root, it proves the event is in the ledger. */
export interface InclusionProof {
  seq: number;
  leafIndex: number;
  hashes: string[];
}

/** A node lookup over fetched subtree hashes; a missing one is a broken tree, not a miss. */
function lookup(found: ReadonlyMap<string, string>): (level: number, index: number) => string {
  return (level, index) => {
    const hash = found.get(`${level}/${index}`);
    if (hash === undefined) throw new LedgerTreeError(`subtree ${level}/${index} of the ledger's Merkle tree is not stored`);
    return hash;
  };
}

interface Integration {
  checkpoint: Checkpoint;
  first: number;
  seqs: number[];
}

function rowToEvent(row: EventRow): CustodyEvent {
  return {
    seq: Number(row.seq),
    at: row.at_text,
    workstationId: row.workstation_id,
    type: row.type as CustodyEventType,
    actor: { kind: row.actor_kind as CustodyEvent['actor']['kind'], id: row.actor_id },
    evidenceId: row.evidence_id,
    sessionId: row.session_id,
    fileId: row.file_id,
    details: row.details,
    prevHash: row.prev_hash,
    keyId: row.key_id,
    hash: row.hash,
    signature: row.signature,
  };
}

export type TreeProblemKind =
  /** A leaf index with no event row: the row was deleted. */
  | 'leaf-missing'
  /** The leaves in the database are not in the order the write-once bucket recorded. */
  | 'leaf-order-differs'
  /** A stored subtree hash differs from the one its leaves give (leaves reordered or edited, or the node edited). */
  | 'tree-node-mismatch'
  | 'tree-node-missing'
  /** The leaves no longer give the root a signed checkpoint names. */
  | 'root-mismatch'
  | 'bad-checkpoint-signature'
  /** A checkpoint's tree does not extend the one before it (the consistency proof fails). */
  | 'inconsistent-checkpoints'
  | 'checkpoint-not-mirrored'
  | 'checkpoint-differs'
  | 'checkpoint-deleted';

export interface LedgerProblem {
  seq: number | null;
  kind: ChainProblem['kind'] | TreeProblemKind | 'missing-mirror' | 'mirror-differs' | 'row-deleted' | 'key-not-mirrored' | 'key-differs' | 'cleared-unverified' | 'access-log-altered';
  detail: string;
}

export interface LedgerVerification {
  events: number;
  keys: number;
  /** Leaves of the Merkle tree, and the signed checkpoints over it. */
  treeSize: number;
  checkpoints: number;
  problems: LedgerProblem[];
}

/**
 * The append-only, signed custody ledger. Events are written to PostgreSQL inside the
 * caller's transaction (so a state change and its event commit together or not at all)
 * and then mirrored to the write-once ledger bucket, so an edited or deleted database row
 * is detected by comparing the two.
 */
export class CustodyLedger {
  private debounce: NodeJS.Timeout | null = null;
  private periodic: NodeJS.Timeout | null = null;
  private integrating: Promise<unknown> | null = null;
  private closed = false;

  constructor(
    private readonly db: Database,
    private readonly objects: ObjectStore,
    private readonly key: WorkstationKey,
    private readonly workstationId: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Signs other records (an export's tag manifest) with the key that signs this workstation's events. */
  signer(): { keyId: string; signHash(sha256Hex: string): string } {
    return { keyId: this.key.keyId, signHash: (hash) => signHash(hash, this.key.privateKey) };
  }

  /** Registers this workstation's public key (database and write-once bucket), once. */
  async registerKey(): Promise<void> {
    const pem = this.key.publicKeyPem;
    try {
      await this.objects.putDocument('ledger', keyObjectKey(this.key.keyId), Buffer.from(pem), 'application/x-pem-file');
    } catch (error) {
      if (!(error instanceof ObjectExistsError)) throw error;
    }
    const inserted = await this.db.query(
      'INSERT INTO ledger_keys (key_id, workstation_id, public_key_pem) VALUES ($1, $2, $3) ON CONFLICT (key_id) DO NOTHING',
      [this.key.keyId, this.workstationId, pem],
    );
    if (inserted.rowCount === 1) {
      await this.record({
        type: 'KEY_REGISTERED',
        actor: { kind: 'workstation', id: this.workstationId },
        details: { keyId: this.key.keyId, algorithm: 'Ed25519', publicKeyPem: pem },
      });
    }
  }

  /**
   * Appends inside an open transaction. Call `mirror` with the result after COMMIT. No lock:
   * the seq comes from a sequence, so events of concurrent transactions interleave, and one
   * rolled back leaves a gap. A transaction appends after the state change it records, so the
   * row locks of that change order the seqs of events about the same record as their commits.
   */
  async append(tx: Queryable, input: CustodyEventInput): Promise<CustodyEvent> {
    const next = await tx.query<{ seq: string }>("SELECT nextval('custody_event_seq') AS seq");
    const event = sealEvent(
      {
        seq: Number(next.rows[0]!.seq),
        at: this.now().toISOString(),
        workstationId: this.workstationId,
        type: input.type,
        actor: input.actor,
        evidenceId: input.evidenceId ?? null,
        sessionId: input.sessionId ?? null,
        fileId: input.fileId ?? null,
        details: input.details,
        prevHash: null,
        keyId: this.key.keyId,
      },
      this.key.privateKey,
    );
    await tx.query(
      `INSERT INTO custody_events (seq, at, at_text, workstation_id, type, actor_kind, actor_id, evidence_id, session_id, file_id,
         details, prev_hash, key_id, hash, signature)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
      [
        event.seq,
        event.at,
        event.at,
        event.workstationId,
        event.type,
        event.actor.kind,
        event.actor.id,
        event.evidenceId,
        event.sessionId,
        event.fileId,
        JSON.stringify(event.details),
        event.prevHash,
        event.keyId,
        event.hash,
        event.signature,
      ],
    );
    return event;
  }

  /** One event in its own transaction, mirrored. */
  async record(input: CustodyEventInput): Promise<CustodyEvent> {
    const event = await this.db.transaction((tx) => this.append(tx, input));
    await this.mirror([event]);
    return event;
  }

  /**
   * Copies events to the write-once bucket. A failure here loses nothing: the event is
   * committed in PostgreSQL and `mirrorPending` (run at start and by verify) catches up.
   */
  async mirror(events: readonly CustodyEvent[]): Promise<void> {
    if (events.length > 0) this.scheduleIntegration();
    for (const event of events) {
      try {
        await this.objects.putDocument('ledger', eventObjectKey(event.seq), Buffer.from(canonicalJson(event)), 'application/json');
      } catch (error) {
        if (!(error instanceof ObjectExistsError)) {
          log.warn({ seq: event.seq, err: (error as Error).message }, 'ledger mirror deferred');
          return;
        }
      }
    }
  }

  /**
   * Stores what an event seals only by digest (the access records of an ACCESS_LOG_SEALED)
   * in the write-once bucket, so that `evidock reindex` can bring the records back and the
   * digest still proves them. Like `mirror`, a failure is caught up later (`attachedSeqs`).
   */
  async attach(seq: number, records: readonly JsonValue[]): Promise<boolean> {
    try {
      await this.objects.putDocument('ledger', attachmentObjectKey(seq), Buffer.from(canonicalJson([...records])), 'application/json');
      return true;
    } catch (error) {
      if (error instanceof ObjectExistsError) return true;
      log.warn({ seq, err: (error as Error).message }, 'ledger attachment deferred');
      return false;
    }
  }

  /** The events whose attachment the write-once bucket holds. */
  async attachedSeqs(): Promise<Set<number>> {
    const seqs = new Set<number>();
    for await (const object of this.objects.list('ledger', 'attachments/')) {
      const seq = Number(/attachments\/(\d+)\.json$/.exec(object.key)?.[1]);
      if (Number.isFinite(seq)) seqs.add(seq);
    }
    return seqs;
  }

  async mirrorPending(): Promise<number> {
    const mirrored = new Set<number>();
    for await (const object of this.objects.list('ledger', 'events/')) {
      const seq = Number(/events\/(\d+)\.json$/.exec(object.key)?.[1]);
      if (Number.isFinite(seq)) mirrored.add(seq);
    }
    let count = 0;
    for await (const batch of this.inSeqOrder()) {
      const missing = batch.filter((e) => !mirrored.has(e.seq));
      await this.mirror(missing);
      count += missing.length;
    }
    return count + (await this.mirrorPendingTree());
  }

  /** Checkpoints (and the leaf order they cover) committed while MinIO was away. */
  private async mirrorPendingTree(): Promise<number> {
    const mirrored = await this.listNumbered('checkpoints/');
    const checkpoints = await this.checkpoints();
    let count = 0;
    let previous = 0;
    for (const checkpoint of checkpoints) {
      if (!mirrored.has(checkpoint.treeSize)) {
        const rows = await this.db.query<{ seq: string }>('SELECT seq FROM custody_events WHERE leaf_index >= $1 AND leaf_index < $2 ORDER BY leaf_index', [previous, checkpoint.treeSize]);
        if (await this.mirrorTree({ checkpoint, first: previous, seqs: rows.rows.map((r) => Number(r.seq)) })) count++;
      }
      previous = checkpoint.treeSize;
    }
    return count;
  }

  /** Keys under `prefix` named by a number (events/000000000042.json → 42), with the object key. */
  private async listNumbered(prefix: string): Promise<Map<number, string>> {
    const found = new Map<number, string>();
    for await (const object of this.objects.list('ledger', prefix)) {
      const n = Number(/(\d+)\.json$/.exec(object.key)?.[1]);
      if (Number.isFinite(n)) found.set(n, object.key);
    }
    return found;
  }

  // ---- the Merkle tree -------------------------------------------------------------------

  /** Integrates a moment after a commit (one run for a burst); the timer never keeps a process alive. */
  scheduleIntegration(): void {
    if (this.closed || this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = null;
      this.integrateInBackground();
    }, INTEGRATE_DEBOUNCE_MS);
    this.debounce.unref();
  }

  /** Long-running processes (daemon, workers, serve) integrate what others committed, every `ms`. */
  integrateEvery(ms: number): void {
    if (this.closed || this.periodic) return;
    this.periodic = setInterval(() => this.integrateInBackground(), ms);
    this.periodic.unref();
  }

  /** Stops the timers and waits for an integration under way (before the pool closes). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.debounce) clearTimeout(this.debounce);
    if (this.periodic) clearInterval(this.periodic);
    this.debounce = this.periodic = null;
    await this.integrating;
  }

  private integrateInBackground(): void {
    if (this.closed || this.integrating) return;
    this.integrating = this.integrate()
      .catch((error: Error) => log.warn({ err: error.message }, 'ledger integration deferred'))
      .finally(() => (this.integrating = null));
  }

  /**
   * The sequencer: gives the committed events without a leaf their leaf indexes (in seq
   * order), stores the subtrees they complete and signs a checkpoint over the new tree, in
   * batches, each one transaction; then mirrors the checkpoint write-once. Returns the last
   * checkpoint made, or null if there was nothing to do or another process is doing it.
   */
  async integrate(options: { wait?: boolean } = {}): Promise<Checkpoint | null> {
    let last: Checkpoint | null = null;
    for (;;) {
      const step = await this.db.transaction((tx) => this.integrateBatch(tx, options.wait === true));
      if (!step) return last;
      await this.mirrorTree(step);
      last = step.checkpoint;
      if (step.seqs.length < INTEGRATE_BATCH) return last;
    }
  }

  private async integrateBatch(tx: Queryable, wait: boolean): Promise<Integration | null> {
    if (wait) {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [SEQUENCER_LOCK]);
    } else {
      const locked = await tx.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS ok', [SEQUENCER_LOCK]);
      if (!locked.rows[0]!.ok) return null;
    }
    const pending = await tx.query<{ seq: string; hash: string }>('SELECT seq, hash FROM custody_events WHERE leaf_index IS NULL ORDER BY seq LIMIT $1', [INTEGRATE_BATCH]);
    if (pending.rows.length === 0) return null;
    const size = Number((await tx.query<{ size: string }>('SELECT COALESCE(max(leaf_index) + 1, 0) AS size FROM custody_events')).rows[0]!.size);
    const ids = frontierIds(size);
    const known = await this.subtreeHashes(tx, ids);
    const frontier: Frontier = { size, nodes: ids.map((id) => ({ ...id, hash: lookup(known)(id.level, id.index) })) };
    const seqs = pending.rows.map((r) => Number(r.seq));
    const grown = appendLeaves(frontier, pending.rows.map((r) => leafHash(r.hash)));
    if (grown.completed.length > 0) {
      await tx.query('INSERT INTO ledger_tree_nodes (level, idx, hash) SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::text[])', [
        grown.completed.map((n) => n.level),
        grown.completed.map((n) => n.index),
        grown.completed.map((n) => n.hash),
      ]);
    }
    await tx.query('UPDATE custody_events e SET leaf_index = u.leaf FROM unnest($1::bigint[], $2::bigint[]) AS u(seq, leaf) WHERE e.seq = u.seq', [seqs, seqs.map((_, i) => size + i)]);
    const checkpoint = signCheckpoint({ treeSize: grown.frontier.size, rootHash: frontierRoot(grown.frontier), timestamp: this.now().toISOString(), keyId: this.key.keyId }, this.key.privateKey);
    await tx.query('INSERT INTO ledger_checkpoints (tree_size, root_hash, at_text, key_id, signature) VALUES ($1, $2, $3, $4, $5)', [
      checkpoint.treeSize,
      checkpoint.rootHash,
      checkpoint.timestamp,
      checkpoint.keyId,
      checkpoint.signature,
    ]);
    return { checkpoint, first: size, seqs };
  }

  /** Write-once copies of an integration: the leaf order first, then the signed head. */
  private async mirrorTree(step: Integration): Promise<boolean> {
    try {
      await this.putOnce(leavesObjectKey(step.first), canonicalJson({ first: step.first, seqs: step.seqs }));
      await this.putOnce(checkpointObjectKey(step.checkpoint.treeSize), canonicalJson(step.checkpoint));
      return true;
    } catch (error) {
      log.warn({ treeSize: step.checkpoint.treeSize, err: (error as Error).message }, 'checkpoint mirror deferred');
      return false;
    }
  }

  private async putOnce(key: string, text: string): Promise<void> {
    try {
      await this.objects.putDocument('ledger', key, Buffer.from(text), 'application/json');
    } catch (error) {
      if (!(error instanceof ObjectExistsError)) throw error;
    }
  }

  /** Hashes of complete subtrees: leaves from their event rows, larger ones from ledger_tree_nodes. */
  private async subtreeHashes(q: Pick<Queryable, 'query'>, ids: readonly SubtreeId[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    const leaves = ids.filter((id) => id.level === 0).map((id) => id.index);
    const nodes = ids.filter((id) => id.level > 0);
    if (leaves.length > 0) {
      const rows = await q.query<{ leaf_index: string; hash: string }>('SELECT leaf_index, hash FROM custody_events WHERE leaf_index = ANY($1::bigint[])', [leaves]);
      for (const r of rows.rows) found.set(`0/${r.leaf_index}`, leafHash(r.hash));
    }
    if (nodes.length > 0) {
      const rows = await q.query<{ level: number; idx: string; hash: string }>(
        'SELECT n.level, n.idx, n.hash FROM ledger_tree_nodes n JOIN unnest($1::smallint[], $2::bigint[]) AS u(level, idx) ON n.level = u.level AND n.idx = u.idx',
        [nodes.map((n) => n.level), nodes.map((n) => n.index)],
      );
      for (const r of rows.rows) found.set(`${r.level}/${r.idx}`, r.hash);
    }
    return found;
  }

  /** Every signed tree head, smallest tree first. */
  async checkpoints(): Promise<Checkpoint[]> {
    const rows = await this.db.query<CheckpointRow>('SELECT * FROM ledger_checkpoints ORDER BY tree_size');
    return rows.rows.map(rowToCheckpoint);
  }

  /**
   * Inclusion proofs of these events against one signed checkpoint that covers them all (an
   * evidence package carries them, so a third party checks the events are in the ledger
   * without the rest of it). Integrates first; waits a little for another process's
   * integration; events still not covered get no proof.
   */
  async inclusionProofs(seqs: readonly number[]): Promise<{ checkpoint: Checkpoint | null; proofs: InclusionProof[] }> {
    const deadline = Date.now() + PROOF_WAIT_MS;
    if (seqs.length === 0) return { checkpoint: null, proofs: [] };
    for (;;) {
      await this.integrate();
      const latest = (await this.db.query<CheckpointRow>('SELECT * FROM ledger_checkpoints ORDER BY tree_size DESC LIMIT 1')).rows[0];
      const checkpoint = latest ? rowToCheckpoint(latest) : null;
      const rows = await this.db.query<{ seq: string; leaf_index: string | null }>('SELECT seq, leaf_index FROM custody_events WHERE seq = ANY($1::bigint[])', [[...seqs]]);
      const placed = rows.rows.filter((r) => r.leaf_index !== null && checkpoint && Number(r.leaf_index) < checkpoint.treeSize).map((r) => ({ seq: Number(r.seq), leafIndex: Number(r.leaf_index) }));
      if (checkpoint && (placed.length === seqs.length || Date.now() > deadline)) {
        const ranges = placed.map((p) => ({ ...p, ranges: inclusionRanges(p.leafIndex, checkpoint.treeSize) }));
        const hashes = lookup(await this.subtreeHashes(this.db, subtreesOf(ranges.flatMap((r) => r.ranges))));
        return { checkpoint, proofs: ranges.map((r) => ({ seq: r.seq, leafIndex: r.leafIndex, hashes: r.ranges.map(([a, b]) => rangeHash(a, b, hashes)) })) };
      }
      if (!checkpoint && Date.now() > deadline) return { checkpoint: null, proofs: [] };
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The proof that the tree of checkpoint `second` extends that of `first` (RFC 9162 §2.1.4), from the stored subtrees. */
  async consistencyProof(first: number, second: number): Promise<string[]> {
    if (first === second) return [];
    const ranges = consistencyRanges(first, second);
    const hashes = lookup(await this.subtreeHashes(this.db, subtreesOf(ranges)));
    return ranges.map(([a, b]) => rangeHash(a, b, hashes));
  }

  /**
   * A page of the whole ledger in log order (auditors, systems that follow it), optionally one
   * item's events, from leaf position `from`; `next` is where the following page starts.
   * Paged by leaf, not seq: seqs are taken before commit, so an event can commit after one
   * with a higher seq, and a reader resuming after the highest seq it saw would never see it.
   * Leaves are given only to committed events, in order, so a position once read stays read.
   * Pending events are integrated first (waiting for a sequencer already at it), so a page
   * holds every event committed before it was asked for.
   */
  async page(from: number, limit: number, evidenceId?: string): Promise<{ events: CustodyEvent[]; next: number | null }> {
    await this.integrate({ wait: true });
    const rows = await this.db.query<EventRow>(
      `SELECT * FROM custody_events WHERE leaf_index >= $1 AND ($2::uuid IS NULL OR evidence_id = $2::uuid) ORDER BY leaf_index LIMIT $3`,
      [from, evidenceId ?? null, limit],
    );
    const last = rows.rows.at(-1);
    return { events: rows.rows.map(rowToEvent), next: rows.rows.length === limit && last ? Number(last.leaf_index) + 1 : null };
  }

  /** Every event of these types, in order (for checks that concern one kind of event). */
  async eventsOfTypes(types: readonly string[]): Promise<CustodyEvent[]> {
    const rows = await this.db.query<EventRow>('SELECT * FROM custody_events WHERE type = ANY($1::text[]) ORDER BY seq', [types]);
    return rows.rows.map(rowToEvent);
  }

  async eventsFor(filter: { evidenceId?: string; sessionId?: string; fileIds?: string[]; documentId?: string }): Promise<CustodyEvent[]> {
    // A case document's events name it in their details (it is not an evidence row).
    const rows = await this.db.query<EventRow>(
      `SELECT * FROM custody_events
        WHERE ($1::uuid IS NOT NULL AND evidence_id = $1::uuid)
           OR ($2::uuid IS NOT NULL AND session_id = $2::uuid)
           OR (file_id = ANY($3::uuid[]))
           OR ($4::text IS NOT NULL AND details->>'documentId' = $4::text)
        ORDER BY seq`,
      [filter.evidenceId ?? null, filter.sessionId ?? null, filter.fileIds ?? [], filter.documentId ?? null],
    );
    return rows.rows.map(rowToEvent);
  }

  /**
   * Full audit: every event's hash and signature, the chained prefix's links, the Merkle tree
   * (each integrated leaf against the stored subtrees and every checkpoint's root, the
   * checkpoints' signatures and their consistency), keys, and the database against the
   * write-once mirror. Integrates first. Reports every problem it finds.
   */
  async verify(): Promise<LedgerVerification> {
    await this.integrate().catch((error: Error) => log.warn({ err: error.message }, 'integration before verify failed; verifying what is integrated'));
    const problems: LedgerProblem[] = [];
    const keys = await this.trustedKeys(problems);
    const mirrored = await this.listNumbered('events/');

    let count = 0;
    let cursor = LEDGER_START;
    const seen = new Set<number>();
    for await (const batch of this.inSeqOrder()) {
      const checked = verifyLedgerEvents(batch, keys, cursor);
      problems.push(...checked.problems);
      cursor = checked.cursor;
      for (const event of batch) {
        seen.add(event.seq);
        let key = mirrored.get(event.seq);
        // Listed before these rows were read: an event committed meanwhile is mirrored a
        // moment after its commit, so look for it once more before calling it missing.
        if (!key && (await this.objects.stat('ledger', eventObjectKey(event.seq)))) key = eventObjectKey(event.seq);
        if (!key) {
          problems.push({ seq: event.seq, kind: 'missing-mirror', detail: 'event is not in the write-once ledger bucket' });
          continue;
        }
        const stored = await this.objects.readDocument('ledger', key);
        if (!stored || stored.toString('utf8') !== canonicalJson(event)) {
          problems.push({ seq: event.seq, kind: 'mirror-differs', detail: 'database row differs from the write-once copy (row edited)' });
        }
      }
      count += batch.length;
    }
    for (const seq of mirrored.keys()) {
      if (!seen.has(seq)) problems.push({ seq, kind: 'row-deleted', detail: 'event exists in the write-once bucket but not in the database' });
    }
    const tree = await this.verifyTree(keys);
    problems.push(...tree.problems);
    problems.push(...(await this.clearsWithoutVerification()));
    problems.sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
    return { events: count, keys: keys.size, treeSize: tree.treeSize, checkpoints: tree.checkpoints, problems };
  }

  /**
   * The tree as the leaves give it, streamed in leaf order with only its frontier in memory:
   * each subtree a batch completes against the stored one, each checkpoint's root against
   * the leaves, then the checkpoints themselves (signature, mirror, consistency). The tree
   * half of `verify`, public for the bench.
   */
  async verifyTree(keys: ReadonlyMap<string, KeyObject>): Promise<{ treeSize: number; checkpoints: number; problems: LedgerProblem[] }> {
    const problems: LedgerProblem[] = [];
    const add = (kind: TreeProblemKind, seq: number | null, detail: string) => problems.push({ seq, kind, detail });
    const checkpoints = await this.checkpoints();
    const mirrorOrder = await this.mirroredLeafOrder();

    let frontier = EMPTY_FRONTIER;
    let next = 0;
    let broken = false;
    let due = 0;
    const compareNodes = async (completed: readonly StoredNode[]) => {
      if (completed.length === 0) return;
      const stored = await this.subtreeHashes(this.db, completed);
      for (const n of completed) {
        const hash = stored.get(`${n.level}/${n.index}`);
        if (hash === undefined) add('tree-node-missing', null, `subtree ${n.level}/${n.index} (leaves ${n.index * 2 ** n.level}..${(n.index + 1) * 2 ** n.level - 1}) is not stored`);
        else if (hash !== n.hash) add('tree-node-mismatch', null, `stored subtree ${n.level}/${n.index} differs from the hash of its leaves ${n.index * 2 ** n.level}..${(n.index + 1) * 2 ** n.level - 1} (leaves reordered or edited)`);
      }
    };
    for await (const rows of this.leafBatches()) {
      let pending: string[] = [];
      const flush = async () => {
        const grown = appendLeaves(frontier, pending);
        frontier = grown.frontier;
        pending = [];
        await compareNodes(grown.completed);
      };
      for (const row of rows) {
        if (broken) break;
        if (row.leafIndex !== next) {
          add('leaf-missing', mirrorOrder[next] ?? null, `leaves ${next}..${row.leafIndex - 1} have no event row (deleted); the tree after leaf ${next - 1} cannot be checked`);
          broken = true;
          break;
        }
        if (mirrorOrder[next] !== undefined && mirrorOrder[next] !== row.seq) {
          add('leaf-order-differs', row.seq, `leaf ${next} is event ${row.seq} in the database, event ${mirrorOrder[next]} in the write-once bucket (leaves reordered)`);
        }
        pending.push(leafHash(row.hash));
        next++;
        while (due < checkpoints.length && checkpoints[due]!.treeSize === next) {
          await flush();
          const c = checkpoints[due]!;
          if (frontierRoot(frontier) !== c.rootHash) add('root-mismatch', null, `the ${c.treeSize} first leaves no longer give the root of checkpoint ${c.treeSize} (an event edited, reordered or removed)`);
          due++;
        }
      }
      await flush();
      if (broken) break;
    }
    for (const c of checkpoints.slice(due)) {
      if (!broken) add('leaf-missing', null, `checkpoint ${c.treeSize} covers ${c.treeSize} leaves, the database has ${next} (rows deleted)`);
    }

    const mirrored = await this.listNumbered('checkpoints/');
    const inDb = new Set(checkpoints.map((c) => c.treeSize));
    for (const [size, key] of mirrored) {
      if (!inDb.has(size)) add('checkpoint-deleted', null, `checkpoint ${size} is in the write-once bucket (${key}) but not in the database`);
    }
    let previous: Checkpoint | null = null;
    for (const c of checkpoints) {
      if (!checkpointSignatureValid(c, keys)) add('bad-checkpoint-signature', null, `checkpoint ${c.treeSize} is not signed by registered key ${c.keyId}`);
      // A checkpoint committed a moment ago is PUT right after its commit: look twice.
      let copy = await this.objects.readDocument('ledger', mirrored.get(c.treeSize) ?? checkpointObjectKey(c.treeSize));
      if (!copy && c === checkpoints.at(-1)) {
        await new Promise((r) => setTimeout(r, 1000));
        copy = await this.objects.readDocument('ledger', checkpointObjectKey(c.treeSize));
      }
      if (!copy) add('checkpoint-not-mirrored', null, `checkpoint ${c.treeSize} is not in the write-once ledger bucket`);
      else if (copy.toString('utf8') !== canonicalJson(c)) add('checkpoint-differs', null, `checkpoint ${c.treeSize} in the database differs from its write-once copy`);
      if (previous) {
        try {
          const proof = await this.consistencyProof(previous.treeSize, c.treeSize);
          if (!verifyConsistency(previous.treeSize, c.treeSize, proof, previous.rootHash, c.rootHash)) {
            add('inconsistent-checkpoints', null, `checkpoint ${c.treeSize} does not extend checkpoint ${previous.treeSize}: the consistency proof from the stored tree fails`);
          }
        } catch (error) {
          if (!(error instanceof LedgerTreeError)) throw error;
          add('tree-node-missing', null, `no consistency proof from checkpoint ${previous.treeSize} to ${c.treeSize}: ${error.message}`);
        }
      }
      previous = c;
    }
    return { treeSize: next, checkpoints: checkpoints.length, problems };
  }

  /** The leaf order the write-once bucket recorded, leaf index → seq, as far as it runs without a gap. */
  private async mirroredLeafOrder(): Promise<number[]> {
    const order: number[] = [];
    const objects = [...(await this.listNumbered('leaves/'))].sort(([a], [b]) => a - b);
    for (const [first, key] of objects) {
      if (first !== order.length) break;
      const body = await this.objects.readDocument('ledger', key);
      if (!body) break;
      order.push(...(JSON.parse(body.toString('utf8')) as { seqs: number[] }).seqs);
    }
    return order;
  }

  private async *leafBatches(size = 5000): AsyncGenerator<Array<{ leafIndex: number; seq: number; hash: string }>> {
    let after = -1;
    for (;;) {
      const rows = await this.db.query<{ leaf_index: string; seq: string; hash: string }>(
        'SELECT leaf_index, seq, hash FROM custody_events WHERE leaf_index > $1 ORDER BY leaf_index LIMIT $2',
        [after, size],
      );
      if (rows.rows.length === 0) return;
      const batch = rows.rows.map((r) => ({ leafIndex: Number(r.leaf_index), seq: Number(r.seq), hash: r.hash }));
      yield batch;
      after = batch[batch.length - 1]!.leafIndex;
    }
  }

  /**
   * "A recorder is cleared only after its copy is verified in storage", as the ledger shows
   * it: every RECORDER_CLEARED must come after a VERIFIED event of the same file and the
   * same bytes (SHA-256). The rows are the ones whose chain and mirror verify() checks.
   */
  private async clearsWithoutVerification(): Promise<LedgerProblem[]> {
    const rows = await this.db.query<{ seq: string; file_id: string | null; evidence_id: string | null; sha256: string | null }>(
      `SELECT c.seq, c.file_id, c.evidence_id, c.details->>'sha256' AS sha256 FROM custody_events c
        WHERE c.type = 'RECORDER_CLEARED' AND NOT EXISTS (
          SELECT 1 FROM custody_events v
           WHERE v.file_id = c.file_id AND v.seq < c.seq AND v.type = 'VERIFIED' AND v.details->>'sha256' = c.details->>'sha256')
        ORDER BY c.seq`,
    );
    return rows.rows.map((r) => ({
      seq: Number(r.seq),
      kind: 'cleared-unverified' as const,
      detail: `file ${r.file_id ?? '(none)'} of evidence ${r.evidence_id ?? '(none)'} was cleared from its recorder with no earlier VERIFIED event of its bytes (sha256 ${r.sha256 ?? 'not recorded'})`,
    }));
  }

  /** Every registered workstation key, for a reviewer who checks signatures outside evidock. */
  async publicKeys(): Promise<Array<{ keyId: string; workstationId: string; publicKeyPem: string }>> {
    const rows = await this.db.query<{ key_id: string; workstation_id: string; public_key_pem: string }>(
      'SELECT key_id, workstation_id, public_key_pem FROM ledger_keys ORDER BY created_at, key_id',
    );
    return rows.rows.map((r) => ({ keyId: r.key_id, workstationId: r.workstation_id, publicKeyPem: r.public_key_pem }));
  }

  /** Keys are trusted only as the write-once bucket has them; the database copy must agree. */
  private async trustedKeys(problems: LedgerProblem[]): Promise<Map<string, KeyObject>> {
    const keys = new Map<string, KeyObject>();
    const rows = await this.db.query<{ key_id: string; public_key_pem: string }>('SELECT key_id, public_key_pem FROM ledger_keys');
    for (const row of rows.rows) {
      const stored = await this.objects.readDocument('ledger', keyObjectKey(row.key_id));
      if (!stored) {
        problems.push({ seq: null, kind: 'key-not-mirrored', detail: `key ${row.key_id} is not in the write-once ledger bucket` });
        continue;
      }
      if (stored.toString('utf8') !== row.public_key_pem) {
        problems.push({ seq: null, kind: 'key-differs', detail: `key ${row.key_id} in the database differs from its write-once copy` });
      }
      keys.set(row.key_id, publicKeyFromPem(stored.toString('utf8')));
    }
    return keys;
  }

  /** Every event in seq order, in batches: what a full check reads (the legacy chain links by seq). */
  async *inSeqOrder(size = 5000): AsyncGenerator<CustodyEvent[]> {
    let after = 0;
    for (;;) {
      const rows = await this.db.query<EventRow>('SELECT * FROM custody_events WHERE seq > $1 ORDER BY seq LIMIT $2', [after, size]);
      if (rows.rows.length === 0) return;
      const events = rows.rows.map(rowToEvent);
      yield events;
      after = events[events.length - 1]!.seq;
    }
  }
}
