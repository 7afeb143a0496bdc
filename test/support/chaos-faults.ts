import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { cpSync, closeSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { REPO_ROOT } from '../../config/config.loader.ts';
import type { Runtime } from '../../daemon/runtime.ts';
import type { FileRow, FileStage } from '../../storage/catalog.repository.ts';
import { originalKey } from '../../storage/object-store.ts';
import { QueueName } from '../../workers/job.types.ts';
import { sha256OfFile, type SourceFile } from './invariants.ts';
import { eventually, type TestEnv } from './test-env.ts';

/**
 * Fault injection for the chaos suite (scripts/chaos.ts, test/chaos-quick.test.ts): real
 * `evidock` processes to SIGKILL and restart, recorders to dock under a daemon's mount root,
 * kill points chosen by watching the catalog and the queues, and a seeded random source so
 * a run can be repeated.
 */

// One seeded PRNG for the footage generator and the chaos suite, so a run can be repeated.
export { seededRandom } from '../../scripts/make-footage.ts';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- real evidock processes -------------------------------------------------------------

/** A `node bin/evidock.js …` child with its output appended to a log file, restartable. */
export class EvidockProcess {
  private child: ChildProcess | null = null;
  private exit: Promise<void> = Promise.resolve();
  starts = 0;
  kills = 0;
  /** When the current (or last) life began, ms since the epoch. */
  startedAt = 0;
  /** Highest VmHWM (peak resident set) seen over all of this process's lives, bytes. */
  peakRssBytes = 0;

  constructor(
    readonly label: string,
    private readonly args: string[],
    private readonly env: Record<string, string>,
    readonly logFile: string,
  ) {
    mkdirSync(dirname(logFile), { recursive: true });
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    if (this.running) return;
    const fd = openSync(this.logFile, 'a');
    try {
      const child = spawn(process.execPath, [resolve(REPO_ROOT, 'bin/evidock.js'), '--lang', 'en', ...this.args], {
        cwd: REPO_ROOT,
        env: { ...process.env, ...this.env },
        stdio: ['ignore', fd, fd],
      });
      child.on('error', () => undefined);
      this.child = child;
      this.exit = new Promise((r) => child.once('exit', () => r()));
      this.starts++;
      this.startedAt = Date.now();
    } finally {
      closeSync(fd);
    }
  }

  /** Samples the peak RSS now (call it regularly; the kernel keeps the high-water mark). */
  sample(): void {
    const pid = this.pid;
    if (!pid || !this.running) return;
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) this.peakRssBytes = Math.max(this.peakRssBytes, Number(m[1]) * 1024);
    } catch {
      // exited between the check and the read
    }
  }

  /** SIGKILL: no handler runs, nothing is flushed or closed. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.sample();
    this.child!.kill('SIGKILL');
    this.kills++;
    await this.exit;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 20_000): Promise<void> {
    if (!this.running) return;
    this.sample();
    this.child!.kill('SIGTERM');
    if ((await Promise.race([this.exit.then(() => 'exited'), sleep(graceMs).then(() => 'late')])) === 'late') {
      this.child!.kill('SIGKILL');
      await this.exit;
    }
  }

  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  /** Waits for the process to say it has started (the daemon's and workers' first line). */
  async ready(timeoutMs = 60_000): Promise<void> {
    const before = this.starts;
    await eventually(async () => {
      if (!this.running) throw new Error(`${this.label} exited: ${this.log().split('\n').slice(-8).join('\n')}`);
      const lines = this.log().split('\n').filter((l) => /workstation|工作站|started|已启动/i.test(l));
      return lines.length >= before ? true : undefined;
    }, timeoutMs, `${this.label} to start`);
  }
}

/** PIDs of processes whose parent has exited and whose command line mentions `marker`. */
export function orphansOf(marker: string): number[] {
  const r = spawnSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' });
  return r.stdout
    .split('\n')
    .map((l) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null && m[2] === '1' && m[3]!.includes(marker))
    .map((m) => Number(m[1]));
}

// ---- recorders --------------------------------------------------------------------------

/**
 * Every regular file under a recorder folder, with its hash, as the suite's ground truth.
 * Names are read as bytes: a hostile recorder's names need not be UTF-8.
 */
export function sourcesOf(root: string): SourceFile[] {
  const out: SourceFile[] = [];
  const walk = (dir: Buffer) => {
    for (const entry of readdirSync(dir, { withFileTypes: true, encoding: 'buffer' })) {
      const raw = Buffer.concat([dir, Buffer.from('/'), entry.name as unknown as Buffer]);
      const text = raw.toString('utf8');
      const path = Buffer.from(text, 'utf8').equals(raw) ? text : raw;
      if (entry.isDirectory()) walk(raw);
      else if (entry.isFile()) out.push({ path, sha256: sha256OfFile(path), size: statSync(path).size });
    }
  };
  walk(Buffer.from(root));
  return out;
}

/** The same sources after their folder was moved from `from` to `to` (ASCII names). */
export function movedSources(sources: readonly SourceFile[], from: string, to: string): SourceFile[] {
  return sources.map((s) => ({ ...s, path: String(s.path).replace(from, to) }));
}

/**
 * Writes `count` pseudo-random recordings with GA/T 947 names for `serial`: `size` bytes
 * each plus a per-file offset, an AES-CTR keystream keyed by seed and sequence, so no two are
 * equal and a run with the same seed writes the same bytes. Written in 4 MiB pieces, so
 * large recorders (the load test) do not need the memory.
 */
export function writeByteRecordings(root: string, serial: string, count: number, size: number, seed: number, firstSeq = 1): void {
  const media = join(root, 'DCIM', '100MEDIA');
  mkdirSync(media, { recursive: true });
  for (let i = 0; i < count; i++) {
    const seq = firstSeq + i;
    const name = `${serial}_004512_202611211${String(seq % 10)}${String(seq % 60).padStart(2, '0')}00_${String(seq).padStart(4, '0')}.MP4`;
    const key = createHash('sha256').update(`${serial}/${seed}/${seq}`).digest();
    const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
    const fd = openSync(join(media, name), 'w');
    try {
      let left = size + i * 17 + 1;
      const zeros = Buffer.alloc(4 << 20);
      while (left > 0) {
        const n = Math.min(left, zeros.length);
        writeSync(fd, cipher.update(zeros.subarray(0, n)));
        left -= n;
      }
    } finally {
      closeSync(fd);
    }
  }
}

/** Copies a prepared recorder folder (e.g. ffmpeg footage) into place. */
export function copyRecorder(template: string, to: string): void {
  cpSync(template, to, { recursive: true });
}

/**
 * Docks a recorder under a daemon's watched mount root: prepared next to it, then renamed
 * in, so the daemon sees one complete volume appear (as a mount does).
 */
export function dockUnder(mountRoot: string, staged: string, name: string): string {
  const target = join(mountRoot, name);
  mkdirSync(mountRoot, { recursive: true });
  renameSync(staged, target);
  return target;
}

// ---- watching the pipeline --------------------------------------------------------------

export async function sessionAt(rt: Runtime, mountPath: string, timeoutMs = 60_000): Promise<string> {
  return eventually(async () => {
    const r = await rt.db.query<{ id: string }>('SELECT id FROM dock_sessions WHERE mount_path = $1 ORDER BY started_at DESC LIMIT 1', [mountPath]);
    return r.rows[0]?.id;
  }, timeoutMs, `a session at ${mountPath}`);
}

const SETTLED: readonly FileStage[] = ['cleared', 'kept', 'failed', 'skipped', 'superseded', 'interrupted'];

/** Every file of the session settled and the session closed. */
export async function sessionSettled(rt: Runtime, sessionId: string, timeoutMs: number): Promise<FileRow[]> {
  return eventually(async () => {
    const s = await rt.catalog.getSession(sessionId);
    const files = await rt.catalog.filesOfSession(sessionId);
    if (!s || !['done', 'interrupted', 'failed'].includes(s.status)) return undefined;
    return files.every((f) => SETTLED.includes(f.stage)) ? files : undefined;
  }, timeoutMs, `session ${sessionId} to settle`);
}

/** No job waiting, active or delayed in any queue (media work included). */
export async function queuesIdle(rt: Runtime, timeoutMs: number): Promise<void> {
  await eventually(async () => {
    for (const q of await rt.queue.counts()) {
      const c = q.counts;
      if ((c.waiting ?? 0) + (c.active ?? 0) + (c.delayed ?? 0) + (c.prioritized ?? 0) > 0) return undefined;
    }
    return true;
  }, timeoutMs, 'every queue to drain');
}

/** Where a kill lands: a pipeline step, seen in the catalog, the object store or the queues. */
export type KillPoint = 'acquire' | 'store' | 'verify' | 'record' | 'clear' | 'metadata' | 'proxy' | 'thumbnails';

/** Which process serves the step (the daemon runs --device-only; `evidock workers` the rest). */
export const KILL_TARGET: Record<KillPoint, 'daemon' | 'workers'> = {
  acquire: 'daemon',
  store: 'daemon',
  verify: 'daemon',
  record: 'workers',
  clear: 'daemon',
  metadata: 'workers',
  proxy: 'workers',
  thumbnails: 'workers',
};

/** A job of `queue` (named `name`, if given) taken by a worker that started after `since`. */
async function liveActive(rt: Runtime, queue: QueueName, since: number, name?: string): Promise<boolean> {
  // A killed worker's job stays "active" until its lock lapses: only a job picked up by the
  // process now running shows that the step is really under way.
  const active = await rt.queue.queue(queue).getActive();
  return active.some((j) => (name === undefined || j.name === name) && (j.processedOn ?? 0) >= since);
}

/**
 * Whether the step is under way right now in a process started at `since`:
 * - acquire: a file is being copied (stage acquiring, bytes in, its acquire job live);
 * - store: a file is spooled and its upload job is live;
 * - verify: the uploaded object exists but the catalog has not yet committed STORED+VERIFIED;
 * - record: stored, the catalog job not yet done; clear: recorded, its clear job live;
 * - metadata / proxy / thumbnails: such a job is live.
 */
export async function killPointReached(rt: Runtime, point: KillPoint, since: number): Promise<boolean> {
  // Every session of the env: a restarted daemon may dock the same volume again.
  const sessions = await rt.db.query<{ id: string }>('SELECT id FROM dock_sessions');
  const files = (await Promise.all(sessions.rows.map((s) => rt.catalog.filesOfSession(s.id)))).flat();
  switch (point) {
    case 'acquire':
      return files.some((f) => f.stage === 'acquiring' && f.bytesAcquired > 0) && (await liveActive(rt, QueueName.Acquire, since));
    case 'store':
      return files.some((f) => f.stage === 'acquired') && (await liveActive(rt, QueueName.Store, since));
    case 'verify': {
      if (!(await liveActive(rt, QueueName.Store, since))) return false;
      for (const f of files.filter((x) => x.stage === 'acquired' && x.sha256)) {
        if (await rt.objects.stat('originals', originalKey(f.sha256!))) return true;
      }
      return false;
    }
    case 'record':
      return files.some((f) => f.stage === 'stored') && Date.now() - since > 1500;
    case 'clear':
      return files.some((f) => f.stage === 'recorded') && (await liveActive(rt, QueueName.Clear, since));
    case 'metadata':
      return liveActive(rt, QueueName.Metadata, since);
    case 'proxy':
    case 'thumbnails':
      return liveActive(rt, QueueName.Transcode, since, point);
  }
}

const BEFORE: Partial<Record<KillPoint, readonly FileStage[]>> = {
  acquire: ['queued', 'acquiring'],
  store: ['queued', 'acquiring', 'acquired'],
  verify: ['queued', 'acquiring', 'acquired'],
  record: ['queued', 'acquiring', 'acquired', 'stored'],
  clear: ['queued', 'acquiring', 'acquired', 'stored', 'recorded'],
};

async function pointPassed(rt: Runtime, point: KillPoint): Promise<boolean> {
  const before = BEFORE[point];
  if (!before) return false;
  const r = await rt.db.query<{ n: string }>('SELECT count(*) AS n FROM session_files WHERE stage = ANY($1::text[])', [before]);
  const sessions = await rt.db.query<{ n: string }>('SELECT count(*) AS n FROM dock_sessions');
  return Number(sessions.rows[0]!.n) > 0 && Number(r.rows[0]!.n) === 0;
}

/** Polls fast (the windows are short) until the point is reached; false after `timeoutMs`. */
export async function waitForKillPoint(rt: Runtime, point: KillPoint, since: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let polls = 0;
  while (Date.now() < deadline) {
    if (await killPointReached(rt, point, since).catch(() => false)) return true;
    // Every file already past the step: it will not come again in this session.
    if (++polls % 20 === 0 && (await pointPassed(rt, point).catch(() => false))) return false;
    await sleep(point === 'verify' ? 5 : 25);
  }
  return false;
}

let configCount = 0;

/** Writes a config file next to the env's own with extra settings (deep-merged on top). */
export function childConfig(env: TestEnv, extra: Record<string, unknown>): Record<string, string> {
  const base = JSON.parse(readFileSync(env.childEnv.EVIDOCK_CONFIG!, 'utf8')) as Record<string, unknown>;
  const merged = deepMerge(base, extra);
  const file = join(env.dir, `evidock.chaos.${++configCount}.json`);
  writeFileSync(file, JSON.stringify(merged, null, 2), { mode: 0o600 });
  return { EVIDOCK_CONFIG: file };
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = prev && typeof prev === 'object' && !Array.isArray(prev) && v && typeof v === 'object' && !Array.isArray(v) ? deepMerge(prev as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}
