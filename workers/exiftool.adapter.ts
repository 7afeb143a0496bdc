import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { BinaryField, DefaultExiftoolArgs, ExifDate, ExifDateTime, ExifTime, ExifTool, exiftoolPath, type Tags } from 'exiftool-vendored';
import { moduleLogger } from '../config/logger.ts';
import type { EmbeddedMetadata, MetadataReader } from './media-tools.ts';
import { withParentDeath } from './parent-death.ts';

const log = moduleLogger('exiftool');

export interface ExiftoolReaderOptions {
  /** Perl processes (1 or 2): each holds ~30 MB, and metadata reads are short. */
  maxProcs?: number;
  /**
   * Per read. `-ee` on a long video reads every timed-metadata sample, which takes seconds,
   * not minutes; past this the file is treated as unreadable rather than blocking a worker.
   */
  taskTimeoutMillis?: number;
}

/** Size limits of `raw`: it goes into the catalog row of every recording. */
const RAW_MAX_TOTAL = 32 * 1024;
const RAW_MAX_VALUE = 1024;

/** Tags about the working copy on our disk, not about the evidence, and exiftool-vendored's own additions. */
const NOT_EVIDENCE = new Set([
  'SourceFile', 'FileName', 'Directory', 'FileModifyDate', 'FileAccessDate', 'FileInodeChangeDate', 'FilePermissions',
  'errors', 'warnings', 'tz', 'zone', 'tzSource',
]);

/** Capture time, most specific first: the shutter (photos), Apple's local creation date, then the container's. */
const DATE_TAGS = ['SubSecDateTimeOriginal', 'DateTimeOriginal', 'CreationDate', 'SubSecCreateDate', 'CreateDate', 'MediaCreateDate', 'TrackCreateDate'] as const;
const SERIAL_TAGS = ['SerialNumber', 'InternalSerialNumber', 'CameraSerialNumber', 'BodySerialNumber'] as const;
const OWNER_TAGS = ['OwnerName', 'CameraOwnerName', 'Artist', 'Author', 'Creator', 'By-line'] as const;

/** QuickTime-family files, whose container dates are UTC by the QuickTime/ISO-BMFF specification. */
const QUICKTIME_MIME = /^(video\/(mp4|quicktime|3gpp2?|x-m4v)|audio\/(mp4|x-m4a|3gpp2?))$/;

/**
 * exiftool-vendored behind MetadataReader. One ExifTool (hence one or two long-lived perl
 * processes) per reader; `close()` ends them, and a process that never calls it keeps them.
 */
export class ExiftoolReader implements MetadataReader {
  private readonly exiftool: ExifTool;

  constructor(options: ExiftoolReaderOptions = {}) {
    this.exiftool = new ExifTool({
      maxProcs: Math.min(2, Math.max(1, Math.floor(options.maxProcs ?? 1))),
      taskTimeoutMillis: options.taskTimeoutMillis ?? 60_000,
      // Only the zone the file states: a zone guessed from the GPS position is a guess, and the
      // capture time is evidence.
      backfillTimezones: false,
      // exiftool -stay_open waits on its stdin; a worker that is SIGKILLed would leave it
      // behind, idle, holding ~28 MB, one more at every restart. Under the parent-death
      // signal the kernel ends it with the worker. The rest is exiftool-vendored's own spawn,
      // except that EXIFTOOL_HOME is not passed on: a user's exiftool config file (user-defined
      // tags, shortcuts) would change how evidence metadata reads on one workstation.
      processFactory: async () => {
        const [program, args] = withParentDeath(await exiftoolPath(), DefaultExiftoolArgs);
        return spawn(program, args, { stdio: 'pipe', shell: false, detached: false, env: { LANG: 'C' } });
      },
    });
  }

  async read(path: string): Promise<EmbeddedMetadata> {
    if (this.exiftool.ended) throw new Error('ExiftoolReader is closed');
    // A missing file is a missing working copy (ours to fix), not something to record.
    await stat(path);
    const file = basename(path);
    let tags: Tags;
    try {
      tags = await this.exiftool.read(path);
    } catch (error) {
      return unreadable(file, errorText(error).split(path).join(file));
    }
    if (typeof tags.Error === 'string') return unreadable(file, tags.Error);

    const mime = typeof tags.MIMEType === 'string' ? tags.MIMEType : '';
    const quickTime = QUICKTIME_MIME.test(mime);
    const record = tags as unknown as Record<string, unknown>;
    let gps = fixOf(record.GPSLatitude, record.GPSLongitude, record.GPSAltitude, record.GPSAltitudeRef);
    let gpsTrackPoints = 0;
    if (mime.startsWith('video/')) {
      const track = await this.readTrack(path, file);
      gpsTrackPoints = track.points;
      gps ??= track.first;
    }

    return {
      createDate: firstDate(record, quickTime),
      make: firstText(record, ['Make']),
      model: firstText(record, ['Model']),
      serialNumber: firstText(record, SERIAL_TAGS),
      ownerIds: ownerIdsOf(record),
      gps,
      gpsTrackPoints,
      raw: boundedRaw(record),
    };
  }

  /**
   * GPS tracks live in embedded documents (timed metadata, NMEA in text tracks, …): `-ee`
   * extracts them, `-G3` keeps one entry per fix (Doc1:GPSLatitude, Doc2:…) instead of
   * collapsing them into one tag. Only the position tags are asked for.
   */
  private async readTrack(path: string, file: string): Promise<{ points: number; first: EmbeddedMetadata['gps'] }> {
    let raw: Record<string, unknown>;
    try {
      raw = (await this.exiftool.readRaw(path, { readArgs: ['-ee', '-G3', '-n', '-GPSLatitude', '-GPSLongitude', '-GPSAltitude'] })) as unknown as Record<string, unknown>;
    } catch (error) {
      log.warn({ file, err: errorText(error) }, 'exiftool could not read the GPS track; recorded without it');
      return { points: 0, first: null };
    }
    const docs: Array<{ order: number[]; fix: NonNullable<EmbeddedMetadata['gps']> }> = [];
    for (const key of Object.keys(raw)) {
      const m = /^Doc(\d+(?:-\d+)*):GPSLatitude$/.exec(key);
      if (!m) continue;
      const doc = `Doc${m[1]}`;
      const fix = fixOf(raw[key], raw[`${doc}:GPSLongitude`], raw[`${doc}:GPSAltitude`], undefined);
      if (fix) docs.push({ order: m[1]!.split('-').map(Number), fix });
    }
    docs.sort((a, b) => compareOrder(a.order, b.order));
    return { points: docs.length, first: docs[0]?.fix ?? null };
  }

  async version(): Promise<string> {
    return `exiftool ${await this.exiftool.version()}`;
  }

  async close(): Promise<void> {
    await this.exiftool.end();
  }
}

function unreadable(file: string, error: string): EmbeddedMetadata {
  log.warn({ file, err: error }, 'exiftool could not read the file; recorded without embedded metadata');
  return { createDate: null, make: null, model: null, serialNumber: null, ownerIds: [], gps: null, gpsTrackPoints: 0, raw: { error } };
}

function firstDate(tags: Record<string, unknown>, quickTime: boolean): string | null {
  for (const name of DATE_TAGS) {
    const iso = isoOf(tags[name], quickTime);
    if (iso) return iso;
  }
  return null;
}

/**
 * ISO 8601 of what the file says: with the offset when it states one, as UTC for a
 * QuickTime container date (UTC by specification, whatever some cameras do), and otherwise
 * as a local time without offset, since the zone is unknown here.
 */
function isoOf(value: unknown, quickTime: boolean): string | null {
  if (!(value instanceof ExifDateTime)) return null;
  if (!(value.year >= 1 && value.month >= 1 && value.day >= 1)) return null;
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const ms = value.millisecond ? `.${p(Math.round(value.millisecond), 3)}` : '';
  const local = `${p(value.year, 4)}-${p(value.month)}-${p(value.day)}T${p(value.hour)}:${p(value.minute)}:${p(value.second)}${ms}`;
  const stated = value.hasZone && value.inferredZone !== true ? value.tzoffsetMinutes : undefined;
  const offset = stated ?? (quickTime ? 0 : undefined);
  if (offset === undefined) return local;
  if (offset === 0) return `${local}Z`;
  const abs = Math.abs(offset);
  return `${local}${offset < 0 ? '-' : '+'}${p(Math.floor(abs / 60))}:${p(abs % 60)}`;
}

function firstText(tags: Record<string, unknown>, names: readonly string[]): string | null {
  for (const name of names) {
    const value = tags[name];
    const text = typeof value === 'string' ? value.trim() : typeof value === 'number' ? String(value) : '';
    if (text) return text;
  }
  return null;
}

function ownerIdsOf(tags: Record<string, unknown>): string[] {
  const ids = new Set<string>();
  const add = (value: unknown, idLike: boolean) => {
    for (const item of Array.isArray(value) ? value : [value]) {
      const text = typeof item === 'string' ? item.trim() : typeof item === 'number' ? String(item) : '';
      if (!text || text.length > 64) continue;
      if (idLike && !/^[A-Za-z0-9_-]{2,32}$/.test(text)) continue;
      ids.add(text);
    }
  };
  for (const name of OWNER_TAGS) add(tags[name], false);
  // Free text in general ("Screenshot", encoder names); only an id-shaped comment counts.
  add(tags.UserComment, true);
  return [...ids];
}

/** A position in signed degrees; (0, 0) is what receivers without a fix write, not a place. */
function fixOf(lat: unknown, lon: unknown, alt: unknown, altRef: unknown): EmbeddedMetadata['gps'] {
  const latitude = finite(lat);
  const longitude = finite(lon);
  if (latitude === null || longitude === null) return null;
  if (latitude === 0 && longitude === 0) return null;
  if (Math.abs(latitude) > 90 || Math.abs(longitude) > 180) return null;
  let altitude = finite(alt);
  if (altitude !== null && altitude > 0 && (altRef === 1 || (typeof altRef === 'string' && /below/i.test(altRef)))) altitude = -altitude;
  return { latitude, longitude, altitude };
}

function finite(value: unknown): number | null {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
  return Number.isFinite(n) ? n : null;
}

function compareOrder(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? -1) - (b[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The tags for the record, without binary blobs, huge values or the working copy's file
 * system facts; dates in exiftool's notation. Stops adding tags at ~32 KB and says so.
 */
function boundedRaw(tags: Record<string, unknown>): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  let total = 2;
  let dropped = 0;
  for (const [key, value] of Object.entries(tags)) {
    if (NOT_EVIDENCE.has(key)) continue;
    const plain = plainValue(value);
    if (plain === undefined) continue;
    const size = JSON.stringify(key).length + JSON.stringify(plain).length + 2;
    if (size > RAW_MAX_VALUE) continue;
    if (total + size > RAW_MAX_TOTAL) {
      dropped += 1;
      continue;
    }
    raw[key] = plain;
    total += size;
  }
  if (dropped > 0) raw.truncatedTags = dropped;
  return raw;
}

function plainValue(value: unknown): unknown {
  if (value === null || value === undefined) return undefined;
  if (value instanceof BinaryField) return undefined;
  if (value instanceof ExifDateTime || value instanceof ExifDate || value instanceof ExifTime) return value.rawValue ?? value.toString();
  if (typeof value === 'string') return /^\(Binary data \d+ bytes/.test(value) ? undefined : value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'boolean') return value;
  if (Array.isArray(value)) {
    const items = value.map(plainValue).filter((v) => v !== undefined);
    return items.length ? items : undefined;
  }
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const plain = plainValue(v);
      if (plain !== undefined) out[k] = plain;
    }
    return Object.keys(out).length ? out : undefined;
  }
  return undefined;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
