import { createHash } from 'node:crypto';
import type { CatalogRepository, DerivativeRow, EvidenceRow } from '../storage/catalog.repository.ts';
import type { CustodyEvent } from '../storage/custody-chain.ts';
import type { AccessRepository } from '../storage/access.repository.ts';
import type { CustodyLedger, LedgerProblem, LedgerVerification } from '../storage/custody-ledger.service.ts';
import { sealDigest } from './access-seal.ts';
import { originalKey, type BucketRole, type ObjectStore } from '../storage/object-store.ts';
import type { Database } from '../storage/postgres.database.ts';

export interface ItemVerification {
  evidenceId: string;
  ok: boolean;
  rehashed: boolean;
  /** Deleted by an approved purge (its PURGED custody event), reported as such and not as missing. */
  purged?: boolean;
  problems: string[];
}

/** An item's check with what the scheduled fixity check records of it. */
export interface ItemCheck extends ItemVerification {
  /** The stored original was not there (a missing object, not changed bytes). */
  missing: boolean;
  /** SHA-256 of the stored original's bytes as read back now (null: not re-hashed). */
  storedSha256: string | null;
  /** Bytes read back and hashed (original and derivatives). */
  bytesRead: number;
}

/**
 * Called with each chunk's length as stored bytes are re-hashed; the read waits for it, so a
 * caller can hold a byte rate (fixity.bytesPerSecond) or stop the read by throwing.
 */
export type ReadPace = (bytes: number) => Promise<void> | void;

export interface VerifyRunOptions {
  evidenceId?: string;
  rehash: boolean;
  /** After each item: how many are done of how many (a progress line). */
  onItem?: (done: number, total: number) => void;
}

export interface VerificationReport {
  ok: boolean;
  ledger: LedgerVerification;
  items: ItemVerification[];
}

/**
 * `evidock verify`: the ledger (chain, signatures, mirror), each catalog row against what
 * the ledger says it should be, and each stored original against its verified ETag —
 * with a full read-back and re-hash when asked.
 */
export class VerifyService {
  constructor(
    private readonly db: Database,
    private readonly catalog: CatalogRepository,
    private readonly ledger: CustodyLedger,
    private readonly objects: ObjectStore,
    private readonly access: Pick<AccessRepository, 'sealedBy'>,
  ) {}

  async run(options: VerifyRunOptions): Promise<VerificationReport> {
    const ledger = await this.auditLedger();
    const ids = options.evidenceId ? [options.evidenceId] : await this.catalog.allEvidenceIds();
    const items: ItemVerification[] = [];
    for (const id of ids) {
      items.push(await this.verifyItem(id, options.rehash));
      options.onItem?.(items.length, ids.length);
    }
    if (!options.evidenceId) items.push(...(await this.orphans()));
    return { ok: ledger.problems.length === 0 && items.every((i) => i.ok), ledger, items };
  }

  /** The ledger (chain, signatures, keys, write-once mirror) and the access log's seals. */
  async auditLedger(): Promise<LedgerVerification> {
    const ledger = await this.ledger.verify();
    ledger.problems.push(...(await this.accessSeals()));
    return ledger;
  }

  /**
   * The access log against its seals: each ACCESS_LOG_SEALED (and each ACCESSED written in
   * the request, `access.ledgerEvents: immediate`) names the digest of the records it
   * sealed; a record edited, removed, or moved under the seal changes it.
   */
  async accessSeals(): Promise<LedgerProblem[]> {
    const problems: LedgerProblem[] = [];
    for (const event of await this.ledger.eventsOfTypes(['ACCESS_LOG_SEALED', 'ACCESSED'])) {
      const rows = await this.access.sealedBy(event.seq);
      // A batched item seal: its records carry the batch's seq, checked with the batch.
      if (event.type === 'ACCESSED' && event.details.sealed !== 'immediate') continue;
      const count = event.type === 'ACCESS_LOG_SEALED' ? Number(event.details.count) : (event.details.records as unknown[]).length;
      if (rows.length !== count || sealDigest(rows) !== event.details.digest) {
        problems.push({ seq: event.seq, kind: 'access-log-altered', detail: `the access records sealed by event #${event.seq} (${rows.length} now, ${count} sealed) no longer match its digest` });
      }
    }
    return problems;
  }

  /** One item against its ledger events and stored bytes, without auditing the whole ledger. */
  async verifyItem(id: string, rehash: boolean): Promise<ItemVerification> {
    // Only these fields: they are the `verify --json` contract.
    const { evidenceId, ok, rehashed, problems, purged } = await this.checkItem(id, { rehash });
    return { evidenceId, ok, rehashed, ...(purged ? { purged } : {}), problems };
  }

  /** verifyItem, with what was read and found; `pace` paces (or stops) the re-hash. */
  async checkItem(id: string, options: { rehash: boolean; pace?: ReadPace }): Promise<ItemCheck> {
    const { rehash, pace } = options;
    const problems: string[] = [];
    const row = await this.catalog.getEvidence(id);
    const events = await this.ledger.eventsFor({ evidenceId: id });
    if (!row) return { evidenceId: id, ok: false, rehashed: false, problems: ['catalog row missing'], missing: false, storedSha256: null, bytesRead: 0 };
    // Deleted by an approved purge after its retention ran out: gone on purpose, not missing.
    const purged = events.find((e) => e.type === 'PURGED');
    if (purged) {
      const left = await this.objects.stat('originals', originalKey(row.sha256));
      const unfinished = left ? [`purged by run ${String(purged.details.runId)} but the original is still stored: run evidock purge run ${String(purged.details.runId)}`] : [];
      return { evidenceId: id, ok: unfinished.length === 0, rehashed: false, purged: true, problems: unfinished, missing: false, storedSha256: null, bytesRead: 0 };
    }
    problems.push(...compareWithLedger(row, events));

    const verified = events.filter((e) => e.type === 'VERIFIED').pop();
    const key = originalKey(row.sha256);
    const stored = await this.objects.stat('originals', key);
    if (!verified) problems.push('no VERIFIED custody event: the stored original was never proven to hold the acquired bytes');
    if (!stored) problems.push(`stored original missing: ${key}`);
    else {
      if (verified && stored.etag !== verified.details.etag) problems.push(`stored original changed: etag ${stored.etag}, verified ${String(verified.details.etag)}`);
      if (stored.size !== row.size) problems.push(`stored original size ${stored.size}, catalog ${row.size}`);
      if (!stored.retainUntil) problems.push('stored original has no retention lock');
    }
    let rehashed = false;
    let storedSha256: string | null = null;
    const read = { bytes: 0 };
    const counted: ReadPace = (n) => {
      read.bytes += n;
      return pace?.(n);
    };
    if (rehash && stored) {
      storedSha256 = await hashStored(this.objects, 'originals', key, counted);
      rehashed = true;
      const acquired = events.find((e) => e.type === 'ACQUIRED')?.details.sha256;
      if (storedSha256 !== acquired) problems.push(`re-hash of stored bytes ${storedSha256} differs from acquired ${String(acquired)}`);
    }
    for (const d of await this.catalog.derivativesOf(id)) problems.push(...(await this.derivative(d, events, rehash, counted)));
    return { evidenceId: id, ok: problems.length === 0, rehashed, problems, missing: !stored, storedSha256, bytesRead: read.bytes };
  }

  /**
   * A derivative (proxy, poster, storyboard) against its DERIVED custody event: the catalog
   * row, the stored object's size and ETag and, when re-hashing, its bytes. Derivatives can
   * be regenerated, but one that was replaced must not be shown as made from the original.
   */
  private async derivative(d: DerivativeRow, events: readonly CustodyEvent[], rehash: boolean, pace: ReadPace): Promise<string[]> {
    const name = `derivative ${d.kind} ${d.objectKey}`;
    const derived = events.filter((e) => e.type === 'DERIVED' && e.details.key === d.objectKey).pop();
    if (!derived) return [`${name}: no DERIVED custody event`];
    const problems: string[] = [];
    if (derived.details.sha256 !== d.sha256) problems.push(`${name}: catalog sha256 ${d.sha256} differs from the ledger's ${String(derived.details.sha256)}`);
    const stored = await this.objects.stat('derivatives', d.objectKey);
    if (!stored) return [...problems, `${name}: stored object missing`];
    if (stored.size !== derived.details.size) problems.push(`${name}: stored size ${stored.size} differs from the ledger's ${String(derived.details.size)}`);
    else if (typeof derived.details.etag === 'string' && stored.etag !== derived.details.etag) {
      problems.push(`${name}: stored object changed: etag ${stored.etag}, recorded ${derived.details.etag}`);
    }
    if (rehash) {
      const actual = await hashStored(this.objects, 'derivatives', d.objectKey, pace);
      if (actual !== derived.details.sha256) problems.push(`${name}: re-hash ${actual} differs from the ledger's ${String(derived.details.sha256)}`);
    }
    return problems;
  }

  /** Evidence the ledger recorded whose catalog row has disappeared. */
  async orphans(): Promise<ItemVerification[]> {
    const r = await this.db.query<{ evidence_id: string }>(
      `SELECT DISTINCT e.evidence_id FROM custody_events e
        WHERE e.type = 'RECORDED' AND NOT EXISTS (SELECT 1 FROM evidence v WHERE v.id = e.evidence_id)`,
    );
    return r.rows.map((row) => ({ evidenceId: row.evidence_id, ok: false, rehashed: false, problems: ['catalog row deleted (the ledger recorded it)'] }));
  }
}

/** SHA-256 (hex) of a stored object's bytes as read back now. */
export async function hashStored(objects: Pick<ObjectStore, 'read'>, bucket: BucketRole, key: string, pace?: ReadPace): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of (await objects.read(bucket, key)) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    if (pace) await pace(chunk.length);
  }
  return hash.digest('hex');
}

/** The catalog is a projection of the ledger; any field that disagrees was edited. */
export function compareWithLedger(row: EvidenceRow, events: readonly CustodyEvent[]): string[] {
  const problems: string[] = [];
  const acquired = events.find((e) => e.type === 'ACQUIRED');
  if (!acquired) return ['no ACQUIRED custody event for this evidence'];
  if (acquired.details.sha256 !== row.sha256) problems.push(`catalog sha256 ${row.sha256} differs from the ledger's ${String(acquired.details.sha256)}`);
  if (acquired.details.size !== row.size) problems.push(`catalog size ${row.size} differs from the ledger's ${String(acquired.details.size)}`);

  const recorded = events.find((e) => e.type === 'RECORDED' && !e.details.alreadyCatalogued);
  if (!recorded) return [...problems, 'no RECORDED custody event for this evidence'];
  const expected = {
    caseNumbers: recorded.details.caseNumbers as string[],
    subject: recorded.details.subject as string | null,
    place: recorded.details.place as string | null,
    officerId: recorded.details.officerId as string | null,
  };
  for (const e of events) {
    // Tags change through TAGGED; metadata may fill a missing place (METADATA_EXTRACTED); a
    // docking of the same bytes adds its case, subject and place (LINKED).
    if (e.type !== 'TAGGED' && e.type !== 'METADATA_EXTRACTED' && e.type !== 'LINKED') continue;
    const after = e.details.after as Record<string, unknown>;
    for (const k of Object.keys(expected) as Array<keyof typeof expected>) if (k in after) (expected as Record<string, unknown>)[k] = after[k];
  }
  if (JSON.stringify([...row.caseNumbers].sort()) !== JSON.stringify([...(expected.caseNumbers ?? [])].sort())) {
    problems.push(`catalog case numbers ${JSON.stringify(row.caseNumbers)} differ from the ledger's ${JSON.stringify(expected.caseNumbers)}`);
  }
  for (const k of ['subject', 'place', 'officerId'] as const) {
    if ((row[k] ?? null) !== (expected[k] ?? null)) problems.push(`catalog ${k} ${JSON.stringify(row[k])} differs from the ledger's ${JSON.stringify(expected[k])}`);
  }
  return problems;
}
