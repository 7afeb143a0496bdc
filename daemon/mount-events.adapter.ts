import { watch, type FSWatcher } from 'chokidar';
import type { Dirent } from 'node:fs';
import { lstat, readdir, realpath } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { moduleLogger } from '../config/logger.ts';
import { isRecorderFolderName } from '../drivers/mass-storage.driver.ts';

/**
 * File-system side of the device watcher: directories appearing and disappearing under the
 * mount roots (chokidar), mount roots coming and going (polled: `/media` may not exist until
 * the first stick is plugged in), and a look at one directory for the dock decision.
 */

const log = moduleLogger('mount-events');

export interface MountEventHandlers {
  /** `path` appeared below (or is) `root`, the real path of a configured mount root. */
  dirAdded(path: string, root: string): void;
  /** `path` and everything below it are gone. */
  dirRemoved(path: string, root: string): void;
}

export interface MountEventsOptions {
  mountRoots: readonly string[];
  /** Deepest level below a root at which a volume may appear; events are reported down to it. */
  depth: number;
}

interface RootState {
  configured: string;
  real: string | null;
  id: string | null;
  watcher: FSWatcher | null;
}

export class MountEventsAdapter {
  private readonly roots: RootState[];
  private closed = false;
  private polling: Promise<void> | null = null;

  constructor(
    private readonly options: MountEventsOptions,
    private readonly handlers: MountEventHandlers,
  ) {
    this.roots = [...new Set(options.mountRoots.map((r) => resolve(r)))].map((configured) => ({ configured, real: null, id: null, watcher: null }));
  }

  /** Watches every root that exists now; resolves once their initial scans are done. */
  async start(): Promise<void> {
    await this.pollRoots();
  }

  /**
   * Notices roots that appeared, vanished or were replaced since the last call. Chokidar
   * says nothing when its own root goes, so the owner calls this on a timer.
   */
  pollRoots(): Promise<void> {
    this.polling ??= Promise.all(this.roots.map((state) => this.pollRoot(state))).then(
      () => {
        this.polling = null;
      },
      (err: unknown) => {
        this.polling = null;
        throw err;
      },
    );
    return this.polling;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.roots.map((state) => this.stopWatching(state)));
  }

  private async pollRoot(state: RootState): Promise<void> {
    const current = await directoryId(state.configured);
    if (this.closed) return;
    if (state.watcher !== null && (current === null || current.id !== state.id)) {
      const gone = state.real!;
      await this.stopWatching(state);
      log.info({ mountRoot: state.configured }, 'mount root went away');
      this.handlers.dirRemoved(gone, gone);
    }
    if (state.watcher === null && current !== null && !this.closed) {
      state.real = current.real;
      state.id = current.id;
      state.watcher = await this.watchRoot(current.real);
      log.info({ mountRoot: state.configured, realPath: current.real }, 'watching mount root');
      this.handlers.dirAdded(current.real, current.real);
    }
  }

  private async watchRoot(root: string): Promise<FSWatcher> {
    // chokidar's depth counts levels below the root it descends into; events at level
    // `depth` need it to descend `depth - 1` levels.
    const watcher = watch(root, {
      depth: Math.max(0, this.options.depth - 1),
      ignoreInitial: false,
      followSymlinks: false,
      ignorePermissionErrors: true,
      persistent: true,
    });
    watcher.on('addDir', (path: string) => {
      if (path !== root && this.options.depth > 0) this.handlers.dirAdded(path, root);
    });
    watcher.on('unlinkDir', (path: string) => {
      if (path !== root) this.handlers.dirRemoved(path, root);
    });
    watcher.on('error', (err: unknown) => log.warn({ mountRoot: root, err }, 'mount watcher error'));
    await new Promise<void>((done) => watcher.once('ready', () => done()));
    return watcher;
  }

  private async stopWatching(state: RootState): Promise<void> {
    const watcher = state.watcher;
    state.watcher = null;
    state.real = null;
    state.id = null;
    if (watcher) await watcher.close();
  }
}

export interface DirectoryInspection {
  /**
   * Device, inode and birth time. Inode numbers are reused at once when a directory is
   * removed and another made, so a path holding "the same" dev:ino may be a new directory.
   */
  identity: string;
  /** Another file system is mounted here: the strongest sign of a docked device. */
  isMountPoint: boolean;
  /** Holds a recorder folder (DCIM, RECORD, …) of its own file system. */
  hasRecorderFolder: boolean;
}

/** What the dock decision needs to know about `path`, or null if it is not a real directory now. */
export async function inspectDirectory(path: string): Promise<DirectoryInspection | null> {
  try {
    const st = await lstat(path, { bigint: true });
    if (!st.isDirectory()) return null;
    const parent = dirname(path);
    const isMountPoint = parent !== path && (await lstat(parent, { bigint: true })).dev !== st.dev;
    let hasRecorderFolder = false;
    let entries: Dirent[] = [];
    try {
      entries = await readdir(path, { withFileTypes: true });
    } catch (err) {
      log.debug({ path, err }, 'cannot list directory while deciding on a dock');
    }
    for (const entry of entries) {
      if (!entry.isDirectory() || !isRecorderFolderName(entry.name)) continue;
      // A recorder mounted *inside* this directory is not a recorder folder *of* it.
      const child = await lstat(join(path, entry.name), { bigint: true }).catch(() => null);
      if (child && child.dev === st.dev) {
        hasRecorderFolder = true;
        break;
      }
    }
    return { identity: `${st.dev}:${st.ino}:${st.birthtimeNs}`, isMountPoint, hasRecorderFolder };
  } catch {
    return null;
  }
}

async function directoryId(path: string): Promise<{ real: string; id: string } | null> {
  try {
    const real = await realpath(path);
    const st = await lstat(real, { bigint: true });
    if (!st.isDirectory()) return null;
    // Birth time too: a root removed and made again usually gets its old inode number back.
    return { real, id: `${st.dev}:${st.ino}:${st.birthtimeNs}` };
  } catch {
    return null;
  }
}
