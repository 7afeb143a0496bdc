/**
 * HTTP range requests (RFC 9110 §14) for streamed media, so a video element can seek. Pure.
 * One range per request; a multi-range request is answered whole (allowed by the RFC), which
 * players never send.
 */

export type RangeAnswer =
  | { kind: 'whole' }
  | { kind: 'partial'; start: number; end: number }
  /** 416, with `Content-Range: bytes *\/size`. */
  | { kind: 'unsatisfiable' };

export function answerRange(rangeHeader: string | undefined, ifRange: string | undefined, etag: string, size: number): RangeAnswer {
  if (!rangeHeader) return { kind: 'whole' };
  // If-Range with another validator: the client's cached part is stale, send it all.
  if (ifRange !== undefined && ifRange.trim() !== etag) return { kind: 'whole' };
  const m = /^bytes=(\d*)-(\d*)$/.exec(rangeHeader.trim());
  if (!m || (m[1] === '' && m[2] === '')) return rangeHeader.includes(',') ? { kind: 'whole' } : { kind: 'unsatisfiable' };
  if (size === 0) return { kind: 'unsatisfiable' };
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end };
}

/** The strong entity tag of a stored object, quoted as HTTP wants it. */
export function entityTag(sha256: string): string {
  return `"${sha256}"`;
}
