import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { RecorderSdk } from './recorder-sdk.ts';

/**
 * What a recorder driver offers the ingest pipeline. A driver recognises a mounted volume
 * (`probe`) and hands back a RecorderVolume; the pipeline never touches the volume's files
 * except through it, so a vendor-specific layout or transport stays inside its driver.
 */

export type MediaKind = 'video' | 'audio' | 'photo' | 'other';

/** Where a piece of identity came from: the SDK is authoritative, a file name is a guess. */
export type IdentitySource = 'sdk' | 'volume-file' | 'usb' | 'operator' | 'filename' | 'volume-label';

export interface RecorderIdentity {
  serial: string;
  vendor: string | null;
  model: string | null;
  officerId: string | null;
  officerName: string | null;
  unitId: string | null;
  unitName: string | null;
  source: IdentitySource;
  /** Number of recordings the device says it holds, when it can say (SDK), else null. */
  deviceFileCount: number | null;
}

/** What a GA/T 947-style file name tells, e.g. `ZFY123_004512_20261121093000_0007.MP4`. */
export interface ParsedRecordingName {
  deviceId: string | null;
  officerId: string | null;
  /** Recording start in the recorder's local time, as an ISO string without offset. */
  startLocal: string | null;
  sequence: number | null;
  important: boolean;
}

export interface RecordingEntry {
  /**
   * Path relative to the volume root as the raw bytes the file system gave. Names on cheap
   * recorders are not always valid UTF-8, and a lossy string cannot be opened again.
   */
  rawPath: Buffer;
  /** Lossy, printable form of the path for people and logs (control characters escaped). */
  displayPath: string;
  size: number;
  mtimeMs: number;
  kind: MediaKind;
  parsed: ParsedRecordingName | null;
}

export type SkipReason = 'symlink' | 'not-regular-file' | 'outside-volume' | 'unreadable' | 'system-file';

export interface SkippedEntry {
  displayPath: string;
  reason: SkipReason;
  detail: string;
}

export interface RecordingListing {
  recordings: RecordingEntry[];
  skipped: SkippedEntry[];
}

export interface FileState {
  size: number;
  mtimeMs: number;
}

export interface RecorderVolume {
  readonly driver: string;
  /** Absolute mount path of the volume. */
  readonly root: string;
  /** Present when the recorder is reachable through a vendor SDK (identity, unlock, clock). */
  readonly sdk: RecorderSdk | null;
  identify(): Promise<RecorderIdentity>;
  list(): Promise<RecordingListing>;
  /** A stream of the recording's bytes from `start`. Throws RecordingGoneError if it vanished. */
  open(rawPath: Buffer, start: number): Promise<Readable>;
  /**
   * The recording opened read-only, with the same checks as `open`, for drivers whose
   * recordings are plain files: the acquire copier then reads it block by block into reused
   * buffers on its own thread, which costs half the CPU of a stream. Whoever consumes it
   * closes it (the copier does when its copy ends). Throws RecordingGoneError if it vanished.
   */
  openFile?(rawPath: Buffer): Promise<FileHandle>;
  /** Current size and mtime, or null when the file (or the whole volume) is gone. */
  stat(rawPath: Buffer): Promise<FileState | null>;
  remove(rawPath: Buffer): Promise<void>;
  /** False once the volume has been unplugged or unmounted. */
  isPresent(): Promise<boolean>;
}

export interface RecorderDriver {
  readonly name: string;
  /** A volume if this driver recognises what is mounted at `mountPath`, else null. */
  probe(mountPath: string, hints?: ProbeHints): Promise<RecorderVolume | null>;
}

/** What the operator or the USB layer already knows about a docking. */
export interface ProbeHints {
  serial?: string;
  officerId?: string;
  usb?: { vendorId: number; productId: number; serialNumber: string | null; manufacturer: string | null; product: string | null };
  sdk?: RecorderSdk;
}

export class RecordingGoneError extends Error {
  constructor(readonly displayPath: string, options?: { cause?: unknown }) {
    super(`recording is no longer on the recorder: ${displayPath}`, options);
    this.name = 'RecordingGoneError';
  }
}

export class UnsafePathError extends Error {
  constructor(readonly displayPath: string, reason: string) {
    super(`refusing path ${displayPath}: ${reason}`);
    this.name = 'UnsafePathError';
  }
}

/**
 * The whole volume went away (unplugged, unmounted) while it was being read. A kind of
 * RecordingGoneError, so code that handles a vanished recording also handles this; `list()`
 * throws it instead of returning an empty listing, which would read as "nothing to ingest".
 */
export class VolumeGoneError extends RecordingGoneError {
  constructor(readonly root: string, options?: { cause?: unknown }) {
    super(root, options);
    this.message = `recorder volume is no longer present: ${root}`;
    this.name = 'VolumeGoneError';
  }
}
