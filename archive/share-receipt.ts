import { escapeHtml, fieldRows, type ReportField } from './custody-report.ts';

/**
 * The receipt of a share (共享回执): what was shared, with whom, under which approval, until
 * when, and the hashes of each original and of the copy the recipient was given, in Chinese
 * and English. One model for both renderings (this HTML page, the PDF of
 * daemon/share-receipt-pdf.adapter.ts), so the two cannot say different things. Pure.
 */

export interface ShareReceiptInput {
  share: {
    id: string;
    recipient: string;
    caseNumber: string | null;
    mode: 'view' | 'download';
    watermark: boolean;
    authorizedBy: 'approval' | 'role';
    purpose: string | null;
    createdBy: string;
    createdAt: string;
    expiresAt: string;
    revokedAt: string | null;
    revokedBy: string | null;
    revokeReason: string | null;
    tokenSha256: string;
  };
  state: 'active' | 'expired' | 'revoked';
  approval: { id: string; requester: string; actions: string[]; purpose: string; decidedBy: string | null; reason: string | null; expiresAt: string | null } | null;
  items: Array<{ evidenceId: string; originalName: string; captureStart: string | null; sha256: string; copyKind: string; copySha256: string; copySize: number; watermarkLines: string[] | null }>;
  printedAt: string;
}

export interface ShareReceiptModel {
  title: readonly [zh: string, en: string];
  summary: ReportField[];
  approval: ReportField[];
  items: Array<{ heading: string; fields: ReportField[] }>;
  note: readonly [zh: string, en: string];
}

const MODE = { view: '仅在线查看 view only', download: '可下载 download' } as const;
const STATE = { active: '有效 active', expired: '已过期 expired', revoked: '已撤销 revoked' } as const;
const COPY_KIND: Record<string, string> = { 'share-copy': '水印副本 watermarked copy', proxy: '播放副本 playback proxy' };

export function shareReceiptModel(r: ShareReceiptInput): ShareReceiptModel {
  const s = r.share;
  const watermark = r.items.find((i) => i.watermarkLines)?.watermarkLines ?? null;
  return {
    title: ['证据共享回执', 'Evidence share receipt'],
    summary: [
      { label: '共享编号 Share id', value: s.id, code: true },
      { label: '接收方 Recipient', value: s.recipient },
      { label: '案件编号 Case number', value: s.caseNumber },
      { label: '方式 Mode', value: MODE[s.mode] },
      { label: '创建人 Created by', value: s.createdBy },
      { label: '创建时间 Created at', value: s.createdAt },
      { label: '有效期至 Expires at', value: s.expiresAt },
      { label: '状态 State', value: STATE[r.state] + (s.revokedAt ? ` · ${s.revokedAt} ${s.revokedBy ?? ''} ${s.revokeReason ?? ''}`.trimEnd() : '') },
      { label: '用途 Purpose', value: s.purpose },
      { label: '水印 Watermark', value: s.watermark ? (watermark ? watermark.join('\n') : '开（无视频画面）on (no picture to mark)') : '无 none' },
      { label: '链接令牌 SHA-256 Token SHA-256', value: s.tokenSha256, code: true },
      { label: '记录数 Items', value: String(r.items.length) },
    ],
    approval: r.approval
      ? [
          { label: '批准编号 Approval', value: r.approval.id, code: true },
          { label: '申请人 Requested by', value: r.approval.requester },
          { label: '申请事由 Purpose', value: r.approval.purpose },
          { label: '批准操作 Actions', value: r.approval.actions.join(', ') },
          { label: '审批人 Decided by', value: r.approval.decidedBy },
          { label: '审批意见 Reason', value: r.approval.reason },
          { label: '批准有效期至 Approval expires', value: r.approval.expiresAt },
        ]
      : [{ label: '授权 Authorized by', value: '证据管理员职权（无需申请）the custodian\'s role (no request needed)' }],
    items: r.items.map((i, n) => ({
      heading: `${n + 1}. ${i.originalName}`,
      fields: [
        { label: '证据编号 Evidence id', value: i.evidenceId, code: true },
        { label: '采集时间 Capture time', value: i.captureStart },
        { label: '原件 SHA-256 Original', value: i.sha256, code: true },
        { label: '副本 Copy', value: `${COPY_KIND[i.copyKind] ?? i.copyKind} · ${i.copySize} B` },
        { label: '副本 SHA-256 Copy', value: i.copySha256, code: true },
      ],
    })),
    note: [
      `本回执打印于 ${r.printedAt}。接收方获得的是副本（复制件），原始记录保存在一次写入存储中，未作任何改动；每次通过链接的访问均记入访问日志。`,
      `Printed at ${r.printedAt}. The recipient was given copies; the originals stay unchanged in write-once storage, and every access through the link is in the access log.`,
    ],
  };
}

export function shareReceiptHtml(r: ShareReceiptInput): string {
  const m = shareReceiptModel(r);
  return `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>共享回执 Share receipt — ${escapeHtml(r.share.id)}</title>
<style>
  body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif; margin: 2rem; color: #111; }
  h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 1.5rem; }
  table { border-collapse: collapse; width: 100%; margin: .5rem 0; font-size: .9rem; }
  th, td { border: 1px solid #999; padding: .25rem .5rem; text-align: left; vertical-align: top; white-space: pre-line; }
  th { background: #eee; width: 16rem; } code { font-size: .8rem; word-break: break-all; } .missing { color: #a00; }
  @page { size: A4; margin: 15mm; } section { break-inside: avoid-page; }
</style>
</head>
<body>
<h1>${escapeHtml(m.title[0])}<br>${escapeHtml(m.title[1])}</h1>
<table>
${fieldRows(m.summary)}
</table>
<h2>审批 Approval</h2>
<table>
${fieldRows(m.approval)}
</table>
${m.items.map((i) => `<section><h2>${escapeHtml(i.heading)}</h2><table>\n${fieldRows(i.fields)}\n</table></section>`).join('\n')}
<p>${escapeHtml(m.note[0])}<br>
${escapeHtml(m.note[1])}</p>
</body>
</html>
`;
}
