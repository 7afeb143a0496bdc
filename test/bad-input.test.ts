import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importFolder } from '../daemon/cli.ts';
import type { Runtime } from '../daemon/runtime.ts';
import { DirectoryDriver } from '../drivers/directory.driver.ts';
import { originalKey } from '../storage/object-store.ts';
import { expectInOrder } from './support/event-order.ts';
import { SabotagedVolume } from './support/sabotaged-volume.ts';
import { createTestEnv, eventually, settleSession, type TestEnv } from './support/test-env.ts';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('bad input: a clear error and nothing lost', () => {
  let env: TestEnv;
  let rt: Runtime;

  beforeAll(async () => {
    // A hung recorder is given up on after 1 s here (60 s by default).
    env = await createTestEnv('badinput', { ingest: { readStallSeconds: 1 } });
    rt = await env.runtime();
    rt.startWorkers(['acquire', 'store', 'catalog', 'clear'] as never);
  });
  afterAll(async () => env?.cleanup());

  it('ingests hostile names safely and never follows links or opens special files', async () => {
    const dir = join(env.dir, 'hostile');
    const media = join(dir, 'DCIM');
    mkdirSync(media, { recursive: true });
    const contents = new Map<string, Buffer>();
    const put = (name: string | Buffer, bytes: Buffer) => {
      const path = Buffer.isBuffer(name) ? Buffer.concat([Buffer.from(`${media}/`), name]) : join(media, name);
      writeFileSync(path, bytes);
      contents.set(sha256(bytes), bytes);
    };
    put('执法记录_现场检查_0001.MP4', randomBytes(5000));
    put('line\nbreak\x07bell.MP4', randomBytes(4000));
    put('..evil.MP4', randomBytes(3000));
    put('a..b.MP4', randomBytes(3500));
    put(Buffer.from([0xff, 0xfe, 0x41, 0x2e, 0x4d, 0x50, 0x34]), randomBytes(2000));
    writeFileSync(join(media, 'EMPTY_0009.MP4'), Buffer.alloc(0));
    symlinkSync('/etc/passwd', join(media, 'passwd.MP4'));
    symlinkSync(join(media, 'a..b.MP4'), join(media, 'inner-link.MP4'));
    execFileSync('mkfifo', [join(media, 'pipe.MP4')]);
    const passwdBefore = readFileSync('/etc/passwd');

    const { session, files } = await importFolder(rt, dir, { serial: 'HOSTILE-1', json: true });

    expect(files).toHaveLength(6);
    expect(files.every((f) => f.stage === 'cleared')).toBe(true);
    expect(new Set(files.map((f) => f.sha256))).toEqual(new Set([...contents.keys(), sha256(Buffer.alloc(0))]));
    expect(files.map((f) => f.displayPath)).toContain('DCIM/line\\x0Abreak\\x07bell.MP4');
    expect(files.map((f) => f.displayPath)).toContain('DCIM/\\xFF\\xFEA.MP4');
    const skipped = session.skipped.map((s) => s.reason).sort();
    expect(skipped).toEqual(['not-regular-file', 'symlink', 'symlink']);
    expect(readFileSync('/etc/passwd')).toEqual(passwdBefore);
    // Links and the FIFO are left alone; every regular file was cleared.
    expect(readdirSync(media).sort()).toEqual(['inner-link.MP4', 'passwd.MP4', 'pipe.MP4']);
    for (const f of files) expect(originalKey(f.sha256!)).toMatch(/^sha256\/[0-9a-f]{2}\/[0-9a-f]{2}\/[0-9a-f]{64}$/);
    const empty = files.find((f) => f.size === 0)!;
    expect((await rt.evidence.show(empty.evidenceId!)).evidence.flags).toContain('empty-file');
    const events = await rt.ledger.eventsFor({ sessionId: session.id });
    expect(events.filter((e) => e.type === 'FILE_SKIPPED')).toHaveLength(3);
    expect(readdirSync(rt.spool.dir)).toEqual([]);
  });

  it('a recording that changes while read is recorded as a mismatch, re-read, and only the stable copy is cleared', async () => {
    const dir = join(env.dir, 'growing');
    mkdirSync(dir, { recursive: true });
    const path = join(dir, 'ZFY7_001_20261121100000_0001.MP4');
    writeFileSync(path, randomBytes(3 << 20));
    const volume = new SabotagedVolume((await new DirectoryDriver().probe(dir, { serial: 'GROW-1' }))!, { growOnFirstRead: path });

    const session = await rt.dock.dock(volume);
    const [file] = await settleSession(rt, session.id);
    expect(file!.stage).toBe('cleared');
    const events = await rt.ledger.eventsFor({ fileIds: [file!.id] });
    const types = events.map((e) => e.type);
    expectInOrder(types, ['HASH_MISMATCH', 'ACQUIRED', 'VERIFIED', 'RECORDER_CLEARED']);
    // What was stored is the recording as it finally stood, verified before the clear.
    const acquired = events.find((e) => e.type === 'ACQUIRED')!;
    expect(acquired.details.size).toBe((3 << 20) + 1000);
    const stored = await rt.objects.stat('originals', originalKey(file!.sha256!));
    expect(stored?.size).toBe((3 << 20) + 1000);
    expect(existsSync(path)).toBe(false);
  });

  /** One recording on a recorder whose reads are sabotaged, docked once and settled. */
  async function dockSabotaged(name: string, serial: string, size: number, sabotage: ConstructorParameters<typeof SabotagedVolume>[1]) {
    const dir = join(env.dir, name);
    mkdirSync(dir, { recursive: true });
    const bytes = randomBytes(size);
    const path = join(dir, 'ZFY8_002_20261121110000_0001.MP4');
    writeFileSync(path, bytes);
    const first = await rt.dock.dock(new SabotagedVolume((await new DirectoryDriver().probe(dir, { serial }))!, sabotage));
    const [interrupted] = await settleSession(rt, first.id);
    return { dir, bytes, path, first, interrupted };
  }

  it('a recorder that stops answering mid-copy is given up on after ingest.readStallSeconds: interrupted, kept, resumed at the next docking', async () => {
    const { dir, bytes, path, interrupted } = await dockSabotaged('hung', 'HUNG-1', 5 << 20, { hangAfterBytes: 2 << 20 });
    expect(interrupted!.stage).toBe('interrupted');
    expect(interrupted!.error).toMatch(/no bytes from the recorder for 1 s/);
    expect(existsSync(path)).toBe(true);
    const events = await rt.ledger.eventsFor({ fileIds: [interrupted!.id] });
    expect(events.find((e) => e.type === 'ACQUISITION_INTERRUPTED')?.details.reason).toMatch(/no bytes from the recorder/);

    const second = await rt.dock.dock((await new DirectoryDriver().probe(dir, { serial: 'HUNG-1' }))!);
    const [resumed] = await settleSession(rt, second.id);
    expect(resumed!.stage).toBe('cleared');
    expect(resumed!.sha256).toBe(sha256(bytes));
    // What came off before it hung was kept and made durable: only the rest was read again.
    expect(interrupted!.bytesAcquired).toBeGreaterThan(0);
    const acquired = (await rt.ledger.eventsFor({ fileIds: [resumed!.id] })).find((e) => e.type === 'ACQUIRED')!;
    expect(acquired.details.resumedFromByte).toBe(interrupted!.bytesAcquired);
    expect(existsSync(path)).toBe(false);
  });

  it('a recorder unplugged mid-copy is marked interrupted and resumes from the spool at the next docking', async () => {
    const { dir, bytes, path, first, interrupted } = await dockSabotaged('yanked', 'YANK-1', 6 << 20, { unplugAfterBytes: 2 << 20 });
    expect(interrupted!.stage).toBe('interrupted');
    expect(interrupted!.bytesAcquired).toBeGreaterThan(0);
    expect(existsSync(path)).toBe(true);
    // The file's stage and its session's status commit one after the other.
    await eventually(async () => ((await rt.catalog.getSession(first.id))!.status === 'interrupted' ? true : undefined), 10_000, 'session marked interrupted');
    expect(await rt.spool.sizeOf(interrupted!.fingerprint)).toBe(interrupted!.bytesAcquired);

    const second = await rt.dock.dock((await new DirectoryDriver().probe(dir, { serial: 'YANK-1' }))!);
    const [resumed] = await settleSession(rt, second.id);
    expect(resumed!.stage).toBe('cleared');
    expect(resumed!.sha256).toBe(sha256(bytes));
    const acquired = (await rt.ledger.eventsFor({ fileIds: [resumed!.id] })).find((e) => e.type === 'ACQUIRED')!;
    // The recorder's bytes were read once overall: the resumed pass read only the rest.
    expect(acquired.details.resumedFromByte).toBe(interrupted!.bytesAcquired);
    expect(acquired.details.bytesReadFromRecorder).toBe(bytes.length - interrupted!.bytesAcquired);
    expect((await rt.catalog.getFile(interrupted!.id))!.stage).toBe('superseded');
    expect((await rt.catalog.getSession(first.id))!.status).toBe('done');
    expect(existsSync(path)).toBe(false);
    // The last events are mirrored to the ledger bucket just after they commit.
    const report = await eventually(async () => {
      const r = await rt.verify.run({ rehash: true });
      return r.ledger.problems.every((p) => p.kind !== 'missing-mirror') ? r : undefined;
    }, 10_000, 'the ledger mirror to catch up');
    expect(report.ledger.problems.map((p) => `${p.seq} ${p.kind}: ${p.detail}`)).toEqual([]);
    expect(report.ok).toBe(true);
  });
});
