// The face detector's own process (forked by face-detector.process.ts for one suggestion run):
// TensorFlow.js's wasm heap, a crash in it, or a frame that makes it run away ends this
// process and that run, never the worker that asked. Copied into dist/ by the build, it finds
// the compiled loop beside it; in the source tree it registers tsx for the TypeScript one.
import { existsSync } from 'node:fs';

// Without setpriv the parent's death only shows as a closed IPC channel.
process.once('disconnect', () => process.exit(1));

const compiled = new URL('./face-detector.serve.js', import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./face-detector.serve.ts');
}
