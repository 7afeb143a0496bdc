/**
 * Missing-file detection. A recorder numbers its recordings; what it holds now plus what
 * earlier dockings handed over should be an unbroken run. A hole means a recording was
 * deleted on the device or lost, and the bureau must be able to see that.
 */

export interface SequencedRecording {
  deviceId: string | null;
  sequence: number | null;
  start: Date | null;
  end: Date | null;
  name: string;
}

export type Gap =
  | { kind: 'sequence'; deviceId: string | null; missing: number[]; truncated: boolean; between: [number, number] }
  | { kind: 'sequence-reset'; deviceId: string | null; from: number; to: number }
  | { kind: 'count-mismatch'; deviceSays: number; listed: number }
  | { kind: 'overlap'; first: string; second: string; seconds: number };

/** Jumps larger than this are a counter reset or rollover, not that many lost files. */
const RESET_THRESHOLD = 1000;
const MAX_LISTED_MISSING = 50;
/** Clock jitter tolerated between one segment's end and the next's start. */
const OVERLAP_TOLERANCE_SECONDS = 2;

export function detectGaps(input: {
  current: readonly SequencedRecording[];
  prior: readonly SequencedRecording[];
  deviceFileCount: number | null;
}): Gap[] {
  const gaps: Gap[] = [];
  const byDevice = new Map<string | null, Set<number>>();
  for (const r of [...input.prior, ...input.current]) {
    if (r.sequence === null) continue;
    const set = byDevice.get(r.deviceId) ?? new Set<number>();
    set.add(r.sequence);
    byDevice.set(r.deviceId, set);
  }
  for (const [deviceId, set] of byDevice) {
    const sorted = [...set].sort((a, b) => a - b);
    for (let i = 1; i < sorted.length; i++) {
      const a = sorted[i - 1]!;
      const b = sorted[i]!;
      if (b - a <= 1) continue;
      if (b - a > RESET_THRESHOLD) {
        gaps.push({ kind: 'sequence-reset', deviceId, from: a, to: b });
        continue;
      }
      const missing: number[] = [];
      for (let n = a + 1; n < b && missing.length < MAX_LISTED_MISSING; n++) missing.push(n);
      gaps.push({ kind: 'sequence', deviceId, missing, truncated: b - a - 1 > missing.length, between: [a, b] });
    }
  }

  if (input.deviceFileCount !== null && input.deviceFileCount !== input.current.length) {
    gaps.push({ kind: 'count-mismatch', deviceSays: input.deviceFileCount, listed: input.current.length });
  }

  const timed = input.current.filter((r) => r.start && r.end).sort((a, b) => a.start!.getTime() - b.start!.getTime());
  for (let i = 1; i < timed.length; i++) {
    const prev = timed[i - 1]!;
    const next = timed[i]!;
    const overlap = (prev.end!.getTime() - next.start!.getTime()) / 1000;
    if (overlap > OVERLAP_TOLERANCE_SECONDS) gaps.push({ kind: 'overlap', first: prev.name, second: next.name, seconds: Math.round(overlap) });
  }
  return gaps;
}
