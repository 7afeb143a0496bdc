import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importFolder } from '../daemon/cli.ts';
import type { Runtime } from '../daemon/runtime.ts';
import type { FileRow } from '../storage/catalog.repository.ts';
import { eventObjectKey } from '../storage/custody-ledger.service.ts';
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
    expect(kinds).toEqual(expect.arrayContaining(['hash-mismatch', 'mirror-differs', 'sequence-gap', 'broken-link', 'row-deleted']));
    expect(report.ledger.problems.find((p) => p.kind === 'row-deleted')!.seq).toBe(Number(victim));
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
