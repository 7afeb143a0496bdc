import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { REPO_ROOT } from '../config/config.loader.ts';
import type { Runtime } from '../daemon/runtime.ts';
import { DirectoryDriver } from '../drivers/directory.driver.ts';
import type { FileRow } from '../storage/catalog.repository.ts';
import type { CustodyEvent } from '../storage/custody-chain.ts';
import { originalKey } from '../storage/object-store.ts';
import { copyWithDigests } from '../workers/acquire.copier.ts';
import { JobName, jobIdOf, JobStatus, QueueName } from '../workers/job.types.ts';
import { expectClearedOnceAfterVerified, expectInOrder } from './support/event-order.ts';
import { createTestEnv, eventually, type TestEnv } from './support/test-env.ts';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function writeRecorder(dir: string, count: number, size: number): Map<string, string> {
  mkdirSync(join(dir, 'DCIM'), { recursive: true });
  const hashes = new Map<string, string>();
  for (let i = 1; i <= count; i++) {
    const name = `ZFYC_007_2026112108${String(i).padStart(2, '0')}00_${String(i).padStart(4, '0')}.MP4`;
    const bytes = randomBytes(size);
    writeFileSync(join(dir, 'DCIM', name), bytes);
    hashes.set(`DCIM/${name}`, sha256(bytes));
  }
  return hashes;
}

async function done(rt: Runtime, sessionId: string, timeoutMs = 90_000): Promise<FileRow[]> {
  return eventually(
    async () => {
      // Session done: its last custody event (SESSION_COMPLETED) is committed too.
      if ((await rt.catalog.getSession(sessionId))?.status !== 'done') return undefined;
      const files = await rt.catalog.filesOfSession(sessionId);
      return files.length > 0 && files.every((f) => ['cleared', 'kept', 'failed'].includes(f.stage)) ? files : undefined;
    },
    timeoutMs,
    'session to finish',
  );
}

/** The invariants of "nothing is lost" after any crash. */
async function assertNothingLost(rt: Runtime, files: FileRow[], expected: Map<string, string>): Promise<void> {
  expect(files.map((f) => f.stage)).toEqual(files.map(() => 'cleared'));
  for (const f of files) {
    expect(f.sha256).toBe(expected.get(f.displayPath));
    const events: CustodyEvent[] = await rt.ledger.eventsFor({ fileIds: [f.id] });
    const types = events.map((e) => e.type);
    expect(types.filter((t) => t === 'ACQUIRED')).toHaveLength(1);
    expectClearedOnceAfterVerified(events, f.sha256!);
    expectInOrder(types, ['ACQUIRED', 'VERIFIED', 'RECORDED', 'RECORDER_CLEARED']);
    const uploads = events.filter((e) => e.type === 'STORED' && e.details.uploaded === true);
    expect(uploads.length).toBeLessThanOrEqual(1);
    const stored = await rt.objects.stat('originals', originalKey(f.sha256!));
    expect(stored?.metadata.sha256).toBe(f.sha256);
  }
  // A process that is still running mirrors its newest events a moment after committing them.
  await eventually(async () => ((await rt.ledger.mirrorPending()) === 0 ? true : undefined), 10_000, 'the ledger mirror to catch up');
  const report = await rt.verify.run({ rehash: true });
  expect(report.ledger.problems.map((p) => `${p.seq} ${p.kind}: ${p.detail}`)).toEqual([]);
  expect(report.ok).toBe(true);
}

describe('crash and resume', () => {
  let env: TestEnv;

  beforeAll(async () => {
    env = await createTestEnv('crash');
  });
  afterAll(async () => env?.cleanup());

  it('resumes from every step boundary and from inside each step, without copying or uploading twice', async () => {
    const dir = join(env.dir, 'stepwise');
    const expected = writeRecorder(dir, 4, 3 << 20);
    const rt1 = await env.runtime();
    const session = await rt1.dock.dock((await new DirectoryDriver().probe(dir, { serial: 'CRASH-1' }))!);
    const files = await rt1.catalog.filesOfSession(session.id);
    const [inAcquire, afterAcquire, inStore, inClear] = files as [FileRow, FileRow, FileRow, FileRow];
    const payload = (f: FileRow) => ({ fileId: f.id, sessionId: session.id, serial: 'CRASH-1' });

    // 1. Died mid-copy after a checkpoint: 1 MiB safely in the spool.
    const volume = (await rt1.volumes.resolve(session))!;
    await copyWithDigests({
      source: await volume.open(inAcquire.rawPath, 0),
      spoolPath: rt1.spool.pathOf(inAcquire.fingerprint),
      resumeFrom: 0,
      algorithms: ['sha256'],
      checkpointBytes: 1 << 30,
    });
    await rt1.spool.truncateTo(inAcquire.fingerprint, (1 << 20) + 12345);
    await rt1.catalog.updateFile(rt1.db, inAcquire.id, { stage: 'acquiring', bytesAcquired: 1 << 20 });
    // 2. Died between acquire and store.
    await rt1.ingest.handleAcquire(payload(afterAcquire));
    // 3. Died after the upload, before the catalog knew.
    await rt1.ingest.handleAcquire(payload(inStore));
    const acquiredInStore = (await rt1.catalog.getFile(inStore.id))!;
    const receipt = await rt1.objects.putFile('originals', originalKey(acquiredInStore.sha256!), rt1.spool.pathOf(inStore.fingerprint), inStore.size, {
      sha256: acquiredInStore.sha256!,
    });
    // 4. Died after deleting from the recorder, before the ledger said so.
    await rt1.ingest.handleAcquire(payload(inClear));
    await rt1.ingest.handleStore(payload(inClear));
    await rt1.ingest.handleRecord(payload(inClear));
    rmSync(Buffer.concat([Buffer.from(`${dir}/`), inClear.rawPath]));
    await rt1.close();

    const rt2 = await env.runtime();
    rt2.startWorkers([QueueName.Acquire, QueueName.Store, QueueName.Catalog, QueueName.Clear]);
    await rt2.dock.resumeOpenSessions();
    const finished = await done(rt2, session.id);
    await assertNothingLost(rt2, finished, expected);

    const eventsOf = async (f: FileRow) => rt2.ledger.eventsFor({ fileIds: [f.id] });
    const resumed = (await eventsOf(inAcquire)).find((e) => e.type === 'ACQUIRED')!;
    expect(resumed.details.resumedFromByte).toBe(1 << 20);
    expect(resumed.details.bytesReadFromRecorder).toBe(inAcquire.size - (1 << 20));
    // Acquired before the restart: the seal died with rt1, so the upload hashed the bytes sent.
    expect((await eventsOf(afterAcquire)).find((e) => e.type === 'STORED')!.details.sentCheck).toBe('sha256');
    const storedAgain = (await eventsOf(inStore)).find((e) => e.type === 'STORED')!;
    expect(storedAgain.details.uploaded).toBe(false);
    expect((await rt2.objects.stat('originals', originalKey(acquiredInStore.sha256!)))!.versionId).toBe(receipt.versionId);
    const cleared = (await eventsOf(inClear)).find((e) => e.type === 'RECORDER_CLEARED')!;
    expect(cleared.details.alreadyAbsent).toBe(true);
    expect(readdirSync(join(dir, 'DCIM'))).toEqual([]);
    expect((await rt2.catalog.getSession(session.id))!.status).toBe('done');
  });

  it('a power cut took the spool\'s unsynced tail after ACQUIRED: acquired again from the checkpoint, or from the start when the prefix no longer hashes as before', async () => {
    // An environment of its own: no runtime of another test may serve its store queue before the cut.
    const env = await createTestEnv('power-cut', { ingest: { syncSpoolBeforeUndock: true } });
    onTestFinished(() => env.cleanup());
    const dir = join(env.dir, 'power-cut');
    const expected = writeRecorder(dir, 2, 3 << 20);
    const rt1 = await env.runtime();
    const session = await rt1.dock.dock((await new DirectoryDriver().probe(dir, { serial: 'CUT-1' }))!);
    rt1.startWorkers([QueueName.Acquire]);
    const acquired = await eventually(async () => {
      const fs = await rt1.catalog.filesOfSession(session.id);
      return fs.every((f) => f.stage === 'acquired') ? fs : undefined;
    }, 60_000, 'both files acquired');
    // Acquire does not wait for the disk, but with syncSpoolBeforeUndock the officer is told
    // to undock only once the spool copies are durable: then they are claimed so, whole.
    const durable = await eventually(async () => {
      if ((await rt1.catalog.getSession(session.id))?.status !== 'acquired') return undefined;
      return rt1.catalog.filesOfSession(session.id);
    }, 30_000, 'safe to undock');
    expect(durable.map((f) => f.bytesAcquired)).toEqual(durable.map((f) => f.size));
    await rt1.close();
    const [cut, altered] = acquired as [FileRow, FileRow];

    // The power cut, as if it came before that (a file acquired while another still was): a
    // checkpoint had made 1 MiB durable, and the rest never reached the disk.
    const rt2 = await env.runtime();
    const checkpoint = 1 << 20;
    for (const f of acquired) await rt2.catalog.updateFile(rt2.db, f.id, { bytesAcquired: checkpoint });
    await rt2.spool.truncateTo(cut.fingerprint, checkpoint + 777);
    // The other spool's durable prefix was altered too: resuming from it must not be trusted.
    await rt2.spool.truncateTo(altered.fingerprint, 2 << 20);
    const handle = await open(rt2.spool.pathOf(altered.fingerprint), 'r+');
    await handle.write(Buffer.from('tampered'), 0, 8, 1000);
    await handle.close();

    rt2.startWorkers([QueueName.Acquire, QueueName.Store, QueueName.Catalog, QueueName.Clear]);
    await rt2.dock.resumeOpenSessions();
    const finished = await done(rt2, session.id);
    expect(finished.map((f) => [f.stage, f.sha256])).toEqual(finished.map((f) => ['cleared', expected.get(f.displayPath)]));

    const eventsOf = async (f: FileRow) => rt2.ledger.eventsFor({ fileIds: [f.id] });
    const cutEvents = await eventsOf(cut);
    const cutAcquired = cutEvents.filter((e) => e.type === 'ACQUIRED');
    expect(cutEvents.map((e) => e.type)).toContain('ACQUISITION_INTERRUPTED');
    expect(cutAcquired.map((e) => e.details.sha256)).toEqual([cut.sha256, cut.sha256]);
    expect(cutAcquired[1]!.details.resumedFromByte).toBe(checkpoint);
    expect(cutAcquired[1]!.details.bytesReadFromRecorder).toBe(cut.size - checkpoint);
    // Acquired again by the process that stored it: the bytes sent were checked by the seal.
    expect(cutEvents.find((e) => e.type === 'STORED')!.details.sentCheck).toBe('seal');

    const alteredEvents = await eventsOf(altered);
    const mismatch = alteredEvents.find((e) => e.type === 'HASH_MISMATCH');
    expect(mismatch?.details).toMatchObject({ where: 'reacquire', acquired: altered.sha256, resumedFromByte: checkpoint });
    const alteredAcquired = alteredEvents.filter((e) => e.type === 'ACQUIRED');
    expect(alteredAcquired.map((e) => e.details.sha256)).toEqual([altered.sha256, altered.sha256]);
    expect(alteredAcquired[1]!.details.resumedFromByte).toBe(0);
    for (const f of finished) {
      expect((await rt2.objects.stat('originals', originalKey(f.sha256!)))?.metadata.sha256).toBe(f.sha256);
      const events = await eventsOf(f);
      expect(events.filter((e) => e.type === 'STORED')).toHaveLength(1);
      expectClearedOnceAfterVerified(events, f.sha256!);
    }
    await eventually(async () => ((await rt2.ledger.mirrorPending()) === 0 ? true : undefined), 10_000, 'the ledger mirror to catch up');
    const report = await rt2.verify.run({ rehash: true });
    expect(report.ledger.problems.map((p) => `${p.seq} ${p.kind}: ${p.detail}`)).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it('by default the officer may undock as soon as all is spooled, and the copies not yet stored are made durable when the recorder leaves', async () => {
    const env = await createTestEnv('undock-sync');
    onTestFinished(() => env.cleanup());
    const dir = join(env.dir, 'undock-sync');
    writeRecorder(dir, 2, 3 << 20);
    const rt = await env.runtime();
    const session = await rt.dock.dock((await new DirectoryDriver().probe(dir, { serial: 'UNDOCK-1' }))!);
    // No store worker: the copies stay in the spool, as when the object store is slow or down.
    rt.startWorkers([QueueName.Acquire]);
    const spooled = await eventually(async () => {
      if ((await rt.catalog.getSession(session.id))?.status !== 'acquired') return undefined;
      return rt.catalog.filesOfSession(session.id);
    }, 60_000, 'safe to undock');
    // Told at once: nothing was forced to disk for it (no checkpoint falls due in copies this short).
    for (const f of spooled) {
      expect(f.stage).toBe('acquired');
      expect(f.bytesAcquired).toBeLessThan(f.size);
    }
    expect(await rt.ingest.recorderUndocked(session.id)).toBe(2);
    const durable = await rt.catalog.filesOfSession(session.id);
    expect(durable.map((f) => [f.stage, f.bytesAcquired])).toEqual(durable.map((f) => ['acquired', f.size]));
    // Undocked again (a second removal event): nothing is left to sync.
    expect(await rt.ingest.recorderUndocked(session.id)).toBe(0);
    await rt.close();
  });

  it('a spool altered between acquire and store is refused by the seal: nothing stored, the recorder keeps the recording', async () => {
    const env = await createTestEnv('seal');
    onTestFinished(() => env.cleanup());
    const dir = join(env.dir, 'seal');
    writeRecorder(dir, 1, (2 << 20) + 99);
    const rt = await env.runtime();
    const session = await rt.dock.dock((await new DirectoryDriver().probe(dir, { serial: 'SEAL-1' }))!);
    rt.startWorkers([QueueName.Acquire]);
    const [file] = await eventually(async () => {
      const fs = await rt.catalog.filesOfSession(session.id);
      return fs.every((f) => f.stage === 'acquired') ? fs : undefined;
    }, 60_000, 'the file acquired');
    // Same size, one byte changed: only the bytes themselves can tell.
    const handle = await open(rt.spool.pathOf(file!.fingerprint), 'r+');
    await handle.write(Buffer.from([0x5a]), 0, 1, 1 << 20);
    await handle.close();

    // This process acquired it, so its upload checks the seal rather than hashing again.
    await expect(rt.ingest.handleStore({ fileId: file!.id, sessionId: session.id, serial: 'SEAL-1' })).rejects.toThrow(/no longer hash/);
    const after = (await rt.catalog.getFile(file!.id))!;
    expect(after.stage).toBe('failed');
    const mismatch = (await rt.ledger.eventsFor({ fileIds: [file!.id] })).find((e) => e.type === 'HASH_MISMATCH');
    expect(mismatch?.details).toMatchObject({ where: 'spool', check: 'seal' });
    expect(await rt.objects.stat('originals', originalKey(file!.sha256!))).toBeNull();
    expect(readdirSync(join(dir, 'DCIM'))).toHaveLength(1);
  });

  describe('SIGKILL of a real evidock process, then a daemon resumes', () => {
    const children: ChildProcess[] = [];
    afterAll(() => children.forEach((c) => c.kill('SIGKILL')));

    const evidock = (args: string[]) => {
      const child = spawn(process.execPath, [resolve(REPO_ROOT, 'bin/evidock.js'), ...args], {
        env: { ...process.env, ...env.childEnv },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      return child;
    };

    for (const killWhen of ['acquiring', 'stored', 'recorded'] as const) {
      it(`killed when a file is ${killWhen}`, async () => {
        const dir = join(env.dir, `kill-${killWhen}`);
        // Enough files that one being at `killWhen` (a stage that lasts milliseconds for
        // 'recorded') still leaves others in flight: with 3 the session could finish between polls.
        const expected = writeRecorder(dir, 6, 24 << 20);
        const rt = await env.runtime();
        const importer = evidock(['import', dir, '--serial', `KILL-${killWhen}`, '--json']);
        const exited = new Promise((r) => importer.on('exit', r));

        const sessionId = await eventually(async () => {
          const r = await rt.db.query<{ id: string }>(`SELECT id FROM dock_sessions WHERE recorder_serial = $1`, [`KILL-${killWhen}`]);
          return r.rows[0]?.id;
        }, 60_000, 'session to start');
        await eventually(async () => {
          const files = await rt.catalog.filesOfSession(sessionId);
          return files.some((f) => f.stage === killWhen) || files.every((f) => f.stage === 'cleared') ? true : undefined;
        }, 60_000, `a file to be ${killWhen}`);
        importer.kill('SIGKILL');
        await exited;
        // The kill must land mid-session, or this test would prove nothing.
        const atKill = await rt.catalog.filesOfSession(sessionId);
        expect(atKill.some((f) => f.stage !== 'cleared')).toBe(true);

        const daemon = evidock(['daemon']);
        let output = '';
        daemon.stdout!.on('data', (d: Buffer) => (output += d.toString()));
        daemon.stderr!.on('data', (d: Buffer) => (output += d.toString()));
        try {
          const files = await done(rt, sessionId, 120_000);
          await assertNothingLost(rt, files, expected);
          expect(existsSync(join(dir, 'DCIM')) && readdirSync(join(dir, 'DCIM'))).toEqual([]);
        } finally {
          daemon.kill('SIGTERM');
          await new Promise((r) => daemon.on('exit', r));
        }
        expect(output).not.toMatch(/Error:/);
      });
    }
  });
});

describe('a catalog job re-run after its commit', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv('crashmedia');
  });
  afterAll(async () => env?.cleanup());

  it('still asks for the media work when the process died between the commit and queuing it', async () => {
    const dir = join(env.dir, 'rec');
    writeRecorder(dir, 1, 100_000);
    const rt = await env.runtime();
    const session = await rt.dock.dock((await new DirectoryDriver().probe(dir, { serial: 'CRASH-M' }))!);
    const [file] = await rt.catalog.filesOfSession(session.id);
    const payload = { fileId: file!.id, sessionId: session.id, serial: 'CRASH-M' };
    await rt.ingest.handleAcquire(payload);
    await rt.ingest.handleStore(payload);
    await rt.ingest.handleRecord(payload);
    const recorded = (await rt.catalog.getFile(file!.id))!;
    const metadata = rt.queue.queue(QueueName.Metadata);
    const jobId = jobIdOf(JobName.Metadata, { evidenceId: recorded.evidenceId!, objectKey: originalKey(recorded.sha256!) });
    // What a SIGKILL right after the catalog commit leaves: the metadata job never queued.
    await (await metadata.getJob(jobId))!.remove();
    expect(await metadata.getJob(jobId)).toBeUndefined();

    expect(await rt.ingest.handleRecord(payload)).toBe(JobStatus.Skipped);
    expect((await metadata.getJob(jobId))?.data).toEqual({ evidenceId: recorded.evidenceId, objectKey: originalKey(recorded.sha256!) });
  });
});
