import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { importFolder } from '../../daemon/cli.ts';
import type { Runtime } from '../../daemon/runtime.ts';
import type { FileRow } from '../../storage/catalog.repository.ts';
import { originalKey } from '../../storage/object-store.ts';
import { eventually } from './test-env.ts';

/** What the outage tests (dead servers, Redis Cluster and Sentinel failovers) dock and check. */

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A folder laid out like a GA/T 947 recorder: DCIM/100MEDIA/<device>_<officer>_<start>_<seq>.MP4 */
export function makeRecorder(dir: string, serial: string, count: number, size: number): Map<string, Buffer> {
  const media = join(dir, 'DCIM', '100MEDIA');
  mkdirSync(media, { recursive: true });
  const files = new Map<string, Buffer>();
  for (let i = 1; i <= count; i++) {
    const name = `${serial}_004512_2026112109${String(i).padStart(2, '0')}00_${String(i).padStart(4, '0')}.MP4`;
    const bytes = randomBytes(size + i);
    writeFileSync(join(media, name), bytes);
    const end = new Date(Date.UTC(2026, 10, 21, 1, i, 30));
    utimesSync(join(media, name), end, end);
    files.set(`DCIM/100MEDIA/${name}`, bytes);
  }
  return files;
}

export async function readAll(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c);
  return Buffer.concat(chunks);
}

/** The files of the one session this env has docked so far (undefined until it exists). */
export async function dockedFiles(rt: Runtime, expected: number): Promise<FileRow[] | undefined> {
  const r = await rt.db.query<{ id: string }>('SELECT id FROM dock_sessions ORDER BY started_at DESC LIMIT 1');
  const id = r.rows[0]?.id;
  if (!id) return undefined;
  const files = await rt.catalog.filesOfSession(id);
  return files.length === expected ? files : undefined;
}

/** Every original has exactly one object version: nothing was uploaded twice. */
export async function versionsPerKey(rt: Runtime): Promise<Map<string, number>> {
  const bucket = rt.objects.bucketName('originals');
  const counts = new Map<string, number>();
  const stream = rt.objects.rawClient.listObjects(bucket, 'sha256/', true, { IncludeVersion: true });
  for await (const item of stream) {
    const name = (item as { name?: string }).name;
    if (name) counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return counts;
}

/**
 * What every case asserts once the import has returned: all cleared, each file's bytes
 * stored once and intact, each pipeline step recorded once, the clear after the
 * verification, and a clean `verify --all`.
 */
export async function expectCompleteAndSafe(rt: Runtime, folder: string, sources: Map<string, Buffer>, result: Awaited<ReturnType<typeof importFolder>>) {
  expect(result.files.map((f) => [f.displayPath, f.stage, f.error]).sort()).toEqual(
    [...sources.keys()].sort().map((p) => [p, 'cleared', null]),
  );
  // The session itself is completed by the workers (status done, SESSION_COMPLETED in the
  // ledger). Read from the catalog rather than from importFolder's result: importFolder
  // returns once every file is terminal and may read the session a moment before the last
  // clear's afterStep commits 'done' (a stale snapshot that has nothing to do with outages).
  const completed = await eventually(
    async () => {
      const s = await rt.catalog.getSession(result.session.id);
      return s?.status === 'done' ? s : undefined;
    },
    10_000,
    `session ${result.session.id} marked done`,
  );
  expect(completed.status).toBe('done');
  const sessionEvents = await rt.ledger.eventsFor({ sessionId: result.session.id });
  expect(sessionEvents.filter((e) => e.type === 'SESSION_COMPLETED')).toHaveLength(1);
  expect(readdirSync(join(folder, 'DCIM', '100MEDIA'))).toEqual([]);

  const evidenceRows = await rt.db.query<{ n: string }>('SELECT count(*) AS n FROM evidence');
  expect(Number(evidenceRows.rows[0]!.n)).toBe(sources.size);

  const versions = await versionsPerKey(rt);
  expect(versions.size).toBe(sources.size);
  for (const f of result.files) {
    const original = sources.get(f.displayPath)!;
    expect(f.sha256).toBe(sha256(original));
    const key = originalKey(f.sha256!);
    expect(versions.get(key), `object versions of ${key}`).toBe(1);
    const stored = await readAll((await rt.objects.read('originals', key)) as AsyncIterable<Buffer>);
    expect(stored.length).toBe(original.length);
    expect(sha256(stored)).toBe(sha256(original));

    const events = await rt.ledger.eventsFor({ fileIds: [f.id] });
    const types = events.map((e) => e.type);
    for (const once of ['ACQUIRED', 'STORED', 'VERIFIED', 'RECORDED', 'RECORDER_CLEARED'] as const) {
      expect(types.filter((t) => t === once), `${once} events of ${f.displayPath}: ${types.join(',')}`).toHaveLength(1);
    }
    const verified = events.find((e) => e.type === 'VERIFIED')!;
    const cleared = events.find((e) => e.type === 'RECORDER_CLEARED')!;
    // Nothing leaves the recorder before its stored copy is verified and catalogued.
    expect(verified.details.sha256).toBe(f.sha256);
    expect(verified.seq).toBeLessThan(events.find((e) => e.type === 'RECORDED')!.seq);
    expect(events.find((e) => e.type === 'RECORDED')!.seq).toBeLessThan(cleared.seq);
  }

  // Events written while a server was down may not have reached the write-once mirror yet.
  await rt.ledger.mirrorPending();
  const report = await rt.verify.run({ rehash: true });
  expect(report.ledger.problems).toEqual([]);
  expect(report.items).toHaveLength(sources.size);
  expect(report.items.filter((i) => !i.ok || !i.rehashed)).toEqual([]);
  expect(report.ok).toBe(true);
}

