import { spawn, type ChildProcess } from 'node:child_process';
import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import ffmpeg from 'fluent-ffmpeg';
import { moduleLogger } from '../config/logger.ts';
import { ProgressReader, stderrShowsDecodeErrors, stderrVerdict } from './ffmpeg-args.ts';
import { parseProbe } from './ffprobe.parser.ts';
import { locateMoov, parseMoov, type Mp4Header } from './mp4-header.parser.ts';
import { withParentDeath } from './parent-death.ts';
import { MediaInputError, TranscodeStoppedError, type MediaProber, type OutputOutcome, type ProbeOutcome, type TranscodeOptions, type TranscodeResult, type Transcoder } from './media-tools.ts';

const log = moduleLogger('ffmpeg');

/** Lines of stderr kept for the result and for error messages. */
const STDERR_TAIL_LINES = 30;

export interface FfmpegTranscoderOptions {
  /** media.ffmpegPath. */
  ffmpegPath: string;
  /**
   * Kill ffmpeg when it has printed neither progress nor stderr for this long. Progress comes
   * every half second while it works, so only a hung ffmpeg (a stuck network mount, a decoder
   * spinning on a pathological file) gets here; the exception is the faststart rewrite at the
   * end of a long proxy, silent for as long as it takes to copy the file once.
   */
  stallTimeoutMs?: number;
}

/**
 * Runs ffmpeg with the exact argument lists of ffmpeg-args.ts, through fluent-ffmpeg.
 *
 * fluent-ffmpeg is confined to `spawnThroughFluent` below, because its upstream is archived
 * and it should stay replaceable by a plain spawn. Its public builder cannot run a list as
 * given: `run()` rebuilds the command (inputs, then globals, its own `-y`, then outputs),
 * splits single options on spaces, and probes `ffmpeg -formats`/`-encoders` first. So we use
 * the spawner underneath it, `_spawnFfmpeg(args, …)`, the one fluent uses for its own
 * capability queries: it takes a raw list, finds the binary, and hands back the process with
 * line-splitting ring buffers for stdout and stderr.
 */
export class FfmpegTranscoder implements Transcoder {
  private readonly ffmpegPath: string;
  private readonly stallTimeoutMs: number;
  private versionText: Promise<string> | undefined;

  constructor(options: FfmpegTranscoderOptions) {
    this.ffmpegPath = options.ffmpegPath;
    this.stallTimeoutMs = options.stallTimeoutMs ?? 5 * 60_000;
  }

  run(args: readonly string[], options: TranscodeOptions): Promise<TranscodeResult> {
    if (options.signal?.aborted) return Promise.reject(new TranscodeStoppedError());
    const paths = pathsOf(args);
    const progress = new ProgressReader(options.durationSeconds);
    const tail: string[] = [];
    let stalled = false;
    let stopped = false;
    let child: ChildProcess | undefined;
    // Nothing of a half-made proxy is kept, so ffmpeg need not be asked to finish its file.
    const stop = () => {
      stopped = true;
      child?.kill('SIGKILL');
    };
    options.signal?.addEventListener('abort', stop, { once: true });
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        stalled = true;
        child?.kill('SIGKILL');
      }, this.stallTimeoutMs);
    };

    return new Promise<TranscodeResult>((resolve, reject) => {
      const [program, argv] = withParentDeath(this.ffmpegPath, [...args]);
      spawnThroughFluent(program, argv, {
        onStart: (proc) => {
          child = proc;
          if (stopped) proc.kill('SIGKILL');
          arm();
          log.debug({ pid: proc.pid, args: args.map((a) => redactPaths(a, paths)) }, 'ffmpeg started');
        },
        onStdoutLine: (line) => {
          arm();
          const report = progress.push(line);
          if (report && options.onProgress) options.onProgress(report);
        },
        onStderrLine: (line) => {
          arm();
          if (line.trim() === '') return;
          tail.push(line);
          if (tail.length > STDERR_TAIL_LINES) tail.shift();
        },
        onEnd: (error) => {
          clearTimeout(timer);
          options.signal?.removeEventListener('abort', stop);
          const stderrTail = tail.map((line) => redactPaths(line.replace(/ @ 0x[0-9a-f]+\]/, ']'), paths));
          if (stopped) {
            reject(new TranscodeStoppedError());
          } else if (stalled) {
            reject(new Error(`ffmpeg printed nothing for ${Math.round(this.stallTimeoutMs / 1000)} s and was killed`));
          } else if (!error) {
            resolve({ stderrTail, hadErrors: stderrShowsDecodeErrors(tail) });
          } else if (!/exited with code|killed with signal/.test(error.message)) {
            // Could not start it at all (missing binary, no permission): not about the input.
            reject(new Error(`ffmpeg (${this.ffmpegPath}) could not run: ${error.message}`, { cause: error }));
          } else {
            const verdict = stderrVerdict(tail, paths);
            if (verdict.badInput) reject(new MediaInputError('ffmpeg', verdict.message, { cause: error }));
            else reject(new Error(`ffmpeg failed: ${verdict.message} (${error.message})`, { cause: error }));
          }
        },
      });
    });
  }

  version(): Promise<string> {
    this.versionText ??= new Promise<string>((resolve, reject) => {
      let first: string | undefined;
      spawnThroughFluent(this.ffmpegPath, ['-hide_banner', '-version'], {
        onStart: () => {},
        onStdoutLine: (line) => {
          first ??= line;
        },
        onStderrLine: () => {},
        onEnd: (error) => {
          const m = first ? /^ffmpeg version (\S+)/.exec(first) : null;
          if (error || !m) reject(new Error(`ffmpeg -version: ${error?.message ?? `unexpected output ${JSON.stringify(first)}`}`));
          else resolve(`ffmpeg ${m[1]}`);
        },
      });
    });
    // A failure (ffmpeg not installed yet) should not be remembered forever.
    this.versionText.catch(() => (this.versionText = undefined));
    return this.versionText;
  }
}

export interface FfprobeProberOptions {
  /** media.ffprobePath. */
  ffprobePath: string;
  /** ffprobe reads headers, not the whole file; a minute means it hangs. */
  timeoutMs?: number;
}

/**
 * ffprobe through child_process rather than fluent-ffmpeg: fluent's `ffprobe()` hard-codes
 * its own arguments, parses ffprobe's default text output into its own shape (the display
 * matrix, hence rotation, does not survive), buffers without limit and has no timeout.
 */
export class FfprobeProber implements MediaProber {
  private readonly ffprobePath: string;
  private readonly timeoutMs: number;

  constructor(options: FfprobeProberOptions) {
    this.ffprobePath = options.ffprobePath;
    this.timeoutMs = options.timeoutMs ?? 60_000;
  }

  async probe(path: string): Promise<ProbeOutcome> {
    // A missing file is a missing working copy (ours to fix), not a verdict on the evidence.
    await stat(path);
    const result = await runCollecting(this.ffprobePath, ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', path], {
      timeoutMs: this.timeoutMs,
      maxStdoutBytes: 32 * 1024 * 1024,
    });
    if (result.code !== 0) {
      const lines = result.stderr.split(/\r?\n/).filter((l) => l.trim() !== '');
      return { ok: false, error: stderrVerdict(lines.slice(-STDERR_TAIL_LINES), [path]).message };
    }
    let json: unknown;
    try {
      json = JSON.parse(result.stdout);
    } catch (error) {
      throw new Error(`ffprobe printed no JSON for ${basename(path)}`, { cause: error });
    }
    return { ok: true, info: parseProbe(json) };
  }

  async probeOutput(path: string): Promise<OutputOutcome> {
    const header = await readMp4Header(path);
    if (header) {
      const video = header.tracks.find((t) => t.kind === 'video');
      return { ok: true, durationSeconds: header.durationSeconds, width: video?.width ?? null, height: video?.height ?? null, readBy: 'header' };
    }
    const probed = await this.probe(path);
    if (!probed.ok) return probed;
    const video = probed.info.streams.find((s) => s.kind === 'video');
    return { ok: true, durationSeconds: probed.info.durationSeconds, width: video?.width ?? null, height: video?.height ?? null, readBy: 'ffprobe' };
  }

  async version(): Promise<string> {
    const result = await runCollecting(this.ffprobePath, ['-hide_banner', '-version'], { timeoutMs: this.timeoutMs, maxStdoutBytes: 1024 * 1024 });
    const m = /^ffprobe version (\S+)/.exec(result.stdout);
    if (result.code !== 0 || !m) throw new Error(`ffprobe -version: exit ${result.code}: ${result.stderr.trim() || result.stdout.slice(0, 200)}`);
    return `ffprobe ${m[1]}`;
  }
}

/** The first bytes read for the top-level boxes; a faststart moov follows ftyp within them. */
const HEAD_BYTES = 64 * 1024;
/** A moov larger than this (hours of video) is left to ffprobe rather than read into memory. */
const MAX_MOOV_BYTES = 32 * 1024 * 1024;

/** The moov of an MP4 with its index in front (mp4-header.parser.ts); null for anything else. */
async function readMp4Header(path: string): Promise<Mp4Header | null> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const head = Buffer.alloc(Math.min(HEAD_BYTES, size));
    await handle.read(head, 0, head.length, 0);
    const moov = locateMoov(head, size);
    if (!moov || moov.size > MAX_MOOV_BYTES || moov.offset + moov.size > size) return null;
    const box = Buffer.alloc(moov.size);
    const { bytesRead } = await handle.read(box, 0, moov.size, moov.offset);
    return bytesRead === moov.size ? parseMoov(box) : null;
  } finally {
    await handle.close();
  }
}

// ——— fluent-ffmpeg, and nothing else of it, lives below ———

interface LinesRing {
  callback(cb: (line: string) => void): void;
}

type FluentSpawn = (
  args: string[],
  options: { captureStdout: boolean; stdoutLines: number; windowsHide: boolean },
  processCB: (proc: ChildProcess, stdoutRing: LinesRing, stderrRing: LinesRing) => void,
  endCB: (error: Error | null, stdoutRing?: LinesRing, stderrRing?: LinesRing) => void,
) => void;

interface SpawnHandlers {
  onStart(proc: ChildProcess): void;
  onStdoutLine(line: string): void;
  onStderrLine(line: string): void;
  /** Called once: null on exit code 0, else fluent's error ("ffmpeg exited with code 1", …). */
  onEnd(error: Error | null): void;
}

function spawnThroughFluent(ffmpegPath: string, args: string[], handlers: SpawnHandlers): void {
  const command = ffmpeg();
  // Sets fluent's process-wide path cache; it is read synchronously when spawning just below,
  // so concurrent runs cannot see each other's path.
  command.setFfmpegPath(ffmpegPath);
  const spawnFfmpeg = (command as unknown as { _spawnFfmpeg?: FluentSpawn })._spawnFfmpeg;
  if (typeof spawnFfmpeg !== 'function') throw new Error('fluent-ffmpeg has no _spawnFfmpeg (expected version 2.1.x)');
  let ended = false;
  const end = (error: Error | null) => {
    if (ended) return;
    ended = true;
    handlers.onEnd(error);
  };
  spawnFfmpeg.call(
    command,
    args,
    // The rings keep this many lines; ours are kept by the handlers.
    { captureStdout: true, stdoutLines: STDERR_TAIL_LINES, windowsHide: true },
    (proc, stdoutRing, stderrRing) => {
      handlers.onStart(proc);
      stdoutRing.callback(handlers.onStdoutLine);
      stderrRing.callback(handlers.onStderrLine);
    },
    (error) => end(error),
  );
}

// ——— helpers ———

// ffmpeg ignores SIGPIPE, so when the process running it dies (a crashed sandbox, a killed
// worker) it would go on transcoding as an orphan, holding a core and a scratch directory:
// it runs under the parent-death signal (parent-death.ts).

/** The input and output paths in an argument list: everything after -i, and the last item. */
function pathsOf(args: readonly string[]): string[] {
  const paths: string[] = [];
  args.forEach((arg, i) => {
    if (arg === '-i' && args[i + 1]) paths.push(args[i + 1]!);
  });
  const last = args.at(-1);
  if (last && last.startsWith('/')) paths.push(last);
  return paths;
}

/** Working-copy paths are temporary and differ per job: messages carry the file name only. */
function redactPaths(text: string, paths: readonly string[]): string {
  let out = text;
  for (const path of paths) out = out.split(path).join(basename(path));
  return out;
}

interface Collected {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCollecting(command: string, args: string[], options: { timeoutMs: number; maxStdoutBytes: number }): Promise<Collected> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    const out: Buffer[] = [];
    let outBytes = 0;
    let stderr = '';
    let failure: Error | undefined;
    const timer = setTimeout(() => {
      failure = new Error(`${basename(command)} did not finish in ${Math.round(options.timeoutMs / 1000)} s and was killed`);
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > options.maxStdoutBytes) {
        failure ??= new Error(`${basename(command)} printed more than ${options.maxStdoutBytes} bytes and was killed`);
        child.kill('SIGKILL');
        return;
      }
      out.push(chunk);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      // Only the end matters, and a damaged file can make ffprobe print a line per packet.
      stderr = (stderr + chunk).slice(-64 * 1024);
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${command} could not run: ${error.message}`, { cause: error }));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (failure) reject(failure);
      else resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr });
    });
  });
}
