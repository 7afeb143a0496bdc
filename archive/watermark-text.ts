/**
 * What is burned into a copy's picture for a party granted one (e.g. the other side in a
 * hearing): whose copy it is, of which case, made when, in Chinese and English. A leaked copy
 * then names its recipient on every frame.
 */

export const MAX_RECIPIENT_LENGTH = 100;

/** The recipient cannot be printed: no retry helps, the operator must give another name. */
export class WatermarkRecipientError extends Error {
  constructor(detail: string) {
    super(`watermark recipient: ${detail}`);
    this.name = 'WatermarkRecipientError';
  }
}

/** A proxy could not be watermarked (it does not decode): exporting again will not change that. */
export class WatermarkError extends Error {
  constructor(detail: string, options?: { cause?: unknown }) {
    super(`watermarked copy could not be made: ${detail}`, options);
    this.name = 'WatermarkError';
  }
}

export interface Watermark {
  recipient: string;
  caseNumber: string;
  /** The day of the export in the bureau's time zone (YYYY-MM-DD). */
  date: string;
  /** The lines as burned in. */
  lines: string[];
}

/**
 * One line of printable text: control and format characters (newlines, bidi overrides that
 * would reorder the name on screen, zero-width characters that hide part of it) become spaces.
 */
export function printableLine(text: string): string {
  return text
    .normalize('NFC')
    .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, ' ')
    .replace(/\s+/gu, ' ')
    .trim();
}

export function watermarkFor(recipient: string, caseNumber: string, at: Date, timeZone: string): Watermark {
  const who = printableLine(recipient);
  if (who === '') throw new WatermarkRecipientError('empty');
  if ([...who].length > MAX_RECIPIENT_LENGTH) throw new WatermarkRecipientError(`longer than ${MAX_RECIPIENT_LENGTH} characters`);
  const theCase = printableLine(caseNumber);
  // en-CA formats a date as YYYY-MM-DD.
  const date = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
  return {
    recipient: who,
    caseNumber: theCase,
    date,
    lines: [`复制件 · 案件 ${theCase} · 提供给 ${who} · ${date}`, `COPY · case ${theCase} · for ${who} · ${date}`],
  };
}
