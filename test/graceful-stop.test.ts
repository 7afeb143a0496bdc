import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workDirOf } from '../config/config.loader.ts';
import type { Runtime } from '../daemon/runtime.ts';
import { DirectoryDriver } from '../drivers/directory.driver.ts';
import { MassStorageDriver } from '../drivers/mass-storage.driver.ts';
import { makeRecorderFootage } from '../scripts/make-footage.ts';
import { JobName, queueNameOf, QueueName, SHARED_QUEUES } from '../workers/job.types.ts';
import { LoopDisk } from './support/loop-disk.ts';
import { ReadThrottle } from './support/read-throttle.ts';
import { createTestEnv, eventually, settleSession, type TestEnv } from './support/test-env.ts';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Jobs of a queue by state, as `evidock jobs` shows them. */
async function countsOf(rt: Runtime, queue: QueueName): Promise<Record<string, number>> {
  const name = queueNameOf(queue, rt.config.workstationId);
  return (await rt.queue.counts()).find((c) => c.queue === name)!.counts;
}

// What SIGTERM does to a daemon or worker host (`pm2 stop`, `pm2 restart` after an update):
// Runtime.close() closes the worker pool, which stops the jobs in flight at a safe point and
// hands them back to their queues, and the next process goes on from there.
describe('stopping a process mid-job (SIGTERM): the jobs in flight stop at a safe point and the next process goes on', () => {
  let env: TestEnv;
  const disks: LoopDisk[] = [];
  let throttle: ReadThrottle | null = null;

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('this test needs root: it makes a loop device, mounts it and limits its reads through a cgroup');
    env = await createTestEnv('gracestop', { media: { metadataConcurrency: 1, transcodeConcurrency: 1 } });
  });
  afterAll(async () => {
    for (const d of disks) d.dispose();
    throttle?.dispose();
    await env?.cleanup();
  });

  it('an acquisition stops before its next read with its spool durable, goes back to its queue, and resumes from there', async () => {
    const RECORDING_BYTES = 48 << 20;
    const card = join(env.dir, 'card');
    const disk = LoopDisk.create(join(env.dir, 'card.img'), 96 << 20, card);
    disks.push(disk);
    mkdirSync(join(card, 'DCIM'));
    const bytes = randomBytes(RECORDING_BYTES);
    writeFileSync(join(card, 'DCIM', 'ZFY8_004_20261204093000_0001.MP4'), bytes);
    // Read from the device, not from the page cache the write left.
    disk.flush();
    const opened = ReadThrottle.open(card);
    if (typeof opened === 'string') throw new Error(`cannot limit the loop device's reads: ${opened}`);
    throttle = opened;
    // USB 2.0 speed or less, so that the copy is still reading when the process is stopped.
    throttle.limit(8e6);

    const first = await env.runtime();
    first.startWorkers([QueueName.Acquire, QueueName.Store, QueueName.Clear, QueueName.Catalog]);
    const session = await throttle.within(async () => {
      const docked = await first.dock.dock((await new MassStorageDriver().probe(card, { serial: 'STOP-LOOP-1' }))!);
      const file = await eventually(async () => (await first.catalog.filesOfSession(docked.id)).find((f) => f.stage === 'acquiring'), 30_000, 'the acquisition to start');
      await eventually(async () => ((await first.spool.sizeOf(file.fingerprint)) >= RECORDING_BYTES / 6 ? true : undefined), 60_000, 'a sixth of the recording spooled');
      await first.close();
      return docked;
    });

    const second = await env.runtime();
    const [stopped] = await second.catalog.filesOfSession(session.id);
    // Not interrupted, not failed: the recorder is still docked and the file still being acquired.
    expect(stopped!.stage).toBe('acquiring');
    expect(stopped!.error).toBeNull();
    expect(stopped!.bytesAcquired).toBeGreaterThanOrEqual(RECORDING_BYTES / 6);
    expect(stopped!.bytesAcquired).toBeLessThan(RECORDING_BYTES);
    // What the copy wrote before it stopped is on the spool, and is what a resume trusts.
    expect(await second.spool.sizeOf(stopped!.fingerprint)).toBe(stopped!.bytesAcquired);
    const before = await second.ledger.eventsFor({ fileIds: [stopped!.id] });
    expect(before.map((e) => e.type)).not.toContain('ACQUISITION_INTERRUPTED');
    expect(before.map((e) => e.type)).not.toContain('ACQUIRED');
    // Handed back: waiting (in its place among the docking's files) for the next process, with
    // no failed attempt on record.
    const acquire = await countsOf(second, QueueName.Acquire);
    expect(acquire).toMatchObject({ active: 0, delayed: 0, failed: 0 });
    expect(acquire.waiting! + acquire.prioritized!).toBe(1);

    // The next process (pm2's restart), at full speed: it takes the job and reads only the rest.
    second.startWorkers([QueueName.Acquire, QueueName.Store, QueueName.Clear, QueueName.Catalog]);
    const [done] = await settleSession(second, session.id);
    expect(done!.stage).toBe('cleared');
    expect(done!.sha256).toBe(sha256(bytes));
    const events = await second.ledger.eventsFor({ fileIds: [done!.id] });
    expect(events.find((e) => e.type === 'ACQUISITION_RESUMED')?.details.fromByte).toBe(stopped!.bytesAcquired);
    const acquired = events.find((e) => e.type === 'ACQUIRED')!;
    expect(acquired.details.resumedFromByte).toBe(stopped!.bytesAcquired);
    expect(acquired.details.bytesReadFromRecorder).toBe(RECORDING_BYTES - stopped!.bytesAcquired);
    expect((await second.queue.failed()).length).toBe(0);
    await second.close();
  }, 180_000);

  it('a proxy transcode in its sandbox is cut off (ffmpeg killed, workspace removed), goes back to its queue, and the next process makes it', async () => {
    const dir = join(env.dir, 'rec');
    // Long enough that the proxy is still being made when the process is stopped.
    await makeRecorderFootage(dir, { files: 1, seconds: 40, width: 1280, height: 720, audio: false, photo: false, serial: 'ZFYSTOP2' });
    const first = await env.runtime();
    first.startWorkers([QueueName.Acquire, QueueName.Store, QueueName.Clear, ...SHARED_QUEUES]);
    const session = await first.dock.dock((await new DirectoryDriver().probe(dir, { serial: 'ZFYSTOP2' }))!);
    const proxy = await eventually(
      async () => (await first.queue.active()).find((j) => j.name === JobName.Proxy && ((j.progress as { percent?: number } | null)?.percent ?? 0) > 0),
      120_000,
      'the proxy transcode to be under way',
    );
    const evidenceId = (proxy.data as { evidenceId: string }).evidenceId;
    await first.close();

    const second = await env.runtime();
    const transcode = await countsOf(second, QueueName.Transcode);
    expect(transcode).toMatchObject({ active: 0, delayed: 0, failed: 0 });
    expect(transcode.waiting! + transcode.prioritized!).toBeGreaterThanOrEqual(1);
    expect((await second.catalog.derivativesOf(evidenceId)).map((d) => d.kind)).not.toContain('proxy');
    // ffmpeg was killed and the job's workspace (its copy of the original) removed.
    const work = workDirOf(env.config);
    expect(existsSync(work) ? readdirSync(work) : []).toEqual([]);

    second.startWorkers([QueueName.Acquire, QueueName.Store, QueueName.Clear, ...SHARED_QUEUES]);
    await settleSession(second, session.id);
    const made = await eventually(async () => (await second.catalog.derivativesOf(evidenceId)).find((d) => d.kind === 'proxy'), 180_000, 'the proxy made by the next process');
    expect(made.partial).toBe(false);
    expect((await second.evidence.show(evidenceId)).evidence.media.status).toBe('ok');
    expect((await second.queue.failed()).length).toBe(0);
    await second.close();
  }, 420_000);
});
