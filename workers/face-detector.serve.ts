import { MediaInputError } from './media-tools.ts';
import { readRgbFrame, TfjsFaceDetector, type FaceDetectorOptions } from './face-detector.adapter.ts';
import type { DetectorReply, DetectorRequest } from './face-detector.process.ts';

/**
 * The message loop of the detector's process (face-detector.child.js): one `load`, then one
 * `detect` per frame file, answered in order. Frames are read here, from the run's workspace,
 * so only paths and boxes cross the IPC channel.
 */
let detector: TfjsFaceDetector | null = null;
const send = (m: DetectorReply) => process.send?.(m);

async function handle(m: DetectorRequest): Promise<void> {
  if (m.kind === 'load') {
    try {
      const options: FaceDetectorOptions = { model: m.model, minScore: m.minScore };
      detector = await TfjsFaceDetector.load(options);
      send({ kind: 'ready', model: detector.model });
    } catch (error) {
      send({ kind: 'error', id: null, message: (error as Error).message, input: false });
    }
    return;
  }
  if (!detector) return void send({ kind: 'error', id: m.id, message: 'no model loaded', input: false });
  try {
    send({ kind: 'faces', id: m.id, faces: await detector.detect(await readRgbFrame(m.path)) });
  } catch (error) {
    send({ kind: 'error', id: m.id, message: (error as Error).message, input: error instanceof MediaInputError });
  }
}

// One at a time: TensorFlow.js runs one inference at a time anyway, and order keeps replies matched.
let chain = Promise.resolve();
process.on('message', (m: DetectorRequest) => {
  chain = chain.then(() => handle(m));
});
send({ kind: 'started' });
