import { moduleLogger } from '../config/logger.ts';

const log = moduleLogger('reconcile');

export interface ReconcileDeps {
  dock: { resumeOpenSessions(): Promise<number> };
  ledger: { mirrorPending(): Promise<number> };
}

/**
 * PostgreSQL, not Redis, is the record of where each file is: Redis can lose jobs it had
 * acknowledged (a failover, a flush), and a docking whose jobs are gone would wait for ever.
 * So every process that runs a docking's device jobs — the daemon, and `evidock import`
 * running its own workers — queues each unfinished file's job again from the catalog, at
 * start and every `ingest.reconcileSeconds`, and mirrors ledger events the bucket missed.
 * A job that still exists is not added twice (deterministic job ids), and a step that finds
 * its file past its stage does nothing, so this is safe however often it runs.
 */
export function startReconciling(rt: ReconcileDeps, everySeconds: number, who: 'daemon' | 'import'): { once(): Promise<void>; stop(): void } {
  let running: Promise<void> | null = null;
  const once = (): Promise<void> => {
    // A slow tick (a database coming back) is not stacked under the next one.
    running ??= (async () => {
      try {
        const requeued = await rt.dock.resumeOpenSessions();
        const mirrored = await rt.ledger.mirrorPending();
        if (requeued > 0 || mirrored > 0) log.info({ who, requeued, mirrored }, 'unfinished files queued again from the catalog (jobs Redis lost are restored; existing ones are not duplicated)');
      } catch (error) {
        log.warn({ who, err: (error as Error).message }, 'reconcile deferred to the next tick');
      } finally {
        running = null;
      }
    })();
    return running;
  };
  const timer = setInterval(() => void once(), everySeconds * 1000);
  timer.unref();
  return { once, stop: () => clearInterval(timer) };
}
