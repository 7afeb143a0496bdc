import { moduleLogger } from '../config/logger.ts';

/**
 * USB attach/detach from the optional native `usb-detection` module. It is optional
 * because it needs a compiler and libudev at install time; when it cannot be loaded or
 * started, docking still works from mount events alone, only without USB identity hints.
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

/** The part of usb-detection's API used here; the module has no types we can rely on being installed. */
interface UsbDetectionModule {
  startMonitoring(): void;
  stopMonitoring(): void;
  on(event: string, callback: (device: RawUsbDevice) => void): unknown;
  removeListener?(event: string, callback: (device: RawUsbDevice) => void): unknown;
  off?(event: string, callback: (device: RawUsbDevice) => void): unknown;
}

interface RawUsbDevice {
  vendorId?: unknown;
  productId?: unknown;
  serialNumber?: unknown;
  manufacturer?: unknown;
  deviceName?: unknown;
  locationId?: unknown;
}

// A variable specifier keeps TypeScript from requiring the optional module at compile time.
const MODULE_NAME = 'usb-detection';

/** How long close() waits after stopMonitoring before the process may exit (100 ms was enough in every try here). */
const USB_STOP_SETTLE_MS = 300;

let warnedUnavailable = false;
/** usb-detection is one process-wide monitor; it stops only when its last user closes. */
let activeSubscriptions = 0;

export async function startUsbEvents(listener: UsbEventListener, now: () => number = Date.now): Promise<UsbEventSubscription | null> {
  let detection: UsbDetectionModule;
  try {
    const loaded = (await import(MODULE_NAME)) as { default?: UsbDetectionModule } & UsbDetectionModule;
    detection = loaded.default ?? loaded;
    detection.startMonitoring();
  } catch (err) {
    if (!warnedUnavailable) {
      warnedUnavailable = true;
      log.warn({ err }, 'usb-detection unavailable; mount watching only');
    }
    return null;
  }
  activeSubscriptions += 1;

  const onAdd = (device: RawUsbDevice): void => listener.attached(toEvent(device, now()));
  const onRemove = (device: RawUsbDevice): void => listener.detached(toEvent(device, now()));
  detection.on('add', onAdd);
  detection.on('remove', onRemove);

  let closed = false;
  return {
    async close() {
      if (closed) return;
      closed = true;
      const off = (detection.removeListener ?? detection.off)?.bind(detection);
      off?.('add', onAdd);
      off?.('remove', onRemove);
      activeSubscriptions -= 1;
      // The native monitor holds the event loop open; stopping it lets the process exit.
      if (activeSubscriptions === 0) {
        detection.stopMonitoring();
        // Its Linux monitor thread winds down after the call returns: a process that exits
        // within ~100 ms of it aborts (SIGABRT, exit 134 on every daemon SIGTERM here, after a
        // clean shutdown); measured with usb-detection 4.14.2 on Node 20.
        await new Promise<void>((resolve) => setTimeout(resolve, USB_STOP_SETTLE_MS));
      }
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
