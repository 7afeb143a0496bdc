import { expect } from 'vitest';
import type { CustodyEvent } from '../../storage/custody-chain.ts';

/**
 * Asserts that `items` holds every one of `expected`, in that order (other items may sit
 * between them). Unlike comparing indexOf() results, a missing item fails: indexOf gives -1,
 * which is "before" everything.
 */
export function expectInOrder(items: readonly string[], expected: readonly string[]): void {
  const found: string[] = [];
  let from = 0;
  for (const want of expected) {
    const at = items.indexOf(want, from);
    if (at < 0) break;
    found.push(want);
    from = at + 1;
  }
  expect(found, `expected ${JSON.stringify(expected)} in this order within ${JSON.stringify(items)}`).toEqual(expected);
}

/**
 * A file's events show it cleared from its recorder exactly once, and only after a VERIFIED
 * event of the bytes it acquired (the same SHA-256), as `evidock verify` requires too.
 */
export function expectClearedOnceAfterVerified(events: readonly CustodyEvent[], sha256: string): void {
  const clears = events.filter((e) => e.type === 'RECORDER_CLEARED');
  expect(clears, 'exactly one RECORDER_CLEARED').toHaveLength(1);
  expect(clears[0]!.details.sha256).toBe(sha256);
  const verifiedBefore = events.filter((e) => e.type === 'VERIFIED' && e.seq < clears[0]!.seq && e.details.sha256 === sha256);
  expect(verifiedBefore.length, `a VERIFIED of ${sha256} before the clear (#${clears[0]!.seq})`).toBeGreaterThanOrEqual(1);
}
