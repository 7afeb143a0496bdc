import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { correlate, DeviceWatcher, isDockCandidate, type DeviceWatcherOptions, type DirectoryFacts, type DockedEvent, type UndockedEvent, type UsbAttach } from './device-watcher.ts';
import type { UsbEventListener } from './usb-events.adapter.ts';

function attach(at: number, serialNumber: string, matched = false): UsbAttach {
  return { at, vendorId: 0x1234, productId: 0x5678, serialNumber, manufacturer: 'M', product: 'P', locationId: null, matched };
}

describe('correlate', () => {
  const mount = { mountPath: '/media/u/REC', appearedAt: 100_000 };

  it('gives the most recent unmatched attach within the window', () => {
    const events = [attach(88_000, 'old'), attach(95_000, 'recent'), attach(97_000, 'taken', true)];
    expect(correlate(events, mount, { windowMs: 15_000 })?.serialNumber).toBe('recent');
  });

  it('ignores attaches too long before or after the mount', () => {
    expect(correlate([attach(84_999, 'early')], mount, { windowMs: 15_000 })).toBeNull();
    expect(correlate([attach(85_000, 'edge')], mount, { windowMs: 15_000 })?.serialNumber).toBe('edge');
    expect(correlate([attach(101_000, 'just after')], mount, { windowMs: 15_000, graceMs: 2_000 })?.serialNumber).toBe('just after');
    expect(correlate([attach(103_000, 'later')], mount, { windowMs: 15_000, graceMs: 2_000 })).toBeNull();
  });

  it('returns null with no attaches or only matched ones', () => {
    expect(correlate([], mount)).toBeNull();
    expect(correlate([attach(99_000, 'x', true)], mount)).toBeNull();
  });

  it('hands two recorders docked together one attach each, latest first', () => {
    const events = [attach(90_000, 'A'), attach(91_000, 'B')];
    const first = correlate(events, { mountPath: '/m/1', appearedAt: 95_000 })!;
    first.matched = true;
    const second = correlate(events, { mountPath: '/m/2', appearedAt: 96_000 })!;
    expect([first.serialNumber, second.serialNumber]).toEqual(['B', 'A']);
  });
});

describe('isDockCandidate', () => {
  const facts = (f: Partial<DirectoryFacts>): DirectoryFacts => ({
    depth: 2,
    maxDepth: 2,
    name: 'REC',
    isMountPoint: false,
    hasRecorderFolder: false,
    nearDock: false,
    fresh: true,
    ...f,
  });

  it.each([
    ['a fresh directory at the configured depth', facts({}), true],
    ['a directory left at that depth, judged again', facts({ fresh: false }), false],
    ['a shallower directory', facts({ depth: 1 }), false],
    ['a shallower directory with DCIM', facts({ depth: 1, hasRecorderFolder: true }), true],
    ['a shallower mount point', facts({ depth: 1, isMountPoint: true, fresh: false }), true],
    ['a mount point inside a docked volume', facts({ isMountPoint: true, nearDock: true }), true],
    ['a directory inside a docked volume', facts({ nearDock: true }), false],
    ['a DCIM folder (its parent is the volume)', facts({ name: 'DCIM' }), false],
    ['a volume labelled DCIM directly under the root', facts({ depth: 1, maxDepth: 1, name: 'DCIM' }), true],
    ['anything deeper than the configured depth', facts({ depth: 3, isMountPoint: true }), false],
    ['the mount root itself', facts({ depth: 0, isMountPoint: true }), false],
    ['the mount root itself at depth 0', facts({ depth: 0, maxDepth: 0 }), true],
  ])('%s → %s', (_why, f, expected) => {
    expect(isDockCandidate(f)).toBe(expected);
  });
});

/** Whether this process may mount tmpfs (root in a permissive container); those tests skip otherwise. */
const canMount = (() => {
  const dir = mkdtempSync(join(tmpdir(), 'evidock-mountcheck-'));
  try {
    if (spawnSync('mount', ['-t', 'tmpfs', 'tmpfs', dir]).status !== 0) return false;
    spawnSync('umount', [dir]);
    return true;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
})();

describe('DeviceWatcher on real directories', () => {
  let base: string;
  let watchers: DeviceWatcher[];
  let mounted: string[];

  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'evidock-watch-'));
    watchers = [];
    mounted = [];
  });

  afterEach(async () => {
    await Promise.all(watchers.map((w) => w.close()));
    while (mounted.length > 0) spawnSync('umount', ['-l', mounted.pop()!]);
    rmSync(base, { recursive: true, force: true });
  });

  interface Recorder {
    watcher: DeviceWatcher;
    events: (['docked', DockedEvent] | ['undocked', UndockedEvent])[];
    next(kind: 'docked' | 'undocked', mountPath: string, timeoutMs?: number): Promise<DockedEvent>;
  }

  async function start(options: Partial<DeviceWatcherOptions> & { mountRoots: string[] }, deps = {}): Promise<Recorder> {
    const watcher = new DeviceWatcher({ depth: 1, settleMs: 30, usbDetection: false, pollIntervalMs: 60, ...options }, deps);
    watchers.push(watcher);
    const events: Recorder['events'] = [];
    const waiters: { kind: string; mountPath: string; resolve: (e: DockedEvent) => void }[] = [];
    const record = (kind: 'docked' | 'undocked', e: DockedEvent) => {
      events.push([kind, e]);
      for (const w of [...waiters]) {
        if (w.kind === kind && w.mountPath === e.mountPath) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(e);
        }
      }
    };
    watcher.on('docked', (e) => record('docked', e));
    watcher.on('undocked', (e) => record('undocked', e));
    await watcher.start();
    return {
      watcher,
      events,
      next(kind, mountPath, timeoutMs = 5000) {
        const seen = events.find(([k, e]) => k === kind && e.mountPath === mountPath);
        if (seen) return Promise.resolve(seen[1]);
        return new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no ${kind} for ${mountPath} within ${timeoutMs} ms; saw ${JSON.stringify(events)}`)), timeoutMs);
          waiters.push({
            kind,
            mountPath,
            resolve: (e) => {
              clearTimeout(timer);
              resolve(e);
            },
          });
        });
      },
    };
  }

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('docks a directory created under a mount root and undocks it when removed', async () => {
    const root = join(base, 'media');
    mkdirSync(root);
    const r = await start({ mountRoots: [root] });
    const vol = join(root, 'REC1');
    mkdirSync(vol);
    expect(await r.next('docked', vol)).toEqual({ mountPath: vol });
    expect(r.watcher.dockedPaths()).toEqual([vol]);
    rmSync(vol, { recursive: true });
    await r.next('undocked', vol);
    expect(r.watcher.dockedPaths()).toEqual([]);
    expect(r.events.map(([k]) => k)).toEqual(['docked', 'undocked']);
  });

  it('docks at the configured depth, not the user folder above it', async () => {
    const root = join(base, 'media');
    mkdirSync(root);
    const r = await start({ mountRoots: [root], depth: 2 });
    mkdirSync(join(root, 'alice'));
    await sleep(150);
    mkdirSync(join(root, 'alice', 'NO_NAME'));
    await r.next('docked', join(root, 'alice', 'NO_NAME'));
    await sleep(200);
    expect(r.watcher.dockedPaths()).toEqual([join(root, 'alice', 'NO_NAME')]);
  });

  it('docks a shallower directory that holds DCIM, and not the DCIM folder itself', async () => {
    const root = join(base, 'mnt');
    mkdirSync(root);
    const r = await start({ mountRoots: [root], depth: 2 });
    mkdirSync(join(root, 'REC', 'DCIM', '100MEDIA'), { recursive: true });
    await r.next('docked', join(root, 'REC'));
    await sleep(200);
    expect(r.watcher.dockedPaths()).toEqual([join(root, 'REC')]);
  });

  it('docks volumes that were already there when it started', async () => {
    const root = join(base, 'media');
    mkdirSync(join(root, 'EXISTING'), { recursive: true });
    const r = await start({ mountRoots: [root] });
    await r.next('docked', join(root, 'EXISTING'));
  });

  it('waits for mount roots that do not exist yet, and follows them going and coming', async () => {
    const root = join(base, 'not', 'yet', 'media');
    const r = await start({ mountRoots: [root, '/nonexistent-evidock-root'] });
    mkdirSync(root, { recursive: true });
    await sleep(200);
    mkdirSync(join(root, 'REC'));
    await r.next('docked', join(root, 'REC'));
    rmSync(join(base, 'not'), { recursive: true });
    await r.next('undocked', join(root, 'REC'));
    mkdirSync(join(root, 'REC2'), { recursive: true });
    await r.next('docked', join(root, 'REC2'));
  });

  it('treats a renamed-away volume as undocked', async () => {
    const root = join(base, 'media');
    mkdirSync(root);
    const r = await start({ mountRoots: [root] });
    mkdirSync(join(root, 'REC'));
    await r.next('docked', join(root, 'REC'));
    renameSync(join(root, 'REC'), join(base, 'elsewhere'));
    await r.next('undocked', join(root, 'REC'));
  });

  it('attaches a USB device seen just before the mount as hints', async () => {
    const root = join(base, 'media');
    mkdirSync(root);
    let usb: UsbEventListener | null = null;
    let usbClosed = false;
    const r = await start(
      { mountRoots: [root], usbDetection: true },
      {
        startUsb: async (listener: UsbEventListener) => {
          usb = listener;
          return { close: async () => void (usbClosed = true) };
        },
      },
    );
    const device = { vendorId: 0x2b89, productId: 0x0001, serialNumber: 'SN123', manufacturer: 'Rec', product: 'Cam', locationId: 7 };
    usb!.attached({ ...device, serialNumber: 'LEFT', at: Date.now() });
    usb!.detached({ ...device, serialNumber: 'LEFT', at: Date.now() });
    usb!.attached({ ...device, at: Date.now() });
    mkdirSync(join(root, 'REC'));
    const docked = await r.next('docked', join(root, 'REC'));
    expect(docked.usb).toEqual({ vendorId: 0x2b89, productId: 0x0001, serialNumber: 'SN123', manufacturer: 'Rec', product: 'Cam' });
    // The attach is used up: the next mount gets no hints.
    mkdirSync(join(root, 'REC2'));
    expect((await r.next('docked', join(root, 'REC2'))).usb).toBeUndefined();
    await r.watcher.close();
    expect(usbClosed).toBe(true);
  });

  it('carries on with mount watching when USB detection is unavailable', async () => {
    const root = join(base, 'media');
    mkdirSync(root);
    const r = await start({ mountRoots: [root], usbDetection: true }, { startUsb: async () => null });
    mkdirSync(join(root, 'REC'));
    await r.next('docked', join(root, 'REC'));
  });

  it('starts and closes cleanly with the real usb-detection module (or without it)', async () => {
    const root = join(base, 'media');
    mkdirSync(root);
    const r = await start({ mountRoots: [root], usbDetection: true });
    mkdirSync(join(root, 'REC'));
    await r.next('docked', join(root, 'REC'));
    await r.watcher.close();
  });

  it('survives a listener that throws', async () => {
    const root = join(base, 'media');
    mkdirSync(root);
    const r = await start({ mountRoots: [root] });
    r.watcher.on('docked', () => {
      throw new Error('listener bug');
    });
    mkdirSync(join(root, 'A'));
    await r.next('docked', join(root, 'A'));
    mkdirSync(join(root, 'B'));
    await r.next('docked', join(root, 'B'));
  });

  it('emits nothing after close', async () => {
    const root = join(base, 'media');
    mkdirSync(root);
    const r = await start({ mountRoots: [root], settleMs: 100 });
    mkdirSync(join(root, 'REC'));
    await sleep(20);
    await r.watcher.close();
    await sleep(250);
    expect(r.events).toEqual([]);
    await r.watcher.close();
  });

  it.runIf(canMount)('docks a file system mounted onto an existing directory and undocks it on unmount', async () => {
    const root = join(base, 'mnt');
    const point = join(root, 'rec1');
    mkdirSync(point, { recursive: true });
    const r = await start({ mountRoots: [root], depth: 2 });
    await sleep(200);
    expect(r.events).toEqual([]);
    spawnSync('mount', ['-t', 'tmpfs', 'tmpfs', point]);
    mounted.push(point);
    await r.next('docked', point);
    spawnSync('umount', [point]);
    mounted.pop();
    await r.next('undocked', point);
    // The empty mount point left behind is not docked again.
    await sleep(300);
    expect(r.events.map(([k]) => k)).toEqual(['docked', 'undocked']);
  });

  it.runIf(canMount)('prefers a mount point over a user folder holding a recorder-named volume', async () => {
    const root = join(base, 'media');
    const volume = join(root, 'alice', 'VIDEO');
    mkdirSync(volume, { recursive: true });
    const r = await start({ mountRoots: [root], depth: 2 });
    spawnSync('mount', ['-t', 'tmpfs', 'tmpfs', volume]);
    mounted.push(volume);
    await r.next('docked', volume);
    await sleep(300);
    expect(r.watcher.dockedPaths()).toEqual([volume]);
  });
});
