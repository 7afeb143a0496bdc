import { signal } from '@preact/signals';

/**
 * The pages' one way to the archive API (/api/v1, same origin, session cookie). Unsafe methods
 * carry the session's CSRF token. A 401 on a page that had a session raises `sessionExpired`,
 * which sends the user to the login page and back afterwards.
 */

export const BASE = '/api/v1';

export interface Me {
  kind: string;
  name: string;
  role: string;
  officerId: string | null;
  units: string[];
  mustChangePassword: boolean;
  csrfToken: string | null;
  expiresAt: string | null;
}

export const me = signal<Me | null>(null);
export const sessionExpired = signal(false);

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly messageZh: string,
    readonly problems: string[] = [],
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The request never got an answer (network down, server gone). */
export class NetworkError extends Error {
  override name = 'NetworkError';
}

type Query = Record<string, string | number | boolean | null | undefined>;

export function withQuery(path: string, query: Query = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '' && v !== false) q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

async function request<T>(method: string, path: string, body?: unknown, init: { query?: Query; raw?: BodyInit; contentType?: string } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET' && me.value?.csrfToken) headers['x-csrf-token'] = me.value.csrfToken;
  let payload: BodyInit | undefined;
  if (init.raw !== undefined) {
    payload = init.raw;
    headers['content-type'] = init.contentType ?? 'application/octet-stream';
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['content-type'] = 'application/json';
  }
  let res: Response;
  try {
    res = await fetch(withQuery(`${BASE}${path}`, init.query), { method, headers, body: payload, credentials: 'same-origin' });
  } catch (e) {
    throw new NetworkError(e instanceof Error ? e.message : String(e));
  }
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) throw apiError(res, json, path);
  return json as T;
}

function apiError(res: Response, json: unknown, path: string): ApiError {
  const err = (json as { error?: { code?: string; message?: string; messageZh?: string; problems?: string[]; retryAfterSeconds?: number } } | null)?.error;
  if (res.status === 401 && me.value !== null && path !== '/auth/login') sessionExpired.value = true;
  const retry = err?.retryAfterSeconds ?? (Number(res.headers.get('retry-after')) || null);
  return new ApiError(res.status, err?.code ?? `HTTP_${res.status}`, err?.message ?? res.statusText, err?.messageZh ?? err?.message ?? res.statusText, err?.problems ?? [], retry);
}

/** A POST whose answer is a file (an export package): saved by the browser under the server's name. */
async function postForFile(path: string, body: unknown): Promise<{ name: string; size: number }> {
  const headers: Record<string, string> = { accept: 'application/zip, application/json', 'content-type': 'application/json' };
  if (me.value?.csrfToken) headers['x-csrf-token'] = me.value.csrfToken;
  let res: Response;
  try {
    res = await fetch(`${BASE}${path}`, { method: 'POST', headers, body: JSON.stringify(body), credentials: 'same-origin' });
  } catch (e) {
    throw new NetworkError(e instanceof Error ? e.message : String(e));
  }
  if (!res.ok) {
    const text = await res.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    throw apiError(res, json, path);
  }
  const disposition = res.headers.get('content-disposition') ?? '';
  const star = /filename\*=UTF-8''([^;]+)/i.exec(disposition)?.[1];
  const name = star ? decodeURIComponent(star) : (/filename="([^"]+)"/.exec(disposition)?.[1] ?? 'export.zip');
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return { name, size: blob.size };
}

export const api = {
  postForFile,
  get: <T>(path: string, query?: Query) => request<T>('GET', path, undefined, { query: query ?? {} }),
  post: <T>(path: string, body?: unknown, query?: Query) => request<T>('POST', path, body ?? {}, { query: query ?? {} }),
  put: <T>(path: string, body: unknown) => request<T>('PUT', path, body),
  patch: <T>(path: string, body: unknown) => request<T>('PATCH', path, body),
  delete: <T>(path: string, body?: unknown) => request<T>('DELETE', path, body),
  upload: <T>(path: string, file: Blob, contentType: string, query: Query) => request<T>('POST', path, undefined, { raw: file, contentType, query }),
};

/** The session this browser has, if any (a reload keeps it: the cookie is HttpOnly). */
export async function loadMe(): Promise<Me | null> {
  try {
    me.value = await api.get<Me>('/auth/me');
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) me.value = null;
    else throw e;
  }
  return me.value;
}

// ---- the API's shapes the pages use (server/api.schemas.ts) ----

export type Field = 'caseNumber' | 'captureTime' | 'place' | 'collector' | 'subject';

export interface EvidenceItem {
  evidenceId: string;
  sha256: string;
  sm3: string | null;
  size: number;
  mediaType: string;
  mediaStatus: string;
  durationSeconds: number | null;
  originalName: string;
  caseNumbers: string[];
  capturedAt: string | null;
  capturedUntil: string | null;
  captureTimeSource: string | null;
  place: string | null;
  collector: { officerId: string | null; name: string | null };
  subject: string | null;
  unit: string | null;
  recorderSerial: string;
  missing: Field[];
  flags: string[];
  recordedAt: string;
  transferLate: boolean | null;
  thumbnailUrl: string | null;
}

export interface CustodyEvent {
  seq: number;
  at: string;
  type: string;
  workstationId: string;
  actor: { kind: string; id: string };
  evidenceId: string | null;
  sessionId: string | null;
  details: Record<string, unknown>;
  hash: string;
  keyId: string;
}

export interface Derivative {
  kind: string;
  contentType: string;
  size: number;
  sha256: string;
  partial: boolean;
  width: number | null;
  height: number | null;
  durationSeconds: number | null;
  url: string;
  storyboard: { columns: number; rows: number; frames: number; tileWidth: number; tileHeight: number; intervalSeconds: number } | null;
}

export interface EvidenceDetail {
  item: EvidenceItem;
  derivatives: Derivative[];
  verification: { verifiedAt: string; lastFixityCheck: { at: string; ok: boolean } | null };
  media: {
    container: string | null;
    videoCodec: string | null;
    audioCodec: string | null;
    width: number | null;
    height: number | null;
    frameRate: number | null;
    device: { make: string | null; model: string | null; serial: string | null };
    gps: { latitude: number; longitude: number } | null;
  };
  timeline: CustodyEvent[];
}

export interface Dock {
  sessionId: string;
  workstationId: string;
  recorderSerial: string;
  status: string;
  docked: boolean;
  safeToUndock: boolean;
  files: number;
  bytes: number;
  bytesAcquired: number;
  stages: Record<string, number>;
  gaps: number;
  startedAt: string;
  acquiredAt: string | null;
  finishedAt: string | null;
  undockedAt: string | null;
  fileList: Array<{ name: string; size: number; bytesAcquired: number; stage: string; duplicate: boolean; error: string | null }>;
}

export interface AccessRequest {
  id: string;
  requester: string;
  evidenceId: string | null;
  caseNumber: string | null;
  actions: string[];
  purpose: string;
  state: string;
  decidedBy: string | null;
  decidedAt: string | null;
  reason: string | null;
  expiresAt: string | null;
  createdAt: string;
}

export type ShareState = 'active' | 'expired' | 'revoked';

export interface Share {
  shareId: string;
  recipient: string;
  caseNumber: string | null;
  mode: 'view' | 'download';
  watermark: boolean;
  approvalId: string | null;
  authorizedBy: string;
  purpose: string | null;
  createdBy: string;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
  revokedBy: string | null;
  revokeReason: string | null;
  state: ShareState;
  tokenSha256: string;
  items: Array<{ evidenceId: string; sha256: string; copyKind: string; copySha256: string; copySize: number; contentType: string; watermarkLines: string[] | null }>;
}

/** What a share link holds, as its recipient sees it (GET /shared/:token). */
export interface SharedView {
  recipient: string;
  caseNumber: string | null;
  mode: 'view' | 'download';
  expiresAt: string;
  items: Array<{
    evidenceId: string;
    mediaType: string;
    captureStart: string | null;
    durationSeconds: number | null;
    contentType: string;
    size: number;
    sha256: string;
    originalSha256: string;
    watermarked: boolean;
  }>;
}
