import { describe, expect, it } from 'vitest';
import { answerRange } from './byte-range.ts';

describe('byte ranges', () => {
  const etag = '"abc"';
  it('answers open, closed and suffix ranges within the size', () => {
    expect(answerRange('bytes=0-', undefined, etag, 1000)).toEqual({ kind: 'partial', start: 0, end: 999 });
    expect(answerRange('bytes=100-199', undefined, etag, 1000)).toEqual({ kind: 'partial', start: 100, end: 199 });
    expect(answerRange('bytes=900-5000', undefined, etag, 1000)).toEqual({ kind: 'partial', start: 900, end: 999 });
    expect(answerRange('bytes=-100', undefined, etag, 1000)).toEqual({ kind: 'partial', start: 900, end: 999 });
    expect(answerRange('bytes=-5000', undefined, etag, 1000)).toEqual({ kind: 'partial', start: 0, end: 999 });
  });

  it('refuses ranges past the end or malformed, and sends the whole for none, several, or a stale If-Range', () => {
    expect(answerRange('bytes=1000-', undefined, etag, 1000)).toEqual({ kind: 'unsatisfiable' });
    expect(answerRange('bytes=5-1', undefined, etag, 1000)).toEqual({ kind: 'unsatisfiable' });
    expect(answerRange('bytes=-0', undefined, etag, 1000)).toEqual({ kind: 'unsatisfiable' });
    expect(answerRange('items=0-1', undefined, etag, 1000)).toEqual({ kind: 'unsatisfiable' });
    expect(answerRange(undefined, undefined, etag, 1000)).toEqual({ kind: 'whole' });
    expect(answerRange('bytes=0-1,5-6', undefined, etag, 1000)).toEqual({ kind: 'whole' });
    expect(answerRange('bytes=0-1', '"other"', etag, 1000)).toEqual({ kind: 'whole' });
    expect(answerRange('bytes=0-1', etag, etag, 1000)).toEqual({ kind: 'partial', start: 0, end: 1 });
  });
});
