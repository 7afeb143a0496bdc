// Entry of the sandboxed transcode processes (BullMQ forks one per concurrent job slot).
// BullMQ loads this file with import(). Copied into dist/ by the build, it finds the
// compiled processor beside it; in the source tree it registers tsx for the TypeScript one,
// as the evidock command itself does.
import { existsSync } from 'node:fs';

const compiled = new URL('./media.sandbox.js', import.meta.url);
let processor;
if (existsSync(compiled)) {
  processor = (await import(compiled.href)).processTranscodeJob;
} else {
  const { register } = await import('tsx/esm/api');
  register();
  processor = (await import('./media.sandbox.ts')).processTranscodeJob;
}
export default processor;
