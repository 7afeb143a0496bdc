import type { Dirent } from 'node:fs';
import { readdir, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import { moduleLogger } from '../config/logger.ts';
import { openDirectoryVolume, type DirectoryVolume } from './directory.driver.ts';
import { DEVICE_FIRST, mostCommonNameIds, readSdkIdentity, resolveIdentity, type NameIdentity } from './recorder-identity.ts';
import type { RecorderSdk } from './recorder-sdk.ts';
import {
  VolumeGoneError,
  type FileState,
  type ProbeHints,
  type RecorderDriver,
  type RecorderIdentity,
  type RecorderVolume,
  type RecordingListing,
} from './recorder.driver.ts';

/**
 * Generic USB mass-storage body-worn recorder (GA/T 947 devices once SetMSDC has switched
 * them to a disk). Files are read through a DirectoryVolume; what this driver adds is
 * recognising a recorder among all the USB sticks a workstation sees, and working out
 * which recorder it is from the best source available.
 */

const log = moduleLogger('mass-storage-driver');

/** Top-level folders recorders create; one of them (as a real directory) marks a recorder volume. */
export const RECORDER_FOLDER_NAMES: ReadonlySet<string> = new Set(['DCIM', 'RECORD', 'VIDEO', 'AUDIO', 'PHOTO', 'FILE']);

export function isRecorderFolderName(name: string): boolean {
  return RECORDER_FOLDER_NAMES.has(name.toUpperCase());
}

export class MassStorageDriver implements RecorderDriver {
  readonly name = 'mass-storage';

  async probe(mountPath: string, hints: ProbeHints = {}): Promise<RecorderVolume | null> {
    const files = await openDirectoryVolume(mountPath, hints);
    if (files === null) return null;
    let entries: Dirent<Buffer>[];
    try {
      entries = await readdir(files.realRoot, { withFileTypes: true, encoding: 'buffer' });
    } catch (err) {
      log.warn({ mountPath: files.root, err }, 'volume root cannot be listed; not recognised');
      return null;
    }
    // A symlink named DCIM proves nothing about the volume, so only real directories count.
    const markers = entries.filter((e) => e.isDirectory() && isRecorderFolderName(e.name.toString('latin1'))).map((e) => e.name.toString('latin1'));
    if (markers.length === 0) {
      log.warn({ mountPath: files.root }, 'no DCIM or recorder folder at the volume root; not a recorder');
      return null;
    }
    log.debug({ mountPath: files.root, markers }, 'recorder volume recognised');
    return new MassStorageVolume(files, hints);
  }
}

export class MassStorageVolume implements RecorderVolume {
  readonly driver = 'mass-storage';
  readonly root: string;
  readonly sdk: RecorderSdk | null;
  private identity: Promise<RecorderIdentity> | null = null;

  constructor(
    private readonly files: DirectoryVolume,
    private readonly hints: ProbeHints,
  ) {
    this.root = files.root;
    this.sdk = hints.sdk ?? null;
  }

  /**
   * Resolved once per docking: GetZFYInfo is a device round-trip, and every caller during
   * one docking should see the same answer. A failure is not cached, so a retry can succeed.
   */
  identify(): Promise<RecorderIdentity> {
    this.identity ??= this.resolveIdentity().catch((err: unknown) => {
      this.identity = null;
      throw err;
    });
    return this.identity;
  }

  list(): Promise<RecordingListing> {
    return this.files.list();
  }

  open(rawPath: Buffer, start: number): Promise<Readable> {
    return this.files.open(rawPath, start);
  }

  openFile(rawPath: Buffer): Promise<FileHandle> {
    return this.files.openFile(rawPath);
  }

  stat(rawPath: Buffer): Promise<FileState | null> {
    return this.files.stat(rawPath);
  }

  remove(rawPath: Buffer): Promise<void> {
    return this.files.remove(rawPath);
  }

  isPresent(): Promise<boolean> {
    return this.files.isPresent();
  }

  private async resolveIdentity(): Promise<RecorderIdentity> {
    if (!(await this.files.isPresent())) throw new VolumeGoneError(this.root);
    const sdk = this.sdk ? await readSdkIdentity(this.sdk) : null;
    const volumeFile = await this.files.readIdentityFile();

    // File names are only read when the device's stronger sources leave the serial or officer open.
    const serialKnown = Boolean(sdk?.info.productSerial || volumeFile?.serial);
    const officerKnown = Boolean(sdk?.info.officerNumber || volumeFile?.officerId);
    let fileNames: NameIdentity | null = null;
    if (!serialKnown || !officerKnown) {
      const listing = await this.files.list();
      fileNames = mostCommonNameIds(listing.recordings.map((r) => r.parsed));
    }

    const identity = resolveIdentity({
      operator: { serial: this.hints.serial, officerId: this.hints.officerId },
      sdk,
      volumeFile,
      fileNames,
      usb: this.hints.usb ?? null,
      volumeLabel: basename(this.root),
      fallback: { serial: this.files.pathSerial(), source: 'volume-label' },
    }, DEVICE_FIRST);
    log.info({ mountPath: this.root, serial: identity.serial, source: identity.source, officerId: identity.officerId }, 'recorder identified');
    return identity;
  }
}
