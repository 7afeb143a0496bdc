import cliProgress from 'cli-progress';
import type { QueueEvents } from 'bullmq';
import type { FileRow } from '../storage/catalog.repository.ts';
import { fitColumns, formatBytes, t } from './i18n.ts';

/**
 * Per-file and overall progress bars while a docking is copied and stored. Progress comes
 * from BullMQ job progress events, so the bars work the same whether the jobs run in this
 * process or in a daemon. Off when the output is not a terminal (scripts, CI, --json).
 */
export class ProgressReporter {
  private readonly bars = new cliProgress.MultiBar(
    {
      format: ' {label} |{bar}| {percentage}% {value_fmt}/{total_fmt}',
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      autopadding: true,
      formatValue: (v, _o, type) => (type === 'value' || type === 'total' ? String(v) : String(v)),
    },
    cliProgress.Presets.shades_classic,
  );
  private readonly perFile = new Map<string, { bar: cliProgress.SingleBar; size: number; acquired: number; stored: number }>();
  private readonly total: cliProgress.SingleBar;
  private readonly totalBytes: number;

  constructor(
    files: FileRow[],
    private readonly events: QueueEvents[],
  ) {
    this.totalBytes = files.reduce((n, f) => n + f.size, 0) * 2;
    this.total = this.bars.create(Math.max(1, this.totalBytes), 0, {
      label: fitColumns(t('progress.total'), 28),
      value_fmt: formatBytes(0),
      total_fmt: formatBytes(this.totalBytes / 2),
    });
    for (const f of files) {
      const bar = this.bars.create(Math.max(1, f.size * 2), 0, {
        label: fitColumns(f.displayPath, 28),
        value_fmt: '',
        total_fmt: formatBytes(f.size),
      });
      this.perFile.set(f.id, { bar, size: f.size, acquired: 0, stored: 0 });
    }
    for (const e of events) e.on('progress', ({ jobId, data }) => this.onProgress(jobId, data));
  }

  /** Final states from the catalog make the bars exact even if an event was missed. */
  settle(files: FileRow[]): void {
    for (const f of files) {
      const entry = this.perFile.get(f.id);
      if (!entry) continue;
      if (['acquired', 'stored', 'recorded', 'cleared', 'kept'].includes(f.stage)) entry.acquired = f.size;
      if (['stored', 'recorded', 'cleared', 'kept'].includes(f.stage)) entry.stored = f.size;
      this.draw(f.id);
    }
  }

  /** A message above the bars; written straight to the terminal it would tear them. */
  log(message: string): void {
    this.bars.log(`${message}\n`);
  }

  stop(): void {
    this.bars.stop();
  }

  private onProgress(jobId: string, data: unknown): void {
    const match = /^(acquire|store)-(.+)$/.exec(jobId);
    if (!match) return;
    const entry = this.perFile.get(match[2]!);
    const bytes = typeof data === 'object' && data !== null ? Number((data as { bytes?: number }).bytes ?? 0) : 0;
    if (!entry) return;
    if (match[1] === 'acquire') entry.acquired = Math.max(entry.acquired, bytes);
    else entry.stored = Math.max(entry.stored, bytes);
    this.draw(match[2]!);
  }

  private draw(fileId: string): void {
    const entry = this.perFile.get(fileId)!;
    const phase = entry.stored > 0 ? t('progress.store') : t('progress.acquire');
    entry.bar.update(entry.acquired + entry.stored, { value_fmt: `${phase} ${formatBytes(entry.stored > 0 ? entry.stored : entry.acquired)}` });
    let sum = 0;
    for (const e of this.perFile.values()) sum += e.acquired + e.stored;
    this.total.update(sum, { value_fmt: formatBytes(sum / 2) });
  }
}
