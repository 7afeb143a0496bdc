import type { DeadlineConfig } from '../config/config.schema.ts';

/**
 * The transfer deadline (存储时限): by when a recording must be in verified storage.
 * City rule: 24 hours after recording ends. Province rule: 2 working days, counted in the
 * bureau's time zone with the official holiday calendar and its make-up working weekends.
 */

export interface TransferAssessment {
  deadline: Date;
  delaySeconds: number;
  late: boolean;
}

export function assessTransfer(recordingEnd: Date, verifiedAt: Date, rule: DeadlineConfig): TransferAssessment {
  const deadline = deadlineFor(recordingEnd, rule);
  return {
    deadline,
    delaySeconds: Math.max(0, Math.round((verifiedAt.getTime() - recordingEnd.getTime()) / 1000)),
    late: verifiedAt.getTime() > deadline.getTime(),
  };
}

export function deadlineFor(recordingEnd: Date, rule: DeadlineConfig): Date {
  if (rule.kind === 'hours') return new Date(recordingEnd.getTime() + rule.hours * 3600_000);
  const holidays = new Set(rule.holidays);
  const workingWeekends = new Set(rule.workingWeekends);
  const isWorkingDay = (ymd: string): boolean => {
    if (holidays.has(ymd)) return false;
    if (workingWeekends.has(ymd)) return true;
    const weekday = new Date(`${ymd}T12:00:00Z`).getUTCDay();
    return weekday !== 0 && weekday !== 6;
  };
  // "Within N working days after recording": the N working days that follow the day the
  // recording ended; the deadline is the end (24:00 local) of the Nth.
  let day = localDate(recordingEnd, rule.timeZone);
  let counted = 0;
  while (counted < rule.days) {
    day = addDays(day, 1);
    if (isWorkingDay(day)) counted++;
  }
  return zonedMidnightToUtc(addDays(day, 1), rule.timeZone);
}

/** YYYY-MM-DD of an instant in a time zone. */
export function localDate(instant: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(instant);
  const get = (type: string) => parts.find((p) => p.type === type)!.value;
  return `${get('year')}-${get('month')}-${get('day')}`;
}

function addDays(ymd: string, days: number): string {
  const d = new Date(`${ymd}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** The UTC instant of 00:00 local time on `ymd` in `timeZone`. */
function zonedMidnightToUtc(ymd: string, timeZone: string): Date {
  return zonedLocalToUtc(`${ymd}T00:00:00`, timeZone);
}

/**
 * Converts a wall-clock time in a zone (e.g. a recorder's file-name time) to UTC.
 * Uses the zone's offset at that instant; correct for fixed zones like Asia/Shanghai and
 * for all but the skipped/repeated hour of DST zones.
 */
export function zonedLocalToUtc(localIso: string, timeZone: string): Date {
  const asUtc = new Date(`${localIso}Z`);
  const offset = zoneOffsetMs(asUtc, timeZone);
  const guess = new Date(asUtc.getTime() - offset);
  const corrected = zoneOffsetMs(guess, timeZone);
  return corrected === offset ? guess : new Date(asUtc.getTime() - corrected);
}

function zoneOffsetMs(instant: Date, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(instant);
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return wall - Math.floor(instant.getTime() / 1000) * 1000;
}
