/**
 * The capacity model of docs/scaling.md: from what a bureau knows (officers, hours recorded a
 * day, bitrate, retention) and what the bench and the simulation measured (transcode speed
 * per core, ledger appends per second, custody events and Redis commands per file), the
 * storage, MinIO drives and nodes, transcode cores, Redis and PostgreSQL load and network a
 * province needs. Pure: scripts/capacity.ts and scripts/simulate.ts print it, the spec pins it.
 */

export interface CapacityInputs {
  /** Officers recording. */
  officers: number;
  /** Hours of footage each officer records a day (a shift's recorded share, not its length). */
  hoursPerOfficerPerDay: number;
  /** The recorders' video bitrate, megabits per second. */
  bitrateMbps: number;
  /** Years the originals are kept (the longest common retention class). */
  retentionYears: number;
  /** Derivative bytes (proxy, thumbnails) per original byte. */
  derivativesRatio: number;
  /** Drives of one MinIO erasure set and how many of them hold parity (EC:parity). */
  erasureSetDrives: number;
  parityDrives: number;
  /** Capacity of one drive, terabytes (10^12 bytes). */
  driveTB: number;
  drivesPerNode: number;
  /** Share of raw capacity that may be filled before the cluster must grow. */
  maxFill: number;
  /** Minutes of one recording file (recorders cut a file every segment). */
  segmentMinutes: number;
  /** Docking workstations and the share of a day's footage docked in the busiest hour. */
  workstations: number;
  peakHourShare: number;
  /** Measured: seconds of video one core transcodes into a proxy per second of wall time. */
  transcodeRealtimePerCore: number;
  /** Share of a transcode core's day it may be busy (headroom for backlog after an outage). */
  transcodeUtilisation: number;
  /** Measured: custody events appended per file (ingest, media, access, fixity batches). */
  eventsPerFile: number;
  /** Measured: BullMQ jobs per file and Redis commands per job. */
  jobsPerFile: number;
  redisCommandsPerJob: number;
  /** Measured: ledger appends per second the current design sustains (the bench's best). */
  ledgerAppendsPerSecond: number;
  /** Catalog rows written per file (evidence row, file row) besides its events. */
  catalogRowsPerFile: number;
}

export interface CapacityFigure {
  key: string;
  what: string;
  formula: string;
  value: number;
  unit: string;
}

export class CapacityInputError extends Error {
  constructor(readonly problems: string[]) {
    super(`capacity model: ${problems.join('; ')}`);
    this.name = 'CapacityInputError';
  }
}

const TB = 1e12;
const SECONDS_PER_DAY = 86_400;
/** MinIO's distributed mode needs at least this many nodes for one erasure-coded pool that survives a node. */
export const MIN_MINIO_NODES = 4;

function checkInputs(i: CapacityInputs): void {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(i)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) problems.push(`${key} must be a finite number ≥ 0, got ${String(value)}`);
  }
  const positive: Array<keyof CapacityInputs> = ['officers', 'bitrateMbps', 'erasureSetDrives', 'driveTB', 'drivesPerNode', 'segmentMinutes', 'workstations', 'transcodeRealtimePerCore', 'ledgerAppendsPerSecond'];
  for (const key of positive) if (!(i[key] > 0)) problems.push(`${key} must be > 0`);
  if (i.parityDrives >= i.erasureSetDrives) problems.push(`parityDrives (${i.parityDrives}) must be fewer than erasureSetDrives (${i.erasureSetDrives})`);
  for (const key of ['maxFill', 'transcodeUtilisation', 'peakHourShare'] as const) if (!(i[key] > 0 && i[key] <= 1)) problems.push(`${key} must be in (0, 1]`);
  if (i.hoursPerOfficerPerDay > 24) problems.push('hoursPerOfficerPerDay must be ≤ 24');
  if (problems.length > 0) throw new CapacityInputError(problems);
}

/** Every figure of the model, in the order docs/scaling.md shows them. */
export function capacityModel(i: CapacityInputs): CapacityFigure[] {
  checkInputs(i);
  const hoursPerDay = i.officers * i.hoursPerOfficerPerDay;
  const bytesPerHour = (i.bitrateMbps * 1e6 * 3600) / 8;
  const originalsTBPerYear = (hoursPerDay * 365 * bytesPerHour) / TB;
  const storedTBPerYear = originalsTBPerYear * (1 + i.derivativesRatio);
  const erasureOverhead = i.erasureSetDrives / (i.erasureSetDrives - i.parityDrives);
  const rawTB = (storedTBPerYear * i.retentionYears * erasureOverhead) / i.maxFill;
  // Whole erasure sets: MinIO stripes objects over a set, and a pool grows by whole sets.
  const drives = Math.max(i.erasureSetDrives, Math.ceil(rawTB / i.driveTB / i.erasureSetDrives) * i.erasureSetDrives);
  const nodes = Math.max(MIN_MINIO_NODES, Math.ceil(drives / i.drivesPerNode));
  const transcodeCores = hoursPerDay / (24 * i.transcodeRealtimePerCore * i.transcodeUtilisation);
  const filesPerDay = (hoursPerDay * 60) / i.segmentMinutes;
  const peakFilesPerSecond = (filesPerDay * i.peakHourShare) / 3600;
  const peakEventsPerSecond = peakFilesPerSecond * i.eventsPerFile;
  const redisPeak = peakFilesPerSecond * i.jobsPerFile * i.redisCommandsPerJob;
  const pgRowsPerDay = filesPerDay * (i.eventsPerFile + i.catalogRowsPerFile);
  const perWorkstationPeakMbps = (hoursPerDay * i.peakHourShare * bytesPerHour * 8) / 1e6 / 3600 / i.workstations;
  const figures: CapacityFigure[] = [
    { key: 'hoursPerDay', what: 'Footage recorded a day', formula: 'officers × hours/day', value: hoursPerDay, unit: 'h/day' },
    { key: 'originalsTBPerYear', what: 'Originals a year', formula: 'h/day × 365 × Mb/s × 3600 / 8 / 10^6', value: originalsTBPerYear, unit: 'TB/year' },
    { key: 'storedTBPerYear', what: 'Originals and derivatives a year', formula: 'originals × (1 + derivatives ratio)', value: storedTBPerYear, unit: 'TB/year' },
    { key: 'erasureOverhead', what: 'Erasure-coding overhead', formula: 'set drives / (set drives − parity)', value: erasureOverhead, unit: '×' },
    { key: 'rawTB', what: 'Raw capacity for the retention period', formula: 'TB/year × retention years × overhead / max fill', value: rawTB, unit: 'TB' },
    { key: 'drives', what: 'MinIO drives', formula: 'raw TB / drive TB, rounded up to whole erasure sets', value: drives, unit: 'drives' },
    { key: 'nodes', what: 'MinIO nodes', formula: `max(${MIN_MINIO_NODES}, drives / drives per node)`, value: nodes, unit: 'nodes' },
    { key: 'transcodeCores', what: 'Transcode cores (proxies)', formula: 'h/day / (24 × measured × real time per core × utilisation)', value: transcodeCores, unit: 'cores' },
    { key: 'filesPerDay', what: 'Files docked a day', formula: 'h/day × 60 / segment minutes', value: filesPerDay, unit: 'files/day' },
    { key: 'peakEventsPerSecond', what: 'Ledger appends at the docking peak', formula: 'files/day × peak-hour share / 3600 × events per file', value: peakEventsPerSecond, unit: 'events/s' },
    { key: 'ledgerHeadroom', what: 'Ledger capacity over the peak', formula: 'measured appends/s / peak appends/s (< 1: the ledger saturates)', value: peakEventsPerSecond > 0 ? i.ledgerAppendsPerSecond / peakEventsPerSecond : Number.POSITIVE_INFINITY, unit: '×' },
    { key: 'redisCommandsPerSecond', what: 'Redis commands at the docking peak', formula: 'peak files/s × jobs per file × commands per job', value: redisPeak, unit: 'commands/s' },
    { key: 'postgresRowsPerDay', what: 'PostgreSQL rows a day', formula: 'files/day × (events per file + catalog rows per file)', value: pgRowsPerDay, unit: 'rows/day' },
    { key: 'workstationPeakMbps', what: 'Network per workstation at the docking peak', formula: 'h/day × peak-hour share × Mb/s / workstations (the peak hour\'s bits over its 3600 s)', value: perWorkstationPeakMbps, unit: 'Mb/s' },
  ];
  return figures;
}

/** A figure by key (throws for an unknown key: a caller that asks for one relies on it). */
export function figure(figures: readonly CapacityFigure[], key: string): number {
  const found = figures.find((f) => f.key === key);
  if (!found) throw new Error(`capacity model has no figure ${key}`);
  return found.value;
}

/** What a bureau of 10,000 officers would fill in; the measured inputs are replaced by the caller. */
export const EXAMPLE_INPUTS: CapacityInputs = {
  officers: 10_000,
  hoursPerOfficerPerDay: 2,
  bitrateMbps: 8,
  retentionYears: 2,
  derivativesRatio: 0.15,
  erasureSetDrives: 16,
  parityDrives: 4,
  driveTB: 16,
  drivesPerNode: 16,
  maxFill: 0.8,
  segmentMinutes: 15,
  workstations: 1_000,
  peakHourShare: 0.2,
  transcodeRealtimePerCore: 1.75,
  transcodeUtilisation: 0.7,
  eventsPerFile: 6,
  jobsPerFile: 7,
  redisCommandsPerJob: 12,
  ledgerAppendsPerSecond: 300,
  catalogRowsPerFile: 2,
};

/** Rounds for a table: three significant figures, whole numbers for counts. */
export function formatFigure(f: CapacityFigure): string {
  if (!Number.isFinite(f.value)) return '∞';
  if (['drives', 'nodes'].includes(f.key)) return f.value.toFixed(0);
  const abs = Math.abs(f.value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
  return f.value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}
