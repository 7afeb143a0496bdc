import { describe, expect, it } from 'vitest';
import { detectGaps, type SequencedRecording } from './gap-detection.ts';

const rec = (sequence: number | null, name = `f${sequence}`, start?: string, end?: string): SequencedRecording => ({
  deviceId: 'ZFY1',
  sequence,
  name,
  start: start ? new Date(start) : null,
  end: end ? new Date(end) : null,
});

describe('detectGaps', () => {
  it('finds nothing in an unbroken run across dockings', () => {
    expect(detectGaps({ prior: [rec(1), rec(2)], current: [rec(3), rec(4)], deviceFileCount: 2 })).toEqual([]);
  });

  it('lists missing sequence numbers, including between dockings', () => {
    const gaps = detectGaps({ prior: [rec(1), rec(2)], current: [rec(5), rec(6), rec(8)], deviceFileCount: null });
    expect(gaps).toEqual([
      { kind: 'sequence', deviceId: 'ZFY1', missing: [3, 4], truncated: false, between: [2, 5] },
      { kind: 'sequence', deviceId: 'ZFY1', missing: [7], truncated: false, between: [6, 8] },
    ]);
  });

  it('treats a huge jump as a counter reset, not thousands of lost files', () => {
    expect(detectGaps({ prior: [rec(9998)], current: [rec(1)], deviceFileCount: null })).toEqual([
      { kind: 'sequence-reset', deviceId: 'ZFY1', from: 1, to: 9998 },
    ]);
  });

  it('reports when the device counts more files than are listed', () => {
    expect(detectGaps({ prior: [], current: [rec(1), rec(2)], deviceFileCount: 3 })).toEqual([{ kind: 'count-mismatch', deviceSays: 3, listed: 2 }]);
  });

  it('flags overlapping recordings (a clock problem), tolerating jitter', () => {
    const gaps = detectGaps({
      prior: [],
      current: [
        rec(1, 'a', '2026-11-21T01:00:00Z', '2026-11-21T01:10:00Z'),
        rec(2, 'b', '2026-11-21T01:09:59Z', '2026-11-21T01:20:00Z'),
        rec(3, 'c', '2026-11-21T01:15:00Z', '2026-11-21T01:30:00Z'),
      ],
      deviceFileCount: null,
    });
    expect(gaps).toEqual([{ kind: 'overlap', first: 'b', second: 'c', seconds: 300 }]);
  });
});
