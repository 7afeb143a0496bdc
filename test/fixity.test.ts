import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXITY_SCHEDULER, type FixityStatus } from '../archive/fixity.service.ts';
import { REPO_ROOT } from '../config/config.loader.ts';
import { importFolder } from '../daemon/cli.ts';
import type { Runtime } from '../daemon/runtime.ts';
import { canonicalJson, type CustodyEvent } from '../storage/custody-chain.ts';
import { eventObjectKey } from '../storage/custody-ledger.service.ts';
import { originalKey } from '../storage/object-store.ts';
import { QueueName } from '../workers/job.types.ts';
import { createTestEnv, eventually, evidock, type TestEnv } from './support/test-env.ts';

async function ingest(rt: Runtime, env: TestEnv, serial: string, count: number, size: number): Promise<Array<{ id: string; sha256: string }>> {
  const dir = join(env.dir, serial);
  mkdirSync(join(dir, 'DCIM'), { recursive: true });
  for (let i = 1; i <= count; i++) writeFileSync(join(dir, 'DCIM', `ZFY_01_202611211${String(i).padStart(2, '0')}000_000${i}.MP4`), randomBytes(size));
  const { files } = await importFolder(rt, dir, { serial, json: true });
  expect(files.map((f) => f.stage)).toEqual(Array(count).fill('cleared'));
  return files.map((f) => ({ id: f.evidenceId!, sha256: f.sha256! }));
}

async function batchEvents(rt: Runtime, cycle: number): Promise<CustodyEvent[]> {
  return (await rt.ledger.eventsOfTypes(['FIXITY_BATCH_CHECKED'])).filter((e) => e.details.cycle === cycle);
}

/** Every evidence id the cycle's signed batch events name, in order, repeats included. */
async function checkedIn(rt: Runtime, cycle: number): Promise<string[]> {
  return (await batchEvents(rt, cycle)).flatMap((e) => (e.details.items as Array<{ evidenceId: string }>).map((i) => i.evidenceId));
}

async function cycleCompleted(rt: Runtime, cycle: number): Promise<FixityStatus> {
  return eventually(async () => {
    const status = await rt.fixity.status();
    return status.lastCompleted && status.lastCompleted.id >= cycle ? status : undefined;
  }, 90_000, `fixity cycle ${cycle} to complete`);
}

describe('scheduled fixity on the real stack', () => {
  let env: TestEnv;
  let rt: Runtime;
  let workers: Runtime;
  let items: Array<{ id: string; sha256: string }>;
  let hook: Server;
  const received: Array<{ event: string; body: { event: string; data: Record<string, unknown> } }> = [];
  // The structured logs of this process (errors only, as in every test), to find the alert lines.
  const logFile = resolve(REPO_ROOT, 'var', 'test', `fixity-${process.pid}.log`);

  beforeAll(async () => {
    env = await createTestEnv('fixity', {
      fixity: { enabled: true, cycleDays: 1, tickSeconds: 1, batchMaxItems: 2, bytesPerSecond: 0 },
      logFile,
      webhooks: { attempts: 3, backoffSeconds: 0.2, timeoutSeconds: 2 },
    });
    rt = await env.runtime();
    hook = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ event: String(req.headers['x-evidock-event']), body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    await rt.identity.addUnit({ id: 'FX', name: '测试单位', parentId: null }, 'test');
    await rt.identity.registerRecorder({ serial: 'FIX-1', officerId: '900001', unitId: 'FX' }, 'test');
    const key = await rt.identity.createKey({ name: 'cms', role: 'case-system', unitIds: ['FX'] }, 'test');
    const cms = (await rt.identity.authenticateKey(key.key))!;
    await rt.webhooks.subscribe(cms, { url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`, events: ['evidence.fixity_failed'] });
    items = await ingest(rt, env, 'FIX-1', 5, 120_000);
    // Another "host": it serves only the fixity and webhook queues.
    workers = await env.runtime();
    workers.startWorkers([QueueName.Fixity, QueueName.Webhook]);
  });
  afterAll(async () => {
    await new Promise((r) => hook?.close(r));
    await env?.cleanup();
    rmSync(logFile, { force: true });
  });

  it('checks every item once per cycle through the BullMQ job scheduler, one signed event per batch', async () => {
    // Upserted by the worker host as it starts.
    const scheduler = await eventually(() => rt.queue.queue(QueueName.Fixity).getJobScheduler(FIXITY_SCHEDULER), 30_000, 'the job scheduler');
    expect(scheduler.every).toBe(1000);
    const status = await cycleCompleted(rt, 1);
    expect(status.cycle).toBeNull();
    expect(status.lastCompleted).toMatchObject({ id: 1, items: 5, ledger: { ok: true, problems: [] } });
    expect(status.failures).toEqual([]);
    expect(status.neverChecked).toBe(0);

    const named = await checkedIn(rt, 1);
    expect([...named].sort()).toEqual(items.map((i) => i.id).sort());
    const batches = await batchEvents(rt, 1);
    // batchMaxItems 2: five items make three batches, none on an item's own chain.
    expect(batches.map((b) => b.details.count)).toEqual([2, 2, 1]);
    for (const b of batches) {
      expect(b.evidenceId).toBeNull();
      for (const i of b.details.items as Array<{ evidenceId: string; sha256: string; ok: boolean }>) {
        expect(i).toEqual({ evidenceId: i.evidenceId, sha256: items.find((x) => x.id === i.evidenceId)!.sha256, ok: true });
      }
      const mirrored = await rt.objects.readDocument('ledger', eventObjectKey(b.seq));
      expect(mirrored?.toString('utf8')).toBe(canonicalJson(b));
    }
    const report = await rt.verify.run({ rehash: false });
    expect(report.ledger.problems).toEqual([]);
    expect(report.ok).toBe(true);
    const completed = await rt.ledger.eventsOfTypes(['FIXITY_CYCLE_COMPLETED']);
    expect(completed.map((e) => e.details)).toEqual([expect.objectContaining({ cycle: 1, items: 5, failed: 0, ledger: expect.objectContaining({ ok: true, problems: 0 }) })]);
    for (const i of items) expect(await rt.fixity.lastCheck(i.id)).toMatchObject({ ok: true });
    expect(await rt.ledger.eventsOfTypes(['FIXITY_FAILED'])).toEqual([]);
  });

  it('raises FIXITY_FAILED, a webhook and a failure in status and jobs for a replaced and a missing original', async () => {
    const [replaced, hidden] = items as [{ id: string; sha256: string }, { id: string; sha256: string }];
    const bucket = rt.objects.bucketName('originals');
    // Object lock keeps the old version; a new version under the key is what a forger can do.
    const forged = Buffer.from('forged bytes');
    await rt.objects.rawClient.putObject(bucket, originalKey(replaced.sha256), forged);
    // A delete marker: the original no longer reads under its key.
    await rt.objects.rawClient.removeObject(bucket, originalKey(hidden.sha256));
    // The next cycle is due a day (cycleDays) after the last began: move that start back rather than wait.
    await rt.db.query(`UPDATE fixity_cycles SET started_at = started_at - interval '2 days'`);

    const status = await cycleCompleted(rt, 2);
    expect(status.lastCompleted).toMatchObject({ id: 2, items: 5, ledger: { ok: true } });
    expect([...(await checkedIn(rt, 2))].sort()).toEqual(items.map((i) => i.id).sort());
    expect(status.failures.map((f) => f.evidenceId).sort()).toEqual([replaced.id, hidden.id].sort());

    const failed = await rt.ledger.eventsOfTypes(['FIXITY_FAILED']);
    expect(failed.map((e) => e.evidenceId).sort()).toEqual([replaced.id, hidden.id].sort());
    const ofReplaced = failed.find((e) => e.evidenceId === replaced.id)!;
    expect(ofReplaced.details).toMatchObject({ cycle: 2, missing: false, expectedSha256: replaced.sha256, storedSha256: createHash('sha256').update(forged).digest('hex') });
    expect(failed.find((e) => e.evidenceId === hidden.id)!.details).toMatchObject({ cycle: 2, missing: true, storedSha256: null });
    const batchOf = (await batchEvents(rt, 2)).find((b) => b.seq === ofReplaced.details.batchSeq)!;
    expect((batchOf.details.items as Array<{ evidenceId: string; ok: boolean }>).find((i) => i.evidenceId === replaced.id)?.ok).toBe(false);
    expect(await rt.fixity.lastCheck(replaced.id)).toMatchObject({ ok: false });
    expect(await rt.fixity.lastCheck(items[2]!.id)).toMatchObject({ ok: true });

    const alerts = await eventually(async () => {
      const lines = readFileSync(logFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: number; module: string; evidenceId?: string; cycle?: number; seq?: number; msg: string });
      const found = lines.filter((l) => l.module === 'fixity' && l.level === 50 && l.cycle === 2);
      return found.length >= 2 ? found : undefined;
    }, 10_000, 'the alert log lines');
    expect(alerts.map((l) => [l.evidenceId, l.msg, l.seq]).sort()).toEqual(
      [
        [replaced.id, 'fixity check failed', ofReplaced.seq],
        [hidden.id, 'fixity check failed: stored original missing', failed.find((e) => e.evidenceId === hidden.id)!.seq],
      ].sort(),
    );

    const deliveries = await rt.db.query<{ event: string; state: string; evidence: string }>(
      `SELECT event, state, payload->'data'->>'evidenceId' AS evidence FROM webhook_deliveries ORDER BY created_at`,
    );
    expect(deliveries.rows.map((d) => d.event)).toEqual(['evidence.fixity_failed', 'evidence.fixity_failed']);
    expect(deliveries.rows.map((d) => d.evidence).sort()).toEqual([replaced.id, hidden.id].sort());
    await eventually(async () => (received.length === 2 ? true : undefined), 30_000, 'both webhooks delivered');
    expect(received.map((r) => [r.event, r.body.event])).toEqual([
      ['evidence.fixity_failed', 'evidence.fixity_failed'],
      ['evidence.fixity_failed', 'evidence.fixity_failed'],
    ]);
    expect(received.map((r) => r.body.data.evidenceId).sort()).toEqual([replaced.id, hidden.id].sort());

    const cli = await evidock(['fixity', 'status', '--json'], env.childEnv);
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    const shown = JSON.parse(cli.stdout) as FixityStatus;
    expect(shown.failures.map((f) => f.evidenceId).sort()).toEqual([replaced.id, hidden.id].sort());
    expect(shown.lastCompleted?.id).toBe(2);
    const text = await evidock(['--lang', 'en', 'fixity', 'status'], env.childEnv);
    expect(text.stdout).toContain('Fixity check FAILED: 2 items');
    expect(text.stdout).toContain(replaced.id);

    const jobs = await evidock(['jobs', '--json'], env.childEnv);
    expect(jobs.code).toBe(0);
    const listed = (JSON.parse(jobs.stdout) as { fixityFailed: Array<{ evidenceId: string }>; queues: Array<{ queue: string }> });
    expect(listed.fixityFailed.map((f) => f.evidenceId).sort()).toEqual([replaced.id, hidden.id].sort());
    expect(listed.queues.map((q) => q.queue)).toContain('fixity');
  });
});

describe('evidock verify --all beside it', () => {
  let env: TestEnv;
  let items: Array<{ id: string; sha256: string }>;

  beforeAll(async () => {
    env = await createTestEnv('fixityverify');
    const rt = await env.runtime();
    items = await ingest(rt, env, 'VERIFY-1', 3, 50_000);
    await rt.objects.rawClient.putObject(rt.objects.bucketName('originals'), originalKey(items[0]!.sha256), Buffer.from('forged'));
  });
  afterAll(async () => env?.cleanup());

  it('keeps its --json shape, and shows a progress line only on a terminal', async () => {
    const json = await evidock(['verify', '--all', '--json'], env.childEnv);
    expect(json.code).toBe(1);
    expect(json.stderr).toBe('');
    const report = JSON.parse(json.stdout) as { ok: boolean; ledger: Record<string, unknown>; items: Array<Record<string, unknown>> };
    expect(Object.keys(report).sort()).toEqual(['items', 'ledger', 'ok']);
    expect(Object.keys(report.ledger).sort()).toEqual(['checkpoints', 'events', 'keys', 'problems', 'treeSize']);
    expect(report.items.map((i) => Object.keys(i).sort())).toEqual(Array(3).fill(['evidenceId', 'ok', 'problems', 'rehashed']));
    expect(report.items.filter((i) => !i.ok).map((i) => i.evidenceId)).toEqual([items[0]!.id]);

    // `script` gives the command a terminal; its output is what the operator sees.
    const tty = await new Promise<{ code: number; out: string }>((done) =>
      execFile('script', ['-qec', `'${process.execPath}' '${resolve(REPO_ROOT, 'bin/evidock.js')}' --lang en verify --all`, '/dev/null'], { env: { ...process.env, ...env.childEnv }, timeout: 60_000 }, (error, stdout) =>
        done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, out: stdout }),
      ),
    );
    expect(tty.code).toBe(1);
    expect(tty.out).toContain('Verifying and re-hashing: 3/3 evidence items');
    expect(tty.out).toContain('Verification FAILED');
    expect(json.stdout).not.toContain('Verifying');
  });
});

describe('a fixity cycle stopped part-way', () => {
  let env: TestEnv;
  let rt: Runtime;
  let items: Array<{ id: string; sha256: string }>;

  beforeAll(async () => {
    // One item a batch, read at 400 kB/s: the cycle of six 300 kB items spans several batches.
    env = await createTestEnv('fixityresume', { fixity: { enabled: true, tickSeconds: 1, batchMaxItems: 1, bytesPerSecond: 400_000 } });
    rt = await env.runtime();
    items = await ingest(rt, env, 'RESUME-1', 6, 300_000);
  });
  afterAll(async () => env?.cleanup());

  it('resumes where it stopped: every item checked, none twice in the cycle', async () => {
    const first = await env.runtime();
    first.startWorkers([QueueName.Fixity]);
    await eventually(async () => ((await checkedIn(rt, 1)).length >= 2 ? true : undefined), 60_000, 'two batches of the cycle');
    await first.close();
    const atStop = await checkedIn(rt, 1);
    const open = (await rt.fixity.status()).cycle;
    // The point of the test: the cycle was still under way when its worker stopped.
    expect(open?.items.checked).toBe(atStop.length);
    expect(atStop.length).toBeLessThan(items.length);

    const second = await env.runtime();
    second.startWorkers([QueueName.Fixity]);
    await cycleCompleted(rt, 1);
    const named = await checkedIn(rt, 1);
    expect(named.slice(0, atStop.length)).toEqual(atStop);
    expect([...named].sort()).toEqual(items.map((i) => i.id).sort());
    const status = await rt.fixity.status();
    expect(status.lastCompleted).toMatchObject({ id: 1, items: 6, ledger: { ok: true } });
    expect(status.failures).toEqual([]);
    // The next test's cycle is the killed child's alone until it is killed.
    await second.close();
  });

  it('loses only the uncommitted batch of a worker killed mid-cycle; two hosts then finish it, none checking an item the other did', async () => {
    await rt.db.query(`UPDATE fixity_cycles SET started_at = started_at - interval '31 days'`);
    const child = spawn(process.execPath, [resolve(REPO_ROOT, 'bin/evidock.js'), 'workers'], { env: { ...process.env, ...env.childEnv }, stdio: 'ignore' });
    try {
      await eventually(async () => ((await checkedIn(rt, 2)).length >= 2 ? true : undefined), 60_000, 'two batches of the second cycle');
    } finally {
      child.kill('SIGKILL');
    }
    await new Promise((r) => child.once('exit', r));
    const atKill = await checkedIn(rt, 2);
    expect(atKill.length).toBeLessThan(items.length);

    const hosts = [await env.runtime(), await env.runtime()];
    for (const host of hosts) host.startWorkers([QueueName.Fixity]);
    await cycleCompleted(rt, 2);
    const named = await checkedIn(rt, 2);
    expect(named.slice(0, atKill.length)).toEqual(atKill);
    expect([...named].sort()).toEqual(items.map((i) => i.id).sort());
    expect((await rt.fixity.status()).lastCompleted).toMatchObject({ id: 2, items: 6, ledger: { ok: true, problems: [] } });
  });
});
