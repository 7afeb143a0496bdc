import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../config/config.loader.ts';
import { importFolder } from '../daemon/cli.ts';
import type { Runtime } from '../daemon/runtime.ts';
import { TERMINAL_STAGES } from '../storage/catalog.repository.ts';
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
import { dockedFiles, expectCompleteAndSafe, makeRecorder, readAll, sha256 } from './support/ingest-checks.ts';

/**
 * "MinIO, Redis or PostgreSQL down: work waits in the spool and queues, resumes when they
 * return." Each case points ONE service of an isolated evidock at a private server (the
 * other two stay on the shared stack), takes that server down in the middle of an import,
 * brings it back, and checks that the session completes with every file stored once,
 * verified, and cleared only after verification.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const OUTAGE_MS = 3000;
const HOOK_TIMEOUT_MS = 90_000;
const TEST_TIMEOUT_MS = 120_000;

/** createTestEnv replaces a top-level section wholesale, so ingest is given in full. */
const INGEST = { backoffSeconds: 0.2, attempts: 12, spoolMinFreeMiB: 0, spoolRetryDelaySeconds: 1 };

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
