import { describe, expect, it } from 'vitest';
import { CASE_NUMBER, actionProblems, actionWindow, linkPatch, unlinkPatch } from './case-links.ts';

describe('case links', () => {
  it('adds a case number once and clears missing-case; the same link again changes nothing', () => {
    const item = { caseNumbers: [], flags: ['missing-case', 'late'] };
    const patch = linkPatch(item, '深医保罚〔2026〕12号');
    expect(patch).toEqual({ caseNumbers: ['深医保罚〔2026〕12号'], flags: ['late'] });
    expect(linkPatch({ caseNumbers: patch!.caseNumbers, flags: patch!.flags }, '深医保罚〔2026〕12号')).toBeNull();
  });

  it('takes a case number off, and flags missing-case when none is left', () => {
    expect(unlinkPatch({ caseNumbers: ['A', 'B'], flags: [] }, 'A')).toEqual({ caseNumbers: ['B'], flags: [] });
    expect(unlinkPatch({ caseNumbers: ['A'], flags: ['late'] }, 'A')).toEqual({ caseNumbers: [], flags: ['late', 'missing-case'] });
    expect(unlinkPatch({ caseNumbers: ['B'], flags: [] }, 'A')).toBeNull();
  });

  it('accepts the case numbers bureaus write and refuses paths and control characters', () => {
    for (const ok of ['YB-2026-001', '深医保罚〔2026〕12号', 'A1']) expect(CASE_NUMBER.test(ok)).toBe(true);
    for (const bad of ['', '../x', 'a/b', 'a\nb', ' lead', 'x'.repeat(129)]) expect(CASE_NUMBER.test(bad)).toBe(false);
  });

  it('widens an action by the margin and checks its window', () => {
    const w = actionWindow({ startsAt: new Date('2026-12-01T09:00:00Z'), endsAt: new Date('2026-12-01T10:00:00Z') }, 30);
    expect(w).toEqual({ from: new Date('2026-12-01T08:30:00Z'), to: new Date('2026-12-01T10:30:00Z') });
    expect(actionProblems({ officerIds: [], startsAt: new Date('2026-12-01T10:00:00Z'), endsAt: new Date('2026-12-01T09:00:00Z') })).toEqual([
      'officerIds: at least one officer',
      'endsAt: must be after startsAt',
    ]);
  });
});
