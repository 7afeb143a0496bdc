import { shareReceiptModel, type ShareReceiptInput } from '../archive/share-receipt.ts';
import { fieldRow } from './custody-report-pdf.adapter.ts';
import { A4, drawHeading, drawPagedTable, openPdfDocument, pdfBytes, stampPages, type BodyFrame, type ReportFont } from './pdf-document.adapter.ts';

const MARGIN = { top: 54, bottom: 44, left: 40, right: 40 };
const FRAME: BodyFrame = { left: MARGIN.left, width: A4.width - MARGIN.left - MARGIN.right, top: MARGIN.top, bottom: A4.height - MARGIN.bottom, size: 8, pad: 3 };
const LABEL_WIDTH = 170;

/**
 * A share's receipt as an A4 PDF, from the same model as the HTML page: the share, the
 * approval, each item with its original's and its copy's SHA-256; the CJK font embedded, so
 * its text reads back (pdftotext) and prints anywhere.
 */
export async function shareReceiptPdf(receipt: ShareReceiptInput, font: ReportFont): Promise<Buffer> {
  const m = shareReceiptModel(receipt);
  const doc = openPdfDocument(
    { size: 'A4', margins: MARGIN, lang: 'zh-CN', displayTitle: true, info: { Title: `${m.title[0]} / ${m.title[1]}`, Subject: receipt.share.id, Creator: 'evidock' } },
    font,
  );
  const widths = [LABEL_WIDTH, FRAME.width - LABEL_WIDTH];
  doc.fillColor('#222').fontSize(14).text(m.title[0], FRAME.left, FRAME.top, { width: FRAME.width });
  doc.fontSize(12).text(m.title[1], FRAME.left, doc.y + 2, { width: FRAME.width });
  let y = drawPagedTable(doc, FRAME, doc.y + 10, null, m.summary.map(fieldRow), widths);
  y = drawHeading(doc, FRAME, y + 10, '审批 Approval', null);
  y = drawPagedTable(doc, FRAME, y, null, m.approval.map(fieldRow), widths);
  for (const item of m.items) {
    y = drawHeading(doc, FRAME, y + 10, item.heading, null);
    y = drawPagedTable(doc, FRAME, y, null, item.fields.map(fieldRow), widths);
  }
  doc.fontSize(FRAME.size).fillColor('#444');
  for (const line of m.note) {
    doc.text(line, FRAME.left, y + 6, { width: FRAME.width });
    y = doc.y;
  }
  stampPages(doc, {
    left: FRAME.left,
    width: FRAME.width,
    pageHeight: A4.height,
    head: [m.title[0], receipt.share.id],
    foot: (page, pages) => `第 ${page} 页，共 ${pages} 页 · page ${page} of ${pages}`,
  });
  return pdfBytes(doc);
}
