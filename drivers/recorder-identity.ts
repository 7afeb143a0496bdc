import { moduleLogger } from '../config/logger.ts';
import type { VolumeIdentityFields } from './device-info.parser.ts';
import type { RecorderSdk, ZfyInfo } from './recorder-sdk.ts';
import type { IdentitySource, ParsedRecordingName, ProbeHints, RecorderIdentity } from './recorder.driver.ts';

/**
 * Decides who a docked recorder is from everything the drivers could gather. Which source
 * wins depends on who is asking: for a real recorder the device's own word comes first,
 * because the workers re-probe a mount path with the session's serial as a hint and then
 * check that the same recorder is there — a hint that won would make that check pass on
 * any device. For a folder an operator imports, the operator's statement comes first.
 */

export interface SdkIdentity {
  info: ZfyInfo;
  fileCount: number | null;
}

export interface NameIdentity {
  deviceId: string | null;
  officerId: string | null;
}

export interface IdentityEvidence {
  operator?: { serial?: string | undefined; officerId?: string | undefined } | null;
  sdk?: SdkIdentity | null;
  volumeFile?: VolumeIdentityFields | null;
  fileNames?: NameIdentity | null;
  usb?: ProbeHints['usb'] | null;
  volumeLabel?: string | null;
  /** Serial to use when no source names one; always present so an identity always exists. */
  fallback: { serial: string; source: IdentitySource };
}

/**
 * Device facts first: the SDK, an identity file, the names the recorder gave its files,
 * its USB serial (often a chipset default shared by a batch); an operator's claim only
 * when the device says nothing, and the volume's name last.
 */
export const DEVICE_FIRST: readonly IdentitySource[] = ['sdk', 'volume-file', 'filename', 'usb', 'operator', 'volume-label'];
/** For folders named by an operator (`evidock import`): what they state wins. */
export const OPERATOR_FIRST: readonly IdentitySource[] = ['operator', 'sdk', 'volume-file', 'filename', 'usb', 'volume-label'];

export function resolveIdentity(evidence: IdentityEvidence, order: readonly IdentitySource[] = DEVICE_FIRST): RecorderIdentity {
  const sdk = evidence.sdk?.info ?? null;
  const file = evidence.volumeFile ?? null;
  const names = evidence.fileNames ?? null;
  const usb = evidence.usb ?? null;

  const serials: Partial<Record<IdentitySource, string | null | undefined>> = {
    operator: evidence.operator?.serial,
    sdk: sdk?.productSerial,
    'volume-file': file?.serial,
    filename: names?.deviceId,
    usb: usb?.serialNumber,
    'volume-label': evidence.volumeLabel,
  };
  const officers: Partial<Record<IdentitySource, string | null | undefined>> = {
    operator: evidence.operator?.officerId,
    sdk: sdk?.officerNumber,
    'volume-file': file?.officerId,
    filename: names?.officerId,
  };

  let serial = evidence.fallback.serial;
  let source = evidence.fallback.source;
  for (const from of order) {
    const cleaned = present(serials[from]);
    if (cleaned !== null) {
      serial = cleaned;
      source = from;
      break;
    }
  }

  return {
    serial,
    vendor: first(sdk?.vendor, file?.vendor, usb?.manufacturer),
    model: first(sdk?.model, file?.model, usb?.product),
    officerId: first(...order.map((from) => officers[from])),
    officerName: first(sdk?.officerName, file?.officerName),
    unitId: first(sdk?.unitNumber, file?.unitId),
    unitName: first(sdk?.unitName, file?.unitName),
    source,
    deviceFileCount: evidence.sdk?.fileCount ?? null,
  };
}

/**
 * The device and officer ids most file names agree on. A recorder re-assigned to another
 * officer holds names with both ids, so the majority is the best guess; ties go to the
 * smaller id so the answer does not depend on listing order.
 */
export function mostCommonNameIds(parsed: Iterable<ParsedRecordingName | null>): NameIdentity {
  const devices = new Map<string, number>();
  const officers = new Map<string, number>();
  for (const p of parsed) {
    if (!p) continue;
    if (p.deviceId) devices.set(p.deviceId, (devices.get(p.deviceId) ?? 0) + 1);
    if (p.officerId) officers.set(p.officerId, (officers.get(p.officerId) ?? 0) + 1);
  }
  return { deviceId: majority(devices), officerId: majority(officers) };
}

function majority(counts: Map<string, number>): string | null {
  let best: string | null = null;
  let bestCount = 0;
  for (const [value, count] of counts) {
    if (count > bestCount || (count === bestCount && best !== null && value < best)) {
      best = value;
      bestCount = count;
    }
  }
  return best;
}

/**
 * A usable value or null. SDK strings come from fixed-size C buffers, so NUL padding is cut;
 * anything still holding control characters, or implausibly long, is not trusted at all.
 */
function present(value: string | null | undefined): string | null {
  if (typeof value !== 'string') return null;
  const nul = value.indexOf('\u0000');
  const trimmed = (nul >= 0 ? value.slice(0, nul) : value).trim();
  if (trimmed.length === 0 || trimmed.length > 128) return null;
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufffd]/.test(trimmed)) return null;
  return trimmed;
}

function first(...values: (string | null | undefined)[]): string | null {
  for (const v of values) {
    const p = present(v);
    if (p !== null) return p;
  }
  return null;
}

const log = moduleLogger('recorder-identity');

/**
 * GetZFYInfo and the file count from an SDK, or null when GetZFYInfo fails: a recorder
 * whose SDK misbehaves is still ingested, identified from weaker sources, with a warning.
 */
export async function readSdkIdentity(sdk: RecorderSdk): Promise<SdkIdentity | null> {
  let info: ZfyInfo;
  try {
    info = await sdk.getZfyInfo();
  } catch (err) {
    log.warn({ err }, 'GetZFYInfo failed; identifying the recorder from other sources');
    return null;
  }
  let fileCount: number | null = null;
  try {
    const count = await sdk.fileCount();
    fileCount = Number.isSafeInteger(count) && count !== null && count >= 0 ? count : null;
  } catch (err) {
    log.warn({ err }, 'SDK file count failed; device file count unknown');
  }
  return { info, fileCount };
}
