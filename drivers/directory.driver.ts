import { createHash } from 'node:crypto';
import { constants, type BigIntStats, type Dirent } from 'node:fs';
import { lstat, open, readdir, readlink, realpath, stat, unlink, type FileHandle } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { moduleLogger } from '../config/logger.ts';
import { IDENTITY_FILES, isIdentityFilePath, MAX_IDENTITY_FILE_BYTES, parseIdentityFile, type VolumeIdentityFields } from './device-info.parser.ts';
import { mediaKindOf, parseRecordingName } from './gat947-name.parser.ts';
import { OPERATOR_FIRST, readSdkIdentity, resolveIdentity } from './recorder-identity.ts';
import type { RecorderSdk } from './recorder-sdk.ts';
import {
  RecordingGoneError,
  UnsafePathError,
  VolumeGoneError,
  type FileState,
  type ProbeHints,
  type RecorderDriver,
  type RecorderIdentity,
  type RecorderVolume,
  type RecordingEntry,
  type RecordingListing,
  type SkippedEntry,
} from './recorder.driver.ts';
import { baseNameRaw, childRaw, displayPathOf, isSafeRelative, isWithin, joinRaw, parentRaw } from './volume-paths.ts';

/**
 * Treats any directory as a docked recorder: `evidock import`, the demo and tests use it
 * directly, and the mass-storage driver reuses its volume for real recorders. The volume's
 * content is untrusted — a recorder's file system can hold symlinks, FIFOs, names that are
 * not UTF-8 or a directory swapped for a link mid-copy — so every access stays below the
 * real path of the root, never follows a link and never blocks on a special file.
 */

const log = moduleLogger('directory-driver');

const READ_CHUNK_BYTES = 1024 * 1024;

/** Errors that mean the file or the whole device is no longer there (unplug, unmount, removal). */
const GONE_CODES = new Set(['ENOENT', 'ENOTDIR', 'ENODEV', 'EIO', 'ENXIO', 'ESTALE', 'ENOMEDIUM']);

/**
 * O_NONBLOCK: opening a FIFO for reading would otherwise wait forever for a writer, and a
 * recorder volume is free to hold one under a recording's name. Regular files ignore it.
 */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** Folders and files operating systems leave on removable media; never recordings. */
const SYSTEM_NAMES = new Set(['.TRASHES', 'SYSTEM VOLUME INFORMATION', '.SPOTLIGHT-V100', '.DS_STORE', '.FSEVENTSD', '.TEMPORARYITEMS']);

export class DirectoryDriver implements RecorderDriver {
  readonly name = 'directory';

  async probe(mountPath: string, hints: ProbeHints = {}): Promise<RecorderVolume | null> {
    return openDirectoryVolume(mountPath, hints);
  }
}

/** A DirectoryVolume for an existing directory, else null (with one warning). */
export async function openDirectoryVolume(mountPath: string, hints: ProbeHints = {}): Promise<DirectoryVolume | null> {
  const root = resolve(mountPath);
  let realRoot: string;
  let st: BigIntStats;
  try {
    realRoot = await realpath(root);
    st = await stat(realRoot, { bigint: true });
  } catch (err) {
    log.warn({ mountPath: root, code: errorCode(err) }, 'mount path cannot be read; not a volume');
    return null;
  }
  if (!st.isDirectory()) {
    log.warn({ mountPath: root }, 'mount path is not a directory; not a volume');
    return null;
  }
  return new DirectoryVolume(root, realRoot, { dev: st.dev, ino: st.ino, birthtimeNs: st.birthtimeNs }, hints);
}

export class DirectoryVolume implements RecorderVolume {
  readonly driver = 'directory';
  readonly sdk: RecorderSdk | null;
  private readonly realRootBytes: Buffer;

  /**
   * Use `openDirectoryVolume`; `rootId` pins the directory seen at probe time. Birth time is
   * part of it because a directory removed and made again usually gets its inode back.
   */
  constructor(
    readonly root: string,
    readonly realRoot: string,
    private readonly rootId: { dev: bigint; ino: bigint; birthtimeNs: bigint },
    private readonly hints: ProbeHints,
  ) {
    this.sdk = hints.sdk ?? null;
    this.realRootBytes = Buffer.from(realRoot);
  }

  /**
   * Operator hints, then the SDK if one was handed over, then an identity file on the volume.
   * A plain directory has no serial of its own, so without those it is named after a hash
   * of its real path: stable across imports of the same folder, distinct between folders.
   */
  async identify(): Promise<RecorderIdentity> {
    await this.assertPresent();
    const [volumeFile, sdk] = await Promise.all([this.readIdentityFile(), this.sdk ? readSdkIdentity(this.sdk) : Promise.resolve(null)]);
    return resolveIdentity({
      operator: { serial: this.hints.serial, officerId: this.hints.officerId },
      sdk,
      volumeFile,
      fallback: { serial: this.pathSerial(), source: 'volume-label' },
    }, OPERATOR_FIRST);
  }

  /** `DIR-` + 12 hex digits of SHA-256 of the root's real path. */
  pathSerial(): string {
    return `DIR-${createHash('sha256').update(this.realRootBytes).digest('hex').slice(0, 12).toUpperCase()}`;
  }

  /** The first identity file at the root that says something (see IDENTITY_FILES), else null. */
  async readIdentityFile(): Promise<VolumeIdentityFields | null> {
    for (const candidate of IDENTITY_FILES) {
      const rel = await this.findCaseInsensitive(candidate.segments);
      if (rel === null) continue;
      const displayPath = displayPathOf(rel);
      const bytes = await this.readSmallFile(rel);
      if (bytes === null) continue;
      const fields = parseIdentityFile(bytes, candidate.format);
      if (fields === null) {
        log.warn({ root: this.root, file: displayPath }, 'identity file not understood; ignored');
        continue;
      }
      return fields;
    }
    return null;
  }

  async list(): Promise<RecordingListing> {
    await this.assertPresent();
    const recordings: RecordingEntry[] = [];
    const skipped: SkippedEntry[] = [];
    const visitedDirs = new Set<string>([`${this.rootId.dev}:${this.rootId.ino}`]);
    const pending: Buffer[] = [Buffer.alloc(0)];

    while (pending.length > 0) {
      const relDir = pending.pop()!;
      const absDir = relDir.length === 0 ? this.realRootBytes : joinRaw(this.realRoot, relDir);
      let entries: Dirent<Buffer>[];
      try {
        entries = await readdir(absDir, { withFileTypes: true, encoding: 'buffer' });
      } catch (err) {
        if (relDir.length === 0) {
          if (isGone(err)) throw new VolumeGoneError(this.root, { cause: err });
          throw err;
        }
        skipped.push({ displayPath: displayPathOf(relDir), reason: 'unreadable', detail: errorDetail(err) });
        continue;
      }

      for (const entry of entries) {
        const rel = childRaw(relDir, entry.name);
        const displayPath = displayPathOf(rel);
        if (isSystemName(entry.name)) {
          skipped.push({ displayPath, reason: 'system-file', detail: 'operating system metadata' });
          continue;
        }
        if (isIdentityFilePath(rel.toString('latin1').split('/'))) {
          skipped.push({ displayPath, reason: 'system-file', detail: 'recorder identity file' });
          continue;
        }

        const abs = joinRaw(this.realRoot, rel);
        let st: BigIntStats;
        try {
          st = await lstat(abs, { bigint: true });
        } catch (err) {
          skipped.push({ displayPath, reason: 'unreadable', detail: errorDetail(err) });
          continue;
        }

        if (st.isSymbolicLink()) {
          const target = await readlink(abs, { encoding: 'buffer' }).catch(() => null);
          skipped.push({ displayPath, reason: 'symlink', detail: target ? `link to ${displayPathOf(target)}` : 'symbolic link' });
          continue;
        }
        if (st.isDirectory()) {
          if (st.dev !== this.rootId.dev) {
            skipped.push({ displayPath, reason: 'outside-volume', detail: 'another file system is mounted here' });
            continue;
          }
          const id = `${st.dev}:${st.ino}`;
          if (visitedDirs.has(id)) {
            skipped.push({ displayPath, reason: 'outside-volume', detail: 'directory already visited (bind mount loop)' });
            continue;
          }
          const escape = await this.escapeDetail(abs);
          if (escape !== null) {
            skipped.push({ displayPath, reason: 'outside-volume', detail: escape });
            continue;
          }
          visitedDirs.add(id);
          pending.push(rel);
          continue;
        }
        if (!st.isFile()) {
          skipped.push({ displayPath, reason: 'not-regular-file', detail: specialFileKind(st) });
          continue;
        }
        const escape = await this.escapeDetail(abs);
        if (escape !== null) {
          skipped.push({ displayPath, reason: 'outside-volume', detail: escape });
          continue;
        }
        const name = displayPathOf(baseNameRaw(rel));
        recordings.push({
          rawPath: rel,
          displayPath,
          size: Number(st.size),
          mtimeMs: Number(st.mtimeMs),
          kind: mediaKindOf(name),
          parsed: parseRecordingName(name),
        });
      }
    }

    recordings.sort(compareRecordings);
    skipped.sort((a, b) => (a.displayPath < b.displayPath ? -1 : a.displayPath > b.displayPath ? 1 : 0));
    return { recordings, skipped };
  }

  async open(rawPath: Buffer, start: number): Promise<Readable> {
    const displayPath = this.checkPath(rawPath);
    if (!Number.isSafeInteger(start) || start < 0) throw new RangeError(`start must be a non-negative integer, got ${start}`);
    const handle = await this.openFile(rawPath);
    const source = handle.createReadStream({ start, highWaterMark: READ_CHUNK_BYTES });
    return Readable.from(mapGoneErrors(source, displayPath), { objectMode: false, highWaterMark: READ_CHUNK_BYTES });
  }

  async openFile(rawPath: Buffer): Promise<FileHandle> {
    const displayPath = this.checkPath(rawPath);
    const abs = joinRaw(this.realRoot, rawPath);
    let handle: FileHandle;
    try {
      handle = await open(abs, OPEN_FLAGS);
    } catch (err) {
      if (errorCode(err) === 'ELOOP') throw new UnsafePathError(displayPath, 'is a symbolic link');
      throw goneOr(err, displayPath);
    }
    try {
      const st = await handle.stat({ bigint: true });
      if (!st.isFile()) throw new UnsafePathError(displayPath, 'not a regular file');
      await this.assertOpenedInside(abs, st, displayPath);
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw goneOr(err, displayPath);
    }
    return handle;
  }

  async stat(rawPath: Buffer): Promise<FileState | null> {
    const displayPath = this.checkPath(rawPath);
    if (!(await this.isPresent())) return null;
    let st: BigIntStats;
    try {
      st = await lstat(joinRaw(this.realRoot, rawPath), { bigint: true });
    } catch (err) {
      if (isGone(err)) return null;
      throw err;
    }
    if (!st.isFile()) {
      log.warn({ root: this.root, file: displayPath }, 'path is no longer a regular file; treated as gone');
      return null;
    }
    return { size: Number(st.size), mtimeMs: Number(st.mtimeMs) };
  }

  /**
   * Unlinks the recording and fsyncs its directory, so that once this resolves the deletion
   * survives a power cut and the ledger can record it. Already gone is not an error: a
   * retried clear after a crash must not fail on its own earlier success.
   */
  async remove(rawPath: Buffer): Promise<void> {
    const displayPath = this.checkPath(rawPath);
    await this.assertPresent();
    const abs = joinRaw(this.realRoot, rawPath);
    let st: BigIntStats;
    try {
      st = await lstat(abs, { bigint: true });
    } catch (err) {
      if (errorCode(err) === 'ENOENT') {
        log.warn({ root: this.root, file: displayPath }, 'recording to remove was already gone');
        return;
      }
      throw goneOr(err, displayPath);
    }
    if (!st.isFile()) throw new UnsafePathError(displayPath, 'refusing to remove something that is not a regular file');
    const parentAbs = parentRaw(rawPath).length === 0 ? this.realRootBytes : joinRaw(this.realRoot, parentRaw(rawPath));
    const escape = await this.escapeDetail(parentAbs);
    if (escape !== null) throw new UnsafePathError(displayPath, escape);
    try {
      await unlink(abs);
    } catch (err) {
      // Removed between the lstat and here (a second clear of the same file, after a takeover).
      if (errorCode(err) !== 'ENOENT') throw goneOr(err, displayPath);
      log.warn({ root: this.root, file: displayPath }, 'recording to remove was already gone');
    }
    await fsyncDirectory(parentAbs, this.root, displayPath);
  }

  /** The root still exists and is the very directory seen at probe time (not a new mount there). */
  async isPresent(): Promise<boolean> {
    try {
      const st = await stat(this.realRoot, { bigint: true });
      return st.isDirectory() && st.dev === this.rootId.dev && st.ino === this.rootId.ino && st.birthtimeNs === this.rootId.birthtimeNs;
    } catch {
      return false;
    }
  }

  private async assertPresent(): Promise<void> {
    if (!(await this.isPresent())) throw new VolumeGoneError(this.root);
  }

  /** Display form of a path the pipeline hands back; an unsafe one is a bug, so it throws. */
  private checkPath(rawPath: Buffer): string {
    if (!Buffer.isBuffer(rawPath)) throw new UnsafePathError(String(rawPath), 'a raw path must be a Buffer');
    const displayPath = displayPathOf(rawPath);
    if (!isSafeRelative(rawPath)) throw new UnsafePathError(displayPath, 'not a safe path relative to the volume root');
    return displayPath;
  }

  /** Null when `abs` resolves below the real root, else why not. */
  private async escapeDetail(abs: Buffer): Promise<string | null> {
    let real: Buffer;
    try {
      real = await realpath(abs, { encoding: 'buffer' });
    } catch (err) {
      return `cannot resolve: ${errorDetail(err)}`;
    }
    return isWithin(this.realRootBytes, real) ? null : `resolves to ${displayPathOf(real)}`;
  }

  /**
   * O_NOFOLLOW guards only the last path component; a directory on the way could have been
   * swapped for a link. So the file actually opened must be the one its path resolves to
   * below the root, and the root must still be the directory we probed.
   */
  private async assertOpenedInside(abs: Buffer, opened: BigIntStats, displayPath: string): Promise<void> {
    const real = await realpath(abs, { encoding: 'buffer' });
    if (!isWithin(this.realRootBytes, real)) throw new UnsafePathError(displayPath, `resolves to ${displayPathOf(real)}, outside the volume`);
    const atPath = await lstat(real, { bigint: true });
    if (atPath.dev !== opened.dev || atPath.ino !== opened.ino) throw new UnsafePathError(displayPath, 'file changed while it was being opened');
    if (!(await this.isPresent())) throw new RecordingGoneError(displayPath);
  }

  /** Follows `segments` below the root, matching names case-insensitively, through real directories only. */
  private async findCaseInsensitive(segments: readonly string[]): Promise<Buffer | null> {
    let rel: Buffer = Buffer.alloc(0);
    for (let i = 0; i < segments.length; i++) {
      const wanted = segments[i]!.toUpperCase();
      const last = i === segments.length - 1;
      let entries: Dirent<Buffer>[];
      try {
        entries = await readdir(rel.length === 0 ? this.realRootBytes : joinRaw(this.realRoot, rel), { withFileTypes: true, encoding: 'buffer' });
      } catch {
        return null;
      }
      const match = entries.find((e) => e.name.toString('latin1').toUpperCase() === wanted && (last ? e.isFile() : e.isDirectory()));
      if (!match) return null;
      rel = childRaw(rel, match.name);
    }
    return rel;
  }

  /** A small regular file's bytes, or null (too big, special, vanished, unreadable). */
  private async readSmallFile(rel: Buffer): Promise<Buffer | null> {
    const displayPath = displayPathOf(rel);
    let handle: FileHandle | null = null;
    try {
      handle = await open(joinRaw(this.realRoot, rel), OPEN_FLAGS);
      const st = await handle.stat();
      if (!st.isFile() || st.size > MAX_IDENTITY_FILE_BYTES) {
        log.warn({ root: this.root, file: displayPath, size: st.size }, 'identity file is not a small regular file; ignored');
        return null;
      }
      const buffer = Buffer.alloc(MAX_IDENTITY_FILE_BYTES + 1);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      if (bytesRead > MAX_IDENTITY_FILE_BYTES) return null;
      return buffer.subarray(0, bytesRead);
    } catch (err) {
      log.warn({ root: this.root, file: displayPath, code: errorCode(err) }, 'identity file cannot be read; ignored');
      return null;
    } finally {
      await handle?.close().catch(() => undefined);
    }
  }
}

/** Start time from the name first (recording order), then raw bytes, so the order is total. */
function compareRecordings(a: RecordingEntry, b: RecordingEntry): number {
  const sa = a.parsed?.startLocal ?? null;
  const sb = b.parsed?.startLocal ?? null;
  if (sa !== sb) {
    if (sa === null) return 1;
    if (sb === null) return -1;
    return sa < sb ? -1 : 1;
  }
  return Buffer.compare(a.rawPath, b.rawPath);
}

/** Read errors after open (the device pulled mid-copy) surface as RecordingGoneError too. */
export async function* mapGoneErrors(source: AsyncIterable<Buffer>, displayPath: string): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of source) yield chunk;
  } catch (err) {
    throw goneOr(err, displayPath);
  }
}

async function fsyncDirectory(dir: Buffer, root: string, displayPath: string): Promise<void> {
  let handle: FileHandle | null = null;
  try {
    handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    await handle.sync();
  } catch (err) {
    // Some file systems (and FUSE mounts) refuse fsync on a directory; the unlink itself stands.
    const code = errorCode(err);
    if (code === 'EINVAL' || code === 'ENOTSUP' || code === 'EPERM' || code === 'EBADF') {
      log.warn({ root, file: displayPath, code }, 'directory fsync not supported after remove');
      return;
    }
    throw goneOr(err, displayPath);
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

function isSystemName(name: Buffer): boolean {
  if (name.length >= 2 && name[0] === 0x2e && name[1] === 0x5f) return true; // `._` AppleDouble
  return SYSTEM_NAMES.has(name.toString('latin1').toUpperCase());
}

function specialFileKind(st: BigIntStats): string {
  if (st.isFIFO()) return 'named pipe';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice()) return 'character device';
  if (st.isBlockDevice()) return 'block device';
  return 'not a regular file';
}

function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

function errorDetail(err: unknown): string {
  return errorCode(err) ?? (err instanceof Error ? err.message : String(err));
}

function isGone(err: unknown): boolean {
  const code = errorCode(err);
  return code !== undefined && GONE_CODES.has(code);
}

/** The error to throw: a vanished file or device becomes RecordingGoneError, anything else is kept. */
function goneOr(err: unknown, displayPath: string): unknown {
  if (err instanceof RecordingGoneError) return err;
  return isGone(err) ? new RecordingGoneError(displayPath, { cause: err }) : err;
}
