import { describe, expect, it } from 'vitest';
import { MAX_RECIPIENT_LENGTH, printableLine, watermarkFor, WatermarkRecipientError } from './watermark-text.ts';

describe('watermarkFor', () => {
  it('names the case, the recipient and the bureau-local day in both languages', () => {
    // 17:30 UTC is already the next day in Beijing.
    expect(watermarkFor('某律师事务所 张律师', 'YB-2026-7', new Date('2026-12-06T17:30:00Z'), 'Asia/Shanghai')).toEqual({
      recipient: '某律师事务所 张律师',
      caseNumber: 'YB-2026-7',
      date: '2026-12-07',
      lines: ['复制件 · 案件 YB-2026-7 · 提供给 某律师事务所 张律师 · 2026-12-07', 'COPY · case YB-2026-7 · for 某律师事务所 张律师 · 2026-12-07'],
    });
  });

  it('keeps a hostile name on one visible line: no newline, bidi override or zero-width character survives', () => {
    expect(printableLine('  Eve\n\r\tMallory\u202Eevil\u200B\u2028x  ')).toBe('Eve Mallory evil x');
    const w = watermarkFor("O'Brien: 50% \\ %{localtime}\nfake line", 'YB-1', new Date('2026-12-07T00:00:00Z'), 'UTC');
    expect(w.recipient).toBe("O'Brien: 50% \\ %{localtime} fake line");
    expect(w.lines.every((l) => !/[\n\r]/.test(l))).toBe(true);
  });

  it('refuses an empty or overlong recipient with a clear error', () => {
    expect(() => watermarkFor(' \n\u200B ', 'YB-1', new Date(), 'UTC')).toThrow(new WatermarkRecipientError('empty'));
    expect(() => watermarkFor('名'.repeat(MAX_RECIPIENT_LENGTH + 1), 'YB-1', new Date(), 'UTC')).toThrow(WatermarkRecipientError);
    expect(watermarkFor('名'.repeat(MAX_RECIPIENT_LENGTH), 'YB-1', new Date(), 'UTC').recipient).toHaveLength(MAX_RECIPIENT_LENGTH);
  });
});
