/**
 * Jobs, their payloads and the one map of which job runs on which queue.
 * Payloads carry ids only; handlers look up everything else, so a replayed or retried job
 * always acts on the current state, never on a stale copy.
 */

export enum JobName {
  Acquire = 'acquire',
  Store = 'store',
  Record = 'record',
  Clear = 'clear',
}

export enum JobStatus {
  Success = 'success',
  /** Nothing to do: the state already moved on (a replay after a crash, a duplicate). */
  Skipped = 'skipped',
  /** Come back later without counting an attempt (spool disk full). */
  Deferred = 'deferred',
  /** The recorder went away mid-file; the file resumes when it is docked again. */
  Interrupted = 'interrupted',
  /** Given up on; the file row says why. */
  Failed = 'failed',
}

export interface FileJobPayload {
  fileId: string;
  sessionId: string;
  /** For logs only. */
  serial: string;
}

export interface JobPayloads {
  [JobName.Acquire]: FileJobPayload;
  [JobName.Store]: FileJobPayload;
  [JobName.Record]: FileJobPayload;
  [JobName.Clear]: FileJobPayload;
}

export enum QueueName {
  /** Reads recorders: bound to the workstation they are docked at. */
  Acquire = 'acquire',
  /** Uploads from the workstation's local spool. */
  Store = 'store',
  /** Deletes from recorders: bound to the workstation. */
  Clear = 'clear',
  /** Catalog writes: any host. */
  Catalog = 'catalog',
}

/** Queues whose jobs need this workstation's recorder or spool. */
export const DEVICE_QUEUES: ReadonlySet<QueueName> = new Set([QueueName.Acquire, QueueName.Store, QueueName.Clear]);

export const JOB_QUEUE: Readonly<Record<JobName, QueueName>> = {
  [JobName.Acquire]: QueueName.Acquire,
  [JobName.Store]: QueueName.Store,
  [JobName.Record]: QueueName.Catalog,
  [JobName.Clear]: QueueName.Clear,
};

/** What follows a job that succeeded. */
export const NEXT_JOB: Readonly<Record<JobName, JobName | null>> = {
  [JobName.Acquire]: JobName.Store,
  [JobName.Store]: JobName.Record,
  [JobName.Record]: JobName.Clear,
  [JobName.Clear]: null,
};

/** BullMQ queue name: device queues are suffixed with the workstation id. */
export function queueNameOf(queue: QueueName, workstationId: string): string {
  return DEVICE_QUEUES.has(queue) ? `${queue}.${workstationId}` : queue;
}

/** Deterministic job id, so a replayed enqueue of the same step is a no-op. */
export function jobIdOf(name: JobName, fileId: string): string {
  return `${name}-${fileId}`;
}
