import { basename, extname, join } from 'node:path';
import { userInfo } from 'node:os';
import { Command, Option } from 'commander';
import { ConfigError, loadConfig, REPO_ROOT } from '../config/config.loader.ts';
import type { EvidockConfig } from '../config/config.schema.ts';
import { DirectoryDriver } from '../drivers/directory.driver.ts';
import type { EvidenceRow, FileRow, SessionRow } from '../storage/catalog.repository.ts';
import { SAFE_TO_UNDOCK_STAGES, TERMINAL_STAGES } from '../storage/catalog.repository.ts';
import { isDatabaseUnavailable } from '../storage/postgres.database.ts';
import { ObjectStoreUnavailableError } from '../storage/object-store.ts';
import type { ReportGrouping } from '../storage/report.repository.ts';
import { QueueUnavailableError } from '../workers/bullmq.job-queue.ts';
import { QueueName } from '../workers/job.types.ts';
import { ArchiveError } from '../archive/archive.errors.ts';
import { EvidenceNotFoundError } from '../archive/evidence.service.ts';
import { CaseNotFoundError, ExportIntegrityError } from '../archive/case-export.service.ts';
import { WatermarkError, WatermarkRecipientError } from '../archive/watermark-text.ts';
import { shareReceiptHtml } from '../archive/share-receipt.ts';
import { shareState } from '../archive/sharing.service.ts';
import { formatEvidence } from './evidence-text.formatter.ts';
import { readJsonFile } from './json-file.adapter.ts';
import { ExportDestinationError, ExportFolder } from './export-folder.adapter.ts';
import { openPackage, type OpenedPackage } from './package-source.adapter.ts';
import { verifyPackage } from '../archive/package-verify.service.ts';
import { formatReport } from './report-text.formatter.ts';
import { formatFixityStatus } from './fixity-text.formatter.ts';
import { reportCsv, reportDocument } from './report-document.formatter.ts';
import { reportHtml } from './report-html.formatter.ts';
import { writeReportFile } from './report-file.adapter.ts';
import { parsePeriod, ReportPeriodError, type ReportPeriod } from '../archive/report.service.ts';
import { currentLocale, formatBytes, formatLocalTime, mediaProblemText, setLocale, t, type Locale } from './i18n.ts';
import { ProgressReporter } from './progress.reporter.ts';
import { createReindexer, createRuntime, initLogging, type Runtime } from './runtime.ts';
import { startReconciling } from './session-reconciler.ts';
import { ReindexRefusedError, type ReindexReport } from '../archive/reindex.service.ts';
import { runStack } from './stack.adapter.ts';

/**
 * The `evidock` command line. Its commands, flags and --json shapes are a contract that
 * scripts and case-management systems rely on: add, never rename or remove.
 */

const EXIT_FAILURE = 1;
const EXIT_INCOMPLETE = 2;
const EXIT_UNAVAILABLE = 69;
const EXIT_CONFIG = 78;

type ReportFormat = 'text' | 'csv' | 'html' | 'pdf';

class CliExit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

function out(text: string): void {
  process.stdout.write(`${text}\n`);
}

function config(lang?: string): EvidockConfig {
  try {
    const c = loadConfig();
    if (lang) c.locale = lang as Locale;
    return c;
  } catch (error) {
    if (error instanceof ConfigError) {
      setLocale((lang as Locale) ?? 'zh-CN');
      process.stderr.write(`${t('config.invalid')}\n${error.problems.map((p) => `  - ${p}`).join('\n')}\n`);
      throw new CliExit(EXIT_CONFIG);
    }
    throw error;
  }
}

async function withRuntime<T>(cfg: EvidockConfig, quiet: boolean, work: (rt: Runtime) => Promise<T>): Promise<T> {
  initLogging(cfg, quiet);
  const rt = await createRuntime(cfg);
  try {
    return await work(rt);
  } finally {
    await rt.close();
  }
}

export interface ImportOptions {
  serial: string;
  officer?: string;
  case?: string[];
  subject?: string;
  place?: string;
  wait?: boolean;
  json?: boolean;
  clear?: boolean;
}

interface FileSummary {
  path: string;
  evidenceId: string | null;
  sha256: string | null;
  size: number;
  status: string;
  duplicate: boolean;
  error: string | null;
  /** Another docking was already ingesting this recording: its file's outcome is this one's. */
  handledBy: { session: string; file: string } | null;
}

/**
 * A file of this docking and what became of its recording: its own row, or, when another
 * docking was already ingesting the same recording (`handledBy`), that docking's file.
 */
export interface FileOutcome {
  file: FileRow;
  handler: FileRow | null;
}

/** The row that says what happened to the recording. */
const deciding = (o: FileOutcome): FileRow => o.handler ?? o.file;

async function outcomesOf(rt: Runtime, files: FileRow[]): Promise<FileOutcome[]> {
  const handlers = await rt.catalog.filesById(files.flatMap((f) => (f.handledBy ? [f.handledBy] : [])));
  return files.map((file) => ({ file, handler: file.handledBy ? (handlers.get(file.handledBy) ?? null) : null }));
}

function summarize(outcomes: FileOutcome[]): FileSummary[] {
  return outcomes.map((o) => {
    const d = deciding(o);
    return {
      path: o.file.displayPath,
      evidenceId: d.evidenceId,
      sha256: d.sha256,
      size: o.file.size,
      status: d.stage,
      duplicate: o.handler ? true : d.duplicate,
      error: o.handler ? (d.error ?? null) : o.file.error,
      handledBy: o.handler ? { session: o.handler.sessionId, file: o.handler.id } : null,
    };
  });
}

/** Whether nothing more will happen to these recordings without a new docking. */
function settled(outcomes: FileOutcome[]): boolean {
  return outcomes.every((o) => {
    const stage = deciding(o).stage;
    return TERMINAL_STAGES.includes(stage) || stage === 'interrupted';
  });
}

/** Exit 0 means every recording of the docking is stored (and cleared or kept as asked). */
export function everyRecordingStored(outcomes: FileOutcome[]): boolean {
  return outcomes.every((o) => ['cleared', 'kept'].includes(deciding(o).stage));
}

async function untilDatabaseAnswers<T>(read: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await read();
    } catch (error) {
      if (!isDatabaseUnavailable(error)) throw error;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

async function waitForSession(rt: Runtime, session: SessionRow, showProgress: boolean): Promise<FileOutcome[]> {
  let files = await untilDatabaseAnswers(() => rt.catalog.filesOfSession(session.id));
  const events = showProgress ? [rt.queue.events(QueueName.Acquire), rt.queue.events(QueueName.Store)] : [];
  const progress = showProgress ? new ProgressReporter(files, events) : null;
  let safeAnnounced = false;
  // When this process runs the session's jobs, its milestones end the wait at once; the poll
  // is for sessions whose jobs run elsewhere, and for the file stages the progress line shows.
  let wake: (() => void) | null = null;
  let milestoneSinceRead = false;
  // The dockings whose files this one's follow (the same recordings, already being ingested).
  const watched = new Set([session.id]);
  const unsubscribe = rt.onMilestone((s) => {
    if (!watched.has(s.id)) return;
    milestoneSinceRead = true;
    wake?.();
  });
  try {
    for (;;) {
      let current: SessionRow | null;
      let outcomes: FileOutcome[];
      try {
        milestoneSinceRead = false;
        files = await rt.catalog.filesOfSession(session.id);
        current = await rt.catalog.getSession(session.id);
        outcomes = await outcomesOf(rt, files);
      } catch (error) {
        // The workers wait for the database to come back; so does the operator's command.
        if (!isDatabaseUnavailable(error)) throw error;
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      progress?.settle(files);
      // Files another docking is ingesting are read from this recorder by that docking.
      const othersSpooled = outcomes.every((o) => !o.handler || SAFE_TO_UNDOCK_STAGES.includes(o.handler.stage));
      if (!safeAnnounced && current && current.status !== 'acquiring' && othersSpooled && !outcomes.some((o) => deciding(o).stage === 'interrupted')) {
        safeAnnounced = true;
        if (progress) progress.log(t('dock.safe'));
      }
      for (const o of outcomes) if (o.handler) watched.add(o.handler.sessionId);
      if (settled(outcomes)) return outcomes;
      // A milestone while the rows were read may not show in them: read them again at once.
      if (milestoneSinceRead) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 300);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
    }
  } finally {
    unsubscribe();
    progress?.stop();
    await Promise.all(events.map((e) => e.close()));
  }
}

export function printSessionResult(session: SessionRow, outcomes: FileOutcome[]): void {
  const files = outcomes.map(deciding);
  const count = (pred: (f: FileRow) => boolean) => files.filter(pred).length;
  for (const o of outcomes) {
    const f = deciding(o);
    const status = t(`file.status.${['cleared', 'kept', 'failed', 'skipped', 'interrupted', 'superseded'].includes(f.stage) ? f.stage : 'pending'}` as 'file.status.pending');
    const id = f.evidenceId ? f.evidenceId.slice(0, 8) : '--------';
    const by = o.handler ? `  ${t('file.handled_by', { session: o.handler.sessionId.slice(0, 8) })}` : '';
    out(`  ${id}  ${status}${f.duplicate ? t('file.duplicate') : ''}  ${o.file.displayPath}${by}${f.error && f.stage !== 'cleared' ? `  [${f.error}]` : ''}`);
  }
  const interrupted = count((f) => f.stage === 'interrupted');
  if (interrupted > 0) out(t('dock.interrupted', { count: interrupted }));
  out(
    t('dock.done', {
      stored: count((f) => (f.stage === 'cleared' || f.stage === 'kept') && !f.duplicate),
      dup: count((f) => f.duplicate),
      failed: count((f) => f.stage === 'failed'),
      cleared: count((f) => f.stage === 'cleared'),
    }),
  );
  if (session.gaps.length > 0) out(t('dock.gaps', { count: session.gaps.length }));
}

export interface ImportResult {
  session: SessionRow;
  /** This docking's own file rows. */
  files: FileRow[];
  /** What became of each recording (following files that another docking ingested). */
  outcomes: FileOutcome[];
  handedOff: boolean;
}

export async function importFolder(rt: Runtime, dir: string, options: ImportOptions): Promise<ImportResult> {
  const volume = await new DirectoryDriver().probe(dir, { serial: options.serial, officerId: options.officer });
  if (!volume) {
    process.stderr.write(`${t('import.notdir', { path: dir })}\n`);
    throw new CliExit(EXIT_FAILURE);
  }
  // Without Redis the docking still goes ahead and waits for it; the operator is told once.
  if (!(await rt.queue.reachable(3000))) process.stderr.write(`${t('error.unavailable', { service: 'Redis' })}\n`);
  const daemonRunning = rt.pool === null && (await rt.queue.hasDeviceWorkers());
  if (!daemonRunning && rt.pool === null) rt.startWorkers([QueueName.Acquire, QueueName.Store, QueueName.Catalog, QueueName.Clear]);
  const session = await rt.dock.dock(volume, {
    defaults: {
      ...(options.case && options.case.length > 0 ? { caseNumbers: options.case } : {}),
      ...(options.subject ? { subject: options.subject } : {}),
      ...(options.place ? { place: options.place } : {}),
      ...(options.officer ? { officerId: options.officer } : {}),
      ...(options.clear === false ? { clearAfterVerified: false } : {}),
    },
    actor: options.officer ? { kind: 'officer', id: options.officer } : { kind: 'user', id: userInfo().username },
  });
  if (!options.json) {
    out(t('dock.docked', { serial: session.recorderSerial, files: session.fileCount, size: formatBytes((await rt.catalog.filesOfSession(session.id)).reduce((n, f) => n + f.size, 0)) }));
    if (!(await rt.catalog.registration(session.recorderSerial))) out(t('dock.unregistered', { serial: session.recorderSerial }));
    if (session.skipped.length > 0) out(t('dock.skipped', { count: session.skipped.length }));
  }
  if (daemonRunning && !options.wait) {
    if (!options.json) out(t('dock.waiting_daemon', { session: session.id }));
    const files = await rt.catalog.filesOfSession(session.id);
    return { session, files, outcomes: await outcomesOf(rt, files), handedOff: true };
  }
  // This process runs the docking's jobs (no daemon does): it restores what Redis loses, as the daemon does.
  const reconciler = daemonRunning ? null : startReconciling(rt, rt.config.ingest.reconcileSeconds, 'import');
  let outcomes: FileOutcome[];
  try {
    outcomes = await waitForSession(rt, session, !options.json && process.stdout.isTTY === true);
  } finally {
    reconciler?.stop();
  }
  // Every file is terminal: settle the session too (idempotent), so the status returned is final.
  await untilDatabaseAnswers(() => rt.ingest.afterStep(session.id));
  return { session: (await untilDatabaseAnswers(() => rt.catalog.getSession(session.id)))!, files: outcomes.map((o) => o.file), outcomes, handedOff: false };
}

function evidenceJson(e: EvidenceRow) {
  return {
    evidenceId: e.id,
    sha256: e.sha256,
    sm3: e.sm3,
    size: e.size,
    mediaType: e.mediaType,
    caseNumbers: e.caseNumbers,
    subject: e.subject,
    place: e.place,
    collector: e.officerId,
    officerName: e.officerName,
    unitId: e.unitId,
    serial: e.recorderSerial,
    captureStart: e.captureStart?.toISOString() ?? null,
    captureEnd: e.captureEnd?.toISOString() ?? null,
    captureTimeSource: e.captureTimeSource,
    originalName: e.originalName,
    originalPath: e.originalPath,
    objectKey: e.objectKey,
    verifiedAt: e.verifiedAt.toISOString(),
    transferDelaySeconds: e.transferDelaySeconds,
    transferDeadline: e.transferDeadline?.toISOString() ?? null,
    transferLate: e.transferLate,
    flags: e.flags,
    media: { ...e.media, problemText: e.media.problem ? mediaProblemText(e.media.status, e.media.problem) : null },
  };
}

function parseDate(value: string): Date {
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new Error(`not an ISO date: ${value}`);
  return d;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function buildProgram(): Command {
  const program = new Command('evidock')
    .description('执法记录仪证据采集 / body-camera evidence ingestion')
    .addOption(new Option('--lang <locale>', 'zh-CN | en').choices(['zh-CN', 'en']))
    .showHelpAfterError();
  const lang = () => program.opts<{ lang?: string }>().lang;

  program
    .command('stack')
    .description('install, start or stop the local Redis, PostgreSQL and MinIO')
    .argument('<action>', 'up | down | status')
    .action(async (action: string) => {
      if (!['up', 'down', 'status'].includes(action)) throw new Error(`unknown stack action ${action}`);
      const cfg = config(lang());
      if (!cfg.stack.managed) {
        out(t('stack.unmanaged'));
        return;
      }
      const code = await runStack(REPO_ROOT, action as 'up' | 'down' | 'status');
      if (code !== 0) throw new CliExit(code);
    });

  program
    .command('daemon')
    .description('watch for docked recorders and run the ingest workers')
    .option('--device-only', 'serve only this workstation\'s device queues; `evidock workers` processes serve the rest')
    .action(async (o: { deviceOnly?: boolean }) => {
      const { runDaemon } = await import('./daemon.ts');
      await runDaemon(config(lang()), { deviceOnly: o.deviceOnly });
    });

  program
    .command('import')
    .description('treat a folder as a docked recorder and ingest it')
    .argument('<dir>')
    .requiredOption('--serial <serial>', 'recorder serial')
    .option('--officer <id>', 'collecting officer (警号)')
    .option('--case <number>', 'case number (repeatable)', collect)
    .option('--subject <text>', 'what or whom the recording proves (证明对象)')
    .option('--place <text>', 'capture place (采集地点)')
    .option('--wait', 'wait for a running daemon to finish the session')
    .option('--no-clear', 'keep the files in the folder after they are verified')
    .option('--json', 'print one JSON object')
    .action(async (dir: string, options: ImportOptions) => {
      const cfg = config(lang());
      const result = await withRuntime(cfg, true, (rt) => importFolder(rt, dir, options));
      if (options.json) out(JSON.stringify({ session: result.session.id, status: result.session.status, files: summarize(result.outcomes) }));
      else if (!result.handedOff) printSessionResult(result.session, result.outcomes);
      if (!result.handedOff && !everyRecordingStored(result.outcomes)) throw new CliExit(EXIT_INCOMPLETE);
    });

  program
    .command('search')
    .description('find evidence by case, officer, recorder or capture time')
    .option('--case <number>')
    .option('--officer <id>')
    .option('--serial <serial>')
    .option('--from <iso>')
    .option('--to <iso>')
    .option('--flag <name>', 'only items with this flag, e.g. missing-case, missing-place, unregistered')
    .option('--late', 'only items transferred after the deadline')
    .option('--limit <n>', 'at most this many', (v) => Number.parseInt(v, 10))
    .option('--json')
    .action(async (o: { case?: string; officer?: string; serial?: string; from?: string; to?: string; flag?: string; late?: boolean; limit?: number; json?: boolean }) => {
      const cfg = config(lang());
      const rows = await withRuntime(cfg, true, (rt) =>
        rt.evidence.search({
          caseNumber: o.case,
          officerId: o.officer,
          serial: o.serial,
          from: o.from ? parseDate(o.from) : undefined,
          to: o.to ? parseDate(o.to) : undefined,
          flag: o.flag,
          late: o.late,
          limit: o.limit,
        }),
      );
      if (o.json) return out(JSON.stringify({ items: rows.map(evidenceJson) }));
      if (rows.length === 0) return out(t('search.none'));
      out(t('search.header'));
      for (const e of rows) {
        out(`${e.id.slice(0, 8)}  ${e.caseNumbers.join(',') || '-'}  ${e.officerId ?? '-'}  ${e.captureStart ? formatLocalTime(e.captureStart, cfg.ingest.recorderTimeZone) : '-'}  ${e.originalName}${e.flags.length ? `  [${e.flags.join(',')}]` : ''}`);
      }
    });

  program
    .command('show')
    .description('an evidence item and its chain of custody')
    .argument('<evidenceId>')
    .option('--json')
    .action(async (id: string, o: { json?: boolean }) => {
      const cfg = config(lang());
      const { evidence, events, derivatives } = await withRuntime(cfg, true, (rt) => rt.evidence.show(id));
      if (o.json) return out(JSON.stringify({ evidence: evidenceJson(evidence), derivatives, events }));
      for (const line of formatEvidence(evidence, derivatives, events, cfg.ingest.recorderTimeZone)) out(line);
    });

  program
    .command('tag')
    .description('set case number, subject, place or collector (recorded as a custody event)')
    .argument('<evidenceId>')
    .option('--case <number>', 'case number (repeatable; replaces the list)', collect)
    .option('--subject <text>')
    .option('--place <text>')
    .option('--officer <id>', 'correct the collecting officer')
    .requiredOption('--by <user>', 'who makes the change')
    .option('--json')
    .action(async (id: string, o: { case?: string[]; subject?: string; place?: string; officer?: string; by: string; json?: boolean }) => {
      const cfg = config(lang());
      const patch = {
        ...(o.case ? { caseNumbers: o.case } : {}),
        ...(o.subject !== undefined ? { subject: o.subject } : {}),
        ...(o.place !== undefined ? { place: o.place } : {}),
        ...(o.officer !== undefined ? { officerId: o.officer } : {}),
      };
      if (Object.keys(patch).length === 0) {
        process.stderr.write(`${t('tag.nothing')}\n`);
        throw new CliExit(EXIT_FAILURE);
      }
      const { evidence, event } = await withRuntime(cfg, true, (rt) => rt.evidence.tag(id, patch, o.by));
      if (o.json) return out(JSON.stringify({ evidence: evidenceJson(evidence), event }));
      out(t('tag.done', { id: evidence.id, seq: event.seq }));
    });

  program
    .command('verify')
    .description('check the custody ledger, the catalog and the stored originals')
    .argument('[evidenceId]')
    .option('--all', 'also read back and re-hash every stored original')
    .option('--json')
    .action(async (id: string | undefined, o: { all?: boolean; json?: boolean }) => {
      const cfg = config(lang());
      // A progress line for an operator at a terminal; scripts (--json, pipes) get none.
      const progress = !o.json && process.stderr.isTTY === true && !id;
      const report = await withRuntime(cfg, true, async (rt) => {
        const target = id ? (await rt.evidence.find(id)).id : undefined;
        return rt.verify.run({
          evidenceId: target,
          rehash: Boolean(o.all || target),
          ...(progress ? { onItem: (done: number, total: number) => process.stderr.write(`\r\x1b[2K${t('verify.progress', { done, total })}`) } : {}),
        });
      });
      if (progress) process.stderr.write('\r\x1b[2K');
      if (o.json) out(JSON.stringify(report));
      else {
        const problems = [
          ...report.ledger.problems.map((p) => `ledger${p.seq !== null ? ` #${p.seq}` : ''}: ${p.kind}: ${p.detail}`),
          ...report.items.flatMap((i) => i.problems.map((p) => `${i.evidenceId}: ${p}`)),
        ];
        if (report.ok) out(t('verify.ok', { events: report.ledger.events, treeSize: report.ledger.treeSize, checkpoints: report.ledger.checkpoints, items: report.items.length }));
        const purged = report.items.filter((i) => i.purged).length;
        if (purged > 0) out(t('verify.purged', { count: purged }));
        // A clean ledger and catalog print the line above and nothing else.
        if (!report.ok) {
          out(t('verify.failed', { count: problems.length }));
          for (const p of problems) out(`  - ${p}`);
        }
      }
      if (!report.ok) throw new CliExit(EXIT_FAILURE);
    });

  const fixity = program.command('fixity').description('the scheduled fixity check (定期完整性检查) of stored originals');
  fixity
    .command('status')
    .description("the cycle's progress, the oldest check, the items that failed")
    .option('--json')
    .action(async (o: { json?: boolean }) => {
      const cfg = config(lang());
      const status = await withRuntime(cfg, true, (rt) => rt.fixity.status());
      if (o.json) return out(JSON.stringify(status));
      for (const line of formatFixityStatus(status, cfg.ingest.recorderTimeZone)) out(line);
    });

  program
    .command('derive')
    .description('re-run metadata, playback proxy and thumbnails (idempotent)')
    .argument('[evidenceId]')
    .option('--all', 'every evidence item')
    .option('--json')
    .action(async (id: string | undefined, o: { all?: boolean; json?: boolean }) => {
      if (!id && !o.all) throw new Error('give an evidence id or --all');
      const cfg = config(lang());
      const queued = await withRuntime(cfg, true, async (rt) => {
        const ids = id ? [(await rt.evidence.find(id)).id] : await rt.catalog.allEvidenceIds();
        return rt.media.requestDerivatives(ids);
      });
      if (o.json) return out(JSON.stringify({ queued }));
      out(t('derive.queued', { count: queued.length }));
    });

  program
    .command('report')
    .description('statistics of a quarter, year or month: items, hours, transfer deadlines, completeness of the five required fields; as text, CSV, or a printable HTML or PDF report with charts')
    .option('--quarter <YYYYQn>', 'e.g. 2026Q4')
    .option('--year <YYYY>')
    .option('--month <YYYY-MM>')
    .option('--from <iso>')
    .option('--to <iso>')
    .addOption(new Option('--by <grouping>', 'one row per officer, unit or recorder').choices(['officer', 'unit', 'recorder']).default('officer'))
    .addOption(new Option('--format <format>', 'text for the terminal; csv (UTF-8 with BOM), html (one printable A4 page) or pdf (A4, fonts embedded) to submit').choices(['text', 'csv', 'html', 'pdf']).default('text'))
    .option('--out <file>', 'write the report to this file instead of standard output (required for pdf)')
    .option('--json')
    .action(async (o: { quarter?: string; year?: string; month?: string; from?: string; to?: string; by: ReportGrouping; format: ReportFormat; out?: string; json?: boolean }) => {
      const cfg = config(lang());
      const refuse = (message: string): never => {
        process.stderr.write(`${message}\n`);
        throw new CliExit(EXIT_FAILURE);
      };
      // A file that cannot be written is the operator's to fix (one line); anything else is a bug.
      const refuseUnwritable = (file: string, error: unknown): never => {
        const code = (error as NodeJS.ErrnoException).code;
        if (typeof code !== 'string') throw error;
        return refuse(t('report.out.failed', { file, detail: code }));
      };
      if (o.json && o.format !== 'text') refuse(t('report.needs.oneFormat'));
      if (o.format === 'pdf' && !o.out) refuse(t('report.needs.out'));
      const bureau = cfg.reports.bureauName;
      if (o.format !== 'text' && !bureau) refuse(t('report.needs.bureau'));
      let period: ReportPeriod;
      try {
        period = parsePeriod(o, cfg.ingest.recorderTimeZone);
      } catch (error) {
        if (!(error instanceof ReportPeriodError)) throw error;
        refuse(t('error.generic', { message: error.message }));
        return;
      }
      const zone = cfg.ingest.recorderTimeZone;
      const { report, series, names } = await withRuntime(cfg, true, async (rt) => {
        const built = await rt.reports.build(period, o.by);
        if (o.format === 'text') return { report: built, series: null, names: undefined };
        return { report: built, series: await rt.reports.series(period, zone), names: await rt.reports.names(built) };
      });
      let content: string;
      if (o.json) content = `${JSON.stringify({ period: { label: period.label, from: period.from.toISOString(), to: period.to.toISOString() }, by: report.by, rows: report.rows, total: report.total })}\n`;
      else if (!series) content = formatReport(report, zone).map((line) => `${line}\n`).join('');
      else {
        const doc = reportDocument(report, series, { bureau: bureau!, timeZone: zone, generatedAt: new Date(), locale: currentLocale(), names });
        if (o.format === 'pdf') {
          // Loaded here: pdfkit and its font engine take about 0.1 s to import, which every other command would pay.
          const pdf = await import('./report-pdf.adapter.ts');
          try {
            await pdf.writeReportPdf(doc, o.out!, { file: cfg.reports.fontFile, face: cfg.reports.fontFace });
          } catch (error) {
            if (error instanceof pdf.ReportFontError) refuse(t('report.font.missing', { file: error.file, detail: error.detail }));
            refuseUnwritable(o.out!, error);
          }
          return out(t('report.written', { file: o.out! }));
        }
        content = o.format === 'csv' ? reportCsv(doc) : reportHtml(doc);
      }
      if (!o.out) return void process.stdout.write(content);
      try {
        await writeReportFile(o.out, content);
      } catch (error) {
        refuseUnwritable(o.out, error);
      }
      out(t('report.written', { file: o.out }));
    });

  program
    .command('export')
    .description('the evidence package of a case as a BagIt bag (originals, documents, five fields, signed chain of custody, custody report) for archiving or legal review; recorded as a custody event')
    .requiredOption('--case <number>', 'case number')
    .requiredOption('--to <path>', 'a new or empty folder (with --zip: a .zip file that does not exist)')
    .requiredOption('--by <user>', 'who exports (recorded)')
    .option('--reason <text>', 'why (approval number, archive filing, legal review)')
    .option('--with-proxies', 'add the playback proxies')
    .option('--watermark <recipient>', 'a party granted a copy: add copies of the video proxies with the case number, this recipient and the date burned in (implies --with-proxies; the originals are never watermarked)')
    .option('--zip', 'write the bag as one .zip (a folder named like the bag inside)')
    .option('--json')
    .action(async (o: { case: string; to: string; by: string; reason?: string; withProxies?: boolean; watermark?: string; zip?: boolean; json?: boolean }) => {
      const cfg = config(lang());
      const request = { caseNumber: o.case, by: o.by, reason: o.reason ?? null, withProxies: o.withProxies === true || o.watermark !== undefined, watermark: o.watermark ?? null };
      try {
        const result = await withRuntime(cfg, true, async (rt) => {
          if (!o.zip) return rt.exports.export(request, ExportFolder.create(o.to));
          const zipPath = ExportFolder.zipTarget(o.to);
          // The bag is assembled (and hashed as written) beside evidock's data, then zipped once whole.
          const folder = ExportFolder.temporary(join(cfg.dataDir, 'exports'));
          try {
            const done = await rt.exports.export({ ...request, destination: zipPath }, folder);
            await folder.writeZip(zipPath, basename(zipPath, extname(zipPath)));
            return { ...done, root: zipPath };
          } finally {
            await folder.remove();
          }
        });
        if (o.json) return out(JSON.stringify(result));
        out(t('export.done', { case: result.caseNumber, items: result.items.length, documents: result.documents, proxies: result.proxies, dir: result.root }));
        if (request.watermark) out(t('export.watermarked', { count: result.watermarked, recipient: request.watermark }));
      } catch (error) {
        if (error instanceof CaseNotFoundError) process.stderr.write(`${t('export.nocase', { case: error.caseNumber })}\n`);
        else if (error instanceof ExportDestinationError) process.stderr.write(`${t('export.notempty', { detail: error.message })}\n`);
        else if (error instanceof ExportIntegrityError) process.stderr.write(`${t('export.integrity', { detail: error.message })}\n`);
        else if (error instanceof WatermarkRecipientError || error instanceof WatermarkError) process.stderr.write(`${t('export.watermark', { detail: error.message })}\n`);
        else if (error instanceof (await import('./pdf-document.adapter.ts')).ReportFontError) process.stderr.write(`${t('report.font.missing', { file: error.file, detail: error.detail })}\n`);
        else throw error;
        throw new CliExit(EXIT_FAILURE);
      }
    });

  program
    .command('verify-package')
    .description('check an exported evidence package (folder or .zip) without the archive: BagIt manifests, the package signature, every custody event')
    .argument('<path>')
    .option('--trust <keyIds>', 'comma-separated key ids the package must be signed by (the bureau publishes its workstations\' keys)')
    .option('--json')
    .action(async (path: string, o: { trust?: string; json?: boolean }) => {
      lang();
      const trustedKeyIds = o.trust ? new Set(o.trust.split(',').map((k) => k.trim()).filter(Boolean)) : undefined;
      let source: OpenedPackage;
      try {
        source = await openPackage(path);
      } catch (error) {
        process.stderr.write(`${t('package.unreadable', { path, detail: (error as Error).message })}\n`);
        throw new CliExit(EXIT_FAILURE);
      }
      const report = await verifyPackage(source, { trustedKeyIds }).finally(() => source.close());
      if (o.json) out(JSON.stringify(report));
      else if (report.ok) out(t('package.ok', { case: report.caseNumber ?? '?', items: report.items, documents: report.documents, events: report.events, key: report.signedBy ?? '?' }));
      else {
        out(t('package.failed', { count: report.problems.length }));
        for (const p of report.problems) out(`  - ${p.file}: ${t(`package.problem.${p.code}`)} (${p.detail})`);
      }
      if (!report.ok) throw new CliExit(EXIT_FAILURE);
    });

  program
    .command('reindex')
    .description('rebuild the catalog database from MinIO alone (the write-once ledger, the originals, the derivatives) into an empty database')
    .option('--json')
    .action(async (o: { json?: boolean }) => {
      const cfg = config(lang());
      initLogging(cfg, true);
      const progress = !o.json && process.stderr.isTTY === true;
      const { reindex, close } = await createReindexer(cfg);
      let report: ReindexReport;
      try {
        report = await reindex.run(progress ? (phase, done, total) => process.stderr.write(`\r\x1b[2K${t('reindex.progress', { phase, done, total })}`) : undefined);
      } catch (error) {
        if (!(error instanceof ReindexRefusedError)) throw error;
        if (progress) process.stderr.write('\r\x1b[2K');
        if (o.json) out(JSON.stringify({ ok: false, code: error.code, message: error.message, problems: error.problems }));
        else {
          process.stderr.write(`${t('reindex.refused', { detail: error.message })}\n`);
          for (const p of error.problems) process.stderr.write(`  - ${p}\n`);
        }
        throw new CliExit(EXIT_FAILURE);
      } finally {
        await close();
      }
      if (progress) process.stderr.write('\r\x1b[2K');
      const ok = report.originalsMissing.length === 0;
      if (o.json) out(JSON.stringify({ ok, ...report }));
      else {
        out(t('reindex.done', { events: report.events, items: report.items, documents: report.documents, cases: report.cases, records: report.accessRecords, seconds: report.seconds.toFixed(1) }));
        out(t('reindex.users'));
        if (report.accessSealsWithoutRecords.length > 0) out(t('reindex.sealsWithoutRecords', { count: report.accessSealsWithoutRecords.length }));
        if (report.skipped.length > 0) out(t('reindex.skipped', { count: report.skipped.length }));
        if (!ok) {
          out(t('reindex.missing', { count: report.originalsMissing.length }));
          for (const id of report.originalsMissing) out(`  - ${id}`);
        }
      }
      // Rebuilt, but storage lacks originals the ledger recorded: the operator must know.
      if (!ok) throw new CliExit(EXIT_FAILURE);
    });

  program
    .command('workers')
    .description('serve the shared queues (catalog, metadata, transcode, fixity) on this host')
    .action(async () => {
      const { runWorkers } = await import('./daemon.ts');
      await runWorkers(config(lang()));
    });

  program
    .command('serve')
    .description('run the archive server (HTTP API for custodians and case systems)')
    .action(async () => {
      const { runServer } = await import('./serve.ts');
      await runServer(config(lang()));
    });

  registerAdminCommands(program, lang);

  program
    .command('jobs')
    .description('queue depths, active jobs and failures')
    .option('--json')
    .action(async (o: { json?: boolean }) => {
      const cfg = config(lang());
      const data = await withRuntime(cfg, true, async (rt) => {
        await rt.queue.assertReachable();
        return {
          queues: await rt.queue.counts(),
          active: await rt.queue.active(),
          failed: await rt.queue.failed(),
          // Stored originals that failed their scheduled check: an alert, whatever the queues say.
          fixityFailed: await rt.fixity.failures(50),
        };
      });
      if (o.json) return out(JSON.stringify(data));
      for (const q of data.queues) out(`${q.queue.padEnd(28)} ${Object.entries(q.counts).map(([k, v]) => `${k}=${v}`).join(' ')}`);
      for (const a of data.active) out(`  active  ${a.id}  ${JSON.stringify(a.progress)}`);
      for (const f of data.failed) out(`  failed  ${f.id}  (${f.attempts})  ${f.reason}`);
      if (data.fixityFailed.length > 0) out(t('fixity.failures', { count: data.fixityFailed.length }));
      for (const f of data.fixityFailed) out(`  fixity-failed  ${f.evidenceId}  ${f.at ?? '-'}  ${f.problems.join('; ')}`);
    });

  program
    .command('demo')
    .description('generate a recorder with ffmpeg, dock it and ingest it on the local stack')
    .option('--files <n>', 'recordings to generate', (v) => Number.parseInt(v, 10), 4)
    .option('--seconds <n>', 'length of each recording', (v) => Number.parseInt(v, 10), 5)
    .action(async (o: { files: number; seconds: number }) => {
      const { runDemo } = await import('./demo.ts');
      const code = await runDemo(config(lang()), o);
      if (code !== 0) throw new CliExit(code);
    });

  return program;
}

/** Units, users, API keys and the recorder registry, from a trusted workstation (as `cli@<workstation>`). */
function registerAdminCommands(program: Command, lang: () => string | undefined): void {
  const by = (cfg: EvidockConfig) => `cli@${cfg.workstationId}`;
  const json = (value: unknown) => out(JSON.stringify(value, null, 2));

  // Preservation: who may keep, hold and delete records is a custodian's decision, by name.
  const custodian = async (rt: Runtime, name: string): Promise<string> => {
    const u = await rt.identity.user(name);
    if (u.role !== 'custodian' || u.disabledAt !== null) {
      throw new ArchiveError('NOT_A_CUSTODIAN', 403, `${name} is not an active custodian`, `${name} 不是在岗的证据管理员`);
    }
    return u.name;
  };
  const reasonOf = (reason: string) => {
    if (reason.trim().length < 2) throw new ArchiveError('INVALID_REQUEST', 400, 'a reason is required', '必须填写事由');
    return reason.trim();
  };

  const retention = program.command('retention').description('retention classes and object-lock dates (保管期限)');
  retention
    .command('apply')
    .description('decide and apply the retention of one record, or of all (repairs what a storage outage left)')
    .argument('[evidenceId]')
    .option('--all')
    .option('--json')
    .action(async (id: string | undefined, o: { all?: boolean; json?: boolean }) => {
      const cfg = config(lang());
      const rows = await withRuntime(cfg, true, async (rt) => {
        const ids = id ? [(await rt.evidence.find(id)).id] : o.all ? await rt.catalog.allEvidenceIds() : [];
        if (ids.length === 0) throw new ArchiveError('INVALID_REQUEST', 400, 'give an evidence id or --all', '请指定证据编号或 --all');
        const out = [];
        for (const e of ids) out.push(await rt.preservation.apply(e, { kind: 'workstation', id: cfg.workstationId }, 'retention apply'));
        return out;
      });
      if (o.json) return json(rows);
      for (const r of rows) out(t('retention.row', { id: r.evidenceId, class: t(`retention.class.${r.class}`), until: formatLocalTime(r.retainUntil, cfg.ingest.recorderTimeZone), hold: r.legalHold ? t('retention.held') : '' }));
    });

  program
    .command('hold')
    .description('set (or --release) the legal hold of a record: it cannot be purged whatever its retention')
    .argument('<evidenceId>')
    .requiredOption('--reason <text>')
    .requiredOption('--by <custodian>')
    .option('--release')
    .action(async (id: string, o: { reason: string; by: string; release?: boolean }) => {
      const cfg = config(lang());
      const row = await withRuntime(cfg, true, async (rt) => rt.preservation.holdItem((await rt.evidence.find(id)).id, !o.release, reasonOf(o.reason), await custodian(rt, o.by)));
      out(t(o.release ? 'hold.released' : 'hold.set', { id: row.evidenceId }));
    });

  const purge = program.command('purge').description('delete records whose retention ran out: proposed by one custodian, approved by another');
  purge
    .command('propose')
    .requiredOption('--reason <text>')
    .requiredOption('--by <custodian>')
    .option('--json')
    .action(async (o: { reason: string; by: string; json?: boolean }) => {
      const cfg = config(lang());
      const run = await withRuntime(cfg, true, async (rt) => rt.preservation.proposePurge(await custodian(rt, o.by), reasonOf(o.reason)));
      if (o.json) return json(run);
      out(t('purge.proposed', { run: run.id, items: run.evidenceIds.length }));
    });
  purge
    .command('approve')
    .argument('<runId>')
    .requiredOption('--by <custodian>', 'a custodian other than the one who proposed it')
    .option('--refuse', 'refuse the run instead')
    .option('--reason <text>')
    .action(async (runId: string, o: { by: string; refuse?: boolean; reason?: string }) => {
      const cfg = config(lang());
      const run = await withRuntime(cfg, true, async (rt) => rt.preservation.decidePurge(runId, await custodian(rt, o.by), !o.refuse, o.reason ?? null));
      out(t(run.status === 'approved' ? 'purge.approved' : 'purge.refused', { run: run.id, items: run.evidenceIds.length }));
    });
  purge
    .command('run')
    .argument('<runId>')
    .requiredOption('--by <custodian>')
    .option('--json')
    .action(async (runId: string, o: { by: string; json?: boolean }) => {
      const cfg = config(lang());
      const result = await withRuntime(cfg, true, async (rt) => rt.preservation.executePurge(runId, await custodian(rt, o.by)));
      if (o.json) out(JSON.stringify(result));
      else {
        out(t('purge.done', { run: runId, purged: result.purged.length, skipped: result.skipped.length, failed: result.failed.length }));
        for (const s of result.skipped) out(`  - ${s.evidenceId}: ${t(`purge.why.${s.why}`)}`);
        for (const f of result.failed) out(`  - ${f.evidenceId}: ${f.error}`);
      }
      if (result.failed.length > 0) throw new CliExit(EXIT_FAILURE);
    });
  purge
    .command('list')
    .option('--json')
    .action(async (o: { json?: boolean }) => {
      const runs = await withRuntime(config(lang()), true, (rt) => rt.retention.runs());
      if (o.json) return json(runs);
      for (const r of runs) out(`${r.id}  ${r.status}  ${r.evidenceIds.length}  ${r.proposedBy}${r.decidedBy ? ` → ${r.decidedBy}` : ''}  ${r.reason}`);
    });

  const kase = program.command('case').description('a case\'s life: end of its action, archiving within 30 days, major cases, holds');
  kase
    .command('end')
    .argument('<caseNumber>')
    .requiredOption('--date <date>', 'the day its enforcement action ended (YYYY-MM-DD or ISO time)')
    .requiredOption('--by <custodian>')
    .action(async (n: string, o: { date: string; by: string }) => {
      const cfg = config(lang());
      await withRuntime(cfg, true, async (rt) => rt.lifecycle.end(n, new Date(o.date), await custodian(rt, o.by)));
      out(t('case.ended', { case: n, days: cfg.cases.archiveDays }));
    });
  kase
    .command('archive')
    .argument('<caseNumber>')
    .requiredOption('--by <custodian>')
    .option('--reason <text>', 'recorded with the package', '归档')
    .option('--json')
    .action(async (n: string, o: { by: string; reason: string; json?: boolean }) => {
      const cfg = config(lang());
      const done = await withRuntime(cfg, true, async (rt) => rt.lifecycle.archive(n, await custodian(rt, o.by), reasonOf(o.reason)));
      if (o.json) return out(JSON.stringify(done));
      out(t('case.archived', { case: n, items: done.items, key: done.key, size: formatBytes(done.size) }));
    });
  kase
    .command('major')
    .argument('<caseNumber>')
    .requiredOption('--reason <text>')
    .requiredOption('--by <custodian>')
    .action(async (n: string, o: { reason: string; by: string }) => {
      const cfg = config(lang());
      const ids = await withRuntime(cfg, true, async (rt) => rt.lifecycle.markMajor(n, reasonOf(o.reason), await custodian(rt, o.by)));
      out(t('case.major', { case: n, items: ids.length }));
    });
  kase
    .command('hold')
    .argument('<caseNumber>')
    .requiredOption('--reason <text>')
    .requiredOption('--by <custodian>')
    .option('--release')
    .action(async (n: string, o: { reason: string; by: string; release?: boolean }) => {
      const cfg = config(lang());
      const ids = await withRuntime(cfg, true, async (rt) => rt.preservation.holdCase(n, !o.release, reasonOf(o.reason), await custodian(rt, o.by)));
      out(t(o.release ? 'case.holdReleased' : 'case.held', { case: n, items: ids.length }));
    });
  kase
    .command('overdue')
    .description('cases ended but not archived (days left of the 30), and records still missing a required field, per officer and per unit')
    .option('--json')
    .action(async (o: { json?: boolean }) => {
      const report = await withRuntime(config(lang()), true, (rt) => rt.lifecycle.overdue());
      if (o.json) return out(JSON.stringify(report));
      out(t('overdue.cases', { count: report.cases.length, days: report.archiveDays }));
      for (const c of report.cases) out(`  ${c.caseNumber}  ${t(c.pastDue ? 'overdue.pastDue' : 'overdue.left', { days: Math.abs(c.daysLeft) })}`);
      out(t('overdue.fields', { days: report.missingFields.graceDays }));
      for (const r of report.missingFields.byOfficer) out(`  ${r.officerId ?? t('overdue.noOfficer')}  ${r.items}`);
      out(t('overdue.fieldsByUnit'));
      for (const r of report.missingFields.byUnit) out(`  ${r.unitId ?? t('overdue.noUnit')}  ${r.items}`);
    });

  registerRedactCommands(program, lang, custodian);
  registerShareCommands(program, lang, custodian);

  const unit = program.command('unit').description('enforcement units (执法单位)');
  unit
    .command('add')
    .argument('<id>')
    .argument('<name>')
    .option('--parent <id>', 'the unit it belongs to (none: a root, e.g. a province)')
    .action(async (id: string, name: string, o: { parent?: string }) => {
      const cfg = config(lang());
      await withRuntime(cfg, true, (rt) => rt.identity.addUnit({ id, name, parentId: o.parent ?? null }, by(cfg)));
      out(t('admin.unitAdded', { id, name }));
    });
  unit
    .command('list')
    .option('--json')
    .action(async (o: { json?: boolean }) => {
      const units = await withRuntime(config(lang()), true, (rt) => rt.identity.units());
      if (o.json) return json(units.map((u) => ({ id: u.id, name: u.name, parentId: u.parentId, path: u.path })));
      for (const u of units) out(`${'  '.repeat(u.path.split('/').length - 3)}${u.id}  ${u.name}`);
    });

  const user = program.command('user').description('people who log in to the archive server');
  user
    .command('add')
    .argument('<name>')
    .requiredOption('--role <role>', 'officer | custodian | supervisor | auditor | admin')
    .requiredOption('--unit <id>', 'a unit it is scoped to (repeat for more)', collect)
    .option('--officer <number>', 'officer number (role officer: its own recordings)')
    .option('--display-name <text>')
    .requiredOption('--password-stdin', 'read the first password from standard input (never from the command line)')
    .action(async (name: string, o: { role: string; unit: string[]; officer?: string; displayName?: string }) => {
      const cfg = config(lang());
      const password = await readSecret();
      await withRuntime(cfg, true, (rt) =>
        rt.identity.addUser({ name, role: o.role, unitIds: o.unit, officerId: o.officer ?? null, displayName: o.displayName ?? null, password }, by(cfg)),
      );
      out(t('admin.userAdded', { name, role: o.role }));
    });
  user
    .command('list')
    .option('--json')
    .action(async (o: { json?: boolean }) => {
      const users = await withRuntime(config(lang()), true, (rt) => rt.identity.users());
      const rows = users.map((u) => ({ name: u.name, role: u.role, officerId: u.officerId, units: u.unitIds, disabled: u.disabledAt !== null, locked: (u.lockedUntil?.getTime() ?? 0) > Date.now() }));
      if (o.json) return json(rows);
      for (const r of rows) out(`${r.name}  ${r.role}  ${r.units.join(',')}${r.officerId ? `  ${r.officerId}` : ''}${r.disabled ? '  (disabled)' : ''}${r.locked ? '  (locked)' : ''}`);
    });
  for (const [command, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    user
      .command(command)
      .argument('<name>')
      .action(async (name: string) => {
        const cfg = config(lang());
        await withRuntime(cfg, true, (rt) => rt.identity.setDisabled(name, disabled, by(cfg)));
        out(t('admin.userChanged', { name }));
      });
  }
  user
    .command('passwd')
    .argument('<name>')
    .requiredOption('--password-stdin', 'read the new password from standard input; the user changes it at next login')
    .action(async (name: string) => {
      const cfg = config(lang());
      const password = await readSecret();
      await withRuntime(cfg, true, (rt) => rt.identity.resetPassword(name, password, by(cfg)));
      out(t('admin.userChanged', { name }));
    });

  const apikey = program.command('apikey').description('API keys of case-management systems');
  apikey
    .command('create')
    .argument('<name>')
    .option('--role <role>', 'case-system | auditor', 'case-system')
    .requiredOption('--unit <id>', 'a unit it is scoped to (repeat for more)', collect)
    .option('--json')
    .action(async (name: string, o: { role: string; unit: string[]; json?: boolean }) => {
      const cfg = config(lang());
      const key = await withRuntime(cfg, true, (rt) => rt.identity.createKey({ name, role: o.role, unitIds: o.unit }, by(cfg)));
      if (o.json) return json(key);
      out(t('admin.keyCreated', { id: key.id }));
      out(key.key);
    });
  apikey
    .command('list')
    .option('--json')
    .action(async (o: { json?: boolean }) => {
      const keys = await withRuntime(config(lang()), true, (rt) => rt.identity.keys());
      const rows = keys.map((k) => ({ id: k.id, name: k.name, role: k.role, units: k.unitIds, revoked: k.revokedAt !== null, lastUsedAt: k.lastUsedAt?.toISOString() ?? null }));
      if (o.json) return json(rows);
      for (const r of rows) out(`${r.id}  ${r.name}  ${r.role}  ${r.units.join(',')}${r.revoked ? '  (revoked)' : ''}`);
    });
  apikey
    .command('revoke')
    .argument('<id>')
    .action(async (id: string) => {
      const cfg = config(lang());
      await withRuntime(cfg, true, (rt) => rt.identity.revokeKey(id, by(cfg)));
      out(t('admin.keyRevoked', { id }));
    });

  const recorder = program.command('recorder').description('the recorder registry (serial → officer, unit)');
  recorder
    .command('add')
    .argument('<serial>')
    .option('--officer <number>')
    .option('--officer-name <name>')
    .option('--unit <id>')
    .action(async (serial: string, o: { officer?: string; officerName?: string; unit?: string }) => {
      const cfg = config(lang());
      await withRuntime(cfg, true, (rt) =>
        rt.identity.registerRecorder({ serial, ...(o.officer ? { officerId: o.officer } : {}), ...(o.officerName ? { officerName: o.officerName } : {}), ...(o.unit ? { unitId: o.unit } : {}) }, by(cfg)),
      );
      out(t('admin.recorderAdded', { serial }));
    });
  recorder
    .command('list')
    .option('--json')
    .action(async (o: { json?: boolean }) => {
      const regs = await withRuntime(config(lang()), true, (rt) => rt.catalog.registeredRecorders());
      const rows = regs.map((r) => ({ serial: r.serial, officerId: r.officerId ?? null, officerName: r.officerName ?? null, unitId: r.unitId ?? null }));
      if (o.json) return json(rows);
      for (const r of rows) out(`${r.serial}  ${r.officerId ?? '-'}  ${r.officerName ?? '-'}  ${r.unitId ?? '-'}`);
    });
  recorder
    .command('remove')
    .argument('<serial>')
    .action(async (serial: string) => {
      const cfg = config(lang());
      await withRuntime(cfg, true, (rt) => rt.identity.unregisterRecorder(serial, by(cfg)));
      out(t('admin.recorderRemoved', { serial }));
    });
}

/** Share links, their receipts and disclosure copies, by a custodian named with --by (a trusted workstation). */
function registerShareCommands(program: Command, lang: () => string | undefined, custodian: (rt: Runtime, name: string) => Promise<string>): void {
  const callerFor = async (rt: Runtime, name: string) => ({
    principal: await rt.identity.principalOfUser(await rt.identity.user(await custodian(rt, name))),
    ip: null,
    userAgent: `evidock-cli@${rt.config.workstationId}`,
  });
  const share = program.command('share').description('share links for a named recipient: view or download, until an expiry, watermarked (受控共享)');
  share
    .command('create')
    .option('--case <number>', 'share every item of the case')
    .option('--item <evidenceId>', 'an item to share (repeatable)', collect)
    .requiredOption('--to <recipient>', 'who the link is for (burned into the copies, named in the events and the receipt)')
    .requiredOption('--by <custodian>')
    .option('--mode <mode>', 'view | download', 'view')
    .option('--expires <iso>', 'when the link stops opening (default: sharing.defaultDays)')
    .option('--approval <id>', 'the approved access request the share is made under')
    .option('--no-watermark', 'give the plain proxy (no recipient burned in)')
    .option('--purpose <text>')
    .option('--json')
    .action(async (o: { case?: string; item?: string[]; to: string; by: string; mode: string; expires?: string; approval?: string; watermark: boolean; purpose?: string; json?: boolean }) => {
      const cfg = config(lang());
      const made = await withRuntime(cfg, true, async (rt) => {
        const ids = [];
        for (const id of o.item ?? []) ids.push((await rt.evidence.find(id)).id);
        return rt.sharing.create(await callerFor(rt, o.by), {
          ...(o.case ? { caseNumber: o.case } : {}),
          ...(ids.length ? { evidenceIds: ids } : {}),
          recipient: o.to,
          mode: o.mode as 'view' | 'download',
          ...(o.expires ? { expiresAt: parseDate(o.expires) } : {}),
          watermark: o.watermark,
          approvalId: o.approval ?? null,
          purpose: o.purpose ?? null,
        });
      });
      if (o.json) return out(JSON.stringify({ shareId: made.share.id, token: made.token, link: made.link, expiresAt: made.share.expiresAt.toISOString(), items: made.share.items }));
      out(t('share.created', { id: made.share.id, items: made.share.items.length, recipient: made.share.recipient, mode: t(`share.mode.${made.share.mode}`), expires: formatLocalTime(made.share.expiresAt, cfg.ingest.recorderTimeZone) }));
      out(t('share.link', { link: made.link }));
    });
  share
    .command('list')
    .option('--case <number>')
    .option('--json')
    .action(async (o: { case?: string; json?: boolean }) => {
      const cfg = config(lang());
      const rows = await withRuntime(cfg, true, (rt) => rt.sharing.all(o.case ? { caseNumber: o.case } : {}));
      const now = new Date();
      if (o.json) return out(JSON.stringify({ shares: rows.map((r) => ({ ...r, state: shareState(r, now) })) }));
      if (rows.length === 0) return out(t('share.none'));
      for (const r of rows) out(`${r.id.slice(0, 8)}  ${t(`share.state.${shareState(r, now)}`)}  ${r.recipient}  ${t(`share.mode.${r.mode}`)}  ${r.caseNumber ?? '-'}  ${r.items.length}  ${formatLocalTime(r.expiresAt, cfg.ingest.recorderTimeZone)}`);
    });
  share
    .command('revoke')
    .argument('<shareId>')
    .requiredOption('--by <custodian>')
    .requiredOption('--reason <text>')
    .action(async (id: string, o: { by: string; reason: string }) => {
      const cfg = config(lang());
      const row = await withRuntime(cfg, true, async (rt) => rt.sharing.revoke(await callerFor(rt, o.by), (await rt.sharing.byId(id)).id, o.reason));
      out(t('share.revoked', { id: row.id }));
    });
  share
    .command('receipt')
    .argument('<shareId>')
    .requiredOption('--out <file>', 'FILE.pdf or FILE.html')
    .action(async (id: string, o: { out: string }) => {
      const cfg = config(lang());
      const pdf = /\.pdf$/i.test(o.out);
      if (!pdf && !/\.html?$/i.test(o.out)) {
        process.stderr.write(`${t('share.receipt.format')}\n`);
        throw new CliExit(EXIT_FAILURE);
      }
      const receipt = await withRuntime(cfg, true, async (rt) => rt.sharing.receipt(await rt.sharing.byId(id)));
      const content = pdf
        ? await (await import('./share-receipt-pdf.adapter.ts')).shareReceiptPdf(receipt, { file: cfg.reports.fontFile, face: cfg.reports.fontFace })
        : shareReceiptHtml(receipt);
      await writeReportFile(o.out, content);
      out(t('share.receipt', { file: o.out }));
    });

  program
    .command('disclose')
    .description('a de-identified copy of a case for publication (公示): redacted clips (else the proxies) and stills, and metadata with only the allowed fields, personal data masked')
    .requiredOption('--case <number>')
    .requiredOption('--to <dir>', 'a new or empty folder')
    .requiredOption('--by <custodian>')
    .requiredOption('--approval <id>', 'the approved access request (export) the disclosure is made under')
    .option('--name <name>', 'a person whose name is to be masked wherever it appears (repeatable)', collect)
    .option('--keep <name>', "the party's name, where the decision names a natural person and it may stay (repeatable)", collect)
    .option('--json')
    .action(async (o: { case: string; to: string; by: string; approval: string; name?: string[]; keep?: string[]; json?: boolean }) => {
      const cfg = config(lang());
      const result = await withRuntime(cfg, true, async (rt) =>
        rt.disclosure.disclose(await callerFor(rt, o.by), { caseNumber: o.case, approvalId: o.approval, names: o.name ?? [], keep: o.keep ?? [] }, ExportFolder.create(o.to)),
      );
      if (o.json) return out(JSON.stringify(result));
      out(t('disclose.done', { case: result.caseNumber, files: result.files.length, dir: result.root, masked: Object.values(result.masked).reduce((n, v) => n + (v ?? 0), 0) }));
      const unredacted = result.files.filter((f) => !f.redacted).length;
      if (unredacted > 0) out(t('disclose.unredacted', { count: unredacted }));
      if (result.withheld.length > 0) out(t('disclose.withheld', { count: result.withheld.length }));
      out(t('disclose.manifest', { hash: result.manifestSha256 }));
    });
}

/** Redaction projects (脱敏处理) of a video item: save versions, list them, render copies. */
function registerRedactCommands(program: Command, lang: () => string | undefined, custodian: (rt: Runtime, name: string) => Promise<string>): void {
  const redact = program.command('redact').description('redaction projects: boxes, blur and audio ranges hidden in copies of a recording (the original is never changed)');
  redact
    .command('save')
    .description('save a spec (JSON: boxes, blurRanges, audioRanges) as the next version of a project, or as a new project')
    .argument('<evidenceId>')
    .requiredOption('--spec <file>', 'the spec, a JSON file')
    .requiredOption('--by <custodian>')
    .option('--project <id>', 'the project to add a version to (default: a new project)')
    .option('--note <text>')
    .option('--json')
    .action(async (id: string, o: { spec: string; by: string; project?: string; note?: string; json?: boolean }) => {
      const cfg = config(lang());
      let spec: unknown;
      try {
        spec = await readJsonFile(o.spec);
      } catch (error) {
        setLocale(cfg.locale);
        process.stderr.write(`${t('redact.badSpec', { file: o.spec, message: (error as Error).message })}\n`);
        throw new CliExit(EXIT_FAILURE);
      }
      const saved = await withRuntime(cfg, true, async (rt) => {
        const by = await custodian(rt, o.by);
        return rt.redactions.save((await rt.evidence.find(id)).id, spec, { author: by, actor: { kind: 'user', id: by }, projectId: o.project ?? null, note: o.note ?? null });
      });
      if (o.json) return out(JSON.stringify({ projectId: saved.projectId, version: saved.version, spec: saved.spec, event: saved.event }));
      out(t('redact.saved', { project: saved.projectId, version: saved.version, seq: saved.event.seq }));
    });
  redact
    .command('list')
    .description("the item's projects, their versions and rendered copies")
    .argument('<evidenceId>')
    .option('--json')
    .action(async (id: string, o: { json?: boolean }) => {
      const cfg = config(lang());
      const projects = await withRuntime(cfg, true, async (rt) => rt.redactions.list((await rt.evidence.find(id)).id));
      if (o.json) return out(JSON.stringify({ projects }));
      if (projects.length === 0) return out(t('redact.none'));
      const at = (d: Date) => formatLocalTime(d, cfg.ingest.recorderTimeZone);
      for (const p of projects) {
        out(t('redact.project', { project: p.projectId, by: p.createdBy, at: at(p.createdAt) }));
        for (const v of p.versions) {
          const state = `${t(`redact.state.${v.render.state}`)}${v.render.file ? `  ${v.render.file.objectKey}` : ''}${v.render.reason ? `  (${v.render.reason})` : ''}`;
          out(t('redact.version', { version: v.version, at: at(v.savedAt), author: v.author, boxes: v.spec.boxes.length, blur: v.spec.blurRanges.length, audio: v.spec.audioRanges.length, state }) + (v.note ? `  ${v.note}` : ''));
        }
      }
    });
  redact
    .command('render')
    .description('make the redacted copy of a version (the newest by default) on the shared transcode queue')
    .argument('<evidenceId>')
    .requiredOption('--project <id>')
    .option('--version <n>', 'the version (default: the newest)', (v) => Number.parseInt(v, 10))
    .option('--wait', 'until the copy is made (serves the transcode queue itself when no host does)')
    .option('--json')
    .action(async (id: string, o: { project: string; version?: number; wait?: boolean; json?: boolean }) => {
      const cfg = config(lang());
      if (o.version !== undefined && (!Number.isInteger(o.version) || o.version < 1)) {
        throw new ArchiveError('INVALID_REQUEST', 400, '--version takes a whole number from 1', '--version 须为从 1 起的整数');
      }
      const result = await withRuntime(cfg, true, async (rt) => {
        const item = await rt.evidence.find(id);
        const asked = await rt.redactions.requestRender(item.id, o.project, o.version ?? null);
        if (!o.wait || asked.state === 'rendered') return { ...asked, reason: null as string | null };
        if (!(await rt.queue.hasWorkers(QueueName.Transcode))) rt.startWorkers([QueueName.Transcode]);
        for (;;) {
          const now = await rt.redactions.renderState(item.id, asked.projectId, asked.version);
          if (now.state === 'rendered' || now.state === 'failed') return { projectId: asked.projectId, version: asked.version, state: now.state, file: now.file, reason: now.reason };
          await new Promise((r) => setTimeout(r, 500));
        }
      });
      if (o.json) out(JSON.stringify(result));
      else if (result.state === 'rendered' && result.file) {
        out(t('redact.rendered', { project: result.projectId, version: result.version, key: result.file.objectKey, sha256: result.file.sha256, size: formatBytes(result.file.size) }));
      } else if (result.state === 'failed') out(t('redact.failed', { reason: result.reason ?? '' }));
      else out(t('redact.queued', { project: result.projectId, version: result.version }));
      if (result.state === 'failed') throw new CliExit(EXIT_FAILURE);
    });
  redact
    .command('suggest')
    .description('face suggestions: frames of the original sampled, faces found offline and tracked into proposed boxes, on the shared transcode queue; accept or reject them in the web editor')
    .argument('<evidenceId>')
    .requiredOption('--by <custodian>', 'who asks (recorded with the run)')
    .option('--wait', 'until the run ends, with its progress (serves the transcode queue itself when no host does)')
    .option('--json')
    .action(async (id: string, o: { by: string; wait?: boolean; json?: boolean }) => {
      const cfg = config(lang());
      const run = await withRuntime(cfg, true, async (rt) => {
        const by = await custodian(rt, o.by);
        const item = await rt.evidence.find(id);
        const asked = await rt.suggestions.request(item.id, by);
        if (!o.wait) return asked;
        if (!(await rt.queue.hasWorkers(QueueName.Transcode))) rt.startWorkers([QueueName.Transcode]);
        let shown = -1;
        for (;;) {
          const now = (await rt.suggestions.run(item.id, asked.id))!;
          if (now.state === 'done' || now.state === 'skipped' || now.state === 'failed') return now;
          const percent = now.state === 'running' && now.progress !== null ? Math.floor(now.progress / 10) * 10 : -1;
          if (percent > shown && !o.json) {
            shown = percent;
            process.stderr.write(`${t('redact.suggestProgress', { percent })}\n`);
          }
          await new Promise((r) => setTimeout(r, 500));
        }
      });
      if (o.json) out(JSON.stringify({ run }));
      else if (run.state === 'done') {
        out(t('redact.suggested', { count: run.suggestions.length, frames: run.frameCount ?? 0, fps: run.framesPerSecond ?? 0, model: run.model ?? '', run: run.id }));
        if (run.warning) out(t('redact.suggestWarning', { warning: run.warning }));
      } else if (run.state === 'skipped') out(t('redact.suggestSkipped', { warning: run.warning ?? '' }));
      else if (run.state === 'failed') out(t('redact.suggestFailed', { reason: run.warning ?? '' }));
      else out(t('redact.suggestQueued', { run: run.id }));
      if (run.state === 'failed') throw new CliExit(EXIT_FAILURE);
    });
}

/** A password from standard input (its first line), so it never shows in `ps` or shell history. */
async function readSecret(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CliExit) return error.code;
    if (isDatabaseUnavailable(error)) {
      process.stderr.write(`${t('error.unavailable', { service: 'PostgreSQL' })}\n`);
      return EXIT_UNAVAILABLE;
    }
    if (error instanceof ObjectStoreUnavailableError) {
      process.stderr.write(`${t('error.unavailable', { service: 'MinIO' })}\n`);
      return EXIT_UNAVAILABLE;
    }
    if (error instanceof QueueUnavailableError) {
      process.stderr.write(`${t('error.unavailable', { service: 'Redis' })}\n`);
      return EXIT_UNAVAILABLE;
    }
    if (error instanceof ArchiveError) {
      process.stderr.write(`${t('admin.refused', { message: currentLocale() === 'en' ? error.message : error.messageZh })}\n`);
      return EXIT_FAILURE;
    }
    if (error instanceof EvidenceNotFoundError) {
      process.stderr.write(`${t(error.ambiguous ? 'show.ambiguous' : 'show.notfound', { id: error.id })}\n`);
      return EXIT_FAILURE;
    }
    process.stderr.write(`${t('error.generic', { message: (error as Error).message })}\n`);
    return EXIT_FAILURE;
  }
}
