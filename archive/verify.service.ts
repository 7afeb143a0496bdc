import { createHash } from 'node:crypto';
import type { CatalogRepository, DerivativeRow, EvidenceRow } from '../storage/catalog.repository.ts';
import type { CustodyEvent } from '../storage/custody-chain.ts';
import type { AccessRepository } from '../storage/access.repository.ts';
import type { CustodyLedger, LedgerProblem, LedgerVerification } from '../storage/custody-ledger.service.ts';
import { sealDigest } from './access-seal.ts';
import { originalKey, type ObjectStore } from '../storage/object-store.ts';
import type { Database } from '../storage/postgres.database.ts';

export interface ItemVerification {
  evidenceId: string;
  ok: boolean;
  rehashed: boolean;
  /** Deleted by an approved purge (its PURGED custody event), reported as such and not as missing. */
  purged?: boolean;
  problems: string[];
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

  async run(options: { evidenceId?: string; rehash: boolean }): Promise<VerificationReport> {
    const ledger = await this.ledger.verify();
    ledger.problems.push(...(await this.accessSeals()));
    const ids = options.evidenceId ? [options.evidenceId] : await this.catalog.allEvidenceIds();
    const items: ItemVerification[] = [];
    for (const id of ids) items.push(await this.item(id, options.rehash));
    if (!options.evidenceId) items.push(...(await this.orphans()));
    return { ok: ledger.problems.length === 0 && items.every((i) => i.ok), ledger, items };
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
  verifyItem(id: string, rehash: boolean): Promise<ItemVerification> {
    return this.item(id, rehash);
  }

  private async item(id: string, rehash: boolean): Promise<ItemVerification> {
    const problems: string[] = [];
    const row = await this.catalog.getEvidence(id);
    const events = await this.ledger.eventsFor({ evidenceId: id });
    if (!row) return { evidenceId: id, ok: false, rehashed: false, problems: ['catalog row missing'] };
    // Deleted by an approved purge after its retention ran out: gone on purpose, not missing.
    const purged = events.find((e) => e.type === 'PURGED');
    if (purged) {
      const left = await this.objects.stat('originals', originalKey(row.sha256));
      const unfinished = left ? [`purged by run ${String(purged.details.runId)} but the original is still stored: run evidock purge run ${String(purged.details.runId)}`] : [];
      return { evidenceId: id, ok: unfinished.length === 0, rehashed: false, purged: true, problems: unfinished };
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
    if (rehash && stored) {
      const hash = createHash('sha256');
      for await (const chunk of (await this.objects.read('originals', key)) as AsyncIterable<Buffer>) hash.update(chunk);
      const actual = hash.digest('hex');
      rehashed = true;
      const acquired = events.find((e) => e.type === 'ACQUIRED')?.details.sha256;
      if (actual !== acquired) problems.push(`re-hash of stored bytes ${actual} differs from acquired ${String(acquired)}`);
    }
    for (const d of await this.catalog.derivativesOf(id)) problems.push(...(await this.derivative(d, events, rehash)));
    return { evidenceId: id, ok: problems.length === 0, rehashed, problems };
  }

  /**
   * A derivative (proxy, poster, storyboard) against its DERIVED custody event: the catalog
   * row, the stored object's size and ETag and, when re-hashing, its bytes. Derivatives can
   * be regenerated, but one that was replaced must not be shown as made from the original.
   */
  private async derivative(d: DerivativeRow, events: readonly CustodyEvent[], rehash: boolean): Promise<string[]> {
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
      const hash = createHash('sha256');
      for await (const chunk of (await this.objects.read('derivatives', d.objectKey)) as AsyncIterable<Buffer>) hash.update(chunk);
      const actual = hash.digest('hex');
      if (actual !== derived.details.sha256) problems.push(`${name}: re-hash ${actual} differs from the ledger's ${String(derived.details.sha256)}`);
    }
    return problems;
  }

  /** Evidence the ledger recorded whose catalog row has disappeared. */
  private async orphans(): Promise<ItemVerification[]> {
    const r = await this.db.query<{ evidence_id: string }>(
      `SELECT DISTINCT e.evidence_id FROM custody_events e
        WHERE e.type = 'RECORDED' AND NOT EXISTS (SELECT 1 FROM evidence v WHERE v.id = e.evidence_id)`,
    );
    return r.rows.map((row) => ({ evidenceId: row.evidence_id, ok: false, rehashed: false, problems: ['catalog row deleted (the ledger recorded it)'] }));
  }
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
