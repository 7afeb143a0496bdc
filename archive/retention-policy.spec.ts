import { describe, expect, it } from 'vitest';
import type { CaseRetentionFacts } from '../storage/retention.repository.ts';
import { archiveDaysLeft, decideRetention, PERMANENT_DAYS, purgeRefusal } from './retention-policy.ts';

const DAY = 86_400_000;
const NOW = new Date('2026-12-07T00:00:00Z');
const CAPTURED = new Date('2026-11-21T01:00:00Z');
const RULES = { unlinkedDays: 730, caseDays: 10950 };
const at = (from: Date, days: number) => new Date(from.getTime() + days * DAY);
const kase = (over: Partial<CaseRetentionFacts> = {}): CaseRetentionFacts => ({ caseNumber: 'YB-1', state: 'open', archivedAt: null, major: false, legalHold: false, ...over });
const fresh = { capturedAt: CAPTURED, itemHold: false, current: null };

describe('decideRetention', () => {
  it('keeps a record in no case unlinkedDays from its capture', () => {
    expect(decideRetention(fresh, [], RULES, NOW)).toEqual({ class: 'unlinked', retainUntil: at(CAPTURED, 730), held: false });
  });

  it('keeps a record of an open case caseDays from now, and of an archived one caseDays from archiving', () => {
    expect(decideRetention(fresh, [kase()], RULES, NOW)).toMatchObject({ class: 'case', retainUntil: at(NOW, 10950) });
    const archivedAt = new Date('2026-12-01T00:00:00Z');
    expect(decideRetention(fresh, [kase({ state: 'archived', archivedAt })], RULES, NOW)).toMatchObject({ class: 'case', retainUntil: at(archivedAt, 10950) });
    // Of two cases the later date wins.
    expect(decideRetention(fresh, [kase({ state: 'archived', archivedAt }), kase({ caseNumber: 'YB-2' })], RULES, NOW).retainUntil).toEqual(at(NOW, 10950));
  });

  it('keeps the records of a major case permanently', () => {
    expect(decideRetention(fresh, [kase({ major: true })], RULES, NOW)).toMatchObject({ class: 'major-case', retainUntil: at(NOW, PERMANENT_DAYS) });
  });

  it('never moves a date earlier: an unlinked record keeps the date its case gave it', () => {
    const current = at(NOW, 10950);
    expect(decideRetention({ ...fresh, current }, [], RULES, NOW)).toEqual({ class: 'unlinked', retainUntil: current, held: false });
  });

  it('is held by its own hold or by a hold on any of its cases', () => {
    expect(decideRetention({ ...fresh, itemHold: true }, [], RULES, NOW).held).toBe(true);
    expect(decideRetention(fresh, [kase(), kase({ caseNumber: 'YB-2', legalHold: true })], RULES, NOW).held).toBe(true);
  });
});

describe('purgeRefusal', () => {
  const expired = { retainUntil: at(NOW, -1), held: false, purged: false };
  it('lets an expired, unheld record of no or only archived cases go', () => {
    expect(purgeRefusal(expired, [], NOW)).toBeNull();
    expect(purgeRefusal(expired, [kase({ state: 'archived', archivedAt: at(NOW, -20000) })], NOW)).toBeNull();
  });
  it.each([
    ['held', { ...expired, held: true }, []],
    ['not-expired', { ...expired, retainUntil: at(NOW, 1) }, []],
    ['in-unarchived-case', expired, [kase({ state: 'ended' })]],
    ['already-purged', { ...expired, purged: true }, []],
  ] as const)('refuses: %s', (why, record, cases) => expect(purgeRefusal(record, cases, NOW)).toBe(why));
});

describe('archiveDaysLeft', () => {
  it('counts down the 30 days from the end of the action, then the days past due', () => {
    expect(archiveDaysLeft(at(NOW, -3), NOW)).toBe(27);
    expect(archiveDaysLeft(at(NOW, -30), NOW)).toBe(0);
    expect(archiveDaysLeft(at(NOW, -40), NOW)).toBe(-10);
    expect(archiveDaysLeft(at(NOW, -2.5), NOW)).toBe(28);
  });
});
