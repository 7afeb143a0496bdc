import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FaceDetection } from '../archive/face-track.ts';
import { moduleLogger } from '../config/logger.ts';
import type { FaceModel } from './face-detector.adapter.ts';
import { MediaInputError } from './media-tools.ts';
import { parentDeathLaunch } from './parent-death.ts';

const log = moduleLogger('face-detector-process');

export type DetectorRequest = { kind: 'load'; model: FaceModel; minScore: number } | { kind: 'detect'; id: number; path: string };
export type DetectorReply =
  | { kind: 'started' }
  | { kind: 'ready'; model: string }
  | { kind: 'faces'; id: number; faces: FaceDetection[] }
  | { kind: 'error'; id: number | null; message: string; input: boolean };

/** A detector that reads frame files: the suggestion job's view of it. */
export interface FrameDetector {
  readonly model: string;
  /** The detector's process. */
  readonly pid: number | undefined;
  /** Faces on the frame in `path` (PNG); MediaInputError when the file is not a readable picture. */
  detectFile(path: string): Promise<FaceDetection[]>;
  close(): Promise<void>;
}

export interface FrameDetectorLauncher {
  start(options: { model: FaceModel; minScore: number }, signal?: AbortSignal): Promise<FrameDetector>;
}

/** The detector's process died, hung or could not load its model: this run fails, the worker goes on. */
export class DetectorProcessError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DetectorProcessError';
  }
}

const CHILD = fileURLToPath(new URL('./face-detector.child.js', import.meta.url));
/** Loading TensorFlow.js, compiling its wasm and reading the weights: seconds, on a busy host more. */
const LOAD_TIMEOUT_MS = 120_000;

/**
 * Runs the detector (TensorFlow.js on wasm) in a process of its own per run, under a V8 heap
 * limit and with a deadline per frame: a crash, a leak or a hang there kills that process, and
 * the job fails with DetectorProcessError instead of taking the worker down with it. The child
 * dies with its parent (setpriv --pdeathsig, else its disconnect watch).
 */
export class ProcessFaceDetectorLauncher implements FrameDetectorLauncher {
  constructor(private readonly limits: { frameTimeoutSeconds: number; detectorMemoryMiB: number }) {}

  async start(options: { model: FaceModel; minScore: number }, signal?: AbortSignal): Promise<FrameDetector> {
    const child = fork(CHILD, [], { ...parentDeathLaunch([`--max-old-space-size=${this.limits.detectorMemoryMiB}`]), stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'json' });
    const detector = new ChildDetector(child, this.limits.frameTimeoutSeconds * 1000, signal);
    try {
      await detector.load(options);
    } catch (error) {
      await detector.close();
      throw error;
    }
    return detector;
  }
}

class ChildDetector implements FrameDetector {
  model = '';
  get pid(): number | undefined {
    return this.child.pid;
  }
  private stderr = '';
  private nextId = 1;
  private pending = new Map<number | 'load', { resolve: (m: DetectorReply) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private gone: Error | null = null;

  constructor(
    private readonly child: ChildProcess,
    private readonly frameTimeoutMs: number,
    signal?: AbortSignal,
  ) {
    child.stderr?.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-2000)));
    child.on('message', (m: DetectorReply) => {
      const key = m.kind === 'ready' || (m.kind === 'error' && m.id === null) ? 'load' : m.kind === 'started' ? null : m.id;
      if (key === null) return;
      const waiting = this.pending.get(key);
      if (!waiting) return;
      this.pending.delete(key);
      clearTimeout(waiting.timer);
      waiting.resolve(m);
    });
    const fail = (error: Error) => {
      this.gone ??= error;
      for (const [key, w] of this.pending) {
        clearTimeout(w.timer);
        w.reject(this.gone);
        this.pending.delete(key);
      }
    };
    child.once('error', (err) => fail(new DetectorProcessError(`face detector process: ${err.message}`)));
    child.once('exit', (code, sig) => fail(new DetectorProcessError(`face detector process ended (${sig ?? `exit ${code}`})${this.stderr.trim() ? `: ${this.stderr.trim().split('\n').slice(-3).join(' ')}` : ''}`)));
    signal?.addEventListener('abort', () => {
      const stopped = new Error('the face detector was stopped: this process is stopping');
      stopped.name = 'AbortError';
      fail(stopped);
      child.kill('SIGKILL');
    }, { once: true });
  }

  load(options: { model: FaceModel; minScore: number }): Promise<void> {
    return this.ask('load', { kind: 'load', ...options }, LOAD_TIMEOUT_MS).then((m) => {
      if (m.kind === 'error') throw new DetectorProcessError(`the face detector did not load: ${m.message}`);
      if (m.kind === 'ready') this.model = m.model;
    });
  }

  async detectFile(path: string): Promise<FaceDetection[]> {
    const id = this.nextId++;
    const m = await this.ask(id, { kind: 'detect', id, path }, this.frameTimeoutMs);
    if (m.kind === 'faces') return m.faces;
    if (m.kind === 'error' && m.input) throw new MediaInputError('sharp', m.message);
    throw new DetectorProcessError(`face detector: ${m.kind === 'error' ? m.message : `unexpected reply ${m.kind}`}`);
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGKILL');
    await exited;
  }

  private ask(key: number | 'load', message: DetectorRequest, timeoutMs: number): Promise<DetectorReply> {
    if (this.gone) return Promise.reject(this.gone);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(key);
        log.warn({ timeoutMs, pid: this.child.pid }, 'face detector did not answer; killing its process');
        reject(new DetectorProcessError(`the face detector did not answer within ${Math.round(timeoutMs / 1000)} s`));
        this.child.kill('SIGKILL');
      }, timeoutMs);
      this.pending.set(key, { resolve, reject, timer });
      this.child.send(message, (err) => {
        if (!err) return;
        this.pending.delete(key);
        clearTimeout(timer);
        reject(this.gone ?? new DetectorProcessError(`face detector process: ${err.message}`));
      });
    });
  }
}
