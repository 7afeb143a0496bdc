import type { EvidockConfig } from '../config/config.schema.ts';
import { moduleLogger } from '../config/logger.ts';
import { buildArchiveServer, rateLimitRedis } from '../server/archive.server.ts';
import { SERVER_QUEUES } from '../workers/job.types.ts';
import { t } from './i18n.ts';
import { processAlive } from './this-process.adapter.ts';
import { createRuntime, initLogging } from './runtime.ts';

const log = moduleLogger('serve');

function say(text: string): void {
  process.stdout.write(`${text}\n`);
}

/**
 * `evidock serve`: the archive server. It needs PostgreSQL, Redis and MinIO, never a docked
 * recorder; any number can run against the same ones. Besides HTTP it runs the webhook
 * queue, seals the access log into the custody ledger, expires approvals, and queues again
 * webhook deliveries whose jobs were lost.
 */
export async function runServer(config: EvidockConfig, stop?: AbortSignal): Promise<void> {
  initLogging(config, false);
  const rt = await createRuntime(config);
  const swept = await rt.spool.sweepUploads(processAlive);
  if (swept > 0) log.warn({ files: swept }, 'removed the partial uploads of a server that died mid-upload (nothing of them was catalogued)');
  rt.startWorkers(SERVER_QUEUES);
  rt.ledger.integrateEvery(config.ledger.integrateSeconds * 1000);
  const redis = rateLimitRedis(rt);
  const app = await buildArchiveServer(rt, { rateLimitRedis: redis });

  const every = (ms: number, what: string, work: () => Promise<unknown>) => {
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      work()
        .catch((error: Error) => log.warn({ err: error.message }, `${what} deferred`))
        .finally(() => (running = false));
    }, ms);
    timer.unref();
    return timer;
  };
  // Access records sealed while MinIO was away reach the write-once bucket now (reindex needs them).
  void rt.access.attachPending().catch((error: Error) => log.warn({ err: error.message }, 'storing sealed access records deferred'));
  const timers = [
    every(config.access.sealSeconds * 1000, 'sealing the access log', () => rt.access.seal()),
    every(60_000, 'expiring approvals', () => rt.access.expireLapsed()),
    every(config.webhooks.requeueSeconds * 1000, 'queueing webhook deliveries again', () => rt.webhooks.redispatchStale(config.webhooks.requeueSeconds)),
  ];

  const address = await app.listen({ host: config.server.host, port: config.server.port });
  say(t('serve.started', { url: address }));

  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
    stop?.addEventListener('abort', () => resolve(), { once: true });
  });
  say(t('serve.stopping'));
  timers.forEach(clearInterval);
  // Requests in flight may finish, for at most shutdownSeconds; then the rest are cut.
  let bounded: NodeJS.Timeout | undefined;
  await Promise.race([
    app.close(),
    new Promise<void>((resolve) => {
      bounded = setTimeout(() => {
        log.warn({ seconds: config.server.shutdownSeconds }, 'requests still in flight at the shutdown bound; closing their connections');
        app.server.closeAllConnections();
        resolve();
      }, config.server.shutdownSeconds * 1000);
    }),
  ]);
  clearTimeout(bounded);
  // What was looked at until now is sealed before the process goes (the next server would too).
  await rt.access.seal().catch((error: Error) => log.warn({ err: error.message }, 'final access-log seal deferred to the next server'));
  redis.disconnect();
  await rt.close();
}
