import type { EvidenceRow } from '../storage/catalog.repository.ts';
import { FIELD_FLAGS } from '../workers/docking-link.ts';

/**
 * Linking an item to a case and taking it off one. Pure: what the item's case numbers and
 * flags become, or null when nothing changes (re-sending the same link is a no-op).
 */

export const CASE_NUMBER = /^[\p{L}\p{N}][\p{L}\p{N}〔〕()（）\[\]【】._-]{0,127}$/u;

export interface CasePatch {
  caseNumbers: string[];
  flags: string[];
}

export function linkPatch(item: Pick<EvidenceRow, 'caseNumbers' | 'flags'>, caseNumber: string): CasePatch | null {
  if (item.caseNumbers.includes(caseNumber)) return null;
  return { caseNumbers: [...item.caseNumbers, caseNumber], flags: item.flags.filter((f) => f !== FIELD_FLAGS.caseNumbers) };
}

/** Taking off the last case number makes the item miss one again. */
export function unlinkPatch(item: Pick<EvidenceRow, 'caseNumbers' | 'flags'>, caseNumber: string): CasePatch | null {
  if (!item.caseNumbers.includes(caseNumber)) return null;
  const caseNumbers = item.caseNumbers.filter((c) => c !== caseNumber);
  const flags = caseNumbers.length === 0 && !item.flags.includes(FIELD_FLAGS.caseNumbers) ? [...item.flags, FIELD_FLAGS.caseNumbers] : item.flags;
  return { caseNumbers, flags };
}

/** The window an action suggests recordings in: its own, widened by the margin on both sides. */
export function actionWindow(a: { startsAt: Date; endsAt: Date }, marginMinutes: number): { from: Date; to: Date } {
  const margin = marginMinutes * 60_000;
  return { from: new Date(a.startsAt.getTime() - margin), to: new Date(a.endsAt.getTime() + margin) };
}

export function actionProblems(a: { officerIds: string[]; startsAt: Date; endsAt: Date }): string[] {
  const problems: string[] = [];
  if (a.officerIds.length === 0) problems.push('officerIds: at least one officer');
  if (Number.isNaN(a.startsAt.getTime()) || Number.isNaN(a.endsAt.getTime())) problems.push('startsAt, endsAt: ISO 8601 times');
  else if (a.endsAt <= a.startsAt) problems.push('endsAt: must be after startsAt');
  else if (a.endsAt.getTime() - a.startsAt.getTime() > 7 * 86_400_000) problems.push('an action lasts at most 7 days');
  return problems;
}
