import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../config/config.loader.ts';
import { importFolder } from '../daemon/cli.ts';
import type { Runtime } from '../daemon/runtime.ts';
import { TERMINAL_STAGES, type FileRow } from '../storage/catalog.repository.ts';
import { originalKey } from '../storage/object-store.ts';
import { JobName, jobIdOf, QueueName } from '../workers/job.types.ts';
import {
  freePort,
  privateMinioConfig,
  privatePostgresConfig,
  privateRedisConfig,
  startPrivateMinio,
  startPrivatePostgres,
  startPrivateRedis,
  stopAllPrivateServices,
  type PrivateService,
} from './support/private-services.ts';
import { createTestEnv, eventually, type TestEnv } from './support/test-env.ts';

/**
 * "MinIO, Redis or PostgreSQL down: work waits in the spool and queues, resumes when they
 * return." Each case points ONE service of an isolated evidock at a private server (the
 * other two stay on the shared stack), takes that server down in the middle of an import,
 * brings it back, and checks that the session completes with every file stored once,
 * verified, and cleared only after verification.
 */

const OUTAGE_MS = 3000;
const HOOK_TIMEOUT_MS = 90_000;
const TEST_TIMEOUT_MS = 120_000;

/** createTestEnv replaces a top-level section wholesale, so ingest is given in full. */
const INGEST = { backoffSeconds: 0.2, attempts: 12, spoolMinFreeMiB: 0, spoolRetryDelaySeconds: 1 };

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A folder laid out like a GA/T 947 recorder: DCIM/100MEDIA/<device>_<officer>_<start>_<seq>.MP4 */
function makeRecorder(dir: string, serial: string, count: number, size: number): Map<string, Buffer> {
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

async function readAll(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c);
  return Buffer.concat(chunks);
}

/** The files of the one session this env has docked so far (undefined until it exists). */
async function dockedFiles(rt: Runtime, expected: number): Promise<FileRow[] | undefined> {
  const r = await rt.db.query<{ id: string }>('SELECT id FROM dock_sessions ORDER BY started_at DESC LIMIT 1');
  const id = r.rows[0]?.id;
  if (!id) return undefined;
  const files = await rt.catalog.filesOfSession(id);
  return files.length === expected ? files : undefined;
}

/** Every original has exactly one object version: nothing was uploaded twice. */
async function versionsPerKey(rt: Runtime): Promise<Map<string, number>> {
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
async function expectCompleteAndSafe(rt: Runtime, folder: string, sources: Map<string, Buffer>, result: Awaited<ReturnType<typeof importFolder>>) {
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

/**
 * afterAll for one case: bring the private server back (closing BullMQ or pg against a
 * dead server can hang), close the runtime, stop the private server, then drop the env.
 */
/** What a case sets up: an isolated evidock, its ONE private server, and its runtime. */
interface Isolated {
  env?: TestEnv;
  rt?: Runtime;
  server?: PrivateService;
}

const PRIVATE_SERVERS = {
  // Its buckets are the config defaults: no name clash is possible.
  minio: { config: privateMinioConfig, start: startPrivateMinio },
  redis: { config: privateRedisConfig, start: startPrivateRedis },
  // The catalog and ledger live in its database `evidock`.
  postgres: { config: privatePostgresConfig, start: startPrivatePostgres },
} as const;

/** Fills `into` as each part comes up, so that teardown cleans whatever did. The runtime comes last: ensureBuckets and the migrations need the server up. */
async function isolate(into: Isolated, label: string, service: keyof typeof PRIVATE_SERVERS): Promise<void> {
  const port = await freePort();
  const { config, start } = PRIVATE_SERVERS[service];
  into.env = await createTestEnv(label, { [service]: config(port), ingest: INGEST });
  into.server = await start(into.env.dir, { port });
  into.rt = await into.env.runtime();
}

async function teardown({ env, rt, server: service }: Isolated): Promise<void> {
  const bounded = <T>(p: Promise<T>, ms: number) => Promise.race([p.catch(() => undefined), sleep(ms)]);
  try {
    if (service && !service.running) await bounded(service.start(), 30_000);
    if (rt) await bounded(rt.close(), 20_000);
  } finally {
    await stopAllPrivateServices();
    await env?.cleanup();
  }
}

describe('MinIO down: files wait in the spool and are stored when it returns', () => {
  const s: Isolated = {};
  beforeAll(() => isolate(s, 'deadminio', 'minio'), HOOK_TIMEOUT_MS);
  afterAll(() => teardown(s), HOOK_TIMEOUT_MS);

  it(
    'acquires into the spool, keeps every recording on the recorder, then stores, verifies and clears after MinIO is back',
    async () => {
      const runtime = s.rt!;
      await s.server!.stop();

      const folder = join(s.env!.dir, 'rec');
      const sources = makeRecorder(folder, 'ZFY0101', 3, 300_000);
      const running = importFolder(runtime, folder, { serial: 'ZFY0101', case: ['YB2026-101'], subject: '某药房', place: '某市某区', json: true });
      running.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile

      // All three spooled, and the store step has already failed against the dead server.
      const files = await eventually(
        async () => {
          const fs = await dockedFiles(runtime, 3);
          if (!fs || !fs.every((f) => f.stage === 'acquired')) return undefined;
          const store = runtime.queue.queue(QueueName.Store);
          const jobs = await Promise.all(fs.map((f) => store.getJob(jobIdOf(JobName.Store, { fileId: f.id, sessionId: f.sessionId, serial: f.recorderSerial }))));
          return jobs.some((j) => j && j.attemptsMade >= 1) ? fs : undefined;
        },
        60_000,
        'all files acquired and a failed store attempt',
      );

      for (const f of files) {
        const original = sources.get(f.displayPath)!;
        expect(f.sha256).toBe(sha256(original));
        expect(await runtime.spool.sizeOf(f.fingerprint)).toBe(original.length);
        expect(sha256(await readAll(runtime.spool.read(f.fingerprint) as AsyncIterable<Buffer>))).toBe(sha256(original));
      }
      expect(readdirSync(join(folder, 'DCIM', '100MEDIA')).sort()).toEqual([...sources.keys()].map((p) => p.split('/').pop()).sort());
      const premature = await runtime.db.query<{ n: string }>(`SELECT count(*) AS n FROM custody_events WHERE type IN ('STORED', 'RECORDER_CLEARED')`);
      expect(Number(premature.rows[0]!.n)).toBe(0);

      await s.server!.start();
      const result = await running;
      await expectCompleteAndSafe(runtime, folder, sources, result);
    },
    TEST_TIMEOUT_MS,
  );
});

describe('MinIO down and the recorder pulled: the daemon makes the spool copies durable at the undock', () => {
  const s: Isolated = {};
  let daemon: ChildProcess | undefined;

  // The runtime starts no workers here: the daemon runs them.
  beforeAll(() => isolate(s, 'undockminio', 'minio'), HOOK_TIMEOUT_MS);
  afterAll(async () => {
    daemon?.kill('SIGKILL');
    await teardown(s);
  }, HOOK_TIMEOUT_MS);

  it(
    'safe to undock while nothing is stored; the undock fsyncs the spool copies; they are stored once MinIO is back',
    async () => {
      const runtime = s.rt!;
      // The daemon watches env.dir/media (createTestEnv's watch.mountRoots).
      const media = join(s.env!.dir, 'media');
      mkdirSync(media, { recursive: true });
      daemon = spawn(process.execPath, [resolve(REPO_ROOT, 'bin/evidock.js'), 'daemon'], { env: { ...process.env, ...s.env!.childEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      daemon.stdout!.on('data', (d: Buffer) => (output += d.toString()));
      daemon.stderr!.on('data', (d: Buffer) => (output += d.toString()));
      await eventually(async () => (output.includes('workstation') || output.includes('工作站') ? true : undefined), 30_000, 'the daemon to start');
      await s.server!.stop();

      const volume = join(media, 'officer', 'ZFY_REC_9');
      const sources = makeRecorder(volume, 'ZFY0109', 2, 3 << 20);
      const session = await eventually(async () => (await runtime.db.query<{ id: string }>('SELECT id FROM dock_sessions WHERE mount_path = $1', [volume])).rows[0]?.id, 30_000, 'the daemon to dock the recorder');
      // Told safe to undock with every copy spooled and none stored; nothing forced to disk for it.
      const spooled = await eventually(async () => {
        if ((await runtime.catalog.getSession(session))?.status !== 'acquired') return undefined;
        return runtime.catalog.filesOfSession(session);
      }, 60_000, 'safe to undock');
      expect(spooled.map((f) => f.stage)).toEqual(['acquired', 'acquired']);
      for (const f of spooled) expect(f.bytesAcquired).toBeLessThan(f.size);

      // The officer takes the recorder away.
      rmSync(volume, { recursive: true, force: true });
      const durable = await eventually(async () => {
        const fs = await runtime.catalog.filesOfSession(session);
        return fs.every((f) => f.bytesAcquired === f.size) ? fs : undefined;
      }, 30_000, 'the spool copies made durable after the undock');
      expect(durable.map((f) => f.stage)).toEqual(['acquired', 'acquired']);
      const undocked = await runtime.db.query(`SELECT 1 FROM custody_events WHERE type = 'UNDOCKED' AND session_id = $1`, [session]);
      expect(undocked.rowCount).toBe(1);

      // MinIO back: stored from the spool alone, kept for clearing at the recorder's next docking.
      await s.server!.start();
      const kept = await eventually(async () => {
        const fs = await runtime.catalog.filesOfSession(session);
        return fs.every((f) => f.stage === 'kept') ? fs : undefined;
      }, 90_000, 'the files stored and kept');
      for (const f of kept) {
        expect(f.sha256).toBe(sha256(sources.get(f.displayPath)!));
        expect((await runtime.objects.stat('originals', originalKey(f.sha256!)))?.metadata.sha256).toBe(f.sha256);
      }
      daemon.kill('SIGTERM');
      expect(await new Promise((r) => daemon!.on('exit', r))).toBe(0);
    },
    TEST_TIMEOUT_MS,
  );
});

describe('Redis down: queued work survives in the AOF and resumes', () => {
  const s: Isolated = {};
  beforeAll(() => isolate(s, 'deadredis', 'redis'), HOOK_TIMEOUT_MS);
  afterAll(() => teardown(s), HOOK_TIMEOUT_MS);

  it(
    'completes the session, storing each file once and clearing only verified files',
    async () => {
      const runtime = s.rt!;
      const folder = join(s.env!.dir, 'rec');
      const sources = makeRecorder(folder, 'ZFY0102', 3, 20 * 1024 * 1024);
      const running = importFolder(runtime, folder, { serial: 'ZFY0102', case: ['YB2026-102'], subject: '某药房', place: '某市某区', json: true });
      running.catch(() => undefined);

      // Mid-ingest: the first recording is spooled, the others are still on their way.
      await eventually(
        async () => {
          const fs = await dockedFiles(runtime, 3);
          return fs?.some((f) => f.stage !== 'queued' && f.stage !== 'acquiring') ? true : undefined;
        },
        60_000,
        'a file past acquisition',
      );
      await s.server!.stop();
      const atStop = (await dockedFiles(runtime, 3))!;
      // Otherwise the outage would prove nothing.
      expect(atStop.every((f) => TERMINAL_STAGES.includes(f.stage)), `stages when Redis stopped: ${atStop.map((f) => f.stage)}`).toBe(false);
      await sleep(OUTAGE_MS);
      await s.server!.start();

      const result = await running;
      await expectCompleteAndSafe(runtime, folder, sources, result);
    },
    TEST_TIMEOUT_MS,
  );
});

describe('PostgreSQL down: jobs retry until the catalog and ledger are back', () => {
  const s: Isolated = {};
  beforeAll(() => isolate(s, 'deadpg', 'postgres'), HOOK_TIMEOUT_MS);
  afterAll(() => teardown(s), HOOK_TIMEOUT_MS);

  it(
    'completes the session after the database returns, with an intact ledger',
    async () => {
      const runtime = s.rt!;
      const folder = join(s.env!.dir, 'rec');
      const sources = makeRecorder(folder, 'ZFY0103', 3, 20 * 1024 * 1024);
      const running = importFolder(runtime, folder, { serial: 'ZFY0103', case: ['YB2026-103'], subject: '某药房', place: '某市某区', json: true });
      running.catch(() => undefined);

      // Past docking and mid-ingest: a recording is already spooled (so every file was
      // queued before), the others are being copied or wait their turn.
      await eventually(
        async () => {
          const fs = await dockedFiles(runtime, 3);
          return fs?.some((f) => f.stage !== 'queued' && f.stage !== 'acquiring') ? true : undefined;
        },
        60_000,
        'a file past acquisition',
      );
      const atStop = (await dockedFiles(runtime, 3))!;
      await s.server!.stop();
      expect(atStop.every((f) => TERMINAL_STAGES.includes(f.stage)), `stages when PostgreSQL stopped: ${atStop.map((f) => f.stage)}`).toBe(false);
      await sleep(OUTAGE_MS);
      await s.server!.start();

      const result = await running;
      await expectCompleteAndSafe(runtime, folder, sources, result);
    },
    TEST_TIMEOUT_MS,
  );
});
