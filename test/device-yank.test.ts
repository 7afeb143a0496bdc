import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../daemon/runtime.ts';
import { MassStorageDriver } from '../drivers/mass-storage.driver.ts';
import { originalKey } from '../storage/object-store.ts';
import { LoopDisk } from './support/loop-disk.ts';
import { ReadThrottle } from './support/read-throttle.ts';
import { createTestEnv, eventually, settleSession, type TestEnv } from './support/test-env.ts';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const RECORDING_BYTES = 48 << 20;
const NAME = 'ZFY8_003_20261202093000_0001.MP4';

// bad-input.test.ts pulls a recorder through a wrapper around its volume, which reads it as a
// stream. Here the recorder is a real block device read the way a mass-storage recorder is,
// through its file handle on the copy thread, and the kernel itself fails the reads.
describe('a recorder pulled mid-copy on the copy thread: a real block device whose reads start failing', () => {
  let env: TestEnv;
  let rt: Runtime;
  const disks: LoopDisk[] = [];
  let throttle: ReadThrottle | null = null;

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('this test needs root: it makes a loop device, mounts it and limits its reads through a cgroup');
    env = await createTestEnv('yankloop');
    rt = await env.runtime();
    rt.startWorkers(['acquire', 'store', 'catalog', 'clear'] as never);
  });
  afterAll(async () => {
    for (const d of disks) d.dispose();
    throttle?.dispose();
    await env?.cleanup();
  });

  it('the file is interrupted with the kernel read error, its spooled prefix kept, and the next docking reads only the rest', async () => {
    const card = join(env.dir, 'card');
    const disk = LoopDisk.create(join(env.dir, 'card.img'), 96 << 20, card);
    disks.push(disk);
    mkdirSync(join(card, 'DCIM'));
    const bytes = randomBytes(RECORDING_BYTES);
    writeFileSync(join(card, 'DCIM', NAME), bytes);
    // The recorder as it is before it is pulled, to plug in again afterwards.
    disk.snapshot(join(env.dir, 'card-again.img'));

    const opened = ReadThrottle.open(card);
    if (typeof opened === 'string') throw new Error(`cannot limit the loop device's reads: ${opened}`);
    throttle = opened;
    // USB 2.0 speed or less, so that the copy is still reading when the cable goes.
    throttle.limit(8e6);
    const first = await throttle.within(async () => {
      const session = await rt.dock.dock((await new MassStorageDriver().probe(card, { serial: 'YANK-LOOP-1' }))!);
      const file = await eventually(async () => (await rt.catalog.filesOfSession(session.id)).find((f) => f.stage === 'acquiring'), 30_000, 'the acquisition to start');
      await eventually(async () => ((await rt.spool.sizeOf(file.fingerprint)) >= RECORDING_BYTES / 6 ? true : undefined), 60_000, 'a sixth of the recording spooled');
      disk.yank();
      return session;
    });

    const [interrupted] = await settleSession(rt, first.id);
    expect(interrupted!.stage).toBe('interrupted');
    expect(interrupted!.error).toMatch(/EIO|i\/o error/i);
    expect(interrupted!.bytesAcquired).toBeGreaterThanOrEqual(RECORDING_BYTES / 6);
    expect(interrupted!.bytesAcquired).toBeLessThan(RECORDING_BYTES);
    // What came off before the pull is durable on the spool, and that is what a resume trusts.
    expect(await rt.spool.sizeOf(interrupted!.fingerprint)).toBe(interrupted!.bytesAcquired);
    const events = await rt.ledger.eventsFor({ fileIds: [interrupted!.id] });
    expect(events.find((e) => e.type === 'ACQUISITION_INTERRUPTED')?.details.reason).toMatch(/EIO|i\/o error/i);
    expect(events.some((e) => e.type === 'RECORDER_CLEARED')).toBe(false);
    await eventually(async () => ((await rt.catalog.getSession(first.id))!.status === 'interrupted' ? true : undefined), 10_000, 'session marked interrupted');

    // Plugged in again, without the limit.
    disk.dispose();
    const again = LoopDisk.attach(join(env.dir, 'card-again.img'), card);
    disks.push(again);
    const second = await rt.dock.dock((await new MassStorageDriver().probe(card, { serial: 'YANK-LOOP-1' }))!);
    const [resumed] = await settleSession(rt, second.id);
    expect(resumed!.stage).toBe('cleared');
    expect(resumed!.sha256).toBe(sha256(bytes));
    const acquired = (await rt.ledger.eventsFor({ fileIds: [resumed!.id] })).find((e) => e.type === 'ACQUIRED')!;
    expect(acquired.details.resumedFromByte).toBe(interrupted!.bytesAcquired);
    expect(acquired.details.bytesReadFromRecorder).toBe(RECORDING_BYTES - interrupted!.bytesAcquired);
    expect((await rt.objects.stat('originals', originalKey(resumed!.sha256!)))?.size).toBe(RECORDING_BYTES);
    expect(existsSync(join(card, 'DCIM', NAME))).toBe(false);
    expect((await rt.catalog.getFile(interrupted!.id))!.stage).toBe('superseded');
    expect((await rt.catalog.getSession(first.id))!.status).toBe('done');
  });
});
