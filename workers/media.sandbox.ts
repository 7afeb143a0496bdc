import type { SandboxedJob } from 'bullmq';
import { loadConfig } from '../config/config.loader.ts';
import { moduleLogger } from '../config/logger.ts';
import { createRuntime, initLogging, type Runtime } from '../daemon/runtime.ts';
import { handBack } from './bullmq.job-queue.ts';
import { JobName, JobStatus, type MediaJobPayload, type RedactionRenderPayload, type RedactionSuggestPayload } from './job.types.ts';

const log = moduleLogger('transcode-sandbox');

/**
 * The processor of the transcode queue, run in a child process: a crashing ffmpeg or a
 * sharp segfault kills this child, never the worker. The parent hands its configuration
 * over in EVIDOCK_CONFIG_JSON; the child builds its own connections once and reuses them
 * for every job it is given.
 */
let runtime: Promise<Runtime> | null = null;

// BullMQ's child only ends on a message or a signal from its parent. A parent that dies
// without sending one (SIGKILL, the OOM killer, a power cut of the daemon) would leave this
// process running on, holding memory and its connections, one more at every crash: so it
// goes when its parent does. ffmpeg follows it (spawned with a parent-death signal).
const parentAtStart = process.ppid;
process.once('disconnect', () => process.exit(1));
setInterval(() => {
  if (process.ppid !== parentAtStart) process.exit(1);
}, 1000).unref();

function runtimeOnce(): Promise<Runtime> {
  if (!runtime) {
    const config = loadConfig();
    initLogging(config, false);
    runtime = createRuntime(config);
  }
  return runtime;
}

export async function processTranscodeJob(job: SandboxedJob<MediaJobPayload | RedactionRenderPayload | RedactionSuggestPayload, JobStatus>, token?: string, signal?: AbortSignal): Promise<JobStatus> {
  const rt = await runtimeOnce();
  let last = 0;
  rt.setMediaProgress((_evidenceId, percent, speed) => {
    const now = Date.now();
    if (now - last < 250 && percent < 100) return;
    last = now;
    void job.updateProgress({ percent: Math.round(percent * 10) / 10, speed });
  });
  log.debug({ jobId: job.id, evidenceId: job.data.evidenceId, name: job.name }, 'transcode job');
  let status: JobStatus;
  switch (job.name as JobName) {
    case JobName.Proxy:
      status = await rt.media.handleProxy(job.data as MediaJobPayload, signal);
      break;
    case JobName.Thumbnails:
      status = await rt.media.handleThumbnails(job.data as MediaJobPayload, signal);
      break;
    case JobName.RedactionRender:
      status = await rt.redactionRender.handleRedactionRender(job.data as RedactionRenderPayload, signal);
      break;
    case JobName.RedactionSuggest:
      status = await rt.redactionSuggest.handleRedactionSuggest(job.data as RedactionSuggestPayload, signal);
      break;
    default:
      throw new Error(`the transcode sandbox does not run ${job.name}`);
  }
  // Cancelled by the worker pool's close (its process is stopping): back to the queue.
  if (status === JobStatus.Stopped) return handBack(job, token);
  return status;
}
