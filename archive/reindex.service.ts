import type { KeyObject } from 'node:crypto';
import { moduleLogger } from '../config/logger.ts';
import {
  checkpointSignatureValid,
  keyIdOf,
  LEDGER_START,
  publicKeyFromPem,
  verifyLedgerEvents,
  type ChainProblem,
  type Checkpoint,
  type CustodyEvent,
  type JsonValue,
} from '../storage/custody-chain.ts';
import { attachmentObjectKey } from '../storage/custody-ledger.service.ts';
import { appendLeaves, EMPTY_FRONTIER, frontierRoot, leafHash, type StoredNode } from '../storage/merkle-tree.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { Queryable } from '../storage/postgres.database.ts';
import { CatalogProjection, type CatalogImage } from './catalog-projection.ts';
import { inParallel } from './case-export.service.ts';

const log = moduleLogger('reindex');

/** Why a rebuild did not start or did not finish: nothing was written. */
export class ReindexRefusedError extends Error {
  constructor(
    readonly code: 'CATALOG_NOT_EMPTY' | 'LEDGER_EMPTY' | 'LEDGER_BROKEN',
    message: string,
    readonly problems: readonly string[] = [],
  ) {
    super(message);
    this.name = 'ReindexRefusedError';
  }
}

/** The ledger's Merkle tree as the write-once bucket recorded it, rebuilt: leaf order, subtree hashes, signed heads. */
export interface RebuiltTree {
  leafIndexes: ReadonlyMap<number, number>;
  nodes: readonly StoredNode[];
  checkpoints: readonly Checkpoint[];
}

export interface ReindexWriter {
  writeLedger(
    tx: Queryable,
    keys: ReadonlyArray<{ keyId: string; workstationId: string; pem: string; at: string }>,
    events: readonly CustodyEvent[],
    leafIndexes: ReadonlyMap<number, number>,
  ): Promise<void>;
  /** The subtrees and checkpoints, and the seq sequence moved past the last event. */
  writeLedgerTree(tx: Queryable, tree: RebuiltTree, lastSeq: number): Promise<void>;
  writeAccessRecords(tx: Queryable, sealedSeq: number, records: readonly { [k: string]: JsonValue }[]): Promise<void>;
  writeCatalogImage(tx: Queryable, img: CatalogImage, options: { actionMarginMinutes: number }): Promise<void>;
}

export interface ReindexDeps {
  db: { query: Queryable['query']; transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> };
  objects: Pick<ObjectStore, 'list' | 'readDocument' | 'stat'>;
  writer: ReindexWriter;
  actionMarginMinutes: number;
  /** Objects read at once from MinIO (events, stats). */
  concurrency?: number;
}

export interface ReindexReport {
  events: number;
  keys: number;
  items: number;
  derivatives: number;
  documents: number;
  cases: number;
  sessions: number;
  accessRecords: number;
  /** Seals whose records the write-once bucket does not hold (sealed before attachments existed, or never stored). */
  accessSealsWithoutRecords: number[];
  /** Items whose original is not in storage and that no purge explains. */
  originalsMissing: string[];
  /** Events the projection could not apply, with why. */
  skipped: CatalogImage['skipped'];
  seconds: number;
}

export type ReindexPhase = 'keys' | 'events' | 'objects' | 'write';

/**
 * `evidock reindex`: the catalog rebuilt from what MinIO holds. The write-once ledger
 * bucket's events are read in order, their chain and signatures checked with the keys the
 * same bucket holds (a broken chain stops the rebuild before anything is written), then
 * folded into the catalog (catalog-projection.ts); the originals and documents are asked
 * for their version and object lock. Everything is written in one transaction into an
 * empty, migrated database, so a rebuild that fails leaves it empty.
 */
export class ReindexService {
  private readonly concurrency: number;

  constructor(private readonly deps: ReindexDeps) {
    this.concurrency = deps.concurrency ?? 16;
  }

  async run(onProgress?: (phase: ReindexPhase, done: number, total: number) => void): Promise<ReindexReport> {
    const started = Date.now();
    await this.refuseUnlessEmpty();
    const { objects } = this.deps;

    const keyObjects = await collect(objects.list('ledger', 'keys/'));
    const keys = new Map<string, KeyObject>();
    const pems = new Map<string, string>();
    for (const o of keyObjects) {
      const pem = (await objects.readDocument('ledger', o.key))?.toString('utf8');
      if (!pem) continue;
      const key = publicKeyFromPem(pem);
      const keyId = /keys\/(.+)\.pem$/.exec(o.key)?.[1] ?? keyIdOf(key);
      keys.set(keyId, key);
      pems.set(keyId, pem);
    }
    onProgress?.('keys', keys.size, keys.size);

    const eventKeys = (await collect(objects.list('ledger', 'events/'))).map((o) => o.key).sort();
    if (eventKeys.length === 0) throw new ReindexRefusedError('LEDGER_EMPTY', 'the write-once ledger bucket holds no events: nothing to rebuild from');

    const projection = new CatalogProjection();
    const events: CustodyEvent[] = [];
    const problems: ChainProblem[] = [];
    let cursor = LEDGER_START;
    for (let i = 0; i < eventKeys.length; i += 1000) {
      const batch = await inParallel(eventKeys.slice(i, i + 1000), this.concurrency, async (key) => {
        const body = await objects.readDocument('ledger', key);
        if (!body) throw new ReindexRefusedError('LEDGER_BROKEN', `ledger object ${key} vanished while it was read`);
        return JSON.parse(body.toString('utf8')) as CustodyEvent;
      });
      const checked = verifyLedgerEvents(batch, keys, cursor);
      problems.push(...checked.problems);
      cursor = checked.cursor;
      if (problems.length > 0) break;
      for (const e of batch) projection.apply(e);
      events.push(...batch);
      onProgress?.('events', events.length, eventKeys.length);
    }
    if (problems.length > 0) {
      const lines = problems.slice(0, 20).map((p) => `#${p.seq} ${p.kind}: ${p.detail}`);
      throw new ReindexRefusedError('LEDGER_BROKEN', `the write-once ledger does not verify (${problems.length} problem(s)); nothing was written`, lines);
    }
    const tree = await this.rebuildTree(events, keys);
    const image = projection.finish();

    const originalsMissing = await this.readObjects(image, onProgress);
    const seals = events.filter((e) => e.type === 'ACCESS_LOG_SEALED' || (e.type === 'ACCESSED' && e.details.sealed === 'immediate'));
    const attachments = await inParallel(seals, this.concurrency, async (e) => ({ seq: e.seq, body: await objects.readDocument('ledger', attachmentObjectKey(e.seq)) }));

    const registered = new Map(events.filter((e) => e.type === 'KEY_REGISTERED').map((e) => [String(e.details.keyId), e]));
    const keyRows = [...pems].map(([keyId, pem]) => ({
      keyId,
      pem,
      workstationId: registered.get(keyId)?.workstationId ?? 'unknown',
      at: registered.get(keyId)?.at ?? events[0]!.at,
    }));
    let accessRecords = 0;
    const accessSealsWithoutRecords: number[] = [];
    onProgress?.('write', 0, 1);
    await this.deps.db.transaction(async (tx) => {
      await this.refuseUnlessEmpty(tx);
      for (let i = 0; i < events.length; i += 5000) await this.deps.writer.writeLedger(tx, i === 0 ? keyRows : [], events.slice(i, i + 5000), tree.leafIndexes);
      await this.deps.writer.writeLedgerTree(tx, tree, events.at(-1)!.seq);
      await this.deps.writer.writeCatalogImage(tx, image, { actionMarginMinutes: this.deps.actionMarginMinutes });
      for (const a of attachments) {
        if (!a.body) {
          accessSealsWithoutRecords.push(a.seq);
          continue;
        }
        const records = JSON.parse(a.body.toString('utf8')) as Array<{ [k: string]: JsonValue }>;
        await this.deps.writer.writeAccessRecords(tx, a.seq, records);
        accessRecords += records.length;
      }
    });
    onProgress?.('write', 1, 1);
    const report: ReindexReport = {
      events: events.length,
      keys: keys.size,
      items: image.evidence.size,
      derivatives: image.derivatives.length,
      documents: image.documents.length,
      cases: image.cases.size,
      sessions: image.sessions.size,
      accessRecords,
      accessSealsWithoutRecords,
      originalsMissing,
      skipped: image.skipped,
      seconds: (Date.now() - started) / 1000,
    };
    log.info({ ...report, skipped: report.skipped.length, originalsMissing: originalsMissing.length, accessSealsWithoutRecords: accessSealsWithoutRecords.length }, 'catalog rebuilt from storage');
    return report;
  }

  /**
   * The Merkle tree from the bucket's leaf lists (`leaves/`, in order, as far as they run
   * without a gap) and signed checkpoints: every checkpoint must be signed by a key of the
   * bucket and be the root of its leaves, or nothing is written. Events the lists do not
   * name (committed, not yet integrated) are integrated again later, after these.
   */
  private async rebuildTree(events: readonly CustodyEvent[], keys: ReadonlyMap<string, KeyObject>): Promise<RebuiltTree> {
    const { objects } = this.deps;
    const bySeq = new Map(events.map((e) => [e.seq, e]));
    const numbered = async (prefix: string) =>
      (await collect(objects.list('ledger', prefix)))
        .map((o) => ({ key: o.key, n: Number(/(\d+)\.json$/.exec(o.key)?.[1]) }))
        .filter((o) => Number.isFinite(o.n))
        .sort((a, b) => a.n - b.n);
    const order: number[] = [];
    for (const o of await numbered('leaves/')) {
      if (o.n !== order.length) break;
      const body = await objects.readDocument('ledger', o.key);
      if (!body) break;
      order.push(...(JSON.parse(body.toString('utf8')) as { seqs: number[] }).seqs);
    }
    const checkpoints: Checkpoint[] = [];
    for (const o of await numbered('checkpoints/')) {
      const body = await objects.readDocument('ledger', o.key);
      if (body) checkpoints.push(JSON.parse(body.toString('utf8')) as Checkpoint);
    }
    const broken: string[] = [];
    const leafIndexes = new Map<number, number>();
    const leaves: string[] = [];
    for (const [index, seq] of order.entries()) {
      const event = bySeq.get(seq);
      if (!event) broken.push(`leaf ${index}: event ${seq} is not in the write-once bucket`);
      else if (leafIndexes.has(seq)) broken.push(`leaf ${index}: event ${seq} is already leaf ${leafIndexes.get(seq)}`);
      else {
        leafIndexes.set(seq, index);
        leaves.push(leafHash(event.hash));
      }
    }
    let frontier = EMPTY_FRONTIER;
    const nodes: StoredNode[] = [];
    for (const c of checkpoints) {
      if (!checkpointSignatureValid(c, keys)) broken.push(`checkpoint ${c.treeSize}: not signed by a key of the bucket`);
      if (c.treeSize > leaves.length) {
        broken.push(`checkpoint ${c.treeSize}: covers more leaves than the bucket's leaf lists name (${leaves.length})`);
        continue;
      }
      const grown = appendLeaves(frontier, leaves.slice(frontier.size, c.treeSize));
      frontier = grown.frontier;
      nodes.push(...grown.completed);
      if (frontierRoot(frontier) !== c.rootHash) broken.push(`checkpoint ${c.treeSize}: its root is not the root of the leaves the bucket names`);
    }
    nodes.push(...appendLeaves(frontier, leaves.slice(frontier.size)).completed);
    if (broken.length > 0) {
      throw new ReindexRefusedError('LEDGER_BROKEN', `the write-once ledger's Merkle tree does not verify (${broken.length} problem(s)); nothing was written`, broken.slice(0, 20));
    }
    return { leafIndexes, nodes, checkpoints };
  }

  /** Version ids and retain-until dates: the objects' own word. */
  private async readObjects(image: CatalogImage, onProgress?: (phase: ReindexPhase, done: number, total: number) => void): Promise<string[]> {
    const { objects } = this.deps;
    const purged = new Set(image.tombstones.map((t) => t.evidenceId));
    const missing: string[] = [];
    const items = [...image.evidence.values()];
    let done = 0;
    await inParallel(items, this.concurrency, async (item) => {
      const stored = await objects.stat('originals', item.objectKey);
      if (stored) {
        item.objectVersion = stored.versionId;
        if (!item.objectEtag) item.objectEtag = stored.etag;
        const r = image.retention.get(item.id);
        if (r && stored.retainUntil && stored.retainUntil > r.retainUntil) r.retainUntil = stored.retainUntil;
      } else if (!purged.has(item.id)) missing.push(item.id);
      if (++done % 500 === 0) onProgress?.('objects', done, items.length);
    });
    await inParallel(image.documents, this.concurrency, async (d) => {
      d.retainUntil = (await objects.stat('originals', d.objectKey))?.retainUntil ?? null;
    });
    onProgress?.('objects', items.length, items.length);
    return missing.sort();
  }

  private async refuseUnlessEmpty(q: Pick<Queryable, 'query'> = this.deps.db): Promise<void> {
    const r = await q.query<{ events: string; items: string }>('SELECT (SELECT count(*) FROM custody_events) AS events, (SELECT count(*) FROM evidence) AS items');
    const row = r.rows[0]!;
    if (Number(row.events) > 0 || Number(row.items) > 0) {
      throw new ReindexRefusedError(
        'CATALOG_NOT_EMPTY',
        `the catalog is not empty (${row.events} custody events, ${row.items} items): reindex rebuilds only into an empty database; create a new one and point the configuration at it`,
      );
    }
  }
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
