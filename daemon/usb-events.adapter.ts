import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { moduleLogger } from '../config/logger.ts';
import { parentDeathLaunch } from '../workers/parent-death.ts';

/**
 * USB attach/detach from the optional native `usb-detection` module, run in a child
 * process. It is optional because it needs a compiler and libudev at install time; when it
 * cannot be loaded or started, docking still works from mount events alone, only without
 * USB identity hints.
 */

const log = moduleLogger('usb-events');

export interface UsbDeviceEvent {
  /** Host time the event arrived, ms since the epoch. */
  at: number;
  vendorId: number;
  productId: number;
  serialNumber: string | null;
  manufacturer: string | null;
  product: string | null;
  /** Bus location, when the platform gives it; tells two identical devices apart. */
  locationId: number | null;
}

export interface UsbEventListener {
  attached(event: UsbDeviceEvent): void;
  detached(event: UsbDeviceEvent): void;
}

export interface UsbEventSubscription {
  close(): Promise<void>;
}

interface RawUsbDevice {
  vendorId?: unknown;
  productId?: unknown;
  serialNumber?: unknown;
  manufacturer?: unknown;
  deviceName?: unknown;
  locationId?: unknown;
}

type ChildMessage = { kind: 'ready' } | { kind: 'unavailable'; message: string } | { kind: 'add' | 'remove'; device: RawUsbDevice };

const CHILD = fileURLToPath(new URL('./usb-events.child.js', import.meta.url));
/** How long the monitor child may take to load the native module and start. */
const START_TIMEOUT_MS = 15_000;

let warnedUnavailable = false;

/**
 * Starts the monitor in a child process (usb-events.child.js: the native module cannot be
 * trusted with the daemon's own exit) and forwards its attach/detach events. Null, with one
 * warning per process, when the module is missing or does not start.
 */
export async function startUsbEvents(listener: UsbEventListener, now: () => number = Date.now): Promise<UsbEventSubscription | null> {
  const child = fork(CHILD, [], { ...parentDeathLaunch([]), stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'json' });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const started = await new Promise<{ ok: true } | { ok: false; reason: string }>((resolve) => {
    const timer = setTimeout(() => resolve({ ok: false, reason: `no answer within ${START_TIMEOUT_MS} ms` }), START_TIMEOUT_MS);
    const settle = (result: { ok: true } | { ok: false; reason: string }) => {
      clearTimeout(timer);
      resolve(result);
    };
    child.on('message', (m: ChildMessage) => {
      if (m.kind === 'ready') settle({ ok: true });
      else if (m.kind === 'unavailable') settle({ ok: false, reason: m.message });
    });
    child.once('error', (err) => settle({ ok: false, reason: err.message }));
    child.once('exit', (code, signal) => settle({ ok: false, reason: `monitor exited (${signal ?? code})${stderr ? `: ${stderr.trim()}` : ''}` }));
  });
  if (!started.ok) {
    child.kill('SIGKILL');
    if (!warnedUnavailable) {
      warnedUnavailable = true;
      log.warn({ reason: started.reason }, 'usb-detection unavailable; mount watching only');
    }
    return null;
  }

  let closed = false;
  child.on('message', (m: ChildMessage) => {
    if (closed) return;
    if (m.kind === 'add') listener.attached(toEvent(m.device, now()));
    else if (m.kind === 'remove') listener.detached(toEvent(m.device, now()));
  });
  child.on('exit', (code, signal) => {
    if (!closed) log.warn({ code, signal, stderr: stderr.trim() || undefined }, 'usb monitor stopped; mount watching only');
  });
  return {
    async close() {
      if (closed) return;
      closed = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

function toEvent(device: RawUsbDevice, at: number): UsbDeviceEvent {
  return {
    at,
    vendorId: typeof device.vendorId === 'number' ? device.vendorId : 0,
    productId: typeof device.productId === 'number' ? device.productId : 0,
    serialNumber: text(device.serialNumber),
    manufacturer: text(device.manufacturer),
    product: text(device.deviceName),
    locationId: typeof device.locationId === 'number' ? device.locationId : null,
  };
}

/** USB string descriptors are device-supplied: empty means absent, control characters are dropped. */
function text(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const cleaned = value.replace(/[\u0000-\u001f\u007f-\u009f]/g, '').trim();
  return cleaned.length > 0 && cleaned.length <= 128 ? cleaned : null;
}
