import { paginate } from '../archive/report-layout.ts';
import { custodyReportModel, DOCUMENT_HEADERS, MISSING, SECTION, signatureText, TIMELINE_HEADERS, type CustodyReportInput, type ReportField } from '../archive/custody-report.ts';
import { A4, drawTableRow, openPdfDocument, pdfBytes, rowHeight, stampPages, type Doc, type ReportFont } from './pdf-document.adapter.ts';

const MARGIN = { top: 54, bottom: 44, left: 40, right: 40 };
const BODY_WIDTH = A4.width - MARGIN.left - MARGIN.right;
const BODY_BOTTOM = A4.height - MARGIN.bottom;
const SIZE = 8;
const PAD = 3;
const GAP = 10;
const LABEL_WIDTH = 150;
const OK = '#064';
const BAD = '#a00';

interface Row {
  texts: string[];
  colors?: Array<string | null>;
}

/**
 * The bag's custody report as an A4 PDF, from the same content as custody-report.html: the
 * five fields of every record, its timeline and each signature's verification, in Chinese
 * and English, with the CJK font embedded so it prints and is searchable anywhere. Tables run
 * over pages with their header repeated; a record's heading is never left alone at a page's foot.
 */
export async function custodyReportPdf(report: CustodyReportInput, font: ReportFont): Promise<Buffer> {
  const m = custodyReportModel(report);
  const doc = openPdfDocument(
    {
      size: 'A4',
      margins: MARGIN,
      lang: 'zh-CN',
      displayTitle: true,
      info: { Title: `${m.title[0]} / ${m.title[1]}`, Subject: m.caseNumber, Creator: 'evidock' },
    },
    font,
  );
  let y = MARGIN.top;
  doc.fillColor('#222').fontSize(14).text(m.title[0], MARGIN.left, y, { width: BODY_WIDTH });
  doc.fontSize(12).text(m.title[1], MARGIN.left, doc.y + 2, { width: BODY_WIDTH });
  y = doc.y + GAP;
  const allValid = m.signatures.valid === m.signatures.total;
  y = drawTable(doc, y, null, [...m.summary.map(fieldRow), { texts: ['签名核验 Signatures', m.signatures.text], colors: [null, allValid ? OK : BAD] }], [LABEL_WIDTH, BODY_WIDTH - LABEL_WIDTH]);
  doc.fontSize(SIZE).fillColor('#444');
  for (const line of m.note) {
    doc.text(line, MARGIN.left, y + 4, { width: BODY_WIDTH });
    y = doc.y;
  }

  const timelineWidths = [24, 112, 150, 96, BODY_WIDTH - 24 - 112 - 150 - 96];
  for (const item of m.items) {
    y = heading(doc, y + GAP, item.heading, item.evidenceId);
    y = drawTable(doc, y, null, item.fields.map(fieldRow), [LABEL_WIDTH, BODY_WIDTH - LABEL_WIDTH]);
    y = drawTable(
      doc,
      y + 4,
      [...TIMELINE_HEADERS],
      item.timeline.map((e) => ({ texts: [String(e.seq), e.at, `${e.event}\n${e.type}`, e.actor, `${signatureText(e.ok)}\n${e.keyId}`], colors: [null, null, null, null, e.ok ? OK : BAD] })),
      timelineWidths,
    );
  }
  if (m.documents.length > 0) {
    y = heading(doc, y + GAP, SECTION.documents, null);
    y = drawTable(doc, y, [...DOCUMENT_HEADERS], m.documents.map((d) => ({ texts: [d.name, d.file, d.sha256, d.uploaded] })), [110, 140, 150, BODY_WIDTH - 400]);
  }
  y = heading(doc, y + GAP, SECTION.keys, null);
  y = drawTable(doc, y, null, m.keys.map((k) => ({ texts: [k.keyId, k.workstationId] })), [LABEL_WIDTH, BODY_WIDTH - LABEL_WIDTH]);

  stampPages(doc, {
    left: MARGIN.left,
    width: BODY_WIDTH,
    pageHeight: A4.height,
    head: [`${m.title[0]}`, m.caseNumber],
    foot: (page, pages) => `第 ${page} 页，共 ${pages} 页 · page ${page} of ${pages}`,
  });
  return pdfBytes(doc);
}

function fieldRow(f: ReportField): Row {
  return { texts: [f.label, f.value ?? MISSING], colors: [null, f.value === null ? BAD : null] };
}

/** A heading, on a new page when there would be no room for a few lines under it. */
function heading(doc: Doc, top: number, text: string, id: string | null): number {
  let y = top;
  if (y + 60 > BODY_BOTTOM) y = newPage(doc);
  doc.fillColor('#222').fontSize(11).text(text, MARGIN.left, y, { width: BODY_WIDTH });
  if (id) doc.fillColor('#555').fontSize(SIZE).text(id, MARGIN.left, doc.y + 1, { width: BODY_WIDTH });
  return doc.y + 4;
}

function newPage(doc: Doc): number {
  doc.addPage();
  return MARGIN.top;
}

/** Rows measured, then placed over pages (the header, if any, repeated at the top of each). */
function drawTable(doc: Doc, top: number, header: string[] | null, rows: readonly Row[], widths: readonly number[]): number {
  const headerHeight = header ? rowHeight(doc, header, widths, SIZE, PAD) : 0;
  const heights = rows.map((r) => rowHeight(doc, r.texts, widths, SIZE, PAD));
  const pages = paginate(heights, BODY_BOTTOM - top - headerHeight, BODY_BOTTOM - MARGIN.top - headerHeight);
  let y = top;
  pages.forEach((indices, p) => {
    if (p > 0) y = newPage(doc);
    if (indices.length === 0) return;
    if (header) y = drawTableRow(doc, header, widths, MARGIN.left, y, headerHeight, { fill: '#e8eef5', size: SIZE, pad: PAD });
    for (const i of indices) y = drawTableRow(doc, rows[i]!.texts, widths, MARGIN.left, y, heights[i]!, { fill: null, size: SIZE, pad: PAD, colors: rows[i]!.colors });
  });
  return y;
}
