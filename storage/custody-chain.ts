import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

/**
 * The custody ledger's data model and its pure cryptography: canonical form, hash chain,
 * Ed25519 signatures. Storage of events lives in custody-ledger.service.ts; this file only
 * decides what an event's bytes are and whether a sequence of events is intact.
 */

export const CUSTODY_EVENT_TYPES = [
  'KEY_REGISTERED',
  'DOCKED',
  'RECORDER_UNREGISTERED',
  'CLOCK_OFFSET',
  'FILES_LISTED',
  'FILE_SKIPPED',
  'GAP_DETECTED',
  'ACQUIRED',
  'ACQUISITION_INTERRUPTED',
  'ACQUISITION_RESUMED',
  'HASH_MISMATCH',
  'SPOOL_FULL',
  'STORED',
  'DUPLICATE_ACQUIRED',
  'VERIFIED',
  'VERIFY_FAILED',
  'RECORDED',
  'RECORDER_CLEARED',
  'CLEAR_REFUSED',
  'FILE_FAILED',
  'TAGGED',
  'UNDOCKED',
  'SESSION_COMPLETED',
  'METADATA_EXTRACTED',
  'MEDIA_PROBLEM',
  'DERIVED',
  /** A version of a redaction project saved: its full spec, author and note (the recording is untouched). */
  'REDACTION_SAVED',
  /** Face suggestions made for an item's redaction: the model, sample rate, frames and every suggested box. */
  'REDACTION_SUGGESTED',
  /** A suggested box rejected by a custodian (an accepted one is in the REDACTION_SAVED event of its version). */
  'REDACTION_SUGGESTION_REJECTED',
  'EXPORTED',
  /** What another docking of the same bytes said of them (case, subject, place), added to the item. */
  'LINKED',
  /** A docking whose owner process is gone, taken over by another process (session-lease.ts). */
  'SESSION_TAKEN_OVER',
  /** A file of an abandoned docking on another workstation, ingested again by this docking. */
  'FILE_TAKEN_OVER',
  /** A change to who may see evidence: a unit, user, API key or recorder registration. */
  'ADMINISTERED',
  /** An item removed from a case, with the reason. */
  'UNLINKED',
  /** A text record of a case (PDF, scan, photo, office file), stored write-once. */
  'DOCUMENT_ADDED',
  /** An enforcement action registered for a case (officers, window, subject, place). */
  'ACTION_REGISTERED',
  /** A suggested recording of an enforcement action confirmed or rejected by a custodian. */
  'MATCH_DECIDED',
  /** A stored original re-hashed on request, and the result. */
  'FIXITY_CHECKED',
  /** A batch of the scheduled fixity cycle: names every item it re-hashed and the hash its stored bytes had. */
  'FIXITY_BATCH_CHECKED',
  /** A stored original that is missing or no longer matches (on the item), or a ledger that fails its check (no item). */
  'FIXITY_FAILED',
  /** A fixity cycle done: every item checked, then the ledger and its write-once mirror. */
  'FIXITY_CYCLE_COMPLETED',
  'ACCESS_REQUESTED',
  'ACCESS_APPROVED',
  'ACCESS_REFUSED',
  'ACCESS_EXPIRED',
  /** Views, playbacks and downloads of the item, sealed from the access log (names the records and their hash). */
  'ACCESSED',
  /** A batch of access-log records (searches included), sealed by hash. */
  'ACCESS_LOG_SEALED',
  /** A record's retention class or retain-until date moved (only ever later), and why. */
  'RETENTION_SET',
  'LEGAL_HOLD_SET',
  'LEGAL_HOLD_RELEASED',
  /** A purge run proposed by one custodian, approved or refused by another. */
  'PURGE_PROPOSED',
  'PURGE_APPROVED',
  'PURGE_REFUSED',
  /** Written before the bytes are deleted: no deletion without its record. */
  'PURGED',
  /** An item of an approved run that was not deleted after all (held, extended, linked meanwhile). */
  'PURGE_SKIPPED',
  'PURGE_FAILED',
  /** The case's enforcement action ended: the 30 days to archive it start. */
  'CASE_ENDED',
  'CASE_MARKED_MAJOR',
  /** The case's package is in write-once storage (归档). */
  'ARCHIVED',
  /** A share link for a named recipient: the items with their hashes, the copies made, mode, expiry, approval and the token's SHA-256 (never the token). */
  'SHARE_CREATED',
  /** A share link closed before its expiry, by whom and why. */
  'SHARE_REVOKED',
  /** A de-identified disclosure copy written for publication (公示): the file, its source and hash, the fields written. */
  'DISCLOSED',
] as const;

export type CustodyEventType = (typeof CUSTODY_EVENT_TYPES)[number];

export type ActorKind = 'workstation' | 'officer' | 'user' | 'system';

export interface Actor {
  kind: ActorKind;
  id: string;
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface CustodyEventInput {
  type: CustodyEventType;
  actor: Actor;
  evidenceId?: string | null;
  sessionId?: string | null;
  fileId?: string | null;
  details: { [key: string]: JsonValue };
}

/** The signed body of an event: everything that the hash covers. */
export interface CustodyEventBody {
  seq: number;
  at: string;
  workstationId: string;
  type: CustodyEventType;
  actor: Actor;
  evidenceId: string | null;
  sessionId: string | null;
  fileId: string | null;
  details: { [key: string]: JsonValue };
  /**
   * The hash of the event before it (a chained event, written before the ledger became a
   * Merkle log), or null: the event's place is proven by the ledger's Merkle tree instead.
   */
  prevHash: string | null;
  keyId: string;
}

export interface CustodyEvent extends CustodyEventBody {
  hash: string;
  signature: string;
}

/** prevHash of the first chained event. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * Deterministic JSON: keys sorted at every level, no whitespace. The hash must not depend
 * on how PostgreSQL's jsonb or a JSON library happens to order keys.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('non-finite number in custody event');
    if (value === undefined) return 'null';
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function hashEventBody(body: CustodyEventBody): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

export function signHash(hash: string, privateKey: KeyObject): string {
  return sign(null, Buffer.from(hash, 'hex'), privateKey).toString('base64');
}

export function verifySignature(hash: string, signature: string, publicKey: KeyObject): boolean {
  try {
    return verify(null, Buffer.from(hash, 'hex'), publicKey, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

/** Key id: the first 16 hex digits of the SHA-256 of the DER public key. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}

export function publicKeyFromPem(pem: string): KeyObject {
  return createPublicKey(pem);
}

export function privateKeyFromPem(pem: string): KeyObject {
  return createPrivateKey(pem);
}

export function sealEvent(body: CustodyEventBody, privateKey: KeyObject): CustodyEvent {
  const hash = hashEventBody(body);
  return { ...body, hash, signature: signHash(hash, privateKey) };
}

export function bodyOf(event: CustodyEvent): CustodyEventBody {
  const { hash: _hash, signature: _signature, ...body } = event;
  return body;
}

export type ChainProblemKind = 'sequence-gap' | 'hash-mismatch' | 'broken-link' | 'bad-signature' | 'unknown-key';

/**
 * A signed tree head of the ledger's Merkle tree: the tree of its first `treeSize` leaves has
 * `rootHash`. Signed like an event: Ed25519 over SHA-256 of the canonical JSON of the body.
 */
export interface CheckpointBody {
  treeSize: number;
  rootHash: string;
  timestamp: string;
  keyId: string;
}

export interface Checkpoint extends CheckpointBody {
  signature: string;
}

export function checkpointHash(body: CheckpointBody): string {
  const { treeSize, rootHash, timestamp, keyId } = body;
  return createHash('sha256').update(canonicalJson({ treeSize, rootHash, timestamp, keyId })).digest('hex');
}

export function signCheckpoint(body: CheckpointBody, privateKey: KeyObject): Checkpoint {
  return { ...body, signature: signHash(checkpointHash(body), privateKey) };
}

export function checkpointSignatureValid(checkpoint: Checkpoint, keys: ReadonlyMap<string, KeyObject>): boolean {
  const key = keys.get(checkpoint.keyId);
  return Boolean(key) && verifySignature(checkpointHash(checkpoint), checkpoint.signature, key!);
}

export interface ChainProblem {
  seq: number;
  kind: ChainProblemKind;
  detail: string;
}

/** What one event proves on its own: its body hashes to its hash, and a known key signed it. */
function eventProblems(event: CustodyEvent, keys: ReadonlyMap<string, KeyObject>): ChainProblem[] {
  const problems: ChainProblem[] = [];
  if (hashEventBody(bodyOf(event)) !== event.hash) {
    problems.push({ seq: event.seq, kind: 'hash-mismatch', detail: 'event content does not match its hash (edited)' });
  }
  const key = keys.get(event.keyId);
  if (!key) {
    problems.push({ seq: event.seq, kind: 'unknown-key', detail: `signed by unregistered key ${event.keyId}` });
  } else if (!verifySignature(event.hash, event.signature, key)) {
    problems.push({ seq: event.seq, kind: 'bad-signature', detail: `signature does not verify with key ${event.keyId}` });
  }
  return problems;
}

/**
 * Checks that events (sorted by seq, starting at `from`) form one unbroken, signed chain.
 * Every problem is reported, not just the first, so an auditor sees the whole damage.
 */
export function verifyChain(
  events: readonly CustodyEvent[],
  keys: ReadonlyMap<string, KeyObject>,
  from: { seq: number; prevHash: string } = { seq: 1, prevHash: GENESIS_HASH },
): ChainProblem[] {
  const problems: ChainProblem[] = [];
  let expectedSeq = from.seq;
  let prevHash = from.prevHash;
  for (const event of events) {
    if (event.seq !== expectedSeq) {
      problems.push({ seq: event.seq, kind: 'sequence-gap', detail: `expected event ${expectedSeq}, found ${event.seq}` });
    }
    const own = eventProblems(event, keys);
    problems.push(...own.filter((p) => p.kind === 'hash-mismatch'));
    if (event.prevHash !== prevHash) {
      problems.push({ seq: event.seq, kind: 'broken-link', detail: 'previous-hash link does not match the event before it' });
    }
    problems.push(...own.filter((p) => p.kind !== 'hash-mismatch'));
    prevHash = event.hash;
    expectedSeq = event.seq + 1;
  }
  return problems;
}

/** Where `verifyLedgerEvents` left off: the chained prefix's tail, and whether it has ended. */
export interface LedgerCursor {
  chainTail: { seq: number; prevHash: string } | null;
  merkle: boolean;
}

export const LEDGER_START: LedgerCursor = { chainTail: null, merkle: false };

/**
 * The whole ledger in seq order, a batch at a time: the chained prefix (events of before the
 * Merkle log) as one unbroken chain from seq 1, then events each sealed and signed on its own,
 * whose seqs may skip (a rolled-back transaction's) and whose order the tree proves.
 */
export function verifyLedgerEvents(
  events: readonly CustodyEvent[],
  keys: ReadonlyMap<string, KeyObject>,
  cursor: LedgerCursor = LEDGER_START,
): { problems: ChainProblem[]; cursor: LedgerCursor } {
  const problems: ChainProblem[] = [];
  let { chainTail, merkle } = cursor;
  const chained: CustodyEvent[] = [];
  const flushChain = () => {
    if (chained.length === 0) return;
    problems.push(...verifyChain(chained, keys, chainTail ? { seq: chainTail.seq + 1, prevHash: chainTail.prevHash } : undefined));
    const last = chained[chained.length - 1]!;
    chainTail = { seq: last.seq, prevHash: last.hash };
    chained.length = 0;
  };
  for (const event of events) {
    if (event.prevHash !== null && !merkle) {
      chained.push(event);
      continue;
    }
    flushChain();
    if (event.prevHash !== null) {
      problems.push({ seq: event.seq, kind: 'broken-link', detail: 'a chained event after the ledger became a Merkle log: it was inserted' });
    }
    merkle = true;
    problems.push(...eventProblems(event, keys));
  }
  flushChain();
  return { problems, cursor: { chainTail, merkle } };
}

/**
 * Checks a selection from the chain (one record's events, as a package carries them): each
 * event's hash and signature, ascending order, and the link wherever two events are
 * consecutive in the chain. Gaps between them are other records' events, not damage.
 */
export function verifyEventSelection(events: readonly CustodyEvent[], keys: ReadonlyMap<string, KeyObject>): ChainProblem[] {
  const problems: ChainProblem[] = [];
  let previous: CustodyEvent | null = null;
  for (const event of events) {
    if (previous && event.seq <= previous.seq) {
      problems.push({ seq: event.seq, kind: 'sequence-gap', detail: `event ${event.seq} follows event ${previous.seq}` });
    } else if (previous && event.seq === previous.seq + 1 && event.prevHash !== null && event.prevHash !== previous.hash) {
      problems.push({ seq: event.seq, kind: 'broken-link', detail: 'previous-hash link does not match the event before it' });
    }
    problems.push(...eventProblems(event, keys));
    previous = event;
  }
  return problems;
}
