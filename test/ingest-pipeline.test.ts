import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importFolder } from '../daemon/cli.ts';
import type { Runtime } from '../daemon/runtime.ts';
import { originalKey } from '../storage/object-store.ts';
import { expectClearedOnceAfterVerified, expectInOrder } from './support/event-order.ts';
import { createTestEnv, eventually, type TestEnv } from './support/test-env.ts';
import { makeRecorder as makeGatRecorder, sha256 } from './support/ingest-checks.ts';

/** A GA/T 947 recorder of serial ZFY0001. */
const makeRecorder = (dir: string, count: number, size = 300_000) => makeGatRecorder(dir, 'ZFY0001', count, size);

describe('dock → verified → cleared', () => {
  let env: TestEnv;
  let rt: Runtime;

  beforeAll(async () => {
    env = await createTestEnv('pipeline', { recorders: [{ serial: 'ZFY0001', officerId: '004512', officerName: '张三', unitId: 'YB-01' }] });
    rt = await env.runtime();
  });
  afterAll(async () => env?.cleanup());

  it('copies, stores write-once, verifies, records and only then clears every file', async () => {
    const dir = join(env.dir, 'rec1');
    const files = makeRecorder(dir, 3);
    const result = await importFolder(rt, dir, { serial: 'ZFY0001', case: ['YB2026-001'], subject: '某药房', place: '某市某区', json: true });

    expect(result.files.map((f) => f.stage)).toEqual(['cleared', 'cleared', 'cleared']);
    expect(result.session.status).toBe('done');
    expect(readdirSync(join(dir, 'DCIM', '100MEDIA'))).toEqual([]);

    for (const f of result.files) {
      const original = files.get(f.displayPath)!;
      expect(f.sha256).toBe(sha256(original));
      const stored = await rt.objects.stat('originals', originalKey(f.sha256!));
      expect(stored?.size).toBe(original.length);
      expect(stored?.retainUntil?.getTime()).toBeGreaterThan(Date.now());
      const chunks: Buffer[] = [];
      for await (const c of (await rt.objects.read('originals', originalKey(f.sha256!))) as AsyncIterable<Buffer>) chunks.push(c);
      expect(sha256(Buffer.concat(chunks))).toBe(f.sha256);

      const { evidence, events } = await rt.evidence.show(f.evidenceId!);
      expect(evidence).toMatchObject({ caseNumbers: ['YB2026-001'], subject: '某药房', place: '某市某区', officerId: '004512', officerName: '张三' });
      expect(evidence.captureStart?.toISOString()).toMatch(/^2026-11-21T01:/);
      expect(evidence.transferLate).toBe(true);
      const types = events.map((e) => e.type);
      // The clear comes after the verification and the catalog entry, never before.
      expectInOrder(types, ['ACQUIRED', 'VERIFIED', 'RECORDED', 'RECORDER_CLEARED']);
      expectClearedOnceAfterVerified(events, f.sha256!);
      // Acquired and stored by this process: the bytes sent were authenticated by the acquisition's seal.
      expect(events.find((e) => e.type === 'STORED')!.details.sentCheck).toBe('seal');
      // Proven by the server's CRC32 checksum (minio.uploadChecksum crc32), which the stat shows too.
      const verified = events.find((e) => e.type === 'VERIFIED')!;
      expect(verified.details).toMatchObject({ proof: 'checksum', expected: stored?.checksum, etag: stored?.etag, sha256: f.sha256 });
      expect(String(verified.details.expected)).toMatch(/^crc32:[A-Za-z0-9+/]{6}==$/);
    }

    const found = await rt.evidence.search({ caseNumber: 'YB2026-001' });
    expect(found).toHaveLength(3);
    const report = await rt.verify.run({ rehash: true });
    expect(report.ledger.problems.map((p) => `${p.seq} ${p.kind}: ${p.detail}`)).toEqual([]);
    expect(report.items.every((i) => i.ok && i.rehashed)).toBe(true);
  });

  it('stores nothing twice when the same folder is imported again', async () => {
    const dir = join(env.dir, 'rec2');
    makeRecorder(dir, 2, 200_000);
    const first = await importFolder(rt, dir, { serial: 'ZFY0002', clear: false, json: true });
    expect(first.files.map((f) => f.stage)).toEqual(['kept', 'kept']);
    const second = await importFolder(rt, dir, { serial: 'ZFY0002', clear: false, json: true });
    expect(second.files.map((f) => [f.stage, f.duplicate])).toEqual([
      ['kept', true],
      ['kept', true],
    ]);
    expect(second.files.map((f) => f.evidenceId)).toEqual(first.files.map((f) => f.evidenceId));
    for (const f of second.files) {
      const events = await rt.ledger.eventsFor({ fileIds: [f.id] });
      expect(events.map((e) => e.type)).toContain('DUPLICATE_ACQUIRED');
      expect(events.find((e) => e.type === 'STORED')).toBeUndefined();
      // Not uploaded again: the stored object's checksum was matched against the spooled copy.
      const stored = await rt.objects.stat('originals', originalKey(f.sha256!));
      expect(events.find((e) => e.type === 'VERIFIED')?.details).toMatchObject({ proof: 'checksum', expected: stored?.checksum });
    }
    // The session's closing event counts its files by stage (from an aggregate query, not
    // by loading every row: see CatalogRepository.stageCounts).
    const completed = await eventually(async () => {
      const events = await rt.ledger.eventsFor({ sessionId: second.files[0]!.sessionId });
      return events.find((e) => e.type === 'SESSION_COMPLETED');
    }, 30_000, 'the second session to complete');
    expect(completed.details).toEqual({ files: 2, stages: { kept: 2 }, duplicates: 2 });
    const unregistered = await rt.evidence.show(first.files[0]!.evidenceId!);
    expect(unregistered.evidence.flags).toEqual(expect.arrayContaining(['unregistered', 'missing-case', 'missing-subject', 'missing-place']));
    expect(existsSync(join(dir, 'DCIM', '100MEDIA'))).toBe(true);
  });

  it('the same bytes docked again under another case are found by that case, with both dockings in the timeline', async () => {
    const dir = join(env.dir, 'rec3');
    makeRecorder(dir, 2, 150_000);
    const first = await importFolder(rt, dir, { serial: 'ZFY0003', case: ['YB2026-A'], clear: false, json: true });
    expect(first.files.map((f) => f.stage)).toEqual(['kept', 'kept']);
    const ids = first.files.map((f) => f.evidenceId!).sort();

    const second = await importFolder(rt, dir, { serial: 'ZFY0003', case: ['YB2026-B'], subject: '某诊所', place: '某县', clear: false, json: true });
    expect(second.files.map((f) => [f.stage, f.duplicate])).toEqual([
      ['kept', true],
      ['kept', true],
    ]);
    // Each case finds the items; the first docking's case stays.
    expect((await rt.evidence.search({ caseNumber: 'YB2026-B' })).map((e) => e.id).sort()).toEqual(ids);
    expect((await rt.evidence.search({ caseNumber: 'YB2026-A' })).map((e) => e.id).sort()).toEqual(ids);
    for (const id of ids) {
      const { evidence, events } = await rt.evidence.show(id);
      expect(evidence).toMatchObject({ caseNumbers: ['YB2026-A', 'YB2026-B'], subject: '某诊所', place: '某县' });
      expect(evidence.flags).not.toEqual(expect.arrayContaining(['missing-case']));
      expect(evidence.flags.filter((f) => f === 'missing-subject' || f === 'missing-place')).toEqual([]);
      // Both dockings are in the item's timeline: each acquired it; the second linked its fields.
      const acquiredIn = events.filter((e) => e.type === 'ACQUIRED').map((e) => e.sessionId);
      expect(acquiredIn).toEqual([first.session.id, second.session.id]);
      const linked = events.filter((e) => e.type === 'LINKED');
      expect(linked).toHaveLength(1);
      expect(linked[0]).toMatchObject({ sessionId: second.session.id, details: { via: 'docking', after: { caseNumbers: ['YB2026-A', 'YB2026-B'], subject: '某诊所', place: '某县' } } });
    }

    // A third docking that names another subject does not overwrite it: the custodian is told.
    await importFolder(rt, dir, { serial: 'ZFY0003', case: ['YB2026-B'], subject: '另一诊所', clear: false, json: true });
    const { evidence, events } = await rt.evidence.show(ids[0]!);
    expect(evidence.subject).toBe('某诊所');
    expect(evidence.flags).toContain('tag-conflict');
    expect(events.filter((e) => e.type === 'LINKED').pop()?.details.conflicts).toEqual({ subject: { item: '某诊所', docking: '另一诊所' } });
    expect((await rt.evidence.search({ flag: 'tag-conflict' })).map((e) => e.id).sort()).toEqual(ids);
    // The catalog is still what the ledger says.
    for (const id of ids) expect((await rt.verify.run({ evidenceId: id, rehash: false })).items[0]!.problems).toEqual([]);
  });

  it('records tag changes as custody events and verify catches an edited row', async () => {
    const [item] = await rt.evidence.search({ serial: 'ZFY0002' });
    // A custodian's worklist: items still missing a case number.
    expect((await rt.evidence.search({ serial: 'ZFY0002', flag: 'missing-case' })).map((e) => e.id)).toContain(item!.id);
    const { evidence, event } = await rt.evidence.tag(item!.id, { caseNumbers: ['YB2026-009'], subject: '某诊所' }, 'custodian-li');
    expect(event.type).toBe('TAGGED');
    expect(evidence.caseNumbers).toEqual(['YB2026-009']);
    expect(evidence.flags).not.toContain('missing-case');
    expect((await rt.evidence.search({ serial: 'ZFY0002', flag: 'missing-case' })).map((e) => e.id)).not.toContain(item!.id);
    // Recorded on 2026-11-21 and docked only now: far past the 24-hour deadline, so on the late list.
    expect(item!.transferLate).toBe(true);
    const late = await rt.evidence.search({ late: true });
    expect(late.map((e) => e.id)).toContain(item!.id);
    expect(late.every((e) => e.transferLate === true)).toBe(true);
    expect((await rt.verify.run({ evidenceId: item!.id, rehash: false })).ok).toBe(true);

    await rt.db.query(`UPDATE evidence SET case_numbers = '{FORGED}' WHERE id = $1`, [item!.id]);
    const report = await rt.verify.run({ evidenceId: item!.id, rehash: false });
    expect(report.ok).toBe(false);
    expect(report.items[0]!.problems.join('\n')).toMatch(/case numbers/);
  });
});
