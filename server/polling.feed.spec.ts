import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PollingFeed } from './polling.feed.ts';

describe('PollingFeed', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('loads once per interval for all watchers, and stops when the last leaves', async () => {
    let n = 0;
    const load = vi.fn(async () => ++n);
    const feed = new PollingFeed(load, 1000);
    const a: Array<number | Error> = [];
    const b: Array<number | Error> = [];
    const offA = feed.subscribe((v) => a.push(v));
    const offB = feed.subscribe((v) => b.push(v));
    await vi.advanceTimersByTimeAsync(3000);
    expect(load).toHaveBeenCalledTimes(3);
    expect(a).toEqual([1, 2, 3]);
    expect(b).toEqual([1, 2, 3]);
    offA();
    offB();
    expect(feed.watchers).toBe(0);
    await vi.advanceTimersByTimeAsync(5000);
    expect(load).toHaveBeenCalledTimes(3);
  });

  it('hands a failed load to the watchers as an Error, and never runs two loads at once', async () => {
    let release: (() => void) | null = null;
    let calls = 0;
    const feed = new PollingFeed(async () => {
      calls += 1;
      if (calls === 1) await new Promise<void>((r) => (release = r));
      throw new Error('database gone');
    }, 100);
    const got: Array<unknown> = [];
    feed.subscribe((v) => got.push(v));
    await vi.advanceTimersByTimeAsync(500);
    expect(calls).toBe(1);
    release!();
    await vi.advanceTimersByTimeAsync(100);
    expect(got.length).toBeGreaterThan(0);
    expect(got[0]).toBeInstanceOf(Error);
    expect((got[0] as Error).message).toBe('database gone');
  });

  it('keeps serving the others when one watcher throws', async () => {
    const feed = new PollingFeed(async () => 'board', 100);
    const seen: string[] = [];
    feed.subscribe(() => {
      throw new Error('socket gone');
    });
    feed.subscribe((v) => seen.push(v as string));
    await vi.advanceTimersByTimeAsync(100);
    expect(seen).toEqual(['board']);
  });
});
