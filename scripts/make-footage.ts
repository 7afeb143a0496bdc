/**
 * Generates what a docked body-worn recorder's volume looks like, with real media made by
 * ffmpeg:
 *
 *   <dir>/DCIM/100MEDIA/ZFY123456_004512_20261121093000_0001.MP4   H.264 + AAC video
 *                       ZFY123456_004512_20261121093034_0002.MP4
 *                       …
 *                       ZFY123456_004512_20261121093512_0004.WAV   audio recording (PCM)
 *                       ZFY123456_004512_20261121093650_0005.JPG   photo
 *
 * Names follow GA/T 947: `<deviceId>_<officerId>_<YYYYMMDDHHMMSS>_<seq>`, the time being the
 * recorder's local clock at the start of the recording. Sequence numbers and times are
 * consecutive (each recording starts a few seconds to a minute after the previous one ends)
 * and every file's mtime is its end (start + duration), as on a recorder.
 *
 * `sizeMiB` (CLI `--size-mb N`) switches to bytes mode for benchmarks: the same names, each
 * video N MiB of pseudo-random bytes (AES-CTR keystream), written fast without ffmpeg.
 *
 * The output is a function of the options: the seed picks the default device serial, the gaps
 * between recordings, the test tone and the bytes of bytes mode; ffmpeg runs with bitexact
 * flags and a fixed thread count, so the same ffmpeg build writes the same files.
 *
 *   npx tsx scripts/make-footage.ts <dir> [--files N] [--seconds S] [--serial ZFY…] [--officer 004512]
 *       [--start 2026-11-21T09:30:00] [--seed N] [--size-mb N] [--width W] [--height H]
 *       [--no-audio] [--no-photo] [--json]
 */
import { spawn } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { mkdir, open, stat, utimes } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

export interface FootageOptions {
  /** Number of video recordings (MP4). Default 3. */
  files?: number;
  /** Length of each video and of the audio recording, in seconds. Default 4. */
  seconds?: number;
  /** Device id (产品序号) in the names. Default: `ZFY` + 6 digits chosen by the seed. */
  serial?: string;
  /** Officer id (警号) in the names. Default `004512`. */
  officer?: string;
  /**
   * Start of the first recording on the recorder's clock: a Date, or `YYYY-MM-DDTHH:MM:SS`
   * read as local time. Default 2026-11-21T09:30:00 local.
   */
  start?: Date | string;
  /** Sequence number of the first file. Default 1. */
  firstSequence?: number;
  /** Video frame size. Default 640x360, 25 fps. */
  width?: number;
  height?: number;
  fps?: number;
  /** Add one WAV audio recording after the videos. Default true. */
  audio?: boolean;
  /** Add one JPG photo at the end. Default true. */
  photo?: boolean;
  /** Bytes mode: every video is this many MiB of pseudo-random bytes; no ffmpeg. */
  sizeMiB?: number;
  /** Drives every choice not given explicitly. Default 1. */
  seed?: number;
  /** ffmpeg executable. Default `ffmpeg` from PATH. */
  ffmpeg?: string;
}

export interface FootageFile {
  /** Absolute path. */
  path: string;
  /** Path relative to the volume root, with forward slashes (`DCIM/100MEDIA/…`). */
  relativePath: string;
  name: string;
  kind: 'video' | 'audio' | 'photo';
  sequence: number;
  /** Start on the recorder's clock (the instant the local time in the name denotes here). */
  start: Date;
  durationSeconds: number;
  size: number;
  /** start + duration; also the file's mtime. */
  mtime: Date;
}

export interface RecorderFootage {
  /** Absolute path of the volume root (`dir`). */
  root: string;
  serial: string;
  officer: string;
  files: FootageFile[];
}

const MEDIA_DIR = ['DCIM', '100MEDIA'] as const;
/** GA/T 947 name tokens are separated by `_`, so ids must not contain one. */
const NAME_ID = /^[A-Za-z0-9-]{1,32}$/;
const MIB = 1024 * 1024;

export async function makeRecorderFootage(dir: string, opts: FootageOptions = {}): Promise<RecorderFootage> {
  const seed = opts.seed ?? 1;
  const rng = seededRandom(seed);
  const files = positiveInt('files', opts.files ?? 3, 0);
  const seconds = positiveNumber('seconds', opts.seconds ?? 4);
  const serial = opts.serial ?? `ZFY${String(Math.floor(rng() * 1_000_000)).padStart(6, '0')}`;
  const officer = opts.officer ?? '004512';
  if (!NAME_ID.test(serial)) throw new Error(`serial ${JSON.stringify(serial)}: letters, digits and - only (1-32)`);
  if (!NAME_ID.test(officer)) throw new Error(`officer ${JSON.stringify(officer)}: letters, digits and - only (1-32)`);
  const width = even('width', opts.width ?? 640);
  const height = even('height', opts.height ?? 360);
  const fps = positiveInt('fps', opts.fps ?? 25, 1);
  const sizeMiB = opts.sizeMiB === undefined ? undefined : positiveNumber('sizeMiB', opts.sizeMiB);
  const ffmpeg = opts.ffmpeg ?? 'ffmpeg';
  let sequence = positiveInt('firstSequence', opts.firstSequence ?? 1, 0);
  let clock = parseStart(opts.start ?? '2026-11-21T09:30:00');

  const root = resolve(dir);
  const mediaDir = join(root, ...MEDIA_DIR);
  await mkdir(mediaDir, { recursive: true });

  const plan: Array<{ kind: FootageFile['kind']; duration: number }> = [];
  for (let i = 0; i < files; i++) plan.push({ kind: 'video', duration: seconds });
  if (opts.audio ?? true) plan.push({ kind: 'audio', duration: seconds });
  if (opts.photo ?? true) plan.push({ kind: 'photo', duration: 0 });

  const out: FootageFile[] = [];
  for (const item of plan) {
    const start = clock;
    const extension = item.kind === 'video' ? 'MP4' : item.kind === 'audio' ? 'WAV' : 'JPG';
    const name = `${serial}_${officer}_${localStamp(start)}_${String(sequence).padStart(4, '0')}.${extension}`;
    const path = join(mediaDir, name);
    // A test tone per file, so that recordings differ from each other.
    const tone = 300 + Math.floor(rng() * 60) * 10;

    if (sizeMiB !== undefined) {
      const bytes = item.kind === 'video' ? Math.round(sizeMiB * MIB) : item.kind === 'audio' ? 256 * 1024 : 64 * 1024;
      await writePseudoRandom(path, bytes, `${seed}:${name}`);
    } else if (item.kind === 'video') {
      await runFfmpeg(ffmpeg, [
        '-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=${fps}:duration=${item.duration}`,
        '-f', 'lavfi', '-i', `sine=frequency=${tone}:sample_rate=48000:duration=${item.duration}`,
        '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'main', '-pix_fmt', 'yuv420p', '-g', String(fps * 2),
        '-c:a', 'aac', '-b:a', '64k', '-ac', '1',
        '-shortest', '-movflags', '+faststart',
        '-metadata', `creation_time=${start.toISOString()}`,
        '-f', 'mp4', path,
      ]);
    } else if (item.kind === 'audio') {
      await runFfmpeg(ffmpeg, [
        '-f', 'lavfi', '-i', `sine=frequency=${tone}:sample_rate=16000:duration=${item.duration}`,
        '-c:a', 'pcm_s16le', '-ac', '1',
        '-f', 'wav', path,
      ]);
    } else {
      await runFfmpeg(ffmpeg, [
        '-f', 'lavfi', '-i', `testsrc2=size=${width * 2}x${height * 2}:rate=1:duration=1`,
        '-frames:v', '1', '-c:v', 'mjpeg', '-q:v', '3', '-pix_fmt', 'yuvj420p',
        '-f', 'image2', '-update', '1', path,
      ]);
    }

    const mtime = new Date(start.getTime() + item.duration * 1000);
    await utimes(path, mtime, mtime);
    const { size } = await stat(path);
    out.push({
      path,
      relativePath: [...MEDIA_DIR, name].join('/'),
      name,
      kind: item.kind,
      sequence,
      start,
      durationSeconds: item.duration,
      size,
      mtime,
    });
    sequence += 1;
    // The officer presses record again 5 to 60 seconds later.
    clock = new Date(mtime.getTime() + (5 + Math.floor(rng() * 56)) * 1000);
  }
  return { root, serial, officer, files: out };
}

/** YYYYMMDDHHMMSS of the local time, as the recorder writes it. */
export function localStamp(date: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(date.getFullYear(), 4)}${p(date.getMonth() + 1)}${p(date.getDate())}${p(date.getHours())}${p(date.getMinutes())}${p(date.getSeconds())}`;
}

function parseStart(start: Date | string): Date {
  if (start instanceof Date) {
    if (Number.isNaN(start.getTime())) throw new Error('start: invalid date');
    return new Date(Math.floor(start.getTime() / 1000) * 1000);
  }
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})$/.exec(start);
  if (!m) throw new Error(`start ${JSON.stringify(start)}: expected YYYY-MM-DDTHH:MM:SS (local time)`);
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const date = new Date(y, mo - 1, d, h, mi, s);
  if (date.getMonth() !== mo - 1 || date.getDate() !== d) throw new Error(`start ${JSON.stringify(start)}: no such date`);
  return date;
}

function runFfmpeg(ffmpeg: string, args: string[]): Promise<void> {
  // bitexact: no encoder/muxer version strings; one thread: identical output every run.
  // -map_metadata -1 drops what lavfi inputs carry; explicit -metadata options still apply.
  const full = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', ...args.slice(0, -1),
    '-threads', '1', '-fflags', '+bitexact', '-flags', '+bitexact', '-map_metadata', '-1', args[args.length - 1]!];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(ffmpeg, full, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'ENOENT' ? new Error(`${ffmpeg} not found; install ffmpeg (bash scripts/stack.sh up does)`) : err);
    });
    child.on('close', (code, signal) => {
      if (code === 0) resolvePromise();
      else reject(new Error(`${ffmpeg} ${full.join(' ')} failed (${signal ?? `exit ${code}`}): ${stderr.trim()}`));
    });
  });
}

/** `bytes` of AES-128-CTR keystream keyed by `label`: deterministic and fast (AES-NI). */
async function writePseudoRandom(path: string, bytes: number, label: string): Promise<void> {
  const key = createHash('sha256').update(`evidock-footage:${label}`).digest();
  const cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
  const zeros = Buffer.alloc(4 * MIB);
  const fh = await open(path, 'w');
  try {
    let left = bytes;
    while (left > 0) {
      const n = Math.min(left, zeros.length);
      const chunk = cipher.update(n === zeros.length ? zeros : zeros.subarray(0, n));
      await fh.write(chunk, 0, chunk.length);
      left -= n;
    }
  } finally {
    await fh.close();
  }
}

/** Small seeded PRNG (mulberry32); enough for names, gaps and tones, and for the chaos suite's delays and orders. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function positiveInt(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new Error(`${name}: expected an integer >= ${min}, got ${value}`);
  return value;
}

function positiveNumber(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name}: expected a number > 0, got ${value}`);
  return value;
}

function even(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 16 || value % 2 !== 0) throw new Error(`${name}: expected an even integer >= 16, got ${value}`);
  return value;
}

// ---- CLI ---------------------------------------------------------------------------------

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      files: { type: 'string' },
      seconds: { type: 'string' },
      serial: { type: 'string' },
      officer: { type: 'string' },
      start: { type: 'string' },
      seed: { type: 'string' },
      'size-mb': { type: 'string' },
      width: { type: 'string' },
      height: { type: 'string' },
      'no-audio': { type: 'boolean' },
      'no-photo': { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals.length !== 1) {
    process.stderr.write(
      'usage: npx tsx scripts/make-footage.ts <dir> [--files N] [--seconds S] [--serial ZFY…] [--officer 004512]\n' +
        '       [--start YYYY-MM-DDTHH:MM:SS] [--seed N] [--size-mb N] [--width W] [--height H] [--no-audio] [--no-photo] [--json]\n',
    );
    return values.help ? 0 : 2;
  }
  const num = (name: string, raw: string | undefined): number | undefined => {
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) throw new Error(`--${name}: not a number: ${raw}`);
    return n;
  };
  const options: FootageOptions = {
    audio: !values['no-audio'],
    photo: !values['no-photo'],
  };
  const set = <K extends keyof FootageOptions>(key: K, value: FootageOptions[K] | undefined) => {
    if (value !== undefined) options[key] = value;
  };
  set('files', num('files', values.files));
  set('seconds', num('seconds', values.seconds));
  set('serial', values.serial);
  set('officer', values.officer);
  set('start', values.start);
  set('seed', num('seed', values.seed));
  set('sizeMiB', num('size-mb', values['size-mb']));
  set('width', num('width', values.width));
  set('height', num('height', values.height));

  const footage = await makeRecorderFootage(positionals[0]!, options);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(footage, null, 2)}\n`);
  } else {
    for (const f of footage.files) process.stdout.write(`${f.relativePath}\t${f.size}\t${f.kind}\n`);
    process.stdout.write(`${footage.files.length} files in ${footage.root} (device ${footage.serial}, officer ${footage.officer})\n`);
  }
  return 0;
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`make-footage: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
