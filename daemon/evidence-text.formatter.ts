import type { DerivativeRow, EvidenceRow } from '../storage/catalog.repository.ts';
import type { CustodyEvent } from '../storage/custody-chain.ts';
import { displayWidth, formatBytes, formatDuration, formatLocalTime, mediaProblemText, t, type MessageKey } from './i18n.ts';

/**
 * What `evidock show` prints for a custodian: the five fields the rules require first (a
 * missing one says so, since it must be filled in), then provenance, media and custody.
 * Pure, so the wording is tested without a database.
 */
export function formatEvidence(
  evidence: EvidenceRow,
  derivatives: readonly DerivativeRow[],
  events: readonly CustodyEvent[],
  timeZone: string,
): string[] {
  const missing = t('field.missing');
  const time = (d: Date) => formatLocalTime(d, timeZone);
  const captured = evidence.captureStart
    ? `${time(evidence.captureStart)}${evidence.captureEnd && evidence.captureEnd.getTime() !== evidence.captureStart.getTime() ? ` — ${time(evidence.captureEnd)}` : ''}${evidence.captureTimeSource ? `  (${evidence.captureTimeSource})` : ''}`
    : missing;
  const collector = evidence.officerId ? [evidence.officerId, evidence.officerName].filter(Boolean).join(' ') : missing;
  const rows: Array<[MessageKey, string]> = [
    ['field.evidenceId', evidence.id],
    ['field.caseNumbers', evidence.caseNumbers.length > 0 ? evidence.caseNumbers.join(', ') : missing],
    ['field.captureTime', captured],
    ['field.place', evidence.place ?? missing],
    ['field.collector', collector],
    ['field.subject', evidence.subject ?? missing],
    ['field.recorder', evidence.recorderSerial],
    ['field.original', evidence.originalPath],
    ['field.size', `${formatBytes(evidence.size)} (${evidence.size} B)`],
    ['field.hashes', [`sha256:${evidence.sha256}`, evidence.sm3 ? `sm3:${evidence.sm3}` : null].filter(Boolean).join('  ')],
    ['field.stored', evidence.objectKey],
    ['field.verified', time(evidence.verifiedAt)],
  ];
  if (evidence.transferDelaySeconds !== null && evidence.transferDeadline) {
    const params = { delay: formatDuration(evidence.transferDelaySeconds), deadline: time(evidence.transferDeadline) };
    rows.push(['field.transfer', t(evidence.transferLate ? 'transfer.late' : 'transfer.onTime', params)]);
  }
  // Every docking that handed these bytes over (the same recording docked again is one item).
  const dockings = new Map<string, string>();
  for (const ev of events) if (ev.sessionId && (ev.type === 'ACQUIRED' || ev.type === 'LINKED') && !dockings.has(ev.sessionId)) dockings.set(ev.sessionId, ev.at);
  if (dockings.size > 0) rows.push(['field.dockings', [...dockings].map(([id, at]) => `${id.slice(0, 8)} ${time(new Date(at))}`).join(', ')]);
  rows.push(['field.media', mediaSummary(evidence)]);
  if (evidence.flags.length > 0) rows.push(['field.flags', evidence.flags.join(', ')]);

  const labels = rows.map(([key]) => t(key));
  const width = Math.max(...labels.map(displayWidth));
  const pad = (label: string) => label + ' '.repeat(width - displayWidth(label) + 2);
  const lines = rows.map(([, value], i) => `${pad(labels[i]!)}${value}`);
  if (derivatives.length > 0) {
    lines.push('', t('field.derivatives'));
    for (const d of derivatives) {
      const dims = d.width && d.height ? ` ${d.width}x${d.height}` : '';
      lines.push(`  ${d.kind.padEnd(18)} ${formatBytes(d.size).padStart(10)}${dims}  ${d.objectKey}${d.partial ? '  [partial]' : ''}`);
    }
  }
  lines.push('', t('field.custody'));
  for (const ev of events) {
    lines.push(`  #${String(ev.seq).padStart(6)}  ${time(new Date(ev.at))}  ${ev.type.padEnd(22)} ${ev.actor.kind}:${ev.actor.id}${ev.sessionId ? `  ${ev.sessionId.slice(0, 8)}` : ''}`);
  }
  return lines;
}

function mediaSummary(e: EvidenceRow): string {
  const m = e.media;
  if (m.status === 'pending') return t('media.pending');
  const facts = [
    m.width && m.height ? `${m.width}x${m.height}` : null,
    m.frameRate ? `${Math.round(m.frameRate * 100) / 100} fps` : null,
    [m.videoCodec, m.audioCodec].filter(Boolean).join('/') || null,
    m.durationSeconds !== null ? `${m.durationSeconds.toFixed(1)} s` : null,
    m.gpsLatitude !== null && m.gpsLongitude !== null ? `GPS ${m.gpsLatitude.toFixed(5)},${m.gpsLongitude.toFixed(5)}` : null,
  ].filter(Boolean);
  const problem = m.problem ? `  ${mediaProblemText(m.status, m.problem)}` : '';
  return `${m.status}${facts.length ? `  ${facts.join('  ')}` : ''}${problem}`;
}
