import { describe, expect, it } from 'vitest';
import { linkFromDocking, type LinkedFields } from './docking-link.ts';

const item = (over: Partial<LinkedFields> = {}): LinkedFields => ({
  caseNumbers: ['YB2026-001'],
  subject: '某药房',
  place: '某市某区',
  flags: [],
  ...over,
});

describe('what a second docking of the same bytes adds to the item', () => {
  it('adds a new case number, keeping the ones it had', () => {
    const link = linkFromDocking(item(), { caseNumbers: ['YB2026-002'] });
    expect(link).toEqual({
      patch: { caseNumbers: ['YB2026-001', 'YB2026-002'], flags: [] },
      before: { caseNumbers: ['YB2026-001'] },
      after: { caseNumbers: ['YB2026-001', 'YB2026-002'] },
      conflicts: {},
    });
  });

  it('fills missing fields and clears the flags that said they were missing', () => {
    const bare = item({ caseNumbers: [], subject: null, place: null, flags: ['missing-case', 'missing-subject', 'missing-place', 'unregistered'] });
    const link = linkFromDocking(bare, { caseNumbers: ['C-7', 'C-7'], subject: '药品经营许可', place: '某县' });
    expect(link?.patch).toEqual({ caseNumbers: ['C-7'], subject: '药品经营许可', place: '某县', flags: ['unregistered'] });
    expect(link?.before).toEqual({ caseNumbers: [], subject: null, place: null });
  });

  it('never writes over a subject or place the item has: it keeps the docking\'s in the conflicts and flags the item', () => {
    const link = linkFromDocking(item(), { caseNumbers: ['YB2026-001'], subject: '另一药房', place: '某市某区' });
    expect(link).toEqual({
      patch: { flags: ['tag-conflict'] },
      before: {},
      after: {},
      conflicts: { subject: { item: '某药房', docking: '另一药房' } },
    });
  });

  it('adds nothing when the docking says nothing new', () => {
    expect(linkFromDocking(item(), { caseNumbers: ['YB2026-001'], subject: '某药房', officerId: '004512' })).toBeNull();
    expect(linkFromDocking(item(), {})).toBeNull();
    expect(linkFromDocking(item({ subject: null }), { subject: '   ' })).toBeNull();
  });
});
