import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { DelayedError, Queue, QueueEvents, UnrecoverableError, WaitingError, Worker, type ConnectionOptions, type Job, type SandboxedJob } from 'bullmq';
import type { EvidockConfig } from '../config/config.schema.ts';
import { moduleLogger } from '../config/logger.ts';
import type { JobQueuePort } from './ingest.service.ts';
import { parentDeathLaunch } from './parent-death.ts';
import { JOB_QUEUE, JobName, NEXT_JOB, JobStatus, jobIdOf, queueNameOf, QueueName, subjectOf, type AnyJobPayload, type FileJobPayload, type JobPayloads } from './job.types.ts';

/**
 * The BullMQ adapter: the only file that touches bullmq. Services see JobQueuePort and
 * plain handler functions.
 */

const log = moduleLogger('queue');
const MAX_BACKOFF_MS = 5 * 60_000;
const PROGRESS_INTERVAL_MS = 250;

function tlsOf(config: EvidockConfig): RedisOptions['tls'] {
  const t = config.redis.tls;
  return t.enabled ? { rejectUnauthorized: t.rejectUnauthorized, ...(t.caFile ? { ca: readFileSync(t.caFile, 'utf8') } : {}) } : undefined;
}

function redisOptionsOf(config: EvidockConfig): RedisOptions {
  const r = config.redis;
  const tls = tlsOf(config);
  return {
    password: r.password,
    db: r.db,
    // BullMQ workers must wait for Redis forever rather than fail a command.
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    enableReadyCheck: true,
    retryStrategy: (times: number) => Math.min(200 * times, 5000),
    ...(tls ? { tls } : {}),
  };
}

/**
 * Where a sentinel-mode client finds its master: the Sentinels, the master set's name and
 * the Sentinels' own password. With TLS on, ioredis applies `tls` to the master's connection
 * only with enableTLSForSentinelMode (without it the master would be reached in clear), and
 * to the Sentinels' only as sentinelTLS. The ready check (on in every client evidock makes)
 * also makes ioredis drop a server that answers as a replica.
 */
export function sentinelOptionsOf(config: EvidockConfig): RedisOptions {
  const r = config.redis;
  const tls = tlsOf(config);
  return {
    sentinels: r.sentinels.map((s) => ({ host: s.host, port: s.port })),
    name: r.name,
    ...(r.sentinelPassword ? { sentinelPassword: r.sentinelPassword } : {}),
    ...(tls ? { tls, enableTLSForSentinelMode: true, sentinelTLS: tls } : {}),
  };
}

/** The parts of ioredis' Cluster and Redis that EndingCluster and SentinelRedis reach (not in their typings). */
interface ClusterInternals {
  startupNodes: unknown[];
  setStatus(status: string): void;
  handleCloseEvent(): void;
}

/**
 * An ioredis Cluster that ends when it is disconnected while waiting to reconnect. ioredis
 * then cancels the pending reconnect but, its node pool being empty already, emits neither
 * `close` nor `end` and stays `disconnecting` (tried: a Cluster of dead nodes, disconnected
 * in `reconnecting`). BullMQ waits for `end` when a Worker closes its blocking connection, so
 * closing a Worker whose Cluster was between reconnects (after a master kill, during an
 * outage) never finished: the cluster test's teardown hung in 3 of 5 runs once the ingest no
 * longer did. Here it ends the way ioredis ends a Cluster disconnected before it ever connected.
 * BullMQ's duplicates (its blocking connections) are made of this class too.
 */
class EndingCluster extends Cluster {
  override disconnect(reconnect = false): void {
    const betweenReconnects = !reconnect && this.status === 'reconnecting';
    super.disconnect(reconnect);
    if (betweenReconnects) {
      const internals = this as unknown as ClusterInternals;
      internals.setStatus('close');
      internals.handleCloseEvent();
    }
  }

  override duplicate(overrideStartupNodes: unknown[] = [], overrideOptions = {}): Cluster {
    const nodes = overrideStartupNodes.length > 0 ? overrideStartupNodes : (this as unknown as ClusterInternals).startupNodes.slice(0);
    return new EndingCluster(nodes as ConstructorParameters<typeof Cluster>[0], { ...this.options, ...overrideOptions });
  }
}

/**
 * The queue clients of sentinel mode (BullMQ's blocking duplicates too), with ioredis'
 * failoverDetector: each subscribes to the Sentinels' +switch-master and reconnects to the
 * new master when it is announced. Without it a client stays on the old master until the
 * Sentinels demote it, a second or more after a SENTINEL FAILOVER, and what it writes there
 * meanwhile is discarded when the old master resyncs as a replica (test/redis-sentinel.test.ts
 * found every connection still on the old master). Costs a subscriber connection per Sentinel
 * for each client. Two ioredis gaps are closed here:
 * - When the announcement arrives while a client is reconnecting after its master died,
 *   the detector aborts that connect, and ioredis then ends the client for good (seen in 1
 *   of 4 SIGKILL runs: the workers' connections `end`, the ingest stopped). Nobody asked for
 *   that end, so the client connects again.
 * - A client disconnected while it waits to reconnect never emits `end` (as for
 *   EndingCluster), which BullMQ waits for when a Worker closes; it ends here.
 */
class SentinelRedis extends Redis {
  private released = false;

  constructor(options: RedisOptions) {
    super({ ...options, failoverDetector: true });
    this.on('end', () => {
      if (this.released) return;
      log.warn('redis client ended during a Sentinel failover; connecting again');
      setTimeout(() => {
        if (!this.released && this.status === 'end') this.connect().catch(() => undefined);
      }, 200).unref();
    });
  }

  override connect(callback?: () => void): Promise<void> {
    this.released = false;
    return super.connect(callback);
  }

  override disconnect(reconnect = false): void {
    if (!reconnect) this.released = true;
    const betweenReconnects = !reconnect && this.status === 'reconnecting';
    super.disconnect(reconnect);
    if (betweenReconnects) (this as unknown as ClusterInternals).setStatus('end');
  }

  override quit(callback?: (err?: Error | null, res?: 'OK') => void): Promise<'OK'> {
    this.released = true;
    return super.quit(callback);
  }

  override duplicate(override?: Partial<RedisOptions>): Redis {
    return new SentinelRedis({ ...this.options, ...override });
  }
}

/**
 * What BullMQ connects with. single: options (BullMQ makes and closes its own connections).
 * cluster and sentinel: an ioredis Cluster, or a SentinelRedis that asks the Sentinels for
 * the master, per Queue, Worker or QueueEvents, which the caller closes; BullMQ duplicates it
 * for its blocking connections.
 */
export function connectionOf(config: EvidockConfig): ConnectionOptions {
  const r = config.redis;
  const options = redisOptionsOf(config);
  switch (r.mode) {
    case 'cluster': {
      const cluster = new EndingCluster(
        r.nodes.map((n) => ({ host: n.host, port: n.port })),
        {
          // Connecting at once, not lazily (issue 19). Given a lazy Cluster, BullMQ awaits the
          // promise of its first connect(); when that connect's ready check fails (CLUSTER INFO
          // sent to the master just killed, or cluster_state:fail before the promotion), ioredis
          // reconnects under a new promise and never settles the first one. The Queue, Worker
          // or QueueEvents then waits forever although the Cluster comes back: after a master
          // kill the store queue's producer, made when the first acquisition finished, hung
          // with both acquire slots waiting on it. Connecting here, BullMQ waits for the
          // Cluster's `ready` event instead, which every successful reconnect emits. The
          // blocking duplicates BullMQ makes inherit this. Cost: a QueueEvents' own Cluster,
          // which only its duplicate uses, connects too.
          lazyConnect: false,
          enableReadyCheck: true,
          enableOfflineQueue: true,
          maxRedirections: 64,
          // A master killed: ioredis keeps asking the nodes for the slot map until its replica has taken over.
          clusterRetryStrategy: (times: number) => Math.min(200 * times, 2000),
          retryDelayOnFailover: 200,
          retryDelayOnClusterDown: 300,
          slotsRefreshTimeout: 2000,
          redisOptions: { ...options, db: undefined },
        },
      );
      // Without a listener ioredis prints every failed slot refresh of a failover as an
      // "Unhandled error event"; BullMQ reports what its commands fail on by itself.
      cluster.on('error', (error: Error) => log.warn({ err: error.message }, 'redis cluster connection problem'));
      return cluster;
    }
    case 'sentinel':
      // All Sentinels unreachable: keep asking (null would make ioredis give up for good).
      const client = new SentinelRedis({ ...options, ...sentinelOptionsOf(config), sentinelRetryStrategy: (times: number) => Math.min(200 * times, 2000) });
      client.on('error', (error: Error) => log.warn({ err: error.message }, 'redis sentinel connection problem'));
      return client;
    default:
      return { ...options, host: r.host, port: r.port };
  }
}

/**
 * The BullMQ key prefix of one queue. BullMQ keeps a queue's keys together through its prefix;
 * on a cluster every queue gets a hash tag of its own ({evidock:store.ws1}), so the queues
 * land on different slots and so on different masters. single and sentinel keep the plain
 * prefix (one server: nothing to spread, and the keys of existing installations stay put).
 */
export function prefixOf(config: EvidockConfig, queue: QueueName): string {
  const r = config.redis;
  return r.mode === 'cluster' ? `{${r.prefix}:${queueNameOf(queue, config.workstationId)}}` : r.prefix;
}

/** Where Redis is, for messages. */
export function redisAddressOf(config: EvidockConfig): string {
  const r = config.redis;
  if (r.mode === 'cluster') return `cluster ${r.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
  if (r.mode === 'sentinel') return `sentinel master ${r.name} via ${r.sentinels.map((n) => `${n.host}:${n.port}`).join(',')}`;
  return `${r.host}:${r.port}`;
}

/** Closes a connection we made ourselves (the client objects of connectionOf). */
function release(connection: ConnectionOptions): void {
  if (connection instanceof Cluster || connection instanceof SentinelRedis) connection.disconnect();
}

/** Redis did not answer in time: queue work waits for it, a query gives up. */
export class QueueUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueueUnavailableError';
  }
}

/** While Redis is down ioredis retries every few seconds; one warning per outage is enough. */
const CONNECTION_WARNING_INTERVAL_MS = 60_000;

export class BullJobQueue implements JobQueuePort {
  private readonly queues = new Map<QueueName, Queue>();
  private readonly connections: ConnectionOptions[] = [];
  private lastConnectionWarning = 0;

  constructor(private readonly config: EvidockConfig) {}

  queue(name: QueueName): Queue {
    let q = this.queues.get(name);
    if (!q) {
      const connection = connectionOf(this.config);
      this.connections.push(connection);
      q = new Queue(queueNameOf(name, this.config.workstationId), { connection, prefix: prefixOf(this.config, name) });
      q.on('error', (error) => {
        const now = Date.now();
        if (now - this.lastConnectionWarning < CONNECTION_WARNING_INTERVAL_MS) return;
        this.lastConnectionWarning = now;
        log.warn({ queue: name, err: error.message }, 'queue connection problem; retrying');
      });
      this.queues.set(name, q);
    }
    return q;
  }

  /** Whether Redis answers a command within `timeoutMs` (the connection itself keeps retrying). */
  async reachable(timeoutMs: number): Promise<boolean> {
    const client = this.queue(QueueName.Acquire).getJobCounts('waiting');
    client.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([client.then(() => true), timeout]);
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  /** For queries an operator is waiting on: a clear failure rather than an endless wait. */
  async assertReachable(timeoutMs = 5000): Promise<void> {
    if (!(await this.reachable(timeoutMs))) {
      throw new QueueUnavailableError(`Redis at ${redisAddressOf(this.config)} did not answer within ${timeoutMs} ms`);
    }
  }

  async enqueue<N extends JobName>(name: N, payload: JobPayloads[N], options: { priority?: number } = {}): Promise<void> {
    const retry = retryOf(this.config, JOB_QUEUE[name]);
    await this.queue(JOB_QUEUE[name]).add(name, payload, {
      jobId: jobIdOf(name, payload),
      attempts: retry.attempts,
      backoff: { type: 'capped-exponential', delay: retry.delayMs },
      // Completed jobs are kept a week: their ids stop a replayed enqueue from running a step twice.
      removeOnComplete: { age: 7 * 24 * 3600 },
      removeOnFail: false,
      ...(options.priority ? { priority: options.priority } : {}),
    });
  }

  /**
   * Creates or updates a BullMQ job scheduler that adds one `name` job every `everyMs`. Every
   * host that serves the queue upserts the same id, so there is one scheduler however many
   * hosts run it, with the settings of the host that started last.
   */
  async upsertScheduler<N extends JobName>(id: string, name: N, payload: JobPayloads[N], everyMs: number): Promise<void> {
    const retry = retryOf(this.config, JOB_QUEUE[name]);
    await this.queue(JOB_QUEUE[name]).upsertJobScheduler(
      id,
      { every: everyMs },
      {
        name,
        data: payload,
        opts: {
          attempts: retry.attempts,
          backoff: { type: 'capped-exponential', delay: retry.delayMs },
          // Ticks carry no state; a day of them is enough to show in `evidock jobs`.
          removeOnComplete: { age: 24 * 3600, count: 1000 },
          removeOnFail: { age: 7 * 24 * 3600 },
        },
      },
    );
  }

  async counts(): Promise<Array<{ queue: string; counts: Record<string, number> }>> {
    const out = [];
    for (const name of Object.values(QueueName)) {
      const q = this.queue(name);
      out.push({ queue: q.name, counts: await q.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed') });
    }
    return out;
  }

  async failed(limit = 50): Promise<Array<{ queue: string; id: string; name: string; reason: string; attempts: number; data: AnyJobPayload }>> {
    const out = [];
    for (const name of Object.values(QueueName)) {
      const q = this.queue(name);
      for (const job of await q.getFailed(0, limit - 1)) {
        out.push({ queue: q.name, id: job.id ?? '', name: job.name, reason: job.failedReason, attempts: job.attemptsMade, data: job.data as AnyJobPayload });
      }
    }
    return out;
  }

  async active(): Promise<Array<{ queue: string; id: string; name: string; progress: unknown; data: AnyJobPayload }>> {
    const out = [];
    for (const name of Object.values(QueueName)) {
      const q = this.queue(name);
      for (const job of await q.getActive()) out.push({ queue: q.name, id: job.id ?? '', name: job.name, progress: job.progress, data: job.data as AnyJobPayload });
    }
    return out;
  }

  /** Where the job of this payload stands (`unknown`: no such job, or removed), and why it failed. */
  async jobState<N extends JobName>(name: N, payload: JobPayloads[N]): Promise<{ state: string; failedReason: string | null; progress: unknown }> {
    const job = await this.queue(JOB_QUEUE[name]).getJob(jobIdOf(name, payload));
    if (!job) return { state: 'unknown', failedReason: null, progress: null };
    return { state: await job.getState(), failedReason: job.failedReason || null, progress: job.progress ?? null };
  }

  /** Sends the job of this payload back to its queue when it failed for good (attempts reset); false when it did not fail. */
  async retryFailed<N extends JobName>(name: N, payload: JobPayloads[N]): Promise<boolean> {
    const job = await this.queue(JOB_QUEUE[name]).getJob(jobIdOf(name, payload));
    if (!job || (await job.getState()) !== 'failed') return false;
    await job.retry('failed');
    return true;
  }

  /** Whether some process serves this queue now. */
  async hasWorkers(queue: QueueName): Promise<boolean> {
    return (await this.queue(queue).getWorkers()).length > 0;
  }

  /** Whether some process (a daemon) is serving this workstation's acquire queue. */
  async hasDeviceWorkers(): Promise<boolean> {
    const workers = await this.queue(QueueName.Acquire).getWorkers();
    return workers.length > 0;
  }

  events(name: QueueName): QueueEvents {
    const connection = connectionOf(this.config);
    const events = new QueueEvents(queueNameOf(name, this.config.workstationId), { connection, prefix: prefixOf(this.config, name) });
    // Blocking: BullMQ connects and closes a duplicate; the original is ours to close.
    this.connections.push(connection);
    return events;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
    for (const c of this.connections.splice(0)) release(c);
  }
}

/**
 * A job's handler. `stopping` is aborted when this process shuts down: a long step (a copy, a
 * download, ffmpeg) then ends at a safe point and the handler returns JobStatus.Stopped.
 */
export type JobHandlers = { [N in JobName]?: (payload: JobPayloads[N], stopping: AbortSignal) => Promise<JobStatus> };

/** Why in-flight jobs are cancelled when the pool closes. */
const STOPPING = 'this process is stopping';

/**
 * A job that stopped because its process is shutting down goes back to the wait list at once,
 * without counting an attempt, for the next process that serves its queue.
 */
export async function handBack(job: Job | SandboxedJob, token: string | undefined): Promise<never> {
  await job.moveToWait(token);
  throw new WaitingError();
}

export interface WorkerPoolOptions {
  queues: readonly QueueName[];
  /** Where a succeeded job's next step is queued (NEXT_JOB). */
  next: JobQueuePort;
  /** A job has failed for the last time (retries exhausted or unrecoverable). */
  onExhausted: (name: JobName, payload: AnyJobPayload, reason: string) => Promise<void>;
  /**
   * Queues whose jobs run in a sandboxed child process (BullMQ sandboxed processors): the
   * path of the processor module. A crashing ffmpeg or sharp then takes down only that
   * child; BullMQ fails the job and starts a new child.
   */
  sandboxed?: Partial<Record<QueueName, string>>;
  /** Extra environment of the sandboxed children. */
  forkEnv?: Record<string, string>;
}

function logFieldsOf(job: Job): Record<string, unknown> {
  const data = job.data as AnyJobPayload;
  if ('fileId' in data) return { jobId: job.id, fileId: data.fileId, serial: data.serial };
  if ('deliveryId' in data) return { jobId: job.id, deliveryId: data.deliveryId };
  if ('scheduler' in data) return { jobId: job.id, scheduler: data.scheduler };
  return { jobId: job.id, evidenceId: data.evidenceId };
}

/** Runs the handlers of the given queues in this process, with per-queue concurrency from config. */
export class WorkerPool {
  private readonly workers: Worker[] = [];
  private readonly connections: ConnectionOptions[] = [];
  private readonly active = new Map<string, { job: Job; last: number }>();

  constructor(
    private readonly config: EvidockConfig,
    private readonly handlers: JobHandlers,
    private readonly options: WorkerPoolOptions,
  ) {}

  start(): void {
    for (const queue of this.options.queues) {
      const sandbox = this.options.sandboxed?.[queue];
      const processor = sandbox ?? ((job: Job, token?: string, signal?: AbortSignal) => this.process(job, token, signal));
      const connection = connectionOf(this.config);
      this.connections.push(connection);
      const worker = new Worker(queueNameOf(queue, this.config.workstationId), processor, {
        connection,
        prefix: prefixOf(this.config, queue),
        concurrency: concurrencyOf(this.config, queue),
        // Under setpriv --pdeathsig (parent-death.ts): a child whose event loop is busy never
        // sees its IPC channel close, and SIGKILLed daemons under the chaos suite left such
        // children spinning at 1.7 GB each.
        ...(sandbox ? { workerForkOptions: { env: { ...process.env, ...this.options.forkEnv }, ...parentDeathLaunch() } } : {}),
        // A killed worker's job is taken over after the lock lapses; many stalls are
        // expected under crash testing and are not a reason to give up on evidence.
        maxStalledCount: 20,
        // A job whose worker vanished (killed, or its Redis connection reset mid-fetch) is
        // handed out again within about half a minute.
        lockDuration: 20_000,
        stalledInterval: 10_000,
        settings: {
          backoffStrategy: (attemptsMade: number, _type?: string, _error?: Error) =>
            Math.min(retryOf(this.config, queue).delayMs * 2 ** Math.max(0, attemptsMade - 1), MAX_BACKOFF_MS),
        },
      });
      worker.on('error', (error) => log.warn({ queue, err: error.message }, 'worker connection problem'));
      worker.on('failed', (job, error) => {
        if (!job) return;
        const exhausted = error instanceof UnrecoverableError || error.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
        const jlog = log.child(logFieldsOf(job));
        if (exhausted) {
          jlog.error({ err: error.message, attempts: job.attemptsMade }, 'job failed for good');
          this.options.onExhausted(job.name as JobName, job.data as AnyJobPayload, error.message).catch((e: Error) =>
            jlog.error({ err: e.message }, 'could not record the failure'),
          );
        } else {
          jlog.warn({ err: error.message, attempt: job.attemptsMade }, 'job failed; will retry');
        }
      });
      this.workers.push(worker);
    }
  }

  /** Called by services while a job runs; throttled into BullMQ job progress. */
  reportProgress(subject: string, percent: number, bytes: number): void {
    const entry = this.active.get(subject);
    if (!entry) return;
    const now = Date.now();
    if (now - entry.last < PROGRESS_INTERVAL_MS && percent < 100) return;
    entry.last = now;
    entry.job.updateProgress({ percent: Math.round(percent * 10) / 10, bytes }).catch(() => undefined);
  }

  /**
   * Takes no new jobs and stops the active ones at their next safe point (a copy at a durable
   * checkpoint, a download or ffmpeg cut off); they go back to their queues (handBack) and
   * this resolves once every one has. `force`: does not wait for them either; they are taken
   * over once their locks lapse.
   */
  async close(force = false): Promise<void> {
    const closed = this.workers.map((w) => w.close(force));
    // After close(): it has already stopped each worker from fetching, so no job starts after the cancel.
    if (!force) for (const w of this.workers) w.cancelAllJobs(STOPPING);
    await Promise.all(closed);
    this.workers.length = 0;
    for (const c of this.connections.splice(0)) release(c);
  }

  private async process(job: Job, token?: string, signal?: AbortSignal): Promise<JobStatus> {
    const name = job.name as JobName;
    const handler = this.handlers[name] as ((payload: AnyJobPayload, stopping: AbortSignal) => Promise<JobStatus>) | undefined;
    if (!handler) throw new UnrecoverableError(`no handler for job ${job.name}`);
    const payload = job.data as AnyJobPayload;
    const subject = subjectOf(payload);
    this.active.set(subject, { job, last: 0 });
    try {
      const status = await handler(payload, signal ?? new AbortController().signal);
      if (status === JobStatus.Stopped) return await handBack(job, token);
      if (status === JobStatus.Deferred) {
        await job.moveToDelayed(Date.now() + this.config.ingest.spoolRetryDelaySeconds * 1000, token);
        throw new DelayedError();
      }
      const next = NEXT_JOB[name];
      // Queued before this job completes: if the process dies in between, the job is
      // re-run, finds its work done (Skipped) and queues the same next job id again.
      if (next && (status === JobStatus.Success || status === JobStatus.Skipped)) await this.options.next.enqueue(next, payload as FileJobPayload);
      return status;
    } finally {
      this.active.delete(subject);
    }
  }
}

/** How often a queue's jobs are tried, and the first retry delay (doubling, capped). */
export function retryOf(config: EvidockConfig, queue: QueueName): { attempts: number; delayMs: number } {
  const from = queue === QueueName.Webhook ? config.webhooks : config.ingest;
  return { attempts: from.attempts, delayMs: Math.round(from.backoffSeconds * 1000) };
}

/** Jobs of a queue this process runs at once. Media work defaults to the cores it has. */
export function concurrencyOf(config: EvidockConfig, queue: QueueName): number {
  switch (queue) {
    case QueueName.Acquire:
      return config.ingest.maxConcurrentAcquisitions;
    case QueueName.Store:
      return config.ingest.storeConcurrency;
    case QueueName.Metadata:
      return config.media.metadataConcurrency ?? Math.max(1, availableParallelism());
    case QueueName.Transcode:
      return config.media.transcodeConcurrency ?? Math.max(1, Math.floor(availableParallelism() / 2));
    case QueueName.Fixity:
      // One claim loop per process: its byte budget (fixity.bytesPerSecond) is per process.
      return 1;
    default:
      return 4;
  }
}
