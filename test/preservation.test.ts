import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchiveError } from '../archive/archive.errors.ts';
import { importFolder } from '../daemon/cli.ts';
import type { Runtime } from '../daemon/runtime.ts';
import { ObjectLockedError } from '../storage/minio.object-store.ts';
import { REPO_ROOT } from '../config/config.loader.ts';
import { unzip } from './support/package-tools.ts';
import { createTestEnv, eventually, type TestEnv } from './support/test-env.ts';

function run(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) =>
    execFile(process.execPath, [resolve(REPO_ROOT, 'bin/evidock.js'), ...args], { env: { ...process.env, ...env }, timeout: 120_000, encoding: 'utf8' }, (error, stdout, stderr) =>
      done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

/** The recordings' capture time (from their names, Asia/Shanghai). */
const CAPTURED = new Date('2026-11-21T01:00:00Z');
/** How long after the test starts an unlinked record's retention ends: long enough to see MinIO refuse, short enough to wait for. */
const UNLINKED_SECONDS = 12;

describe('preservation: retention classes, legal hold, two-person purge, case archiving', () => {
  let env: TestEnv;
  let rt: Runtime;
  const ids: Record<'plain' | 'held' | 'cased' | 'ended', string> = { plain: '', held: '', cased: '', ended: '' };

  beforeAll(async () => {
    // No bucket default: each original is locked by its class alone, so an expiry can be seen within the test.
    const unlinkedDays = (Date.now() - CAPTURED.getTime()) / 86_400_000 + UNLINKED_SECONDS / 86_400;
    env = await createTestEnv('preserve', { retention: { mode: 'COMPLIANCE', days: 0, unlinkedDays, caseDays: 1 } });
    rt = await env.runtime();
    const dock = async (serial: string, n: number, opts: { case?: string[] }) => {
      const dir = join(env.dir, serial, 'DCIM');
      mkdirSync(dir, { recursive: true });
      const name = `${serial}_004512_20261121090000_000${n}.MP4`;
      writeFileSync(join(dir, name), randomBytes(50_000));
      utimesSync(join(dir, name), CAPTURED, CAPTURED);
      const result = await importFolder(rt, join(env.dir, serial), { serial, subject: '某药店', place: '某区', json: true, ...opts });
      return result.files[0]!.evidenceId!;
    };
    ids.plain = await dock('ZFYP01', 1, {});
    ids.held = await dock('ZFYP02', 1, {});
    ids.cased = await dock('ZFYP03', 1, { case: ['YB-P-1'] });
    ids.ended = await dock('ZFYP04', 1, { case: ['YB-P-2'] });
  }, 120_000);
  afterAll(async () => env?.cleanup());

  const evidock = (args: string[]) => run(args, env.childEnv);
  const key = async (id: string) => (await rt.catalog.getEvidence(id))!.objectKey;
  const types = async (id: string) => (await rt.ledger.eventsFor({ evidenceId: id })).map((e) => e.type);

  it('gives every recorded item its class and locks its original to that date, which MinIO then enforces', async () => {
    const plain = (await rt.retention.get(ids.plain))!;
    expect(plain.class).toBe('unlinked');
    const cased = (await rt.retention.get(ids.cased))!;
    expect(cased.class).toBe('case');
    // In an open case: kept at least caseDays from now, so it never runs out before archiving.
    expect(cased.retainUntil.getTime()).toBeGreaterThan(Date.now() + 86_400_000 - 60_000);
    const stored = (await rt.objects.stat('originals', await key(ids.plain)))!;
    expect(stored.retainUntil!.getTime()).toBe(plain.retainUntil.getTime());
    expect(await types(ids.plain)).toContain('RETENTION_SET');
    await expect(rt.objects.remove('originals', await key(ids.plain))).rejects.toThrow(ObjectLockedError);
  });

  it('holds an item against any purge, on the object itself', async () => {
    await rt.preservation.holdItem(ids.held, true, '涉诉，暂停销毁', 'custodian-wang');
    expect(await rt.objects.legalHold('originals', await key(ids.held))).toBe(true);
    expect((await rt.retention.get(ids.held))!).toMatchObject({ legalHold: true, holdReason: '涉诉，暂停销毁' });
    expect(await types(ids.held)).toContain('LEGAL_HOLD_SET');
  });

  it('archives an ended case: its bag in write-once storage, ARCHIVED, and its records kept from that day', async () => {
    await expect(rt.lifecycle.archive('YB-P-1', 'custodian-wang', '归档')).rejects.toMatchObject({ code: 'CASE_NOT_ENDED' });
    await rt.lifecycle.end('YB-P-1', new Date(Date.now() - 3 * 86_400_000), 'custodian-wang');
    await rt.lifecycle.end('YB-P-2', new Date(Date.now() - 40 * 86_400_000), 'custodian-wang');
    const before = (await rt.retention.get(ids.cased))!.retainUntil;
    const done = await rt.lifecycle.archive('YB-P-1', 'custodian-wang', '归档');
    expect(done.items).toBe(1);
    const archived = (await rt.objects.stat('originals', done.key))!;
    expect(archived.size).toBe(done.size);
    expect(archived.retainUntil!.getTime()).toBeGreaterThanOrEqual((await rt.retention.get(ids.cased))!.retainUntil.getTime());
    const [c] = await rt.retention.cases(['YB-P-1']);
    expect(c).toMatchObject({ state: 'archived', archiveKey: done.key });
    // Archived now plus caseDays: later than the open-case date, never earlier.
    expect((await rt.retention.get(ids.cased))!.retainUntil.getTime()).toBeGreaterThanOrEqual(before.getTime());
    const events = await rt.db.query<{ type: string }>(`SELECT type FROM custody_events WHERE details->>'caseNumber' = 'YB-P-1' ORDER BY seq`);
    expect(events.rows.map((r) => r.type)).toEqual(expect.arrayContaining(['CASE_ENDED', 'EXPORTED', 'ARCHIVED']));

    // The archived package proves each record's custody offline: every event leads, by its
    // inclusion proof, to the ledger checkpoint signed inside the package.
    const zip = join(env.dir, 'archived.zip');
    await pipeline(await rt.objects.read('originals', done.key), createWriteStream(zip));
    const checked = await evidock(['verify-package', zip, '--json']);
    expect(checked.code, checked.stdout + checked.stderr).toBe(0);
    expect(JSON.parse(checked.stdout)).toMatchObject({ ok: true, caseNumber: 'YB-P-1', items: 1, problems: [] });
    const out = join(env.dir, 'archived');
    unzip(zip, out);
    const bag = join(out, readdirSync(out)[0]!);
    const proofFile = join(bag, 'data', 'custody', `${ids.cased}.proofs.json`);
    const proofs = JSON.parse(readFileSync(proofFile, 'utf8')) as { treeSize: number; proofs: Array<{ seq: number; hashes: string[] }> };
    const checkpoint = JSON.parse(readFileSync(join(bag, 'data', 'ledger-checkpoint.json'), 'utf8')) as { treeSize: number };
    expect(proofs.treeSize).toBe(checkpoint.treeSize);
    const custody = JSON.parse(readFileSync(join(bag, 'data', 'custody', `${ids.cased}.json`), 'utf8')) as Array<{ seq: number }>;
    expect(proofs.proofs.map((p) => p.seq)).toEqual(custody.map((e) => e.seq));
    const [first] = proofs.proofs.filter((p) => p.hashes.length > 0);
    first!.hashes[0] = first!.hashes[0]!.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    writeFileSync(proofFile, JSON.stringify(proofs));
    const tampered = await evidock(['verify-package', bag, '--json']);
    expect(tampered.code).not.toBe(0);
    const problems = (JSON.parse(tampered.stdout) as { problems: Array<{ code: string; file: string; detail: string }> }).problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'checksum-mismatch', file: `data/custody/${ids.cased}.proofs.json` }),
        expect.objectContaining({ code: 'custody-proof', file: `data/custody/${ids.cased}.proofs.json`, detail: expect.stringContaining(`event ${first!.seq}`) }),
      ]),
    );

    const overdue = await rt.lifecycle.overdue();
    expect(overdue.cases).toEqual([expect.objectContaining({ caseNumber: 'YB-P-2', daysLeft: -10, pastDue: true })]);
    // Captured 16 days ago, past the 7-day grace: the two items of no case still miss their case number.
    expect(overdue.missingFields.byOfficer).toEqual([{ officerId: '004512', items: 2, oldest: CAPTURED.toISOString() }]);
    expect(overdue.missingFields.byUnit).toEqual([{ unitId: null, items: 2, oldest: CAPTURED.toISOString() }]);
    // A custodian's view: only its units' records.
    expect((await rt.lifecycle.overdue({ ids: ['GD-SZ'], unassigned: false })).missingFields).toMatchObject({ byOfficer: [], byUnit: [] });
  });

  it('purges only what expired and nothing holds, after a second custodian approves, leaving a tombstone that verify names', async () => {
    // Wait for the unlinked records' retention to run out.
    await eventually(async () => ((await rt.retention.get(ids.plain))!.retainUntil.getTime() < Date.now() - 1000 ? true : undefined), 30_000, 'retention over');
    const run = await rt.preservation.proposePurge('custodian-wang', '保管期限届满');
    // The held item and the items of cases are not proposed.
    expect(run.evidenceIds).toEqual([ids.plain]);
    await expect(rt.preservation.executePurge(run.id, 'custodian-wang')).rejects.toMatchObject({ code: 'PURGE_NOT_APPROVED' });
    await expect(rt.preservation.decidePurge(run.id, 'custodian-wang', true, null)).rejects.toBeInstanceOf(ArchiveError);
    await rt.preservation.decidePurge(run.id, 'custodian-li', true, '同意');
    const result = await rt.preservation.executePurge(run.id, 'custodian-li');
    expect(result).toMatchObject({ purged: [ids.plain], skipped: [], failed: [] });

    expect(await rt.objects.stat('originals', await key(ids.plain))).toBeNull();
    expect(await rt.retention.tombstoneOf(ids.plain)).toMatchObject({ purgeRunId: run.id, approvedBy: 'custodian-li', sha256: (await rt.catalog.getEvidence(ids.plain))!.sha256 });
    expect((await rt.catalog.getEvidence(ids.plain))!.flags).toContain('purged');
    const purgeEvents = (await types(ids.plain)).filter((t) => t.startsWith('PURGE'));
    expect(purgeEvents).toEqual(['PURGED']);
    // The held item's retention is over too, yet MinIO keeps it.
    expect((await rt.retention.get(ids.held))!.retainUntil.getTime()).toBeLessThan(Date.now());
    await expect(rt.objects.remove('originals', await key(ids.held))).rejects.toThrow(ObjectLockedError);
    expect(await rt.objects.stat('originals', await key(ids.held))).not.toBeNull();

    const report = await rt.verify.run({ rehash: false });
    expect(report.items.find((i) => i.evidenceId === ids.plain)).toMatchObject({ ok: true, purged: true, problems: [] });
    expect(report.ok).toBe(true);
    // Running the approved run again deletes nothing more and records nothing more.
    const events = (await rt.ledger.verify()).events;
    expect(await rt.preservation.executePurge(run.id, 'custodian-li')).toMatchObject({ purged: [], skipped: [], failed: [] });
    expect((await rt.ledger.verify()).events).toBe(events);
  });

  it('releases a hold, after which the item is purgeable like any other', async () => {
    await rt.preservation.holdItem(ids.held, false, '诉讼结束', 'custodian-wang');
    expect(await rt.objects.legalHold('originals', await key(ids.held))).toBe(false);
    const run = await rt.preservation.proposePurge('custodian-li', '保管期限届满');
    expect(run.evidenceIds).toEqual([ids.held]);
    await rt.preservation.decidePurge(run.id, 'custodian-wang', false, '暂缓');
    await expect(rt.preservation.executePurge(run.id, 'custodian-li')).rejects.toMatchObject({ code: 'PURGE_NOT_APPROVED' });
    expect(await rt.objects.stat('originals', await key(ids.held))).not.toBeNull();
    expect((await rt.ledger.verify()).problems).toEqual([]);
  });

  it('takes preservation commands only from an active custodian, and lists what is overdue', async () => {
    const PASSWORD = 'Preserve-2026-ok';
    await rt.identity.addUnit({ id: 'SZ', name: '深圳市医疗保障局', parentId: null }, 'test');
    await rt.identity.addUser({ name: 'zhao', role: 'custodian', unitIds: ['SZ'], password: PASSWORD }, 'test');
    await rt.identity.addUser({ name: 'qian', role: 'supervisor', unitIds: ['SZ'], password: PASSWORD }, 'test');
    const refused = await evidock(['hold', ids.cased, '--reason', '复议', '--by', 'qian']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('qian 不是在岗的证据管理员');
    expect((await rt.retention.get(ids.cased))!.legalHold).toBe(false);
    const held = await evidock(['hold', ids.cased, '--reason', '复议', '--by', 'zhao']);
    expect(held.stdout).toContain(`已冻结证据 ${ids.cased}`);
    expect(held.code).toBe(0);
    const overdue = await evidock(['case', 'overdue']);
    expect(overdue.stdout).toContain('YB-P-2  已超期 10 天');
    const shown = await evidock(['retention', 'apply', ids.cased, '--json']);
    expect(JSON.parse(shown.stdout)).toEqual([expect.objectContaining({ evidenceId: ids.cased, class: 'case', legalHold: true })]);
  });
});
