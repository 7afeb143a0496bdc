import { EventEmitter } from 'node:events';
import { basename, dirname, relative, sep } from 'node:path';
import { moduleLogger } from '../config/logger.ts';
import { isRecorderFolderName } from '../drivers/mass-storage.driver.ts';
import type { ProbeHints } from '../drivers/recorder.driver.ts';
import { inspectDirectory, MountEventsAdapter, type DirectoryInspection, type MountEventHandlers } from './mount-events.adapter.ts';
import { startUsbEvents, type UsbDeviceEvent, type UsbEventListener, type UsbEventSubscription } from './usb-events.adapter.ts';

/**
 * Notices recorders being docked and undocked. A dock is a volume appearing under one of
 * the mount roots; USB attach events, when available, only add identity hints to it. The
 * decisions (is this directory a volume? which USB device is it?) are pure functions
 * below; the adapters only report what the file system and the USB bus do.
 */

const log = moduleLogger('device-watcher');

export type UsbHint = NonNullable<ProbeHints['usb']>;

export interface DockedEvent {
  mountPath: string;
  usb?: UsbHint;
}

export interface UndockedEvent {
  mountPath: string;
}

export interface DeviceWatcherEvents {
  docked: [DockedEvent];
  undocked: [UndockedEvent];
}

export interface DeviceWatcherOptions {
  mountRoots: readonly string[];
  depth: number;
  settleMs: number;
  usbDetection: boolean;
  /** How long before a mount appears a USB attach may have happened to belong to it. */
  correlationWindowMs?: number;
  /**
   * How often mount roots, docked volumes and not-yet-docked directories are looked at
   * again. Catches what inotify cannot see: a mount onto an existing directory, an unmount
   * that leaves the directory behind, a mount root created or removed.
   */
  pollIntervalMs?: number;
}

/** Seams for tests; production uses the adapters. */
export interface DeviceWatcherDeps {
  startUsb?: (listener: UsbEventListener) => Promise<UsbEventSubscription | null>;
  inspect?: (path: string) => Promise<DirectoryInspection | null>;
  now?: () => number;
}

const DEFAULT_CORRELATION_WINDOW_MS = 15_000;
const DEFAULT_POLL_INTERVAL_MS = 2_000;
/** USB and mount notifications race; an attach reported just after the mount still counts. */
const CORRELATION_GRACE_MS = 2_000;

export interface UsbAttach extends UsbDeviceEvent {
  matched: boolean;
}

/**
 * The USB device a mount most likely belongs to: the most recent attach not yet given to
 * another mount, from `windowMs` before the mount appeared to `graceMs` after. Null when
 * none fits, which is normal (no usb-detection, or a slow recorder).
 */
export function correlate(
  attachEvents: readonly UsbAttach[],
  mount: { mountPath: string; appearedAt: number },
  options: { windowMs?: number; graceMs?: number } = {},
): UsbAttach | null {
  const windowMs = options.windowMs ?? DEFAULT_CORRELATION_WINDOW_MS;
  const graceMs = options.graceMs ?? CORRELATION_GRACE_MS;
  let best: UsbAttach | null = null;
  for (const attach of attachEvents) {
    if (attach.matched) continue;
    if (attach.at < mount.appearedAt - windowMs || attach.at > mount.appearedAt + graceMs) continue;
    if (best === null || attach.at >= best.at) best = attach;
  }
  return best;
}

export interface DirectoryFacts {
  /** Levels below the mount root (0 is the root itself). */
  depth: number;
  maxDepth: number;
  name: string;
  isMountPoint: boolean;
  hasRecorderFolder: boolean;
  /** A docked volume is above or below this directory. */
  nearDock: boolean;
  /**
   * It appeared since it was last judged. Only then does depth alone make a volume: a
   * directory left behind by an unmount is at the same depth, but it is not a new device.
   */
  fresh: boolean;
}

/**
 * Whether a directory under a mount root is a docked volume. A mount point always is (a
 * new file system is a device); so is a directory holding recorder folders, or any
 * directory at the configured depth (`/media/<user>/<label>`). A recorder folder itself
 * (`…/<label>/DCIM`) never is: its parent is the volume.
 */
export function isDockCandidate(f: DirectoryFacts): boolean {
  if (f.depth < 0 || f.depth > f.maxDepth) return false;
  if (f.depth === 0) return f.maxDepth === 0;
  if (f.isMountPoint) return true;
  if (f.nearDock) return false;
  if (f.depth >= 2 && isRecorderFolderName(f.name)) return false;
  if (f.hasRecorderFolder) return true;
  return f.fresh && f.depth === f.maxDepth;
}

interface Known {
  root: string;
  depth: number;
  /** When it was first seen, for USB correlation. */
  appearedAt: number;
  /** Appeared and not yet judged (see DirectoryFacts.fresh). */
  fresh: boolean;
}

interface Dock {
  root: string;
  identity: string;
}

export class DeviceWatcher extends EventEmitter<DeviceWatcherEvents> {
  private readonly windowMs: number;
  private readonly pollIntervalMs: number;
  private readonly now: () => number;
  private readonly inspect: (path: string) => Promise<DirectoryInspection | null>;
  private readonly startUsb: (listener: UsbEventListener) => Promise<UsbEventSubscription | null>;

  private readonly known = new Map<string, Known>();
  private readonly docks = new Map<string, Dock>();
  private readonly settleTimers = new Map<string, NodeJS.Timeout>();
  private readonly evaluating = new Set<string>();
  private attaches: UsbAttach[] = [];
  private mounts: MountEventsAdapter | null = null;
  private usb: UsbEventSubscription | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private started = false;
  private closed = false;

  constructor(
    private readonly options: DeviceWatcherOptions,
    deps: DeviceWatcherDeps = {},
  ) {
    super();
    if (!Number.isInteger(options.depth) || options.depth < 0) throw new RangeError('watch depth must be a non-negative integer');
    this.windowMs = options.correlationWindowMs ?? DEFAULT_CORRELATION_WINDOW_MS;
    this.pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.now = deps.now ?? Date.now;
    this.inspect = deps.inspect ?? inspectDirectory;
    this.startUsb = deps.startUsb ?? ((listener) => startUsbEvents(listener));
  }

  /** Starts watching; resolves once existing volumes have been seen (their docks follow after settleMs). */
  async start(): Promise<void> {
    if (this.started) throw new Error('DeviceWatcher.start() called twice');
    this.started = true;
    if (this.options.usbDetection) {
      this.usb = await this.startUsb({ attached: (e) => this.onUsbAttached(e), detached: (e) => this.onUsbDetached(e) });
    }
    if (this.closed) return this.releaseUsb();
    const handlers: MountEventHandlers = {
      dirAdded: (path, root) => this.onDirAdded(path, root),
      dirRemoved: (path) => this.onDirRemoved(path),
    };
    this.mounts = new MountEventsAdapter({ mountRoots: this.options.mountRoots, depth: this.options.depth }, handlers);
    await this.mounts.start();
    if (this.closed) return;
    this.schedulePoll();
    log.info({ mountRoots: this.options.mountRoots, depth: this.options.depth, usb: this.usb !== null }, 'watching for docked recorders');
  }

  /** Stops all watching. Docked volumes stay docked: closing the watcher is not an unplug. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = null;
    for (const timer of this.settleTimers.values()) clearTimeout(timer);
    this.settleTimers.clear();
    await this.ticking?.catch(() => undefined);
    await this.mounts?.close();
    await this.releaseUsb();
  }

  /** Mount paths currently considered docked. */
  dockedPaths(): string[] {
    return [...this.docks.keys()].sort();
  }

  private async releaseUsb(): Promise<void> {
    const usb = this.usb;
    this.usb = null;
    await usb?.close();
  }

  private onDirAdded(path: string, root: string): void {
    if (this.closed) return;
    const depth = depthBelow(root, path);
    if (depth === null || depth > this.options.depth) return;
    this.remember(path, root, depth);
    this.scheduleEvaluation(path);
    // A recorder folder appearing makes its parent a candidate volume (files being copied in).
    if (depth >= 2 && isRecorderFolderName(basename(path))) {
      const parent = dirname(path);
      this.remember(parent, root, depth - 1);
      this.scheduleEvaluation(parent);
    }
  }

  private remember(path: string, root: string, depth: number): void {
    const known = this.known.get(path);
    if (known) known.fresh = true;
    else this.known.set(path, { root, depth, appearedAt: this.now(), fresh: true });
  }

  private onDirRemoved(path: string): void {
    for (const [candidate, timer] of this.settleTimers) {
      if (isSameOrBelow(path, candidate)) {
        clearTimeout(timer);
        this.settleTimers.delete(candidate);
      }
    }
    for (const candidate of [...this.known.keys()]) if (isSameOrBelow(path, candidate)) this.known.delete(candidate);
    for (const mountPath of [...this.docks.keys()]) if (isSameOrBelow(path, mountPath)) this.undock(mountPath, 'removed');
  }

  /** Waits settleMs after the last event for `path`, so a mount in progress completes first. */
  private scheduleEvaluation(path: string): void {
    const previous = this.settleTimers.get(path);
    if (previous) clearTimeout(previous);
    const timer = setTimeout(() => {
      this.settleTimers.delete(path);
      void this.evaluate(path);
    }, this.options.settleMs);
    // Settle timers must not keep a process alive on their own; close() clears them anyway.
    timer.unref?.();
    this.settleTimers.set(path, timer);
  }

  private async evaluate(path: string): Promise<void> {
    if (this.closed || this.docks.has(path) || this.evaluating.has(path)) return;
    const known = this.known.get(path);
    if (!known) return;
    this.evaluating.add(path);
    try {
      const inspection = await this.inspect(path);
      if (this.closed || inspection === null || this.docks.has(path) || this.known.get(path) !== known) return;
      const fresh = known.fresh;
      known.fresh = false;
      // A directory that turns into a volume later (mounted onto) appeared as a device now.
      const appearedAt = fresh ? known.appearedAt : this.now();
      const nearDock = [...this.docks.keys()].some((d) => isSameOrBelow(d, path) || isSameOrBelow(path, d));
      const dock = isDockCandidate({
        depth: known.depth,
        maxDepth: this.options.depth,
        name: basename(path),
        isMountPoint: inspection.isMountPoint,
        hasRecorderFolder: inspection.hasRecorderFolder,
        nearDock,
        fresh,
      });
      if (!dock) return;
      this.docks.set(path, { root: known.root, identity: inspection.identity });
      const usb = this.claimUsb(path, appearedAt);
      log.info({ mountPath: path, mountPoint: inspection.isMountPoint, usb: usb ?? null }, 'recorder docked');
      this.safeEmit('docked', usb ? { mountPath: path, usb } : { mountPath: path });
    } catch (err) {
      log.warn({ mountPath: path, err }, 'could not decide whether a directory is a docked volume');
    } finally {
      this.evaluating.delete(path);
    }
  }

  private undock(mountPath: string, why: string): void {
    if (!this.docks.delete(mountPath)) return;
    log.info({ mountPath, why }, 'recorder undocked');
    this.safeEmit('undocked', { mountPath });
  }

  /** A listener that throws is a bug there; it must not stop the watcher seeing the next dock. */
  private safeEmit<K extends keyof DeviceWatcherEvents>(event: K, ...args: DeviceWatcherEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: DeviceWatcherEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      log.error({ event, err }, 'device watcher listener threw');
    }
  }

  private onUsbAttached(event: UsbDeviceEvent): void {
    const horizon = this.now() - this.windowMs - CORRELATION_GRACE_MS;
    this.attaches = this.attaches.filter((a) => a.at >= horizon);
    this.attaches.push({ ...event, matched: false });
    log.debug({ vendorId: event.vendorId, productId: event.productId, serialNumber: event.serialNumber }, 'usb device attached');
  }

  /** A device that left before any mount appeared must not be credited to a later one. */
  private onUsbDetached(event: UsbDeviceEvent): void {
    for (let i = this.attaches.length - 1; i >= 0; i--) {
      const a = this.attaches[i]!;
      if (!a.matched && a.vendorId === event.vendorId && a.productId === event.productId && a.serialNumber === event.serialNumber) {
        a.matched = true;
        break;
      }
    }
  }

  private claimUsb(mountPath: string, appearedAt: number): UsbHint | undefined {
    const attach = correlate(this.attaches, { mountPath, appearedAt }, { windowMs: this.windowMs, graceMs: CORRELATION_GRACE_MS });
    if (!attach) return undefined;
    attach.matched = true;
    return { vendorId: attach.vendorId, productId: attach.productId, serialNumber: attach.serialNumber, manufacturer: attach.manufacturer, product: attach.product };
  }

  private schedulePoll(): void {
    if (this.closed) return;
    this.pollTimer = setTimeout(() => {
      this.ticking = this.tick()
        .catch((err: unknown) => log.warn({ err }, 'device watcher poll failed'))
        .finally(() => {
          this.ticking = null;
          this.schedulePoll();
        });
    }, this.pollIntervalMs);
  }

  private async tick(): Promise<void> {
    await this.mounts?.pollRoots();
    if (this.closed) return;
    // A docked path that vanished or now holds a different file system was unplugged.
    for (const [mountPath, dock] of [...this.docks]) {
      const now = await this.inspect(mountPath);
      if (this.closed) return;
      if (now === null || now.identity !== dock.identity) {
        this.undock(mountPath, now === null ? 'gone' : 'replaced');
        // What is left there now is judged again, but no longer as a fresh arrival.
        const known = this.known.get(mountPath);
        if (known) known.fresh = false;
      }
    }
    // A directory that was not a volume may have become one (mounted onto, DCIM copied in).
    for (const [path] of [...this.known]) {
      if (this.closed) return;
      if (this.docks.has(path) || this.settleTimers.has(path)) continue;
      await this.evaluate(path);
    }
  }
}

/** Levels of `path` below `root`, or null if it is not at or below it. */
function depthBelow(root: string, path: string): number | null {
  const rel = relative(root, path);
  if (rel === '') return 0;
  if (rel.startsWith('..') || rel.startsWith(sep)) return null;
  return rel.split(sep).length;
}

function isSameOrBelow(ancestor: string, path: string): boolean {
  return path === ancestor || path.startsWith(ancestor.endsWith(sep) ? ancestor : ancestor + sep);
}
