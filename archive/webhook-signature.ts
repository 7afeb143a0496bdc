import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * How a case system knows a delivery came from evidock and was not replayed: the header
 * `X-Evidock-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. The
 * timestamp is inside the MAC, so an old delivery cannot be sent again as new. Pure.
 */

export const SIGNATURE_HEADER = 'x-evidock-signature';

export function signDelivery(secret: string, unixSeconds: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

/** What a receiver runs: true when the MAC matches and the timestamp is within `toleranceSeconds`. */
export function verifyDelivery(secret: string, header: string, body: string, nowSeconds: number, toleranceSeconds = 300): boolean {
  const parts = new Map(header.split(',').map((kv) => kv.split('=', 2) as [string, string]));
  const t = Number(parts.get('t'));
  const v1 = parts.get('v1');
  if (!Number.isInteger(t) || !v1 || !/^[0-9a-f]{64}$/.test(v1)) return false;
  if (Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = Buffer.from(signDelivery(secret, t, body).split('v1=')[1]!, 'hex');
  return timingSafeEqual(expected, Buffer.from(v1, 'hex'));
}

/** Whether a webhook URL is acceptable; `allowPrivate` off refuses loopback and private addresses. */
export function webhookUrlProblem(raw: string, allowPrivate: boolean): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'url: not a URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'url: http or https only';
  if (url.username || url.password) return 'url: no credentials in the URL (the signature authenticates deliveries)';
  if (!allowPrivate && isPrivateHost(url.hostname)) return 'url: private and loopback addresses are not allowed (webhooks.allowPrivateTargets)';
  return null;
}

function isPrivateHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost') || h === '::1' || h.startsWith('fc') || h.startsWith('fd') || h.startsWith('fe80')) return true;
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(h);
  if (!m) return false;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a === 10 || a === 127 || a === 0 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127);
}
