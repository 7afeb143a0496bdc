import { z } from 'zod';

/**
 * Identity files found at the root of a recorder volume. Many GA/T 947 recorders write a
 * small text file with `SN=…` / `PoliceID=…` lines, and `evidock import` accepts an
 * `EVIDOCK.ID` JSON file placed by an operator. The content comes off an untrusted device,
 * so every value is bounded and stripped of control characters before it can reach a
 * custody record.
 */

export interface VolumeIdentityFields {
  serial: string | null;
  officerId: string | null;
  officerName: string | null;
  unitId: string | null;
  unitName: string | null;
  vendor: string | null;
  model: string | null;
}

export type IdentityFileFormat = 'evidock-json' | 'key-value';

export interface IdentityFileCandidate {
  /** Path segments below the volume root, matched case-insensitively (FAT volumes ignore case). */
  segments: readonly string[];
  format: IdentityFileFormat;
}

/** In order of preference; the first one present that says anything wins. */
export const IDENTITY_FILES: readonly IdentityFileCandidate[] = [
  { segments: ['EVIDOCK.ID'], format: 'evidock-json' },
  { segments: ['DEVICE.TXT'], format: 'key-value' },
  { segments: ['DEVINFO.TXT'], format: 'key-value' },
  { segments: ['DEVICEINFO.TXT'], format: 'key-value' },
  { segments: ['SYSTEM', 'ID.TXT'], format: 'key-value' },
  { segments: ['SYSTEM', 'DEVINFO.TXT'], format: 'key-value' },
];

/** Identity files are tiny; anything larger is not one of them. */
export const MAX_IDENTITY_FILE_BYTES = 64 * 1024;

/** Whether a relative path (segments) names one of the identity files. */
export function isIdentityFilePath(segments: readonly string[]): boolean {
  return IDENTITY_FILES.some(
    (c) => c.segments.length === segments.length && c.segments.every((s, i) => s.toUpperCase() === segments[i]!.toUpperCase()),
  );
}

export function parseIdentityFile(bytes: Buffer, format: IdentityFileFormat): VolumeIdentityFields | null {
  if (bytes.length > MAX_IDENTITY_FILE_BYTES) return null;
  const text = decodeTextFile(bytes);
  return format === 'evidock-json' ? parseEvidockIdJson(text) : parseDeviceInfoText(text);
}

/**
 * Text as recorders write it: UTF-8 (with or without BOM), UTF-16 with BOM, or — common on
 * Chinese firmware — GB18030/GBK, which is what bytes that are not valid UTF-8 are taken as.
 */
export function decodeTextFile(bytes: Buffer): string {
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return new TextDecoder('utf-8').decode(bytes.subarray(3));
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes.subarray(2));
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder('utf-16be').decode(bytes.subarray(2));
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return new TextDecoder('gb18030').decode(bytes);
  }
}

type Field = keyof VolumeIdentityFields;

/** Keys vendors use, normalised (lower case, no spaces, `_` or `-`). */
const KEY_FIELDS: ReadonlyMap<string, Field> = new Map<string, Field>([
  ...keys('serial', ['sn', 'serial', 'serialno', 'serialnumber', 'deviceid', 'devid', 'deviceno', 'devno', 'deviceserial', 'productserial', 'productsn', 'zfyid', '产品序号', '设备编号', '设备序号', '序列号']),
  ...keys('officerId', ['policeid', 'policeno', 'policenumber', 'officerid', 'officerno', 'officernumber', 'userid', 'userno', '警号', '执法证号', '警员编号']),
  ...keys('officerName', ['policename', 'officername', 'username', 'name', '姓名', '警员姓名']),
  ...keys('unitId', ['unitid', 'unitno', 'unitnumber', 'deptid', 'deptno', 'departmentid', 'orgid', '单位编号', '部门编号']),
  ...keys('unitName', ['unitname', 'deptname', 'departmentname', 'orgname', '单位名称', '部门名称']),
  ...keys('vendor', ['vendor', 'manufacturer', 'factory', '厂商', '厂家', '生产厂商']),
  ...keys('model', ['model', 'devicemodel', '型号', '设备型号']),
]);

function keys(field: Field, names: string[]): [string, Field][] {
  return names.map((n) => [n, field]);
}

const MAX_LENGTH: Readonly<Record<Field, number>> = {
  serial: 64,
  officerId: 32,
  officerName: 64,
  unitId: 64,
  unitName: 128,
  vendor: 64,
  model: 64,
};

/**
 * `key=value` or `key: value` lines (also the full-width `：`), INI section headers and
 * `#`/`;` comments ignored. Null when no known key is present, so an unrelated text file
 * is not mistaken for an identity.
 */
export function parseDeviceInfoText(text: string): VolumeIdentityFields | null {
  const fields = emptyFields();
  let found = false;
  for (const line of text.split(/\r\n|\r|\n/)) {
    const trimmed = line.trim();
    if (trimmed.length === 0 || trimmed.startsWith('#') || trimmed.startsWith(';') || trimmed.startsWith('[')) continue;
    const match = /^([^=:：]{1,40}?)\s*[=:：]\s*(.*)$/.exec(trimmed);
    if (!match) continue;
    const field = KEY_FIELDS.get(normaliseKey(match[1]!));
    if (!field || fields[field] !== null) continue;
    const value = cleanValue(match[2]!, MAX_LENGTH[field]);
    if (value === null) continue;
    fields[field] = value;
    found = true;
  }
  return found ? fields : null;
}

const evidockIdSchema = z
  .object({
    serial: z.string(),
    officerId: z.string(),
    officerName: z.string(),
    unitId: z.string(),
    unitName: z.string(),
    vendor: z.string(),
    model: z.string(),
  })
  .partial();

/** `EVIDOCK.ID`: a JSON object with any of the VolumeIdentityFields as strings. */
export function parseEvidockIdJson(text: string): VolumeIdentityFields | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = evidockIdSchema.safeParse(json);
  if (!parsed.success) return null;
  const fields = emptyFields();
  let found = false;
  for (const field of Object.keys(fields) as Field[]) {
    const raw = parsed.data[field];
    if (raw === undefined) continue;
    const value = cleanValue(raw, MAX_LENGTH[field]);
    if (value === null) continue;
    fields[field] = value;
    found = true;
  }
  return found ? fields : null;
}

function emptyFields(): VolumeIdentityFields {
  return { serial: null, officerId: null, officerName: null, unitId: null, unitName: null, vendor: null, model: null };
}

function normaliseKey(key: string): string {
  return key.replace(/[\s_-]+/g, '').toLowerCase();
}

/**
 * A value fit for a custody record, or null. Over-long values are dropped, not truncated:
 * two different serials cut to the same prefix would merge two recorders.
 */
function cleanValue(raw: string, maxLength: number): string | null {
  let value = raw.trim();
  if (value.length >= 2 && ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'")))) {
    value = value.slice(1, -1).trim();
  }
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufffd]/.test(value)) return null;
  if (value.length === 0 || value.length > maxLength) return null;
  return value;
}
