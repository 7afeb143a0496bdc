import { chartSvg, escapeMarkup as escapeHtml } from '../archive/report-chart.ts';
import type { ReportCell, ReportDocument } from './report-document.formatter.ts';

/**
 * The report as one self-contained page (styles and SVG charts inline, no script, nothing
 * fetched) that prints on A4 landscape: a bureau can mail it, archive it or print it from any
 * browser. Landscape because the table has fourteen columns.
 */
export function reportHtml(doc: ReportDocument): string {
  const row = (cells: ReportCell[], tag: 'td' | 'th' = 'td') =>
    `<tr>${cells.map((c, i) => `<${tag}${doc.columns[i]!.numeric ? ' class="num"' : ''}>${escapeHtml(c.text)}</${tag}>`).join('')}</tr>`;
  // The notes say how the table counts: right under it, as in the PDF.
  const notes = doc.notes.map((n) => `<p class="notes">${escapeHtml(n)}</p>`);
  const body = doc.empty
    ? [`<p class="empty">${escapeHtml(doc.empty)}</p>`, ...notes]
    : [
        `<h2>${escapeHtml(doc.headings.figures)}</h2>`,
        '<table class="figures">',
        `<thead><tr>${doc.columns.map((c) => `<th${c.numeric ? ' class="num"' : ''}>${escapeHtml(c.header)}</th>`).join('')}</tr></thead>`,
        `<tbody>\n${doc.rows.map((r) => row(r)).join('\n')}\n</tbody>`,
        `<tfoot>${row(doc.total, 'th')}</tfoot>`,
        '</table>',
        ...notes,
        `<h2>${escapeHtml(doc.headings.charts)}</h2>`,
        ...doc.charts.map((c) => `<figure class="chart">\n${chartSvg(c)}\n</figure>`),
        ...(doc.chartNote ? [`<p class="note">${escapeHtml(doc.chartNote)}</p>`] : []),
      ];
  return `<!DOCTYPE html>
<html lang="${doc.locale}">
<head>
<meta charset="utf-8">
<title>${escapeHtml(`${doc.bureau} ${doc.title} ${doc.period}`)}</title>
<style>
@page { size: A4 landscape; margin: 12mm 12mm 14mm; @bottom-center { content: counter(page) " / " counter(pages); font-size: 8pt; } }
body { font-family: 'Noto Sans CJK SC', 'Noto Sans SC', 'Microsoft YaHei', 'PingFang SC', sans-serif; font-size: 9pt; color: #222; margin: 0 auto; max-width: 273mm; }
header { border-bottom: 1.5pt solid #2f5d8a; margin-bottom: 8pt; padding-bottom: 4pt; }
header .bureau { font-size: 15pt; font-weight: bold; }
header h1 { font-size: 13pt; margin: 2pt 0; }
header p { margin: 1pt 0; color: #444; }
h2 { font-size: 11pt; margin: 10pt 0 4pt; }
table.figures { border-collapse: collapse; width: 100%; }
table.figures th, table.figures td { border: 0.5pt solid #999; padding: 2pt 3pt; }
table.figures thead th { background: #e8eef5; font-weight: bold; }
table.figures thead { display: table-header-group; }
table.figures tfoot th { background: #f3f3f3; }
table.figures tr { break-inside: avoid; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
figure.chart { margin: 6pt 0; break-inside: avoid; }
figure.chart svg { max-width: 100%; height: auto; }
.note, .notes { color: #555; font-size: 8pt; margin: 3pt 0; }
.empty { font-size: 11pt; }
</style>
</head>
<body>
<header>
<div class="bureau">${escapeHtml(doc.bureau)}</div>
<h1>${escapeHtml(doc.title)}</h1>
<p class="period">${escapeHtml(doc.period)}</p>
<p>${escapeHtml(doc.grouping)} · ${escapeHtml(doc.generated)}</p>
</header>
<main>
${body.join('\n')}
</main>
</body>
</html>
`;
}
