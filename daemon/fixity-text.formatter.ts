import type { FixityStatus } from '../archive/fixity.service.ts';
import { formatBytes, formatLocalTime, t } from './i18n.ts';

/** What `evidock fixity status` prints: the open cycle, the last one, the oldest check, failures. */
export function formatFixityStatus(status: FixityStatus, timeZone: string): string[] {
  const time = (iso: string) => formatLocalTime(new Date(iso), timeZone);
  const lines: string[] = [];
  const c = status.cycle;
  if (c) {
    lines.push(
      t('fixity.cycle', {
        id: c.id,
        checked: c.items.checked,
        total: c.items.total,
        bytes: formatBytes(c.bytes.checked),
        totalBytes: formatBytes(c.bytes.total),
        failed: c.failed,
      }),
    );
    lines.push(t('fixity.times', { started: time(c.startedAt), end: c.expectedEndAt ? time(c.expectedEndAt) : t('fixity.unknownEnd'), due: time(c.dueAt) }));
    if (c.overdue) lines.push(t('fixity.overdue'));
  } else {
    lines.push(t('fixity.noCycle', { next: status.nextCycleAt ? time(status.nextCycleAt) : '-' }));
  }
  const last = status.lastCompleted;
  if (last) {
    const ledger = last.ledger.ok ? t('fixity.ledgerOk') : t('fixity.ledgerFailed', { count: last.ledger.problems.length });
    lines.push(t('fixity.last', { id: last.id, items: last.items, finished: time(last.finishedAt), ledger }));
  }
  lines.push(
    status.oldestCheck
      ? t('fixity.oldest', { at: time(status.oldestCheck.at), id: status.oldestCheck.evidenceId, never: status.neverChecked })
      : t('fixity.oldestNone', { never: status.neverChecked }),
  );
  if (status.failures.length === 0) lines.push(t('fixity.noFailures'));
  else {
    lines.push(t('fixity.failures', { count: status.failures.length }));
    for (const f of status.failures) lines.push(`  ${f.evidenceId}  ${f.at ? time(f.at) : '-'}  ${f.problems.join('; ')}`);
  }
  return lines;
}
