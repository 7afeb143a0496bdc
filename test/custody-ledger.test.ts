import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importFolder } from '../daemon/cli.ts';
import type { Runtime } from '../daemon/runtime.ts';
import { eventObjectKey } from '../storage/custody-ledger.service.ts';
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
