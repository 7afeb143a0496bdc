/**
 * What a case document is, by its first bytes, against what the uploader declared. Pure.
 * Only the formats bureaus file text records in are taken: a declared type the bytes do not
 * bear out is refused (a renamed executable is not a "PDF").
 */

export const DOCUMENT_TYPES = {
  'application/pdf': { zh: 'PDF 文件', ext: 'pdf' },
  'image/jpeg': { zh: 'JPEG 图片', ext: 'jpg' },
  'image/png': { zh: 'PNG 图片', ext: 'png' },
  'image/tiff': { zh: 'TIFF 扫描件', ext: 'tif' },
  'application/ofd': { zh: 'OFD 版式文件', ext: 'ofd' },
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': { zh: 'Word 文档', ext: 'docx' },
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': { zh: 'Excel 表格', ext: 'xlsx' },
  'application/msword': { zh: 'Word 文档', ext: 'doc' },
  'application/vnd.ms-excel': { zh: 'Excel 表格', ext: 'xls' },
  'text/plain': { zh: '文本文件', ext: 'txt' },
} as const;

export type DocumentType = keyof typeof DOCUMENT_TYPES;

/** How many leading bytes `sniff` needs. */
export const SNIFF_BYTES = 512;

type Family = 'pdf' | 'jpeg' | 'png' | 'tiff' | 'zip' | 'ole' | 'text';

const FAMILY: Record<DocumentType, Family> = {
  'application/pdf': 'pdf',
  'image/jpeg': 'jpeg',
  'image/png': 'png',
  'image/tiff': 'tiff',
  'application/ofd': 'zip',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'zip',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'zip',
  'application/msword': 'ole',
  'application/vnd.ms-excel': 'ole',
  'text/plain': 'text',
};

const starts = (head: Buffer, bytes: number[]) => bytes.every((b, i) => head[i] === b);

export function familyOf(head: Buffer): Family | null {
  if (starts(head, [0x25, 0x50, 0x44, 0x46, 0x2d])) return 'pdf';
  if (starts(head, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (starts(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (starts(head, [0x49, 0x49, 0x2a, 0x00]) || starts(head, [0x4d, 0x4d, 0x00, 0x2a])) return 'tiff';
  if (starts(head, [0x50, 0x4b, 0x03, 0x04])) return 'zip';
  if (starts(head, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])) return 'ole';
  if (head.length > 0 && !head.includes(0) && isUtf8Prefix(head)) return 'text';
  return null;
}

/** A UTF-8 prefix may end inside a character: ignore up to 3 trailing bytes. */
function isUtf8Prefix(head: Buffer): boolean {
  for (let cut = 0; cut <= 3 && cut < head.length; cut++) {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, head.length - cut));
      return true;
    } catch {
      // try a shorter prefix
    }
  }
  return false;
}

export type SniffResult = { ok: true; type: DocumentType } | { ok: false; problem: 'unsupported-type' | 'type-mismatch' | 'empty' };

export function sniff(declared: string, head: Buffer): SniffResult {
  const type = declared.split(';')[0]!.trim().toLowerCase();
  if (!(type in DOCUMENT_TYPES)) return { ok: false, problem: 'unsupported-type' };
  if (head.length === 0) return { ok: false, problem: 'empty' };
  return familyOf(head) === FAMILY[type as DocumentType] ? { ok: true, type: type as DocumentType } : { ok: false, problem: 'type-mismatch' };
}

/** The file name a document is listed under: no path, no control characters, no `..`. */
export function documentNameProblem(name: string): string | null {
  if (name.length === 0 || name.length > 255) return 'the file name must have 1 to 255 characters';
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'the file name contains control characters';
  if (name.includes('/') || name.includes('\\')) return 'the file name contains a path separator';
  if (name.includes('..')) return 'the file name contains ".."';
  return null;
}
