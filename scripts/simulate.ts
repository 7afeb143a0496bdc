/**
 * `npm run simulate` (npx tsx scripts/simulate.ts [options]): a province's docking day, not a
 * test. --workstations simulated workstations (each its own workstationId, key, spool and
 * device queues, as `evidock daemon` on a workstation has them; catalog, ledger and object
 * store shared, as a province's are) dock --recorders recorders each, once a day, at times
 * drawn from officers coming off three shifts, the day compressed into --minutes. Recordings
 * are --files small synthetic files of --file-kib KiB, so the control plane — BullMQ queues in
 * Redis, the catalog and the ledger in PostgreSQL, the write-once mirror in MinIO — is what
 * is loaded, not the disks. Media jobs are not served (their queue depth is reported).
 *
 * It reports dock-to-verified latency percentiles (DOCKED event to each file's VERIFIED),
 * queue depths over time, ledger append latency (CustodyLedger.append inside its transaction,
 * the advisory lock wait included), the CPU of Redis, PostgreSQL, MinIO and the simulator
 * processes, and where the run saturated first, and writes them between the markers of
 * docs/scaling.md (--out), with the capacity model checked against them.
 *
 * Connection settings come from the normal configuration (evidock.config.json, EVIDOCK_CONFIG,
 * EVIDOCK__… variables): the single-node local stack by default, a cluster's servers when the
 * configuration names them. The run gets its own database, buckets (GOVERNANCE, so they can
 * be emptied) and Redis prefix (test/support/test-env.ts) and removes them at the end.
 *
 * Options:
 *   --workstations N   simulated workstations (100)
 *   --recorders N      recorders docked at each workstation in the day (8)
 *   --files N          recordings per docking (4)
 *   --file-kib N       size of each recording, KiB (64)
 *   --minutes N        the day compressed into this many minutes of docking (5)
 *   --drain-minutes N  at most this long afterwards for the last dockings to finish (5)
 *   --processes N      simulator processes sharing the workstations (2)
 *   --connections N    PostgreSQL connections per simulator process, shared by its workstations (8)
 *   --sample-seconds N how often queue depths and CPU are sampled (5)
 *   --seed N           seed of the docking times and file contents (1)
 *   --out PATH         the document whose generated section is replaced (docs/scaling.md)
 *   --no-doc           print the report only
 */
import { execFile, fork, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { capacityModel, figure, type CapacityInputs } from '../archive/capacity-model.ts';
import { loadConfig, REPO_ROOT } from '../config/config.loader.ts';
import { createRuntime, initLogging, type Runtime } from '../daemon/runtime.ts';
import { openDirectoryVolume } from '../drivers/directory.driver.ts';
import { CustodyLedger } from '../storage/custody-ledger.service.ts';
import { Database } from '../storage/postgres.database.ts';
import { createTestEnv, type TestEnv } from '../test/support/test-env.ts';
import { queueNameOf, QueueName } from '../workers/job.types.ts';
import { measuredInputs } from './capacity.ts';

const SCRIPT = fileURLToPath(import.meta.url);
const BEGIN = '<!-- simulate:begin (written by scripts/simulate.ts; rerun it rather than editing) -->';
const END = '<!-- simulate:end -->';
const TERMINAL = ['cleared', 'kept', 'failed', 'skipped', 'interrupted', 'superseded'];
const DEVICE = [QueueName.Acquire, QueueName.Store, QueueName.Clear] as const;
const SHARED = [QueueName.Catalog, QueueName.Metadata, QueueName.Transcode] as const;

interface Options {
  workstations: number;
  recorders: number;
  files: number;
  fileKiB: number;
  minutes: number;
  drainMinutes: number;
  processes: number;
  connections: number;
  sampleSeconds: number;
  seed: number;
  out: string | null;
  argv: string[];
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      workstations: { type: 'string', default: '100' },
      recorders: { type: 'string', default: '8' },
      files: { type: 'string', default: '4' },
      'file-kib': { type: 'string', default: '64' },
      minutes: { type: 'string', default: '5' },
      'drain-minutes': { type: 'string', default: '5' },
      processes: { type: 'string', default: '2' },
      connections: { type: 'string', default: '8' },
      'sample-seconds': { type: 'string', default: '5' },
      seed: { type: 'string', default: '1' },
      out: { type: 'string', default: 'docs/scaling.md' },
      'no-doc': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${(readFileSync(SCRIPT, 'utf8').split('*/')[0] ?? '').replace(/^\/\*\*\n?/, '').replace(/^ \* ?/gm, '')}\n`);
    process.exit(0);
  }
  const num = (name: string, value: string | undefined, min: number, integer = true): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) throw new Error(`--${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got ${value}`);
    return n;
  };
  return {
    workstations: num('workstations', values.workstations, 1),
    recorders: num('recorders', values.recorders, 1),
    files: num('files', values.files, 1),
    fileKiB: num('file-kib', values['file-kib'], 1),
    minutes: num('minutes', values.minutes, 0.5, false),
    drainMinutes: num('drain-minutes', values['drain-minutes'], 0.5, false),
    processes: num('processes', values.processes, 1),
    connections: num('connections', values.connections, 2),
    sampleSeconds: num('sample-seconds', values['sample-seconds'], 1),
    seed: num('seed', values.seed, 0),
    out: values['no-doc'] ? null : resolve(REPO_ROOT, values.out ?? 'docs/scaling.md'),
    argv,
  };
}

const log = (text: string) => process.stderr.write(`simulate: ${text}\n`);

// ---- the day ---------------------------------------------------------------------------------

/** Officers come off three shifts: night (ends 08:00), day (17:30, the largest) and evening (00:30). */
const SHIFT_ENDS = [
  { hour: 8, sd: 0.75, weight: 0.25 },
  { hour: 17.5, sd: 1, weight: 0.5 },
  { hour: 24.5, sd: 1, weight: 0.25 },
];

function prng(seed: number): () => number {
  let s = (seed * 2654435761) % 2 ** 32 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

/** The hour of the day (0–24) a recorder is docked, drawn from the shift ends. */
function dockingHour(rand: () => number): number {
  let pick = rand();
  const shift = SHIFT_ENDS.find((s) => (pick -= s.weight) < 0) ?? SHIFT_ENDS[1]!;
  const gauss = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  return (((shift.hour + gauss * shift.sd) % 24) + 24) % 24;
}

interface Docking {
  workstation: number;
  recorder: number;
  hour: number;
  /** Milliseconds after the start of the run. */
  atMs: number;
}

function schedule(o: Options): Docking[] {
  const rand = prng(o.seed);
  const out: Docking[] = [];
  for (let w = 0; w < o.workstations; w++) {
    for (let r = 0; r < o.recorders; r++) {
      const hour = dockingHour(rand);
      out.push({ workstation: w, recorder: r, hour, atMs: (hour / 24) * o.minutes * 60_000 });
    }
  }
  return out.sort((a, b) => a.atMs - b.atMs);
}

/** The largest share of the day's dockings that falls in one hour of the day (a sliding hour). */
function peakHourShare(dockings: readonly Docking[]): number {
  const hours = dockings.map((d) => d.hour).sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < hours.length; i++) {
    while (hours[j]! < hours[i]! - 1) j++;
    best = Math.max(best, i - j + 1);
  }
  return best / hours.length;
}

// ---- a simulator process ----------------------------------------------------------------------

interface ChildSetup {
  configFile: string;
  dir: string;
  workstationIds: string[];
  dockings: Array<Docking & { workstationId: string }>;
  files: number;
  fileKiB: number;
  connections: number;
}

type ChildMessage =
  | { kind: 'ready' }
  | { kind: 'docked'; errors: string[] }
  | { kind: 'done'; appendMs: number[]; errors: string[] };

async function child(setup: ChildSetup): Promise<void> {
  const send = (m: ChildMessage) => process.send!(m);
  const base = loadConfig({ file: setup.configFile });
  initLogging(base, true);
  const db = new Database({ ...base.postgres, maxConnections: setup.connections });
  await db.migrate();
  // Ledger append latency as the workstations see it: from the advisory lock request to the
  // inserted row, inside the caller's transaction.
  const appendMs: number[] = [];
  const append = CustodyLedger.prototype.append;
  CustodyLedger.prototype.append = async function timedAppend(this: CustodyLedger, ...args: Parameters<typeof append>) {
    const t0 = performance.now();
    try {
      return await append.apply(this, args);
    } finally {
      appendMs.push(performance.now() - t0);
    }
  };
  const runtimes = new Map<string, Runtime>();
  for (const id of setup.workstationIds) {
    const config = loadConfig({ file: setup.configFile, overrides: { workstationId: id, dataDir: join(setup.dir, 'ws', id) } });
    const rt = await createRuntime(config, { db });
    rt.startWorkers([QueueName.Acquire, QueueName.Store, QueueName.Catalog, QueueName.Clear]);
    runtimes.set(id, rt);
  }
  const errors: string[] = [];
  process.on('message', (m: { kind: string; t0?: number }) => {
    if (m.kind === 'start') {
      void Promise.all(
        setup.dockings.map(async (d) => {
          await new Promise((r) => setTimeout(r, Math.max(0, m.t0! + d.atMs - Date.now())));
          try {
            const serial = `SIM${d.workstation}R${d.recorder}`;
            const mount = join(setup.dir, 'recorders', serial);
            mkdirSync(join(mount, 'DCIM'), { recursive: true });
            for (let f = 0; f < setup.files; f++) writeFileSync(join(mount, 'DCIM', `REC_${f}.MP4`), randomBytes(setup.fileKiB * 1024));
            const volume = await openDirectoryVolume(mount, { serial, officerId: `P${d.workstation}-${d.recorder}` });
            if (!volume) throw new Error(`no volume at ${mount}`);
            await runtimes.get(d.workstationId)!.dock.dock(volume, { actor: { kind: 'officer', id: `P${d.workstation}-${d.recorder}` } });
          } catch (error) {
            errors.push(`${d.workstationId} recorder ${d.recorder}: ${(error as Error).message}`);
          }
        }),
      ).then(() => send({ kind: 'docked', errors: [...errors] }));
    } else if (m.kind === 'stop') {
      void (async () => {
        for (const rt of runtimes.values()) await rt.close().catch((e: Error) => errors.push(`close: ${e.message}`));
        await db.close();
        send({ kind: 'done', appendMs, errors });
        process.exit(0);
      })();
    }
  });
  send({ kind: 'ready' });
}

// ---- measuring the stack -----------------------------------------------------------------------

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** CPU seconds of a process; with `reaped`, also of its children that exited (PostgreSQL's backends come and go between samples). */
function cpuOf(pid: number, reaped = false): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12]) + (reaped ? Number(f[13]) + Number(f[14]) : 0)) / CLK_TCK;
  } catch {
    return 0;
  }
}

function childrenOf(pid: number): number[] {
  const r = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' });
  return (r.stdout ?? '').split('\n').filter(Boolean).map(Number);
}

function listener(port: number): number | null {
  const m = /pid=(\d+)/.exec(spawnSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' }).stdout ?? '');
  return m ? Number(m[1]) : null;
}

/** CPU seconds so far of each service: a server and the processes it forked (PostgreSQL's backends). */
function serviceCpu(services: ReadonlyMap<string, number[]>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, roots] of services) {
    let total = 0;
    for (const root of roots) total += cpuOf(root, true) + childrenOf(root).reduce((n, p) => n + cpuOf(p), 0);
    out.set(name, total);
  }
  return out;
}

function machineBusy(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) / CLK_TCK;
}

interface Sample {
  t: number;
  depths: Record<string, number>;
  cpu: Map<string, number>;
  busy: number;
  events: number;
  filesDone: number;
}

async function queueDepths(redis: Redis, prefix: string, workstationIds: readonly string[]): Promise<Record<string, number>> {
  const names: Array<[string, string]> = [
    ...DEVICE.flatMap((q) => workstationIds.map((w) => [q, queueNameOf(q, w)] as [string, string])),
    ...SHARED.map((q) => [q, queueNameOf(q, '')] as [string, string]),
  ];
  const pipe = redis.pipeline();
  for (const [, name] of names) {
    pipe.llen(`${prefix}:${name}:wait`);
    pipe.llen(`${prefix}:${name}:active`);
    pipe.zcard(`${prefix}:${name}:prioritized`);
    pipe.zcard(`${prefix}:${name}:delayed`);
  }
  const results = (await pipe.exec()) ?? [];
  const depths: Record<string, number> = {};
  names.forEach(([family], i) => {
    const n = [0, 1, 2, 3].reduce((s, k) => s + Number(results[i * 4 + k]?.[1] ?? 0), 0);
    depths[family] = (depths[family] ?? 0) + n;
  });
  return depths;
}

async function redisCommands(redis: Redis): Promise<number> {
  return Number(/total_commands_processed:(\d+)/.exec(await redis.info('stats'))?.[1] ?? Number.NaN);
}

// ---- cleanup of the run's buckets (GOVERNANCE, bypassed with mc like the bench does) ---------

function mcBinary(): string | null {
  const home = os.homedir();
  return [join(home, '.cache', 'evidock', 'bin', 'mc'), '/root/.cache/evidock-tools/mc-bin/mc'].find((c) => existsSync(c)) ?? null;
}

async function removeBuckets(env: TestEnv): Promise<void> {
  const bin = mcBinary();
  const m = env.config.minio;
  if (!bin) {
    log(`no mc binary: buckets ${m.originalsBucket}, ${m.ledgerBucket}, ${m.derivativesBucket} are left (GOVERNANCE, 1 day)`);
    return;
  }
  const mcEnv = { ...process.env, MC_CONFIG_DIR: join(env.dir, 'mc'), MC_NO_COLOR: '1' };
  const mc = (args: string[]) => new Promise<void>((done) => execFile(bin, ['--no-color', ...args], { env: mcEnv }, () => done()));
  await mc(['alias', 'set', 'sim', `${m.useSSL ? 'https' : 'http'}://${m.endPoint}:${m.port}`, m.accessKey, m.secretKey]);
  for (const b of [m.originalsBucket, m.ledgerBucket, m.derivativesBucket]) {
    await mc(['rm', '--recursive', '--versions', '--force', '--bypass', `sim/${b}`]);
    await mc(['rb', '--force', `sim/${b}`]);
  }
}

async function dropPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}

// ---- the run -----------------------------------------------------------------------------------

const pct = (sorted: readonly number[], q: number) => (sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * q) - 1))]!);

interface Report {
  options: Options;
  startedAt: string;
  dockings: number;
  files: number;
  filesDone: number;
  filesByStage: Record<string, number>;
  dockSeconds: number;
  drainSeconds: number;
  latency: { p50: number; p95: number; p99: number; max: number; n: number };
  append: { p50: number; p95: number; p99: number; n: number };
  events: number;
  eventsPerFile: number;
  peakEventsPerSecond: number;
  peakWindowSeconds: number;
  /** Events/s over the busiest stretch as long as the compressed hour. */
  peakHourEventsPerSecond: number;
  peakHourShare: number;
  redisCommandsPerFile: number;
  samples: Array<{ t: number; depths: Record<string, number>; cpu: Record<string, number>; busy: number; eventsPerSecond: number }>;
  cpuTotals: Record<string, number>;
  saturation: string[];
  errors: string[];
}

async function simulate(o: Options): Promise<Report> {
  const startedAt = new Date().toISOString();
  const env = await createTestEnv('simulate', { retention: { mode: 'GOVERNANCE', days: 1 }, logLevel: 'error' });
  const redis = new Redis({ host: env.config.redis.host, port: env.config.redis.port, db: env.config.redis.db, password: env.config.redis.password, maxRetriesPerRequest: 2 });
  const children: ChildProcess[] = [];
  const db = new Database({ ...env.config.postgres, maxConnections: 2 });
  onInterrupt = cleanup;
  try {
    await db.migrate();
    const ids = Array.from({ length: o.workstations }, (_, w) => `${env.config.workstationId}-${String(w).padStart(3, '0')}`);
    const dockings = schedule(o).map((d) => ({ ...d, workstationId: ids[d.workstation]! }));
    const messages: ChildMessage[][] = [];
    log(`${o.workstations} workstations in ${o.processes} processes, ${dockings.length} dockings of ${o.files} × ${o.fileKiB} KiB over ${o.minutes} min (database ${env.config.postgres.database})`);
    for (let p = 0; p < o.processes; p++) {
      const mine = ids.filter((_, w) => w % o.processes === p);
      const setup: ChildSetup = { configFile: env.childEnv.EVIDOCK_CONFIG!, dir: env.dir, workstationIds: mine, dockings: dockings.filter((d) => mine.includes(d.workstationId)), files: o.files, fileKiB: o.fileKiB, connections: o.connections };
      const c = fork(SCRIPT, ['--child', JSON.stringify(setup)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      messages.push([]);
      c.on('message', (m: ChildMessage) => messages[p]!.push(m));
      children.push(c);
    }
    const waitFor = async (kind: ChildMessage['kind'], timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      while (!messages.every((ms) => ms.some((m) => m.kind === kind))) {
        if (children.some((c) => c.exitCode !== null && c.exitCode !== 0)) throw new Error('a simulator process ended early');
        if (Date.now() > deadline) throw new Error(`simulator processes did not report ${kind} in ${timeoutMs / 1000} s`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    await waitFor('ready', 600_000);
    log('every workstation is up; the day begins');

    const services = new Map<string, number[]>();
    for (const [name, port] of [['Redis', env.config.redis.port], ['PostgreSQL', env.config.postgres.port], ['MinIO', env.config.minio.port]] as const) {
      const pid = listener(port);
      if (pid) services.set(name, [pid]);
    }
    services.set('simulator (node)', [process.pid, ...children.map((c) => c.pid!)]);
    const countEvents = async () => Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM custody_events')).rows[0]!.n);
    const countDone = async () => Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM session_files WHERE stage = ANY($1::text[])', [TERMINAL])).rows[0]!.n);
    const samples: Sample[] = [];
    const sample = async (t0: number) => {
      samples.push({ t: (performance.now() - t0) / 1000, depths: await queueDepths(redis, env.config.redis.prefix, ids), cpu: serviceCpu(services), busy: machineBusy(), events: await countEvents(), filesDone: await countDone() });
    };
    const commands0 = await redisCommands(redis);
    const t0 = performance.now();
    for (const c of children) c.send({ kind: 'start', t0: Date.now() });
    await sample(t0);
    const totalFiles = dockings.length * o.files;
    let dockedAt = Number.NaN;
    const drainDeadline = t0 + (o.minutes + o.drainMinutes) * 60_000;
    for (;;) {
      await new Promise((r) => setTimeout(r, o.sampleSeconds * 1000));
      await sample(t0);
      const last = samples.at(-1)!;
      if (Number.isNaN(dockedAt) && messages.every((ms) => ms.some((m) => m.kind === 'docked'))) dockedAt = performance.now();
      log(`t=${last.t.toFixed(0)} s: ${last.filesDone}/${totalFiles} files done, ${last.events} events; depths ${Object.entries(last.depths).map(([k, v]) => `${k} ${v}`).join(', ')}`);
      if (!Number.isNaN(dockedAt) && last.filesDone >= totalFiles) break;
      if (performance.now() > drainDeadline) {
        log('the drain time is over: reporting what finished');
        break;
      }
    }
    const endT = performance.now();
    const commands = (await redisCommands(redis)) - commands0;
    for (const c of children) c.send({ kind: 'stop' });
    await waitFor('done', 120_000);
    const done = messages.map((ms) => ms.find((m) => m.kind === 'done')! as Extract<ChildMessage, { kind: 'done' }>);
    const appendMs = done.flatMap((d) => d.appendMs).sort((a, b) => a - b);
    const errors = [...new Set([...done.flatMap((d) => d.errors), ...messages.flatMap((ms) => ms.filter((m) => m.kind === 'docked').flatMap((m) => (m as { errors: string[] }).errors))])];

    const lat = (
      await db.query<{ s: number }>(
        `SELECT extract(epoch FROM v.at - d.at)::float8 AS s FROM custody_events v
           JOIN custody_events d ON d.session_id = v.session_id AND d.type = 'DOCKED'
          WHERE v.type = 'VERIFIED'`,
      )
    ).rows.map((r) => Number(r.s)).sort((a, b) => a - b);
    const byStage = Object.fromEntries((await db.query<{ stage: string; n: string }>('SELECT stage, count(*) AS n FROM session_files GROUP BY stage')).rows.map((r) => [r.stage, Number(r.n)]));
    const events = await countEvents();
    const filesDone = await countDone();
    const series = samples.slice(1).map((s, i) => {
      const prev = samples[i]!;
      const dt = s.t - prev.t;
      return {
        t: s.t,
        depths: s.depths,
        cpu: Object.fromEntries([...s.cpu].map(([k, v]) => [k, (v - (prev.cpu.get(k) ?? 0)) / dt])),
        busy: (s.busy - prev.busy) / dt,
        eventsPerSecond: (s.events - prev.events) / dt,
      };
    });
    const peak = series.reduce((a, b) => (b.eventsPerSecond > a.eventsPerSecond ? b : a), series[0]!);
    // The model speaks of the busiest hour: the busiest stretch of the run as long as the
    // compressed hour (at least one sample), measured from the event counts at the samples.
    const window = Math.max(o.sampleSeconds, (3600 * o.minutes) / (24 * 60));
    let peakHourRate = 0;
    for (let i = 1, j = 0; i < samples.length; i++) {
      while (j + 1 < i && samples[i]!.t - samples[j + 1]!.t >= window) j++;
      const dt = samples[i]!.t - samples[j]!.t;
      if (dt >= window * 0.99) peakHourRate = Math.max(peakHourRate, (samples[i]!.events - samples[j]!.events) / dt);
    }
    const span = (samples.at(-1)!.t - samples[0]!.t) || 1;
    const cpuTotals = Object.fromEntries([...samples.at(-1)!.cpu].map(([k, v]) => [k, (v - (samples[0]!.cpu.get(k) ?? 0)) / span]));
    const report: Report = {
      options: o,
      startedAt,
      dockings: dockings.length,
      files: totalFiles,
      filesDone,
      filesByStage: byStage,
      dockSeconds: Number.isNaN(dockedAt) ? Number.NaN : (dockedAt - t0) / 1000,
      drainSeconds: (endT - t0) / 1000,
      latency: { p50: pct(lat, 0.5), p95: pct(lat, 0.95), p99: pct(lat, 0.99), max: lat.at(-1) ?? Number.NaN, n: lat.length },
      append: { p50: pct(appendMs, 0.5), p95: pct(appendMs, 0.95), p99: pct(appendMs, 0.99), n: appendMs.length },
      events,
      eventsPerFile: filesDone > 0 ? events / filesDone : Number.NaN,
      peakEventsPerSecond: peak.eventsPerSecond,
      peakWindowSeconds: o.sampleSeconds,
      peakHourEventsPerSecond: peakHourRate,
      peakHourShare: peakHourShare(dockings),
      redisCommandsPerFile: filesDone > 0 ? commands / filesDone : Number.NaN,
      samples: series,
      cpuTotals,
      saturation: saturation(series, peak, os.availableParallelism(), errors, totalFiles - filesDone),
      errors,
    };
    return report;
  } finally {
    await cleanup();
  }

  async function cleanup(): Promise<void> {
    onInterrupt = null;
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await db.close().catch(() => undefined);
    // Before env.cleanup, which removes the run's folder (mc keeps its alias there).
    await removeBuckets(env).catch((e: Error) => log(`bucket cleanup: ${e.message}`));
    await env.cleanup().catch((e: Error) => log(`cleanup: ${e.message}`));
    await dropPrefix(redis, env.config.redis.prefix).catch((e: Error) => log(`redis cleanup: ${e.message}`));
    redis.disconnect();
  }
}

/** What Ctrl-C or SIGTERM runs before exiting: the run's cleanup, once it has something to clean. */
let onInterrupt: (() => Promise<void>) | null = null;

/** Where the run ran out first: the machine's CPU, the service using most of it at the peak, and the queues that backed up. */
function saturation(series: Report['samples'], peak: Report['samples'][number], cores: number, errors: readonly string[], unfinished: number): string[] {
  const out: string[] = [];
  const top = Object.entries(peak.cpu).sort((a, b) => b[1] - a[1]);
  out.push(`at the busiest sample (t = ${peak.t.toFixed(0)} s, ${peak.eventsPerSecond.toFixed(0)} ledger events/s) the machine's ${cores} cores were ${((peak.busy / cores) * 100).toFixed(0)} % busy: ${top.map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')} cores`);
  const maxDepth = (family: string) => Math.max(...series.map((s) => s.depths[family] ?? 0));
  const backed = Object.keys(series[0]?.depths ?? {})
    .filter((f) => f !== QueueName.Metadata && f !== QueueName.Transcode)
    .map((f) => [f, maxDepth(f)] as const)
    .sort((a, b) => b[1] - a[1]);
  if (backed[0] && backed[0][1] > 0) out.push(`the deepest pipeline queue was ${backed[0][0]} (at most ${backed[0][1]} jobs waiting or active; ${backed.slice(1).map(([f, d]) => `${f} ${d}`).join(', ')})`);
  // What failed work is the first limit met; the machine's CPU only when nothing failed.
  const reasons = new Map<string, number>();
  for (const e of errors) {
    const why = e.replace(/^[^:]*recorder \d+: /, '');
    reasons.set(why, (reasons.get(why) ?? 0) + 1);
  }
  const worst = [...reasons].sort((a, b) => b[1] - a[1])[0];
  if (worst) out.push(`first limit: ${worst[0]} (${worst[1]} of ${errors.length} errors)`);
  else if (peak.busy / cores > 0.9) out.push(`first limit: CPU, ${top[0]?.[0] ?? '?'} the largest user`);
  else if (unfinished > 0) out.push(`first limit: the drain time (${unfinished} files unfinished, no errors, CPU below 90 %)`);
  else out.push('no limit reached: every file finished with no errors and the CPU below 90 %');
  return out;
}

// ---- the document ------------------------------------------------------------------------------

const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '—');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '—');

function render(r: Report, model: { inputs: CapacityInputs; sources: string[] }): string {
  const o = r.options;
  const lines: string[] = [BEGIN, ''];
  lines.push(`### Province simulation (${r.startedAt})`, '');
  lines.push(
    `\`npx tsx scripts/simulate.ts${o.argv.length ? ` ${o.argv.join(' ')}` : ''}\`: ${o.workstations} workstations in ${o.processes} processes (${o.connections} PostgreSQL connections each), ${r.dockings} dockings of ${o.files} × ${o.fileKiB} KiB (${r.files} files) over a day compressed into ${o.minutes} min, on the single-node local stack (${os.availableParallelism()} cores shared by the stack, the simulator and other engineers' work). ` +
      `The last docking began at ${f1(r.dockSeconds)} s; the run ended at ${f1(r.drainSeconds)} s with ${r.filesDone} of ${r.files} files finished (${Object.entries(r.filesByStage).map(([k, v]) => `${k} ${v}`).join(', ')}).`,
    '',
  );
  lines.push('| Figure | Value |', '| --- | --- |');
  lines.push(`| Dock to verified (DOCKED event to each file's VERIFIED) | p50 ${f2(r.latency.p50)} s, p95 ${f2(r.latency.p95)} s, p99 ${f2(r.latency.p99)} s, max ${f2(r.latency.max)} s (${r.latency.n} files) |`);
  lines.push(`| Ledger append (advisory lock wait included) | p50 ${f1(r.append.p50)} ms, p95 ${f1(r.append.p95)} ms, p99 ${f1(r.append.p99)} ms (${r.append.n} appends) |`);
  lines.push(`| Custody events | ${r.events} (${f2(r.eventsPerFile)} per file); busiest ${r.peakWindowSeconds} s sample ${f1(r.peakEventsPerSecond)} events/s |`);
  lines.push(`| Redis commands per file | ${f1(r.redisCommandsPerFile)} (the server's total_commands_processed over the run: other engineers' commands are counted too, so an upper bound) |`);
  lines.push(`| Busiest hour of the simulated day | ${(r.peakHourShare * 100).toFixed(1)} % of the dockings |`);
  lines.push(`| CPU over the run (cores, average) | ${Object.entries(r.cpuTotals).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')} |`);
  lines.push('');
  lines.push('Where it saturated first:', '', ...r.saturation.map((s) => `- ${s}`), '');
  if (r.errors.length) lines.push(`Errors (${r.errors.length}): ${r.errors.slice(0, 5).join('; ')}`, '');
  lines.push('Queue depths (waiting + active + delayed, all workstations) and CPU (cores) per sample:', '');
  const families = Object.keys(r.samples[0]?.depths ?? {});
  const cpuKeys = Object.keys(r.samples[0]?.cpu ?? {});
  lines.push(`| t (s) | ${families.join(' | ')} | events/s | ${cpuKeys.join(' | ')} | machine |`, `| ${['---', ...families, 'x', ...cpuKeys, 'x'].map(() => '---').join(' | ')} |`);
  const step = Math.max(1, Math.ceil(r.samples.length / 40));
  for (const s of r.samples.filter((_, i) => i % step === 0)) {
    lines.push(`| ${s.t.toFixed(0)} | ${families.map((f) => String(s.depths[f] ?? 0)).join(' | ')} | ${s.eventsPerSecond.toFixed(0)} | ${cpuKeys.map((k) => (s.cpu[k] ?? 0).toFixed(2)).join(' | ')} | ${s.busy.toFixed(2)} |`);
  }
  lines.push('');
  // The model's check: the simulated province as a bureau would fill it in, the day in real hours.
  const dayScale = (24 * 60) / o.minutes;
  const inputs: CapacityInputs = {
    ...model.inputs,
    officers: o.workstations * o.recorders,
    segmentMinutes: 15,
    hoursPerOfficerPerDay: (o.files * 15) / 60,
    workstations: o.workstations,
    peakHourShare: r.peakHourShare,
    eventsPerFile: r.eventsPerFile,
  };
  const figures = capacityModel(inputs);
  const predicted = (figure(figures, 'peakEventsPerSecond') * dayScale);
  lines.push('### The model against the simulation', '');
  lines.push(
    `Filled in for the simulated province (${inputs.officers} officers, ${o.files} files of 15 min each a docking, ${o.workstations} workstations, the busiest hour ${(r.peakHourShare * 100).toFixed(1)} % of the day, ${f2(r.eventsPerFile)} events per file as measured) and its day compressed ${dayScale.toFixed(0)}×, the model predicts **${f1(predicted)} ledger appends/s** in the busiest hour; the busiest stretch of the run as long as that compressed hour (${(3600 / dayScale).toFixed(1)} s, at least one ${o.sampleSeconds} s sample) measured **${f1(r.peakHourEventsPerSecond)}/s**. ` +
      (r.peakHourEventsPerSecond < predicted * 0.8
        ? `The measured rate stayed below the prediction (${((r.peakHourEventsPerSecond / predicted) * 100).toFixed(0)} %): the pipeline did not append as fast as the dockings asked, and the queue depths above show where the work waited.`
        : `The measured rate reached ${((r.peakHourEventsPerSecond / predicted) * 100).toFixed(0)} % of the prediction: the model's arithmetic (files × events per file in the busiest hour) holds at this load.`),
    '',
  );
  lines.push(`Model inputs measured elsewhere: ${model.sources.join('; ')}.`, '');
  lines.push(END);
  return lines.join('\n');
}

function writeSection(path: string, section: string): void {
  const doc = existsSync(path) ? readFileSync(path, 'utf8') : `# Scaling\n\n${BEGIN}\n${END}\n`;
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${relative(REPO_ROOT, path)} has no ${BEGIN} … ${END} markers to write between`);
  writeFileSync(path, `${doc.slice(0, a)}${section}${doc.slice(b + END.length)}`);
}

async function main(): Promise<number> {
  const at = process.argv.indexOf('--child');
  if (at >= 0) {
    await child(JSON.parse(process.argv[at + 1]!) as ChildSetup);
    return -1;
  }
  const o = parseOptions(process.argv.slice(2));
  const interrupted = () => {
    log('interrupted: removing the run\'s database, buckets and Redis keys');
    void (onInterrupt?.() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  initLogging(loadConfig(), true);
  const r = await simulate(o);
  const model = measuredInputs();
  const section = render(r, model);
  process.stdout.write(`${section}\n`);
  if (o.out) {
    writeSection(o.out, section);
    process.stdout.write(`wrote ${relative(REPO_ROOT, o.out)}\n`);
  }
  return r.filesDone === r.files && r.errors.length === 0 ? 0 : 2;
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: Error) => {
    process.stderr.write(`simulate failed: ${error.stack ?? error.message}\n`);
    process.exit(1);
  },
);


