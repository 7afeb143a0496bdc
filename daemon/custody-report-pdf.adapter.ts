import { custodyReportModel, DOCUMENT_HEADERS, MISSING, SECTION, signatureText, TIMELINE_HEADERS, type CustodyReportInput, type ReportField } from '../archive/custody-report.ts';
import { A4, drawHeading, drawPagedTable, openPdfDocument, pdfBytes, stampPages, type BodyFrame, type Doc, type ReportFont, type TableRow } from './pdf-document.adapter.ts';

const MARGIN = { top: 54, bottom: 44, left: 40, right: 40 };
const BODY_WIDTH = A4.width - MARGIN.left - MARGIN.right;
const BODY_BOTTOM = A4.height - MARGIN.bottom;
const SIZE = 8;
const PAD = 3;
const GAP = 10;
const LABEL_WIDTH = 150;
const OK = '#064';
const BAD = '#a00';

type Row = TableRow;

const FRAME: BodyFrame = { left: MARGIN.left, width: BODY_WIDTH, top: MARGIN.top, bottom: BODY_BOTTOM, size: SIZE, pad: PAD };

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

/** A labelled field as a two-cell row; a value nobody filled in in red. */
export function fieldRow(f: ReportField): Row {
  return { texts: [f.label, f.value ?? MISSING], colors: [null, f.value === null ? BAD : null] };
}

function heading(doc: Doc, top: number, text: string, id: string | null): number {
  return drawHeading(doc, FRAME, top, text, id);
}

function drawTable(doc: Doc, top: number, header: string[] | null, rows: readonly Row[], widths: readonly number[]): number {
  return drawPagedTable(doc, FRAME, top, header, rows, widths);
}
