/**
 * CSV as RFC 4180 has it (comma, CRLF, a field quoted when it holds a comma, quote or line
 * break, quotes doubled) in UTF-8 with a byte-order mark: without the mark, Excel on a Chinese
 * Windows reads the file as GBK and every Chinese header turns to mojibake.
 */

export type CsvCell = string | number | null;

const BOM = '\uFEFF';

/**
 * One field. Numbers are written bare so a spreadsheet sums them; text that a spreadsheet
 * would take for a formula (= + - @ first) gets a leading apostrophe, since group names come
 * from recorder and officer registrations that anyone with a recorder can influence.
 */
export function csvField(cell: CsvCell): string {
  if (cell === null) return '';
  if (typeof cell === 'number') {
    if (!Number.isFinite(cell)) throw new RangeError(`not a finite number for CSV: ${cell}`);
    return String(cell);
  }
  const text = /^[=+\-@\t\r]/.test(cell) ? `'${cell}` : cell;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(rows: ReadonlyArray<ReadonlyArray<CsvCell>>): string {
  return BOM + rows.map((row) => `${row.map(csvField).join(',')}\r\n`).join('');
}
