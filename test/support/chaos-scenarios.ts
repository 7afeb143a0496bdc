import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig, REPO_ROOT as REPO_ROOT_DIR } from '../../config/config.loader.ts';
import { importFolder } from '../../daemon/cli.ts';
import type { Runtime } from '../../daemon/runtime.ts';
import { DirectoryDriver } from '../../drivers/directory.driver.ts';
import { makeRecorderFootage } from '../../scripts/make-footage.ts';
import type { FileRow } from '../../storage/catalog.repository.ts';
import { eventObjectKey } from '../../storage/custody-ledger.service.ts';
import { originalKey } from '../../storage/object-store.ts';
import { QueueName } from '../../workers/job.types.ts';
import {
  childConfig,
  copyRecorder,
  dockUnder,
  EvidockProcess,
  KILL_TARGET,
  movedSources,
  orphansOf,
  queuesIdle,
  seededRandom,
  sessionSettled,
  sleep,
  sourcesOf,
  waitForKillPoint,
  writeByteRecordings,
  type KillPoint,
} from './chaos-faults.ts';
import { checkInvariants, intact, sha256Of, type InvariantReport, type SourceFile } from './invariants.ts';
import {
  freePort,
  privateMinioConfig,
  privatePostgresConfig,
  privateRedisConfig,
  startPrivateMinio,
  startPrivatePostgres,
  startPrivateRedis,
  startPrivateRedisCluster,
  startPrivateRedisSentinel,
  stopAllPrivateServices,
  type PrivateService,
} from './private-services.ts';
import { ingestThroughClusterFailover, ingestThroughSentinelFailover, sentinelMasterPort, type FailoverRun } from './redis-failover.ts';
import { SabotagedVolume } from './sabotaged-volume.ts';
import { createTestEnv, eventually, type TestEnv } from './test-env.ts';

/**
 * The chaos suite's scenarios: each injects one kind of fault or attack into an isolated
 * evidock on the real stack (private Redis/PostgreSQL/MinIO where a server is taken down),
 * then checks the invariants of test/support/invariants.ts. Each returns one row of the
 * report that scripts/chaos.ts publishes as docs/reliability.md; test/chaos-quick.test.ts
 * runs small versions of some and asserts on the same rows.
 *
 * Adding an attack surface (e.g. the HTTP API once it exists) is adding a scenario that
 * returns a ScenarioRow; the report and the quick test pick it up from the list.
 */

export interface ScenarioRow {
  group: 'crash' | 'outage' | 'docking' | 'load' | 'hostile' | 'tamper' | 'secrets' | 'preservation';
  fault: string;
  /** How many times the fault or attack was injected. */
  tries: number;
  /** What was checked afterwards. */
  checked: string;
  filesLost: number;
  duplicates: number;
  unverifiedClears: number;
  shaMismatches: number;
  stuckJobs: number;
  /** Attacks: how many were detected or refused, of `tries`. */
  detected: number | null;
  ok: boolean;
  notes: string[];
  seconds: number;
}

export interface ChaosContext {
  seed: number;
  quick: boolean;
  log: (line: string) => void;
}

const ALL_QUEUES = Object.values(QueueName);
const INGEST = { backoffSeconds: 0.2, attempts: 12, spoolMinFreeMiB: 0, spoolRetryDelaySeconds: 1 };
const INVARIANT_CHECKS = 'each source stored once (catalog row + one object version), SHA-256 equal (re-hash), no clear without a prior VERIFIED of the same bytes, `verify` clean (chain, signatures, mirror, catalog), no waiting/active/failed job';

function row(group: ScenarioRow['group'], fault: string, checked = INVARIANT_CHECKS): ScenarioRow {
  return { group, fault, tries: 0, checked, filesLost: 0, duplicates: 0, unverifiedClears: 0, shaMismatches: 0, stuckJobs: 0, detected: null, ok: true, notes: [], seconds: 0 };
}

function add(r: ScenarioRow, report: InvariantReport): void {
  r.filesLost += report.filesLost;
  r.duplicates += report.duplicates;
  r.unverifiedClears += report.unverifiedClears;
  r.shaMismatches += report.shaMismatches;
  r.stuckJobs += report.stuckJobs;
  if (!intact(report)) {
    r.ok = false;
    r.notes.push(...report.problems.slice(0, 5));
  }
}

/** Rejects with a "hang" error when `work` takes longer than `ms`. */
export async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hang: ${what} not finished after ${Math.round(ms / 1000)} s`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function timedRow(build: () => Promise<ScenarioRow>, fallback: ScenarioRow): Promise<ScenarioRow> {
  const started = Date.now();
  let r: ScenarioRow;
  try {
    r = await build();
  } catch (error) {
    r = fallback;
    r.ok = false;
    r.notes.push(`scenario error: ${(error as Error).message.split('\n')[0]}`);
  }
  r.seconds = Math.round((Date.now() - started) / 1000);
  return r;
}

/** Settles all sessions of an env and every queue. */
async function settleAll(rt: Runtime, timeoutMs: number): Promise<FileRow[]> {
  const sessions = await rt.db.query<{ id: string }>('SELECT id FROM dock_sessions');
  const files: FileRow[] = [];
  for (const s of sessions.rows) files.push(...(await sessionSettled(rt, s.id, timeoutMs)));
  await queuesIdle(rt, timeoutMs);
  return files;
}

function watchSettings(env: { dir: string }) {
  return { usbDetection: false, settleMs: 300, depth: 2, mountRoots: [join(env.dir, 'media')] };
}

/** A recorder with real media (two short videos, a WAV, a photo) and large byte recordings. */
async function footageTemplate(dir: string, serial: string, bigFiles: number, bigBytes: number, seed: number): Promise<string> {
  if (!existsSync(dir)) {
    await makeRecorderFootage(dir, { files: 2, seconds: 3, serial, seed, width: 320, height: 240 });
    writeByteRecordings(dir, serial, bigFiles, bigBytes, seed, 20);
  }
  return dir;
}

// ---- 1. SIGKILL of the daemon and the workers -----------------------------------------

export interface KillOptions {
  rounds: number;
  /** Kill points per round, taken in pipeline order. */
  points: readonly KillPoint[];
  bigFiles: number;
  bigBytes: number;
  templateDir: string;
  /** Run up to 3 extra rounds until at least this many kills have landed. */
  minKills?: number;
}

export async function killScenario(ctx: ChaosContext, o: KillOptions): Promise<ScenarioRow> {
  const r = row('crash', 'SIGKILL of `evidock daemon --device-only` (acquire, store, verify, clear) and `evidock workers` (record, metadata, proxy, thumbnails) at watched pipeline points, then restart');
  return timedRow(async () => {
    const rnd = seededRandom(ctx.seed);
    const template = await footageTemplate(o.templateDir, 'ZFYK001', o.bigFiles, o.bigBytes, ctx.seed);
    const landed = new Map<string, number>();
    let missed = 0;
    let orphans = 0;
    const landedCount = () => [...landed.values()].reduce((a, b) => a + b, 0);
    for (let round = 0; round < o.rounds || (landedCount() < (o.minKills ?? 0) && round < o.rounds + 3); round++) {
      const env = await createTestEnv(`kill${round}`, {
        watch: { usbDetection: false, settleMs: 300, depth: 2, mountRoots: [] },
        ingest: INGEST,
        media: { metadataConcurrency: 1, transcodeConcurrency: 1 },
      });
      const procs: EvidockProcess[] = [];
      try {
        const mount = join(env.dir, 'media');
        mkdirSync(mount, { recursive: true });
        const cfg = childConfig(env, { watch: watchSettings(env) });
        const daemon = new EvidockProcess('daemon', ['daemon', '--device-only'], cfg, join(env.dir, 'daemon.log'));
        const workers = new EvidockProcess('workers', ['workers'], cfg, join(env.dir, 'workers.log'));
        procs.push(daemon, workers);
        daemon.start();
        workers.start();
        await Promise.all([daemon.ready(), workers.ready()]);
        const rt = await env.runtime();
        const staged = join(env.dir, 'staged');
        copyRecorder(template, staged);
        const volumeName = `REC${round}`;
        const sources = movedSources(sourcesOf(staged), staged, join(mount, volumeName));
        dockUnder(mount, staged, volumeName);
        const sampler = setInterval(() => procs.forEach((p) => p.sample()), 200);
        try {
          // Rotate where each round starts, so every point gets kills early and late in a session.
          const order = o.points.map((_, i) => o.points[(i + round) % o.points.length]!);
          const sorted = o.points.filter((p) => order.includes(p));
          for (const point of round % 2 === 0 ? sorted : order) {
            const target = KILL_TARGET[point] === 'daemon' ? daemon : workers;
            const reached = await waitForKillPoint(rt, point, target.startedAt, 40_000);
            if (!reached) {
              missed++;
              ctx.log(`  round ${round + 1}: ${point} not reached`);
              continue;
            }
            const delay = Math.floor(rnd() * 200);
            await sleep(delay);
            await target.kill();
            landed.set(point, (landed.get(point) ?? 0) + 1);
            ctx.log(`  round ${round + 1}: SIGKILL ${target.label} at ${point} (+${delay} ms)`);
            target.start();
          }
          await settleAll(rt, 240_000);
        } finally {
          clearInterval(sampler);
        }
        const report = await checkInvariants(rt, sources, { rehash: true });
        const stillOnRecorder = sources.filter((s) => existsSync(s.path)).length;
        if (stillOnRecorder > 0) {
          r.ok = false;
          r.notes.push(`round ${round + 1}: ${stillOnRecorder} recordings not cleared`);
        }
        const pendingMedia = await rt.db.query<{ n: string }>(`SELECT count(*) AS n FROM evidence WHERE media_status = 'pending'`);
        if (Number(pendingMedia.rows[0]!.n) > 0) {
          r.stuckJobs += Number(pendingMedia.rows[0]!.n);
          r.ok = false;
          r.notes.push(`round ${round + 1}: ${pendingMedia.rows[0]!.n} items with media still pending`);
        }
        add(r, report);
        for (const p of procs) await p.stop();
        orphans += orphansOf(env.name).length;
      } finally {
        for (const p of procs) await p.kill().catch(() => undefined);
        await env.cleanup();
      }
    }
    r.tries = landedCount();
    if (o.minKills && r.tries < o.minKills) {
      r.ok = false;
      r.notes.push(`only ${r.tries} kills landed, fewer than the ${o.minKills} required`);
    }
    if (orphans > 0) {
      r.ok = false;
      r.notes.push(`${orphans} processes outlived their killed parent`);
    }
    r.notes.unshift(`kill points landed: ${[...landed].map(([p, n]) => `${p} ${n}`).join(', ')}${missed ? `; ${missed} points not reached in time (not counted)` : ''}; seed ${ctx.seed}, delay after the point 0–200 ms`);
    return r;
  }, r);
}

// ---- 2. servers down ------------------------------------------------------------------

type ServerKind = 'redis' | 'minio' | 'postgres';

export async function outageScenario(ctx: ChaosContext, kind: ServerKind, outageMs: number, tries: number): Promise<ScenarioRow> {
  const label = { redis: 'Redis restarted mid-ingest', minio: `MinIO stopped for ${Math.round(outageMs / 1000)} s mid-upload`, postgres: 'PostgreSQL restarted mid-ingest' }[kind];
  const r = row('outage', label);
  return timedRow(async () => {
    for (let i = 0; i < tries; i++) {
      const port = await freePort();
      const section = kind === 'redis' ? { redis: privateRedisConfig(port) } : kind === 'minio' ? { minio: privateMinioConfig(port) } : { postgres: privatePostgresConfig(port) };
      const env = await createTestEnv(`out${kind}`, { ...section, ingest: INGEST, watch: { usbDetection: false, settleMs: 300, depth: 2, mountRoots: [] } });
      let service: PrivateService | undefined;
      let daemon: EvidockProcess | undefined;
      let rt: Runtime | undefined;
      try {
        service = kind === 'redis' ? await startPrivateRedis(env.dir, { port }) : kind === 'minio' ? await startPrivateMinio(env.dir, { port }) : await startPrivatePostgres(env.dir, { port });
        rt = await env.runtime();
        const mount = join(env.dir, 'media');
        mkdirSync(mount, { recursive: true });
        daemon = new EvidockProcess('daemon', ['daemon'], childConfig(env, { watch: watchSettings(env) }), join(env.dir, 'daemon.log'));
        daemon.start();
        await daemon.ready();
        const staged = join(env.dir, 'staged');
        writeByteRecordings(staged, `ZFYO${i}`, 4, 12 << 20, ctx.seed + i);
        const target = join(mount, 'REC');
        const sources = movedSources(sourcesOf(staged), staged, target);
        dockUnder(mount, staged, 'REC');
        const runtime = rt;
        // Mid-ingest: for MinIO an upload is running; otherwise a file is past acquisition.
        await eventually(async () => {
          const files = (await runtime.db.query<{ stage: string }>('SELECT stage FROM session_files')).rows;
          if (kind === 'minio') return files.some((f) => f.stage === 'acquired') && (await runtime.queue.queue(QueueName.Store).getActiveCount()) > 0 ? true : undefined;
          return files.some((f) => !['queued', 'acquiring'].includes(f.stage)) && files.some((f) => !['cleared'].includes(f.stage)) ? true : undefined;
        }, 60_000, 'mid-ingest');
        await service.stop();
        ctx.log(`  ${kind} down (${i + 1}/${tries})`);
        await sleep(outageMs);
        await service.start();
        await settleAll(rt, 300_000);
        add(r, await checkInvariants(rt, sources, { rehash: true }));
        r.tries++;
        if (sources.some((s) => existsSync(s.path))) {
          r.ok = false;
          r.notes.push(`try ${i + 1}: recordings left on the recorder`);
        }
        await daemon.stop();
      } finally {
        await daemon?.kill().catch(() => undefined);
        if (service && !service.running) await service.start().catch(() => undefined);
        await Promise.race([rt?.close().catch(() => undefined), sleep(15_000)]);
        await stopAllPrivateServices();
        await env.cleanup().catch(() => undefined);
      }
    }
    return r;
  }, r);
}

/** One failover try: the Redis section of its config, and how to start its servers and run the ingest through the fault. */
interface FailoverTry {
  redis: Record<string, unknown>;
  /** What the fault is, for the notes. */
  fault: string;
  start(env: TestEnv): Promise<(rt: Runtime) => Promise<FailoverRun>>;
}

/**
 * Runs each try's ingest through its failover on an isolated evidock serving every queue,
 * then checks the invariants. Reports the stall of each: from the fault to the first
 * acquisition of a recording that was waiting at the fault (no bound is asserted; the figure
 * goes in the notes, the largest per kind of fault at the end).
 */
async function failoverScenario(r: ScenarioRow, label: string, setups: Array<() => Promise<FailoverTry>>, detection: string): Promise<ScenarioRow> {
  return timedRow(async () => {
    const stalls = new Map<string, number[]>();
    for (const [i, setup] of setups.entries()) {
      const t = await setup();
      const env = await createTestEnv(label, { redis: t.redis, ingest: INGEST });
      let rt: Runtime | undefined;
      try {
        const ingest = await t.start(env);
        rt = await env.runtime();
        // Media work too: the invariants want every queue drained, metadata and proxies included.
        rt.startWorkers(ALL_QUEUES);
        const run = await ingest(rt);
        await queuesIdle(rt, 60_000);
        const sources: SourceFile[] = [...run.sources].map(([path, bytes]) => ({ path: join(run.folder, path), sha256: sha256Of(bytes), size: bytes.length }));
        add(r, await checkInvariants(rt, sources, { rehash: true }));
        r.tries++;
        stalls.set(t.fault, [...(stalls.get(t.fault) ?? []), run.stallMs]);
        r.notes.push(
          `try ${i + 1} (${t.fault}): replica promoted ${(run.promotionMs / 1000).toFixed(1)} s after the fault; stall (fault → next acquisition of a waiting recording) ${(run.stallMs / 1000).toFixed(1)} s; ${run.vanishedJobs} of ${run.waitingAtFault} waiting acquire jobs missing on the promoted replica`,
        );
        if (sources.some((s) => existsSync(s.path))) {
          r.ok = false;
          r.notes.push(`try ${i + 1}: recordings left on the recorder`);
        }
      } finally {
        await Promise.race([rt?.close().catch(() => undefined), sleep(15_000)]);
        await stopAllPrivateServices();
        await env.cleanup().catch(() => undefined);
      }
    }
    for (const [fault, list] of stalls) r.notes.push(`stall, ${fault}, over ${list.length} tries: max ${(Math.max(...list) / 1000).toFixed(1)} s, ${detection}`);
    return r;
  }, r);
}

/**
 * A Redis Cluster failover mid-ingest (issue 19): a private cluster of 3 masters with a
 * replica each, the master serving the acquire queue SIGKILLed while recordings still wait
 * in it.
 */
export async function redisFailoverScenario(ctx: ChaosContext, tries: number): Promise<ScenarioRow> {
  const r = row('outage', 'Redis Cluster master (acquire queue) SIGKILLed mid-ingest, replica promoted', `${INVARIANT_CHECKS}; a former replica serves the killed master's slots`);
  const setups = Array.from({ length: tries }, (_, i) => async (): Promise<FailoverTry> => {
    const ports: number[] = [];
    for (let n = 0; n < 6; n++) ports.push(await freePort());
    return {
      redis: { mode: 'cluster', nodes: ports.map((port) => ({ host: '127.0.0.1', port })), prefix: `chaos-rf${i}`, password: undefined, db: 0, tls: { enabled: false } },
      fault: 'master SIGKILLed',
      async start(env) {
        const cluster = await startPrivateRedisCluster(env.dir, ports, 1);
        return (rt) => ingestThroughClusterFailover(rt, cluster, env.dir, { serial: `ZFYF${i}`, files: 6, bytes: 4 << 20, timeoutMs: 240_000 });
      },
    };
  });
  return failoverScenario(r, 'rfailover', setups, 'cluster-node-timeout 2 s');
}

/**
 * A Redis Sentinel failover mid-ingest (issue 19): a private master, one replica and three
 * Sentinels (quorum 2, down-after-milliseconds 2 s); each try is a `SENTINEL FAILOVER` and
 * a SIGKILL of the master, each on a fresh set, while recordings still wait in the acquire
 * queue. Checked as well: every Sentinel names the old replica as master.
 */
export async function sentinelFailoverScenario(ctx: ChaosContext, tries: number): Promise<ScenarioRow> {
  const r = row('outage', 'Redis Sentinel failover mid-ingest: SENTINEL FAILOVER, and the master SIGKILLed', `${INVARIANT_CHECKS}; every Sentinel names the former replica as master`);
  const name = 'evidock-chaos';
  const setups = Array.from({ length: tries }, (_, i) =>
    (['failover', 'kill'] as const).map((fault) => async (): Promise<FailoverTry> => {
      const servers = [await freePort(), await freePort()];
      const sentinels = [await freePort(), await freePort(), await freePort()];
      return {
        redis: { mode: 'sentinel', sentinels: sentinels.map((port) => ({ host: '127.0.0.1', port })), name, prefix: `chaos-sf${i}`, password: undefined, db: 0, tls: { enabled: false } },
        fault: fault === 'kill' ? 'master SIGKILLed' : 'SENTINEL FAILOVER',
        async start(env) {
          const set = await startPrivateRedisSentinel(env.dir, name, servers, sentinels);
          return async (rt) => {
            const run = await ingestThroughSentinelFailover(rt, set, fault, env.dir, { serial: `ZFYS${i}${fault[0]}`, files: 6, bytes: 4 << 20, timeoutMs: 240_000 });
            const named = sentinels.map((p) => sentinelMasterPort(p, name));
            if (run.promotedPort !== servers[1] || named.some((p) => p !== servers[1])) {
              r.ok = false;
              r.notes.push(`${fault}: the Sentinels name ${named.join(', ')} as master, not the former replica ${servers[1]}`);
            }
            return run;
          };
        },
      };
    }),
  ).flat();
  return failoverScenario(r, 'sfailover', setups, 'down-after-milliseconds 2 s');
}

// ---- 3. spool disk full ---------------------------------------------------------------

export async function spoolFullScenario(ctx: ChaosContext, tries: number): Promise<ScenarioRow> {
  const r = row('outage', 'Spool disk full (a 40 MiB tmpfs as the spool, recordings totalling 72 MiB)', `${INVARIANT_CHECKS}; SPOOL_FULL raised and acquisition resumed as space was freed`);
  return timedRow(async () => {
    for (let i = 0; i < tries; i++) {
      const env = await createTestEnv('spoolfull', { ingest: { ...INGEST, spoolMinFreeMiB: 4, spoolDir: undefined } });
      const spool = join(env.config.dataDir, 'spool');
      mkdirSync(spool, { recursive: true });
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=40m', 'tmpfs', spool]);
      try {
        const rt = await env.runtime();
        rt.startWorkers(ALL_QUEUES);
        const dir = join(env.dir, 'rec');
        writeByteRecordings(dir, `ZFYS${i}`, 3, 24 << 20, ctx.seed + i);
        const sources = sourcesOf(dir);
        const { session } = await within(180_000, 'import onto a full spool', importFolder(rt, dir, { serial: `ZFYS${i}`, json: true }));
        await queuesIdle(rt, 60_000);
        await rt.pool?.close();
        add(r, await checkInvariants(rt, sources, { rehash: true }));
        const events = await rt.ledger.eventsFor({ sessionId: session.id });
        const full = events.filter((e) => e.type === 'SPOOL_FULL').length;
        r.notes.push(`try ${i + 1}: ${full} SPOOL_FULL alarm(s), session ${session.status}`);
        if (full === 0) {
          r.ok = false;
          r.notes.push('the spool never reported full: the fault did not bite');
        }
        r.tries++;
      } finally {
        spawnSync('umount', ['-l', spool]);
        await env.cleanup();
      }
    }
    return r;
  }, r);
}

// ---- 4. recorder unplugged mid-file ---------------------------------------------------

export async function unplugScenario(ctx: ChaosContext, tries: number): Promise<ScenarioRow> {
  const r = row('outage', 'Recorder unplugged mid-file (reads fail with EIO after N bytes), then docked again', `${INVARIANT_CHECKS}; the file is interrupted, kept on the recorder, and resumes from the spool checkpoint`);
  return timedRow(async () => {
    const env = await createTestEnv('unplug', { ingest: INGEST });
    try {
      const rt = await env.runtime();
      rt.startWorkers(ALL_QUEUES);
      const rnd = seededRandom(ctx.seed);
      const sources: SourceFile[] = [];
      for (let i = 0; i < tries; i++) {
        const dir = join(env.dir, `rec${i}`);
        writeByteRecordings(dir, `ZFYU${i}`, 2, 8 << 20, ctx.seed + i);
        const here = sourcesOf(dir);
        sources.push(...here);
        const cut = Math.floor((0.1 + rnd() * 0.8) * (8 << 20));
        const yanked = new SabotagedVolume((await new DirectoryDriver().probe(dir, { serial: `ZFYU${i}` }))!, { unplugAfterBytes: cut });
        const first = await rt.dock.dock(yanked);
        const settled = await sessionSettled(rt, first.id, 60_000);
        const interrupted = settled.filter((f) => f.stage === 'interrupted').length;
        if (interrupted === 0) r.notes.push(`try ${i + 1}: unplug after ${cut} B interrupted nothing`);
        if (here.some((s) => !existsSync(s.path))) {
          r.unverifiedClears++;
          r.ok = false;
        }
        const second = await rt.dock.dock((await new DirectoryDriver().probe(dir, { serial: `ZFYU${i}` }))!);
        await sessionSettled(rt, second.id, 60_000);
        r.tries++;
      }
      await queuesIdle(rt, 60_000);
      await rt.pool?.close();
      add(r, await checkInvariants(rt, sources, { rehash: true }));
    } finally {
      await env.cleanup();
    }
    return r;
  }, r);
}

// ---- 5. docking races -----------------------------------------------------------------

export async function dockingScenario(ctx: ChaosContext, kind: 'twice' | 'same-serial' | 'redock', tries: number): Promise<ScenarioRow> {
  const label = {
    twice: 'Duplicate docking: the same recorder docked twice at once',
    'same-serial': 'Two recorders with the same serial docked at once',
    redock: 'Recorder re-docked while its previous session is still being processed',
  }[kind];
  const r = row('docking', label);
  return timedRow(async () => {
    const env = await createTestEnv(`dock${kind.replace('-', '')}`, { ingest: INGEST });
    try {
      const rt = await env.runtime();
      rt.startWorkers(ALL_QUEUES);
      const sources: SourceFile[] = [];
      for (let i = 0; i < tries; i++) {
        const serial = `ZFYD${kind === 'same-serial' ? 'X' : i}`;
        const a = join(env.dir, `a${i}`);
        const b = join(env.dir, `b${i}`);
        writeByteRecordings(a, serial, 3, 6 << 20, ctx.seed + i);
        sources.push(...sourcesOf(a));
        const probe = async (dir: string) => (await new DirectoryDriver().probe(dir, { serial }))!;
        const sessions: string[] = [];
        if (kind === 'twice') {
          const both = await Promise.allSettled([rt.dock.dock(await probe(a)), rt.dock.dock(await probe(a))]);
          for (const s of both) if (s.status === 'fulfilled') sessions.push(s.value.id);
          r.notes.push(`try ${i + 1}: ${sessions.length} of 2 dockings opened a session${both.some((s) => s.status === 'rejected') ? ` (refused: ${(both.find((s) => s.status === 'rejected') as PromiseRejectedResult).reason?.message})` : ''}`);
        } else if (kind === 'same-serial') {
          writeByteRecordings(b, serial, 3, 6 << 20, ctx.seed + 100 + i, 1);
          sources.push(...sourcesOf(b));
          const both = await Promise.all([rt.dock.dock(await probe(a)), rt.dock.dock(await probe(b))]);
          sessions.push(...both.map((s) => s.id));
        } else {
          const first = await rt.dock.dock(await probe(a));
          sessions.push(first.id);
          await eventually(async () => ((await rt.catalog.filesOfSession(first.id)).some((f) => f.stage !== 'queued') ? true : undefined), 30_000, 'first session under way');
          sessions.push((await rt.dock.dock(await probe(a))).id);
        }
        for (const id of sessions) await sessionSettled(rt, id, 120_000);
        r.tries++;
      }
      // A session may leave files `kept`/`interrupted` for its twin to finish: settle everything.
      await settleAll(rt, 120_000);
      await rt.pool?.close();
      add(r, await checkInvariants(rt, sources, { rehash: true }));
      const left = sources.filter((s) => existsSync(s.path)).length;
      if (left > 0) r.notes.push(`${left} recordings left on the recorder (kept for a later docking)`);
      const stages = await rt.db.query<{ stage: string; n: string }>('SELECT stage, count(*) AS n FROM session_files GROUP BY stage ORDER BY stage');
      const acquired = await rt.db.query<{ n: string }>(`SELECT count(*) AS n FROM custody_events WHERE type = 'ACQUIRED'`);
      r.notes.push(`file rows: ${stages.rows.map((x) => `${x.n} ${x.stage}`).join(', ')}; ${acquired.rows[0]!.n} copies read from recorders for ${sources.length} recordings`);
    } finally {
      await env.cleanup();
    }
    return r;
  }, r);
}

// ---- 6. load --------------------------------------------------------------------------

export interface LoadOptions {
  recorders: number;
  bytesPerRecorder: number;
  filesPerRecorder: number;
}

export interface LoadFigures {
  bytes: number;
  seconds: number;
  mibPerSecond: number;
  daemonPeakRssBytes: number;
}

export async function loadScenario(ctx: ChaosContext, o: LoadOptions): Promise<{ row: ScenarioRow; figures: LoadFigures | null }> {
  const total = o.recorders * o.bytesPerRecorder;
  const r = row('load', `${o.recorders} recorders docked at once, ${Math.round(o.bytesPerRecorder / (1 << 20))} MiB each (${o.filesPerRecorder} files), one daemon, private MinIO (its data removed afterwards)`, `${INVARIANT_CHECKS}; every recorder emptied`);
  let figures: LoadFigures | null = null;
  const built = await timedRow(async () => {
    const port = await freePort();
    const env = await createTestEnv('load', { minio: privateMinioConfig(port), ingest: INGEST, watch: { usbDetection: false, settleMs: 300, depth: 2, mountRoots: [] }, media: { metadataConcurrency: 1, transcodeConcurrency: 1 } });
    let daemon: EvidockProcess | undefined;
    let rt: Runtime | undefined;
    try {
      await startPrivateMinio(env.dir, { port });
      rt = await env.runtime();
      const mount = join(env.dir, 'media');
      mkdirSync(mount, { recursive: true });
      const sources: SourceFile[] = [];
      const staged: Array<{ from: string; name: string }> = [];
      for (let i = 0; i < o.recorders; i++) {
        const dir = join(env.dir, `staged${i}`);
        writeByteRecordings(dir, `ZFYL${i}`, o.filesPerRecorder, Math.floor(o.bytesPerRecorder / o.filesPerRecorder), ctx.seed + i);
        sources.push(...movedSources(sourcesOf(dir), dir, join(mount, `REC${i}`)));
        staged.push({ from: dir, name: `REC${i}` });
      }
      daemon = new EvidockProcess('daemon', ['daemon'], childConfig(env, { watch: watchSettings(env) }), join(env.dir, 'daemon.log'));
      daemon.start();
      await daemon.ready();
      const started = Date.now();
      for (const s of staged) dockUnder(mount, s.from, s.name);
      const sampler = setInterval(() => daemon!.sample(), 100);
      try {
        await eventually(async () => ((await rt!.db.query<{ n: string }>('SELECT count(*) AS n FROM dock_sessions')).rows[0]!.n === String(o.recorders) ? true : undefined), 120_000, 'every recorder docked');
        await settleAll(rt, 1_500_000);
      } finally {
        clearInterval(sampler);
      }
      // Throughput of the evidence path: docking to the last clear (media work runs on after).
      const lastClear = await rt.db.query<{ t: Date }>(`SELECT max(at) AS t FROM custody_events WHERE type = 'RECORDER_CLEARED'`);
      const seconds = (new Date(lastClear.rows[0]!.t).getTime() - started) / 1000;
      daemon.sample();
      figures = { bytes: total, seconds, mibPerSecond: total / (1 << 20) / seconds, daemonPeakRssBytes: daemon.peakRssBytes };
      r.tries = 1;
      add(r, await checkInvariants(rt, sources, { rehash: true }));
      if (sources.some((s) => existsSync(s.path))) {
        r.ok = false;
        r.notes.push('recordings left on a recorder');
      }
      r.notes.push(`aggregate ${(figures.mibPerSecond).toFixed(1)} MiB/s (${(total / (1 << 20)).toFixed(0)} MiB from docking to the last clear in ${seconds.toFixed(1)} s); daemon peak RSS ${(figures.daemonPeakRssBytes / (1 << 20)).toFixed(0)} MiB (VmHWM)`);
      await daemon.stop();
    } finally {
      await daemon?.kill().catch(() => undefined);
      await Promise.race([rt?.close().catch(() => undefined), sleep(15_000)]);
      await stopAllPrivateServices();
      await env.cleanup();
    }
    return r;
  }, r);
  return { row: built, figures };
}

// ---- 7. hostile recorders -------------------------------------------------------------

export interface HostileOptions {
  tinyFiles: number;
}

/** An MP4 whose second box claims 2^64-1 bytes (64-bit largesize). */
function bogusAtomMp4(): Buffer {
  const ftyp = Buffer.from('00000018667479706d703432000000006d70343269736f6d', 'hex');
  const moov = Buffer.alloc(16);
  moov.writeUInt32BE(1, 0);
  moov.write('moov', 4, 'latin1');
  moov.writeBigUInt64BE(0xffffffffffffffffn, 8);
  return Buffer.concat([ftyp, moov, Buffer.alloc(4096, 0x41)]);
}

export async function hostileScenario(ctx: ChaosContext, o: HostileOptions): Promise<ScenarioRow> {
  const r = row(
    'hostile',
    `Hostile recorder corpus: traversal names, 255-byte names, invalid UTF-8, a device file, FIFOs, symlink loops, links off the volume, ${o.tinyFiles} tiny files, a file growing while read, a video claiming another serial, an MP4 with a 2^64 atom size, exiftool-unfriendly files`,
    'every entry has a per-file status (stored/cleared, or skipped with a reason); object keys only under sha256/ and derivatives/<evidence>/; nothing written outside the spool; files outside the volume unchanged; the import and media jobs finish; plus the invariants for every regular recording',
  );
  return timedRow(async () => {
    const env = await createTestEnv('hostile', { ingest: INGEST, media: { metadataConcurrency: 1, transcodeConcurrency: 1 } });
    try {
      const rt = await env.runtime();
      rt.startWorkers(ALL_QUEUES);
      const dir = join(env.dir, 'hostile');
      const media = join(dir, 'DCIM', '100MEDIA');
      mkdirSync(media, { recursive: true });
      const outside = join(env.dir, 'outside');
      mkdirSync(outside, { recursive: true });
      const sentinel = join(outside, 'sentinel.MP4');
      writeFileSync(sentinel, 'outside the volume');
      const before = readdirSync(env.dir).sort();
      const put = (name: string | Buffer, bytes: Buffer) => writeFileSync(Buffer.isBuffer(name) ? Buffer.concat([Buffer.from(`${media}/`), name]) : join(media, name), bytes);
      // Regular but hostile names.
      put('..%2f..%2fetc%2fpasswd.MP4', Buffer.from('traversal-encoded'));
      put('..\\..\\..\\windows.MP4', Buffer.from('traversal-backslash'));
      put('-ver.MP4', Buffer.from('exiftool option as a name'));
      put('-@ args.MP4', Buffer.from('exiftool argfile as a name'));
      put(`${'长'.repeat(80)}${'x'.repeat(251 - 240)}.MP4`, Buffer.from('255 bytes'));
      put(`${'A'.repeat(251)}.MP4`, Buffer.from('255 ascii bytes'));
      put(Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0x2e, 0x4d, 0x50, 0x34]), Buffer.from('invalid utf-8'));
      put('bogus-atom.MP4', bogusAtomMp4());
      put('not-a-jpeg.JPG', Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe1, 0xff, 0xff]), Buffer.alloc(3000, 0x00)]));
      put('truncated.MOV', Buffer.from('000000146674797071742020', 'hex'));
      put('exif-bomb.JPG', Buffer.concat([Buffer.from([0xff, 0xd8]), ...Array.from({ length: 200 }, () => Buffer.from([0xff, 0xe1, 0xff, 0xfe, ...Buffer.alloc(65532, 0x45)]))]));
      // A real video whose metadata names another recorder.
      const clip = join(env.dir, 'clip');
      await makeRecorderFootage(clip, { files: 1, seconds: 2, serial: 'ZFYH001', seed: ctx.seed, width: 160, height: 120, audio: false, photo: false });
      const clipFile = join(clip, 'DCIM', '100MEDIA', readdirSync(join(clip, 'DCIM', '100MEDIA'))[0]!);
      execFileSync('ffmpeg', ['-v', 'error', '-i', clipFile, '-c', 'copy', '-metadata', 'serial_number=OTHER-RECORDER-999', '-metadata', 'comment=SerialNumber OTHER-RECORDER-999', '-movflags', 'use_metadata_tags', join(media, 'ZFYH001_004512_20261121093000_0001.MP4')]);
      // Special files, loops and links off the volume.
      execFileSync('mkfifo', [join(media, 'fifo.MP4')]);
      execFileSync('mknod', [join(media, 'null.MP4'), 'c', '1', '3']);
      symlinkSync('loop-b.MP4', join(media, 'loop-a.MP4'));
      symlinkSync('loop-a.MP4', join(media, 'loop-b.MP4'));
      symlinkSync('.', join(media, 'self-dir'));
      symlinkSync(sentinel, join(media, 'offvolume.MP4'));
      symlinkSync('/', join(dir, 'root-link'));
      symlinkSync('../../../outside', join(media, 'up-link'));
      // Many tiny files.
      const tiny = join(dir, 'DCIM', '101TINY');
      mkdirSync(tiny, { recursive: true });
      for (let i = 0; i < o.tinyFiles; i++) writeFileSync(join(tiny, `T${String(i).padStart(5, '0')}.TXT`), `tiny ${i} ${ctx.seed}`);
      const regular = sourcesOf(dir).filter((s) => statSync(s.path).isFile());
      const growing = join(media, 'growing.MP4');
      writeFileSync(growing, Buffer.alloc(3 << 20, 7));
      const sentinelBefore = readFileSync(sentinel);

      const growth = Buffer.alloc(1000, 9);
      const growingSource = { path: growing, sha256: sha256Of(Buffer.concat([readFileSync(growing), growth])), size: statSync(growing).size + growth.length };
      const volume = new SabotagedVolume((await new DirectoryDriver().probe(dir, { serial: 'ZFYH001' }))!, { growOnFirstRead: growing, growWith: growth });
      const docked = Date.now();
      const session = await rt.dock.dock(volume);
      r.tries = 1;
      const files = await sessionSettled(rt, session.id, 1_800_000);
      const ingestSeconds = (Date.now() - docked) / 1000;
      await queuesIdle(rt, 600_000);
      const sources = [...regular, growingSource];

      // Per-file status: every listed file settled; every special entry skipped with a reason.
      const statuses = new Map<string, number>();
      for (const f of files) statuses.set(f.stage, (statuses.get(f.stage) ?? 0) + 1);
      const finalSession = (await rt.catalog.getSession(session.id))!;
      const skipped = new Map<string, number>();
      for (const s of finalSession.skipped) skipped.set(s.reason, (skipped.get(s.reason) ?? 0) + 1);
      const unexplained = files.filter((f) => f.stage === 'failed' && !f.error).length;
      r.notes.push('files that are not recordings (the tiny .TXT files) are stored and kept on the recorder by design');
      r.notes.push(`files: ${[...statuses].map(([k, v]) => `${v} ${k}`).join(', ')}; skipped: ${[...skipped].map(([k, v]) => `${v} ${k}`).join(', ')}`);
      if (files.length !== regular.length + 1 || unexplained > 0) {
        r.ok = false;
        r.notes.push(`${files.length} files listed for ${regular.length + 1} regular recordings; ${unexplained} failed without a reason`);
      }
      // Nothing escaped.
      const keys: string[] = [];
      for await (const k of rt.objects.list('originals', '')) keys.push(k.key);
      const badKeys = keys.filter((k) => !/^sha256\/[0-9a-f]{2}\/[0-9a-f]{2}\/[0-9a-f]{64}$/.test(k));
      const evidenceIds = new Set((await rt.db.query<{ id: string }>('SELECT id FROM evidence')).rows.map((x) => x.id));
      const derivedKeys = (await rt.db.query<{ object_key: string; evidence_id: string }>('SELECT object_key, evidence_id FROM derivatives')).rows;
      const badDerived = derivedKeys.filter((d) => !d.object_key.startsWith(`${d.evidence_id}/`) && !d.object_key.includes(d.evidence_id));
      if (badKeys.length > 0 || badDerived.length > 0) {
        r.ok = false;
        r.notes.push(`keys outside the prefix: ${[...badKeys, ...badDerived.map((d) => d.object_key)].slice(0, 3).join(', ')}`);
      }
      if (!evidenceIds.size) r.notes.push('no evidence recorded');
      const after = readdirSync(env.dir).sort();
      const spoolLeft = readdirSync(rt.spool.dir);
      if (!readFileSync(sentinel).equals(sentinelBefore) || JSON.stringify(after) !== JSON.stringify([...new Set([...before, 'clip'])].sort()) || spoolLeft.length > 0) {
        r.ok = false;
        r.notes.push(`escaped: env dir ${JSON.stringify(after)}, spool left ${spoolLeft.length}`);
      }
      const growEvents = await rt.db.query<{ n: string }>(`SELECT count(*) AS n FROM custody_events WHERE type = 'HASH_MISMATCH'`);
      r.notes.push(`file growing while read: ${growEvents.rows[0]!.n} HASH_MISMATCH event(s), then stored as it finally stood`);
      if (Number(growEvents.rows[0]!.n) === 0) {
        r.ok = false;
        r.notes.push('the growing file was not noticed');
      }
      r.notes.push(`${files.length} files ingested in ${ingestSeconds.toFixed(0)} s (${(files.length / ingestSeconds).toFixed(1)} files/s)`);
      const mismatch = await rt.db.query<{ n: string }>(`SELECT count(*) AS n FROM evidence WHERE 'device-serial-mismatch' = ANY(flags) OR flags::text ILIKE '%serial%'`);
      r.notes.push(`other-serial video flagged: ${Number(mismatch.rows[0]!.n) > 0 ? 'yes' : 'no'}`);
      const mediaStates = await rt.db.query<{ media_status: string; n: string }>('SELECT media_status, count(*) AS n FROM evidence GROUP BY media_status');
      r.notes.push(`media: ${mediaStates.rows.map((m) => `${m.n} ${m.media_status}`).join(', ')}`);
      const pending = mediaStates.rows.find((m) => m.media_status === 'pending');
      if (pending) {
        r.ok = false;
        r.stuckJobs += Number(pending.n);
      }
      await rt.pool?.close();
      add(r, await checkInvariants(rt, sources, { rehash: false, allowFailedJobs: true }));
      r.detected = r.ok ? 1 : 0;
    } finally {
      await env.cleanup();
    }
    return r;
  }, r);
}

// ---- 8. tampering ---------------------------------------------------------------------

export async function tamperScenario(ctx: ChaosContext): Promise<ScenarioRow> {
  const r = row(
    'tamper',
    'Tampering: a catalog row edited, a ledger row deleted (trigger bypassed), an original overwritten through the S3 admin path, a byte changed in a stored proxy, a locked original deleted',
    '`evidock verify` fails and names the edited item, the deleted event and the changed object; MinIO refuses deleting the locked version',
  );
  r.detected = 0;
  return timedRow(async () => {
    const env = await createTestEnv('tamper', { ingest: INGEST, media: { metadataConcurrency: 1, transcodeConcurrency: 1 } });
    try {
      const rt = await env.runtime();
      rt.startWorkers(ALL_QUEUES);
      const dir = join(env.dir, 'rec');
      await makeRecorderFootage(dir, { files: 3, seconds: 2, serial: 'ZFYT001', seed: ctx.seed, width: 160, height: 120, audio: false, photo: false });
      await within(180_000, 'import', importFolder(rt, dir, { serial: 'ZFYT001', case: ['YB-T-1'], subject: '某药房', place: '某市', json: true }));
      await queuesIdle(rt, 120_000);
      await rt.pool?.close();
      const ids = await rt.catalog.allEvidenceIds();
      const clean = await rt.verify.run({ rehash: true });
      if (!clean.ok || ids.length < 3) throw new Error(`baseline not clean: ${JSON.stringify(clean.ledger.problems).slice(0, 200)}`);
      const named = async (what: string, match: (problems: string[]) => boolean) => {
        const report = await rt.verify.run({ rehash: true });
        const problems = [...report.ledger.problems.map((p) => `ledger #${p.seq}: ${p.kind}: ${p.detail}`), ...report.items.flatMap((i) => i.problems.map((p) => `${i.evidenceId}: ${p}`))];
        const ok = !report.ok && match(problems);
        r.tries++;
        if (ok) r.detected!++;
        else {
          r.ok = false;
          r.notes.push(`${what}: not named (${problems.slice(0, 2).join('; ')})`);
        }
        ctx.log(`  ${what}: ${ok ? 'named' : 'NOT named'}`);
      };
      const [a, b, c] = ids as [string, string, string];

      // 1. A catalog row edited by hand.
      await rt.db.query(`UPDATE evidence SET subject = '另一个对象' WHERE id = $1`, [a]);
      await named('catalog row edited', (ps) => ps.some((p) => p.startsWith(a) && p.includes('subject')));

      // 2. A ledger row deleted with the append-only trigger switched off.
      const victim = Number((await rt.db.query<{ seq: string }>(`SELECT max(seq) AS seq FROM custody_events WHERE type = 'RECORDED'`)).rows[0]!.seq);
      await rt.db.query('ALTER TABLE custody_events DISABLE TRIGGER custody_events_no_update');
      await rt.db.query('DELETE FROM custody_events WHERE seq = $1', [victim]);
      await rt.db.query('ALTER TABLE custody_events ENABLE TRIGGER custody_events_no_update');
      await named('ledger row deleted', (ps) => ps.some((p) => p.startsWith(`ledger #${victim}:`) && p.includes('row-deleted')));

      // 3. An original overwritten through the S3 API with the admin credentials.
      const eb = (await rt.catalog.getEvidence(b))!;
      const bucket = rt.objects.bucketName('originals');
      await rt.objects.rawClient.putObject(bucket, originalKey(eb.sha256), Buffer.from('forged bytes'));
      await named('original overwritten', (ps) => ps.some((p) => p.startsWith(b) && p.includes('stored original changed')));

      // 4. One byte changed in a stored proxy.
      const proxy = (await rt.catalog.derivativesOf(c)).find((d) => d.kind === 'proxy');
      if (!proxy) throw new Error('no proxy to tamper with');
      const chunks: Buffer[] = [];
      for await (const chunk of (await rt.objects.read('derivatives', proxy.objectKey)) as AsyncIterable<Buffer>) chunks.push(chunk);
      const bytes = Buffer.concat(chunks);
      const at = Math.floor(bytes.length / 2);
      bytes[at] = bytes[at]! ^ 0x01;
      await rt.objects.rawClient.putObject(rt.objects.bucketName('derivatives'), proxy.objectKey, bytes);
      await named('proxy byte changed', (ps) => ps.some((p) => p.startsWith(c) && p.includes(`derivative proxy ${proxy.objectKey}`)));

      // 5. Deleting a locked original (its version, and the ledger mirror's) is refused.
      const ea = (await rt.catalog.getEvidence(a))!;
      const stat = (await rt.objects.stat('originals', originalKey(ea.sha256)))!;
      let refused = 0;
      for (const attempt of [
        () => rt.objects.rawClient.removeObject(bucket, originalKey(ea.sha256), { versionId: stat.versionId ?? undefined }),
        () => rt.objects.rawClient.removeObject(bucket, originalKey(ea.sha256), { versionId: stat.versionId ?? undefined, governanceBypass: true }),
        () => rt.objects.remove('ledger', eventObjectKey(1)),
      ]) {
        try {
          await attempt();
        } catch {
          refused++;
        }
      }
      r.tries++;
      if (refused === 3 && (await rt.objects.stat('originals', originalKey(ea.sha256)))?.versionId === stat.versionId) r.detected!++;
      else {
        r.ok = false;
        r.notes.push(`locked deletes refused ${refused} of 3`);
      }
      ctx.log(`  locked deletes refused: ${refused}/3`);
      r.notes.push('a DELETE without a version id only adds a delete marker (the locked version stays); `verify` then reports the original missing');
    } finally {
      await env.cleanup();
    }
    return r;
  }, r);
}

// ---- 9. secrets -----------------------------------------------------------------------

export async function secretsScenario(ctx: ChaosContext): Promise<ScenarioRow> {
  const r = row('secrets', 'Secrets: credentials in logs and errors; a world-readable config holding them', 'the literal secrets appear in no log line, stdout or stderr of daemon, import, verify and jobs (debug level, with servers refusing the credentials); a world-readable config with credentials is refused with exit 78 and a fixed one accepted');
  r.detected = 0;
  return timedRow(async () => {
    const env = await createTestEnv('secrets');
    try {
      const secrets = { redis: `redis-pw-${ctx.seed}-QX7`, postgres: `pg-pw-${ctx.seed}-ZK9`, minio: `minio-secret-${ctx.seed}-WP4`, unlock: '9Q8W7E' };
      const outputs: string[] = [];
      const cwd = join(import.meta.dirname, '..', '..');
      const run = (args: string[], env2: Record<string, string>, timeoutMs = 30_000) => {
        const res = spawnSync(process.execPath, ['bin/evidock.js', '--lang', 'en', ...args], { env: { ...process.env, ...env2 }, encoding: 'utf8', timeout: timeoutMs, cwd });
        outputs.push(res.stdout ?? '', res.stderr ?? '');
        return res;
      };
      /** The same, without blocking: SIGKILLed after `timeoutMs` (a refused server makes some commands retry). */
      const runAsync = (args: string[], env2: Record<string, string>, timeoutMs: number) =>
        new Promise<void>((done) => {
          const child = spawn(process.execPath, ['bin/evidock.js', '--lang', 'en', ...args], { env: { ...process.env, ...env2 }, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
          child.stdout.on('data', (d: Buffer) => outputs.push(d.toString()));
          child.stderr.on('data', (d: Buffer) => outputs.push(d.toString()));
          // SIGTERM lets the logger flush; SIGKILL if it does not go.
          const timer = setTimeout(() => {
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 3000).unref();
          }, timeoutMs);
          child.on('error', (e) => outputs.push(`spawn error: ${e.message}`));
          child.on('close', () => {
            clearTimeout(timer);
            done();
          });
        });
      // Three configurations at debug level, each with secrets: one the servers accept (the
      // local PostgreSQL trusts loopback, so its password is carried but unused) and two that
      // a server refuses (Redis has no password; MinIO's secret is wrong): full work, retries,
      // warnings and errors all get logged. Each runs an import, `jobs`, `verify` and a daemon.
      const variants: Array<[string, Record<string, unknown>]> = [
        ['accepted', { postgres: { password: secrets.postgres }, ingest: { ...INGEST, unlockPassword: secrets.unlock } }],
        ['redis-refused', { redis: { password: secrets.redis } }],
        ['minio-refused', { minio: { secretKey: secrets.minio } }],
      ];
      const configs = variants.map(([name, settings]) => ({ name, logFile: join(env.dir, `secrets-${name}.log`), env: childConfig(env, { logLevel: 'debug', logFile: join(env.dir, `secrets-${name}.log`), ...settings }) }));
      const bad = configs[0]!.env;
      // One configuration at a time: a dozen Node processes starting at once on two cores
      // would spend the whole time compiling.
      for (const c of configs) {
        const dir = join(env.dir, `rec-${c.name}`);
        writeByteRecordings(dir, 'ZFYZ001', 2, 1000 + c.name.length, ctx.seed);
        const daemon = new EvidockProcess('daemon', ['daemon'], c.env, join(env.dir, `daemon-${c.name}.log`));
        daemon.start();
        const commands = ctx.quick ? [['import', dir, '--serial', 'ZFYZ001', '--wait', '--json']] : [['import', dir, '--serial', 'ZFYZ001', '--wait', '--json'], ['jobs', '--json'], ['verify', '--json']];
        await Promise.all([...commands.map((args) => runAsync(args, c.env, 15_000)), sleep(ctx.quick ? 3000 : 6000)]);
        await daemon.stop(5000);
        outputs.push(daemon.log());
      }
      for (const c of configs) outputs.push(existsSync(c.logFile) ? readFileSync(c.logFile, 'utf8') : '');
      ctx.log(`  secrets: commands and daemons done (${outputs.join('').length} bytes of output)`);
      const text = outputs.join('\n');
      const leaked = Object.entries(secrets).filter(([, s]) => text.includes(s)).map(([k]) => k);
      r.tries++;
      if (leaked.length === 0 && text.length > 0) r.detected!++;
      else {
        r.ok = false;
        r.notes.push(`leaked: ${leaked.join(', ') || '(no output to check)'}`);
      }
      r.notes.push(`${(text.length / 1024).toFixed(1)} KiB of output and logs grepped for 4 secrets`);

      // World-readable config with credentials: refused; the same file 0600: accepted.
      const file = bad.EVIDOCK_CONFIG!;
      chmodSync(file, 0o644);
      const refused = run(['jobs', '--json'], bad);
      chmodSync(file, 0o600);
      r.tries++;
      if (refused.status === 78 && /world-readable/.test(refused.stderr)) r.detected!++;
      else {
        r.ok = false;
        r.notes.push(`world-readable config: exit ${refused.status}`);
      }
      try {
        loadConfig({ file, env: {} });
      } catch (error) {
        r.ok = false;
        r.notes.push(`the same config at 0600 is refused: ${(error as Error).message}`);
      }
    } finally {
      await env.cleanup();
    }
    return r;
  }, r);
}

/**
 * SIGKILL of `evidock export` while it writes a case's package, and of `evidock purge run`
 * while it deletes an approved run: no half package that any tool takes for a bag, no
 * EXPORTED event for it; no original gone without its PURGED event, and the run finishes
 * when started again.
 */
export async function preservationScenario(ctx: ChaosContext, tries: number): Promise<ScenarioRow> {
  const r = row(
    'preservation',
    'SIGKILL of `evidock export` while it writes a case\'s BagIt package, and of `evidock purge run` while it deletes an approved run',
    'the cut-off export is no bag (`verify-package` says so, no EXPORTED event); every deleted original has its PURGED event first; the run, started again, deletes the rest; `verify` clean with the purged items named purged',
  );
  r.detected = 0;
  return timedRow(async () => {
    const random = seededRandom(ctx.seed ^ 0x5eed);
    const expireSeconds = 30 + 20 * tries;
    const perRun = 20;
    const captured = new Date('2026-11-21T01:00:00Z');
    const env = await createTestEnv('chaospres', {
      ingest: INGEST,
      // No bucket default and a short class: the unlinked records expire within the scenario; one run takes perRun of them.
      retention: { mode: 'COMPLIANCE', days: 0, unlinkedDays: (Date.now() - captured.getTime()) / 86_400_000 + expireSeconds / 86_400, caseDays: 1, purgeBatch: perRun },
    });
    try {
      const rt = await env.runtime();
      await rt.identity.addUnit({ id: 'ROOT', name: '省医疗保障局', parentId: null }, 'chaos');
      for (const name of ['keeper-a', 'keeper-b']) await rt.identity.addUser({ name, role: 'custodian', unitIds: ['ROOT'], password: 'Chaos-Keeper-2026' }, 'chaos');
      // A case of big originals (its export takes long enough to be cut), and unlinked small ones to purge.
      const big = join(env.dir, 'big', 'DCIM');
      mkdirSync(big, { recursive: true });
      for (let i = 1; i <= 4; i++) writeFileSync(join(big, `ZFYX01_004512_20261121090000_000${i}.MP4`), randomBuffer(random, 48 << 20));
      await within(300_000, 'import big', importFolder(rt, join(env.dir, 'big'), { serial: 'ZFYX01', case: ['YB-X-1'], json: true }));
      const small = join(env.dir, 'small', 'DCIM');
      mkdirSync(small, { recursive: true });
      const files = perRun * tries;
      for (let i = 1; i <= files; i++) writeFileSync(join(small, `ZFYX02_004512_20261121090000_${String(i).padStart(4, '0')}.MP4`), randomBuffer(random, 200_000));
      await within(300_000, 'import small', importFolder(rt, join(env.dir, 'small'), { serial: 'ZFYX02', json: true }));

      for (let t = 0; t < tries; t++) {
        r.tries++;
        const dir = join(env.dir, `cut-export-${t}`);
        const exporter = new EvidockProcess('export', ['export', '--case', 'YB-X-1', '--to', dir, '--by', 'keeper-a'], env.childEnv, join(env.dir, `export-${t}.log`));
        const before = (await rt.ledger.eventsOfTypes(['EXPORTED'])).length;
        exporter.start();
        // Cut somewhere among the originals: after the first has begun to arrive.
        await eventually(async () => (existsSync(join(dir, 'data', 'originals')) && readdirSync(join(dir, 'data', 'originals')).length > 0 ? true : undefined), 60_000, 'the export writing');
        await sleep(Math.floor(random() * 300));
        await exporter.kill();
        const bag = existsSync(join(dir, 'bagit.txt'));
        const exported = (await rt.ledger.eventsOfTypes(['EXPORTED'])).length - before;
        const checked = spawnSync(process.execPath, [join(REPO_ROOT_DIR, 'bin/evidock.js'), '--lang', 'en', 'verify-package', dir, '--json'], { env: { ...process.env, ...env.childEnv }, encoding: 'utf8' });
        const refused = checked.status === 1 && (JSON.parse(checked.stdout) as { problems: Array<{ code: string }> }).problems.some((p) => p.code === 'not-a-bag');
        if (!bag && exported === 0 && refused) r.detected!++;
        else {
          r.ok = false;
          r.notes.push(`export cut ${t + 1}: bagit.txt ${bag ? 'present' : 'absent'}, ${exported} EXPORTED events, verify-package ${refused ? 'refused it' : `said ${checked.stdout.slice(0, 120)}`}`);
        }
      }

      // The small records expire; each try purges a run of them, cut while it deletes.
      await eventually(async () => ((await rt.retention.expired(new Date(), files)).length === files ? true : undefined), (expireSeconds + 120) * 1000, 'retention over');
      let purgedTotal = 0;
      for (let t = 0; t < tries; t++) {
        r.tries++;
        const run = await rt.preservation.proposePurge('keeper-a', '保管期限届满');
        await rt.preservation.decidePurge(run.id, 'keeper-b', true, '同意');
        const purger = new EvidockProcess('purge', ['purge', 'run', run.id, '--by', 'keeper-b'], env.childEnv, join(env.dir, `purge-${t}.log`));
        const seen = async () => Number((await rt.db.query<{ n: string }>(`SELECT count(*) AS n FROM custody_events WHERE type = 'PURGED' AND details->>'runId' = $1`, [run.id])).rows[0]!.n);
        purger.start();
        await eventually(async () => ((await seen()) > 0 ? true : undefined), 60_000, 'the purge deleting');
        await sleep(Math.floor(random() * 200));
        await purger.kill();
        // Nothing deleted without its record.
        let gone = 0;
        let unrecorded = 0;
        for (const id of run.evidenceIds) {
          const item = (await rt.catalog.getEvidence(id))!;
          if (await rt.objects.stat('originals', item.objectKey)) continue;
          gone++;
          const events = await rt.ledger.eventsFor({ evidenceId: id });
          if (!events.some((e) => e.type === 'PURGED' && e.details.runId === run.id)) unrecorded++;
        }
        const resumed = await rt.preservation.executePurge(run.id, 'keeper-b');
        const left = (await Promise.all(run.evidenceIds.map(async (id) => rt.objects.stat('originals', (await rt.catalog.getEvidence(id))!.objectKey)))).filter(Boolean).length;
        purgedTotal += run.evidenceIds.length;
        if (unrecorded === 0 && left === 0 && resumed.failed.length === 0) r.detected!++;
        else {
          r.ok = false;
          r.notes.push(`purge cut ${t + 1}: ${gone} deleted when cut, ${unrecorded} of them without PURGED; ${left} left after the rerun; ${resumed.failed.length} failed`);
        }
        r.notes.push(`purge cut ${t + 1}: ${gone} of ${run.evidenceIds.length} deleted when killed, the rest by the rerun`);
      }
      // A killed process may have committed events it had not mirrored yet: the next daemon start catches up, as here.
      await rt.ledger.mirrorPending();
      const report = await rt.verify.run({ rehash: true });
      const purged = report.items.filter((i) => i.purged).length;
      if (!report.ok || purged !== purgedTotal) {
        r.ok = false;
        r.notes.push(`verify: ${report.ok ? 'clean' : 'FAILED'}, ${purged} items named purged of ${purgedTotal}: ${[...report.ledger.problems.map((p) => `ledger #${p.seq}: ${p.kind}: ${p.detail}`), ...report.items.flatMap((i) => i.problems)].slice(0, 3).join('; ')}`);
      }
      return r;
    } finally {
      await env.cleanup();
    }
  }, r);
}

/**
 * SIGKILL of a fixity cycle's worker host (a batch in flight is lost, never half recorded)
 * and of `evidock reindex` (its one transaction leaves the new database empty or complete).
 */
export async function rebuildScenario(ctx: ChaosContext, tries: number): Promise<ScenarioRow> {
  const r = row(
    'preservation',
    'SIGKILL of `evidock workers` during a scheduled fixity cycle, and of `evidock reindex` while it rebuilds a dropped catalog',
    'the cycle, resumed by the next start, names every item in exactly one FIXITY_BATCH_CHECKED and then completes; a cut reindex leaves the database empty (nothing half written) and the rerun rebuilds it; `verify --all` clean',
  );
  r.detected = 0;
  return timedRow(async () => {
    const random = seededRandom(ctx.seed ^ 0x1d3);
    const env = await createTestEnv('chaosrebuild', {
      ingest: INGEST,
      // Slow on purpose: a cycle of small batches, read at 256 KiB/s, so that a kill lands inside it.
      fixity: { enabled: true, tickSeconds: 1, cycleDays: 1, bytesPerSecond: 256 * 1024, batchMaxItems: 4 },
    });
    let rt: Runtime | null = null;
    try {
      rt = await env.runtime();
      const dir = join(env.dir, 'rec', 'DCIM');
      mkdirSync(dir, { recursive: true });
      const files = 120;
      for (let i = 1; i <= files; i++) writeFileSync(join(dir, `ZFYB01_004512_20261121090000_${String(i).padStart(4, '0')}.MP4`), randomBuffer(random, 40_000));
      const imported = await within(300_000, 'import', importFolder(rt, join(env.dir, 'rec'), { serial: 'ZFYB01', case: ['YB-B-1'], json: true }));
      const ids = new Set(imported.files.map((f) => f.evidenceId!));

      // ---- fixity cut -------------------------------------------------------------------
      r.tries++;
      const batches = async () => rt!.ledger.eventsOfTypes(['FIXITY_BATCH_CHECKED']);
      const host = new EvidockProcess('workers', ['workers'], env.childEnv, join(env.dir, 'workers.log'));
      host.start();
      await eventually(async () => ((await batches()).length > 0 ? true : undefined), 120_000, 'the first fixity batch');
      await sleep(Math.floor(random() * 1500));
      await host.kill();
      const atKill = (await batches()).reduce((n, e) => n + Number(e.details.count), 0);
      host.start();
      await eventually(async () => ((await rt!.ledger.eventsOfTypes(['FIXITY_CYCLE_COMPLETED'])).length > 0 ? true : undefined), 240_000, 'the fixity cycle to complete');
      await host.stop();
      const named = new Map<string, number>();
      for (const e of await batches()) for (const item of e.details.items as Array<{ evidenceId: string }>) named.set(item.evidenceId, (named.get(item.evidenceId) ?? 0) + 1);
      const twice = [...named].filter(([, n]) => n > 1).length;
      const missed = [...ids].filter((id) => !named.has(id)).length;
      const failed = (await rt.ledger.eventsOfTypes(['FIXITY_FAILED'])).length;
      if (twice === 0 && missed === 0 && failed === 0) r.detected!++;
      else {
        r.ok = false;
        r.notes.push(`fixity cut: ${twice} items checked twice in the cycle, ${missed} never checked, ${failed} FIXITY_FAILED`);
      }
      r.notes.push(`fixity cut: ${atKill} of ${ids.size} items checked when the worker host was killed, the rest after its restart`);

      // ---- reindex cuts -----------------------------------------------------------------
      await rt.ledger.mirrorPending();
      const expected = Number((await rt.db.query<{ n: string }>('SELECT count(*) AS n FROM custody_events')).rows[0]!.n);
      await rt.close();
      rt = null;
      const admin = new pg.Client({ host: env.config.postgres.host, port: env.config.postgres.port, user: env.config.postgres.user, database: 'postgres' });
      await admin.connect();
      const counts = async () => {
        const c = new pg.Client({ host: env.config.postgres.host, port: env.config.postgres.port, user: env.config.postgres.user, database: env.config.postgres.database });
        await c.connect();
        try {
          const q = await c.query<{ events: string; items: string }>(`SELECT (SELECT count(*) FROM custody_events) AS events, (SELECT count(*) FROM evidence) AS items`).catch(() => ({ rows: [{ events: '0', items: '0' }] }));
          return { events: Number(q.rows[0]!.events), items: Number(q.rows[0]!.items) };
        } finally {
          await c.end();
        }
      };
      try {
        for (let t = 0; t < tries; t++) {
          r.tries++;
          await admin.query(`DROP DATABASE IF EXISTS ${env.config.postgres.database} WITH (FORCE)`);
          await admin.query(`CREATE DATABASE ${env.config.postgres.database}`);
          const rebuild = new EvidockProcess('reindex', ['reindex', '--json'], env.childEnv, join(env.dir, `reindex-${t}.log`));
          rebuild.start();
          await sleep(600 + Math.floor(random() * 2000));
          const cut = rebuild.running;
          await rebuild.kill();
          const after = await counts();
          const whole = after.events === expected && after.items === ids.size;
          const empty = after.events === 0 && after.items === 0;
          const again = spawnSync(process.execPath, [join(REPO_ROOT_DIR, 'bin/evidock.js'), '--lang', 'en', 'reindex', '--json'], { env: { ...process.env, ...env.childEnv }, encoding: 'utf8' });
          const redone = whole ? again.status === 1 : again.status === 0;
          const final = await counts();
          if ((whole || empty) && redone && final.events === expected && final.items === ids.size) r.detected!++;
          else {
            r.ok = false;
            r.notes.push(`reindex cut ${t + 1}: ${after.events} of ${expected} events and ${after.items} of ${ids.size} items when killed; rerun exit ${again.status} (${(again.stdout || again.stderr).slice(0, 160)}); then ${final.events} events, ${final.items} items`);
          }
          r.notes.push(`reindex cut ${t + 1}: ${cut ? (empty ? 'killed mid-rebuild, database left empty' : 'killed, database complete') : 'finished before the kill'}`);
        }
      } finally {
        await admin.end();
      }
      const verify = spawnSync(process.execPath, [join(REPO_ROOT_DIR, 'bin/evidock.js'), '--lang', 'en', 'verify', '--all', '--json'], { env: { ...process.env, ...env.childEnv }, encoding: 'utf8' });
      const report = JSON.parse(verify.stdout || '{}') as { ok?: boolean; items?: unknown[]; ledger?: { problems: Array<{ kind: string; detail: string }> } };
      if (verify.status !== 0 || report.ok !== true || report.items?.length !== ids.size) {
        r.ok = false;
        r.notes.push(`verify --all after the rebuild: exit ${verify.status}, ${report.items?.length ?? 0} items; ${(report.ledger?.problems ?? []).slice(0, 2).map((p) => `${p.kind}: ${p.detail}`).join('; ')}`);
      }
      return r;
    } finally {
      await rt?.close().catch(() => undefined);
      await env.cleanup();
    }
  }, r);
}

/** Incompressible bytes from the scenario's seed (the same run, the same files). */
function randomBuffer(random: () => number, size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i += 4) b.writeUInt32LE(Math.floor(random() * 0x1_0000_0000), i);
  return b;
}

export function cleanupDir(path: string): void {
  rmSync(path, { recursive: true, force: true });
}

export type { TestEnv };
