import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import type { FaceDetection } from '../archive/face-track.ts';
import { moduleLogger } from '../config/logger.ts';
import { MediaInputError } from './media-tools.ts';

const log = moduleLogger('face-detector');
const require = createRequire(import.meta.url);

/** A decoded frame: `width × height` pixels, 3 bytes (R, G, B) each, rows top to bottom. */
export interface RgbFrame {
  data: Uint8Array;
  width: number;
  height: number;
}

export interface FaceDetector {
  /** Faces on the frame, as fractions of it, best first. */
  detect(frame: RgbFrame): Promise<FaceDetection[]>;
  /** What made the detections, for the record kept with a suggestion. */
  readonly model: string;
}

/**
 * The two detectors that @vladmandic/face-api ships weights for in its npm package (model/);
 * figures on one core from scripts/bench-faces.ts (README, Dependencies):
 * - `ssd` (default): SSD MobileNet v1, 5.4 MB, ~3 frames/s at any frame size; precision 1.00,
 *   recall 0.69 on faces 36–180 px tall in 720p. A missed face is a face left in a copy, so
 *   recall decides;
 * - `tiny`: Tiny Face Detector, 190 KB, 11–15 frames/s at input 416 but recall 0.22 there
 *   (it misses small faces), 6 frames/s and recall 0.63 at 608.
 */
export type FaceModel = 'tiny' | 'ssd';

export interface FaceDetectorOptions {
  model?: FaceModel;
  /** Detections scored below this are not returned. */
  minScore?: number;
  /** tiny only: the side the frame is scaled to, a multiple of 32; larger finds smaller faces, slower. */
  inputSize?: number;
}

// The slice of TensorFlow.js and face-api used here. Their CommonJS builds are required (not
// imported) so that the wasm build of face-api is the one loaded: its package's main entry is
// the build for @tensorflow/tfjs-node, whose install downloads libtensorflow from the internet.
interface Tensor {
  dispose(): void;
}
interface Tf {
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  getBackend(): string;
  tensor3d(values: Int32Array, shape: [number, number, number], dtype: 'int32'): Tensor;
  version_core: string;
}
interface Net {
  loadFromDisk(dir: string): Promise<void>;
}
interface FaceApi {
  nets: { tinyFaceDetector: Net; ssdMobilenetv1: Net };
  TinyFaceDetectorOptions: new (o: { inputSize: number; scoreThreshold: number }) => unknown;
  SsdMobilenetv1Options: new (o: { minConfidence: number; maxResults: number }) => unknown;
  detectAllFaces(input: Tensor, options: unknown): Promise<Array<{ score: number; relativeBox: { x: number; y: number; width: number; height: number } }>>;
  version: string;
}

let runtime: Promise<{ tf: Tf; faceapi: FaceApi }> | null = null;

/**
 * TensorFlow.js on its WebAssembly backend, whose .wasm files are inside the
 * @tensorflow/tfjs-backend-wasm package: read from node_modules by path (its Node build reads
 * them with fs when no wasm path is set), so nothing is fetched. Global in TensorFlow.js, so
 * set up once per process.
 */
function loadRuntime(): Promise<{ tf: Tf; faceapi: FaceApi }> {
  runtime ??= (async () => {
    // The backend's emscripten module adds process-wide 'uncaughtException' and
    // 'unhandledRejection' listeners that rethrow, which would override how this process
    // handles its own errors; the ones it added are removed again.
    const before = { uncaughtException: process.listeners('uncaughtException'), unhandledRejection: process.listeners('unhandledRejection') };
    const tf = require('@tensorflow/tfjs') as Tf;
    require('@tensorflow/tfjs-backend-wasm');
    const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApi;
    try {
      if (!(await tf.setBackend('wasm'))) throw new Error('TensorFlow.js: the wasm backend did not start');
      await tf.ready();
    } finally {
      for (const listener of process.listeners('uncaughtException')) if (!before.uncaughtException.includes(listener)) process.removeListener('uncaughtException', listener);
      for (const listener of process.listeners('unhandledRejection')) if (!before.unhandledRejection.includes(listener)) process.removeListener('unhandledRejection', listener);
    }
    log.info({ tfjs: tf.version_core, faceapi: faceapi.version, backend: tf.getBackend() }, 'face detection runtime ready');
    return { tf, faceapi };
  })();
  runtime.catch(() => (runtime = null));
  return runtime;
}

/** Where the package keeps its weights. */
export function modelDirectory(): string {
  return join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
}

export class TfjsFaceDetector implements FaceDetector {
  readonly model: string;

  private constructor(
    private readonly tf: Tf,
    private readonly faceapi: FaceApi,
    private readonly options: unknown,
    model: string,
  ) {
    this.model = model;
  }

  static async load(options: FaceDetectorOptions = {}): Promise<TfjsFaceDetector> {
    const { tf, faceapi } = await loadRuntime();
    const which = options.model ?? 'ssd';
    const minScore = options.minScore ?? 0.5;
    const dir = modelDirectory();
    if (which === 'tiny') {
      const inputSize = options.inputSize ?? 416;
      if (!Number.isInteger(inputSize) || inputSize < 128 || inputSize > 1024 || inputSize % 32 !== 0) throw new Error(`face detector: inputSize must be a multiple of 32 from 128 to 1024, not ${inputSize}`);
      await faceapi.nets.tinyFaceDetector.loadFromDisk(dir);
      return new TfjsFaceDetector(tf, faceapi, new faceapi.TinyFaceDetectorOptions({ inputSize, scoreThreshold: minScore }), `face-api ${faceapi.version} tiny_face_detector ${inputSize}`);
    }
    await faceapi.nets.ssdMobilenetv1.loadFromDisk(dir);
    return new TfjsFaceDetector(tf, faceapi, new faceapi.SsdMobilenetv1Options({ minConfidence: minScore, maxResults: 100 }), `face-api ${faceapi.version} ssd_mobilenetv1`);
  }

  async detect(frame: RgbFrame): Promise<FaceDetection[]> {
    const { width, height, data } = frame;
    if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) throw new Error(`face detector: bad frame size ${width}×${height}`);
    if (data.length !== width * height * 3) throw new Error(`face detector: ${data.length} bytes is not an RGB frame of ${width}×${height}`);
    const input = this.tf.tensor3d(Int32Array.from(data), [height, width, 3], 'int32');
    try {
      const found = await this.faceapi.detectAllFaces(input, this.options);
      return found
        .map((d) => clampRect(d.relativeBox.x, d.relativeBox.y, d.relativeBox.width, d.relativeBox.height, d.score))
        .filter((d): d is FaceDetection => d !== null)
        .sort((a, b) => b.score - a.score);
    } finally {
      input.dispose();
    }
  }
}

/** A frame file (PNG from ffmpeg, or any image sharp reads) as RGB, upright, alpha dropped. */
export async function readRgbFrame(path: string): Promise<RgbFrame> {
  try {
    const { data, info } = await sharp(path, { failOn: 'error' }).autoOrient().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`${info.channels} channels`);
    return { data, width: info.width, height: info.height };
  } catch (error) {
    throw new MediaInputError('sharp', `cannot read frame ${path.split('/').pop()}: ${(error as Error).message}`, { cause: error });
  }
}

/** The detector's boxes may reach past the frame's edge; the part inside is what counts. */
function clampRect(x: number, y: number, w: number, h: number, score: number): FaceDetection | null {
  const x0 = Math.max(0, x);
  const y0 = Math.max(0, y);
  const x1 = Math.min(1, x + w);
  const y1 = Math.min(1, y + h);
  if (!(x1 > x0 && y1 > y0) || !Number.isFinite(score)) return null;
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0, score };
}
