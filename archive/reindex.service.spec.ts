import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson, GENESIS_HASH, keyIdOf, sealEvent, signCheckpoint, type CustodyEvent, type CustodyEventType, type JsonValue } from '../storage/custody-chain.ts';
import { attachmentObjectKey, checkpointObjectKey, eventObjectKey, keyObjectKey, leavesObjectKey } from '../storage/custody-ledger.service.ts';
import { appendLeaves, EMPTY_FRONTIER, frontierRoot, leafHash } from '../storage/merkle-tree.ts';
import type { StoredObject } from '../storage/object-store.ts';
import type { Queryable } from '../storage/postgres.database.ts';
import { StrictScope } from '../workers/media.fakes.ts';
import { ReindexRefusedError, ReindexService, type RebuiltTree, type ReindexDeps, type ReindexWriter } from './reindex.service.ts';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const KEY_ID = keyIdOf(publicKey);
const PEM = publicKey.export({ type: 'spki', format: 'pem' }).toString();
const SHA = 'b'.repeat(64);
const ITEM = '33333333-3333-4333-8333-333333333333';

function chain(specs: Array<{ type: CustodyEventType; details: { [k: string]: JsonValue }; evidenceId?: string; sessionId?: string; fileId?: string }>): CustodyEvent[] {
  const out: CustodyEvent[] = [];
  for (const s of specs) {
    const prev = out.at(-1);
    out.push(
      sealEvent(
        {
          seq: out.length + 1,
          at: `2026-11-21T02:00:0${out.length}.000Z`,
          workstationId: 'ws-1',
          type: s.type,
          actor: { kind: 'workstation', id: 'ws-1' },
          evidenceId: s.evidenceId ?? null,
          sessionId: s.sessionId ?? null,
          fileId: s.fileId ?? null,
          details: s.details,
          prevHash: prev?.hash ?? GENESIS_HASH,
          keyId: KEY_ID,
        },
        privateKey,
      ),
    );
  }
  return out;
}

const SESSION = '11111111-1111-4111-8111-111111111111';
const FILE = '22222222-2222-4222-8222-222222222222';
const LEDGER = chain([
  { type: 'KEY_REGISTERED', details: { keyId: KEY_ID, algorithm: 'Ed25519', publicKeyPem: PEM } },
  { type: 'DOCKED', sessionId: SESSION, details: { driver: 'directory', mountPath: '/m', identity: { serial: 'ZFY01' }, registered: false, files: 1, bytes: 10, defaults: {} } },
  { type: 'ACQUIRED', sessionId: SESSION, fileId: FILE, evidenceId: ITEM, details: { sha256: SHA, sm3: null, size: 10, devicePath: 'DCIM/A.MP4' } },
  { type: 'VERIFIED', sessionId: SESSION, fileId: FILE, evidenceId: ITEM, details: { etag: 'e1' } },
  { type: 'RECORDED', sessionId: SESSION, fileId: FILE, evidenceId: ITEM, details: { caseNumbers: [], subject: null, place: null, officerId: null, flags: [] } },
  { type: 'ACCESS_LOG_SEALED', details: { first: 1, last: 1, count: 1, digest: 'd' } },
]);

/** What an integration of the first `size` events leaves in the bucket: their order and a signed checkpoint. */
function integrated(events: readonly CustodyEvent[], size: number, root?: string): Array<[string, Buffer]> {
  const tree = appendLeaves(EMPTY_FRONTIER, events.slice(0, size).map((e) => leafHash(e.hash)));
  const checkpoint = signCheckpoint({ treeSize: size, rootHash: root ?? frontierRoot(tree.frontier), timestamp: '2026-11-21T02:01:00.000Z', keyId: KEY_ID }, privateKey);
  return [
    [leavesObjectKey(0), Buffer.from(canonicalJson({ first: 0, seqs: events.slice(0, size).map((e) => e.seq) }))],
    [checkpointObjectKey(size), Buffer.from(canonicalJson(checkpoint))],
  ];
}

function rig(options: { events?: CustodyEvent[]; catalog?: { events: number; items: number }; original?: StoredObject | null; attachment?: boolean; tree?: Array<[string, Buffer]> } = {}) {
  const scope = new StrictScope();
  const events = options.events ?? LEDGER;
  const documents = new Map<string, Buffer>([[keyObjectKey(KEY_ID), Buffer.from(PEM)]]);
  for (const e of events) documents.set(eventObjectKey(e.seq), Buffer.from(canonicalJson(e)));
  if (options.attachment !== false) documents.set(attachmentObjectKey(6), Buffer.from(JSON.stringify([{ id: 1, action: 'view' }])));
  for (const [key, body] of options.tree ?? []) documents.set(key, body);
  const written: { ledger: number; image: number; access: Array<{ seq: number; n: number }> } = { ledger: 0, image: 0, access: [] };
  const trees: Array<{ tree: RebuiltTree; lastSeq: number }> = [];
  const tx = scope.strict<Queryable>('tx', {
    query: async () => ({ rows: [{ events: String(options.catalog?.events ?? 0), items: String(options.catalog?.items ?? 0) }] }),
  });
  const writer = scope.strict<ReindexWriter>('writer', {
    writeLedger: async (_tx: Queryable, _keys: unknown[], batch: CustodyEvent[]) => void (written.ledger += batch.length),
    writeLedgerTree: async (_tx: Queryable, tree: RebuiltTree, lastSeq: number) => void trees.push({ tree, lastSeq }),
    writeCatalogImage: async () => void (written.image += 1),
    writeAccessRecords: async (_tx: Queryable, seq: number, records: unknown[]) => void written.access.push({ seq, n: records.length }),
  });
  const deps: ReindexDeps = {
    db: scope.strict('db', { query: tx.query, transaction: async <T>(work: (q: Queryable) => Promise<T>) => work(tx) }),
    objects: scope.strict('objects', {
      async *list(_bucket: string, prefix: string) {
        for (const key of documents.keys()) if (key.startsWith(prefix)) yield { key, size: 1 };
      },
      readDocument: async (_bucket: string, key: string) => documents.get(key) ?? null,
      stat: async () => (options.original === undefined ? { size: 10, etag: 'e1', checksum: null, versionId: 'v7', metadata: {}, retainUntil: null } : options.original),
    }),
    writer,
    actionMarginMinutes: 30,
  };
  return { service: new ReindexService(deps), written, trees, scope };
}

describe('ReindexService', () => {
  it('writes the verified ledger, the projected catalog and the sealed access records, and reports what it rebuilt', async () => {
    const r = rig();
    const report = await r.service.run();
    expect(report).toMatchObject({ events: 6, keys: 1, items: 1, sessions: 1, accessRecords: 1, accessSealsWithoutRecords: [], originalsMissing: [], skipped: [] });
    expect(r.written).toEqual({ ledger: 6, image: 1, access: [{ seq: 6, n: 1 }] });
    expect(r.scope.unexpected).toEqual([]);
  });

  it('refuses a database that already holds a catalog, before reading storage', async () => {
    const r = rig({ catalog: { events: 3, items: 1 } });
    await expect(r.service.run()).rejects.toMatchObject({ code: 'CATALOG_NOT_EMPTY' });
    expect(r.written).toEqual({ ledger: 0, image: 0, access: [] });
  });

  it('refuses a ledger whose chain does not verify, naming the event, and writes nothing', async () => {
    const forged = LEDGER.map((e) => (e.seq === 4 ? { ...e, details: { etag: 'forged' } } : e));
    const r = rig({ events: forged });
    const error = await r.service.run().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReindexRefusedError);
    expect(error).toMatchObject({ code: 'LEDGER_BROKEN' });
    expect((error as ReindexRefusedError).problems[0]).toMatch(/^#4 hash-mismatch/);
    expect(r.written).toEqual({ ledger: 0, image: 0, access: [] });
  });

  it('refuses a ledger with an event missing from the bucket', async () => {
    const r = rig({ events: LEDGER.filter((e) => e.seq !== 3) });
    await expect(r.service.run()).rejects.toMatchObject({ code: 'LEDGER_BROKEN', problems: expect.arrayContaining([expect.stringMatching(/^#4 sequence-gap/)]) });
  });

  it("restores the Merkle tree from the bucket's leaf order and checkpoints; events not integrated stay without a leaf", async () => {
    const r = rig({ tree: integrated(LEDGER, 4) });
    await r.service.run();
    const [{ tree, lastSeq }] = r.trees as [{ tree: RebuiltTree; lastSeq: number }];
    expect(lastSeq).toBe(6);
    expect([...tree.leafIndexes]).toEqual([
      [1, 0],
      [2, 1],
      [3, 2],
      [4, 3],
    ]);
    // Four leaves complete two pairs and their parent.
    expect(tree.nodes.map((n) => `${n.level}/${n.index}`)).toEqual(['1/0', '1/1', '2/0']);
    expect(tree.checkpoints.map((c) => c.treeSize)).toEqual([4]);
  });

  it('refuses a checkpoint whose root the named leaves do not give, and writes nothing', async () => {
    const r = rig({ tree: integrated(LEDGER, 4, 'ab'.repeat(32)) });
    await expect(r.service.run()).rejects.toMatchObject({ code: 'LEDGER_BROKEN', problems: [expect.stringMatching(/^checkpoint 4: its root/)] });
    expect(r.written).toEqual({ ledger: 0, image: 0, access: [] });
  });

  it('refuses an empty ledger bucket', async () => {
    await expect(rig({ events: [] }).service.run()).rejects.toMatchObject({ code: 'LEDGER_EMPTY' });
  });

  it('rebuilds, and names an original storage no longer holds and seals whose records are not in storage', async () => {
    const r = rig({ original: null, attachment: false });
    const report = await r.service.run();
    expect(report.originalsMissing).toEqual([ITEM]);
    expect(report.accessSealsWithoutRecords).toEqual([6]);
    expect(r.written.access).toEqual([]);
  });
});
