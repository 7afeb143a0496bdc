import { describe, expect, it } from 'vitest';
import { assessTransfer, deadlineFor, zonedLocalToUtc } from './transfer-deadline.ts';

const shanghai = (local: string) => zonedLocalToUtc(local, 'Asia/Shanghai');

describe('deadlineFor', () => {
  it('hours: 24 hours after the recording ended', () => {
    const end = new Date('2026-11-20T10:00:00Z');
    expect(deadlineFor(end, { kind: 'hours', hours: 24 }).toISOString()).toBe('2026-11-21T10:00:00.000Z');
  });

  it('working days: skips the weekend', () => {
    // Friday 2026-11-20 18:00 Beijing → Monday and Tuesday count → end of Tuesday 24th.
    const deadline = deadlineFor(shanghai('2026-11-20T18:00:00'), { kind: 'workingDays', days: 2, holidays: [], workingWeekends: [], timeZone: 'Asia/Shanghai' });
    expect(deadline.toISOString()).toBe(shanghai('2026-11-25T00:00:00').toISOString());
  });

  it('working days: skips holidays and counts make-up weekend days', () => {
    // National Day 2026: Oct 1–7 off, Saturday Oct 10 is a make-up working day.
    const holidays = ['2026-10-01', '2026-10-02', '2026-10-05', '2026-10-06', '2026-10-07'];
    const deadline = deadlineFor(shanghai('2026-09-30T20:00:00'), {
      kind: 'workingDays',
      days: 2,
      holidays,
      workingWeekends: ['2026-10-10'],
      timeZone: 'Asia/Shanghai',
    });
    // Oct 8 (Thu) and Oct 9 (Fri) are the two working days.
    expect(deadline.toISOString()).toBe(shanghai('2026-10-10T00:00:00').toISOString());
    const withMakeUp = deadlineFor(shanghai('2026-10-09T09:00:00'), {
      kind: 'workingDays',
      days: 1,
      holidays,
      workingWeekends: ['2026-10-10'],
      timeZone: 'Asia/Shanghai',
    });
    expect(withMakeUp.toISOString()).toBe(shanghai('2026-10-11T00:00:00').toISOString());
  });
});

describe('assessTransfer', () => {
  it('flags a late transfer and reports the delay', () => {
    const end = new Date('2026-11-20T10:00:00Z');
    const result = assessTransfer(end, new Date('2026-11-21T10:00:01Z'), { kind: 'hours', hours: 24 });
    expect(result).toEqual({ deadline: new Date('2026-11-21T10:00:00Z'), delaySeconds: 86401, late: true });
  });

  it('is on time at the deadline itself', () => {
    const end = new Date('2026-11-20T10:00:00Z');
    expect(assessTransfer(end, new Date('2026-11-21T10:00:00Z'), { kind: 'hours', hours: 24 }).late).toBe(false);
  });
});

describe('zonedLocalToUtc', () => {
  it('converts Beijing wall time', () => {
    expect(zonedLocalToUtc('2026-11-21T09:30:00', 'Asia/Shanghai').toISOString()).toBe('2026-11-21T01:30:00.000Z');
  });
});
