import { randomBytes } from 'node:crypto';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importFolder } from '../daemon/cli.ts';
import { parsePeriod, ReportService } from '../archive/report.service.ts';
import type { Runtime } from '../daemon/runtime.ts';
import { ReportRepository } from '../storage/report.repository.ts';
import { createTestEnv, type TestEnv } from './support/test-env.ts';

/** GA/T 947 names carry local (Beijing) start times; the file time is the recording's end. */
function recording(dir: string, name: string, endUtc: string): void {
  const media = join(dir, 'DCIM', '100MEDIA');
  mkdirSync(media, { recursive: true });
  writeFileSync(join(media, name), randomBytes(50_000));
  utimesSync(join(media, name), new Date(endUtc), new Date(endUtc));
}

describe('quarterly statistics from the real catalog', () => {
  let env: TestEnv;
  let rt: Runtime;
  beforeAll(async () => {
    env = await createTestEnv('report', { ingest: { recorderTimeZone: 'Asia/Shanghai' } });
    rt = await env.runtime();
    // Officer 004512, with a case, subject and place: late (recorded in November, docked now).
    const a = join(env.dir, 'a');
    recording(a, 'ZFYR01_004512_20261121090000_0001.MP4', '2026-11-21T01:05:00Z');
    recording(a, 'ZFYR01_004512_20261121100000_0002.MP4', '2026-11-21T02:05:00Z');
    // 07:30 on 1 October in Beijing is still 30 September in UTC, and belongs to the fourth quarter.
    recording(a, 'ZFYR01_004512_20261001073000_0003.MP4', '2026-09-30T23:35:00Z');
    // 23:30 on 30 September in Beijing: third quarter.
    recording(a, 'ZFYR01_004512_20260930233000_0004.MP4', '2026-09-30T15:35:00Z');
    await importFolder(rt, a, { serial: 'ZFYR01', case: ['YB-R-1'], subject: '某药店', place: '某区某路1号', json: true });
    // No officer in the name and no case: incomplete and counted under "no officer".
    const b = join(env.dir, 'b');
    recording(b, 'clip-0001.MP4', '2026-11-25T03:00:00Z');
    await importFolder(rt, b, { serial: 'ZFYR02', json: true });
  }, 120_000);
  afterAll(async () => env?.cleanup());

  it('counts each item once in the quarter of its local capture time, with deadlines and missing fields', async () => {
    const report = await new ReportService(new ReportRepository(rt.db)).build(parsePeriod({ quarter: '2026Q4' }, 'Asia/Shanghai'), 'officer');
    expect(report.rows.map((r) => r.key)).toEqual(['004512', null]);
    expect(report.rows[0]).toMatchObject({ items: 3, late: 3, onTime: 0, complete: 3, missingCase: 0, missingPlace: 0, unregistered: 3 });
    expect(report.rows[1]).toMatchObject({ items: 1, complete: 0, missingCase: 1, missingCollector: 1, missingSubject: 1, missingPlace: 1 });
    expect(report.total.items).toBe(4);
    expect(report.total.bytes).toBe(4 * 50_000);

    const q3 = await new ReportService(new ReportRepository(rt.db)).build(parsePeriod({ quarter: '2026Q3' }, 'Asia/Shanghai'), 'recorder');
    expect(q3.rows).toEqual([expect.objectContaining({ key: 'ZFYR01', items: 1 })]);
  });
});
