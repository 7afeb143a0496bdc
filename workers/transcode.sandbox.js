// Entry of the sandboxed transcode processes (BullMQ forks one per concurrent job slot).
// BullMQ loads this file with import(); it registers tsx so the TypeScript processor loads,
// as the evidock command itself does.
import { register } from 'tsx/esm/api';

register();
const { processTranscodeJob } = await import('./media.sandbox.ts');
export default processTranscodeJob;
