import { createHash } from 'node:crypto';
import { canonicalJson, type JsonValue } from '../storage/custody-chain.ts';
import type { AccessLogRow } from '../storage/access.repository.ts';

/**
 * How access records reach the signed custody chain without one chain append per request:
 * a batch of records is sealed by one ACCESS_LOG_SEALED event carrying the SHA-256 of their
 * canonical form, and each item looked at in the batch gets one ACCESSED event naming its
 * records and their own digest. Changing, removing or adding a sealed record changes a
 * digest that a signed event holds. Pure.
 */

/** The fields of a record that its seal covers (everything but the seal itself). */
export function sealedForm(r: AccessLogRow): { [k: string]: JsonValue } {
  return {
    id: r.id,
    at: r.at.toISOString(),
    principalKind: r.principalKind,
    principalId: r.principalId,
    principalName: r.principalName,
    role: r.role,
    unitIds: [...r.unitIds],
    action: r.action,
    evidenceId: r.evidenceId,
    evidenceIds: r.evidenceIds ? [...r.evidenceIds] : null,
    caseNumber: r.caseNumber,
    purpose: r.purpose,
    approvalId: r.approvalId,
    ip: r.ip,
    userAgent: r.userAgent,
  };
}

export function sealDigest(rows: readonly AccessLogRow[]): string {
  const hash = createHash('sha256');
  for (const r of [...rows].sort((a, b) => a.id - b.id)) hash.update(`${canonicalJson(sealedForm(r))}\n`);
  return hash.digest('hex');
}

/** Actions on one item that its own chain records (search pages only go to the batch seal). */
export const ITEM_ACTIONS: ReadonlySet<string> = new Set(['view', 'play', 'download', 'export']);

export interface ItemSeal {
  evidenceId: string;
  recordIds: number[];
  actions: Record<string, number>;
  principals: string[];
  digest: string;
}

/** One ACCESSED event per item looked at in the batch, in the order of first access. */
export function itemSeals(rows: readonly AccessLogRow[]): ItemSeal[] {
  const byItem = new Map<string, AccessLogRow[]>();
  for (const r of rows) {
    if (!r.evidenceId || !ITEM_ACTIONS.has(r.action)) continue;
    const list = byItem.get(r.evidenceId) ?? [];
    list.push(r);
    byItem.set(r.evidenceId, list);
  }
  return [...byItem].map(([evidenceId, list]) => {
    const actions: Record<string, number> = {};
    for (const r of list) actions[r.action] = (actions[r.action] ?? 0) + 1;
    return {
      evidenceId,
      recordIds: list.map((r) => r.id),
      actions,
      principals: [...new Set(list.map((r) => r.principalName))],
      digest: sealDigest(list),
    };
  });
}
