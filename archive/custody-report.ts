import type { CustodyEvent, CustodyEventType } from '../storage/custody-chain.ts';

/**
 * The readable custody report in a bag (监管链报告): one self-contained, printable HTML page in
 * Chinese and English, for the archive office or a court that will not parse JSON. It states
 * the five required fields of every record, its timeline and whether each event's signature
 * verified when the package was made; the JSON beside it is what a machine checks.
 */

/** Every event type's name in both languages: a type without one is a compile error here. */
export const CUSTODY_EVENT_LABELS: Record<CustodyEventType, readonly [zh: string, en: string]> = {
  KEY_REGISTERED: ['登记签名密钥', 'Signing key registered'],
  DOCKED: ['记录仪接入', 'Recorder docked'],
  RECORDER_UNREGISTERED: ['未登记的记录仪', 'Unregistered recorder'],
  CLOCK_OFFSET: ['记录仪时钟偏差', 'Recorder clock offset'],
  FILES_LISTED: ['列出文件', 'Files listed'],
  FILE_SKIPPED: ['跳过文件', 'File skipped'],
  GAP_DETECTED: ['发现编号缺口', 'Gap detected'],
  ACQUIRED: ['已从记录仪读取', 'Read from recorder'],
  ACQUISITION_INTERRUPTED: ['读取中断', 'Reading interrupted'],
  ACQUISITION_RESUMED: ['读取继续', 'Reading resumed'],
  HASH_MISMATCH: ['哈希不符', 'Hash mismatch'],
  SPOOL_FULL: ['暂存空间已满', 'Spool full'],
  STORED: ['已存储', 'Stored'],
  DUPLICATE_ACQUIRED: ['重复文件', 'Duplicate read'],
  VERIFIED: ['存储后校验', 'Verified in storage'],
  VERIFY_FAILED: ['存储校验失败', 'Storage verification failed'],
  RECORDED: ['已登记', 'Catalogued'],
  RECORDER_CLEARED: ['已从记录仪清除', 'Cleared from recorder'],
  CLEAR_REFUSED: ['拒绝清除记录仪', 'Clearing refused'],
  FILE_FAILED: ['文件采集失败', 'File failed'],
  TAGGED: ['修改要素', 'Fields changed'],
  UNDOCKED: ['记录仪拔出', 'Recorder undocked'],
  SESSION_COMPLETED: ['采集完成', 'Docking completed'],
  METADATA_EXTRACTED: ['提取元数据', 'Metadata extracted'],
  MEDIA_PROBLEM: ['媒体问题', 'Media problem'],
  DERIVED: ['生成播放副本', 'Derivative made'],
  REDACTION_SAVED: ['保存脱敏方案', 'Redaction version saved'],
  REDACTION_SUGGESTED: ['生成人脸遮挡建议', 'Face suggestions made'],
  REDACTION_SUGGESTION_REJECTED: ['驳回遮挡建议', 'Suggested box rejected'],
  EXPORTED: ['导出', 'Exported'],
  LINKED: ['关联案件', 'Linked to case'],
  SESSION_TAKEN_OVER: ['接管采集', 'Docking taken over'],
  FILE_TAKEN_OVER: ['接管文件', 'File taken over'],
  ADMINISTERED: ['系统管理', 'Administration'],
  UNLINKED: ['取消关联', 'Unlinked from case'],
  DOCUMENT_ADDED: ['添加文书', 'Document added'],
  ACTION_REGISTERED: ['登记执法行为', 'Enforcement action registered'],
  MATCH_DECIDED: ['确认或驳回关联建议', 'Suggested recording confirmed or rejected'],
  FIXITY_CHECKED: ['完整性检查', 'Fixity checked'],
  FIXITY_BATCH_CHECKED: ['定期完整性检查（批次）', 'Scheduled fixity check (batch)'],
  FIXITY_FAILED: ['完整性检查未通过', 'Fixity check failed'],
  FIXITY_CYCLE_COMPLETED: ['定期完整性检查周期完成', 'Fixity cycle completed'],
  ACCESS_REQUESTED: ['申请访问', 'Access requested'],
  ACCESS_APPROVED: ['批准访问', 'Access approved'],
  ACCESS_REFUSED: ['驳回访问', 'Access refused'],
  ACCESS_EXPIRED: ['访问授权到期', 'Access expired'],
  ACCESSED: ['被访问', 'Accessed'],
  ACCESS_LOG_SEALED: ['访问日志封存', 'Access log sealed'],
  RETENTION_SET: ['设定保管期限', 'Retention set'],
  LEGAL_HOLD_SET: ['冻结（禁止删除）', 'Legal hold set'],
  LEGAL_HOLD_RELEASED: ['解除冻结', 'Legal hold released'],
  PURGE_PROPOSED: ['提出到期销毁', 'Purge proposed'],
  PURGE_APPROVED: ['批准到期销毁', 'Purge approved'],
  PURGE_REFUSED: ['驳回到期销毁', 'Purge refused'],
  PURGED: ['到期销毁', 'Purged'],
  PURGE_SKIPPED: ['未予销毁', 'Not purged'],
  PURGE_FAILED: ['销毁失败', 'Purge failed'],
  CASE_ENDED: ['案件执法结束', 'Case action ended'],
  CASE_MARKED_MAJOR: ['标记为重大案件', 'Marked a major case'],
  ARCHIVED: ['案件归档', 'Case archived'],
  SHARE_CREATED: ['创建共享链接', 'Share link created'],
  SHARE_REVOKED: ['撤销共享链接', 'Share link revoked'],
  DISCLOSED: ['生成公示脱敏副本', 'De-identified disclosure copy made'],
};

export interface ReportItem {
  evidenceId: string;
  file: string;
  sha256: string;
  sm3: string | null;
  size: number;
  caseNumbers: readonly string[];
  captureStart: string | null;
  captureEnd: string | null;
  place: string | null;
  collector: string | null;
  collectorName: string | null;
  subject: string | null;
  recorderSerial: string | null;
  originalName: string;
  events: readonly CustodyEvent[];
  /** seq of each event whose hash or signature did not verify at export. */
  badEvents: ReadonlySet<number>;
}

export interface ReportDocument {
  documentId: string;
  file: string;
  name: string;
  sha256: string;
  size: number;
  uploadedBy: string;
  uploadedAt: string;
}

export interface CustodyReportInput {
  caseNumber: string;
  exportId: string;
  exportedAt: string;
  exportedBy: string;
  reason: string | null;
  /** Whom the watermarked copies are for, when the export made them. */
  recipient?: string | null;
  workstationId: string;
  items: readonly ReportItem[];
  documents: readonly ReportDocument[];
  keys: ReadonlyArray<{ keyId: string; workstationId: string }>;
}

/** A labelled value of the report; null is a field nobody filled in, shown as such. */
export interface ReportField {
  label: string;
  value: string | null;
  /** Ids, hashes and file names: set in a fixed-width face, broken anywhere. */
  code?: boolean;
}

export interface TimelineRow {
  seq: number;
  at: string;
  /** The type's names in both languages, then the type itself. */
  event: string;
  type: string;
  actor: string;
  ok: boolean;
  keyId: string;
}

/**
 * The report's content, once, for every format it is rendered in (the HTML page, the PDF):
 * what the two say cannot drift apart.
 */
export interface CustodyReportModel {
  caseNumber: string;
  title: readonly [zh: string, en: string];
  summary: ReportField[];
  signatures: { valid: number; total: number; text: string };
  note: readonly [zh: string, en: string];
  items: Array<{ heading: string; evidenceId: string; fields: ReportField[]; timeline: TimelineRow[] }>;
  documents: Array<{ name: string; file: string; sha256: string; uploaded: string }>;
  keys: Array<{ keyId: string; workstationId: string }>;
}

export const MISSING = '未填写 / missing';
export const TIMELINE_HEADERS = ['#', '时间 Time', '事件 Event', '操作方 Actor', '签名 Signature'] as const;
export const DOCUMENT_HEADERS = ['名称 Name', '文件 File', 'SHA-256', '上传 Uploaded'] as const;
export const SECTION = { documents: '文书 Documents', keys: '签名公钥 Signing keys' } as const;
export const signatureText = (ok: boolean): string => (ok ? '有效 valid' : '无效 INVALID');

function actorOf(e: CustodyEvent): string {
  return `${e.actor.kind}:${e.actor.id}`;
}

const orNull = (v: string | null | undefined): string | null => (v === null || v === undefined || v === '' ? null : v);

export function custodyReportModel(r: CustodyReportInput): CustodyReportModel {
  const bad = r.items.reduce((n, i) => n + i.badEvents.size, 0);
  const total = r.items.reduce((n, i) => n + i.events.length, 0);
  return {
    caseNumber: r.caseNumber,
    title: [`案件 ${r.caseNumber} 音像证据监管链报告`, `Chain-of-custody report, case ${r.caseNumber}`],
    summary: [
      { label: '导出编号 Export id', value: r.exportId, code: true },
      { label: '导出时间 Exported at', value: r.exportedAt },
      { label: '导出人 Exported by', value: r.exportedBy },
      { label: '事由 Reason', value: orNull(r.reason) },
      ...(r.recipient ? [{ label: '水印副本提供给 Watermarked for', value: r.recipient }] : []),
      { label: '导出站 Workstation', value: r.workstationId },
      { label: '音视频记录 AV records', value: String(r.items.length) },
      { label: '文书 Documents', value: String(r.documents.length) },
    ],
    signatures: { valid: total - bad, total, text: `${total - bad} / ${total} 有效 valid` },
    note: [
      '本证据包为复制件，原始记录保存在一次写入存储中。核验：bagit.py --validate 或 evidock verify-package。',
      'This package is a copy; the records stay in write-once storage. Check it with bagit.py --validate or evidock verify-package.',
    ],
    items: r.items.map((i, n) => ({
      heading: `${n + 1}. ${i.originalName}`,
      evidenceId: i.evidenceId,
      fields: [
        { label: '案件编号 Case number', value: i.caseNumbers.length ? i.caseNumbers.join('，') : null },
        { label: '采集时间 Capture time', value: i.captureStart ? `${i.captureStart}${i.captureEnd ? ` — ${i.captureEnd}` : ''}` : null },
        { label: '采集地点 Capture place', value: orNull(i.place) },
        { label: '采集人 Collector', value: orNull([i.collectorName, i.collector].filter(Boolean).join(' ')) },
        { label: '证明对象 Subject', value: orNull(i.subject) },
        { label: '记录仪 Recorder', value: orNull(i.recorderSerial) },
        { label: '文件 File', value: `${i.file} · ${i.size} B`, code: true },
        { label: 'SHA-256', value: i.sha256, code: true },
        ...(i.sm3 ? [{ label: 'SM3', value: i.sm3, code: true }] : []),
      ],
      timeline: i.events.map((e) => {
        const [zh, en] = CUSTODY_EVENT_LABELS[e.type] ?? [e.type, e.type];
        return { seq: e.seq, at: e.at, event: `${zh} / ${en}`, type: e.type, actor: actorOf(e), ok: !i.badEvents.has(e.seq), keyId: e.keyId };
      }),
    })),
    documents: r.documents.map((d) => ({ name: d.name, file: `${d.file} · ${d.size} B`, sha256: d.sha256, uploaded: `${d.uploadedBy} ${d.uploadedAt}` })),
    keys: r.keys.map((k) => ({ keyId: k.keyId, workstationId: k.workstationId })),
  };
}

export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
export const htmlCell = (f: ReportField): string => (f.value === null ? `<span class="missing">${MISSING}</span>` : f.code ? `<code>${escapeHtml(f.value)}</code>` : escapeHtml(f.value));
export const fieldRows = (fields: readonly ReportField[]): string => fields.map((f) => `  <tr><th>${escapeHtml(f.label)}</th><td>${htmlCell(f)}</td></tr>`).join('\n');

export function custodyReportHtml(r: CustodyReportInput): string {
  const m = custodyReportModel(r);
  const item = (i: CustodyReportModel['items'][number]) => `
<section class="item">
  <h2>${escapeHtml(i.heading)} <small><code>${escapeHtml(i.evidenceId)}</code></small></h2>
  <table class="fields">
${fieldRows(i.fields)}
  </table>
  <table class="timeline">
    <thead><tr>${TIMELINE_HEADERS.map((h) => `<th>${h}</th>`).join('')}</tr></thead>
    <tbody>
${i.timeline
  .map(
    (e) =>
      `      <tr><td>${e.seq}</td><td>${escapeHtml(e.at)}</td><td>${escapeHtml(e.event)} <code>${escapeHtml(e.type)}</code></td><td>${escapeHtml(e.actor)}</td><td class="${e.ok ? 'ok' : 'bad'}">${signatureText(e.ok)} <code>${escapeHtml(e.keyId)}</code></td></tr>`,
  )
  .join('\n')}
    </tbody>
  </table>
</section>`;
  const allValid = m.signatures.valid === m.signatures.total;
  return `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>监管链报告 Custody report — ${escapeHtml(m.caseNumber)}</title>
<style>
  body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif; margin: 2rem; color: #111; }
  h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
  table { border-collapse: collapse; width: 100%; margin: .5rem 0; font-size: .9rem; }
  th, td { border: 1px solid #999; padding: .25rem .5rem; text-align: left; vertical-align: top; }
  th { background: #eee; width: 14rem; } .timeline th { width: auto; }
  code { font-size: .8rem; word-break: break-all; } .missing { color: #a00; }
  .ok { color: #064; } .bad { color: #a00; font-weight: bold; }
  @page { size: A4; margin: 15mm; } .item { break-inside: avoid-page; }
</style>
</head>
<body>
<h1>${escapeHtml(m.title[0])}<br>${escapeHtml(m.title[1])}</h1>
<table class="fields">
${fieldRows(m.summary)}
  <tr><th>签名核验 Signatures</th><td class="${allValid ? 'ok' : 'bad'}">${m.signatures.text}</td></tr>
</table>
<p>${escapeHtml(m.note[0])}<br>
${escapeHtml(m.note[1])}</p>
${m.items.map(item).join('\n')}
${
  m.documents.length
    ? `<section><h2>${SECTION.documents}</h2><table class="timeline"><thead><tr>${DOCUMENT_HEADERS.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>
${m.documents.map((d) => `<tr><td>${escapeHtml(d.name)}</td><td><code>${escapeHtml(d.file)}</code></td><td><code>${escapeHtml(d.sha256)}</code></td><td>${escapeHtml(d.uploaded)}</td></tr>`).join('\n')}
</tbody></table></section>`
    : ''
}
<section><h2>${SECTION.keys}</h2><ul>
${m.keys.map((k) => `<li><code>${escapeHtml(k.keyId)}</code> — ${escapeHtml(k.workstationId)}</li>`).join('\n')}
</ul></section>
</body>
</html>
`;
}
