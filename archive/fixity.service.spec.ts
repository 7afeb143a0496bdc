import { describe, expect, it } from 'vitest';
import { configSchema } from '../config/config.schema.ts';
import type { CustodyEvent, CustodyEventInput } from '../storage/custody-chain.ts';
import type { FixityClaim, FixityCycleRow, FixityRepository, FixityResult } from '../storage/fixity.repository.ts';
import type { Queryable } from '../storage/postgres.database.ts';
import { StrictScope } from '../workers/media.fakes.ts';
import { JobStatus } from '../workers/job.types.ts';
import { batchEventDetails, decideCycle, expectedEnd, fitBatch, FixityService, throttleStep, type FixityDeps } from './fixity.service.ts';
import type { ItemCheck, ReadPace } from './verify.service.ts';

const DAY = 24 * 3600_000;
const T0 = new Date('2026-12-01T00:00:00Z');

function cycle(over: Partial<FixityCycleRow> = {}): FixityCycleRow {
  return { id: 1, startedAt: T0, dueAt: new Date(T0.getTime() + 30 * DAY), totalItems: 10, totalBytes: 1000, finishedAt: null, ledgerOk: null, ledgerEvents: null, ledgerProblems: null, ...over };
}

describe('decideCycle', () => {
  it('works on the open cycle whatever the dates', () => {
    const open = cycle({ dueAt: new Date(T0.getTime() - DAY) });
    expect(decideCycle(open, open, new Date(T0.getTime() + 90 * DAY), 30)).toEqual({ kind: 'work', cycle: open });
  });

  it('starts the first cycle at once, due cycleDays later', () => {
    expect(decideCycle(null, null, T0, 30)).toEqual({ kind: 'start', dueAt: new Date(T0.getTime() + 30 * DAY) });
  });

  it('waits until cycleDays after the last cycle began, then starts the next', () => {
    const last = cycle({ finishedAt: new Date(T0.getTime() + 3 * DAY) });
    expect(decideCycle(null, last, new Date(T0.getTime() + 10 * DAY), 30)).toEqual({ kind: 'wait', until: new Date(T0.getTime() + 30 * DAY) });
    const at = new Date(T0.getTime() + 30 * DAY);
    expect(decideCycle(null, last, at, 30)).toEqual({ kind: 'start', dueAt: new Date(at.getTime() + 30 * DAY) });
  });

  it('starts no cycle over an empty catalog, so the first items are checked in the first cycle after they arrive', () => {
    expect(decideCycle(null, null, T0, 30, true)).toEqual({ kind: 'wait', until: T0 });
    const open = cycle();
    expect(decideCycle(open, null, T0, 30, true)).toEqual({ kind: 'work', cycle: open });
  });

  it('follows a cycle that ran past its due date at once', () => {
    const late = cycle({ finishedAt: new Date(T0.getTime() + 45 * DAY) });
    const now = new Date(T0.getTime() + 45 * DAY + 1000);
    expect(decideCycle(null, late, now, 30)).toEqual({ kind: 'start', dueAt: new Date(now.getTime() + 30 * DAY) });
  });
});

describe('fitBatch', () => {
  const claims = (...sizes: number[]): FixityClaim[] => sizes.map((size, i) => ({ evidenceId: `e${i}`, size }));

  it('takes claims in order while they fit the byte budget', () => {
    expect(fitBatch(claims(40, 50, 20, 1), 100).map((c) => c.evidenceId)).toEqual(['e0', 'e1']);
    expect(fitBatch(claims(40, 60, 1), 100).map((c) => c.evidenceId)).toEqual(['e0', 'e1']);
  });

  it('takes one item larger than the budget alone, so no item is left out of every cycle', () => {
    expect(fitBatch(claims(500, 1), 100).map((c) => c.evidenceId)).toEqual(['e0']);
  });

  it('takes nothing from nothing', () => {
    expect(fitBatch([], 100)).toEqual([]);
  });
});

describe('throttleStep', () => {
  it('waits so that the window stays at the byte rate', () => {
    const a = throttleStep(null, 500, 0, 1000);
    expect(a).toEqual({ window: { startMs: 0, bytes: 500 }, waitMs: 500 });
    // 1500 bytes at 1000 B/s are due at 1.5 s; 200 ms have passed.
    const b = throttleStep(a.window, 1000, 200, 1000);
    expect(b).toEqual({ window: { startMs: 0, bytes: 1500 }, waitMs: 1300 });
    // Reading slower than the rate: no wait.
    expect(throttleStep(b.window, 100, 1700, 1000).waitMs).toBe(0);
  });

  it('starts a new window after idling, so idle time is not spent as a burst', () => {
    const idle = throttleStep({ startMs: 0, bytes: 1000 }, 4000, 60_000, 1000);
    expect(idle).toEqual({ window: { startMs: 60_000, bytes: 4000 }, waitMs: 4000 });
    // Within a second of its budget the window carries on.
    expect(throttleStep({ startMs: 0, bytes: 1000 }, 1000, 1900, 1000)).toEqual({ window: { startMs: 0, bytes: 2000 }, waitMs: 100 });
  });

  it('never waits when unthrottled', () => {
    expect(throttleStep({ startMs: 0, bytes: 10 ** 12 }, 10 ** 9, 1, 0)).toEqual({ window: null, waitMs: 0 });
  });
});

describe('expectedEnd', () => {
  it('extrapolates the bytes done so far', () => {
    const c = cycle({ totalBytes: 1000 });
    expect(expectedEnd(c, { checkedItems: 3, checkedBytes: 250, failedItems: 0, remainingItems: 7 }, new Date(T0.getTime() + DAY))).toEqual(new Date(T0.getTime() + 4 * DAY));
  });

  it('counts items when the cycle has no bytes, is unknown before anything is done, and now when nothing remains', () => {
    const empty = cycle({ totalBytes: 0, totalItems: 4 });
    expect(expectedEnd(empty, { checkedItems: 1, checkedBytes: 0, failedItems: 0, remainingItems: 3 }, new Date(T0.getTime() + DAY))).toEqual(new Date(T0.getTime() + 4 * DAY));
    expect(expectedEnd(cycle(), { checkedItems: 0, checkedBytes: 0, failedItems: 0, remainingItems: 10 }, T0)).toBeNull();
    const now = new Date(T0.getTime() + 2 * DAY);
    expect(expectedEnd(cycle(), { checkedItems: 10, checkedBytes: 1000, failedItems: 0, remainingItems: 0 }, now)).toEqual(now);
  });
});

describe('batchEventDetails', () => {
  it('names every item with the hash its stored bytes had, and counts the failures', () => {
    const results: FixityResult[] = [
      { evidenceId: 'a', ok: true, sha256: 'aa', problems: [] },
      { evidenceId: 'b', ok: false, sha256: null, problems: ['stored original missing: x'] },
    ];
    expect(batchEventDetails(7, results, 123)).toEqual({
      cycle: 7,
      count: 2,
      failed: 1,
      bytes: 123,
      items: [
        { evidenceId: 'a', sha256: 'aa', ok: true },
        { evidenceId: 'b', sha256: null, ok: false },
      ],
    });
  });
});

/** A FixityService over strict fakes: the open cycle, the items to claim and what each check finds. */
function rig(options: { open: FixityCycleRow | null; last?: FixityCycleRow | null; claims: FixityClaim[]; checks: Record<string, Partial<ItemCheck> | Error>; stopAfter?: string; bytesPerSecond?: number }) {
  const scope = new StrictScope();
  const config = configSchema.parse({ workstationId: 'ws-1', dataDir: '/tmp/x', fixity: { batchMaxItems: 10, batchMaxMiB: 1, bytesPerSecond: options.bytesPerSecond ?? 0 } });
  const stopping = new AbortController();
  const appended: CustodyEventInput[] = [];
  const recorded: Array<{ cycleId: number; batchSeq: number; results: readonly FixityResult[] }> = [];
  const published: Array<{ event: string; unitId: string | null; data: Record<string, unknown> }> = [];
  const mirrored: number[] = [];
  const dispatched: string[] = [];
  const sleeps: number[] = [];
  const tx = scope.strict<Queryable>('tx');
  let claimed = false;
  let seq = 100;
  const fixity = scope.strict<FixityRepository>('fixity', {
    openCycle: async () => options.open,
    lastCycle: async () => options.last ?? null,
    catalogEmpty: async () => false,
    cycleTransaction: async <T>(work: (q: Queryable) => Promise<T>) => work(tx),
    // The second claim of a tick finds nothing: the rig's items are all taken by the first.
    claim: async (_tx: Queryable, cycleId: number, limit: number) => {
      expect(cycleId).toBe(options.open?.id);
      expect(limit).toBe(10);
      if (claimed) return [];
      claimed = true;
      return options.claims;
    },
    record: async (_tx: Queryable, cycleId: number, batchSeq: number, results: readonly FixityResult[]) => void recorded.push({ cycleId, batchSeq, results }),
    // finishIfDone: another worker still holds items.
    progress: async () => ({ checkedItems: 0, checkedBytes: 0, failedItems: 0, remainingItems: 1 }),
  });
  const deps: FixityDeps = {
    config,
    db: scope.strict('db', { transaction: async <T>(work: (q: Queryable) => Promise<T>) => work(tx) }),
    fixity,
    catalog: scope.strict('catalog', { getEvidence: async (id: string) => ({ id, sha256: `sha-of-${id}`, unitId: 'U1' }) }),
    verify: scope.strict('verify', {
      checkItem: async (id: string, o: { rehash: boolean; pace?: ReadPace }) => {
        expect(o.rehash).toBe(true);
        const found = options.checks[id] ?? scope.fail(`check of ${id}`);
        if (found instanceof Error) throw found;
        await o.pace?.(found.bytesRead ?? 0);
        if (options.stopAfter === id) stopping.abort();
        return { evidenceId: id, ok: true, rehashed: true, problems: [], missing: false, storedSha256: `sha-of-${id}`, bytesRead: 0, ...found };
      },
    }),
    ledger: scope.strict('ledger', {
      append: async (_tx: Queryable, input: CustodyEventInput) => {
        appended.push(input);
        return { ...input, seq: ++seq, at: '2026-12-01T00:00:00.000Z' } as unknown as CustodyEvent;
      },
      mirror: async (events: CustodyEvent[]) => void mirrored.push(...events.map((e) => e.seq)),
    }),
    webhooks: scope.strict('webhooks', {
      publish: async (_tx: Queryable, event: string, unitId: string | null, data: Record<string, unknown>) => {
        published.push({ event, unitId, data });
        return [`delivery-${published.length}`];
      },
      dispatch: async (ids: string[]) => void dispatched.push(...ids),
    }),
    now: () => T0,
    sleep: async (ms: number) => void sleeps.push(ms),
  };
  return { scope, service: new FixityService(deps), stopping, appended, recorded, published, mirrored, dispatched, sleeps };
}

describe('FixityService.handleFixity', () => {
  it('commits a batch as one signed event, then alerts each failure on its item and to subscribers', async () => {
    const r = rig({
      open: cycle({ id: 3 }),
      claims: [{ evidenceId: 'a', size: 10 }, { evidenceId: 'b', size: 10 }, { evidenceId: 'c', size: 10 }],
      checks: {
        a: { bytesRead: 10 },
        b: { ok: false, missing: true, storedSha256: null, problems: ['stored original missing: k'] },
        c: { bytesRead: 10 },
      },
    });
    expect(await r.service.handleFixity({ scheduler: 'fixity-cycle' }, r.stopping.signal)).toBe(JobStatus.Success);
    expect(r.appended.map((e) => [e.type, e.evidenceId ?? null])).toEqual([
      ['FIXITY_BATCH_CHECKED', null],
      ['FIXITY_FAILED', 'b'],
    ]);
    expect(r.appended[0]!.details).toMatchObject({ cycle: 3, count: 3, failed: 1, bytes: 20 });
    expect(r.appended[1]!.details).toMatchObject({ cycle: 3, batchSeq: 101, missing: true, expectedSha256: 'sha-of-b', storedSha256: null });
    expect(r.recorded).toEqual([{ cycleId: 3, batchSeq: 101, results: expect.any(Array) }]);
    expect(r.recorded[0]!.results.map((x) => [x.evidenceId, x.ok])).toEqual([['a', true], ['b', false], ['c', true]]);
    expect(r.published).toEqual([{ event: 'evidence.fixity_failed', unitId: 'U1', data: expect.objectContaining({ evidenceId: 'b', seq: 102, missing: true }) }]);
    expect(r.mirrored).toEqual([101, 102]);
    expect(r.dispatched).toEqual(['delivery-1']);
    expect(r.scope.unexpected).toEqual([]);
  });

  it('stops at an item boundary: records what it checked and goes back to the queue', async () => {
    const r = rig({
      open: cycle(),
      claims: [{ evidenceId: 'a', size: 10 }, { evidenceId: 'b', size: 10 }],
      checks: { a: {}, b: {} },
      stopAfter: 'a',
    });
    expect(await r.service.handleFixity({ scheduler: 'fixity-cycle' }, r.stopping.signal)).toBe(JobStatus.Stopped);
    expect(r.recorded.map((b) => b.results.map((x) => x.evidenceId))).toEqual([['a']]);
    expect(r.appended.map((e) => e.type)).toEqual(['FIXITY_BATCH_CHECKED']);
    expect(r.scope.unexpected).toEqual([]);
  });

  it('records an object the store refuses to read as a failed check, but leaves an outage to a retry of the whole batch', async () => {
    const refused = Object.assign(new Error('object store read t/sha256/x failed: InvalidObjectState'), { name: 'ObjectStoreRequestError' });
    const r = rig({ open: cycle(), claims: [{ evidenceId: 'a', size: 10 }, { evidenceId: 'b', size: 10 }], checks: { a: refused, b: {} } });
    expect(await r.service.handleFixity({ scheduler: 'fixity-cycle' }, r.stopping.signal)).toBe(JobStatus.Success);
    expect(r.recorded[0]!.results).toEqual([
      { evidenceId: 'a', ok: false, sha256: null, problems: ['stored original could not be read back: object store read t/sha256/x failed: InvalidObjectState'], missing: false },
      { evidenceId: 'b', ok: true, sha256: 'sha-of-b', problems: [], missing: false },
    ]);
    expect(r.appended.map((e) => [e.type, e.evidenceId ?? null])).toEqual([['FIXITY_BATCH_CHECKED', null], ['FIXITY_FAILED', 'a']]);

    const outage = Object.assign(new Error('object store unavailable'), { name: 'ObjectStoreUnavailableError' });
    const down = rig({ open: cycle(), claims: [{ evidenceId: 'a', size: 10 }], checks: { a: outage } });
    await expect(down.service.handleFixity({ scheduler: 'fixity-cycle' }, down.stopping.signal)).rejects.toThrow('object store unavailable');
    expect(down.appended).toEqual([]);
    expect(down.recorded).toEqual([]);
    expect(r.scope.unexpected).toEqual([]);
    expect(down.scope.unexpected).toEqual([]);
  });

  it('holds the byte rate between chunks', async () => {
    const r = rig({ open: cycle(), claims: [{ evidenceId: 'a', size: 3000 }], checks: { a: { bytesRead: 3000 } }, bytesPerSecond: 1000 });
    await r.service.handleFixity({ scheduler: 'fixity-cycle' }, r.stopping.signal);
    expect(r.sleeps).toEqual([3000]);
    expect(r.scope.unexpected).toEqual([]);
  });

  it('does nothing before the next cycle is due', async () => {
    const r = rig({ open: null, last: cycle({ finishedAt: T0 }), claims: [], checks: {} });
    expect(await r.service.handleFixity({ scheduler: 'fixity-cycle' }, r.stopping.signal)).toBe(JobStatus.Skipped);
    expect(r.appended).toEqual([]);
    expect(r.scope.unexpected).toEqual([]);
  });
});
