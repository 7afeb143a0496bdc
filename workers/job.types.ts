/**
 * Jobs, their payloads and the one map of which job runs on which queue.
 * Payloads carry ids and object keys only, never file contents; handlers look up
 * everything else, so a replayed or retried job acts on the current state.
 */

export enum JobName {
  Acquire = 'acquire',
  Store = 'store',
  Record = 'record',
  Clear = 'clear',
  Metadata = 'metadata',
  Proxy = 'proxy',
  Thumbnails = 'thumbnails',
  /** One delivery of an archive event to one case system's webhook. */
  Webhook = 'webhook',
  /** A tick of the fixity job scheduler: claim and re-hash batches of stored originals. */
  Fixity = 'fixity',
  /** A redacted copy of an item's proxy, made from one version of a redaction project. */
  RedactionRender = 'redaction-render',
  /** Face suggestions for an item's redaction: frames of the original sampled, faces found and tracked. */
  RedactionSuggest = 'redaction-suggest',
}

export enum JobStatus {
  Success = 'success',
  /** Nothing to do: the state already moved on (a replay after a crash, a duplicate). */
  Skipped = 'skipped',
  /** Come back later without counting an attempt (spool disk full). */
  Deferred = 'deferred',
  /** The recorder went away mid-file; the file resumes when it is docked again. */
  Interrupted = 'interrupted',
  /** Given up on; the file or evidence row says why. */
  Failed = 'failed',
  /**
   * The process is stopping (SIGTERM): the job stopped at a safe point (a copy at a durable
   * checkpoint, a transcode killed) and goes back to its queue at once, no attempt counted.
   */
  Stopped = 'stopped',
}

export interface FileJobPayload {
  fileId: string;
  sessionId: string;
  /** For logs only. */
  serial: string;
  /**
   * Set when a file's steps run again after they completed (the spool lost what acquire had
   * put there): gives the jobs fresh ids.
   */
  generation?: string;
}

/** Work on a stored original: any host can do it, reading the original from the object store. */
export interface MediaJobPayload {
  evidenceId: string;
  /** Key of the original in the originals bucket. */
  objectKey: string;
  /** Set by a deliberate re-run (`evidock derive`): gives its jobs fresh ids. */
  generation?: string;
}

/** One immutable version of a redaction project; the spec is read from the catalog, not carried here. */
export interface RedactionRenderPayload {
  evidenceId: string;
  projectId: string;
  version: number;
}

/** One requested suggestion run (a row of redaction_suggestion_runs); what it finds is stored there, not here. */
export interface RedactionSuggestPayload {
  evidenceId: string;
  runId: string;
}

/** A row of webhook_deliveries: the event's body is there, not in Redis. */
export interface WebhookJobPayload {
  deliveryId: string;
}

/** A tick of a job scheduler; the work it does is found in PostgreSQL, not carried here. */
export interface SchedulerJobPayload {
  scheduler: string;
}

export interface JobPayloads {
  [JobName.Acquire]: FileJobPayload;
  [JobName.Store]: FileJobPayload;
  [JobName.Record]: FileJobPayload;
  [JobName.Clear]: FileJobPayload;
  [JobName.Metadata]: MediaJobPayload;
  [JobName.Proxy]: MediaJobPayload;
  [JobName.Thumbnails]: MediaJobPayload;
  [JobName.Webhook]: WebhookJobPayload;
  [JobName.Fixity]: SchedulerJobPayload;
  [JobName.RedactionRender]: RedactionRenderPayload;
  [JobName.RedactionSuggest]: RedactionSuggestPayload;
}

export type AnyJobPayload = JobPayloads[JobName];

export enum QueueName {
  /** Reads recorders: bound to the workstation they are docked at. */
  Acquire = 'acquire',
  /** Uploads from the workstation's local spool. */
  Store = 'store',
  /** Deletes from recorders: bound to the workstation. */
  Clear = 'clear',
  /** Catalog writes: any host. */
  Catalog = 'catalog',
  /** exiftool/ffprobe metadata: any host. */
  Metadata = 'metadata',
  /** ffmpeg and sharp, in sandboxed processes: any host. */
  Transcode = 'transcode',
  /** Webhook deliveries to case systems: any host that reaches them (the archive server runs it). */
  Webhook = 'webhook',
  /** Scheduled re-hashing of stored originals: any host, claims shared through PostgreSQL. */
  Fixity = 'fixity',
}

/** Queues whose jobs need this workstation's recorder or spool. */
export const DEVICE_QUEUES: ReadonlySet<QueueName> = new Set([QueueName.Acquire, QueueName.Store, QueueName.Clear]);

/** Queues any worker host can serve (`evidock workers`). */
export const SHARED_QUEUES: readonly QueueName[] = [QueueName.Catalog, QueueName.Metadata, QueueName.Transcode, QueueName.Fixity];

/** The queues `evidock serve` runs. */
export const SERVER_QUEUES: readonly QueueName[] = [QueueName.Webhook];

export const JOB_QUEUE: Readonly<Record<JobName, QueueName>> = {
  [JobName.Acquire]: QueueName.Acquire,
  [JobName.Store]: QueueName.Store,
  [JobName.Record]: QueueName.Catalog,
  [JobName.Clear]: QueueName.Clear,
  [JobName.Metadata]: QueueName.Metadata,
  [JobName.Proxy]: QueueName.Transcode,
  [JobName.Thumbnails]: QueueName.Transcode,
  [JobName.Webhook]: QueueName.Webhook,
  [JobName.Fixity]: QueueName.Fixity,
  // ffmpeg: in the sandboxed transcode processes, beside proxies and thumbnails.
  [JobName.RedactionRender]: QueueName.Transcode,
  // ffmpeg decoding frames and the detector: CPU-heavy media work, sandboxed like the rest.
  [JobName.RedactionSuggest]: QueueName.Transcode,
};

/** What follows a file job that succeeded, with the same payload. Media jobs are queued by the services that know whether they apply. */
export const NEXT_JOB: Readonly<Partial<Record<JobName, JobName>>> = {
  [JobName.Acquire]: JobName.Store,
  [JobName.Store]: JobName.Record,
  [JobName.Record]: JobName.Clear,
};

/** The id a job's logs and progress are about. */
export function subjectOf(payload: AnyJobPayload): string {
  if ('fileId' in payload) return payload.fileId;
  if ('deliveryId' in payload) return payload.deliveryId;
  if ('scheduler' in payload) return payload.scheduler;
  return payload.evidenceId;
}

/** BullMQ queue name: device queues are suffixed with the workstation id. */
export function queueNameOf(queue: QueueName, workstationId: string): string {
  return DEVICE_QUEUES.has(queue) ? `${queue}.${workstationId}` : queue;
}

/**
 * Deterministic job id, so a replayed enqueue of the same step is a no-op. A deliberate
 * re-run (`evidock derive`) carries a `generation` in its payload and so gets fresh ids.
 */
export function jobIdOf(name: JobName, payload: AnyJobPayload): string {
  if ('deliveryId' in payload) return `${name}-${payload.deliveryId}`;
  if ('scheduler' in payload) return `${name}-${payload.scheduler}`;
  if ('fileId' in payload) return payload.generation ? `${name}-${payload.fileId}-${payload.generation}` : `${name}-${payload.fileId}`;
  if ('runId' in payload) return `${name}-${payload.runId}`;
  // One render per version: asking again while it is queued, running or done adds nothing.
  if ('projectId' in payload) return `${name}-${payload.projectId}-v${payload.version}`;
  return payload.generation ? `${name}-${payload.evidenceId}-${payload.generation}` : `${name}-${payload.evidenceId}`;
}
