import type { EvidockConfig } from '../config/config.schema.ts';
import { moduleLogger } from '../config/logger.ts';
import { probeVolume } from '../drivers/driver-registry.ts';
import type { ProbeHints } from '../drivers/recorder.driver.ts';
import { QueueName, SHARED_QUEUES } from '../workers/job.types.ts';
import { DeviceWatcher } from './device-watcher.ts';
import { formatBytes, t } from './i18n.ts';
import { reportMediaProgress } from './media-progress.reporter.ts';
import { createRuntime, initLogging } from './runtime.ts';
import { startReconciling } from './session-reconciler.ts';

const log = moduleLogger('daemon');
const DOCK_RETRY_MS = 10_000;

function say(text: string): void {
  process.stdout.write(`${new Date().toISOString()}  ${text}\n`);
}

/**
 * `evidock daemon`: watches for recorders, docks them, runs every queue's workers, and
 * after a crash picks up where the last process stopped (open sessions are re-queued;
 * BullMQ hands stalled jobs to the new workers).
 */
export async function runDaemon(config: EvidockConfig, options: { deviceOnly?: boolean } = {}, stop?: AbortSignal): Promise<void> {
  initLogging(config, false);
  const rt = await createRuntime(config);
  // --device-only: worker processes (pm2, other hosts) serve the shared queues.
  rt.startWorkers([QueueName.Acquire, QueueName.Store, QueueName.Clear, ...(options.deviceOnly ? [] : SHARED_QUEUES)]);
  const mediaEvents = options.deviceOnly ? null : rt.queue.events(QueueName.Transcode);
  if (mediaEvents) reportMediaProgress(mediaEvents, say);
  rt.onMilestone((session, milestone) => {
    if (milestone === 'safe-to-undock') say(`${session.recorderSerial}: ${t('dock.safe')}`);
    else
      void rt.catalog.filesOfSession(session.id).then((files) =>
        say(
          `${session.recorderSerial}: ${t('dock.done', {
            stored: files.filter((f) => (f.stage === 'cleared' || f.stage === 'kept') && !f.duplicate).length,
            dup: files.filter((f) => f.duplicate).length,
            failed: files.filter((f) => f.stage === 'failed').length,
            cleared: files.filter((f) => f.stage === 'cleared').length,
          })}`,
        ),
      );
  });

  const reconciler = startReconciling(rt, config.ingest.reconcileSeconds, 'daemon');
  await reconciler.once();

  const pending = new Map<string, NodeJS.Timeout>();
  const dock = async (mountPath: string, hints: ProbeHints) => {
    pending.delete(mountPath);
    try {
      const volume = await probeVolume(mountPath, hints);
      if (!volume) return;
      const session = await rt.dock.dock(volume);
      const files = await rt.catalog.filesOfSession(session.id);
      say(t('dock.docked', { serial: session.recorderSerial, files: files.length, size: formatBytes(files.reduce((n, f) => n + f.size, 0)) }));
      if (!(await rt.catalog.registration(session.recorderSerial))) say(t('dock.unregistered', { serial: session.recorderSerial }));
      if (session.gaps.length > 0) say(t('dock.gaps', { count: session.gaps.length }));
    } catch (error) {
      // The recorder stays docked and untouched; try again until it docks or is removed.
      log.error({ mountPath, err: (error as Error).message }, 'docking failed; will retry');
      pending.set(mountPath, setTimeout(() => void dock(mountPath, hints), DOCK_RETRY_MS));
    }
  };

  const watcher = new DeviceWatcher({
    mountRoots: config.watch.mountRoots,
    depth: config.watch.depth,
    settleMs: config.watch.settleMs,
    usbDetection: config.watch.usbDetection,
  });
  watcher.on('docked', ({ mountPath, usb }) => void dock(mountPath, usb ? { usb } : {}));
  watcher.on('undocked', ({ mountPath }) => {
    const retry = pending.get(mountPath);
    if (retry) clearTimeout(retry);
    pending.delete(mountPath);
    say(t('daemon.undocked', { mount: mountPath }));
    for (const sessionId of rt.volumes.sessionsAt(mountPath)) {
      rt.volumes.forget(sessionId);
      void rt.ingest
        .recorderUndocked(sessionId)
        .catch((error: Error) => log.warn({ sessionId, err: error.message }, 'could not make the spool copies durable after undocking; the kernel writes them back within half a minute'));
      void rt.catalog.markUndocked(sessionId).catch((error: Error) => log.warn({ sessionId, err: error.message }, 'could not mark the docking undocked'));
      void rt.ledger
        .record({ type: 'UNDOCKED', actor: { kind: 'workstation', id: config.workstationId }, sessionId, details: { mountPath } })
        .catch((error: Error) => log.warn({ sessionId, err: error.message }, 'could not record undocking'));
    }
  });
  await watcher.start();
  rt.ledger.integrateEvery(config.ledger.integrateSeconds * 1000);
  say(t('daemon.started', { ws: config.workstationId, roots: config.watch.mountRoots.join(', ') }));

  await untilStopped(stop);
  reconciler.stop();
  await mediaEvents?.close();
  for (const t of pending.values()) clearTimeout(t);
  await watcher.close();
  await rt.close();
}

/**
 * `evidock workers`: a worker-only host. It serves the shared queues (catalog, metadata,
 * transcode) of a bureau's Redis, reading originals from and writing derivatives to its
 * MinIO; it never touches a recorder.
 */
export async function runWorkers(config: EvidockConfig, stop?: AbortSignal): Promise<void> {
  initLogging(config, false);
  const rt = await createRuntime(config);
  rt.startWorkers(SHARED_QUEUES);
  rt.ledger.integrateEvery(config.ledger.integrateSeconds * 1000);
  const mediaEvents = rt.queue.events(QueueName.Transcode);
  reportMediaProgress(mediaEvents, say);
  say(t('workers.started', { ws: config.workstationId, queues: SHARED_QUEUES.join(', ') }));
  await untilStopped(stop);
  await mediaEvents.close();
  await rt.close();
}

function untilStopped(stop?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => resolve();
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    stop?.addEventListener('abort', done, { once: true });
  });
}
