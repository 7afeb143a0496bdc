import { describe, expect, it } from 'vitest';
import { parseCsv } from '../test/support/csv-reader.ts';
import { csvField, toCsv } from './report-csv.ts';

describe('csvField', () => {
  it.each([
    ['004512', '004512'],
    ['某区, 某路', '"某区, 某路"'],
    ['说 "是"', '"说 ""是"""'],
    ['两\r\n行', '"两\r\n行"'],
    ['一\n行', '"一\n行"'],
    ['=HYPERLINK("x")', '"\'=HYPERLINK(""x"")"'],
    ['-1', "'-1"],
    ['@SUM', "'@SUM"],
    ['', ''],
  ])('writes the text %j as %j', (cell, field) => {
    expect(csvField(cell)).toBe(field);
  });

  it('writes numbers bare, an absent figure as an empty field, and refuses NaN', () => {
    expect(csvField(12)).toBe('12');
    expect(csvField(72.7)).toBe('72.7');
    expect(csvField(-3)).toBe('-3');
    expect(csvField(null)).toBe('');
    expect(() => csvField(Number.NaN)).toThrow(RangeError);
  });
});

describe('toCsv', () => {
  it('starts with the byte-order mark and ends every record with CRLF', () => {
    const text = toCsv([['分组', '证据数'], ['甲', 3], ['合计', 3]]);
    expect(text).toBe('\uFEFF分组,证据数\r\n甲,3\r\n合计,3\r\n');
    expect(Buffer.from(text, 'utf8').subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
  });

  it('reads back to the same fields, quotes, commas and line breaks included', () => {
    const rows = [['a,b', 'say "x"', 'two\r\nlines', ''], ['1', '2', '3', '4']];
    expect(parseCsv(toCsv(rows))).toEqual(rows);
    expect(() => parseCsv('"open')).toThrow(SyntaxError);
  });
});
