import type { CaseRetentionFacts, RetentionClass } from '../storage/retention.repository.ts';

/**
 * How long a record must be kept (保管期限), decided from its cases alone. Pure: the service
 * applies the answer to the catalog and to the object lock of the original, and only ever
 * moves that date later.
 *
 * - `unlinked`: in no case: kept `unlinkedDays` from capture (the officer's footage that
 *   proved nothing still may not be destroyed early).
 * - `case`: in a case: kept until the case is archived plus `caseDays`; while the case is
 *   open or ended its records are kept at least `caseDays` from the day this is decided, so
 *   they never run out before the case is archived (archiving then moves the date on).
 * - `major-case`: in a case marked major (重大案件): kept permanently.
 */

const DAY_MS = 86_400_000;
/** "Permanent" as an object-lock date: a century, renewable, and S3 servers accept it. */
export const PERMANENT_DAYS = 36_500;

export interface RetentionRules {
  unlinkedDays: number;
  caseDays: number;
}

export interface RetentionDecision {
  class: RetentionClass;
  /** The date the record is kept to: never before `current`. */
  retainUntil: Date;
  /** Whether a hold of the item or of one of its cases forbids deleting it whatever the date. */
  held: boolean;
}

export function decideRetention(
  record: { capturedAt: Date; itemHold: boolean; current: Date | null },
  cases: readonly CaseRetentionFacts[],
  rules: RetentionRules,
  now: Date,
): RetentionDecision {
  const plus = (from: Date, days: number) => new Date(from.getTime() + days * DAY_MS);
  let cls: RetentionClass;
  let until: Date;
  if (cases.some((c) => c.major)) {
    cls = 'major-case';
    until = plus(now, PERMANENT_DAYS);
  } else if (cases.length > 0) {
    cls = 'case';
    until = new Date(Math.max(...cases.map((c) => (c.state === 'archived' && c.archivedAt ? plus(c.archivedAt, rules.caseDays) : plus(now, rules.caseDays)).getTime())));
  } else {
    cls = 'unlinked';
    until = plus(record.capturedAt, rules.unlinkedDays);
  }
  if (record.current && record.current > until) until = record.current;
  return { class: cls, retainUntil: until, held: record.itemHold || cases.some((c) => c.legalHold) };
}

export type PurgeRefusal = 'held' | 'not-expired' | 'in-unarchived-case' | 'already-purged';

/** Why a record may not be deleted now, or null when a purge may delete it. */
export function purgeRefusal(
  record: { retainUntil: Date; held: boolean; purged: boolean },
  cases: readonly CaseRetentionFacts[],
  now: Date,
): PurgeRefusal | null {
  if (record.purged) return 'already-purged';
  if (record.held) return 'held';
  if (cases.some((c) => c.state !== 'archived')) return 'in-unarchived-case';
  if (record.retainUntil > now) return 'not-expired';
  return null;
}

/** Days left of the 30 after a case's action ended, the deadline's own day counted (negative: days past due). */
export function archiveDaysLeft(endedAt: Date, now: Date, limitDays = 30): number {
  return Math.ceil((endedAt.getTime() + limitDays * DAY_MS - now.getTime()) / DAY_MS);
}
