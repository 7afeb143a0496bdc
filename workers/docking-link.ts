import type { EvidenceRow, SessionDefaults } from '../storage/catalog.repository.ts';
import type { JsonValue } from '../storage/custody-chain.ts';

/**
 * The same bytes docked again (another officer's copy, a re-import after a crash, a second
 * case): the evidence item already exists, and what this docking says of it — its case
 * number, subject and place — must not be lost. A case number is added (a recording may
 * prove facts in several cases, and each case must find it); a subject or place fills a
 * field that is empty. A different subject or place than the item has is not written over
 * it: it is kept in the LINKED event and the item is flagged `tag-conflict` for a custodian.
 * The collector stays who recorded it, whoever docks it.
 */

export type LinkedFields = Pick<EvidenceRow, 'caseNumbers' | 'subject' | 'place' | 'flags'>;

export interface DockingLink {
  /** The new values of the fields that change (caseNumbers, subject, place) and the flags. */
  patch: { caseNumbers?: string[]; subject?: string; place?: string; flags: string[] };
  before: { [k: string]: JsonValue };
  after: { [k: string]: JsonValue };
  /** What the docking said that differs from the item, left for a custodian. */
  conflicts: { [k: string]: { item: string; docking: string } };
}

/** Flags that say one of the five required fields is missing; cleared once it is filled. */
export const FIELD_FLAGS = {
  caseNumbers: 'missing-case',
  subject: 'missing-subject',
  place: 'missing-place',
  officerId: 'missing-collector',
} as const;

export const TAG_CONFLICT_FLAG = 'tag-conflict';

/** null: the docking adds nothing the item does not already say. */
export function linkFromDocking(item: LinkedFields, docking: SessionDefaults): DockingLink | null {
  const before: DockingLink['before'] = {};
  const after: DockingLink['after'] = {};
  const conflicts: DockingLink['conflicts'] = {};
  const patch: DockingLink['patch'] = { flags: item.flags };
  let flags = [...item.flags];

  const added = (docking.caseNumbers ?? []).filter((c) => c.length > 0 && !item.caseNumbers.includes(c));
  if (added.length > 0) {
    patch.caseNumbers = [...item.caseNumbers, ...new Set(added)];
    before.caseNumbers = item.caseNumbers;
    after.caseNumbers = patch.caseNumbers;
    flags = flags.filter((f) => f !== FIELD_FLAGS.caseNumbers);
  }
  for (const key of ['subject', 'place'] as const) {
    const said = docking[key]?.trim();
    if (!said) continue;
    const has = item[key];
    if (has === null || has.trim() === '') {
      patch[key] = said;
      before[key] = has;
      after[key] = said;
      flags = flags.filter((f) => f !== FIELD_FLAGS[key]);
    } else if (has !== said) {
      conflicts[key] = { item: has, docking: said };
    }
  }
  if (Object.keys(conflicts).length > 0 && !flags.includes(TAG_CONFLICT_FLAG)) flags.push(TAG_CONFLICT_FLAG);
  if (Object.keys(after).length === 0 && Object.keys(conflicts).length === 0) return null;
  patch.flags = flags;
  return { patch, before, after, conflicts };
}
