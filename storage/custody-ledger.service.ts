import type { KeyObject } from 'node:crypto';
import { moduleLogger } from '../config/logger.ts';
import {
  canonicalJson,
  GENESIS_HASH,
  publicKeyFromPem,
  sealEvent,
  signHash,
  verifyChain,
  type ChainProblem,
  type CustodyEvent,
  type CustodyEventInput,
  type CustodyEventType,
  type JsonValue,
} from './custody-chain.ts';
import type { WorkstationKey } from './ledger-key.store.ts';
import { ObjectExistsError, type ObjectStore } from './object-store.ts';
import type { Database, Queryable } from './postgres.database.ts';

const log = moduleLogger('custody-ledger');
// Serialises appends across every process and workstation sharing the database, so the
// chain stays one line. Held only for the insert's transaction.
const LEDGER_LOCK = 0x6c656467;

export function eventObjectKey(seq: number): string {
  return `events/${String(seq).padStart(12, '0')}.json`;
}

/** Records an event seals by digest (a batch of access-log records), kept write-once beside it. */
export function attachmentObjectKey(seq: number): string {
  return `attachments/${String(seq).padStart(12, '0')}.json`;
}

export function keyObjectKey(keyId: string): string {
  return `keys/${keyId}.pem`;
}

interface EventRow {
  seq: string;
  at_text: string;
  workstation_id: string;
  type: string;
  actor_kind: string;
  actor_id: string;
  evidence_id: string | null;
  session_id: string | null;
  file_id: string | null;
  details: { [key: string]: JsonValue };
  prev_hash: string;
  key_id: string;
  hash: string;
  signature: string;
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

export interface LedgerProblem {
  seq: number | null;
  kind: ChainProblem['kind'] | 'missing-mirror' | 'mirror-differs' | 'row-deleted' | 'key-not-mirrored' | 'key-differs' | 'cleared-unverified' | 'access-log-altered';
  detail: string;
}

export interface LedgerVerification {
  events: number;
  keys: number;
  problems: LedgerProblem[];
}

/**
 * The append-only, signed custody ledger. Events are written to PostgreSQL inside the
 * caller's transaction (so a state change and its event commit together or not at all)
 * and then mirrored to the write-once ledger bucket, so an edited or deleted database row
 * is detected by comparing the two.
 */
export class CustodyLedger {
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

  /** Appends inside an open transaction. Call `mirror` with the result after COMMIT. */
  async append(tx: Queryable, input: CustodyEventInput): Promise<CustodyEvent> {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [LEDGER_LOCK]);
    const last = await tx.query<{ seq: string; hash: string }>('SELECT seq, hash FROM custody_events ORDER BY seq DESC LIMIT 1');
    const prev = last.rows[0];
    const event = sealEvent(
      {
        seq: prev ? Number(prev.seq) + 1 : 1,
        at: this.now().toISOString(),
        workstationId: this.workstationId,
        type: input.type,
        actor: input.actor,
        evidenceId: input.evidenceId ?? null,
        sessionId: input.sessionId ?? null,
        fileId: input.fileId ?? null,
        details: input.details,
        prevHash: prev ? prev.hash : GENESIS_HASH,
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
    for await (const batch of this.batches()) {
      const missing = batch.filter((e) => !mirrored.has(e.seq));
      await this.mirror(missing);
      count += missing.length;
    }
    return count;
  }

  /** A page of the whole ledger in order (auditors), optionally one item's events. */
  async page(afterSeq: number, limit: number, evidenceId?: string): Promise<CustodyEvent[]> {
    const rows = await this.db.query<EventRow>(
      `SELECT * FROM custody_events WHERE seq > $1 AND ($2::uuid IS NULL OR evidence_id = $2::uuid) ORDER BY seq LIMIT $3`,
      [afterSeq, evidenceId ?? null, limit],
    );
    return rows.rows.map(rowToEvent);
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
   * Full audit: chain, signatures, keys, and the database against the write-once mirror.
   * Reports every problem it finds.
   */
  async verify(): Promise<LedgerVerification> {
    const problems: LedgerProblem[] = [];
    const keys = await this.trustedKeys(problems);

    const mirrored = new Map<number, string>();
    for await (const object of this.objects.list('ledger', 'events/')) {
      const seq = Number(/events\/(\d+)\.json$/.exec(object.key)?.[1]);
      if (Number.isFinite(seq)) mirrored.set(seq, object.key);
    }

    let count = 0;
    let tail: CustodyEvent | undefined;
    const seen = new Set<number>();
    for await (const batch of this.batches()) {
      const from = tail ? { seq: tail.seq + 1, prevHash: tail.hash } : undefined;
      problems.push(...verifyChain(batch, keys, from));
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
      tail = batch[batch.length - 1];
    }
    for (const seq of mirrored.keys()) {
      if (!seen.has(seq)) problems.push({ seq, kind: 'row-deleted', detail: 'event exists in the write-once bucket but not in the database' });
    }
    problems.push(...(await this.clearsWithoutVerification()));
    problems.sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
    return { events: count, keys: keys.size, problems };
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

  private async *batches(size = 5000): AsyncGenerator<CustodyEvent[]> {
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
