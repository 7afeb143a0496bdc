import { readFileSync } from 'node:fs';
import PDFDocument from 'pdfkit';
import { paginate } from '../archive/report-layout.ts';

/**
 * What evidock's PDFs (the statistics report, the custody report in a bag) share of pdfkit:
 * the embedded CJK font, table rows, the head and foot stamped on every page once the page
 * count is known, and the finished bytes.
 */

export type Doc = PDFKit.PDFDocument;

/** A4 portrait, in points. */
export const A4 = { width: 595.28, height: 841.89 } as const;

/** The font could not be read or parsed: the PDF cannot carry Chinese text without it. */
export class ReportFontError extends Error {
  constructor(
    readonly file: string,
    readonly detail: string,
  ) {
    super(`cannot use the font ${file}: ${detail}`);
    this.name = 'ReportFontError';
  }
}

export interface ReportFont {
  file: string;
  /** PostScript name of the face within a collection (.ttc). */
  face: string;
}

const FONT = 'cjk';

/**
 * A document with the CJK font embedded (subset, so the text prints anywhere and stays
 * searchable) and pages buffered for stampPages. A font that cannot be used is a
 * ReportFontError before anything is written.
 */
export function openPdfDocument(options: PDFKit.PDFDocumentOptions, font: ReportFont): Doc {
  const fontData = loadFont(font);
  const doc = new PDFDocument({ ...options, bufferPages: true });
  try {
    doc.registerFont(FONT, fontData, isCollection(fontData) ? font.face : undefined);
    doc.font(FONT);
  } catch (error) {
    doc.end();
    throw new ReportFontError(font.file, (error as Error).message);
  }
  return doc;
}

function loadFont(font: ReportFont): Buffer {
  try {
    return readFileSync(font.file);
  } catch (error) {
    throw new ReportFontError(font.file, (error as NodeJS.ErrnoException).code ?? (error as Error).message);
  }
}

function isCollection(data: Buffer): boolean {
  return data.subarray(0, 4).toString('latin1') === 'ttcf';
}

export interface RowStyle {
  fill: string | null;
  size: number;
  pad: number;
  align?: ReadonlyArray<'left' | 'right'>;
  /** Per cell; default dark grey. */
  colors?: ReadonlyArray<string | null>;
  /** Cut text that does not fit the row's height (a fixed-height table) instead of letting it run on. */
  ellipsis?: boolean;
}

/** One table row of `height` at (left, top), a bordered cell per text; returns the row's bottom. */
export function drawTableRow(doc: Doc, texts: readonly string[], widths: readonly number[], left: number, top: number, height: number, style: RowStyle): number {
  let x = left;
  texts.forEach((text, i) => {
    const width = widths[i]!;
    if (style.fill) doc.rect(x, top, width, height).fill(style.fill);
    doc.rect(x, top, width, height).lineWidth(0.5).stroke('#999');
    doc
      .fillColor(style.colors?.[i] ?? '#222')
      .fontSize(style.size)
      .text(text, x + style.pad, top + style.pad, { width: width - 2 * style.pad, align: style.align?.[i] ?? 'left', height: height - style.pad, ellipsis: style.ellipsis ?? false });
    x += width;
  });
  return top + height;
}

/** The height a row needs for its texts to wrap within their cells. */
export function rowHeight(doc: Doc, texts: readonly string[], widths: readonly number[], size: number, pad: number): number {
  doc.fontSize(size);
  return Math.max(...texts.map((text, i) => doc.heightOfString(text, { width: widths[i]! - 2 * pad }))) + 2 * pad;
}

export interface PageStamp {
  left: number;
  width: number;
  pageHeight: number;
  head: readonly [left: string, right: string];
  foot(page: number, pages: number): string;
}

/** Head (two texts over a rule) and foot of every page, once the number of pages is known. Returns the page count. */
export function stampPages(doc: Doc, stamp: PageStamp): number {
  const { start, count } = doc.bufferedPageRange();
  for (let i = start; i < start + count; i++) {
    doc.switchToPage(i);
    // Writing into the margins would otherwise make pdfkit start a new page.
    const margins = doc.page.margins;
    doc.page.margins = { top: 0, bottom: 0, left: margins.left, right: margins.right };
    doc.fontSize(8).fillColor('#444');
    doc.text(stamp.head[0], stamp.left, 24, { width: stamp.width / 2, lineBreak: false, ellipsis: true });
    doc.text(stamp.head[1], stamp.left + stamp.width / 2, 24, { width: stamp.width / 2, align: 'right', lineBreak: false, ellipsis: true });
    doc.moveTo(stamp.left, 38).lineTo(stamp.left + stamp.width, 38).lineWidth(0.75).stroke('#2f5d8a');
    doc.text(stamp.foot(i - start + 1, count), stamp.left, stamp.pageHeight - 26, { width: stamp.width, align: 'center', lineBreak: false });
    doc.page.margins = margins;
  }
  return count;
}

/** Ends the document and returns its bytes. */
export async function pdfBytes(doc: Doc): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  doc.end();
  return done;
}

/** Where a document's body goes on each page, and the size of its table text. */
export interface BodyFrame {
  left: number;
  width: number;
  top: number;
  bottom: number;
  size: number;
  pad: number;
}

export interface TableRow {
  texts: string[];
  colors?: Array<string | null>;
}

function nextPage(doc: Doc, frame: BodyFrame): number {
  doc.addPage();
  return frame.top;
}

/** A heading, on a new page when there would be no room for a few lines under it; returns where the body goes on. */
export function drawHeading(doc: Doc, frame: BodyFrame, top: number, text: string, sub: string | null): number {
  let y = top;
  if (y + 60 > frame.bottom) y = nextPage(doc, frame);
  doc.fillColor('#222').fontSize(11).text(text, frame.left, y, { width: frame.width });
  if (sub) doc.fillColor('#555').fontSize(frame.size).text(sub, frame.left, doc.y + 1, { width: frame.width });
  return doc.y + 4;
}

/** Rows measured, then placed over pages (the header, if any, repeated at the top of each); returns the table's bottom. */
export function drawPagedTable(doc: Doc, frame: BodyFrame, top: number, header: string[] | null, rows: readonly TableRow[], widths: readonly number[]): number {
  const headerHeight = header ? rowHeight(doc, header, widths, frame.size, frame.pad) : 0;
  const heights = rows.map((r) => rowHeight(doc, r.texts, widths, frame.size, frame.pad));
  const pages = paginate(heights, frame.bottom - top - headerHeight, frame.bottom - frame.top - headerHeight);
  let y = top;
  pages.forEach((indices, p) => {
    if (p > 0) y = nextPage(doc, frame);
    if (indices.length === 0) return;
    if (header) y = drawTableRow(doc, header, widths, frame.left, y, headerHeight, { fill: '#e8eef5', size: frame.size, pad: frame.pad });
    for (const i of indices) y = drawTableRow(doc, rows[i]!.texts, widths, frame.left, y, heights[i]!, { fill: null, size: frame.size, pad: frame.pad, colors: rows[i]!.colors });
  });
  return y;
}
