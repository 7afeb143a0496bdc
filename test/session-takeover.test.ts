import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../config/config.loader.ts';
import { importFolder } from '../daemon/cli.ts';
import type { Runtime } from '../daemon/runtime.ts';
import { DirectoryDriver } from '../drivers/directory.driver.ts';
import { originalKey } from '../storage/object-store.ts';
import { QueueName } from '../workers/job.types.ts';
import { expectClearedOnceAfterVerified } from './support/event-order.ts';
import { createTestEnv, eventually, isRunning, type TestEnv } from './support/test-env.ts';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function writeRecorder(dir: string, count: number, size: number): Map<string, string> {
  mkdirSync(join(dir, 'DCIM'), { recursive: true });
  const hashes = new Map<string, string>();
  for (let i = 1; i <= count; i++) {
    const name = `ZFYK_${String(i).padStart(3, '0')}_2026112109${String(i).padStart(2, '0')}00_${String(i).padStart(4, '0')}.MP4`;
    const bytes = randomBytes(size + i * 4099);
    writeFileSync(join(dir, 'DCIM', name), bytes);
    hashes.set(`DCIM/${name}`, sha256(bytes));
  }
  return hashes;
}

interface ImportRun {
  pid: number;
  /** Exit code, or null when killed. */
  exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** `evidock import --wait --json` as its own process group, as an operator's terminal runs it. */
function startImport(env: TestEnv, dir: string, serial: string, extra: string[] = []): ImportRun {
  const child = spawn(process.execPath, [resolve(REPO_ROOT, 'bin/evidock.js'), 'import', dir, '--serial', serial, '--wait', '--json', ...extra], {
    env: { ...process.env, ...env.childEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return { pid: child.pid!, exited: new Promise((r) => child.on('close', (code) => r({ code, stdout, stderr }))) };
}

describe('a docking whose process is gone is taken over, and exit 0 means every recording is stored', () => {
  let env: TestEnv;
  let rt: Runtime;

  beforeAll(async () => {
    // One file at a time, so that a kill lands with files at every stage.
    env = await createTestEnv('takeover', { ingest: { maxConcurrentAcquisitions: 1, storeConcurrency: 1 } });
    // Reads the catalog and ledger only: it serves no queue.
    rt = await env.runtime();
  });
  afterAll(async () => env?.cleanup());

  it('import SIGKILLed (with its whole process group) again and again, then run once more, finishes every file and says so', async () => {
    const dir = join(env.dir, 'recorder');
    const expected = writeRecorder(dir, 6, 24 << 20);
    const serial = 'KILL-6';

    // Three imports killed mid-way: each as soon as it has moved a file further than before.
    let progressBefore = 0;
    const killedSessions: string[] = [];
    for (let round = 1; round <= 3; round++) {
      const run = startImport(env, dir, serial);
      const moved = await eventually(
        async () => {
          const r = await rt.db.query<{ n: string }>(
            `SELECT count(*) AS n FROM custody_events WHERE type IN ('ACQUIRED', 'STORED', 'DUPLICATE_ACQUIRED', 'RECORDED', 'RECORDER_CLEARED')`,
          );
          return Number(r.rows[0]!.n) > progressBefore ? Number(r.rows[0]!.n) : undefined;
        },
        60_000,
        `import ${round} to make progress`,
      );
      process.kill(-run.pid, 'SIGKILL');
      const { code } = await run.exited;
      expect(code).toBeNull();
      await eventually(async () => (isRunning(run.pid) ? undefined : true), 10_000, 'the killed import to be gone');
      progressBefore = moved;
      const session = await rt.db.query<{ id: string }>(`SELECT id FROM dock_sessions ORDER BY started_at DESC LIMIT 1`);
      killedSessions.push(session.rows[0]!.id);
    }
    // The case this proves: recordings left half-way by dead processes, still on the recorder.
    const unfinished = await rt.db.query<{ n: string }>(
      `SELECT count(*) AS n FROM session_files WHERE stage IN ('queued', 'acquiring', 'acquired', 'stored', 'recorded')`,
    );
    expect(Number(unfinished.rows[0]!.n)).toBeGreaterThan(0);
    expect(readdirSync(join(dir, 'DCIM')).length).toBeGreaterThan(0);

    const last = startImport(env, dir, serial, ['--case', 'YB2026-K']);
    const { code, stdout, stderr } = await last.exited;
    // Warnings (a docking taken over) are the operator's to read; nothing went wrong.
    expect(stderr.split('\n').filter((line) => /"level":(50|60)/.test(line))).toEqual([]);
    const result = JSON.parse(stdout) as { session: string; status: string; files: Array<{ path: string; status: string; sha256: string | null; handledBy: { session: string } | null }> };
    // Every recording still on the recorder when it was docked: stored, verified and cleared,
    // whichever docking did it; and exit 0 because of that, not in spite of it.
    expect(result.files.map((f) => [f.path, f.status])).toEqual(result.files.map((f) => [f.path, 'cleared']));
    expect(code).toBe(0);
    for (const f of result.files) expect(f.sha256).toBe(expected.get(f.path));
    expect(readdirSync(join(dir, 'DCIM'))).toEqual([]);

    // The dead processes' dockings were taken over (not waited on until BullMQ's stall timer).
    const takeovers = await rt.db.query<{ session_id: string; details: { reason: string } }>(`SELECT session_id, details FROM custody_events WHERE type = 'SESSION_TAKEN_OVER'`);
    expect(takeovers.rows.length).toBeGreaterThan(0);
    for (const t of takeovers.rows) {
      expect(killedSessions).toContain(t.session_id);
      expect(['owner-ended', 'lease-expired']).toContain(t.details.reason);
    }
    const open = await rt.db.query<{ n: string }>(`SELECT count(*) AS n FROM dock_sessions WHERE status IN ('acquiring', 'acquired')`);
    expect(Number(open.rows[0]!.n)).toBe(0);

    // Each recording: catalogued once, cleared once and only after a VERIFIED of its bytes.
    for (const [path, sha] of expected) {
      const row = await rt.db.query<{ id: string }>('SELECT id FROM evidence WHERE sha256 = $1', [sha]);
      expect(row.rows, `${path} catalogued once`).toHaveLength(1);
      const events = await rt.ledger.eventsFor({ evidenceId: row.rows[0]!.id });
      expectClearedOnceAfterVerified(events, sha);
      expect(events.filter((e) => e.type === 'STORED' && e.details.uploaded === true).length).toBeLessThanOrEqual(1);
      expect((await rt.objects.stat('originals', originalKey(sha)))?.metadata.sha256).toBe(sha);
    }
    // The last docking's case number reached every item it docked, whichever docking ingested it.
    const withCase = new Set((await rt.catalog.search({ caseNumber: 'YB2026-K' })).map((e) => e.sha256));
    expect(result.files.filter((f) => !withCase.has(f.sha256!)).map((f) => f.path)).toEqual([]);
    await eventually(async () => ((await rt.ledger.mirrorPending()) === 0 ? true : undefined), 10_000, 'the ledger mirror to catch up');
    const report = await rt.verify.run({ rehash: true });
    expect(report.ledger.problems).toEqual([]);
    expect(report.ok).toBe(true);
  }, 300_000);
});

describe('a docking of a recording another docking is already ingesting', () => {
  let env: TestEnv;

  beforeAll(async () => {
    env = await createTestEnv('follow');
  });
  afterAll(async () => env?.cleanup());

  it('waits for that docking, reports its outcome, and links its own case to the evidence', async () => {
    const dir = join(env.dir, 'recorder');
    const expected = writeRecorder(dir, 3, 1 << 20);
    // A docking handed to a daemon (this runtime serves no queue): its claim holds until the
    // daemon claims it, so its files are in progress, not free to be copied a second time.
    const handing = await env.runtime();
    const volume = await new DirectoryDriver().probe(dir, { serial: 'TWICE-1' });
    const acquire = handing.queue.queue(QueueName.Acquire);
    // Held back until the second docking is made, so that the first is still in progress then.
    await acquire.pause();
    const first = await handing.dock.dock(volume!, { defaults: { caseNumbers: ['YB2026-F1'] } });

    // The "daemon": a second process on this workstation, docking the same recorder again.
    const daemon = await env.runtime();
    const running = importFolder(daemon, dir, { serial: 'TWICE-1', case: ['YB2026-F2'], subject: '某卫生院', json: true });
    running.catch(() => undefined);
    await eventually(async () => ((await daemon.db.query('SELECT id FROM dock_sessions')).rows.length === 2 ? true : undefined), 30_000, 'the second docking');
    await acquire.resume();
    const second = await running;

    // Its own files were not copied again: each followed the first docking's file.
    const firstFiles = await daemon.catalog.filesOfSession(first.id);
    expect(second.files.map((f) => [f.stage, f.handledBy])).toEqual(
      second.files.map((f) => ['skipped', firstFiles.find((o) => o.displayPath === f.displayPath)!.id]),
    );
    // What it reports is what became of the recordings.
    expect(second.outcomes.map((o) => [o.file.displayPath, o.handler?.stage, o.handler?.sha256])).toEqual(
      second.files.map((f) => [f.displayPath, 'cleared', expected.get(f.displayPath)]),
    );
    expect(existsSync(join(dir, 'DCIM')) ? readdirSync(join(dir, 'DCIM')) : []).toEqual([]);
    // Both dockings' case numbers find every item; the second filled the missing subject.
    const items = await daemon.evidence.search({ caseNumber: 'YB2026-F2' });
    expect(items.map((e) => e.sha256).sort()).toEqual([...expected.values()].sort());
    for (const e of items) {
      expect(e).toMatchObject({ caseNumbers: ['YB2026-F1', 'YB2026-F2'], subject: '某卫生院' });
      const linked = (await daemon.ledger.eventsFor({ evidenceId: e.id })).filter((ev) => ev.type === 'LINKED');
      expect(linked.map((ev) => ev.sessionId)).toEqual([second.session.id]);
    }
    expect((await daemon.catalog.getSession(first.id))?.status).toBe('done');
    expect((await daemon.verify.run({ rehash: false })).ok).toBe(true);
  });
});
