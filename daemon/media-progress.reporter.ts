import type { QueueEvents } from 'bullmq';
import { t } from './i18n.ts';

/**
 * One line per quarter of a transcode job, and one when it ends, on the daemon's or worker
 * host's output: operators see long proxies move without reading logs. The numbers come
 * from BullMQ progress events, so jobs running in sandboxed children report here too.
 */
export function reportMediaProgress(events: QueueEvents, say: (line: string) => void): void {
  const shown = new Map<string, number>();
  events.on('progress', ({ jobId, data }) => {
    const { percent, speed } = (typeof data === 'object' && data !== null ? data : {}) as { percent?: number; speed?: number | null };
    if (typeof percent !== 'number') return;
    const quarter = Math.floor(percent / 25);
    if (quarter <= (shown.get(jobId) ?? 0) || quarter >= 4) return;
    shown.set(jobId, quarter);
    say(t('media.progress', { job: describe(jobId), percent: Math.round(percent), speed: speed ? `${speed.toFixed(1)}x` : '-' }));
  });
  events.on('completed', ({ jobId }) => {
    shown.delete(jobId);
    say(t('media.done', { job: describe(jobId) }));
  });
  events.on('failed', ({ jobId, failedReason }) => {
    shown.delete(jobId);
    say(t('media.jobFailed', { job: describe(jobId), reason: failedReason }));
  });
}

/** "proxy-<uuid>[-gen]" → "proxy 1a2b3c4d". */
function describe(jobId: string): string {
  const m = /^([a-z]+)-([0-9a-f]{8})/.exec(jobId);
  return m ? `${m[1]} ${m[2]}` : jobId;
}
