import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import type { Chart, Shape } from '../archive/report-chart.ts';
import { fitColumnWidths, paginate, unbreakablePieces } from '../archive/report-layout.ts';
import { moduleLogger } from '../config/logger.ts';
import { t } from './i18n.ts';
import { A4, drawTableRow, openPdfDocument, stampPages, type Doc, type ReportFont } from './pdf-document.adapter.ts';
import type { ReportCell, ReportDocument } from './report-document.formatter.ts';

export { ReportFontError } from './pdf-document.adapter.ts';

const log = moduleLogger('report-pdf');

const LANDSCAPE = { width: A4.height, height: A4.width };
const MARGIN = { top: 54, bottom: 40, left: 34, right: 34 };
const BODY_WIDTH = LANDSCAPE.width - MARGIN.left - MARGIN.right;
const BODY_BOTTOM = LANDSCAPE.height - MARGIN.bottom;
const CELL_PAD = 3;
const ROW_HEIGHT = 14;
const TABLE_SIZE = 8;
const BLOCK_GAP = 12;

/**
 * Writes the report as an A4 landscape PDF: the bureau and period at the head of every page,
 * page numbers at the foot, the table (its header repeated on each page it runs over) and the
 * charts drawn as vectors from the same shapes as the HTML page's SVG. The CJK font is
 * embedded (subset), so the text prints anywhere and stays searchable. The file appears only
 * when complete: it is written beside and renamed.
 */
export async function writeReportPdf(report: ReportDocument, file: string, font: ReportFont): Promise<void> {
  const doc = openPdfDocument(
    {
      size: 'A4',
      layout: 'landscape',
      margins: MARGIN,
      lang: report.locale,
      displayTitle: true,
      info: { Title: `${report.title} ${report.period}`, Author: report.bureau, Subject: report.grouping, Creator: 'evidock' },
    },
    font,
  );
  const part = `${file}.part`;
  const out = createWriteStream(part, { mode: 0o640 });
  doc.pipe(out);
  try {
    layOut(doc, report);
    const pages = stampPages(doc, {
      left: MARGIN.left,
      width: BODY_WIDTH,
      pageHeight: LANDSCAPE.height,
      head: [report.bureau, report.period],
      foot: (page, count) => t('report.doc.page', { page, pages: count }, report.locale),
    });
    doc.end();
    await finished(out);
    await rename(part, file);
    log.info({ file, pages, rows: report.rows.length }, 'report PDF written');
  } catch (error) {
    out.destroy();
    await rm(part, { force: true });
    throw error;
  }
}

function layOut(doc: Doc, report: ReportDocument): void {
  let y = MARGIN.top;
  doc.fillColor('#222').fontSize(16).text(report.bureau, MARGIN.left, y, { width: BODY_WIDTH });
  y = doc.y + 2;
  doc.fontSize(13).text(report.title, MARGIN.left, y, { width: BODY_WIDTH });
  y = doc.y + 2;
  doc.fontSize(9).fillColor('#444').text(report.period, MARGIN.left, y, { width: BODY_WIDTH });
  doc.text(`${report.grouping} · ${report.generated}`, MARGIN.left, doc.y + 1, { width: BODY_WIDTH });
  y = doc.y + BLOCK_GAP;

  if (report.empty) {
    doc.fontSize(11).fillColor('#222').text(report.empty, MARGIN.left, y, { width: BODY_WIDTH });
    drawNotes(doc, report.notes, doc.y + BLOCK_GAP);
    return;
  }
  // The notes say how the table counts: they go right under it, the charts after.
  y = drawNotes(doc, report.notes, drawTable(doc, report, y) + 4);
  drawCharts(doc, report, y + BLOCK_GAP);
}

function drawNotes(doc: Doc, notes: readonly string[], top: number): number {
  let y = top;
  doc.fontSize(7.5).fillColor('#555');
  for (const note of notes) {
    if (y + doc.heightOfString(note, { width: BODY_WIDTH }) > BODY_BOTTOM) y = newPage(doc);
    doc.text(note, MARGIN.left, y, { width: BODY_WIDTH });
    y = doc.y + 2;
  }
  return y;
}

function newPage(doc: Doc): number {
  doc.addPage();
  return MARGIN.top;
}

/** Column widths from the widest cell of each column, fitted to the page. */
function columnWidths(doc: Doc, report: ReportDocument): number[] {
  doc.fontSize(TABLE_SIZE);
  const rows = [...report.rows, report.total];
  const natural = report.columns.map((column, i) =>
    Math.max(
      // A header may wrap onto two lines, but not inside a word.
      doc.widthOfString(column.header) / 2,
      ...unbreakablePieces(column.header).map((piece) => doc.widthOfString(piece)),
      ...rows.map((r) => doc.widthOfString(r[i]!.text)),
    ) + 2 * CELL_PAD,
  );
  return fitColumnWidths(natural, BODY_WIDTH, 28);
}

function drawTable(doc: Doc, report: ReportDocument, top: number): number {
  const widths = columnWidths(doc, report);
  doc.fontSize(TABLE_SIZE);
  const headerHeight = Math.max(...report.columns.map((c, i) => doc.heightOfString(c.header, { width: widths[i]! - 2 * CELL_PAD }))) + 2 * CELL_PAD;
  const rows = [...report.rows, report.total];
  // Each page of the table repeats the header: it takes that much of every page's room.
  const pages = paginate(rows.map(() => ROW_HEIGHT), BODY_BOTTOM - top - headerHeight, BODY_BOTTOM - MARGIN.top - headerHeight);
  let y = top;
  pages.forEach((indices, p) => {
    if (p > 0) y = newPage(doc);
    if (indices.length === 0) return;
    y = drawRow(doc, report.columns.map((c) => ({ text: c.header, value: c.header })), widths, y, headerHeight, { fill: '#e8eef5', numeric: report.columns.map(() => false) });
    for (const i of indices) {
      const total = i === rows.length - 1;
      y = drawRow(doc, rows[i]!, widths, y, ROW_HEIGHT, { fill: total ? '#f3f3f3' : null, numeric: report.columns.map((c) => c.numeric) });
    }
  });
  return y;
}

function drawRow(doc: Doc, cells: ReportCell[], widths: number[], top: number, height: number, style: { fill: string | null; numeric: boolean[] }): number {
  const align = style.numeric.map((n): 'left' | 'right' => (n ? 'right' : 'left'));
  return drawTableRow(doc, cells.map((c) => c.text), widths, MARGIN.left, top, height, { fill: style.fill, size: TABLE_SIZE, pad: CELL_PAD, align, ellipsis: true });
}

function drawCharts(doc: Doc, report: ReportDocument, top: number): void {
  const scale = (chart: Chart) => Math.min(1, BODY_WIDTH / chart.width);
  const heights = report.charts.map((c) => c.height * scale(c));
  const pages = paginate(heights, BODY_BOTTOM - top, BODY_BOTTOM - MARGIN.top, BLOCK_GAP);
  let y = top;
  pages.forEach((indices, p) => {
    if (p > 0) y = newPage(doc);
    for (const [n, i] of indices.entries()) {
      if (n > 0) y += BLOCK_GAP;
      drawChart(doc, report.charts[i]!, MARGIN.left, y, scale(report.charts[i]!));
      y += heights[i]!;
    }
  });
  if (report.chartNote) {
    doc.fontSize(7.5).fillColor('#555');
    if (y + 12 > BODY_BOTTOM) y = newPage(doc);
    doc.text(report.chartNote, MARGIN.left, y + 2, { width: BODY_WIDTH });
  }
}

/** The chart's shapes as PDF vector operations, in the chart's coordinates moved to (x, y). */
function drawChart(doc: Doc, chart: Chart, x: number, y: number, scale: number): void {
  doc.save();
  doc.translate(x, y).scale(scale);
  for (const shape of chart.shapes) drawShape(doc, shape);
  doc.restore();
}

function drawShape(doc: Doc, s: Shape): void {
  switch (s.kind) {
    case 'rect':
      if (s.height > 0) doc.rect(s.x, s.y, s.width, s.height).fill(s.fill);
      return;
    case 'line':
      doc.moveTo(s.x1, s.y1).lineTo(s.x2, s.y2).lineWidth(s.role === 'axis' ? 1 : 0.5).stroke(s.stroke);
      return;
    case 'polyline': {
      const [first, ...rest] = s.points;
      if (!first) return;
      doc.moveTo(first[0], first[1]);
      for (const [px, py] of rest) doc.lineTo(px, py);
      doc.lineWidth(1.5).stroke(s.stroke);
      return;
    }
    case 'circle':
      doc.circle(s.cx, s.cy, s.r).fill(s.fill);
      return;
    case 'text': {
      doc.fontSize(s.size).fillColor(s.fill);
      const width = doc.widthOfString(s.text);
      const left = s.anchor === 'start' ? s.x : s.anchor === 'middle' ? s.x - width / 2 : s.x - width;
      doc.text(s.text, left, s.y, { lineBreak: false, baseline: 'alphabetic' });
      return;
    }
  }
}
