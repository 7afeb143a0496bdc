import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importFolder } from '../daemon/cli.ts';
import type { Runtime } from '../daemon/runtime.ts';
import type { FileRow } from '../storage/catalog.repository.ts';
import { checkpointSignatureValid, publicKeyFromPem, type CustodyEvent } from '../storage/custody-chain.ts';
import { checkpointObjectKey, eventObjectKey } from '../storage/custody-ledger.service.ts';
import { loadOrCreateWorkstationKey } from '../storage/ledger-key.store.ts';
import { leafHash, verifyConsistency, verifyInclusion } from '../storage/merkle-tree.ts';
import { MinioObjectStore } from '../storage/minio.object-store.ts';
import { Database } from '../storage/postgres.database.ts';
import { LegacyLedgerWriter } from './support/legacy-ledger.ts';
import { originalKey } from '../storage/object-store.ts';
import { evidenceIdOf } from '../workers/ingest.service.ts';
import { createTestEnv, eventually, type TestEnv } from './support/test-env.ts';

describe('custody ledger', () => {
  let env: TestEnv;
  let rt: Runtime;

  beforeAll(async () => {
    env = await createTestEnv('ledger');
    rt = await env.runtime();
    const dir = join(env.dir, 'rec');
    mkdirSync(join(dir, 'DCIM'), { recursive: true });
    for (let i = 1; i <= 2; i++) writeFileSync(join(dir, 'DCIM', `ZFYL_01_2026112112${i}000_000${i}.MP4`), randomBytes(100_000));
    await importFolder(rt, dir, { serial: 'LEDGER-1', case: ['C-9'], json: true });
  });
  afterAll(async () => env?.cleanup());

  it('is append-only in the database', async () => {
    await expect(rt.db.query(`UPDATE custody_events SET details = '{}' WHERE seq = 2`)).rejects.toThrow(/append-only/);
    await expect(rt.db.query(`DELETE FROM custody_events WHERE seq = 2`)).rejects.toThrow(/append-only/);
  });

  it('mirrors every event to the write-once bucket, which refuses deletion', async () => {
    const events = (await rt.db.query<{ n: string }>('SELECT count(*) AS n FROM custody_events')).rows[0]!.n;
    let mirrored = 0;
    for await (const _ of rt.objects.list('ledger', 'events/')) mirrored++;
    expect(mirrored).toBe(Number(events));
    await expect(rt.objects.remove('ledger', eventObjectKey(1))).rejects.toThrow();
    expect(await rt.objects.readDocument('ledger', eventObjectKey(1))).not.toBeNull();
  });

  it('integrates every event into a Merkle tree under signed, mirrored, consistent checkpoints, and proves any event offline', async () => {
    await rt.ledger.record({ type: 'TAGGED', actor: { kind: 'user', id: 'test' }, details: { after: {} } });
    await rt.ledger.integrate();
    const events = (await rt.db.query<{ n: string; leaves: string; chained: string }>('SELECT count(*) AS n, count(leaf_index) AS leaves, count(*) FILTER (WHERE prev_hash IS NOT NULL) AS chained FROM custody_events')).rows[0]!;
    expect(Number(events.leaves)).toBe(Number(events.n));
    expect(Number(events.chained)).toBe(0);
    const checkpoints = await rt.ledger.checkpoints();
    const last = checkpoints.at(-1)!;
    expect(last.treeSize).toBe(Number(events.n));
    const keys = new Map((await rt.ledger.publicKeys()).map((k) => [k.keyId, publicKeyFromPem(k.publicKeyPem)]));
    for (const c of checkpoints) {
      expect(checkpointSignatureValid(c, keys)).toBe(true);
      expect(JSON.parse((await rt.objects.readDocument('ledger', checkpointObjectKey(c.treeSize)))!.toString('utf8'))).toEqual(c);
    }
    if (checkpoints.length > 1) {
      const first = checkpoints[0]!;
      expect(verifyConsistency(first.treeSize, last.treeSize, await rt.ledger.consistencyProof(first.treeSize, last.treeSize), first.rootHash, last.rootHash)).toBe(true);
    }
    // Each of these events, with its proof and the checkpoint, and nothing else of the ledger.
    const { events: page } = await rt.ledger.page(0, 1000);
    const { checkpoint, proofs } = await rt.ledger.inclusionProofs(page.map((e) => e.seq));
    expect(proofs).toHaveLength(page.length);
    for (const p of proofs) {
      const event = page.find((e) => e.seq === p.seq)!;
      expect(verifyInclusion(p.leafIndex, checkpoint!.treeSize, leafHash(event.hash), p.hashes, checkpoint!.rootHash)).toBe(true);
      expect(verifyInclusion(p.leafIndex, checkpoint!.treeSize, leafHash(page.find((e) => e.seq !== p.seq)!.hash), p.hashes, checkpoint!.rootHash)).toBe(false);
    }
    const report = await rt.verify.run({ rehash: false });
    expect(report.ledger).toMatchObject({ treeSize: last.treeSize, checkpoints: checkpoints.length, problems: [] });
  });

  it('keeps the tree tables append-only, and a leaf index set once', async () => {
    await expect(rt.db.query('UPDATE custody_events SET leaf_index = leaf_index + 1000 WHERE seq = 2')).rejects.toThrow(/append-only/);
    await expect(rt.db.query('DELETE FROM ledger_tree_nodes')).rejects.toThrow(/append-only/);
    await expect(rt.db.query('UPDATE ledger_checkpoints SET root_hash = root_hash')).rejects.toThrow(/append-only/);
  });

  it('pages the log so that a reader following it sees an event that committed after one with a higher seq', async () => {
    const actor = { kind: 'user' as const, id: 'test' };
    const start = (await rt.ledger.page(0, 100_000)).events.length;
    let release!: () => void;
    let appended!: (seq: number) => void;
    const held = new Promise<void>((r) => (release = r));
    const lateSeq = new Promise<number>((r) => (appended = r));
    // A takes its seq first and commits last, as a long dock transaction does.
    const late = rt.db.transaction(async (tx) => {
      const event = await rt.ledger.append(tx, { type: 'TAGGED', actor, details: { after: { order: 'late' } } });
      appended(event.seq);
      await held;
      return event;
    });
    const seqA = await lateSeq;
    const early = await rt.ledger.record({ type: 'TAGGED', actor, details: { after: { order: 'early' } } });
    expect(early.seq).toBeGreaterThan(seqA);
    const first = await rt.ledger.page(start, 1000);
    expect(first.events.map((e) => e.seq)).toEqual([early.seq]);
    release();
    await rt.ledger.mirror([await late]);
    // Resuming after the position read: the late event is there though its seq is lower.
    const second = await rt.ledger.page(start + first.events.length, 1000);
    expect(second.events.map((e) => e.seq)).toEqual([seqA]);
    const page = await rt.ledger.page(start, 1);
    expect(page.next).toBe(start + 1);
  });

  it('detects an edited event and a deleted event even when the trigger is bypassed', async () => {
    expect((await rt.verify.run({ rehash: false })).ok).toBe(true);
    // An owner can switch the trigger off; the hash chain and the mirror still tell.
    await rt.db.query('ALTER TABLE custody_events DISABLE TRIGGER custody_events_no_update');
    await rt.db.query(`UPDATE custody_events SET details = jsonb_set(details, '{size}', '1') WHERE type = 'ACQUIRED' AND seq = (SELECT min(seq) FROM custody_events WHERE type = 'ACQUIRED')`);
    const victim = (await rt.db.query<{ seq: string }>(`SELECT max(seq) AS seq FROM custody_events WHERE type = 'VERIFIED'`)).rows[0]!.seq;
    await rt.db.query('DELETE FROM custody_events WHERE seq = $1', [victim]);
    await rt.db.query('ALTER TABLE custody_events ENABLE TRIGGER custody_events_no_update');

    const report = await rt.verify.run({ rehash: false });
    expect(report.ok).toBe(false);
    const kinds = report.ledger.problems.map((p) => p.kind);
    // A Merkle-log event has no link to break: its deletion leaves a hole in the tree's leaves.
    expect(kinds).toEqual(expect.arrayContaining(['hash-mismatch', 'mirror-differs', 'leaf-missing', 'row-deleted']));
    expect(report.ledger.problems.find((p) => p.kind === 'row-deleted')!.seq).toBe(Number(victim));
    expect(report.ledger.problems.find((p) => p.kind === 'leaf-missing')!.seq).toBe(Number(victim));
  });

  it('pauses acquisition with an alarm when the spool disk is nearly full, and resumes when space returns', async () => {
    const dir = join(env.dir, 'full');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'ZFYF_01_20261121130000_0001.MP4'), randomBytes(200_000));
    rt.config.ingest.spoolMinFreeMiB = 1024 * 1024 * 1024;
    const pending = importFolder(rt, dir, { serial: 'FULL-1', json: true });
    const session = await eventually(async () => {
      const r = await rt.db.query<{ id: string }>(`SELECT id FROM dock_sessions WHERE recorder_serial = 'FULL-1'`);
      return r.rows[0]?.id;
    });
    await eventually(async () => {
      const events = await rt.ledger.eventsFor({ sessionId: session });
      return events.some((e) => e.type === 'SPOOL_FULL') ? true : undefined;
    }, 30_000, 'a SPOOL_FULL alarm');
    const [paused] = await rt.catalog.filesOfSession(session);
    expect(paused!.stage).toBe('queued');
    expect(paused!.error).toBe('spool-full');

    rt.config.ingest.spoolMinFreeMiB = 0;
    const { files } = await pending;
    expect(files.map((f) => f.stage)).toEqual(['cleared']);
    const events = await rt.ledger.eventsFor({ sessionId: session });
    expect(events.filter((e) => e.type === 'SPOOL_FULL')).toHaveLength(1);
  });
});

describe('verify and the rule that a recording is cleared only after its copy is verified', () => {
  let env: TestEnv;
  let rt: Runtime;
  let cleared: FileRow;

  beforeAll(async () => {
    env = await createTestEnv('clearrule');
    rt = await env.runtime();
    const dir = join(env.dir, 'rec');
    mkdirSync(join(dir, 'DCIM'), { recursive: true });
    writeFileSync(join(dir, 'DCIM', 'ZFYR_01_20261121120000_0001.MP4'), randomBytes(100_000));
    [cleared] = (await importFolder(rt, dir, { serial: 'RULE-1', json: true })).files as [FileRow];
  });
  afterAll(async () => env?.cleanup());

  it('names every clear with no earlier VERIFIED of the same bytes, and a stored item that was never verified', async () => {
    expect(cleared.stage).toBe('cleared');
    const clean = await rt.verify.run({ rehash: false });
    expect(clean.ledger.problems).toEqual([]);
    expect(clean.ok).toBe(true);

    const actor = { kind: 'workstation' as const, id: env.config.workstationId };
    const at = { evidenceId: cleared.evidenceId, sessionId: cleared.sessionId };
    const clear = (fileId: string) => rt.ledger.record({ type: 'RECORDER_CLEARED', actor, ...at, fileId, details: { devicePath: 'DCIM/X.MP4', sha256: cleared.sha256 } });
    // Not the item's: its own VERIFIED event is the one its stored copy is checked against.
    const verified = (fileId: string, sha256: string) => rt.ledger.record({ type: 'VERIFIED', actor, sessionId: cleared.sessionId, fileId, details: { sha256 } });
    // Never verified; verified for other bytes; verified only after the clear.
    const [never, otherBytes, tooLate] = [randomUUID(), randomUUID(), randomUUID()];
    await clear(never);
    await verified(otherBytes, 'ab'.repeat(32));
    await clear(otherBytes);
    await clear(tooLate);
    await verified(tooLate, cleared.sha256!);

    // An item stored and catalogued with no VERIFIED event at all.
    const bytes = randomBytes(5000);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const evidenceId = evidenceIdOf(sha256);
    await rt.objects.putDocument('originals', originalKey(sha256), bytes, 'application/octet-stream');
    await rt.ledger.record({ type: 'ACQUIRED', actor, evidenceId, details: { sha256, size: bytes.length } });
    await rt.ledger.record({ type: 'RECORDED', actor, evidenceId, details: { caseNumbers: [], subject: null, place: null, officerId: null } });
    const source = (await rt.catalog.getEvidence(cleared.evidenceId!))!;
    await rt.db.transaction((tx) =>
      rt.catalog.insertEvidence(tx, { ...source, id: evidenceId, sha256, sm3: null, size: bytes.length, objectKey: originalKey(sha256), caseNumbers: [], subject: null, place: null, officerId: null }),
    );

    const report = await rt.verify.run({ rehash: false });
    expect(report.ok).toBe(false);
    const unverified = report.ledger.problems.filter((p) => p.kind === 'cleared-unverified');
    expect(unverified.map((p) => /file (\S+)/.exec(p.detail)?.[1]).sort()).toEqual([never, otherBytes, tooLate].sort());
    expect(report.ledger.problems.filter((p) => p.kind !== 'cleared-unverified')).toEqual([]);
    expect(report.items.find((i) => i.evidenceId === evidenceId)?.problems).toEqual([
      'no VERIFIED custody event: the stored original was never proven to hold the acquired bytes',
    ]);
    expect(report.items.find((i) => i.evidenceId === cleared.evidenceId)?.problems).toEqual([]);
  });
});

describe('custody ledger migrated from the hash chain', () => {
  let env: TestEnv;
  let rt: Runtime;
  const legacy: CustodyEvent[] = [];

  beforeAll(async () => {
    env = await createTestEnv('ledgermig');
    // The database as it was before the Merkle log, and a ledger written the old way.
    const db = new Database(env.config.postgres);
    await db.migrate({ through: '009-sharing.sql' });
    const objects = new MinioObjectStore(env.config.minio, env.config.retention);
    await objects.ensureBuckets();
    const old = new LegacyLedgerWriter(db, objects, loadOrCreateWorkstationKey(join(env.dir, 'old-keys'), 'ws-old'), 'ws-old');
    await old.registerKey();
    for (let i = 0; i < 12; i++) {
      legacy.push(await old.record({ type: 'DOCKED', actor: { kind: 'workstation', id: 'ws-old' }, sessionId: randomUUID(), details: { mountPath: `/media/old-${i}` } }));
    }
    objects.close();
    await db.close();
    rt = await env.runtime();
  });
  afterAll(async () => env?.cleanup());

  it('migrates: the chained events verify as a chain, become the first leaves in seq order, and get inclusion proofs', async () => {
    const report = await rt.verify.run({ rehash: false });
    expect(report.ledger.problems).toEqual([]);
    expect(report.ok).toBe(true);
    const rows = await rt.db.query<{ seq: string; leaf_index: string; prev_hash: string | null }>('SELECT seq, leaf_index, prev_hash FROM custody_events ORDER BY seq');
    const chained = rows.rows.filter((r) => r.prev_hash !== null);
    expect(chained).toHaveLength(13);
    expect(chained.map((r) => Number(r.leaf_index))).toEqual(chained.map((_, i) => i));
    // This workstation's key, registered after the migration: the first event of the Merkle log.
    expect(rows.rows.at(-1)).toMatchObject({ seq: '14', leaf_index: '13', prev_hash: null });

    const { checkpoint, proofs } = await rt.ledger.inclusionProofs(legacy.map((e) => e.seq));
    for (const [i, p] of proofs.entries()) expect(verifyInclusion(p.leafIndex, checkpoint!.treeSize, leafHash(legacy[i]!.hash), p.hashes, checkpoint!.rootHash)).toBe(true);

    // New events after the migrated ones: the later tree extends the first.
    const first = checkpoint!;
    for (let i = 0; i < 3; i++) await rt.ledger.record({ type: 'UNDOCKED', actor: { kind: 'workstation', id: env.config.workstationId }, details: { mountPath: `/media/new-${i}` } });
    const later = (await rt.ledger.integrate())!;
    expect(later.treeSize).toBe(first.treeSize + 3);
    expect(verifyConsistency(first.treeSize, later.treeSize, await rt.ledger.consistencyProof(first.treeSize, later.treeSize), first.rootHash, later.rootHash)).toBe(true);
    expect((await rt.verify.run({ rehash: false })).ledger.problems).toEqual([]);
  });

  it('names leaves reordered, a chained event edited, and a checkpoint forged, even with the triggers off', async () => {
    await rt.db.query('ALTER TABLE custody_events DISABLE TRIGGER USER');
    // Two Merkle-log events swap places in the tree.
    const [a, b] = (await rt.db.query<{ seq: string; leaf_index: string }>('SELECT seq, leaf_index FROM custody_events WHERE prev_hash IS NULL ORDER BY seq DESC LIMIT 2')).rows;
    await rt.db.query('UPDATE custody_events SET leaf_index = -1 WHERE seq = $1', [a!.seq]);
    await rt.db.query('UPDATE custody_events SET leaf_index = $1 WHERE seq = $2', [a!.leaf_index, b!.seq]);
    await rt.db.query('UPDATE custody_events SET leaf_index = $1 WHERE seq = $2', [b!.leaf_index, a!.seq]);
    // A chained event's link rewritten.
    await rt.db.query(`UPDATE custody_events SET prev_hash = repeat('f', 64) WHERE seq = 5`);
    await rt.db.query('ALTER TABLE custody_events ENABLE TRIGGER USER');
    // A checkpoint between two real ones, of a root the tree never had, its signature copied.
    const checkpoints = await rt.ledger.checkpoints();
    const last = checkpoints.at(-1)!;
    expect(checkpoints.map((c) => c.treeSize)).not.toContain(last.treeSize - 1);
    await rt.db.query('INSERT INTO ledger_checkpoints (tree_size, root_hash, at_text, key_id, signature) VALUES ($1, $2, $3, $4, $5)', [
      last.treeSize - 1,
      'ab'.repeat(32),
      new Date().toISOString(),
      last.keyId,
      last.signature,
    ]);

    const report = await rt.verify.run({ rehash: false });
    expect(report.ok).toBe(false);
    const kinds = new Set(report.ledger.problems.map((p) => p.kind));
    for (const kind of ['leaf-order-differs', 'tree-node-mismatch', 'root-mismatch', 'broken-link', 'hash-mismatch', 'mirror-differs', 'bad-checkpoint-signature', 'checkpoint-not-mirrored', 'inconsistent-checkpoints'] as const) {
      expect(kinds, JSON.stringify(report.ledger.problems, null, 1)).toContain(kind);
    }
    expect(report.ledger.problems.find((p) => p.kind === 'broken-link')!.seq).toBe(5);
  });
});
