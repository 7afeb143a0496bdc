import { describe, expect, it } from 'vitest';
import { fitColumnWidths, paginate, unbreakablePieces } from './report-layout.ts';

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe('fitColumnWidths', () => {
  it('shares spare room out evenly so the table spans the page', () => {
    expect(fitColumnWidths([100, 50, 50], 260)).toEqual([120, 70, 70]);
  });

  it('shrinks too wide columns in proportion, above a floor', () => {
    const widths = fitColumnWidths([300, 100, 100], 250, 40);
    expect(sum(widths)).toBeCloseTo(250);
    // 500 − 3 × 40 = 380 above the floor shrinks to 250 − 120 = 130.
    expect(widths[0]).toBeCloseTo(40 + 260 * (130 / 380));
    expect(widths[1]).toBeCloseTo(40 + 60 * (130 / 380));
    expect(widths[1]).toBeCloseTo(widths[2]!);
  });

  it('keeps narrow columns at the floor and never goes below it', () => {
    const widths = fitColumnWidths([400, 20, 20], 200, 30);
    expect(widths.slice(1)).toEqual([30, 30]);
    expect(sum(widths)).toBeCloseTo(200);
  });

  it('splits the width evenly when even the floors do not fit', () => {
    expect(fitColumnWidths([100, 100], 50, 40)).toEqual([25, 25]);
    expect(fitColumnWidths([], 100)).toEqual([]);
  });
});

describe('paginate', () => {
  it('fills each page and moves what does not fit to the next', () => {
    // 100 left on the first page, 250 on the others: 40 + 40 fit, the third does not.
    expect(paginate([40, 40, 40, 40, 40, 40, 40, 40], 100, 250)).toEqual([[0, 1], [2, 3, 4, 5, 6, 7]]);
    expect(paginate([40, 40, 40, 40, 40, 40, 40], 100, 130)).toEqual([[0, 1], [2, 3, 4], [5, 6]]);
  });

  it('counts the gap between blocks but not above the first of a page', () => {
    expect(paginate([100, 100, 100], 210, 210, 10)).toEqual([[0, 1], [2]]);
    expect(paginate([100, 100, 100], 209, 209, 10)).toEqual([[0], [1], [2]]);
  });

  it('starts on a fresh page when the rest of the first is too small, and lets an oversized block stand alone', () => {
    expect(paginate([200, 50], 120, 300)).toEqual([[], [0, 1]]);
    expect(paginate([500, 500, 10], 300, 300)).toEqual([[0], [1], [2]]);
    expect(paginate([500, 10], 200, 300)).toEqual([[], [0], [1]]);
    expect(paginate([], 100, 100)).toEqual([[]]);
  });
});

describe('unbreakablePieces', () => {
  it('keeps Latin words whole and lets Chinese break between any two characters', () => {
    expect(unbreakablePieces('unregistered')).toEqual(['unregistered']);
    expect(unbreakablePieces('on time (%)')).toEqual(['on', 'time', '(%)']);
    expect(unbreakablePieces('缺证明对象')).toEqual(['缺', '证', '明', '对', '象']);
    expect(unbreakablePieces('按时率(%)')).toEqual(['按', '时', '率', '(%)']);
    expect(unbreakablePieces('')).toEqual([]);
  });
});
