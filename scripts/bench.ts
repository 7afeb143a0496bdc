/**
 * `npm run bench` (npx tsx scripts/bench.ts [options]): evidock's throughput and memory
 * against the tools an operator would otherwise use, on the local stack.
 *
 *   acquire   copyWithDigests (the acquire hot path) vs cp, cp + sync, cp + sha256sum, cat
 *   throttle  copyWithDigests from a stream paced to --throttle-mbps vs that rate
 *   bus       acquire vs cp with the recorder's disk reads limited to --bus-mbps by the
 *             kernel (blkio throttle), through the file path a mass-storage recorder uses
 *   store     MinioObjectStore.putFile vs `mc cp` to the same MinIO
 *   e2e       importFolder through the real pipeline (in-process workers)
 *   fixity    one scheduled fixity cycle, unthrottled, over the data set stored as evidence
 *   export    the case's BagIt package (evidock export) of the data set vs `mc cp` of its originals
 *             vs `mc cat` of the same objects
 *   reindex   evidock reindex (ReindexService) of a generated ledger of --reindex-items items
 *             (write-once events, originals, sealed access records) into an empty database
 *   ledger    CustodyLedger.record with --ledger-writers concurrent writers (each a workstation
 *             with its own key; appends/s, p50/p95 latency), each design of LEDGER_DESIGNS
 *             (the advisory lock of before issue 19 first, then the Merkle log); the chain and
 *             signature check of --ledger-events events from PostgreSQL, the mirror comparison
 *             on --ledger-mirror-sample of them, verify() of all of them extrapolated from the
 *             two; then a Merkle log of --ledger-events events: integration, the events and
 *             tree check, and its verify() extrapolated the same way
 *   concurrency  --recorders folders docked at once vs max(cp, mc cp) of the same bytes,
 *             with each recorder's finish time
 *   dock      one recorder of --dock-files × --dock-mb, dock to all verified, vs max(cp, mc cp)
 *   search    CatalogRepository.search p95 over --search-rows generated catalog rows
 *   api       the archive server (HTTP, in process) on such a catalog: search p50/p95 at
 *             --api-clients concurrent clients, time to first byte of a proxy range request,
 *             an item view with access logging batched / immediate / none and the seal rate,
 *             a --upload-mb case document POSTed vs `mc cp` of the same file
 *   web       the web interface in headless Chromium on such a catalog: the first page's
 *             compressed JavaScript, the search page's first result list, play to first frame
 *   transcode MediaService.handleProxy on a 1080p30 clip stored as evidence vs the same ffmpeg
 *             argument list (proxyVideoArgs) spawned directly; speed as a multiple of real time
 *   faces     each face model of redaction suggestions: precision and recall on a labelled set
 *             generated from the face-api package's demo photos, frames/s per core at three
 *             frame sizes (scripts/bench-faces.ts)
 *   memory    peak RSS of `evidock daemon` while `evidock import --wait` ingests one big file
 *
 * Every comparison runs --runs times (default 3); the figures are medians and each evidock
 * figure is given as a ratio to its baseline. The page cache is dropped before every timed
 * side when the kernel lets us (root); otherwise every side reads its source once before
 * it is timed, so both sides of a comparison are equally warm.
 *
 * Nothing outlives the run: bench data under var/bench, the isolated databases, Redis keys
 * and buckets are removed at the end (buckets use GOVERNANCE retention so that the bench
 * can bypass it when it cleans up; evidence buckets use COMPLIANCE).
 *
 * The report carries its figures as data (an HTML comment at its end). When a section is not
 * run (--only, --skip-4g) and the report being written already holds it, that section is
 * kept as it was, marked with the date and command of the run that measured it.
 *
 * Options:
 *   --runs N               timed runs per side (3)
 *   --files N              files in the acquire/store/e2e data set (8)
 *   --size-mb N            size of each of those files in MiB (128)
 *   --big-mb N             size of the one file of the memory run in MiB (4096)
 *   --transcode-seconds N  length of the 1080p30 clip of the transcode run (30)
 *   --throttle-mbps N,M    rates of the paced stream source, MB/s (40, USB 2.0)
 *   --bus-mbps N,M         read limits of the bus section's recorder disk, MB/s (40,400:
 *                          USB 2.0 and USB 3 mass storage in practice)
 *   --search-rows N        catalog rows of the search run (1000000)
 *   --ledger-writers N,M   concurrent writers of the ledger section (1,8,32,128)
 *   --ledger-appends N     appends a run, shared among the writers (2000)
 *   --ledger-connections N PostgreSQL connections the writers share at most (32)
 *   --ledger-events N      events of the verification run (1000000)
 *   --ledger-mirror-sample N  of those, mirrored to MinIO for the mirror comparison (20000)
 *   --search-queries N     timed queries per kind (200); the api section times at least
 *                          8 × clients requests per measurement
 *   --api-clients N,M      concurrent clients of the api section's searches (1,16,64)
 *   --upload-mb N          size of the api section's uploaded document, MiB (256)
 *   --recorders N          recorders docked at once in the concurrency run (8); they share
 *                          the --files × --size-mb data set
 *   --dock-files N         files of the one recorder of the dock run (8)
 *   --dock-mb N            size of each of those, MiB (512)
 *   --skip-4g              skip the memory run
 *   --only LIST            comma-separated subset of
 *                          acquire,throttle,bus,store,e2e,fixity,export,reindex,ledger,concurrency,dock,search,api,web,transcode,faces,memory
 *                          (no doc unless --out)
 *   --out PATH             where to write the report (docs/benchmarks.md)
 *   --fresh                do not keep sections of the existing report that this run skips
 *   --no-doc               print the table only
 *   --keep                 keep var/bench (data, logs) for inspection
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createCipheriv, createHash, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { Redis } from 'ioredis';
import pg from 'pg';
import { loadConfig, REPO_ROOT } from '../config/config.loader.ts';
import { configSchema, type EvidockConfig } from '../config/config.schema.ts';
import { importFolder } from '../daemon/cli.ts';
import { ExportFolder } from '../daemon/export-folder.adapter.ts';
import { createReindexer, initLogging, type Runtime } from '../daemon/runtime.ts';
import type { ReindexReport } from '../archive/reindex.service.ts';
import { inParallel } from '../archive/case-export.service.ts';
import {
  canonicalJson,
  GENESIS_HASH,
  keyIdOf,
  LEDGER_START,
  publicKeyFromPem,
  sealEvent,
  verifyChain,
  verifyLedgerEvents,
  type CustodyEvent,
  type CustodyEventInput,
  type CustodyEventType,
  type JsonValue,
} from '../storage/custody-chain.ts';
import { attachmentObjectKey, CustodyLedger, eventObjectKey, keyObjectKey } from '../storage/custody-ledger.service.ts';
import { loadOrCreateWorkstationKey, type WorkstationKey } from '../storage/ledger-key.store.ts';
import { Database } from '../storage/postgres.database.ts';
import { buildArchiveServer } from '../server/archive.server.ts';
import { makeRecorderFootage } from './make-footage.ts';
import { FACE_SIZES, measureFaces } from './bench-faces.ts';
import { openDirectoryVolume } from '../drivers/directory.driver.ts';
import { MinioObjectStore } from '../storage/minio.object-store.ts';
import { originalKey } from '../storage/object-store.ts';
import { ReadThrottle } from '../test/support/read-throttle.ts';
import { LegacyLedgerWriter } from '../test/support/legacy-ledger.ts';
import { createTestEnv, type TestEnv } from '../test/support/test-env.ts';
import { copyWithDigests, type HashAlgorithm } from '../workers/acquire.copier.ts';
import { checkpointsOf } from '../workers/ingest.service.ts';
import { distIsFresh } from '../bin/dist-freshness.js';
import { proxyVideoArgs } from '../workers/ffmpeg-args.ts';
import { FfmpegTranscoder, FfprobeProber } from '../workers/ffmpeg.adapter.ts';
import { JobStatus, QueueName, SHARED_QUEUES } from '../workers/job.types.ts';
import type { ProbeInfo } from '../workers/media-tools.ts';
import type { Workspace } from '../workers/media-workspace.ts';
import type { MediaDeps } from '../workers/media.service.ts';

const MiB = 1024 * 1024;
const BENCH_DIR = resolve(REPO_ROOT, 'var', 'bench');
/** Targets of the performance issue (#4). */
const TARGETS = {
  acquireVsCp: 1.1,
  acquireVsCpSha: 0.65,
  storeVsMc: 0.9,
  peakRssBytes: 200 * 1000 * 1000,
  transcodeOverhead: 1.05,
  throttledVsSource: 0.95,
  searchCaseMs: 20,
  searchOfficerMs: 50,
  concurrencyVsBottleneck: 0.8,
  dockVsMaxTool: 1.15,
  /** Archive server (the API issue): search p95 at this many concurrent clients, proxy range TTFB p95, document upload vs mc cp. */
  apiSearchMs: 50,
  apiSearchClients: 16,
  proxyTtfbMs: 50,
  uploadVsMc: 0.9,
  /** Scheduled fixity (the preservation issue): an unthrottled cycle's read vs mc cat of the same objects. */
  fixityVsMcCat: 0.9,
  /** Case export (the preservation issue): the BagIt bag of a case's originals vs mc cp of the same objects to a folder. */
  exportVsMcCp: 0.9,
  /** The web interface (its issue): the first page's compressed JavaScript, the search page's first result list, play to first frame. */
  webJsKiB: 250,
  webSearchMs: 1000,
  webFirstFrameMs: 500,
};
const SECTIONS = ['acquire', 'throttle', 'bus', 'store', 'e2e', 'fixity', 'export', 'reindex', 'ledger', 'concurrency', 'dock', 'search', 'api', 'web', 'transcode', 'faces', 'memory'] as const;
type Section = (typeof SECTIONS)[number];

// ---- options -----------------------------------------------------------------------------

interface Options {
  runs: number;
  files: number;
  sizeMiB: number;
  bigMiB: number;
  transcodeSeconds: number;
  /** The first is the issue's USB 2.0 rate; the others are reported beside it. */
  throttleMBps: number[];
  busMBps: number[];
  searchRows: number;
  reindexItems: number;
  ledgerWriters: number[];
  ledgerAppends: number;
  ledgerConnections: number;
  ledgerEvents: number;
  ledgerMirrorSample: number;
  searchQueries: number;
  apiClients: number[];
  uploadMiB: number;
  recorders: number;
  dockFiles: number;
  dockMiB: number;
  sections: Set<Section>;
  out: string | null;
  fresh: boolean;
  keep: boolean;
  argv: string[];
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: 'string', default: '3' },
      files: { type: 'string', default: '8' },
      'size-mb': { type: 'string', default: '128' },
      'big-mb': { type: 'string', default: '4096' },
      'transcode-seconds': { type: 'string', default: '30' },
      'throttle-mbps': { type: 'string', default: '40' },
      'bus-mbps': { type: 'string', default: '40,400' },
      'search-rows': { type: 'string', default: '1000000' },
      'reindex-items': { type: 'string', default: '100000' },
      'ledger-writers': { type: 'string', default: '1,8,32,128' },
      'ledger-appends': { type: 'string', default: '2000' },
      'ledger-connections': { type: 'string', default: '32' },
      'ledger-events': { type: 'string', default: '1000000' },
      'ledger-mirror-sample': { type: 'string', default: '20000' },
      'search-queries': { type: 'string', default: '200' },
      'api-clients': { type: 'string', default: '1,16,64' },
      'upload-mb': { type: 'string', default: '256' },
      recorders: { type: 'string', default: '8' },
      'dock-files': { type: 'string', default: '8' },
      'dock-mb': { type: 'string', default: '512' },
      'skip-4g': { type: 'boolean', default: false },
      only: { type: 'string' },
      out: { type: 'string' },
      fresh: { type: 'boolean', default: false },
      'no-doc': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    const header = readFileSync(new URL(import.meta.url), 'utf8').split('*/')[0] ?? '';
    process.stdout.write(`${header.replace(/^\/\*\*\n?/, '').replace(/^ \* ?/gm, '')}\n`);
    process.exit(0);
  }
  const int = (name: string, value: string | undefined, min: number): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got ${value}`);
    return n;
  };
  let sections = new Set<Section>(SECTIONS);
  if (values.only) {
    const asked = values.only.split(',').map((s) => s.trim());
    for (const s of asked) if (!(SECTIONS as readonly string[]).includes(s)) throw new Error(`--only: unknown section ${s} (${SECTIONS.join(', ')})`);
    sections = new Set(asked as Section[]);
  }
  if (values['skip-4g']) sections.delete('memory');
  const defaultOut = values.only ? null : 'docs/benchmarks.md';
  return {
    runs: int('runs', values.runs, 1),
    files: int('files', values.files, 1),
    sizeMiB: int('size-mb', values['size-mb'], 1),
    bigMiB: int('big-mb', values['big-mb'], 1),
    transcodeSeconds: int('transcode-seconds', values['transcode-seconds'], 2),
    throttleMBps: (values['throttle-mbps'] ?? '').split(',').map((v) => int('throttle-mbps', v, 1)),
    busMBps: (values['bus-mbps'] ?? '').split(',').map((v) => int('bus-mbps', v, 1)),
    searchRows: int('search-rows', values['search-rows'], 1000),
    reindexItems: int('reindex-items', values['reindex-items'], 100),
    ledgerWriters: (values['ledger-writers'] ?? '').split(',').map((v) => int('ledger-writers', v, 1)),
    ledgerAppends: int('ledger-appends', values['ledger-appends'], 1),
    ledgerConnections: int('ledger-connections', values['ledger-connections'], 1),
    ledgerEvents: int('ledger-events', values['ledger-events'], 1000),
    ledgerMirrorSample: int('ledger-mirror-sample', values['ledger-mirror-sample'], 100),
    searchQueries: int('search-queries', values['search-queries'], 20),
    apiClients: (values['api-clients'] ?? '').split(',').map((v) => int('api-clients', v, 1)),
    uploadMiB: int('upload-mb', values['upload-mb'], 1),
    recorders: int('recorders', values.recorders, 1),
    dockFiles: int('dock-files', values['dock-files'], 1),
    dockMiB: int('dock-mb', values['dock-mb'], 1),
    sections,
    out: values['no-doc'] ? null : values.out ? resolve(REPO_ROOT, values.out) : defaultOut ? resolve(REPO_ROOT, defaultOut) : null,
    fresh: values.fresh,
    keep: values.keep,
    argv,
  };
}

// ---- small helpers ---------------------------------------------------------------------

const log = (text: string) => process.stderr.write(`bench: ${text}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const mibps = (bytes: number, seconds: number) => bytes / MiB / seconds;
const fmtS = (s: number) => `${s.toFixed(2)} s`;
const fmtRate = (r: number) => `${r.toFixed(0)} MiB/s`;
const fmtMiB = (b: number) => `${(b / MiB).toFixed(1)} MiB`;

interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; throws with its stderr when it fails (unless allowFailure). */
function run(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; allowFailure?: boolean; cwd?: string } = {}): Promise<CommandResult> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd ?? REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0 && !options.allowFailure) reject(new Error(`${command} ${args.join(' ')} exited ${code}\n${stderr.slice(-2000)}`));
      else resolveRun({ code, stdout, stderr });
    });
  });
}

function firstLine(command: string, args: string[]): string {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 20_000 });
  return (r.stdout || r.stderr || '').split('\n')[0]?.trim() || 'unknown';
}

/** I/O counters of this process; the kernel adds those of reaped children (cp, sha256sum, mc). */
function procIo(): { rchar: number; readBytes: number } {
  const fields = Object.fromEntries(
    readFileSync('/proc/self/io', 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(': ') as [string, string])
      .map(([k, v]) => [k, Number(v)]),
  );
  return { rchar: fields.rchar ?? 0, readBytes: fields.read_bytes ?? 0 };
}

const CLK_TCK = Number(firstLine('getconf', ['CLK_TCK'])) || 100;

/** CPU seconds (user + system) of a process, with its reaped children. */
function cpuSeconds(pid: number | 'self'): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    // utime, stime, cutime, cstime are fields 14..17 of stat(5); f[0] is field 3.
    return ((f[11] ?? 0) + (f[12] ?? 0) + (f[13] ?? 0) + (f[14] ?? 0)) / CLK_TCK;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds all processes of the machine spent busy (not idle or waiting for I/O), from /proc/stat. */
function machineBusySeconds(): number {
  const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  return ((f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0)) / CLK_TCK;
}

function procStatus(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const m = /^(Vm\w+|Rss\w+):\s+(\d+) kB/.exec(line);
    if (m) out[m[1]!] = Number(m[2]) * 1024;
  }
  return out;
}

/** Pids of every live descendant of a process (children listed per thread in /proc). */
function descendants(pid: number): number[] {
  const found: number[] = [];
  const pending = [pid];
  while (pending.length > 0) {
    const p = pending.pop()!;
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const task of tasks) {
      try {
        for (const c of readFileSync(`/proc/${p}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) {
          found.push(Number(c));
          pending.push(Number(c));
        }
      } catch {
        // the task ended meanwhile
      }
    }
  }
  return found;
}

// ---- page cache ----------------------------------------------------------------------------

class CacheControl {
  readonly canDrop: boolean;

  constructor() {
    this.canDrop = CacheControl.drop();
  }

  private static drop(): boolean {
    spawnSync('sync');
    try {
      writeFileSync('/proc/sys/vm/drop_caches', '3');
      return true;
    } catch {
      return false;
    }
  }

  describe(): string {
    return this.canDrop
      ? 'cold: `sync` and `echo 3 > /proc/sys/vm/drop_caches` before every timed side'
      : 'warm: the page cache could not be dropped (not permitted), so every side read its source once right before it was timed';
  }

  /** Before a timed side: flush dirty pages, then drop the cache, or else warm the sources. */
  async prepare(sources: readonly string[]): Promise<void> {
    await run('sync', []);
    if (this.canDrop) {
      writeFileSync('/proc/sys/vm/drop_caches', '3');
      return;
    }
    await run('cat', [...sources]).catch(async () => {
      for (const s of sources) await run('sh', ['-c', 'cat "$1" > /dev/null', 'sh', s]);
    });
  }
}

// ---- data ----------------------------------------------------------------------------------

/** Pseudo-random, incompressible bytes (AES-256-CTR keystream with a random key). */
async function writeRandomFile(path: string, bytes: number): Promise<void> {
  const cipher = createCipheriv('aes-256-ctr', randomBytes(32), randomBytes(16));
  const zeros = Buffer.alloc(8 * MiB);
  const handle = await open(path, 'w');
  try {
    for (let written = 0; written < bytes; ) {
      const n = Math.min(zeros.length, bytes - written);
      const chunk = cipher.update(zeros.subarray(0, n));
      await handle.write(chunk, 0, chunk.length);
      written += n;
    }
  } finally {
    await handle.close();
  }
}

function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return Number(s.bavail) * Number(s.bsize);
}

// ---- measurements --------------------------------------------------------------------------

interface Sample {
  seconds: number;
  /** CPU seconds of this process and the children it reaped during the side. */
  cpu: number;
  /** CPU seconds of the MinIO server during the side, when known. */
  serverCpu?: number;
  /** CPU seconds of every other process on the machine during the side (other sessions, PostgreSQL, Redis...). */
  otherCpu?: number;
  /** 1-minute load average when the side started. */
  load?: number;
  rchar?: number;
  readBytes?: number;
}

interface Side {
  label: string;
  bytes: number;
  /** Seconds of media the side transcodes: its figures are then multiples of real time, not MiB/s. */
  mediaSeconds?: number;
  samples: Sample[];
}

interface Row {
  what: string;
  evidock: string;
  baseline: string;
  ratio: string;
  target: string;
  met: boolean | null;
  explain: string;
}

/** What a bench function measured. */
interface SectionBody {
  title: string;
  rows: Row[];
  sides: Side[];
  notes: string[];
}

/** A section of the report: measured by this run, or kept from the report it replaces. */
interface SectionResult extends SectionBody {
  key: Section;
  /** When the section was measured (ISO time) and by which command. */
  ranAt: string;
  command: string;
  /** Kept from the existing report: this run did not measure it. */
  carried: boolean;
}

function newSide(label: string, bytes: number, mediaSeconds?: number): Side {
  return mediaSeconds === undefined ? { label, bytes, samples: [] } : { label, bytes, mediaSeconds, samples: [] };
}

const medianSeconds = (side: Side) => median(side.samples.map((s) => s.seconds));
const medianRate = (side: Side) => mibps(side.bytes, medianSeconds(side));
const realtime = (mediaSeconds: number, seconds: number) => `${(mediaSeconds / seconds).toFixed(2)}× real time`;
const sideFigure = (side: Side) =>
  side.mediaSeconds === undefined ? `${fmtS(medianSeconds(side))} · ${fmtRate(medianRate(side))}` : `${fmtS(medianSeconds(side))} · ${realtime(side.mediaSeconds, medianSeconds(side))}`;

/** Times one side: CPU and I/O counters around `work`, MinIO's CPU if its pid is known. */
async function timed(side: Side, minioPid: number | null, work: () => Promise<void>): Promise<Sample> {
  const io0 = procIo();
  const cpu0 = cpuSeconds('self');
  const server0 = minioPid ? cpuSeconds(minioPid) : Number.NaN;
  const busy0 = machineBusySeconds();
  const load = os.loadavg()[0] ?? 0;
  const t0 = performance.now();
  await work();
  const seconds = (performance.now() - t0) / 1000;
  const busy = machineBusySeconds() - busy0;
  const io1 = procIo();
  const sample: Sample = {
    seconds,
    cpu: cpuSeconds('self') - cpu0,
    load,
    rchar: io1.rchar - io0.rchar,
    readBytes: io1.readBytes - io0.readBytes,
  };
  if (minioPid) sample.serverCpu = cpuSeconds(minioPid) - server0;
  sample.otherCpu = Math.max(0, busy - sample.cpu - (sample.serverCpu ?? 0));
  side.samples.push(sample);
  return sample;
}

function timeRatioRow(what: string, subject: Side, baseline: Side, target: number | null, explain: string): Row {
  const ratio = medianSeconds(subject) / medianSeconds(baseline);
  return {
    what,
    evidock: sideFigure(subject),
    baseline: `${baseline.label}: ${sideFigure(baseline)}`,
    ratio: `${ratio.toFixed(2)}× time`,
    target: target === null ? '—' : `≤ ${target.toFixed(2)}× time`,
    met: target === null ? null : ratio <= target,
    explain,
  };
}

function rateRatioRow(what: string, subject: Side, baseline: Side, target: number | null, explain: string): Row {
  const ratio = medianRate(subject) / medianRate(baseline);
  return {
    what,
    evidock: sideFigure(subject),
    baseline: `${baseline.label}: ${sideFigure(baseline)}`,
    ratio: `${ratio.toFixed(2)}× throughput`,
    target: target === null ? '—' : `≥ ${target.toFixed(2)}× throughput`,
    met: target === null ? null : ratio >= target,
    explain,
  };
}

/** Side order rotated per run, so no side always runs first (or last). */
function rotated<T>(items: readonly T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** How busy the rest of the machine was while the sides of a section ran (average CPUs in use). */
function contention(result: SectionBody): string | null {
  const samples = result.sides.flatMap((side) => side.samples).filter((x) => x.otherCpu !== undefined && x.seconds > 0);
  if (samples.length === 0) return null;
  const cpus = samples.map((x) => x.otherCpu! / x.seconds);
  const loads = samples.map((x) => x.load ?? Number.NaN).filter((l) => !Number.isNaN(l));
  return (
    `other processes kept ${median(cpus).toFixed(2)} CPUs busy on average during a side (median; max ${Math.max(...cpus).toFixed(2)}) of ${os.availableParallelism()}` +
    (loads.length ? `; 1-min load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} at the start of the sides` : '')
  );
}

// ---- context -------------------------------------------------------------------------------

interface Context {
  options: Options;
  cache: CacheControl;
  base: EvidockConfig;
  dataDir: string;
  names: string[];
  sources: string[];
  totalBytes: number;
  mc: Mc;
  minioPid: number | null;
  cleanups: Array<() => Promise<void>>;
  medians: Partial<Record<'cp' | 'mc', number>>;
}

class Mc {
  readonly alias = 'bench';
  readonly configDir = join(BENCH_DIR, 'mc');

  constructor(readonly bin: string) {}

  static find(): Mc {
    const cache = process.env.EVIDOCK_TOOLS_CACHE ?? join(os.homedir(), '.cache', 'evidock');
    const candidates = [join(cache, 'bin', 'mc'), '/root/.cache/evidock-tools/mc-bin/mc'];
    const bin = candidates.find((c) => existsSync(c));
    if (!bin) throw new Error(`no mc binary (looked at ${candidates.join(', ')}); run \`bash scripts/stack.sh up\` once to build it`);
    return new Mc(bin);
  }

  env(): NodeJS.ProcessEnv {
    return { ...process.env, MC_CONFIG_DIR: this.configDir, MC_NO_COLOR: '1' };
  }

  async exec(args: string[], allowFailure = false): Promise<CommandResult> {
    return run(this.bin, ['--no-color', ...args], { env: this.env(), allowFailure });
  }

  async setAlias(config: EvidockConfig['minio']): Promise<void> {
    mkdirSync(this.configDir, { recursive: true, mode: 0o700 });
    const url = `${config.useSSL ? 'https' : 'http'}://${config.endPoint}:${config.port}`;
    await this.exec(['alias', 'set', this.alias, url, config.accessKey, config.secretKey]);
  }

  /** Empties and removes buckets, bypassing GOVERNANCE retention (never COMPLIANCE). */
  async removeBuckets(buckets: readonly string[]): Promise<void> {
    for (const b of buckets) {
      const target = `${this.alias}/${b}`;
      const exists = await this.exec(['stat', target], true);
      if (exists.code !== 0) continue;
      await this.exec(['rm', '--recursive', '--versions', '--force', '--bypass', target], true);
      const rb = await this.exec(['rb', '--force', target], true);
      if (rb.code !== 0) log(`could not remove bucket ${b}: ${rb.stderr.trim() || rb.stdout.trim()}`);
    }
  }
}

/** Whether the MinIO server keeps its data on the same file system as var/bench (null: unknown). */
function minioOnBenchDisk(pid: number | null): boolean | null {
  if (!pid) return null;
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const data = args[args.indexOf('server') + 1];
    if (!data || data.startsWith('-')) return null;
    return statSync(data).dev === statSync(BENCH_DIR).dev;
  } catch {
    return null;
  }
}

function minioServerPid(port: number): number | null {
  const r = spawnSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' });
  const m = /pid=(\d+)/.exec(r.stdout ?? '');
  return m ? Number(m[1]) : null;
}

async function dropRedisPrefix(config: EvidockConfig, prefix: string): Promise<void> {
  const redis = new Redis({ host: config.redis.host, port: config.redis.port, db: config.redis.db, password: config.redis.password, lazyConnect: true, maxRetriesPerRequest: 2 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** An isolated evidock (createTestEnv) whose buckets can be removed after the run. */
async function benchEnv(ctx: Context, label: string, overrides: Record<string, unknown> = {}): Promise<{ env: TestEnv; dispose: () => Promise<void> }> {
  const env = await createTestEnv(label, { retention: { mode: 'GOVERNANCE', days: 1 }, logLevel: 'error', ...overrides });
  let disposed = false;
  const dispose = async () => {
    if (disposed) return;
    disposed = true;
    await env.cleanup().catch((e: Error) => log(`cleanup of ${env.name}: ${e.message}`));
    const m = env.config.minio;
    await ctx.mc.removeBuckets([m.originalsBucket, m.ledgerBucket, m.derivativesBucket]);
    await dropRedisPrefix(env.config, env.config.redis.prefix).catch((e: Error) => log(`redis cleanup: ${e.message}`));
  };
  ctx.cleanups.push(dispose);
  return { env, dispose };
}

// ---- 1. acquire vs cp ----------------------------------------------------------------------

async function benchAcquire(ctx: Context): Promise<SectionBody> {
  const { options, names, sources, totalBytes } = ctx;
  const dest = join(BENCH_DIR, 'spool');
  const destFiles = names.map((n) => join(dest, n));
  const resetDest = () => {
    rmSync(dest, { recursive: true, force: true });
    mkdirSync(dest, { recursive: true });
  };
  const sha = newSide('evidock sha256', totalBytes);
  const shaSm3 = newSide('evidock sha256+sm3', totalBytes);
  const cp = newSide('cp', totalBytes);
  const cpSync = newSide('cp + sync', totalBytes);
  const cpSum = newSide('cp + sha256sum', totalBytes);
  const cat = newSide('cat > /dev/null', totalBytes);
  const digests = new Map<string, string>();
  let fromSource = 0;

  // As many files at once as the pipeline acquires from one recorder (ingest.maxConcurrentAcquisitions).
  const ingestConfig = loadConfig({ overrides: { dataDir: join(BENCH_DIR, 'data-dir') } }).ingest;
  const pipelineAcquisitions = ingestConfig.maxConcurrentAcquisitions;
  const shaPipeline = newSide(`evidock sha256, ${pipelineAcquisitions} at once`, totalBytes);
  const shaSm3Pipeline = newSide(`evidock sha256+sm3, ${pipelineAcquisitions} at once`, totalBytes);
  const evidockCopy = (algorithms: readonly HashAlgorithm[], atOnce = 1) => async () => {
    const volume = await openDirectoryVolume(ctx.dataDir, { serial: 'BENCH' });
    if (!volume) throw new Error(`cannot open ${ctx.dataDir} as a volume`);
    fromSource = 0;
    const queue = [...names];
    const copier = async () => {
      for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
        // What the pipeline does (IngestService.acquireReserved): the file handle, for the copy thread.
        const source = await volume.openFile(Buffer.from(name));
        const result = await copyWithDigests({
          source,
          spoolPath: join(dest, name),
          resumeFrom: 0,
          algorithms,
          ...checkpointsOf(ingestConfig),
          onCheckpoint: async () => undefined,
          onProgress: () => undefined,
        });
        fromSource += result.bytesFromSource;
        if (result.digests.sha256) digests.set(name, result.digests.sha256);
      }
    };
    await Promise.all(Array.from({ length: atOnce }, copier));
  };
  const sides: Array<{ side: Side; work: () => Promise<void> }> = [
    { side: sha, work: evidockCopy(['sha256']) },
    { side: shaPipeline, work: evidockCopy(['sha256'], pipelineAcquisitions) },
    { side: shaSm3, work: evidockCopy(['sha256', 'sm3']) },
    { side: shaSm3Pipeline, work: evidockCopy(['sha256', 'sm3'], pipelineAcquisitions) },
    { side: cp, work: async () => void (await run('cp', [...sources, dest])) },
    { side: cat, work: async () => void (await run('sh', ['-c', 'cat "$@" > /dev/null', 'sh', ...sources])) },
    {
      side: cpSync,
      work: async () => {
        await run('cp', [...sources, dest]);
        await run('sync', destFiles);
      },
    },
    {
      side: cpSum,
      work: async () => {
        await run('cp', [...sources, dest]);
        const out = await run('sha256sum', destFiles);
        for (const line of out.stdout.trim().split('\n')) {
          const [hex, path] = line.split(/\s+\*?/, 2);
          const name = relative(dest, path ?? '');
          const ours = digests.get(name);
          if (ours && ours !== hex) throw new Error(`sha256sum and copyWithDigests disagree on ${name}: ${hex} vs ${ours}`);
        }
      },
    },
  ];

  const bytesFromSource: number[] = [];
  for (let i = 0; i < options.runs; i++) {
    for (const { side, work } of rotated(sides, i)) {
      resetDest();
      await ctx.cache.prepare(sources);
      const s = await timed(side, null, work);
      if (side === sha || side === shaPipeline || side === shaSm3 || side === shaSm3Pipeline) bytesFromSource.push(fromSource);
      log(`acquire run ${i + 1}/${options.runs}: ${side.label.padEnd(20)} ${fmtS(s.seconds)}  ${fmtRate(mibps(side.bytes, s.seconds))}  cpu ${s.cpu.toFixed(2)} s`);
    }
  }
  resetDest();
  rmSync(dest, { recursive: true, force: true });
  ctx.medians.cp = medianSeconds(cp);

  const readOnce = (side: Side) => {
    const r = median(side.samples.map((s) => s.rchar ?? 0));
    return `${(r / totalBytes).toFixed(2)}×`;
  };
  const notes = [
    `Bytes read per byte of data (rchar from /proc/self/io, which includes reaped children): evidock sha256 ${readOnce(sha)}, ${pipelineAcquisitions} at once ${readOnce(shaPipeline)}, sha256+sm3 ${readOnce(shaSm3)}, sha256+sm3 ${pipelineAcquisitions} at once ${readOnce(shaSm3Pipeline)}, cp ${readOnce(cp)}, cp + sha256sum ${readOnce(cpSum)}. ` +
      `copyWithDigests reported ${bytesFromSource.every((b) => b === totalBytes) ? 'exactly' : 'NOT exactly'} ${totalBytes} bytes from the source in every run.`,
    `Disk reads (read_bytes) per byte of data, median: evidock sha256 ${(median(sha.samples.map((s) => s.readBytes ?? 0)) / totalBytes).toFixed(2)}×, cp + sha256sum ${(median(cpSum.samples.map((s) => s.readBytes ?? 0)) / totalBytes).toFixed(2)}× (sha256sum reads the copies back from the page cache).`,
    `CPU seconds per side (median): ${[sha, shaPipeline, shaSm3, shaSm3Pipeline, cp, cpSync, cpSum, cat].map((s) => `${s.label} ${median(s.samples.map((x) => x.cpu)).toFixed(2)}`).join(', ')}.`,
    `copyWithDigests checkpoints as the pipeline does (ingest.checkpointSeconds ${ingestConfig.checkpointSeconds}): an fsync of the spool in the background at most every ${ingestConfig.checkpointSeconds} s and none at the end, because the recorder keeps every recording until its stored copy is verified and the spool only spares reading it again; plain cp leaves its writes in the page cache (GNU cp 9 copies in the kernel with copy_file_range, the bytes never reach user space), \`cp + sync\` fsyncs the copies at the end.`,
    `Raw sequential read of the same files (cat > /dev/null, cold): ${sideFigure(cat)}; evidock sha256 takes ${(medianSeconds(sha) / medianSeconds(cat)).toFixed(2)}× that time, sha256+sm3 ${(medianSeconds(shaSm3) / medianSeconds(cat)).toFixed(2)}×. The copy thread (workers/copy.thread.js) reads and writes 256 KiB blocks in a ring in shared memory (workers/block-ring.channel.js) while digest threads (workers/digest.thread.js) hash the same blocks beside it, SM3 always and SHA-256 when the copy is the only one running, so a file takes about the longer of the copy and its slowest digest: SHA-256 runs at ≈ 1.7 GB/s on one core here, SM3 at ≈ 150–400 MB/s (the host’s speed varies between runs) and is the limit of its side.`,
    `Files are copied one after the other on both sides (and ${pipelineAcquisitions} at once on the "${shaPipeline.label}" side, as the pipeline acquires a recorder's files with the default ingest.maxConcurrentAcquisitions), from the bench "recorder" directory to a spool directory on the same disk; the source is opened through DirectoryVolume.openFile, as the pipeline does.`,
  ];
  const what = `${options.files} × ${options.sizeMiB} MiB`;
  return {
    title: 'Acquire',
    sides: [sha, shaPipeline, shaSm3, cp, cpSync, cpSum, cat],
    notes,
    rows: [
      timeRatioRow(`Acquire ${what}, sha256 vs cp`, sha, cp, TARGETS.acquireVsCp, 'copyWithDigests from the recording file handle (one read of each block: the copy thread writes it while, the copy being alone, a digest thread hashes it with SHA-256; checkpoints as the pipeline makes them) vs a plain `cp` of the same files between the same two directories.'),
      timeRatioRow(
        `Acquire ${what}, sha256, ${pipelineAcquisitions} files at once vs cp`,
        shaPipeline,
        cp,
        TARGETS.acquireVsCp,
        `The same copy with ${pipelineAcquisitions} files in flight, as the pipeline acquires a recorder (ingest.maxConcurrentAcquisitions, default ${pipelineAcquisitions}; each file has its own copy thread, which hashes SHA-256 itself while the other copy runs), vs the one plain \`cp\` of all the files.`,
      ),
      timeRatioRow(`Acquire ${what}, sha256 vs cp + sha256sum`, sha, cpSum, TARGETS.acquireVsCpSha, 'The same copy vs the two-pass habit: `cp`, then `sha256sum` of the copies.'),
      timeRatioRow(`Acquire ${what}, sha256 vs cp + sync`, sha, cpSync, null, 'Durability on equal terms: `cp` followed by `sync` of the copied files.'),
      timeRatioRow(`Acquire ${what}, sha256 vs raw sequential read`, sha, cat, null, 'evidock\'s overhead over reading the recorder once and doing nothing else (`cat` of the files to /dev/null).'),
      // The issue asks for the SM3 ratios to be reported separately; the targets are for SHA-256.
      timeRatioRow(`Acquire ${what}, sha256+sm3 vs cp`, shaSm3, cp, null, 'copyWithDigests with ingest.hashes = [sha256, sm3] vs plain `cp`, reported separately (the targets are for SHA-256).'),
      timeRatioRow(
        `Acquire ${what}, sha256+sm3, ${pipelineAcquisitions} files at once vs cp`,
        shaSm3Pipeline,
        cp,
        null,
        `The same with ${pipelineAcquisitions} files in flight, as the pipeline acquires a recorder: each file's SM3 runs on a thread of its own, so the two cores share the SM3 of two files.`,
      ),
      timeRatioRow(`Acquire ${what}, sha256+sm3 vs cp + sha256sum`, shaSm3, cpSum, null, 'SHA-256 and SM3 in the one pass vs `cp` then `sha256sum` (which gives SHA-256 only).'),
    ],
  };
}

// ---- 2. store vs mc cp ---------------------------------------------------------------------

async function benchStore(ctx: Context): Promise<SectionBody> {
  const { options, names, sources, totalBytes } = ctx;
  const tag = randomBytes(3).toString('hex');
  // Like createTestEnv: the environment may move the stack (EVIDOCK__minio__port, set by scripts/run.sh).
  const config = loadConfig({
    overrides: {
      dataDir: join(BENCH_DIR, 'data-dir'),
      retention: { mode: 'GOVERNANCE', days: 1 },
      minio: { originalsBucket: `bench-${tag}-orig`, ledgerBucket: `bench-${tag}-ledger`, derivativesBucket: `bench-${tag}-deriv` },
    },
  });
  const plainBucket = `bench-${tag}-mc`;
  const buckets = [config.minio.originalsBucket, config.minio.ledgerBucket, config.minio.derivativesBucket, plainBucket];
  ctx.cleanups.push(() => ctx.mc.removeBuckets(buckets));
  const store = new MinioObjectStore(config.minio, config.retention);
  ctx.cleanups.push(async () => store.close());
  await store.ensureBuckets();
  await ctx.mc.exec(['mb', `${ctx.mc.alias}/${plainBucket}`]);
  const concurrency = config.ingest.storeConcurrency;

  const put = (parallel: number, prefix: string) => async () => {
    const queue = names.map((n, i) => ({ name: n, path: sources[i]! }));
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const receipt = await store.putFile('originals', `${prefix}/${next.name}`, next.path, statSync(next.path).size, { bench: 'yes' });
        if (receipt.reported !== receipt.expected) throw new Error(`${receipt.proof} mismatch on ${next.name}: ${receipt.reported} vs ${receipt.expected}`);
      }
    };
    await Promise.all(Array.from({ length: parallel }, worker));
  };
  const putC = newSide(`putFile ×${concurrency}`, totalBytes);
  const put1 = newSide('putFile ×1', totalBytes);
  const mc = newSide('mc cp', totalBytes);
  const sides: Array<{ side: Side; work: (run: number) => Promise<void>; clean: (run: number) => Promise<void> }> = [
    {
      side: putC,
      work: (r) => put(concurrency, `bench/r${r}/c`)(),
      clean: async (r) => void (await ctx.mc.exec(['rm', '--recursive', '--versions', '--force', '--bypass', `${ctx.mc.alias}/${config.minio.originalsBucket}/bench/r${r}/c/`], true)),
    },
    {
      side: put1,
      work: (r) => put(1, `bench/r${r}/s`)(),
      clean: async (r) => void (await ctx.mc.exec(['rm', '--recursive', '--versions', '--force', '--bypass', `${ctx.mc.alias}/${config.minio.originalsBucket}/bench/r${r}/s/`], true)),
    },
    {
      side: mc,
      work: async (r) => void (await ctx.mc.exec(['cp', '--recursive', '--quiet', `${ctx.dataDir}/`, `${ctx.mc.alias}/${plainBucket}/r${r}/`])),
      clean: async (r) => void (await ctx.mc.exec(['rm', '--recursive', '--force', `${ctx.mc.alias}/${plainBucket}/r${r}/`], true)),
    },
  ];
  for (let i = 0; i < options.runs; i++) {
    for (const { side, work, clean } of rotated(sides, i)) {
      await ctx.cache.prepare(sources);
      const s = await timed(side, ctx.minioPid, () => work(i));
      log(
        `store run ${i + 1}/${options.runs}: ${side.label.padEnd(12)} ${fmtS(s.seconds)}  ${fmtRate(mibps(side.bytes, s.seconds))}  cpu ${s.cpu.toFixed(2)} s  minio cpu ${s.serverCpu?.toFixed(2) ?? '?'} s`,
      );
      await clean(i);
    }
  }
  ctx.medians.mc = medianSeconds(mc);
  const cpu = (side: Side) =>
    `${side.label} client ${median(side.samples.map((s) => s.cpu)).toFixed(2)} s, MinIO ${side.samples[0]?.serverCpu === undefined ? '?' : median(side.samples.map((s) => s.serverCpu ?? 0)).toFixed(2)} s`;
  const what = `${options.files} × ${options.sizeMiB} MiB`;
  return {
    title: 'Store',
    sides: [putC, put1, mc],
    notes: [
      `putFile went to a write-once bucket (object lock, versioning, default retention GOVERNANCE 1 day); mc cp to a plain bucket on the same MinIO. Part size ${config.minio.partSizeMiB} MiB (minio.partSizeMiB); upload checksum ${config.minio.uploadChecksum} (minio.uploadChecksum); every putFile receipt had the server report the ${config.minio.uploadChecksum === 'crc32' ? 'checksum' : 'ETag'} of the bytes sent.`,
      `putFile ×${concurrency} uploads ${concurrency} files at a time, as the store workers do (ingest.storeConcurrency); mc cp --recursive uses its own defaults (parallel files and parts).`,
      `CPU seconds per side (median): ${[putC, put1, mc].map(cpu).join('; ')}.`,
    ],
    rows: [
      rateRatioRow(`Store ${what}, putFile ×${concurrency} vs mc cp`, putC, mc, TARGETS.storeVsMc, `MinioObjectStore.putFile (exact parts; SHA-256 of the file and ${config.minio.uploadChecksum === 'crc32' ? 'a CRC32 checksum per part, checked by the server' : 'a Content-MD5 per part (the expected ETag)'} computed while sending), ${concurrency} files at a time, vs \`mc cp --recursive\` of the same files.`),
      rateRatioRow(`Store ${what}, putFile ×1 vs mc cp`, put1, mc, null, 'The same putFile, one file at a time.'),
    ],
  };
}

// ---- 3. end to end -------------------------------------------------------------------------

async function benchEndToEnd(ctx: Context): Promise<SectionBody> {
  const { options, names, sources, totalBytes } = ctx;
  const side = newSide('importFolder', totalBytes);
  for (let i = 0; i < options.runs; i++) {
    const { env, dispose } = await benchEnv(ctx, 'benche2e');
    const recorder = join(BENCH_DIR, `e2e-recorder-${i}`);
    mkdirSync(recorder, { recursive: true });
    ctx.cleanups.push(async () => rmSync(recorder, { recursive: true, force: true }));
    await run('cp', [...sources, recorder]);
    const rt = await env.runtime();
    await ctx.cache.prepare(names.map((n) => join(recorder, n)));
    let files: Awaited<ReturnType<typeof importFolder>>['files'] = [];
    const s = await timed(side, ctx.minioPid, async () => {
      ({ files } = await importFolder(rt, recorder, { serial: `BENCH-E2E-${i}`, json: true }));
    });
    const notCleared = files.filter((f) => f.stage !== 'cleared');
    if (files.length !== names.length || notCleared.length > 0) {
      throw new Error(`e2e run ${i + 1}: ${files.length} files, not cleared: ${notCleared.map((f) => `${f.displayPath}=${f.stage}${f.error ? ` (${f.error})` : ''}`).join(', ')}`);
    }
    log(`e2e run ${i + 1}/${options.runs}: ${fmtS(s.seconds)}  ${fmtRate(mibps(totalBytes, s.seconds))}  cpu ${s.cpu.toFixed(2)} s  minio cpu ${s.serverCpu?.toFixed(2) ?? '?'} s`);
    rt.objects.close();
    await dispose();
    rmSync(recorder, { recursive: true, force: true });
  }
  const base = newSide('cp then mc cp (sum of medians)', totalBytes);
  const rows: Row[] = [];
  const what = `${options.files} × ${options.sizeMiB} MiB`;
  if (ctx.medians.cp !== undefined && ctx.medians.mc !== undefined) {
    base.samples.push({ seconds: ctx.medians.cp + ctx.medians.mc, cpu: Number.NaN });
    rows.push(
      timeRatioRow(
        `End to end ${what}, importFolder`,
        side,
        base,
        null,
        'A folder docked as a recorder through the whole pipeline (acquire, store + verify, catalog + signed ledger, clear), in-process workers, vs the manual equivalent (copy off with cp, upload with mc cp; sum of the medians above).',
      ),
    );
  } else {
    rows.push({
      what: `End to end ${what}, importFolder`,
      evidock: sideFigure(side),
      baseline: '—',
      ratio: '—',
      target: '—',
      met: null,
      explain: 'A folder docked as a recorder through the whole pipeline (acquire, store + verify, catalog + signed ledger, clear), in-process workers.',
    });
  }
  const cfg = ctx.base.ingest;
  return {
    title: 'End to end',
    sides: [side],
    rows,
    notes: [
      `Pipeline settings: maxConcurrentAcquisitions ${cfg.maxConcurrentAcquisitions}, storeConcurrency ${cfg.storeConcurrency}, hashes ${cfg.hashes.join('+')}, clearAfterVerified on. Each run used a fresh isolated database, buckets and Redis prefix; the recorder folder was a fresh copy of the data.`,
      `CPU seconds (median): evidock process ${median(side.samples.map((s) => s.cpu)).toFixed(2)} s, MinIO ${median(side.samples.map((s) => s.serverCpu ?? Number.NaN)).toFixed(2)} s (PostgreSQL and Redis not counted).`,
    ],
  };
}

// ---- fixity vs mc cat ---------------------------------------------------------------------

/** `mc cat` of objects into /dev/null: a plain read of them, one after another. */
async function mcCat(mc: Mc, targets: readonly string[]): Promise<void> {
  const sink = openSync('/dev/null', 'w');
  try {
    await new Promise<void>((done, fail) => {
      const child = spawn(mc.bin, ['--no-color', 'cat', ...targets], { env: mc.env(), stdio: ['ignore', sink, 'pipe'] });
      let stderr = '';
      child.stderr?.on('data', (d) => (stderr += String(d)));
      child.on('error', fail);
      child.on('close', (code) => (code === 0 ? done() : fail(new Error(`mc cat exited ${code}: ${stderr.slice(-1000)}`))));
    });
  } finally {
    closeSync(sink);
  }
}

async function benchFixity(ctx: Context): Promise<SectionBody> {
  const { options, names, sources, totalBytes } = ctx;
  // No job scheduler: the bench runs the tick handler itself, one whole cycle a run.
  const { env, dispose } = await benchEnv(ctx, 'benchfixity', { fixity: { enabled: false, bytesPerSecond: 0, cycleDays: 1 } });
  const recorder = join(BENCH_DIR, 'fixity-recorder');
  mkdirSync(recorder, { recursive: true });
  ctx.cleanups.push(async () => rmSync(recorder, { recursive: true, force: true }));
  await run('cp', [...sources, recorder]);
  const rt = await env.runtime();
  const { files } = await importFolder(rt, recorder, { serial: 'BENCH-FIXITY', json: true });
  if (files.length !== names.length || files.some((f) => f.stage !== 'cleared')) throw new Error(`fixity: ingest left ${files.map((f) => f.stage).join(', ')}`);
  const bucket = rt.objects.bucketName('originals');
  const targets = files.map((f) => `${ctx.mc.alias}/${bucket}/${originalKey(f.sha256!)}`);
  const cycle = newSide('fixity cycle', totalBytes);
  const cat = newSide('mc cat', totalBytes);
  let cycles = 0;
  const sides: Array<{ side: Side; work: () => Promise<void> }> = [
    {
      side: cycle,
      work: async () => {
        // The next cycle is due cycleDays after the last began.
        await rt.db.query(`UPDATE fixity_cycles SET started_at = started_at - interval '2 days'`);
        await rt.fixity.handleFixity({ scheduler: 'bench' }, new AbortController().signal);
        cycles += 1;
      },
    },
    { side: cat, work: () => mcCat(ctx.mc, targets) },
  ];
  for (let i = 0; i < options.runs; i++) {
    for (const { side, work } of rotated(sides, i)) {
      // MinIO's copies are what both sides read: drop the cache when allowed (no local source to warm).
      await ctx.cache.prepare([]);
      const s = await timed(side, ctx.minioPid, work);
      log(`fixity run ${i + 1}/${options.runs}: ${side.label.padEnd(12)} ${fmtS(s.seconds)}  ${fmtRate(mibps(side.bytes, s.seconds))}  cpu ${s.cpu.toFixed(2)} s  minio cpu ${s.serverCpu?.toFixed(2) ?? '?'} s`);
    }
  }
  const status = await rt.fixity.status();
  if (status.lastCompleted?.id !== cycles || status.lastCompleted.items !== names.length || status.failures.length > 0) {
    throw new Error(`fixity: expected ${cycles} clean cycles of ${names.length} items, status says ${JSON.stringify(status.lastCompleted)} with ${status.failures.length} failures`);
  }
  const batches = (await rt.ledger.eventsOfTypes(['FIXITY_BATCH_CHECKED'])).length;
  rt.objects.close();
  await dispose();
  rmSync(recorder, { recursive: true, force: true });
  const what = `${options.files} × ${options.sizeMiB} MiB`;
  const cpu = (side: Side) => `${side.label} ${median(side.samples.map((x) => x.cpu)).toFixed(2)} s (MinIO ${median(side.samples.map((x) => x.serverCpu ?? Number.NaN)).toFixed(2)} s)`;
  return {
    title: 'Fixity',
    sides: [cycle, cat],
    notes: [
      `A run of the fixity side is one whole cycle through FixityService.handleFixity in this process (fixity.bytesPerSecond 0): start the cycle, claim batches (batchMaxItems ${env.config.fixity.batchMaxItems}), re-hash each original with the item check of \`verify --all\` and commit each batch with its signed event (${batches} FIXITY_BATCH_CHECKED events in ${cycles} cycles), then the end-of-cycle ledger and mirror check. \`mc cat\` reads the same objects one after another into /dev/null.`,
      `CPU seconds per side (median): ${cpu(cycle)}; ${cpu(cat)}.`,
    ],
    rows: [
      rateRatioRow(
        `Fixity ${what}, one unthrottled cycle vs mc cat`,
        cycle,
        cat,
        TARGETS.fixityVsMcCat,
        'Everything a fixity cycle does for these items (read back, SHA-256, catalog and ledger comparison, signed batch events, ledger audit at the end) vs a plain read of the same objects with `mc cat`.',
      ),
    ],
  };
}

// ---- reindex: the catalog rebuilt from storage ------------------------------------------

/**
 * A ledger as a province's workstations would have left it, written straight to the
 * write-once buckets (signing 4 events an item in process, not through the pipeline, which
 * would take hours for 100,000 items): per docking of 100 files one DOCKED, per file
 * ACQUIRED, STORED, VERIFIED, RECORDED, a tiny distinct original, and every 1,000 items a
 * sealed batch of access records with its attachment.
 */
async function generateLedger(objects: MinioObjectStore, items: number): Promise<{ events: number; seconds: number }> {
  const t0 = performance.now();
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const keyId = keyIdOf(publicKey);
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  await objects.putDocument('ledger', keyObjectKey(keyId), Buffer.from(pem), 'application/x-pem-file');
  let prev: CustodyEvent | null = null;
  const seal = (type: CustodyEventType, details: { [k: string]: JsonValue }, ids: { evidenceId?: string; sessionId?: string; fileId?: string } = {}): CustodyEvent => {
    const seq: number = (prev?.seq ?? 0) + 1;
    const event = sealEvent(
      {
        seq,
        at: new Date(Date.UTC(2026, 0, 1) + seq * 1000).toISOString(),
        workstationId: `ws-${seq % 40}`,
        type,
        actor: { kind: 'workstation', id: 'bench' },
        evidenceId: ids.evidenceId ?? null,
        sessionId: ids.sessionId ?? null,
        fileId: ids.fileId ?? null,
        details,
        prevHash: prev?.hash ?? GENESIS_HASH,
        keyId,
      },
      privateKey,
    );
    prev = event;
    return event;
  };
  const uuid = (kind: number, i: number) => `${kind.toString(16).padStart(8, '0')}-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
  const pending: Array<() => Promise<unknown>> = [];
  const flush = async () => {
    await inParallel(pending.splice(0), 48, (put) => put());
  };
  const putEvent = (e: CustodyEvent) => pending.push(() => objects.putDocument('ledger', eventObjectKey(e.seq), Buffer.from(canonicalJson(e)), 'application/json'));
  putEvent(seal('KEY_REGISTERED', { keyId, algorithm: 'Ed25519', publicKeyPem: pem }));
  let records = 0;
  for (let i = 0; i < items; i++) {
    const sessionId = uuid(1, Math.floor(i / 100));
    if (i % 100 === 0) {
      putEvent(seal('DOCKED', { driver: 'directory', mountPath: '/media/bench', identity: { serial: `SN${Math.floor(i / 100) % 500}` }, registered: false, files: 100, bytes: 100 * 64, defaults: {} }, { sessionId }));
    }
    const body = Buffer.from(`bench original ${i}`.padEnd(64, '.'));
    const sha256 = createHash('sha256').update(body).digest('hex');
    const key = originalKey(sha256);
    const ids = { sessionId, fileId: uuid(2, i), evidenceId: uuid(3, i) };
    const path = `DCIM/REC_${i}.MP4`;
    pending.push(() => objects.putDocument('originals', key, body, 'video/mp4'));
    putEvent(seal('ACQUIRED', { sha256, sm3: null, size: body.length, devicePath: path, bytesReadFromRecorder: body.length, resumedFromByte: 0 }, ids));
    putEvent(seal('STORED', { key, versionId: null, etag: 'bench', size: body.length, uploaded: true }, ids));
    putEvent(seal('VERIFIED', { key, etag: 'bench' }, ids));
    putEvent(
      seal(
        'RECORDED',
        { caseNumbers: [`C${i % 5000}`], subject: `subject ${i}`, place: `place ${i % 1000}`, officerId: `P${i % 200}`, collector: `P${i % 200}`, mediaType: 'video', originalName: `REC_${i}.MP4`, originalPath: path, recorderSerial: `SN${Math.floor(i / 100) % 500}`, officerName: null, unitId: null, flags: [] },
        ids,
      ),
    );
    if ((i + 1) % 1000 === 0) {
      const batch = Array.from({ length: 50 }, (_, k) => ({ id: ++records, at: new Date(Date.UTC(2026, 0, 2)).toISOString(), principalKind: 'user', principalId: uuid(4, 0), principalName: 'bench', role: 'custodian', unitIds: [], action: 'view', evidenceId: uuid(3, i - k), evidenceIds: null, caseNumber: null, purpose: null, approvalId: null, ip: null, userAgent: null }));
      const sealed = seal('ACCESS_LOG_SEALED', { first: batch[0]!.id, last: batch.at(-1)!.id, count: batch.length, digest: 'bench' });
      putEvent(sealed);
      pending.push(() => objects.putDocument('ledger', attachmentObjectKey(sealed.seq), Buffer.from(canonicalJson(batch)), 'application/json'));
      await flush();
      if ((i + 1) % 10_000 === 0) log(`reindex: generated ${i + 1}/${items} items (${(prev as CustodyEvent | null)?.seq ?? 0} events)`);
    }
  }
  await flush();
  return { events: (prev as CustodyEvent | null)?.seq ?? 0, seconds: (performance.now() - t0) / 1000 };
}

async function benchReindex(ctx: Context): Promise<SectionBody> {
  const { options } = ctx;
  const { env, dispose } = await benchEnv(ctx, 'benchreindex');
  const objects = new MinioObjectStore(env.config.minio, env.config.retention);
  await objects.ensureBuckets();
  log(`reindex: writing a ledger of ${options.reindexItems} items to MinIO`);
  const generated = await generateLedger(objects, options.reindexItems);
  log(`reindex: ${generated.events} events written in ${fmtS(generated.seconds)}`);
  const side = newSide('evidock reindex', 0);
  const admin = new pg.Client({ host: env.config.postgres.host, port: env.config.postgres.port, user: env.config.postgres.user, database: 'postgres' });
  await admin.connect();
  let last: ReindexReport | null = null;
  try {
    for (let i = 0; i < options.runs; i++) {
      // Each run rebuilds into a new, empty database, as after the loss of the old one.
      await admin.query(`DROP DATABASE IF EXISTS ${env.config.postgres.database} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${env.config.postgres.database}`);
      const { reindex, close } = await createReindexer(env.config);
      try {
        const s = await timed(side, ctx.minioPid, async () => {
          last = await reindex.run();
        });
        log(`reindex run ${i + 1}/${options.runs}: ${fmtS(s.seconds)}  ${(options.reindexItems / s.seconds).toFixed(0)} items/s  cpu ${s.cpu.toFixed(2)} s  minio cpu ${s.serverCpu?.toFixed(2) ?? '?'} s`);
      } finally {
        await close();
      }
    }
  } finally {
    await admin.end();
  }
  const report = last as ReindexReport | null;
  if (!report || report.items !== options.reindexItems || report.events !== generated.events || report.originalsMissing.length > 0 || report.skipped.length > 0) {
    throw new Error(`reindex: expected ${options.reindexItems} items from ${generated.events} events, got ${JSON.stringify(report && { ...report, skipped: report.skipped.length })}`);
  }
  objects.close();
  await dispose();
  const seconds = medianSeconds(side);
  return {
    title: 'Reindex',
    sides: [side],
    notes: [
      `A generated ledger of ${options.reindexItems} items (${generated.events} signed events, ${report.accessRecords} sealed access records, ${options.reindexItems / 100} dockings) written straight to the write-once buckets in ${fmtS(generated.seconds)}; each run rebuilds it with ReindexService (the code of \`evidock reindex\`) into a new empty database: list and read every event object (16 at a time), verify the chain and every signature, project, stat every original (version, object lock), write all tables in one transaction.`,
      `CPU seconds (median): evidock ${median(side.samples.map((x) => x.cpu)).toFixed(2)} s, MinIO ${median(side.samples.map((x) => x.serverCpu ?? Number.NaN)).toFixed(2)} s.`,
    ],
    rows: [
      {
        what: `Reindex of ${options.reindexItems} items from storage`,
        evidock: `${(options.reindexItems / seconds).toFixed(0)} items/s (${fmtS(seconds)}; ${(generated.events / seconds).toFixed(0)} events/s)`,
        baseline: '—',
        ratio: '—',
        target: '—',
        met: null,
        explain: 'Wall time of ReindexService.run: everything `evidock reindex` does after connecting.',
      },
    ],
  };
}

// ---- ledger: appends under concurrent writers, verification of a large chain ----------------

/** One writer of a ledger design: a workstation with its own key (and, budget allowing, connection). */
interface LedgerWriter {
  append(input: CustodyEventInput): Promise<void>;
  /** After the run: timers stopped, integration under way finished. */
  close?(): Promise<void>;
}

/**
 * A ledger design the bench measures. Today's (one PostgreSQL advisory lock per append, the
 * event mirrored to the write-once bucket after COMMIT) is the baseline; a new design is one
 * more entry of LEDGER_DESIGNS, measured in the same run with the same writers and events.
 */
interface LedgerDesign {
  label: string;
  explain: string;
  /** Opens writer `index` of `count`; the writer's pool is `pools[index % pools.length]`. */
  openWriter(env: TestEnv, pool: Database, objects: MinioObjectStore, index: number): Promise<LedgerWriter>;
}

const LEDGER_DESIGNS: LedgerDesign[] = [
  {
    label: 'advisory lock (before issue 19)',
    explain:
      'the hash-chained ledger evidock had before the Merkle log (test/support/legacy-ledger.ts, its append unchanged): BEGIN, pg_advisory_xact_lock, read the last event, seal (SHA-256 + Ed25519) with seq = last + 1 and prevHash = its hash, INSERT, COMMIT, then PUT the event to the write-once ledger bucket',
    async openWriter(env, pool, objects, index) {
      const workstationId = `${env.config.workstationId}-w${index}`;
      const ledger = new LegacyLedgerWriter(pool, objects, loadOrCreateWorkstationKey(join(env.dir, 'keys'), workstationId), workstationId);
      await ledger.registerKey();
      return { append: async (input) => void (await ledger.record(input)) };
    },
  },
  {
    label: 'Merkle log (issue 19)',
    explain:
      "CustodyLedger.record: BEGIN, nextval('custody_event_seq'), seal (SHA-256 + Ed25519), INSERT, COMMIT, PUT to the write-once bucket — no lock; each writer's ledger also integrates a second after its commits (one sequencer at a time: pg_try_advisory_xact_lock), as in production",
    async openWriter(env, pool, objects, index) {
      const workstationId = `${env.config.workstationId}-w${index}`;
      const ledger = new CustodyLedger(pool, objects, loadOrCreateWorkstationKey(join(env.dir, 'keys'), workstationId), workstationId);
      await ledger.registerKey();
      return { append: async (input) => void (await ledger.record(input)), close: () => ledger.close() };
    },
  },
];

/** An event of the size the pipeline appends most (ACQUIRED of one file). */
function benchEventInput(writer: number, n: number): CustodyEventInput {
  const sha256 = createHash('sha256').update(`${writer}/${n}`).digest('hex');
  return {
    type: 'ACQUIRED',
    actor: { kind: 'workstation', id: `bench-w${writer}` },
    details: { sha256, sm3: null, size: 64 * 1024, devicePath: `DCIM/REC_${n}.MP4`, bytesReadFromRecorder: 64 * 1024, resumedFromByte: 0 },
  };
}

interface AppendRun {
  writers: number;
  appends: number;
  seconds: number;
  latenciesMs: number[];
}

async function ledgerAppendRun(ctx: Context, design: LedgerDesign, writers: number, run: number): Promise<AppendRun> {
  const { options } = ctx;
  const { env, dispose } = await benchEnv(ctx, 'benchledger');
  const connections = Math.min(writers, options.ledgerConnections);
  const pools = Array.from({ length: connections }, () => new Database({ ...env.config.postgres, maxConnections: 1 }));
  await pools[0]!.migrate();
  const objects = new MinioObjectStore(env.config.minio, env.config.retention);
  await objects.ensureBuckets();
  try {
    const opened: LedgerWriter[] = [];
    for (let i = 0; i < writers; i++) opened.push(await design.openWriter(env, pools[i % connections]!, objects, i));
    const perWriter = Math.max(1, Math.ceil(options.ledgerAppends / writers));
    const latenciesMs: number[] = [];
    const side = newSide(`${design.label}, ${writers} writer(s)`, 0);
    const s = await timed(side, ctx.minioPid, async () => {
      await Promise.all(
        opened.map(async (w, i) => {
          for (let n = 0; n < perWriter; n++) {
            const a0 = performance.now();
            await w.append(benchEventInput(i, n));
            latenciesMs.push(performance.now() - a0);
          }
        }),
      );
    });
    const appends = perWriter * writers;
    for (const w of opened) await w.close?.();
    const count = await pools[0]!.query<{ n: string }>(`SELECT count(*) AS n FROM custody_events WHERE type = 'ACQUIRED'`);
    if (Number(count.rows[0]!.n) !== appends) throw new Error(`ledger: ${appends} appends made, ${count.rows[0]!.n} events in the database`);
    log(`ledger ${design.label}, ${writers} writers (${connections} connections), run ${run + 1}: ${appends} appends in ${fmtS(s.seconds)}, ${(appends / s.seconds).toFixed(0)}/s`);
    return { writers, appends, seconds: s.seconds, latenciesMs };
  } finally {
    for (const p of pools) await p.close().catch(() => undefined);
    objects.close();
    await dispose();
  }
}

/** Seals `count` events after `from` in process and inserts them 5,000 rows a statement; `prevHash: null` seals Merkle-log events (no link). */
async function bulkLedger(
  db: Database,
  key: WorkstationKey,
  workstationId: string,
  from: { seq: number; prevHash: string | null },
  count: number,
  mirror: MinioObjectStore | null,
): Promise<{ seq: number; prevHash: string | null }> {
  const chained = from.prevHash !== null;
  let seq = from.seq;
  let prevHash = from.prevHash;
  const at0 = Date.UTC(2026, 0, 1);
  for (let done = 0; done < count; ) {
    const batch: CustodyEvent[] = [];
    for (const end = Math.min(count, done + 5000); done < end; done++) {
      seq += 1;
      const input = benchEventInput(0, seq);
      const event = sealEvent(
        { seq, at: new Date(at0 + seq * 100).toISOString(), workstationId, type: input.type, actor: input.actor, evidenceId: null, sessionId: null, fileId: null, details: input.details, prevHash, keyId: key.keyId },
        key.privateKey,
      );
      if (chained) prevHash = event.hash;
      batch.push(event);
    }
    const col = <T>(f: (e: CustodyEvent) => T) => batch.map(f);
    await db.query(
      `INSERT INTO custody_events (seq, at, at_text, workstation_id, type, actor_kind, actor_id, details, prev_hash, key_id, hash, signature)
       SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::jsonb[], $9::text[], $10::text[], $11::text[], $12::text[])`,
      [col((e) => e.seq), col((e) => e.at), col((e) => e.at), col((e) => e.workstationId), col((e) => e.type), col((e) => e.actor.kind), col((e) => e.actor.id), col((e) => JSON.stringify(e.details)), col((e) => e.prevHash), col((e) => e.keyId), col((e) => e.hash), col((e) => e.signature)],
    );
    if (mirror) await inParallel(batch, 32, (e) => mirror.putDocument('ledger', eventObjectKey(e.seq), Buffer.from(canonicalJson(e)), 'application/json'));
    if (done % 100_000 === 0) log(`ledger: ${done}/${count} events sealed and inserted`);
  }
  if (!chained) await db.query("SELECT setval('custody_event_seq', $1::bigint + 1, false)", [seq]);
  return { seq, prevHash };
}

/**
 * The Merkle log's half of verify() over `total` events: every event's hash and signature
 * (verifyLedgerEvents over the pages verify reads), then the tree (each leaf against the
 * stored subtrees and every checkpoint's root, checkpoints' signatures, mirror copies and
 * consistency): CustodyLedger.verifyTree.
 */
async function merkleVerification(ctx: Context, mirrorPerEvent: number): Promise<{ rows: Row[]; sides: Side[]; notes: string[] }> {
  const { options } = ctx;
  const total = options.ledgerEvents;
  const { env, dispose } = await benchEnv(ctx, 'benchledgerm');
  const db = new Database(env.config.postgres);
  await db.migrate();
  const objects = new MinioObjectStore(env.config.minio, env.config.retention);
  await objects.ensureBuckets();
  try {
    const workstationId = env.config.workstationId;
    const key = loadOrCreateWorkstationKey(join(env.dir, 'keys'), workstationId);
    await objects.putDocument('ledger', keyObjectKey(key.keyId), Buffer.from(key.publicKeyPem), 'application/x-pem-file');
    await db.query('INSERT INTO ledger_keys (key_id, workstation_id, public_key_pem) VALUES ($1, $2, $3)', [key.keyId, workstationId, key.publicKeyPem]);
    const ledger = new CustodyLedger(db, objects, key, workstationId);
    const keys = new Map([[key.keyId, publicKeyFromPem(key.publicKeyPem)]]);
    const g0 = performance.now();
    await bulkLedger(db, key, workstationId, { seq: 0, prevHash: null }, total, null);
    const genSeconds = (performance.now() - g0) / 1000;
    await db.query('ANALYZE custody_events');

    // Integration happens once per event: one timed run over all of them.
    const integrateSide = newSide(`integrate ${total} events`, 0);
    let checkpoint: { treeSize: number } | null = null;
    await timed(integrateSide, ctx.minioPid, async () => {
      checkpoint = await ledger.integrate();
    });
    if ((checkpoint as { treeSize: number } | null)?.treeSize !== total) throw new Error(`ledger: integration made a tree of ${(checkpoint as { treeSize: number } | null)?.treeSize ?? 0} leaves, ${total} events`);
    const checkpoints = (await ledger.checkpoints()).length;
    await db.query('ANALYZE custody_events');
    await db.query('ANALYZE ledger_tree_nodes');
    log(`ledger: ${total} events integrated in ${fmtS(medianSeconds(integrateSide))} (${checkpoints} checkpoints)`);

    const eventsSide = newSide(`Merkle log: events' hashes and signatures, ${total} events`, 0);
    const treeSide = newSide(`Merkle log: tree and checkpoints, ${total} leaves`, 0);
    for (let r = 0; r < options.runs; r++) {
      let found = -1;
      await timed(eventsSide, ctx.minioPid, async () => {
        found = 0;
        let cursor = LEDGER_START;
        for await (const batch of ledger.inSeqOrder(5000)) {
          const checked = verifyLedgerEvents(batch, keys, cursor);
          found += checked.problems.length;
          cursor = checked.cursor;
        }
      });
      await timed(treeSide, ctx.minioPid, async () => {
        const tree = await ledger.verifyTree(keys);
        found += tree.problems.length;
        if (tree.treeSize !== total) throw new Error(`ledger: the tree check read ${tree.treeSize} leaves of ${total}`);
      });
      if (found !== 0) throw new Error(`ledger: the Merkle log of ${total} events has ${found} problems`);
      log(`ledger: Merkle log of ${total} events checked in ${fmtS(eventsSide.samples.at(-1)!.seconds)} + tree ${fmtS(treeSide.samples.at(-1)!.seconds)}`);
    }
    const n = total.toLocaleString('en-US');
    const eventsS = medianSeconds(eventsSide);
    const treeS = medianSeconds(treeSide);
    const integrateS = medianSeconds(integrateSide);
    const extrapolated = eventsS + treeS + mirrorPerEvent * total;
    return {
      sides: [integrateSide, eventsSide, treeSide],
      rows: [
        {
          what: `Ledger integration (Merkle log), ${n} events`,
          evidock: `${fmtS(integrateS)} · ${(total / integrateS).toFixed(0)} events/s`,
          baseline: '—',
          ratio: '—',
          target: '—',
          met: null,
          explain: `CustodyLedger.integrate over ${n} committed, not yet integrated events: batches of 20,000 (each one transaction: leaf indexes set, complete subtrees stored, a checkpoint signed) and each checkpoint and its leaf order PUT write-once; ${checkpoints} checkpoints.`,
        },
        {
          what: `Ledger events and tree (Merkle log), ${n} events`,
          evidock: `${fmtS(eventsS + treeS)} · ${(total / (eventsS + treeS)).toFixed(0)} events/s (events ${fmtS(eventsS)}, tree ${fmtS(treeS)})`,
          baseline: '—',
          ratio: '—',
          target: '—',
          met: null,
          explain: `verify()'s work but the event mirror comparison: each event's hash and Ed25519 signature over CustodyLedger.inSeqOrder(5000), then CustodyLedger.verifyTree (every leaf in leaf order against the stored subtrees, every checkpoint's root, signature, write-once copy, and the consistency proof between consecutive checkpoints).`,
        },
        {
          what: `Ledger verify() (Merkle log), ${n} events — EXTRAPOLATED`,
          evidock: `≈ ${fmtS(extrapolated)} (${(extrapolated / 60).toFixed(1)} min)`,
          baseline: '—',
          ratio: '—',
          target: '—',
          met: null,
          explain: `The measured events and tree check plus ${n} × the mirror comparison time per event measured on the chained sample above (the same GET and compare for each event).`,
        },
      ],
      notes: [`The Merkle log's ${n} events were sealed and inserted in ${fmtS(genSeconds)}, then integrated (timed above).`],
    };
  } finally {
    await db.close().catch(() => undefined);
    objects.close();
    await dispose();
  }
}

/** The chain and signature half of CustodyLedger.verify, over the rows in pages as verify reads them. */
async function verifyChainOnly(ledger: CustodyLedger, keys: ReadonlyMap<string, KeyObject>): Promise<{ events: number; problems: number }> {
  let events = 0;
  let problems = 0;
  let tail: CustodyEvent | undefined;
  for await (const batch of ledger.inSeqOrder(5000)) {
    problems += verifyChain(batch, keys, tail ? { seq: tail.seq + 1, prevHash: tail.hash } : undefined).length;
    events += batch.length;
    tail = batch[batch.length - 1];
  }
  return { events, problems };
}

async function ledgerVerification(ctx: Context): Promise<{ rows: Row[]; sides: Side[]; notes: string[]; mirrorPerEvent: number }> {
  const { options } = ctx;
  const total = options.ledgerEvents;
  const sample = Math.min(options.ledgerMirrorSample, total);
  const { env, dispose } = await benchEnv(ctx, 'benchledgerv');
  const db = new Database(env.config.postgres);
  await db.migrate();
  const objects = new MinioObjectStore(env.config.minio, env.config.retention);
  await objects.ensureBuckets();
  try {
    const workstationId = env.config.workstationId;
    const key = loadOrCreateWorkstationKey(join(env.dir, 'keys'), workstationId);
    await objects.putDocument('ledger', keyObjectKey(key.keyId), Buffer.from(key.publicKeyPem), 'application/x-pem-file');
    await db.query('INSERT INTO ledger_keys (key_id, workstation_id, public_key_pem) VALUES ($1, $2, $3)', [key.keyId, workstationId, key.publicKeyPem]);
    const ledger = new CustodyLedger(db, objects, key, workstationId);
    const keys = new Map([[key.keyId, publicKeyFromPem(key.publicKeyPem)]]);

    const g0 = performance.now();
    const afterSample = await bulkLedger(db, key, workstationId, { seq: 0, prevHash: GENESIS_HASH }, sample, objects);
    const sampleGenSeconds = (performance.now() - g0) / 1000;
    const fullSide = newSide(`CustodyLedger.verify (chain, signatures and mirror), ${sample} events`, 0);
    const sampleChainSide = newSide(`chain and signatures only, ${sample} events`, 0);
    const sampleTreeSide = newSide(`tree only, ${sample} events`, 0);
    // verify() of today's code also checks the Merkle tree the chained events migrate into:
    // integrated before timing, and its check subtracted with the chain's, leaving the mirror.
    await ledger.integrate();
    for (let r = 0; r < options.runs; r++) {
      let found = -1;
      await timed(fullSide, ctx.minioPid, async () => {
        found = (await ledger.verify()).problems.length;
      });
      if (found !== 0) throw new Error(`ledger: verify() of the mirrored sample found ${found} problems`);
      await timed(sampleChainSide, ctx.minioPid, async () => void (await verifyChainOnly(ledger, keys)));
      await timed(sampleTreeSide, ctx.minioPid, async () => void (await ledger.verifyTree(keys)));
    }
    log(`ledger: sample of ${sample} verified in ${fmtS(medianSeconds(fullSide))} (chain only ${fmtS(medianSeconds(sampleChainSide))})`);

    const g1 = performance.now();
    await bulkLedger(db, key, workstationId, afterSample, total - sample, null);
    const genSeconds = (performance.now() - g1) / 1000 + sampleGenSeconds;
    await db.query('ANALYZE custody_events');
    const chainSide = newSide(`chain and signatures only, ${total} events`, 0);
    for (let r = 0; r < options.runs; r++) {
      let checked = { events: 0, problems: -1 };
      await timed(chainSide, ctx.minioPid, async () => {
        checked = await verifyChainOnly(ledger, keys);
      });
      if (checked.events !== total || checked.problems !== 0) throw new Error(`ledger: chain check of ${total} events read ${checked.events}, ${checked.problems} problems`);
      log(`ledger: chain of ${total} events checked in ${fmtS(chainSide.samples.at(-1)!.seconds)}`);
    }
    const chainS = medianSeconds(chainSide);
    const mirrorPerEvent = Math.max(0, medianSeconds(fullSide) - medianSeconds(sampleChainSide) - medianSeconds(sampleTreeSide)) / sample;
    const extrapolated = chainS + mirrorPerEvent * total;
    const n = total.toLocaleString('en-US');
    return {
      mirrorPerEvent,
      sides: [fullSide, sampleChainSide, sampleTreeSide, chainSide],
      rows: [
        {
          what: `Ledger chain and signatures, ${n} events`,
          evidock: `${fmtS(chainS)} · ${(total / chainS).toFixed(0)} events/s`,
          baseline: '—',
          ratio: '—',
          target: '—',
          met: null,
          explain: `verifyChain over CustodyLedger.inSeqOrder(5000) from PostgreSQL — the chain and signature half of CustodyLedger.verify — over ${n} events sealed in process and bulk-inserted.`,
        },
        {
          what: `Ledger mirror comparison (sample of ${sample.toLocaleString('en-US')} events)`,
          evidock: `${(1 / mirrorPerEvent).toFixed(0)} events/s (verify ${fmtS(medianSeconds(fullSide))} − chain ${fmtS(medianSeconds(sampleChainSide))} − tree ${fmtS(medianSeconds(sampleTreeSide))})`,
          baseline: '—',
          ratio: '—',
          target: '—',
          met: null,
          explain: `CustodyLedger.verify of a ledger of ${sample} mirrored events (list the bucket, GET and compare each event object), minus the chain check and the tree check of the same rows.`,
        },
        {
          what: `Ledger verify(), ${n} events — EXTRAPOLATED`,
          evidock: `≈ ${fmtS(extrapolated)} (${(extrapolated / 60).toFixed(1)} min)`,
          baseline: '—',
          ratio: '—',
          target: '—',
          met: null,
          explain: `Not measured end to end: the measured chain check of ${n} events plus ${n} × the measured mirror comparison time per event of the sample (mirroring ${n} objects to MinIO for one run would take longer than the rest of the bench).`,
        },
      ],
      notes: [`The ${n} events were sealed (SHA-256 + Ed25519) and inserted 5,000 per statement in ${fmtS(genSeconds)}; the first ${sample} were also PUT to the write-once bucket.`],
    };
  } finally {
    await db.close().catch(() => undefined);
    objects.close();
    await dispose();
  }
}

async function benchLedger(ctx: Context): Promise<SectionBody> {
  const { options } = ctx;
  const rows: Row[] = [];
  const sides: Side[] = [];
  const notes: string[] = [];
  for (const design of LEDGER_DESIGNS) {
    for (const writers of options.ledgerWriters) {
      const runs: AppendRun[] = [];
      for (let r = 0; r < options.runs; r++) runs.push(await ledgerAppendRun(ctx, design, writers, r));
      const side = newSide(`${design.label}, ${writers} writer(s)`, 0);
      side.samples.push(...runs.map((x) => ({ seconds: x.seconds, cpu: Number.NaN })));
      sides.push(side);
      const rate = median(runs.map((x) => x.appends / x.seconds));
      const all = runs.flatMap((x) => x.latenciesMs).sort((a, b) => a - b);
      const connections = Math.min(writers, options.ledgerConnections);
      rows.push({
        what: `Ledger appends, ${design.label}, ${writers} concurrent writer${writers === 1 ? '' : 's'}`,
        evidock: `${rate.toFixed(0)} appends/s · p50 ${pct(all, 0.5).toFixed(1)} ms, p95 ${pct(all, 0.95).toFixed(1)} ms`,
        baseline: '—',
        ratio: '—',
        target: '—',
        met: null,
        explain: `${design.explain}; ${writers} writers, each a workstation with its own key and ledger instance, ${connections === writers ? 'each on its own PostgreSQL connection' : `on ${connections} PostgreSQL connections (${Math.ceil(writers / connections)} writers a connection: --ledger-connections, the shared server allows 100 in all)`}, ${runs[0]!.appends} appends a run into one database, latency per record() call.`,
      });
    }
  }
  notes.push(`Designs measured: ${LEDGER_DESIGNS.map((d) => d.label).join('; ')}. A new design is one more entry of LEDGER_DESIGNS in scripts/bench.ts, run beside the baseline with the same writers.`);
  const v = await ledgerVerification(ctx);
  rows.push(...v.rows);
  sides.push(...v.sides);
  notes.push(...v.notes);
  const m = await merkleVerification(ctx, v.mirrorPerEvent);
  rows.push(...m.rows);
  sides.push(...m.sides);
  notes.push(...m.notes);
  return { title: 'Ledger', rows, sides, notes };
}

// ---- case export vs mc cp ------------------------------------------------------------------

async function benchExport(ctx: Context): Promise<SectionBody> {
  const { options, names, sources, totalBytes } = ctx;
  const { env, dispose } = await benchEnv(ctx, 'benchexport', {});
  const recorder = join(BENCH_DIR, 'export-recorder');
  const out = join(BENCH_DIR, 'export-out');
  mkdirSync(recorder, { recursive: true });
  ctx.cleanups.push(async () => {
    rmSync(recorder, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  });
  await run('cp', [...sources, recorder]);
  const rt = await env.runtime();
  const CASE = 'BENCH-EXPORT-1';
  const { files } = await importFolder(rt, recorder, { serial: 'BENCH-EXPORT', case: [CASE], json: true });
  if (files.length !== names.length || files.some((f) => f.stage !== 'cleared')) throw new Error(`export: ingest left ${files.map((f) => f.stage).join(', ')}`);
  const bucket = rt.objects.bucketName('originals');
  const targets = files.map((f) => `${ctx.mc.alias}/${bucket}/${originalKey(f.sha256!)}`);
  const bag = newSide('evidock export', totalBytes);
  const mc = newSide('mc cp', totalBytes);
  const sides: Array<{ side: Side; work: () => Promise<void> }> = [
    {
      side: bag,
      work: async () => {
        const result = await rt.exports.export({ caseNumber: CASE, by: 'bench', reason: 'bench', withProxies: false }, ExportFolder.create(out));
        if (result.items.length !== names.length) throw new Error(`export: ${result.items.length} of ${names.length} items`);
      },
    },
    { side: mc, work: async () => void (await ctx.mc.exec(['cp', '--quiet', ...targets, `${out}/`])) },
  ];
  for (let i = 0; i < options.runs; i++) {
    for (const { side, work } of rotated(sides, i)) {
      rmSync(out, { recursive: true, force: true });
      mkdirSync(out, { recursive: true });
      await ctx.cache.prepare([]);
      const s = await timed(side, ctx.minioPid, work);
      log(`export run ${i + 1}/${options.runs}: ${side.label.padEnd(14)} ${fmtS(s.seconds)}  ${fmtRate(mibps(side.bytes, s.seconds))}  cpu ${s.cpu.toFixed(2)} s  minio cpu ${s.serverCpu?.toFixed(2) ?? '?'} s`);
    }
  }
  rt.objects.close();
  await dispose();
  rmSync(recorder, { recursive: true, force: true });
  rmSync(out, { recursive: true, force: true });
  const what = `${options.files} × ${options.sizeMiB} MiB`;
  return {
    title: 'Case export',
    sides: [bag, mc],
    notes: [
      `A run of the export side is CaseExportService.export of the case holding the data set into an empty folder: each original read back from the write-once bucket, hashed as it is written and fsynced, checked against its recorded SHA-256, its custody events and evidence.json, the manifests, the custody report, the signature over the tag manifest, bagit.txt, then one EXPORTED event per item. \`mc cp\` copies the same objects to an empty folder (no hash, no fsync).`,
    ],
    rows: [rateRatioRow(`Export ${what}, BagIt bag vs mc cp`, bag, mc, TARGETS.exportVsMcCp, 'The signed BagIt package of the case (read back, SHA-256, fsync, manifests, signature, custody events) vs `mc cp` of its originals to a folder.')],
  };
}

// ---- 4. peak memory while ingesting one big file ------------------------------------------

interface MemoryRun {
  seconds: number;
  daemonStartupHwm: number;
  daemonPeakHwm: number;
  daemonPeakRss: number;
  daemonPeakAnon: number;
  daemonPeakFile: number;
  daemonLifetimeHwm: number;
  importerMaxRss: number;
  hwmReset: boolean;
  /** Highest summed RSS of the daemon's child processes, and their names. */
  childrenPeakRss: number;
  children: string[];
  /** Wall time; cpu = daemon + importer, serverCpu = MinIO. */
  sample: Sample;
}

async function waitForLine(child: ReturnType<typeof spawn>, logFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`daemon exited (${child.exitCode ?? child.signalCode}) before it started:\n${readFileSync(logFile, 'utf8').slice(-3000)}`);
    if (readFileSync(logFile, 'utf8').trim().length > 0) return;
    if (Date.now() > deadline) throw new Error(`daemon not started after ${timeoutMs} ms:\n${readFileSync(logFile, 'utf8').slice(-3000)}`);
    await sleep(200);
  }
}

async function stopChild(child: ReturnType<typeof spawn>, what: string): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  if ((await Promise.race([exited.then(() => 'ok'), sleep(30_000).then(() => 'timeout')])) === 'timeout') {
    log(`${what} did not stop on SIGTERM within 30 s; killing it`);
    child.kill('SIGKILL');
    await exited;
  }
}

async function memoryRun(ctx: Context, i: number, bigBytes: number): Promise<MemoryRun> {
  const mediaRoot = join(BENCH_DIR, 'media-empty');
  mkdirSync(mediaRoot, { recursive: true });
  const { env, dispose } = await benchEnv(ctx, 'bench4g', { watch: { usbDetection: false, mountRoots: [mediaRoot] } });
  const recorder = join(BENCH_DIR, `big-recorder-${i}`);
  mkdirSync(recorder, { recursive: true });
  ctx.cleanups.push(async () => rmSync(recorder, { recursive: true, force: true }));
  const bigFile = join(recorder, 'BIG_0001.MP4');
  log(`memory run ${i + 1}: writing ${fmtMiB(bigBytes)} of random data`);
  await writeRandomFile(bigFile, bigBytes);
  await ctx.cache.prepare([bigFile]);

  const childEnv = { ...process.env, ...env.childEnv };
  const daemonLog = join(BENCH_DIR, `daemon-${i}.log`);
  const fd = openSync(daemonLog, 'w');
  const daemon = spawn(process.execPath, ['bin/evidock.js', '--lang', 'en', 'daemon'], { cwd: REPO_ROOT, env: childEnv, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  daemon.on('error', () => undefined);
  ctx.cleanups.push(() => stopChild(daemon, 'daemon'));
  try {
    await waitForLine(daemon, daemonLog, 120_000);
    const pid = daemon.pid!;
    await sleep(500);
    const startup = procStatus(pid);
    let hwmReset = true;
    try {
      // 5: reset the peak resident set size (VmHWM) to the current RSS.
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
    } catch {
      hwmReset = false;
    }
    const peak = { rss: 0, anon: 0, file: 0, children: 0 };
    const childNames = new Set<string>();
    const sampler = setInterval(() => {
      try {
        const st = procStatus(pid);
        if ((st.VmRSS ?? 0) > peak.rss) Object.assign(peak, { rss: st.VmRSS ?? 0, anon: st.RssAnon ?? 0, file: (st.RssFile ?? 0) + (st.RssShmem ?? 0) });
        let children = 0;
        for (const c of descendants(pid)) {
          try {
            children += procStatus(c).VmRSS ?? 0;
            childNames.add(readFileSync(`/proc/${c}/comm`, 'utf8').trim());
          } catch {
            // exited meanwhile
          }
        }
        peak.children = Math.max(peak.children, children);
      } catch {
        // the daemon is gone; reported below
      }
    }, 50);
    const busy0 = machineBusySeconds();
    const self0 = cpuSeconds('self');
    const daemon0 = cpuSeconds(pid);
    const minio0 = ctx.minioPid ? cpuSeconds(ctx.minioPid) : 0;
    const load = os.loadavg()[0] ?? 0;
    const t0 = performance.now();
    const importer = await run(
      '/usr/bin/time',
      ['-v', process.execPath, 'bin/evidock.js', '--lang', 'en', 'import', recorder, '--serial', `BENCH-4G-${i}`, '--wait', '--json'],
      { env: childEnv, allowFailure: true },
    );
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    const after = procStatus(pid);
    const daemonCpu = cpuSeconds(pid) - daemon0;
    const importerCpu = cpuSeconds('self') - self0;
    const minioCpu = ctx.minioPid ? cpuSeconds(ctx.minioPid) - minio0 : 0;
    const otherCpu = Math.max(0, machineBusySeconds() - busy0 - daemonCpu - importerCpu - minioCpu);
    if (importer.code !== 0) throw new Error(`import exited ${importer.code}:\n${importer.stdout}\n${importer.stderr.slice(-3000)}`);
    const result = JSON.parse(importer.stdout.trim().split('\n').pop() ?? '{}') as { files?: Array<{ status: string; size: number; error: string | null }> };
    const file = result.files?.[0];
    if (!file || file.status !== 'cleared' || file.size !== bigBytes) throw new Error(`import did not store and clear the big file: ${importer.stdout}`);
    const maxRss = /Maximum resident set size \(kbytes\): (\d+)/.exec(importer.stderr);
    if (!maxRss) throw new Error(`no maximum RSS from /usr/bin/time:\n${importer.stderr.slice(-2000)}`);
    const run_: MemoryRun = {
      seconds,
      daemonStartupHwm: startup.VmHWM ?? 0,
      daemonPeakHwm: after.VmHWM ?? 0,
      daemonPeakRss: peak.rss,
      daemonPeakAnon: peak.anon,
      daemonPeakFile: peak.file,
      daemonLifetimeHwm: Math.max(startup.VmHWM ?? 0, after.VmHWM ?? 0),
      importerMaxRss: Number(maxRss[1]) * 1024,
      hwmReset,
      childrenPeakRss: peak.children,
      children: [...childNames],
      sample: { seconds, cpu: daemonCpu + importerCpu, serverCpu: minioCpu, otherCpu, load },
    };
    log(
      `memory run ${i + 1}: ${fmtS(seconds)}  ${fmtRate(mibps(bigBytes, seconds))}  daemon peak ${fmtMiB(run_.daemonPeakHwm)} (startup ${fmtMiB(run_.daemonStartupHwm)})  importer ${fmtMiB(run_.importerMaxRss)}`,
    );
    return run_;
  } finally {
    await stopChild(daemon, 'daemon');
    await dispose();
    rmSync(recorder, { recursive: true, force: true });
  }
}

async function benchMemory(ctx: Context): Promise<SectionBody> {
  const bigBytes = ctx.options.bigMiB * MiB;
  const runs: MemoryRun[] = [];
  const side = newSide(`import --wait of one ${ctx.options.bigMiB} MiB file`, bigBytes);
  for (let i = 0; i < ctx.options.runs; i++) {
    const need = 3 * bigBytes + 2 * 1024 * MiB;
    const free = freeBytes(BENCH_DIR);
    if (free < need) throw new Error(`memory run needs ${fmtMiB(need)} free on ${BENCH_DIR} (file, spool copy, MinIO copy, margin); ${fmtMiB(free)} free. Use --skip-4g or --big-mb.`);
    const r = await memoryRun(ctx, i, bigBytes);
    runs.push(r);
    side.samples.push(r.sample);
  }
  const maxOf = (f: (r: MemoryRun) => number) => Math.max(...runs.map(f));
  const medOf = (f: (r: MemoryRun) => number) => median(runs.map(f));
  const peak = maxOf((r) => r.daemonPeakHwm);
  const size = `${ctx.options.bigMiB} MiB file`;
  const reset = runs.every((r) => r.hwmReset);
  return {
    title: 'Peak memory',
    sides: [side],
    rows: [
      {
        what: `Daemon peak RSS, ingesting one ${size}`,
        evidock: `${fmtMiB(peak)} (max of ${runs.length}; median ${fmtMiB(medOf((r) => r.daemonPeakHwm))})`,
        baseline: `target 200 MB = ${fmtMiB(TARGETS.peakRssBytes)}`,
        ratio: `${(peak / TARGETS.peakRssBytes).toFixed(2)}× 200 MB (${(peak / (200 * MiB)).toFixed(2)}× 200 MiB)`,
        target: '≤ 200 MB',
        met: peak <= TARGETS.peakRssBytes,
        explain: `VmHWM of the \`evidock daemon\` process ${reset ? 'from just before the import (reset with clear_refs) to its end' : 'over its whole life (VmHWM could not be reset)'}, while \`evidock import --wait\` handed it the file; idle daemon after startup: ${fmtMiB(medOf((r) => r.daemonStartupHwm))}.`,
      },
      {
        what: `Importer peak RSS (import --wait, ${size})`,
        evidock: `${fmtMiB(maxOf((r) => r.importerMaxRss))} (max of ${runs.length})`,
        baseline: '—',
        ratio: '—',
        target: '—',
        met: null,
        explain: '`/usr/bin/time -v` maximum resident set size of `evidock import <dir> --wait --json`, which hands the session to the daemon and polls until it is settled.',
      },
      {
        what: `Ingest of one ${size} through the daemon`,
        evidock: sideFigure(side),
        baseline: '—',
        ratio: '—',
        target: '—',
        met: null,
        explain: 'Wall time of the import command (process start to exit): acquire, store + verify, catalog, ledger, clear.',
      },
    ],
    notes: [
      `Child processes of the daemon during the ingest: ${[...new Set(runs.flatMap((r) => r.children))].join(', ') || 'none'}${maxOf((r) => r.childrenPeakRss) > 0 ? `, together at most ${fmtMiB(maxOf((r) => r.childrenPeakRss))} RSS (not included above)` : ''}.`,
      `CPU seconds of the ingest (median): daemon + importer ${median(runs.map((r) => r.sample.cpu)).toFixed(2)} s, MinIO ${median(runs.map((r) => r.sample.serverCpu ?? Number.NaN)).toFixed(2)} s.`,
      `Daemon RSS at its sampled peak (median of runs): anonymous ${fmtMiB(medOf((r) => r.daemonPeakAnon))}, file-backed ${fmtMiB(medOf((r) => r.daemonPeakFile))} (node binary and libraries); highest sampled VmRSS ${fmtMiB(maxOf((r) => r.daemonPeakRss))} (sampled every 50 ms).`,
      `The daemon ran as \`node bin/evidock.js daemon\` ${distIsFresh(REPO_ROOT) ? 'on the compiled build in dist/ (scripts/build.mjs, as scripts/run.sh and production run it)' : 'through tsx (dist/ was missing or older than the sources)'} with its own isolated config (EVIDOCK_CONFIG; watch.mountRoots an empty directory, usbDetection off); the importer handed the session to it (it saw the daemon's workers in Redis).`,
    ],
  };
}

// ---- faces: the suggestion detector's precision, recall and frames/s per core ------------------

/** Redaction suggestions (issue 20): each face model on the labelled set scripts/bench-faces.ts generates. */
async function benchFaces(ctx: Context): Promise<SectionBody> {
  log('faces: generating the labelled set from the face-api demo photos and running each model');
  const figures = await measureFaces({ speedFrames: Math.max(8, ctx.options.runs * 4), log: (line) => log(`faces: ${line}`) });
  const rows: Row[] = [];
  for (const f of figures) {
    rows.push({
      what: `Faces, ${f.model}: precision / recall`,
      evidock: `${f.precision.toFixed(2)} / ${f.recall.toFixed(2)} (${f.truePositives} of ${f.faces} faces, ${f.falsePositives} false)`,
      baseline: '—',
      ratio: '—',
      target: '—',
      met: null,
      explain: `IoU ≥ 0.4 against the hand-checked boxes, on ${f.frames} generated 1280×720 frames with 0–3 faces 36–180 px tall.`,
    });
    rows.push({
      what: `Faces, ${f.model}: frames/s per core`,
      evidock: FACE_SIZES.map(([w, h]) => `${w}×${h} ${f.fpsPerCore[`${w}x${h}`]!.toFixed(1)}`).join(', '),
      baseline: '—',
      ratio: '—',
      target: '—',
      met: null,
      explain: 'Frames over the CPU seconds this process spent detecting them (TensorFlow.js wasm, SIMD, no threads: one core).',
    });
  }
  return {
    title: 'Face suggestions',
    rows,
    sides: [],
    notes: [
      'The reference boxes were found with the ssd model and checked by eye, so ssd is favoured; tiny_face_detector\'s boxes are squarer, and some of its misses at IoU 0.4 are boxes of another shape on the right face.',
      'A suggestion run (`redact suggest`) samples suggestions.framesPerSecond (2) frames a second: with ssd at about 3 frames/s a core, a minute of footage takes some 40 s of one core, plus decoding.',
    ],
  };
}

// ---- 5. transcode: a playback proxy vs the same ffmpeg command run directly -----------------

/** Wall time of the steps of one handleProxy call, in seconds. */
interface ProxyPhases {
  download: number;
  /** ffprobe runs (prober.probe) and their time; none when the metadata job's stored probe is used. */
  probe: number;
  probeRuns: number;
  /** prober.probeOutput: the proxy's facts, from its MP4 header. */
  outputFacts: number;
  outputReadBy: string;
  ffmpeg: number;
  hash: number;
  upload: number;
  /** transcoder.run calls: must be exactly one per handleProxy call. */
  ffmpegRuns: number;
  /** The argument list of the transcoder.run call, and the workspace paths in it. */
  args: string[];
  input: string;
  output: string;
}

const noPhases = (): ProxyPhases => ({ download: 0, probe: 0, probeRuns: 0, outputFacts: 0, outputReadBy: '', ffmpeg: 0, hash: 0, upload: 0, ffmpegRuns: 0, args: [], input: '', output: '' });

/** Replaces obj[method] (an async method) on this instance with one that reports its wall time. */
function timeMethod(obj: object, method: string, record: (seconds: number, args: unknown[], started: number, result: unknown) => void): void {
  const target = obj as Record<string, unknown>;
  const original = target[method];
  if (typeof original !== 'function') throw new Error(`bench: cannot time ${method}: not a method`);
  target[method] = async (...args: unknown[]) => {
    const t0 = performance.now();
    let result: unknown;
    try {
      result = await (original as (...a: unknown[]) => Promise<unknown>).apply(obj, args);
      return result;
    } finally {
      record((performance.now() - t0) / 1000, args, t0, result);
    }
  };
}

/** An argument list with its input and output paths replaced by {input} and {output}. */
const argsShape = (args: readonly string[], input: string, output: string) => args.map((a) => (a === input ? '{input}' : a === output ? '{output}' : a));

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest('hex');
}

async function benchTranscode(ctx: Context): Promise<SectionBody> {
  const { options } = ctx;
  const dir = join(BENCH_DIR, 'transcode');
  const recorder = join(dir, 'recorder');
  const outDir = join(dir, 'direct');
  mkdirSync(recorder, { recursive: true });
  mkdirSync(outDir, { recursive: true });
  ctx.cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));

  // The proxy settings are the configuration's defaults, whatever the local config file says.
  const defaults = configSchema.shape.media.parse(undefined);
  const media = { proxyPreset: defaults.proxyPreset, proxyCrf: defaults.proxyCrf, proxyMaxHeight: defaults.proxyMaxHeight, audioBitrateKbps: defaults.audioBitrateKbps };
  const { env, dispose } = await benchEnv(ctx, 'benchtx', { media });
  const settings = env.config.media;
  const ffmpegBin = settings.ffmpegPath;

  // 1. The clip: 1080p30 H.264/AAC as a recorder writes it, and one copy per run that differs
  //    only in a container tag, so that every run makes, stores and records a new derivative.
  const master = join(dir, 'master.mp4');
  log(`transcode: generating a ${options.transcodeSeconds} s 1080p30 H.264/AAC clip`);
  const g0 = performance.now();
  // prettier-ignore
  const generate = [
    '-hide_banner', '-nostdin', '-v', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=30',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(options.transcodeSeconds),
    '-c:v', 'libx264', '-preset', 'veryfast', '-g', '30', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-b:a', '128k', '-shortest', '-movflags', '+faststart', master,
  ];
  await run(ffmpegBin, generate);
  const generateSeconds = (performance.now() - g0) / 1000;
  const names = Array.from({ length: options.runs }, (_, i) => `CLIP_${String(i + 1).padStart(4, '0')}.MP4`);
  for (const [i, name] of names.entries()) {
    await run(ffmpegBin, ['-hide_banner', '-nostdin', '-v', 'error', '-y', '-i', master, '-map', '0', '-c', 'copy', '-metadata', `comment=evidock bench copy ${i + 1}`, '-movflags', '+faststart', join(recorder, name)]);
  }
  const prober = new FfprobeProber(settings);
  const probed = await prober.probe(join(recorder, names[0]!));
  if (!probed.ok) throw new Error(`transcode: ffprobe of the clip failed: ${probed.error}`);
  const info: ProbeInfo = probed.info;
  const video = info.streams.find((s) => s.kind === 'video');
  const audio = info.streams.find((s) => s.kind === 'audio');
  const duration = info.durationSeconds;
  if (!video || video.width !== 1920 || video.height !== 1080 || !audio || duration === null) throw new Error(`transcode: unexpected clip: ${JSON.stringify(info.streams)}`);
  const clipBytes = statSync(join(recorder, names[0]!)).size;
  log(`transcode: clip ${duration.toFixed(2)} s, ${fmtMiB(clipBytes)}, made in ${fmtS(generateSeconds)}; ingesting ${names.length} cop${names.length === 1 ? 'y' : 'ies'}`);

  // 2. Ingest them once through the real pipeline (kept on the "recorder": the direct side reads them).
  const rt = await env.runtime();
  const { files } = await importFolder(rt, recorder, { serial: 'BENCH-TRANSCODE', json: true, clear: false });
  const byName = new Map(files.map((f) => [basename(f.displayPath), f]));
  for (const name of names) {
    const f = byName.get(name);
    if (!f || f.stage !== 'kept' || !f.evidenceId || !f.sha256 || f.duplicate) throw new Error(`transcode: ${name} was not stored as its own evidence: ${JSON.stringify(f ?? null)}`);
  }
  // Nothing else of evidock runs during the timed sides (the queued jobs stay unserved).
  await rt.pool?.close();
  // The metadata job, untimed, as in the pipeline: it probes the original, stores the probe
  // and queues the proxy job, which reuses that probe.
  for (const name of names) {
    const f = byName.get(name)!;
    const status = await rt.media.handleMetadata({ evidenceId: f.evidenceId!, objectKey: originalKey(f.sha256!) });
    if (status !== JobStatus.Success) throw new Error(`transcode: handleMetadata of ${name} returned ${status}`);
  }

  // 3. Time the steps inside handleProxy, on this runtime's own MediaService dependencies.
  const deps = (rt.media as unknown as { deps?: MediaDeps }).deps;
  if (!deps || !(deps.transcoder instanceof FfmpegTranscoder) || deps.objects !== rt.objects) throw new Error('transcode: rt.media is not built as expected (MediaService deps changed); cannot time its steps');
  let phases = noPhases();
  let downloadStarted: number | null = null;
  timeMethod(deps.transcoder, 'run', (seconds, args) => {
    const list = args[0] as string[];
    phases.ffmpeg += seconds;
    phases.ffmpegRuns += 1;
    phases.args = [...list];
    phases.input = list[list.indexOf('-i') + 1] ?? '';
    phases.output = list.at(-1) ?? '';
  });
  timeMethod(deps.prober, 'probe', (seconds) => {
    phases.probe += seconds;
    phases.probeRuns += 1;
  });
  timeMethod(deps.prober, 'probeOutput', (seconds, _args, _started, result) => {
    phases.outputFacts += seconds;
    phases.outputReadBy = (result as { readBy?: string } | undefined)?.readBy ?? '?';
  });
  timeMethod(deps.objects, 'read', (_s, args, started) => {
    if (args[0] === 'originals') downloadStarted = started;
  });
  timeMethod(deps.objects, 'putFile', (seconds, args) => {
    if (args[0] === 'derivatives') phases.upload += seconds;
  });
  const workspaces = deps.workspaces as unknown as { create: (label: string) => Promise<Workspace> };
  const create = workspaces.create.bind(workspaces);
  workspaces.create = async (label) => {
    const ws = await create(label);
    timeMethod(ws, 'write', () => {
      phases.download += (performance.now() - (downloadStarted ?? performance.now())) / 1000;
      downloadStarted = null;
    });
    timeMethod(ws, 'digest', (seconds) => (phases.hash += seconds));
    return ws;
  };

  const bytes = clipBytes;
  const direct = newSide('ffmpeg direct', bytes, duration);
  const service = newSide('handleProxy', bytes, duration);
  const adapter = newSide('ffmpeg via FfmpegTranscoder (inside handleProxy)', bytes, duration);
  const perRun: ProxyPhases[] = [];
  let directShape: string[] | null = null;
  let identical = 0;
  let proxySize = '';
  const directOutputs: string[] = [];
  const sides = [direct, service];
  for (let i = 0; i < options.runs; i++) {
    const name = names[i]!;
    const input = join(recorder, name);
    const file = byName.get(name)!;
    const output = join(outDir, `proxy-${i + 1}.mp4`);
    for (const side of rotated(sides, i)) {
      await ctx.cache.prepare([input]);
      // The tools start warm on both sides, as on a working daemon: without this the first of
      // them to start (ffprobe in handleProxy, ffmpeg on the direct side) pays for reading
      // libavcodec & co. from disk, which says nothing about either side.
      await run(ffmpegBin, ['-hide_banner', '-version']);
      await run(settings.ffprobePath, ['-hide_banner', '-version']);
      if (side === direct) {
        const args = proxyVideoArgs(input, output, info, settings);
        directShape = argsShape(args, input, output);
        const s = await timed(direct, ctx.minioPid, async () => void (await run(ffmpegBin, args)));
        directOutputs[i] = output;
        log(`transcode run ${i + 1}/${options.runs}: ffmpeg direct  ${fmtS(s.seconds)}  ${realtime(duration, s.seconds)}  cpu ${s.cpu.toFixed(2)} s`);
      } else {
        phases = noPhases();
        const s = await timed(service, ctx.minioPid, async () => {
          const status = await rt.media.handleProxy({ evidenceId: file.evidenceId!, objectKey: originalKey(file.sha256!) });
          if (status !== JobStatus.Success) throw new Error(`transcode: handleProxy returned ${status}`);
        });
        if (phases.ffmpegRuns !== 1) throw new Error(`transcode: handleProxy ran ffmpeg ${phases.ffmpegRuns} times`);
        perRun.push(phases);
        adapter.samples.push({ seconds: phases.ffmpeg, cpu: Number.NaN });
        log(
          `transcode run ${i + 1}/${options.runs}: handleProxy    ${fmtS(s.seconds)}  ${realtime(duration, s.seconds)}  (ffmpeg ${fmtS(phases.ffmpeg)}, ${realtime(duration, phases.ffmpeg)})  cpu ${s.cpu.toFixed(2)} s  minio cpu ${s.serverCpu?.toFixed(2) ?? '?'} s`,
        );
      }
    }
    // Both sides of this run: the same argument list, and (x264 being deterministic) the same bytes?
    const ran = perRun.at(-1)!;
    const serviceShape = argsShape(ran.args, ran.input, ran.output);
    if (JSON.stringify(serviceShape) !== JSON.stringify(directShape)) {
      throw new Error(`transcode: handleProxy ran a different ffmpeg command than proxyVideoArgs gave the direct side:\n${serviceShape.join(' ')}\n${directShape?.join(' ')}`);
    }
    const derivative = (await rt.catalog.derivativesOf(file.evidenceId!)).find((d) => d.kind === 'proxy');
    if (!derivative || derivative.partial || derivative.height !== Math.min(settings.proxyMaxHeight, 1080)) throw new Error(`transcode: no complete proxy recorded for ${name}: ${JSON.stringify(derivative ?? null)}`);
    proxySize = `${derivative.width}x${derivative.height}`;
    const madeDirect = await prober.probe(directOutputs[i]!);
    if (!madeDirect.ok || Math.abs((madeDirect.info.durationSeconds ?? 0) - duration) > 1) throw new Error(`transcode: the direct proxy of ${name} is not complete`);
    if ((await sha256File(directOutputs[i]!)) === derivative.sha256) identical++;
    rmSync(directOutputs[i]!, { force: true });
  }
  const proxyBytes = median(
    await Promise.all(files.filter((f) => f.evidenceId).map(async (f) => (await rt.catalog.derivativesOf(f.evidenceId!)).find((d) => d.kind === 'proxy')?.size ?? 0)),
  );
  const toolVersion = await deps.transcoder.version();
  rt.objects.close();
  await dispose();

  const med = (f: (p: ProxyPhases) => number) => median(perRun.map(f));
  const around = perRun.map((p, i) => (service.samples[i]?.seconds ?? Number.NaN) - p.ffmpeg);
  const other = perRun.map((p, i) => around[i]! - p.download - p.probe - p.outputFacts - p.hash - p.upload);
  const cpu = (side: Side) => median(side.samples.map((x) => x.cpu)).toFixed(2);
  const clip = `${duration.toFixed(0)} s 1080p30 clip`;
  const overhead = medianSeconds(service) / medianSeconds(direct);
  return {
    title: 'Transcode',
    sides: [direct, service, adapter],
    rows: [
      timeRatioRow(
        `Proxy of a ${clip}, handleProxy vs ffmpeg`,
        service,
        direct,
        TARGETS.transcodeOverhead,
        `MediaService.handleProxy end to end (the original's probe as the metadata job stored it, download the original from MinIO into a workspace, ffmpeg through FfmpegTranscoder, the proxy's duration and size from its own MP4 header, SHA-256, upload to the derivatives bucket, catalog row + DERIVED ledger event) vs the same ffmpeg argument list (proxyVideoArgs, same settings) spawned directly on the same file on local disk. Speed is clip duration (${duration.toFixed(2)} s) over median wall time; the ratio (${overhead.toFixed(3)}) is the overhead ratio.`,
      ),
      timeRatioRow(
        `Proxy of a ${clip}, ffmpeg through FfmpegTranscoder vs ffmpeg`,
        adapter,
        direct,
        null,
        'Only the transcoder.run call inside handleProxy (fluent-ffmpeg\'s spawner, progress and stderr readers, stall timer) vs the direct spawn: the part of the overhead that is the adapter, not the pipeline around it.',
      ),
    ],
    notes: [
      `Proxy settings: the configuration defaults (media.proxyPreset ${settings.proxyPreset}, proxyCrf ${settings.proxyCrf}, proxyMaxHeight ${settings.proxyMaxHeight}, audioBitrateKbps ${settings.audioBitrateKbps}); ${toolVersion}. Output ${proxySize} H.264 High + AAC, ${fmtMiB(proxyBytes)} per proxy (median).`,
      `Command (both sides, checked equal in every run): \`ffmpeg ${(directShape ?? []).join(' ')}\`.`,
      `Clip: ${(duration).toFixed(2)} s of testsrc2 1920x1080 at 30 fps + 440 Hz sine, libx264 -preset veryfast -g 30 yuv420p + AAC 128 kb/s, faststart MP4, ${fmtMiB(clipBytes)} (${((clipBytes * 8) / duration / 1e6).toFixed(1)} Mb/s); generating it took ${fmtS(generateSeconds)}. One copy per run, differing only in a container comment, each imported as its own evidence (importFolder, clear off), so every run made, uploaded and recorded a new proxy: with one evidence item, runs after the first would transcode just the same and then skip the upload, the recipe being already stored.`,
      `handleProxy split (medians): ffmpeg through the adapter ${fmtS(med((p) => p.ffmpeg))}; around it ${fmtS(median(around))} = download to the workspace ${fmtS(med((p) => p.download))}, ffprobe ${fmtS(med((p) => p.probe))} (${perRun.map((p) => p.probeRuns).join('/')} runs of it per job: the metadata job's stored probe of the original was used), proxy facts from its header ${fmtS(med((p) => p.outputFacts))} (read by ${[...new Set(perRun.map((p) => p.outputReadBy))].join(', ')}), SHA-256 of the proxy ${fmtS(med((p) => p.hash))}, upload ${fmtS(med((p) => p.upload))}, catalog + ledger + workspace ${fmtS(median(other))}.`,
      `The direct and evidock proxies were byte-identical (SHA-256 of the direct output = the recorded derivative's) in ${identical} of ${options.runs} runs${identical === options.runs ? ': the same command on the same bytes, as x264 is deterministic for a given command and thread count' : ''}.`,
      `CPU seconds per side (median): ffmpeg direct ${cpu(direct)} s, handleProxy ${cpu(service)} s (node + ffmpeg + ffprobe; MinIO ${median(service.samples.map((x) => x.serverCpu ?? Number.NaN)).toFixed(2)} s more). x264 uses every core, so on ${os.availableParallelism()} CPUs whatever else runs (MinIO, PostgreSQL, Redis, other sessions) is taken straight from the transcode: the real-time multiples are this machine's at this load, not the codec's.`,
      `Before each side: ${ctx.cache.canDrop ? 'the page cache was dropped, so the input was read cold on both sides (the local file by ffmpeg direct, MinIO\'s copy of the original for handleProxy), then' : 'the input was read once, then'} \`ffmpeg -version\` and \`ffprobe -version\` ran once, so that both sides start their tools with the libraries in memory, as a working daemon does.`,
      'handleProxy ran in the bench process; the daemon runs transcode jobs in a sandboxed child process (BullMQ), whose start and job hand-off are not included here.',
    ],
  };
}

// ---- 6. throttled source: acquire from a reader limited to USB 2.0 and USB 3 rates ----------

/** The source as a recorder on a slow bus delivers it: at most `bytesPerSecond`, paced per chunk. */
function throttled(source: Readable, bytesPerSecond: number): Readable {
  return Readable.from(
    (async function* () {
      const t0 = performance.now();
      let sent = 0;
      for await (const chunk of source as AsyncIterable<Buffer>) {
        sent += chunk.length;
        const due = t0 + (sent / bytesPerSecond) * 1000;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        yield chunk;
      }
    })(),
    { objectMode: false, highWaterMark: 1 << 20 },
  );
}

async function benchThrottle(ctx: Context): Promise<SectionBody> {
  const { options } = ctx;
  const dest = join(BENCH_DIR, 'spool-throttle');
  const sides: Side[] = [];
  const rows: Row[] = [];
  const notes: string[] = [];
  for (const [at, mbpsRate] of options.throttleMBps.entries()) {
    const rate = mbpsRate * 1e6;
    // Enough data for a few seconds at the rate: the first files of the data set.
    const count = Math.max(1, Math.min(ctx.names.length, Math.ceil((4 * rate) / (options.sizeMiB * MiB))));
    const names = ctx.names.slice(0, count);
    const bytes = count * options.sizeMiB * MiB;
    const drain = newSide(`${mbpsRate} MB/s: source alone (paced reader drained)`, bytes);
    const sha = newSide(`${mbpsRate} MB/s: evidock sha256`, bytes);
    const shaSm3 = newSide(`${mbpsRate} MB/s: evidock sha256+sm3`, bytes);
    const pass = (algorithms: readonly HashAlgorithm[] | null) => async () => {
      const volume = await openDirectoryVolume(ctx.dataDir, { serial: 'BENCH' });
      if (!volume) throw new Error(`cannot open ${ctx.dataDir} as a volume`);
      for (const name of names) {
        const source = throttled(await volume.open(Buffer.from(name), 0), rate);
        if (algorithms === null) {
          for await (const _ of source) void _;
          continue;
        }
        await copyWithDigests({ source, spoolPath: join(dest, name), resumeFrom: 0, algorithms, ...checkpointsOf(ctx.base.ingest), onCheckpoint: async () => undefined });
      }
    };
    const timedSides = [
      { side: drain, work: pass(null) },
      { side: sha, work: pass(['sha256']) },
      { side: shaSm3, work: pass(['sha256', 'sm3']) },
    ];
    for (let i = 0; i < options.runs; i++) {
      for (const { side, work } of rotated(timedSides, i)) {
        rmSync(dest, { recursive: true, force: true });
        mkdirSync(dest, { recursive: true });
        await ctx.cache.prepare(names.map((n) => join(ctx.dataDir, n)));
        const s = await timed(side, null, work);
        log(`throttle run ${i + 1}/${options.runs}: ${side.label.padEnd(44)} ${fmtS(s.seconds)}  ${(bytes / 1e6 / s.seconds).toFixed(1)} MB/s`);
      }
    }
    rmSync(dest, { recursive: true, force: true });
    const mbps = (side: Side) => bytes / 1e6 / medianSeconds(side);
    // The issue's target is for SHA-256 at a throttled rate; SM3 is reported separately, and
    // held to it only at the first (USB 2.0) rate, which one core's SM3 is far above.
    const row = (side: Side, targeted: boolean): Row => {
      const ratio = mbps(side) / mbpsRate;
      return {
        what: `Acquire from a ${mbpsRate} MB/s source, ${side.label.replace(/^.*evidock /, '')}`,
        evidock: `${fmtS(medianSeconds(side))} · ${mbps(side).toFixed(1)} MB/s`,
        baseline: `source rate ${mbpsRate} MB/s (drained alone: ${mbps(drain).toFixed(1)} MB/s)`,
        ratio: `${ratio.toFixed(3)}× source rate (${(mbps(side) / mbps(drain)).toFixed(3)}× drained)`,
        target: targeted ? `≥ ${TARGETS.throttledVsSource.toFixed(2)}× source rate` : '—',
        met: targeted ? ratio >= TARGETS.throttledVsSource : null,
        explain: `copyWithDigests reading ${count} × ${options.sizeMiB} MiB through DirectoryVolume.open behind a reader paced to ${mbpsRate} MB/s (10^6 B/s; ${usbClass(mbpsRate)}), vs the rate itself and vs the same paced reader drained with nothing else to do.`,
      };
    };
    sides.push(drain, sha, shaSm3);
    rows.push(row(sha, true), row(shaSm3, at === 0));
    notes.push(
      `At ${mbpsRate} MB/s the pacing is per 1 MiB chunk (a chunk is released when the bytes so far are due), so a copy that keeps up finishes within one chunk time (${((MiB / rate) * 1000).toFixed(1)} ms) of the source. CPU seconds per side (median): ${[drain, sha, shaSm3].map((x) => `${x.label.replace(/^[^:]*: /, '')} ${median(x.samples.map((y) => y.cpu)).toFixed(2)}`).join(', ')}.`,
    );
  }
  notes.push(
    'Physical limits: USB 2.0 High-Speed is 480 Mb/s signalling, 35–40 MB/s for mass storage in practice; USB 3.x Gen 1 is 5 Gb/s, ≈ 350–450 MB/s in practice (recorder flash is often slower). At either rate SHA-256 (≈ 1.7 GB/s on one core here) is far from the limit; SM3 (≈ 150–400 MB/s on one core) keeps up with USB 2.0 but is the limit at USB 3 rates when it is enabled.',
  );
  return { title: 'Throttled source', sides, rows, notes };
}

function usbClass(mbps: number): string {
  if (mbps <= 45) return 'USB 2.0 mass storage reaches 35–40 MB/s in practice';
  if (mbps <= 500) return 'USB 3.x Gen 1 mass storage reaches ≈ 350–450 MB/s in practice';
  return 'faster than a recorder\'s USB link';
}

// ---- 6b. at bus speed: the recorder's disk read through the kernel's blkio throttle -----------

async function benchBus(ctx: Context): Promise<SectionBody> {
  const { options } = ctx;
  const throttle = ReadThrottle.open(ctx.dataDir);
  if (typeof throttle === 'string') {
    log(`bus: not measured: ${throttle}`);
    return {
      title: 'At bus speed',
      sides: [],
      rows: options.busMBps.map((rate) => ({
        what: `Acquire at ${rate} MB/s (recorder disk read-limited by the kernel), sha256 vs cp`,
        evidock: 'not measured',
        baseline: '—',
        ratio: '—',
        target: `≤ ${TARGETS.acquireVsCp.toFixed(2)}× time`,
        met: null,
        explain: `The kernel's read limit could not be set here: ${throttle}.`,
      })),
      notes: [`Not measured on this machine: ${throttle}. It needs root and a cgroup blkio (v1) or io (v2) controller.`],
    };
  }
  const dest = join(BENCH_DIR, 'spool-bus');
  const ingestConfig = ctx.base.ingest;
  const atOnce = ingestConfig.maxConcurrentAcquisitions;
  const sides: Side[] = [];
  const rows: Row[] = [];
  const notes: string[] = [];
  try {
    for (const rate of options.busMBps) {
      // A few seconds of reading at the rate, from the start of the data set.
      const count = Math.max(1, Math.min(ctx.names.length, Math.ceil((5 * rate * 1e6) / (options.sizeMiB * MiB))));
      const names = ctx.names.slice(0, count);
      const sources = names.map((n) => join(ctx.dataDir, n));
      const bytes = count * options.sizeMiB * MiB;
      const copy = (algorithms: readonly HashAlgorithm[], n: number) => async () => {
        const volume = await openDirectoryVolume(ctx.dataDir, { serial: 'BENCH' });
        if (!volume) throw new Error(`cannot open ${ctx.dataDir} as a volume`);
        const queue = [...names];
        const copier = async () => {
          for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
            const source = await volume.openFile(Buffer.from(name));
            await copyWithDigests({ source, spoolPath: join(dest, name), resumeFrom: 0, algorithms, ...checkpointsOf(ingestConfig), onCheckpoint: async () => undefined, onProgress: () => undefined });
          }
        };
        await Promise.all(Array.from({ length: n }, copier));
      };
      const cp = newSide(`${rate} MB/s: cp`, bytes);
      const cat = newSide(`${rate} MB/s: cat > /dev/null`, bytes);
      const sha = newSide(`${rate} MB/s: evidock sha256`, bytes);
      const shaN = newSide(`${rate} MB/s: evidock sha256, ${atOnce} at once`, bytes);
      const shaSm3 = newSide(`${rate} MB/s: evidock sha256+sm3, ${atOnce} at once`, bytes);
      const timedSides = [
        { side: cp, work: async () => void (await run('cp', [...sources, dest])) },
        { side: cat, work: async () => void (await run('sh', ['-c', 'cat "$@" > /dev/null', 'sh', ...sources])) },
        { side: sha, work: copy(['sha256'], 1) },
        { side: shaN, work: copy(['sha256'], atOnce) },
        { side: shaSm3, work: copy(['sha256', 'sm3'], atOnce) },
      ];
      throttle.limit(rate * 1e6);
      for (let i = 0; i < options.runs; i++) {
        for (const { side, work } of rotated(timedSides, i)) {
          rmSync(dest, { recursive: true, force: true });
          mkdirSync(dest, { recursive: true });
          // Cold, or the limit would not apply: cached pages are not read from the disk.
          await ctx.cache.prepare(sources);
          const s = await throttle.within(() => timed(side, null, work));
          log(`bus run ${i + 1}/${options.runs}: ${side.label.padEnd(40)} ${fmtS(s.seconds)}  ${(bytes / 1e6 / s.seconds).toFixed(1)} MB/s  cpu ${s.cpu.toFixed(2)} s`);
        }
      }
      rmSync(dest, { recursive: true, force: true });
      const mbps = (side: Side) => bytes / 1e6 / medianSeconds(side);
      const what = `${count} × ${options.sizeMiB} MiB at ${rate} MB/s`;
      const vsRate = (side: Side, targeted: boolean): Row => ({
        what: `Acquire ${what}, ${side.label.replace(/^.*evidock /, '')} vs the bus rate`,
        evidock: `${fmtS(medianSeconds(side))} · ${mbps(side).toFixed(1)} MB/s`,
        baseline: `read limit ${rate} MB/s (cat alone: ${mbps(cat).toFixed(1)} MB/s)`,
        ratio: `${(mbps(side) / rate).toFixed(3)}× the limit (${(mbps(side) / mbps(cat)).toFixed(3)}× cat)`,
        target: targeted ? `≥ ${TARGETS.throttledVsSource.toFixed(2)}× source rate` : '—',
        met: targeted ? mbps(side) / rate >= TARGETS.throttledVsSource : null,
        explain: `copyWithDigests from the recording's file handle (the copy thread, as a mass-storage recorder is acquired) with the recorder disk's reads limited to ${rate} MB/s by the kernel (${usbClass(rate)}), vs the limit and vs \`cat\` of the same files to /dev/null under it.`,
      });
      rows.push(
        timeRatioRow(`Acquire ${what}, sha256 vs cp`, sha, cp, TARGETS.acquireVsCp, `copyWithDigests one file after the other vs \`cp\` of the same files between the same two directories, both with the recorder disk's reads limited to ${rate} MB/s by the kernel (${usbClass(rate)}).`),
        timeRatioRow(`Acquire ${what}, sha256, ${atOnce} at once vs cp`, shaN, cp, TARGETS.acquireVsCp, `The same with ${atOnce} files in flight, as the pipeline acquires a recorder.`),
        vsRate(sha, true),
        timeRatioRow(`Acquire ${what}, sha256+sm3, ${atOnce} at once vs cp`, shaSm3, cp, null, 'With SM3 added to the hash set (reported separately): SM3 runs in a digest thread beside each copy.'),
      );
      sides.push(cp, cat, sha, shaN, shaSm3);
      notes.push(
        `At ${rate} MB/s: CPU seconds per side (median) ${[cp, cat, sha, shaN, shaSm3].map((x) => `${x.label.replace(/^[^:]*: /, '')} ${median(x.samples.map((y) => y.cpu)).toFixed(2)}`).join(', ')}; disk reads (read_bytes) per byte, evidock sha256 ${(median(sha.samples.map((x) => x.readBytes ?? 0)) / bytes).toFixed(2)}×.`,
      );
    }
  } finally {
    throttle.dispose();
  }
  notes.unshift(
    `The recorder stand-in is the data set's directory; the kernel limits every read of its disk by this process and its children (${throttle.describe()}), cold before every side, so \`cp\`, \`cat\` and evidock read it at most as fast as a recorder on that bus gives its bytes. Writes (the spool, on the same disk here) are not limited.`,
  );
  return { title: 'At bus speed', sides, rows, notes };
}

// ---- 7. search over a large catalog -----------------------------------------------------------

/** Units of the generated catalog: a root and UNITS children, items spread over the children. */
const CATALOG_UNITS = 20;
const CATALOG_ROOT = 'BENCH';

interface Catalog {
  rows: number;
  officers: number;
  cases: number;
  spanSeconds: number;
  loadSeconds: number;
}

/**
 * Bulk-generates `rows` evidence rows (generate_series) in the shape of a real archive: ~500
 * items per officer over three years, ~20 per case, one item in seven in two cases, items
 * spread over the units U0..U19 (children of BENCH, created first through the identity service
 * so their paths are maintained), then ANALYZE.
 */
async function generateCatalog(rt: Runtime, rows: number): Promise<Catalog> {
  const officers = Math.max(1, Math.round(rows / 500));
  const cases = Math.max(1, Math.round(rows / 20));
  const spanSeconds = 3 * 365 * 86400;
  const t0 = performance.now();
  await rt.identity.addUnit({ id: CATALOG_ROOT, name: 'bench root', parentId: null }, 'bench');
  for (let u = 0; u < CATALOG_UNITS; u++) await rt.identity.addUnit({ id: `U${u}`, name: `bench unit ${u}`, parentId: CATALOG_ROOT }, 'bench');
  await rt.db.query(
    `INSERT INTO evidence (id, sha256, size, media_type, object_key, object_etag, original_name, original_path, recorder_serial,
        officer_id, unit_id, case_numbers, subject, place, capture_start, capture_end, first_session_id, acquired_at, verified_at)
     SELECT gen_random_uuid(), md5(i::text) || md5((-i)::text), 100000000 + i, 'video', 'sha256/' || i, md5(i::text), 'REC_' || i || '.MP4', 'DCIM/REC_' || i || '.MP4',
        'SN' || (i % $2), 'P' || (i % $2), 'U' || (i % $5),
        CASE WHEN i % 7 = 0 THEN ARRAY['C' || (i % $3), 'C' || ((i * 31) % $3)] ELSE ARRAY['C' || (i % $3)] END,
        'subject ' || i, 'place ' || (i % 1000),
        timestamptz '2024-01-01 00:00:00+00' + ((i::bigint * $4 / $1) * interval '1 second'),
        timestamptz '2024-01-01 00:10:00+00' + ((i::bigint * $4 / $1) * interval '1 second'),
        gen_random_uuid(), now(), now()
     FROM generate_series(1, $1::int) AS i`,
    [rows, officers, cases, spanSeconds, CATALOG_UNITS],
  );
  await rt.db.query('ANALYZE evidence');
  return { rows, officers, cases, spanSeconds, loadSeconds: (performance.now() - t0) / 1000 };
}

/** The ORDER BY of CatalogRepository.search (storage/catalog.repository.ts), for the EXPLAINs. */
const SEARCH_ORDER = `coalesce(capture_start, '-infinity'::timestamptz) DESC, id DESC`;

async function benchSearch(ctx: Context): Promise<SectionBody> {
  const rows = ctx.options.searchRows;
  const { env, dispose } = await benchEnv(ctx, 'benchsearch');
  const rt = await env.runtime();
  const { officers, cases, spanSeconds, loadSeconds } = await generateCatalog(rt, rows);
  log(`search: ${rows} catalog rows generated in ${fmtS(loadSeconds)}`);

  const queries = ctx.options.searchQueries;
  let seed = 12345;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const byCase = async () => {
    const r = await rt.catalog.search({ caseNumber: `C${rand(cases)}` });
    return r.length;
  };
  const byOfficer = async () => {
    const from = new Date(Date.UTC(2024, 0, 1) + rand(spanSeconds - 30 * 86400) * 1000);
    const r = await rt.catalog.search({ officerId: `P${rand(officers)}`, from, to: new Date(from.getTime() + 30 * 86400_000) });
    return r.length;
  };
  const measure = async (fn: () => Promise<number>) => {
    for (let i = 0; i < 20; i++) await fn();
    const ms: number[] = [];
    let found = 0;
    for (let i = 0; i < queries; i++) {
      const q0 = performance.now();
      found += await fn();
      ms.push(performance.now() - q0);
    }
    ms.sort((a, b) => a - b);
    return { p50: ms[Math.floor(ms.length * 0.5)]!, p95: ms[Math.min(ms.length - 1, Math.ceil(ms.length * 0.95) - 1)]!, max: ms.at(-1)!, found: found / queries };
  };
  const c = await measure(byCase);
  const o = await measure(byOfficer);
  const plan = async (sql: string, values: unknown[]) =>
    (await rt.db.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, values)).rows
      .map((r) => r['QUERY PLAN'])
      .filter((l) => /Scan|Sort/.test(l))
      .map((l) => l.trim().replace(/\s+\(cost.*$/, ''))
      .join(' → ');
  const casePlan = await plan(`SELECT * FROM evidence WHERE case_numbers @> ARRAY[$1::text] ORDER BY ${SEARCH_ORDER} LIMIT 1000`, ['C1']);
  const officerPlan = await plan(`SELECT * FROM evidence WHERE officer_id = $1 AND capture_start >= $2 AND capture_start < $3 ORDER BY ${SEARCH_ORDER} LIMIT 1000`, ['P1', new Date('2025-01-01'), new Date('2025-01-31')]);
  rt.objects.close();
  await dispose();
  const row = (what: string, m: typeof c, target: number, explain: string): Row => ({
    what,
    evidock: `p95 ${m.p95.toFixed(1)} ms (p50 ${m.p50.toFixed(1)}, max ${m.max.toFixed(1)})`,
    baseline: '—',
    ratio: `${(m.p95 / target).toFixed(2)}× target`,
    target: `p95 ≤ ${target} ms`,
    met: m.p95 <= target,
    explain,
  });
  const n = rows.toLocaleString('en-US');
  return {
    title: 'Search',
    sides: [],
    rows: [
      row(`Search by case number, ${n} items`, c, TARGETS.searchCaseMs, `CatalogRepository.search({ caseNumber }) — the query \`evidock search --case\` runs — ${queries} random case numbers after 20 warm-up queries; ${c.found.toFixed(1)} items per answer on average.`),
      row(`Search by officer + 30-day range, ${n} items`, o, TARGETS.searchOfficerMs, `CatalogRepository.search({ officerId, from, to }) with a random officer and a random 30-day window, ${queries} queries after 20 warm-up; ${o.found.toFixed(1)} items per answer on average.`),
    ],
    notes: [
      `${n} evidence rows bulk-generated with generate_series into an isolated database (${fmtS(loadSeconds)} including index builds and ANALYZE): ${officers} officers (~500 items each over three years), ${cases} cases (~20 items each, one item in seven in two cases), spread over ${CATALOG_UNITS} units. Latency is measured in the bench process around the pg round trip and row mapping, over the local socket to PostgreSQL.`,
      `Plans (EXPLAIN of the query search() sends, ORDER BY ${SEARCH_ORDER} LIMIT 1000): by case ${casePlan}; by officer + range ${officerPlan}. Indexes: the GIN on case_numbers and the btree on (officer_id, capture_start) of migration 001 find the rows; migration 004 adds evidence_capture_order on (coalesce(capture_start, '-infinity'), id) DESC, the search order itself, for unfiltered and keyset-paged listings. Migration 005 turns GIN fast update off, so a search never scans a pending list of new entries (on a freshly loaded catalog it cost a case search about 1 ms). A filtered search sorts its matches (a case has ~20, an officer ~14 in 30 days), so the order index is not needed for these two.`,
    ],
  };
}

// ---- 8. the archive server's API ---------------------------------------------------------------

/**
 * The load generator of the api section, run in a worker thread so that the clients do not
 * share the event loop of the server under test: `concurrency` clients on keep-alive
 * connections (node:http), each taking the next request of the list; the warm-up list first,
 * untimed. Per request: time to the first body byte and to the end of the response.
 */
const LOAD_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { performance } = require('node:perf_hooks');
const { origin, warmup, timed, concurrency, countItems } = workerData;
const url = new URL(origin);
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
function one(r) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let first = null;
    let bytes = 0;
    const chunks = [];
    const failed = (e) => resolve({ status: 0, ttfb: 0, total: 0, bytes, found: 0, error: String(e && e.message || e) });
    const req = http.request({ hostname: url.hostname, port: url.port, path: r.path, method: 'GET', headers: r.headers, agent }, (res) => {
      res.on('data', (d) => {
        if (first === null) first = performance.now();
        bytes += d.length;
        if (countItems || res.statusCode >= 300) chunks.push(d);
      });
      res.on('end', () => {
        const t1 = performance.now();
        const text = chunks.length ? Buffer.concat(chunks).toString('utf8') : '';
        let found = 0;
        let error = null;
        if (res.statusCode >= 300) error = res.statusCode + ' ' + text.slice(0, 300);
        else if (countItems) {
          try { found = JSON.parse(text).items.length; } catch { error = 'not JSON: ' + text.slice(0, 100); }
        }
        resolve({ status: res.statusCode, ttfb: (first === null ? t1 : first) - t0, total: t1 - t0, bytes, found, error });
      });
      res.on('error', failed);
    });
    req.on('error', failed);
    req.end();
  });
}
async function phase(list) {
  let next = 0;
  const out = [];
  const client = async () => { for (let i = next++; i < list.length; i = next++) out.push(await one(list[i])); };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, client));
  return { out, seconds: (performance.now() - t0) / 1000 };
}
(async () => {
  await phase(warmup);
  const { out, seconds } = await phase(timed);
  agent.destroy();
  parentPort.postMessage({ seconds, results: out });
})().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
`;

interface LoadRequest {
  path: string;
  headers: Record<string, string>;
}

interface Latency {
  n: number;
  /** Whole response, ms. */
  p50: number;
  p95: number;
  max: number;
  /** To the first body byte, ms. */
  ttfb50: number;
  ttfb95: number;
  rps: number;
  /** Items per answer (searches), bytes per answer. */
  found: number;
  bytes: number;
}

interface LoadResult {
  status: number;
  ttfb: number;
  total: number;
  bytes: number;
  found: number;
  error: string | null;
}

/** Nearest-rank percentile of sorted values. */
const pct = (sorted: readonly number[], q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * q) - 1))]!;

function latencyOf(results: readonly LoadResult[], seconds: number): Latency {
  const total = results.map((r) => r.total).sort((a, b) => a - b);
  const ttfb = results.map((r) => r.ttfb).sort((a, b) => a - b);
  return {
    n: results.length,
    p50: pct(total, 0.5),
    p95: pct(total, 0.95),
    max: total.at(-1)!,
    ttfb50: pct(ttfb, 0.5),
    ttfb95: pct(ttfb, 0.95),
    rps: results.length / seconds,
    found: results.reduce((s, r) => s + r.found, 0) / results.length,
    bytes: results.reduce((s, r) => s + r.bytes, 0) / results.length,
  };
}

/** Runs `timed` (after `warmup`) at `concurrency` clients in a worker thread; throws on any error answer. */
async function load(origin: string, warmup: LoadRequest[], timed: LoadRequest[], concurrency: number, countItems = false): Promise<{ results: LoadResult[]; seconds: number }> {
  const worker = new Worker(LOAD_WORKER, { eval: true, workerData: { origin, warmup, timed, concurrency, countItems } });
  try {
    const answer = await new Promise<{ seconds: number; results: LoadResult[]; error?: string }>((resolveLoad, reject) => {
      worker.once('message', resolveLoad);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`load worker exited ${code} before it answered`)));
    });
    if (answer.error) throw new Error(`load worker: ${answer.error}`);
    const bad = answer.results.find((r) => r.error !== null);
    if (bad) throw new Error(`${answer.results.filter((r) => r.error !== null).length} of ${answer.results.length} requests failed, e.g. ${bad.error}`);
    return answer;
  } finally {
    await worker.terminate();
  }
}

async function startArchiveServer(rt: Runtime): Promise<{ origin: string; close: () => Promise<void> }> {
  const app = await buildArchiveServer(rt);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address() as AddressInfo;
  return { origin: `http://127.0.0.1:${address.port}`, close: () => app.close() };
}

/** An archive (isolated evidock, generated catalog, archive server) and a case-system key scoped to the catalog's root unit. */
async function apiArchive(ctx: Context, label: string, overrides: Record<string, unknown>): Promise<{ rt: Runtime; catalog: Catalog; origin: string; keyAuth: Record<string, string>; close: () => Promise<void> }> {
  const { env, dispose } = await benchEnv(ctx, label, overrides);
  const rt = await env.runtime();
  const catalog = await generateCatalog(rt, ctx.options.searchRows);
  const server = await startArchiveServer(rt);
  const key = await rt.identity.createKey({ name: `${label} case system`, role: 'case-system', unitIds: [CATALOG_ROOT] }, 'bench');
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await server.close().catch((e: Error) => log(`closing the archive server: ${e.message}`));
    rt.objects.close();
    await dispose();
  };
  ctx.cleanups.push(close);
  return { rt, catalog, origin: server.origin, keyAuth: { authorization: `Bearer ${key.key}` }, close };
}

/** Seals every unsealed access record; how many, in how long. */
async function sealAll(rt: Runtime): Promise<{ records: number; seconds: number }> {
  const t0 = performance.now();
  let records = 0;
  for (let n = await rt.access.seal(); n > 0; n = await rt.access.seal()) records += n;
  return { records, seconds: (performance.now() - t0) / 1000 };
}

async function benchApi(ctx: Context): Promise<SectionBody> {
  const o = ctx.options;
  const dir = join(BENCH_DIR, 'api');
  mkdirSync(dir, { recursive: true });
  ctx.cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  const uploadBytes = o.uploadMiB * MiB;
  // Batched access logging is the default; the document limit must let the upload in.
  const a = await apiArchive(ctx, 'benchapi', { server: { documentMaxMiB: Math.max(200, o.uploadMiB + 16) } });
  const { rt, catalog, origin, keyAuth } = a;
  const { officers, cases, spanSeconds } = catalog;
  const n = catalog.rows.toLocaleString('en-US');
  log(`api: ${catalog.rows} catalog rows generated in ${fmtS(catalog.loadSeconds)}; archive server at ${origin}`);
  let seed = 424242;
  const rand = (k: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % k;
  };
  const countFor = (clients: number) => Math.max(o.searchQueries, 8 * clients);
  const warmFor = (clients: number) => Math.max(20, 2 * clients);
  const rows: Row[] = [];
  const notes: string[] = [];

  // ---- 1. search through the API ----
  const byCase = (): LoadRequest => ({ path: `/api/v1/evidence?case=C${rand(cases)}&limit=50`, headers: keyAuth });
  const byOfficer = (): LoadRequest => {
    const from = new Date(Date.UTC(2024, 0, 1) + rand(spanSeconds - 30 * 86400) * 1000);
    const to = new Date(from.getTime() + 30 * 86400_000);
    return { path: `/api/v1/evidence?officer=P${rand(officers)}&from=${from.toISOString()}&to=${to.toISOString()}&limit=50`, headers: keyAuth };
  };
  const searchRow = (what: string, m: Latency, clients: number, explain: string): Row => {
    const target = clients === TARGETS.apiSearchClients ? TARGETS.apiSearchMs : null;
    return {
      what,
      evidock: `p95 ${m.p95.toFixed(1)} ms (p50 ${m.p50.toFixed(1)}, max ${m.max.toFixed(1)}; ${m.rps.toFixed(0)} req/s)`,
      baseline: '—',
      ratio: target === null ? '—' : `${(m.p95 / target).toFixed(2)}× target`,
      target: target === null ? '—' : `p95 ≤ ${target} ms`,
      met: target === null ? null : m.p95 <= target,
      explain,
    };
  };
  const found: string[] = [];
  for (const [kind, make, label] of [
    ['case', byCase, 'by case number'],
    ['officer', byOfficer, 'by officer + 30-day range'],
  ] as const) {
    for (const clients of o.apiClients) {
      const r = await load(origin, Array.from({ length: warmFor(clients) }, make), Array.from({ length: countFor(clients) }, make), clients, true);
      const m = latencyOf(r.results, r.seconds);
      log(`api search ${kind} at ${clients} clients: p50 ${m.p50.toFixed(1)} ms  p95 ${m.p95.toFixed(1)} ms  ${m.rps.toFixed(0)} req/s  ${m.found.toFixed(1)} items/answer`);
      if (clients === o.apiClients[0]) found.push(`${label} ${m.found.toFixed(1)}`);
      rows.push(
        searchRow(
          `API search ${label}, ${clients} client${clients === 1 ? '' : 's'}, ${n} items`,
          m,
          clients,
          `GET /api/v1/evidence?${kind === 'case' ? 'case=C<n>' : 'officer=P<n>&from=…&to=… (random 30-day window)'}&limit=50 with a case-system API key scoped to the root of ${CATALOG_UNITS} units, ${clients} concurrent keep-alive client${clients === 1 ? '' : 's'}, ${countFor(clients)} requests after ${warmFor(clients)} warm-up; from sending the request to the end of the JSON page (authentication, scoped search, poster lookup, access-log record, serialization).`,
        ),
      );
    }
  }
  notes.push(
    `Latency figures are the bench's own: a load generator in a worker thread (node:http, keep-alive, one connection per client; autocannon is not used because it gives no p95) records each request's time to the end of the response and to the first body byte; p50/p95 are nearest-rank percentiles of every timed request. The server (buildArchiveServer, Fastify) runs in the bench's main thread, PostgreSQL pool ${rt.config.postgres.maxConnections} connections; clients, server, PostgreSQL and MinIO share the machine's ${os.availableParallelism()} CPUs, so the 64-client figures measure queueing on them as much as the server.`,
    `The catalog: ${n} rows generated as for the search section, unit_id U0..U${CATALOG_UNITS - 1} (children of ${CATALOG_ROOT}); the key's scope adds \`unit_id = ANY(21 units) OR unit_id IS NULL\` to every search. Items per page on average: ${found.join(', ')}. Every search page also writes its access-log record (action search, the ids listed).`,
  );

  // ---- 2. time to first byte of a proxy range request ----
  const password = `Bench-${randomBytes(6).toString('hex')}-Aa1!`;
  await rt.identity.addUser({ name: 'bench-custodian', role: 'custodian', unitIds: [CATALOG_ROOT], password }, 'bench');
  await rt.db.query('UPDATE users SET must_change_password = false WHERE name = $1', ['bench-custodian']);
  const login = await fetch(`${origin}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'bench-custodian', password }) });
  if (!login.ok) throw new Error(`login failed: ${login.status} ${await login.text()}`);
  const cookie = login.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .find((c) => c.startsWith('evidock_session='));
  if (!cookie) throw new Error('the login set no evidock_session cookie');
  const proxyBytes = 20 * MiB;
  const proxyFile = join(dir, 'proxy.mp4');
  await writeRandomFile(proxyFile, proxyBytes);
  const proxySha = await sha256File(proxyFile);
  const [target] = (await rt.db.query<{ id: string }>(`SELECT id FROM evidence WHERE unit_id = 'U1' LIMIT 1`)).rows;
  if (!target) throw new Error('no evidence row for the proxy');
  const proxyKey = `proxies/bench/${target.id}.mp4`;
  await rt.objects.putFile('derivatives', proxyKey, proxyFile, proxyBytes, {});
  await rt.db.query(
    `INSERT INTO derivatives (id, evidence_id, kind, object_key, content_type, sha256, size, width, height, duration_seconds, tool, tool_version, arguments)
     VALUES (gen_random_uuid(), $1, 'proxy', $2, 'video/mp4', $3, $4, 1280, 720, 60, 'bench', '0', '[]'::jsonb)`,
    [target.id, proxyKey, proxySha, proxyBytes],
  );
  const span = 64 * 1024;
  const offsets: number[] = [];
  const rangeReq = (): LoadRequest => {
    const start = 1 + rand(proxyBytes - span - 1);
    offsets.push(start);
    return { path: `/api/v1/evidence/${target.id}/proxy`, headers: { cookie, range: `bytes=${start}-${start + span - 1}` } };
  };
  // The same ranges read from MinIO directly (ObjectStore.readRange), one at a time: what the server adds.
  const direct: number[] = [];
  for (let i = 0; i < 20 + o.searchQueries; i++) {
    const start = 1 + rand(proxyBytes - span - 1);
    const t0 = performance.now();
    const body = await rt.objects.readRange('derivatives', proxyKey, start, span);
    let first = 0;
    let got = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (got === 0) first = performance.now() - t0;
      got += chunk.length;
    }
    if (got !== span) throw new Error(`readRange gave ${got} bytes, expected ${span}`);
    if (i >= 20) direct.push(first);
  }
  direct.sort((x, y) => x - y);
  const proxyClients = [1, TARGETS.apiSearchClients];
  for (const clients of proxyClients) {
    const r = await load(origin, Array.from({ length: warmFor(clients) }, rangeReq), Array.from({ length: countFor(clients) }, rangeReq), clients);
    if (r.results.some((x) => x.status !== 206 || x.bytes !== span)) throw new Error('a proxy range request was not answered 206 with 64 KiB');
    const m = latencyOf(r.results, r.seconds);
    log(`api proxy range at ${clients} clients: ttfb p50 ${m.ttfb50.toFixed(1)} ms  p95 ${m.ttfb95.toFixed(1)} ms  whole p95 ${m.p95.toFixed(1)} ms`);
    const withTarget = clients === 1;
    rows.push({
      what: `Proxy range request, time to first byte, ${clients} client${clients === 1 ? '' : 's'}`,
      evidock: `p95 ${m.ttfb95.toFixed(1)} ms (p50 ${m.ttfb50.toFixed(1)}; 64 KiB complete: p95 ${m.p95.toFixed(1)} ms)`,
      baseline: clients === 1 ? `readRange from MinIO directly: p95 ${pct(direct, 0.95).toFixed(1)} ms (p50 ${pct(direct, 0.5).toFixed(1)})` : '—',
      ratio: withTarget ? `${(m.ttfb95 / TARGETS.proxyTtfbMs).toFixed(2)}× target` : '—',
      target: withTarget ? `p95 ≤ ${TARGETS.proxyTtfbMs} ms` : '—',
      met: withTarget ? m.ttfb95 <= TARGETS.proxyTtfbMs : null,
      explain: `GET /api/v1/evidence/{id}/proxy with Range: bytes=<random offset>-<+64 KiB> on a 20 MiB proxy object in the derivatives bucket, as a logged-in custodian (session cookie), ${clients} concurrent client${clients === 1 ? '' : 's'}, ${countFor(clients)} requests after ${warmFor(clients)} warm-up; time from sending the request to the first body byte (session check, authorization, derivative lookup, MinIO range GET, 206 headers). The baseline is the same 64 KiB range read through MinioObjectStore.readRange in the bench process, one at a time (time to its first byte).`,
    });
  }
  notes.push('Proxy range requests start past byte 0, so none of them writes an access record (a playback is logged once, by the request that starts it at byte 0).');

  // ---- 3. access logging: batched vs immediate vs none ----
  const b = await apiArchive(ctx, 'benchapiimm', { access: { ledgerEvents: 'immediate' } });
  log(`api: immediate-logging archive ready (${catalog.rows} rows in ${fmtS(b.catalog.loadSeconds)}) at ${b.origin}`);
  const pool = async (r: Runtime) => (await r.db.query<{ id: string }>('SELECT id FROM evidence ORDER BY random() LIMIT 2000')).rows.map((x) => x.id);
  const poolA = await pool(rt);
  const poolB = await pool(b.rt);
  const searchSeal = await sealAll(rt);
  notes.push(
    `Sealing the ${searchSeal.records} access records of the search pages above (batched; no ACCESSED event, one ACCESS_LOG_SEALED per 2000): ${fmtS(searchSeal.seconds)}, ${(searchSeal.records / searchSeal.seconds).toFixed(0)} records/s.`,
  );
  const viewed = new Set<string>();
  const viewReq = (ids: readonly string[], auth: Record<string, string>, remember: boolean) => (): LoadRequest => {
    const id = ids[rand(ids.length)]!;
    if (remember) viewed.add(id);
    return { path: `/api/v1/evidence/${id}`, headers: auth };
  };
  const recordProp = rt.access as unknown as Record<string, unknown>;
  const logSides = [
    { label: 'batched', origin, make: (remember: boolean) => viewReq(poolA, keyAuth, remember), before: () => undefined, after: () => undefined },
    {
      label: 'no logging',
      origin,
      make: () => viewReq(poolA, keyAuth, false),
      // The same handler with AccessService.record a no-op (an own property over the prototype's method).
      before: () => void (recordProp.record = async () => null),
      after: () => void delete recordProp.record,
    },
    { label: 'immediate', origin: b.origin, make: () => viewReq(poolB, b.keyAuth, false), before: () => undefined, after: () => undefined },
  ];
  const logClients = [1, TARGETS.apiSearchClients];
  const merged = new Map<string, LoadResult[]>();
  const mergedSeconds = new Map<string, number>();
  let batchedViews = 0;
  for (let i = 0; i < o.runs; i++) {
    for (const side of rotated(logSides, i)) {
      for (const clients of logClients) {
        side.before();
        try {
          const make = side.make(true);
          const r = await load(side.origin, Array.from({ length: warmFor(clients) }, make), Array.from({ length: countFor(clients) }, make), clients);
          if (side.label === 'batched') batchedViews += warmFor(clients) + countFor(clients);
          const k = `${side.label}@${clients}`;
          merged.set(k, [...(merged.get(k) ?? []), ...r.results]);
          mergedSeconds.set(k, (mergedSeconds.get(k) ?? 0) + r.seconds);
          const m = latencyOf(r.results, r.seconds);
          log(`api item view run ${i + 1}/${o.runs}: ${side.label.padEnd(10)} ${clients} clients  p50 ${m.p50.toFixed(2)} ms  p95 ${m.p95.toFixed(2)} ms  ${m.rps.toFixed(0)} req/s`);
        } finally {
          side.after();
        }
      }
    }
  }
  const view = (label: string, clients: number) => latencyOf(merged.get(`${label}@${clients}`)!, mergedSeconds.get(`${label}@${clients}`)!);
  for (const clients of logClients) {
    const none = view('no logging', clients);
    for (const label of ['batched', 'immediate']) {
      const m = view(label, clients);
      rows.push({
        what: `Item view, access logging ${label} vs none, ${clients} client${clients === 1 ? '' : 's'}`,
        evidock: `p50 ${m.p50.toFixed(2)} ms, p95 ${m.p95.toFixed(2)} ms; ${m.rps.toFixed(0)} req/s`,
        baseline: `no logging: p50 ${none.p50.toFixed(2)} ms, p95 ${none.p95.toFixed(2)} ms; ${none.rps.toFixed(0)} req/s`,
        ratio: `+${(m.p50 - none.p50).toFixed(2)} ms p50 (${(m.p50 / none.p50).toFixed(2)}× time), ${(m.rps / none.rps).toFixed(2)}× req/s`,
        target: '—',
        met: null,
        explain:
          label === 'batched'
            ? `GET /api/v1/evidence/{id} (a random one of 2000 items) with the case-system key, access.ledgerEvents batched (the default): one access_log INSERT in the request, the item's ACCESSED event later from AccessService.seal(); vs the same handler with AccessService.record replaced by a no-op on the same server. ${o.runs} runs of ${countFor(clients)} requests per side, sides alternated, percentiles over all of them.`
            : `The same item view on a second archive with the same generated catalog and access.ledgerEvents immediate: the access_log INSERT, the item's signed ACCESSED event appended to the custody chain and marked sealed in one transaction, then the event mirrored to the write-once ledger bucket, all before the answer.`,
      });
    }
  }
  const viewSeal = await sealAll(rt);
  rows.push({
    what: 'Access-log seal, batched item views',
    evidock: `${(viewSeal.records / viewSeal.seconds).toFixed(0)} records/s (${viewSeal.records} records over ${viewed.size} items in ${fmtS(viewSeal.seconds)})`,
    baseline: '—',
    ratio: '—',
    target: '—',
    met: null,
    explain: `rt.access.seal() called until nothing is left, after the batched item views: per batch of up to 2000 records one signed ACCESSED event per item looked at (naming its records and their SHA-256) and one ACCESS_LOG_SEALED, in one transaction, then mirrored to the ledger bucket.`,
  });
  notes.push(
    `Access logging: ${batchedViews} batched item views (warm-up included) were sealed; the immediate side's chain grows by one ACCESSED event per view, spread over 2000 items, so each item's timeline (which the view returns) gains only a few events during the run. Authentication is the same on every side (key lookup, unit subtree); the "no logging" side is the batched server with AccessService.record stubbed out for its runs.`,
  );
  await b.close();

  // ---- 4. document upload vs mc cp ----
  const docPath = join(dir, 'upload.pdf');
  await writeRandomFile(docPath, uploadBytes);
  const stamp = async () => {
    // A different file each time (documents are content-addressed: the same bytes are stored once).
    const h = await open(docPath, 'r+');
    try {
      await h.write(Buffer.from(`%PDF-1.7\n%${randomBytes(8).toString('hex')}\n`), 0, undefined, 0);
    } finally {
      await h.close();
    }
  };
  const plainBucket = `bench-${randomBytes(3).toString('hex')}-doc`;
  await ctx.mc.exec(['mb', `${ctx.mc.alias}/${plainBucket}`]);
  ctx.cleanups.push(() => ctx.mc.removeBuckets([plainBucket]));
  const up = newSide('POST documents', uploadBytes);
  const mcSide = newSide('mc cp', uploadBytes);
  const upload = async (run: number) => {
    const url = new URL(`${origin}/api/v1/cases/BENCH-DOC-${run}/documents?name=x.pdf`);
    const answer = await new Promise<{ status: number; body: string }>((resolveUp, reject) => {
      const req = httpRequest(
        { hostname: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, method: 'POST', headers: { ...keyAuth, 'content-type': 'application/pdf', 'content-length': String(uploadBytes) } },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (body += d));
          res.on('end', () => resolveUp({ status: res.statusCode ?? 0, body }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      createReadStream(docPath, { highWaterMark: MiB }).on('error', reject).pipe(req);
    });
    if (answer.status !== 201) throw new Error(`document upload answered ${answer.status}: ${answer.body.slice(0, 300)}`);
    const doc = JSON.parse(answer.body) as { size?: number };
    if (doc.size !== uploadBytes) throw new Error(`document stored with ${doc.size} bytes, sent ${uploadBytes}`);
  };
  const uploadSides = [
    { side: up, work: upload, clean: async () => undefined },
    {
      side: mcSide,
      work: async (run: number) => void (await ctx.mc.exec(['cp', '--quiet', docPath, `${ctx.mc.alias}/${plainBucket}/r${run}/x.pdf`])),
      clean: async (run: number) => void (await ctx.mc.exec(['rm', '--recursive', '--force', `${ctx.mc.alias}/${plainBucket}/r${run}/`], true)),
    },
  ];
  for (let i = 0; i < o.runs; i++) {
    for (const { side, work, clean } of rotated(uploadSides, i)) {
      await stamp();
      await ctx.cache.prepare([docPath]);
      const s = await timed(side, ctx.minioPid, () => work(i));
      log(`api upload run ${i + 1}/${o.runs}: ${side.label.padEnd(14)} ${fmtS(s.seconds)}  ${fmtRate(mibps(side.bytes, s.seconds))}  cpu ${s.cpu.toFixed(2)} s  minio cpu ${s.serverCpu?.toFixed(2) ?? '?'} s`);
      await clean(i);
    }
  }
  rows.push(
    rateRatioRow(
      `Document upload ${o.uploadMiB} MiB, POST /cases/…/documents vs mc cp`,
      up,
      mcSide,
      TARGETS.uploadVsMc,
      `POST /api/v1/cases/<case>/documents?name=x.pdf (Content-Type application/pdf, case-system key), the body streamed from disk with node:http (a read stream piped into the request) until the 201 answer: the server spools the body while hashing it (SHA-256, fsync), checks the type, stores it with MinioObjectStore.putFile (multipart, checksums) in the originals bucket, and appends DOCUMENT_ADDED; vs \`mc cp\` of the same file to a plain bucket of the same MinIO.`,
    ),
  );
  notes.push(
    `Document upload: the file starts with %PDF- and is otherwise pseudo-random; a few bytes of its head change before every run (documents are content-addressed, the same bytes would be stored once). The upload writes the body twice (spool, then MinIO) where mc cp writes it once, and the server's CPU is the bench process's (CPU s per run below).`,
  );
  await a.close();
  return { title: 'API', sides: [up, mcSide], rows, notes };
}

// ---- 9. pipeline vs the tools on one data set: N recorders at once, or one big recorder -----

interface PipelineRun {
  seconds: number;
  finishes: number[];
}

/** Writes `count` files of `sizeMiB` into `dir` (unless present) and returns their paths. */
/** The little of the DOM the web bench touches inside the page (bench.ts is compiled without lib.dom). */
interface BenchDocument {
  querySelector(selector: '.results'): { dataset: Record<string, string | undefined> } | null;
  querySelector(selector: 'video'): { readyState: number; duration: number; currentTime: number; play(): Promise<void>; requestVideoFrameCallback(cb: () => void): number } | null;
  querySelector(selector: string): object | null;
}

/**
 * The web interface as a custodian meets it, in Debian's headless Chromium (playwright-core)
 * against the archive server on the generated catalog: what the first page costs to download,
 * how long the search page takes to show its first result list, how long from pressing play
 * to the first decoded frame of a real proxy.
 */
async function benchWeb(ctx: Context): Promise<SectionBody> {
  const o = ctx.options;
  const rows: Row[] = [];
  const notes: string[] = [];
  const kib = (b: number) => (b / 1024).toFixed(1);

  // ---- 1. the first page's JavaScript, as built and as sent ----
  const webDir = resolve(REPO_ROOT, 'dist', 'web');
  const html = readFileSync(join(webDir, 'index.html'), 'utf8');
  const scripts = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.js)"/g)].map((m) => m[1]!);
  if (scripts.length === 0) throw new Error('dist/web/index.html names no script: is the web interface built?');
  const size = { raw: 0, gz: 0, br: 0 };
  for (const path of scripts) {
    const body = readFileSync(join(webDir, path));
    size.raw += body.length;
    size.gz += gzipSync(body, { level: 9 }).length;
    size.br += brotliCompressSync(body).length;
  }
  const css = [...html.matchAll(/href="(\/assets\/[^"]+\.css)"/g)].reduce((a, m) => a + gzipSync(readFileSync(join(webDir, m[1]!)), { level: 9 }).length, 0);
  rows.push({
    what: 'Web interface: JavaScript of the first page, compressed',
    evidock: `${kib(size.gz)} KiB gzip (${kib(size.br)} KiB brotli, ${kib(size.raw)} KiB uncompressed)`,
    baseline: '—',
    ratio: `${(size.gz / 1024 / TARGETS.webJsKiB).toFixed(2)}× target`,
    target: `≤ ${TARGETS.webJsKiB} KiB`,
    met: size.gz / 1024 <= TARGETS.webJsKiB,
    explain: `Every script dist/web/index.html loads (${scripts.length}: the whole app, Preact and @preact/signals in one Vite bundle; there are no lazy chunks), gzip level 9; the server sends the brotli copy that scripts/build.mjs writes beside it to browsers that accept it. CSS: ${kib(css)} KiB gzip more.`,
  });

  // ---- 2. the archive, a real recording with its proxy, and a custodian ----
  const a = await apiArchive(ctx, 'benchweb', {});
  const { rt, catalog, origin } = a;
  log(`web: ${catalog.rows} catalog rows generated in ${fmtS(catalog.loadSeconds)}; archive server at ${origin}`);
  rt.startWorkers([QueueName.Acquire, QueueName.Store, QueueName.Clear, ...SHARED_QUEUES]);
  const dir = join(BENCH_DIR, 'web');
  mkdirSync(dir, { recursive: true });
  ctx.cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  const serial = 'BENCHWEB01';
  await rt.identity.registerRecorder({ serial, officerId: 'P1', unitId: 'U1' }, 'bench');
  await makeRecorderFootage(dir, { files: 1, seconds: 60, serial, officer: 'P1', audio: true, photo: false, width: 1920, height: 1080, seed: 17 });
  const imported = await importFolder(rt, dir, { serial, case: ['WEB-BENCH-1'], subject: 'bench', place: 'bench', json: true });
  const evidenceId = imported.files[0]?.evidenceId;
  if (!evidenceId) throw new Error('the web bench recording was not stored');
  const proxyStarted = performance.now();
  for (;;) {
    if ((await rt.catalog.derivativesOf(evidenceId)).some((d) => d.kind === 'proxy')) break;
    if (performance.now() - proxyStarted > 600_000) throw new Error('no proxy of the web bench recording after 10 minutes');
    await new Promise((r) => setTimeout(r, 500));
  }
  const proxy = (await rt.catalog.derivativesOf(evidenceId)).find((d) => d.kind === 'proxy')!;
  const password = `Bench-${randomBytes(6).toString('hex')}-Aa1!`;
  await rt.identity.addUser({ name: 'bench-web', role: 'custodian', unitIds: [CATALOG_ROOT], password }, 'bench');
  await rt.db.query('UPDATE users SET must_change_password = false WHERE name = $1', ['bench-web']);

  // ---- 3. the browser ----
  const { chromium } = await import('playwright-core');
  const executablePath = execFileSync('bash', [resolve(REPO_ROOT, 'scripts', 'chromium.sh')], { encoding: 'utf8' }).trim();
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--lang=zh-CN', '--autoplay-policy=no-user-gesture-required'] });
  ctx.cleanups.push(async () => browser.close());
  const version = browser.version();
  const page = await (await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' })).newPage();
  page.setDefaultTimeout(60_000);
  await page.goto(`${origin}/login`);
  await page.getByLabel('用户名').fill('bench-web');
  await page.getByLabel('密码').fill(password);
  await page.getByRole('button', { name: '登录' }).click();
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));

  let seed = 8080;
  const rand = (k: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % k;
  };
  const latencyRow = (what: string, xs: number[], target: number, explain: string): Row => {
    const sorted = [...xs].sort((x, y) => x - y);
    const p95 = pct(sorted, 0.95);
    return {
      what,
      evidock: `p95 ${p95.toFixed(0)} ms (p50 ${pct(sorted, 0.5).toFixed(0)}, max ${sorted.at(-1)!.toFixed(0)}; ${sorted.length} loads)`,
      baseline: '—',
      ratio: `${(p95 / target).toFixed(2)}× target`,
      target: `p95 ≤ ${target} ms`,
      met: p95 <= target,
      explain,
    };
  };

  // The search page opened at an address with a case number: from navigation to the first row.
  const searches: number[] = [];
  const warm = 3;
  for (let i = 0; i < warm + o.searchQueries; i++) {
    const caseNumber = `C${rand(catalog.cases)}`;
    const t0 = performance.now();
    await page.goto(`${origin}/search?case=${caseNumber}`);
    await page.locator('tr[data-evidence]').first().waitFor();
    const ms = performance.now() - t0;
    if (i >= warm) searches.push(ms);
  }
  // And a search typed into the filter on the open page: from the click to the new rows.
  const typed: number[] = [];
  for (let i = 0; i < o.searchQueries; i++) {
    const caseNumber = `C${rand(catalog.cases)}`;
    await page.getByLabel('案件编号', { exact: true }).fill(caseNumber);
    const t0 = performance.now();
    await page.getByRole('button', { name: '检索' }).click();
    await page.waitForFunction((q) => {
      const d = (globalThis as unknown as { document: BenchDocument }).document;
      return d.querySelector('.results')?.dataset.query === q && d.querySelector('tr[data-evidence]') !== null;
    }, `case=${caseNumber}`);
    typed.push(performance.now() - t0);
  }
  log(`web: search page first results p95 ${pct([...searches].sort((x, y) => x - y), 0.95).toFixed(0)} ms, typed search p95 ${pct([...typed].sort((x, y) => x - y), 0.95).toFixed(0)} ms`);
  rows.push(
    latencyRow(
      `Web: search page to its first result list, ${catalog.rows.toLocaleString('en-US')} items`,
      searches,
      TARGETS.webSearchMs,
      `page.goto(/search?case=C<random>) as a custodian scoped to the root of ${CATALOG_UNITS} units, until the first result row is in the DOM: the page's HTML, the app (from the browser cache after the ${warm} warm-up loads), /auth/me and /settings, the search request and rendering its rows with their posters. Chromium ${version}, 1366×768.`,
    ),
    latencyRow(
      'Web: a search typed into the open search page',
      typed,
      TARGETS.webSearchMs,
      'The case-number filter filled in on the open page, then the click on 检索 until the rows of the new query are rendered (the search request and the render, no page load).',
    ),
  );

  // Play to first frame: the item page loaded (metadata only, as it preloads), then play().
  const firstFrames: number[] = [];
  const seeks: number[] = [];
  for (let i = 0; i < 3 + Math.min(o.searchQueries, 20); i++) {
    await page.goto(`${origin}/evidence/${evidenceId}`);
    // Functions, not strings: the pages' CSP forbids eval, and Playwright sends these as functions.
    await page.waitForFunction(() => {
      const v = (globalThis as unknown as { document: BenchDocument }).document.querySelector('video');
      return v !== null && v.readyState >= 1;
    });
    const ms = await page.evaluate(async () => {
      const v = (globalThis as unknown as { document: BenchDocument }).document.querySelector('video')!;
      const t0 = performance.now();
      await new Promise<void>((done, fail) => {
        v.requestVideoFrameCallback(() => done());
        v.play().catch(fail);
      });
      return performance.now() - t0;
    });
    const seekMs = await page.evaluate(async () => {
      const v = (globalThis as unknown as { document: BenchDocument }).document.querySelector('video')!;
      const t0 = performance.now();
      await new Promise<void>((done) => {
        v.requestVideoFrameCallback(() => done());
        v.currentTime = v.duration * 0.75;
      });
      return performance.now() - t0;
    });
    if (i >= 3) {
      firstFrames.push(ms);
      seeks.push(seekMs);
    }
  }
  rows.push(
    latencyRow(
      'Web: play to the first decoded frame of a proxy',
      firstFrames,
      TARGETS.webFirstFrameMs,
      `On the item page (the <video> preloads metadata only), from video.play() to the first requestVideoFrameCallback: the range requests for the first seconds of the proxy (session check, authorization, the access record of a playback, MinIO), demuxing and decoding. Proxy: ${fmtMiB(proxy.size)}, ${proxy.width}×${proxy.height}, ${proxy.durationSeconds?.toFixed(0) ?? '?'} s, made by the pipeline from a 60 s 1080p recording (make-footage).`,
    ),
  );
  const seekSorted = [...seeks].sort((x, y) => x - y);
  rows.push({
    what: 'Web: seek to three quarters of a playing proxy, to its frame',
    evidock: `p95 ${pct(seekSorted, 0.95).toFixed(0)} ms (p50 ${pct(seekSorted, 0.5).toFixed(0)})`,
    baseline: '—',
    ratio: '—',
    target: '—',
    met: null,
    explain: 'currentTime set to 75 % of the duration while playing, until the next frame is presented: a range request into the part not yet loaded, and decoding from the keyframe before it (proxies have a keyframe every 2 s).',
  });
  notes.push(
    `The browser, the archive server (in the bench process), PostgreSQL and MinIO share the machine's ${os.availableParallelism()} CPUs. Timings are wall time seen from the bench (performance.now around the Playwright calls), so they include Playwright's round trips to the browser (about a millisecond each).`,
  );
  await browser.close();
  await a.close();
  return { title: 'Web interface', rows, sides: [], notes };
}

async function dataSet(dir: string, prefix: string, count: number, sizeMiB: number): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const paths = Array.from({ length: count }, (_, i) => join(dir, `${prefix}_${String(i + 1).padStart(4, '0')}.MP4`));
  for (const p of paths) if (!existsSync(p) || statSync(p).size !== sizeMiB * MiB) await writeRandomFile(p, sizeMiB * MiB);
  return paths;
}

async function pipelineVsTools(
  ctx: Context,
  what: { title: string; label: string; sources: string[]; recorders: number; bytes: number; minio: string; variant?: { label: string; overrides: Record<string, unknown> } },
): Promise<{ tools: { cp: Side; mc: Side }; evidock: Side; runs: PipelineRun[]; variant: Side | null }> {
  const { options } = ctx;
  const cp = newSide('cp', what.bytes);
  const mc = newSide('mc cp', what.bytes);
  const evidock = newSide(what.label, what.bytes);
  const runs: PipelineRun[] = [];
  const spool = join(BENCH_DIR, `${what.minio}-cp`);
  const plainBucket = `bench-${randomBytes(3).toString('hex')}-${what.minio}`;
  await ctx.mc.exec(['mb', `${ctx.mc.alias}/${plainBucket}`]);
  ctx.cleanups.push(() => ctx.mc.removeBuckets([plainBucket]));
  const srcDir = dirname(what.sources[0]!);

  const sides = [
    {
      side: cp,
      prepare: async () => {
        rmSync(spool, { recursive: true, force: true });
        mkdirSync(spool, { recursive: true });
        await ctx.cache.prepare(what.sources);
      },
      work: async () => void (await run('cp', [...what.sources, spool])),
      clean: async () => rmSync(spool, { recursive: true, force: true }),
    },
    {
      side: mc,
      prepare: () => ctx.cache.prepare(what.sources),
      work: async () => void (await ctx.mc.exec(['cp', '--recursive', '--quiet', `${srcDir}/`, `${ctx.mc.alias}/${plainBucket}/r/`])),
      clean: async () => void (await ctx.mc.exec(['rm', '--recursive', '--force', `${ctx.mc.alias}/${plainBucket}/r/`], true)),
    },
  ];
  let env: { env: TestEnv; dispose: () => Promise<void> } | null = null;
  let recorders: string[] = [];
  let rt: Awaited<ReturnType<TestEnv['runtime']>> | null = null;
  const evidockSide = (side: Side, overrides: Record<string, unknown>, record: PipelineRun[]) => ({
    side,
    prepare: async () => {
      env = await benchEnv(ctx, `bench${what.minio}`, overrides);
      rt = await env.env.runtime();
      rt.startWorkers([QueueName.Acquire, QueueName.Store, QueueName.Catalog, QueueName.Clear]);
      // Recorder r gets files r, r + N, r + 2N...: each a fresh copy, as clearing deletes them.
      recorders = Array.from({ length: what.recorders }, (_, r) => join(BENCH_DIR, `${what.minio}-recorder-${r}`));
      for (const [r, dir] of recorders.entries()) {
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir, { recursive: true });
        const mine = what.sources.filter((_, i) => i % what.recorders === r);
        if (mine.length) await run('cp', [...mine, dir]);
      }
      await ctx.cache.prepare(recorders.flatMap((d) => readdirSync(d).map((n) => join(d, n))));
    },
    work: async () => {
      const t0 = performance.now();
      const finishes = await Promise.all(
        recorders.map(async (dir, r) => {
          const { files } = await importFolder(rt!, dir, { serial: `BENCH-${what.minio.toUpperCase()}-${r}`, json: true });
          const bad = files.filter((f) => f.stage !== 'cleared');
          if (bad.length > 0) throw new Error(`${what.title}: recorder ${r} not cleared: ${bad.map((f) => `${f.displayPath}=${f.stage}${f.error ? ` (${f.error})` : ''}`).join(', ')}`);
          return (performance.now() - t0) / 1000;
        }),
      );
      record.push({ seconds: (performance.now() - t0) / 1000, finishes });
    },
    clean: async () => {
      rt?.objects.close();
      await env?.dispose();
      for (const dir of recorders) rmSync(dir, { recursive: true, force: true });
      env = null;
      rt = null;
    },
  });
  const variant = what.variant ? newSide(what.variant.label, what.bytes) : null;
  const all = [...sides, evidockSide(evidock, {}, runs), ...(variant ? [evidockSide(variant, what.variant!.overrides, [])] : [])];
  for (let i = 0; i < options.runs; i++) {
    for (const { side, prepare, work, clean } of rotated(all, i)) {
      await prepare();
      const s = await timed(side, ctx.minioPid, work);
      log(`${what.title.toLowerCase()} run ${i + 1}/${options.runs}: ${side.label.padEnd(24)} ${fmtS(s.seconds)}  ${fmtRate(mibps(side.bytes, s.seconds))}  cpu ${s.cpu.toFixed(2)} s  minio cpu ${s.serverCpu?.toFixed(2) ?? '?'} s`);
      await clean();
    }
  }
  return { tools: { cp, mc }, evidock, runs, variant };
}

/** The slower of cp and mc cp (median seconds): the disk or network bottleneck the tools measured. */
function bottleneck(tools: { cp: Side; mc: Side }, bytes: number): Side {
  const worst = medianSeconds(tools.cp) >= medianSeconds(tools.mc) ? tools.cp : tools.mc;
  const side = newSide(`max(cp, mc cp) = ${worst.label}`, bytes);
  side.samples.push({ seconds: Math.max(medianSeconds(tools.cp), medianSeconds(tools.mc)), cpu: Number.NaN });
  return side;
}

async function benchConcurrency(ctx: Context): Promise<SectionBody> {
  const n = ctx.options.recorders;
  // The same with the spool flushed before "safe to undock" (instead of at the undock), to show what that costs.
  const { tools, evidock, runs, variant } = await pipelineVsTools(ctx, {
    title: 'Concurrency',
    label: `${n} recorders at once`,
    sources: ctx.sources,
    recorders: n,
    bytes: ctx.totalBytes,
    minio: 'conc',
    variant: { label: `${n} recorders, spool flushed before undock`, overrides: { ingest: { syncSpoolBeforeUndock: true } } },
  });
  const base = bottleneck(tools, ctx.totalBytes);
  const mid = runs.slice().sort((a, b) => a.seconds - b.seconds)[Math.floor(runs.length / 2)]!;
  const spread = Math.max(...mid.finishes) / Math.min(...mid.finishes);
  const cfg = ctx.base.ingest;
  return {
    title: 'Concurrency',
    sides: [tools.cp, tools.mc, evidock, variant!],
    rows: [
      rateRatioRow(
        `${n} recorders docked at once, ${ctx.options.files} × ${ctx.options.sizeMiB} MiB in all`,
        evidock,
        base,
        TARGETS.concurrencyVsBottleneck,
        `${n} folders docked as recorders at the same moment (importFolder ×${n} on one runtime, in-process workers), each recorder's files acquired, stored + verified, catalogued, signed and cleared, vs the aggregate throughput of the slower of the two baseline tools on the same bytes (cp off the recorders, mc cp up to MinIO), measured alternately in the same run.`,
      ),
      rateRatioRow(
        `${n} recorders docked at once, ingest.syncSpoolBeforeUndock on`,
        variant!,
        base,
        null,
        'The same with the default changed: the spool copies not yet stored are fsynced before each docking is told it is safe to undock, instead of when its recorder is undocked (which never happens during this run: the recorders stay docked until cleared). Recorder, spool and MinIO share one disk here, so that flush competes with MinIO\'s writes.',
      ),
    ],
    notes: [
      `Finish time of each recorder (dock to all its files cleared), median run: ${mid.finishes.map((f, i) => `#${i + 1} ${f.toFixed(1)} s`).join(', ')}; last/first ${spread.toFixed(2)}×. All runs: ${runs.map((r) => `[${r.finishes.map((f) => f.toFixed(1)).join(', ')}]`).join('; ')}.`,
      `Pipeline settings: maxConcurrentAcquisitions ${cfg.maxConcurrentAcquisitions} (docked recorders share it fairly), storeConcurrency ${cfg.storeConcurrency}, minio.partsInFlight ${ctx.base.minio.partsInFlight}, hashes ${cfg.hashes.join('+')}, syncSpoolBeforeUndock ${cfg.syncSpoolBeforeUndock ? 'on' : 'off'}${cfg.syncSpoolBeforeUndock ? '' : ' (the spool is fsynced when a recorder is undocked, and these stay docked until cleared)'}.`,
      `Tools on the same data (median): cp ${sideFigure(tools.cp)}, mc cp ${sideFigure(tools.mc)}.`,
    ],
  };
}

async function benchDock(ctx: Context): Promise<SectionBody> {
  const { options } = ctx;
  const count = options.dockFiles;
  const bytes = count * options.dockMiB * MiB;
  const dir = join(BENCH_DIR, 'dock-data');
  log(`dock: writing ${count} × ${options.dockMiB} MiB of random data`);
  const sources = await dataSet(dir, 'DOCK', count, options.dockMiB);
  ctx.cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  const { tools, evidock } = await pipelineVsTools(ctx, { title: 'Dock', label: 'importFolder', sources, recorders: 1, bytes, minio: 'dock' });
  rmSync(dir, { recursive: true, force: true });
  const base = bottleneck(tools, bytes);
  return {
    title: 'Dock to all verified',
    sides: [tools.cp, tools.mc, evidock],
    rows: [
      timeRatioRow(
        `Dock to all verified, one recorder of ${count} × ${options.dockMiB} MiB`,
        evidock,
        base,
        TARGETS.dockVsMaxTool,
        `One folder docked as a recorder through the whole pipeline until every file is cleared (acquired, stored + verified, catalogued, signed) vs max(cp time, mc cp time) of the same files, measured alternately in the same run: acquiring the next file must overlap storing the last.`,
      ),
    ],
    notes: [`Tools on the same data (median): cp ${sideFigure(tools.cp)}, mc cp ${sideFigure(tools.mc)}; the sum of the two would be ${fmtS(medianSeconds(tools.cp) + medianSeconds(tools.mc))}.`],
  };
}

// ---- machine and versions ----------------------------------------------------------------

async function machineInfo(ctx: Context): Promise<Array<[string, string]>> {
  const cpus = os.cpus();
  const mountInfo = firstLine('findmnt', ['-no', 'SOURCE,FSTYPE,SIZE', '-T', BENCH_DIR]).replace(/\s+/g, ' ');
  const device = mountInfo.split(/\s+/)[0] ?? '';
  const rota = device.startsWith('/dev/') ? firstLine('lsblk', ['-dno', 'ROTA', device]) : '?';
  const virt = firstLine('systemd-detect-virt', []);
  const goVersion = (bin: string, module: string) => {
    const r = spawnSync('go', ['version', '-m', bin], { encoding: 'utf8', timeout: 20_000 });
    const m = new RegExp(`\\bmod\\s+${module.replace(/\./g, '\\.')}\\s+(\\S+)`).exec(r.stdout ?? '');
    return m ? `${module}@${m[1]}` : firstLine(bin, ['--version']);
  };
  let minioExe = '';
  try {
    minioExe = ctx.minioPid ? readlinkSync(`/proc/${ctx.minioPid}/exe`) : '';
  } catch {
    minioExe = '';
  }
  let pgVersion = 'unknown';
  const client = new pg.Client({ host: ctx.base.postgres.host, port: ctx.base.postgres.port, user: ctx.base.postgres.user, database: ctx.base.postgres.database, password: ctx.base.postgres.password });
  try {
    await client.connect();
    pgVersion = String((await client.query('SHOW server_version')).rows[0]?.server_version ?? 'unknown');
  } catch {
    // reported as unknown
  } finally {
    await client.end().catch(() => undefined);
  }
  let redisVersion = 'unknown';
  const redis = new Redis({ host: ctx.base.redis.host, port: ctx.base.redis.port, password: ctx.base.redis.password, lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? 'unknown';
  } catch {
    // reported as unknown
  } finally {
    redis.disconnect();
  }
  const minioJs = (JSON.parse(readFileSync(resolve(REPO_ROOT, 'node_modules', 'minio', 'package.json'), 'utf8')) as { version: string }).version;
  return [
    ['CPU', `${cpus[0]?.model ?? 'unknown'} — ${os.availableParallelism()} logical CPUs (nproc)`],
    ['Memory', `${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB`],
    ['Disk (var/bench)', `${mountInfo}${rota === '0' || rota === '1' ? ` (lsblk ROTA=${rota})` : ''}; bench recorder and spool on it${minioOnBenchDisk(ctx.minioPid) ? ', and the MinIO data' : ''}`],
    ['Virtualization (systemd-detect-virt)', virt],
    ['Kernel', `${os.type()} ${os.release()}`],
    ['Node.js', process.version],
    ['MinIO server', minioExe ? goVersion(minioExe, 'github.com/minio/minio') : 'unknown'],
    ['mc', goVersion(ctx.mc.bin, 'github.com/minio/mc')],
    ['minio-js', minioJs],
    ['PostgreSQL', pgVersion],
    ['Redis', redisVersion],
    ['ffmpeg', (/^ffmpeg version (\S+)/.exec(firstLine(ctx.base.media.ffmpegPath, ['-version']))?.[1]) ?? 'unknown'],
    ['coreutils (cp, sha256sum, sync)', firstLine('cp', ['--version']).replace(/^cp \((.*)\)/, '$1')],
    ['Page cache', ctx.cache.describe()],
  ];
}

// ---- report --------------------------------------------------------------------------------

const metText = (met: boolean | null) => (met === null ? '' : met ? 'yes' : 'NO');

function textTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function markdownTable(headers: string[], rows: string[][]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [`| ${headers.join(' | ')} |`, `| ${headers.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

/** Marks the figures carried as data at the end of the report. */
const DATA_MARK = 'evidock-bench-data v1';

/** The sections of the report, as data: an HTML comment at its end (JSON never holds a newline). */
function embeddedData(results: readonly SectionResult[]): string {
  const json = JSON.stringify({ sections: results.map((r) => ({ ...r, carried: undefined })) }).replace(/--/g, '-\\u002d');
  return `<!-- ${DATA_MARK}: the figures above as data, so that a run of some sections (--only) keeps the others. Written by scripts/bench.ts.\n${json}\n-->\n`;
}

/** Sections of an existing report, from its embedded data; none when it has none. */
function previousSections(path: string): SectionResult[] {
  if (!existsSync(path)) return [];
  const m = new RegExp(`<!-- ${DATA_MARK}[^\\n]*\\n(.*)\\n-->`).exec(readFileSync(path, 'utf8'));
  if (!m) return [];
  try {
    const data = JSON.parse(m[1]!) as { sections?: SectionResult[] };
    // JSON has no NaN: unknown figures come back as null.
    const num = (x: unknown) => (typeof x === 'number' ? x : undefined);
    return (data.sections ?? [])
      .filter((r) => (SECTIONS as readonly string[]).includes(r.key) && Array.isArray(r.rows) && Array.isArray(r.sides))
      .map((r) => ({
        ...r,
        carried: true,
        sides: r.sides.map((side) => ({
          ...side,
          samples: side.samples.map((x) => {
            const sample: Sample = { seconds: x.seconds, cpu: num(x.cpu) ?? Number.NaN };
            for (const k of ['serverCpu', 'otherCpu', 'load', 'rchar', 'readBytes'] as const) {
              const v = num(x[k]);
              if (v !== undefined) sample[k] = v;
            }
            return sample;
          }),
        })),
      }));
  } catch (error) {
    log(`could not read the figures embedded in ${relative(REPO_ROOT, path)} (${(error as Error).message}); its sections are not kept`);
    return [];
  }
}

function renderMarkdown(ctx: Context, machine: Array<[string, string]>, results: SectionResult[], started: Date, wallSeconds: number): string {
  const o = ctx.options;
  const ran = results.filter((r) => !r.carried);
  const kept = results.filter((r) => r.carried);
  const mark = (r: SectionResult) => (r.carried ? ' †' : '');
  const rows = results.flatMap((r) => r.rows.map((row) => ({ ...row, what: `${row.what}${mark(r)}` })));
  const has = (key: Section) => ran.some((r) => r.key === key);
  const missing = SECTIONS.filter((s) => !results.some((r) => r.key === s));
  const lines: string[] = [];
  lines.push('# evidock benchmarks', '');
  lines.push(
    'A benchmark suite, `npm run bench` (`npx tsx scripts/bench.ts`), not a test: it generates its own data, runs each comparison side by side in one run (sides alternated, medians of several runs, caches dropped) and reports ratios. ' +
      'It compares evidock with the tools an operator would otherwise use, on the local stack (`bash scripts/stack.sh up`). ' +
      'This file is written by the script; rerun it rather than editing the figures.',
    '',
  );
  const what = [
    ...(has('acquire') || has('store') || has('e2e') || has('concurrency') || has('throttle') || has('bus') ? [`data set ${o.files} × ${o.sizeMiB} MiB of pseudo-random (incompressible) bytes`] : []),
    ...(has('dock') ? [`dock run ${o.dockFiles} × ${o.dockMiB} MiB`] : []),
    ...(has('search') || has('api') ? [`search${has('api') ? ' and API' : ''} over ${o.searchRows.toLocaleString('en-US')} catalog rows`] : []),
    ...(has('api') ? [`API clients ${o.apiClients.join(', ')}, uploaded document ${o.uploadMiB} MiB`] : []),
    ...(has('ledger') ? [`ledger writers ${o.ledgerWriters.join(', ')} (${o.ledgerAppends} appends a run, at most ${o.ledgerConnections} connections), verification over ${o.ledgerEvents.toLocaleString('en-US')} events (mirror sample ${o.ledgerMirrorSample.toLocaleString('en-US')})`] : []),
    ...(has('transcode') ? [`transcode clip ${o.transcodeSeconds} s of 1080p30`] : []),
    ...(has('faces') ? ['faces on 48 generated 1280×720 frames (scripts/bench-faces.ts)'] : []),
    ...(has('memory') ? [`memory run one ${o.bigMiB} MiB file`] : []),
  ];
  lines.push(
    `Run: ${started.toISOString()}, \`npx tsx scripts/bench.ts${o.argv.length ? ` ${o.argv.join(' ')}` : ''}\` — ${o.runs} run(s) per side, figures are medians; ` +
      `${what.join('; ')}. ${kept.length ? 'This run' : 'Whole bench'} took ${(wallSeconds / 60).toFixed(1)} min.` +
      (missing.length ? ` Not run: ${missing.join(', ')}.` : ''),
    '',
  );
  if (kept.length) {
    lines.push(
      `† Kept from the previous report, not rerun this time: ${kept.map((r) => `${r.title} (measured ${r.ranAt}, \`${r.command}\`)`).join('; ')}. The machine table and the general notes describe this run.`,
      '',
    );
  }
  lines.push('## Machine', '', markdownTable(['Item', 'Value'], machine.map(([k, v]) => [k, v])), '');
  lines.push('## Results', '');
  lines.push(
    'MiB/s is 2^20 bytes per second of wall time; "× real time" is seconds of video transcoded per second of wall time. A time ratio is evidock\'s median time over the baseline\'s (lower is better); a throughput ratio is evidock\'s MiB/s over the baseline\'s (higher is better).',
    '',
  );
  lines.push(markdownTable(['Figure', 'evidock', 'Baseline', 'Ratio', 'Target', 'Met'], rows.map((r) => [r.what, r.evidock, r.baseline, r.ratio, r.target, metText(r.met)])), '');
  lines.push('### What each figure compares', '');
  for (const r of rows) lines.push(`- **${r.what}**: ${r.explain}`);
  lines.push('');
  lines.push('## Targets', '');
  lines.push('From the performance issue (#4); ratios are measured in the same run:', '');
  lines.push(
    `- acquire ≤ ${TARGETS.acquireVsCp.toFixed(2)} × the time of \`cp\`, and ≤ ${TARGETS.acquireVsCpSha.toFixed(2)} × the time of \`cp\` + \`sha256sum\`; with SM3 reported separately;`,
    `- from a source throttled to ${o.throttleMBps.join(' or ')} MB/s (a paced stream) and from a recorder disk whose reads the kernel limits to ${o.busMBps.join(' or ')} MB/s, acquire with SHA-256 ≥ ${TARGETS.throttledVsSource.toFixed(2)} × the source rate; at those bus speeds, acquire ≤ ${TARGETS.acquireVsCp.toFixed(2)} × the time of \`cp\` under the same limit;`,
    `- store ≥ ${TARGETS.storeVsMc.toFixed(2)} × the throughput of \`mc cp\`;`,
    `- dock to all verified (${o.dockFiles} × ${o.dockMiB} MiB) ≤ ${TARGETS.dockVsMaxTool.toFixed(2)} × max(cp time, mc cp time);`,
    `- ${o.recorders} recorders at once ≥ ${TARGETS.concurrencyVsBottleneck.toFixed(2)} × the aggregate throughput of the bottleneck the tools measure, each recorder's finish time reported;`,
    `- search p95 ≤ ${TARGETS.searchCaseMs} ms by case number and ≤ ${TARGETS.searchOfficerMs} ms by officer + time range over 1,000,000 items;`,
    `- archive server: search p95 ≤ ${TARGETS.apiSearchMs} ms at ${TARGETS.apiSearchClients} concurrent clients; time to first byte of a proxy range request p95 ≤ ${TARGETS.proxyTtfbMs} ms; a case document upload ≥ ${TARGETS.uploadVsMc.toFixed(2)} × the throughput of \`mc cp\`;`,
    `- transcode: a proxy in ≤ ${TARGETS.transcodeOverhead.toFixed(2)} × the wall time of the same ffmpeg command run directly;`,
    '- peak RSS of the daemon ≤ 200 MB while ingesting a 4 GB file.',
    '',
  );
  lines.push('## Notes and limits', '');
  lines.push(
    `- ${os.availableParallelism()} logical CPUs are shared by the client under test, the MinIO server, PostgreSQL and Redis; hashing, MD5 for the ETag, x264 and MinIO's own work compete for them.`,
    `- The "recorder" is a directory on the same disk as the spool${minioOnBenchDisk(ctx.minioPid) ? ' and the MinIO data' : ''}, so reads and writes compete for one device; a real recorder is a USB device, usually slower than this disk.`,
    `- Page cache: ${ctx.cache.describe()}.`,
    ...results.map((r) => contention(r)).map((c, i) => (c ? `- Load, ${results[i]!.title.toLowerCase()}${mark(results[i]!)}: ${c}.` : '')).filter(Boolean),
    '- Bench buckets use GOVERNANCE retention (1 day) so that the bench can delete them afterwards (evidence buckets use COMPLIANCE; the upload path is the same). MinIO moves deleted data to .minio.sys/tmp/.trash and purges it in the background, so the disk space comes back some minutes after the run.',
  );
  for (const r of results) for (const n of r.notes) lines.push(`- ${r.title}${mark(r)}: ${n}`);
  lines.push('');
  lines.push('## Every run', '');
  lines.push(
    markdownTable(
      ['Side', 'Data', 'Seconds per run', 'MiB/s (transcode: × real time) per run', 'CPU s per run (evidock or tool)', 'Other processes, CPUs busy per run'],
      results.flatMap((r) =>
        r.sides.map((s) => [
          `${r.title}${mark(r)}: ${s.label}`,
          s.mediaSeconds === undefined ? fmtMiB(s.bytes) : `${fmtMiB(s.bytes)}, ${s.mediaSeconds.toFixed(2)} s of video`,
          s.samples.map((x) => x.seconds.toFixed(2)).join(', '),
          s.samples.map((x) => (s.mediaSeconds === undefined ? mibps(s.bytes, x.seconds).toFixed(0) : `${(s.mediaSeconds / x.seconds).toFixed(2)}×`)).join(', '),
          s.samples.map((x) => (Number.isNaN(x.cpu) ? '?' : x.cpu.toFixed(2))).join(', '),
          s.samples.map((x) => (x.otherCpu === undefined ? '?' : (x.otherCpu / x.seconds).toFixed(2))).join(', '),
        ]),
      ),
    ),
    '',
  );
  lines.push(embeddedData(results));
  return `${lines.join('\n')}`;
}

// ---- main ------------------------------------------------------------------------------

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const started = new Date();
  const t0 = performance.now();
  rmSync(BENCH_DIR, { recursive: true, force: true });
  mkdirSync(BENCH_DIR, { recursive: true });
  // The environment may move the stack (EVIDOCK__redis__port etc., set by scripts/run.sh).
  const base = loadConfig();
  // Only warnings and errors from the modules under test; the bench prints its own lines.
  initLogging(base, true);
  const cleanups: Array<() => Promise<void>> = [];
  const cache = new CacheControl();
  log(`page cache: ${cache.canDrop ? 'dropped before every timed side' : 'cannot be dropped; runs are warm-cache (sources read once before every side)'}`);

  const ctx: Context = {
    options,
    cache,
    base,
    dataDir: join(BENCH_DIR, 'recorder'),
    names: Array.from({ length: options.files }, (_, i) => `REC_${String(i + 1).padStart(4, '0')}.MP4`),
    sources: [],
    totalBytes: options.files * options.sizeMiB * MiB,
    mc: Mc.find(),
    minioPid: minioServerPid(base.minio.port),
    cleanups,
    medians: {},
  };
  ctx.sources = ctx.names.map((n) => join(ctx.dataDir, n));

  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log('interrupted: cleaning up (Ctrl-C again to leave everything behind)');
    void cleanupAll(ctx).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const results: SectionResult[] = [];
  try {
    const needsData = ['acquire', 'throttle', 'bus', 'store', 'e2e', 'fixity', 'export', 'concurrency'].some((s) => options.sections.has(s as Section));
    const need = (needsData ? 4 * ctx.totalBytes + 1024 * MiB : 0) + (options.sections.has('dock') ? 4 * options.dockFiles * options.dockMiB * MiB : 0);
    const free = freeBytes(BENCH_DIR);
    log(`${fmtMiB(free)} free on ${BENCH_DIR}`);
    if (free < need) throw new Error(`need ${fmtMiB(need)} free for the data set (source, spool, MinIO copies); ${fmtMiB(free)} free`);
    await ctx.mc.setAlias(base.minio);
    if (needsData) {
      mkdirSync(ctx.dataDir, { recursive: true });
      log(`writing ${options.files} × ${options.sizeMiB} MiB of random data to ${relative(REPO_ROOT, ctx.dataDir)}`);
      for (const s of ctx.sources) await writeRandomFile(s, options.sizeMiB * MiB);
    }
    const ranAt = started.toISOString();
    const command = `npx tsx scripts/bench.ts${options.argv.length ? ` ${options.argv.join(' ')}` : ''}`;
    const benches: Record<Section, (c: Context) => Promise<SectionBody>> = {
      acquire: benchAcquire,
      throttle: benchThrottle,
      bus: benchBus,
      store: benchStore,
      e2e: benchEndToEnd,
      fixity: benchFixity,
      export: benchExport,
      reindex: benchReindex,
      ledger: benchLedger,
      concurrency: benchConcurrency,
      dock: benchDock,
      search: benchSearch,
      api: benchApi,
      web: benchWeb,
      transcode: benchTranscode,
      faces: benchFaces,
      memory: benchMemory,
    };
    for (const key of SECTIONS) {
      if (options.sections.has(key)) results.push({ ...(await benches[key](ctx)), key, ranAt, command, carried: false });
    }

    const machine = await machineInfo(ctx);
    const rows = results.flatMap((r) => r.rows);
    process.stdout.write(`\nevidock benchmark — ${options.runs} run(s) per side, medians; ${ctx.cache.describe()}\n\n`);
    process.stdout.write(`${textTable(['Figure', 'evidock', 'Baseline', 'Ratio', 'Target', 'Met'], rows.map((r) => [r.what, r.evidock, r.baseline, r.ratio, r.target, metText(r.met)]))}\n\n`);
    for (const r of results) for (const n of r.notes) process.stdout.write(`- ${r.title}: ${n}\n`);
    for (const r of results) {
      const c = contention(r);
      if (c) process.stdout.write(`- Load, ${r.title.toLowerCase()}: ${c}\n`);
    }
    process.stdout.write('\n');
    if (options.out) {
      const kept = options.fresh ? [] : previousSections(options.out).filter((r) => !options.sections.has(r.key));
      for (const r of kept) log(`keeping the ${r.title.toLowerCase()} figures of ${r.ranAt} from ${relative(REPO_ROOT, options.out)} (not rerun)`);
      const all = [...results, ...kept].sort((a, b) => SECTIONS.indexOf(a.key) - SECTIONS.indexOf(b.key));
      mkdirSync(dirname(options.out), { recursive: true });
      writeFileSync(options.out, renderMarkdown(ctx, machine, all, started, (performance.now() - t0) / 1000));
      process.stdout.write(`wrote ${relative(REPO_ROOT, options.out)}\n`);
    }
    return 0;
  } finally {
    await cleanupAll(ctx);
  }
}

async function cleanupAll(ctx: Context): Promise<void> {
  while (ctx.cleanups.length > 0) {
    const next = ctx.cleanups.pop()!;
    await next().catch((e: Error) => log(`cleanup: ${e.message}`));
  }
  if (!ctx.options.keep) rmSync(BENCH_DIR, { recursive: true, force: true });
  else log(`kept ${BENCH_DIR}`);
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`bench failed: ${error.stack ?? error.message}\n`);
    process.exit(1);
  },
);
