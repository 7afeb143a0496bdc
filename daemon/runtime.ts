import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AccessService } from '../archive/access.service.ts';
import { bagName, CaseExportService } from '../archive/case-export.service.ts';
import { CaseLifecycleService } from '../archive/case-lifecycle.service.ts';
import { PreservationService } from '../archive/preservation.service.ts';
import { PreservationApi } from '../archive/preservation-api.service.ts';
import { RetentionRepository } from '../storage/retention.repository.ts';
import type { Actor } from '../storage/custody-chain.ts';
import { ExportFolder } from './export-folder.adapter.ts';
import { CaseService } from '../archive/case.service.ts';
import { DisclosureService } from '../archive/disclosure.service.ts';
import { SharingService } from '../archive/sharing.service.ts';
import { ShareRepository } from '../storage/share.repository.ts';
import { ShareCopyAdapter } from './share-copy.adapter.ts';
import { IdentityService } from '../archive/identity.service.ts';
import { WebhookService } from '../archive/webhook.service.ts';
import { EvidenceService } from '../archive/evidence.service.ts';
import { FIXITY_SCHEDULER, FixityService } from '../archive/fixity.service.ts';
import { RedactionService } from '../archive/redaction.service.ts';
import { ReportService } from '../archive/report.service.ts';
import { VerifyService } from '../archive/verify.service.ts';
import { keyDirOf, secretsOf, spoolDirOf, workDirOf } from '../config/config.loader.ts';
import type { EvidockConfig } from '../config/config.schema.ts';
import { configureLogging, moduleLogger } from '../config/logger.ts';
import { DirectoryDriver } from '../drivers/directory.driver.ts';
import { MassStorageDriver } from '../drivers/mass-storage.driver.ts';
import { AccessRepository } from '../storage/access.repository.ts';
import { CaseRepository } from '../storage/case.repository.ts';
import { CatalogRepository, type SessionRow } from '../storage/catalog.repository.ts';
import { IdentityRepository } from '../storage/identity.repository.ts';
import { WebhookRepository } from '../storage/webhook.repository.ts';
import { CustodyLedger } from '../storage/custody-ledger.service.ts';
import { FixityRepository } from '../storage/fixity.repository.ts';
import { loadOrCreateWorkstationKey } from '../storage/ledger-key.store.ts';
import { MinioObjectStore } from '../storage/minio.object-store.ts';
import { Database } from '../storage/postgres.database.ts';
import { writeAccessRecords, writeCatalogImage, writeLedger, writeLedgerTree } from '../storage/catalog-image.writer.ts';
import { ReindexService } from '../archive/reindex.service.ts';
import { RedactionRepository } from '../storage/redaction.repository.ts';
import { ReportRepository } from '../storage/report.repository.ts';
import { SpoolStore } from '../storage/spool.store.ts';
import { copyWithDigests, endIdleCopyThreads } from '../workers/acquire.copier.ts';
import { BullJobQueue, WorkerPool } from '../workers/bullmq.job-queue.ts';
import { FfmpegTranscoder, FfprobeProber } from '../workers/ffmpeg.adapter.ts';
import { IngestService } from '../workers/ingest.service.ts';
import { JobName, QueueName } from '../workers/job.types.ts';
import { LazyImageTool, LazyMetadataReader } from '../workers/lazy-media.adapter.ts';
import { MediaWorkspaces } from '../workers/media-workspace.ts';
import { MediaService } from '../workers/media.service.ts';
import { ProxyWatermarkService } from '../workers/proxy-watermark.service.ts';
import { RedactionRenderService } from '../workers/redaction-render.service.ts';
import { RedactionSuggestService } from '../workers/redaction-suggest.service.ts';
import { ProcessFaceDetectorLauncher } from '../workers/face-detector.process.ts';
import { RedactionSuggestionService } from '../archive/redaction-suggestion.service.ts';
import { RedactionSuggestionRepository } from '../storage/redaction-suggestion.repository.ts';
import { WebhookDeliveryService } from '../workers/webhook-delivery.service.ts';
import { FetchWebhookSender } from '../workers/webhook.http-sender.ts';
import { DockSessionService } from './dock-session.service.ts';
import { setLocale } from './i18n.ts';
import { evidockVersion, processAlive, thisProcessOwner } from './this-process.adapter.ts';
import { VolumeRegistry } from './volume.resolver.ts';

/**
 * The composition root: the one place where adapters are built from config and handed to
 * the services. Commands and the daemon take what they need from here.
 */
export interface Runtime {
  config: EvidockConfig;
  db: Database;
  catalog: CatalogRepository;
  objects: MinioObjectStore;
  ledger: CustodyLedger;
  spool: SpoolStore;
  queue: BullJobQueue;
  volumes: VolumeRegistry;
  ingest: IngestService;
  dock: DockSessionService;
  evidence: EvidenceService;
  verify: VerifyService;
  reports: ReportService;
  exports: CaseExportService;
  preservation: PreservationService;
  lifecycle: CaseLifecycleService;
  preservationApi: PreservationApi;
  retention: RetentionRepository;
  identity: IdentityService;
  access: AccessService;
  cases: CaseService;
  sharing: SharingService;
  disclosure: DisclosureService;
  webhooks: WebhookService;
  fixity: FixityService;
  media: MediaService;
  redactions: RedactionService;
  redactionRender: RedactionRenderService;
  suggestions: RedactionSuggestionService;
  redactionSuggest: RedactionSuggestService;
  pool: WorkerPool | null;
  /** Where media job progress goes (a sandboxed child points it at its current job). */
  setMediaProgress(sink: (evidenceId: string, percent: number, speed: number | null) => void): void;
  startWorkers(queues: readonly QueueName[]): WorkerPool;
  /** Milestones of the sessions whose jobs this process runs; the returned function unsubscribes. */
  onMilestone(listener: (session: SessionRow, milestone: 'safe-to-undock' | 'done') => void): () => void;
  close(): Promise<void>;
}

const TRANSCODE_SANDBOX = fileURLToPath(new URL('../workers/transcode.sandbox.js', import.meta.url));

const log = moduleLogger('runtime');

/** The level this process logs at; sandboxed children inherit it, so a quiet command stays quiet. */
let effectiveLogLevel: EvidockConfig['logLevel'] | null = null;

export function initLogging(config: EvidockConfig, quiet: boolean): void {
  setLocale(config.locale);
  effectiveLogLevel = quiet && !config.logFile ? 'warn' : config.logLevel;
  configureLogging({
    level: effectiveLogLevel,
    file: config.logFile,
    secrets: secretsOf(config),
  });
}

/**
 * What `evidock reindex` needs and nothing more: a migrated database and the object store.
 * Not the full runtime: that registers this workstation's key and imports the config's
 * recorders, and the rebuild must start from an empty catalog.
 */
export async function createReindexer(config: EvidockConfig): Promise<{ reindex: ReindexService; close(): Promise<void> }> {
  const db = new Database(config.postgres);
  await db.migrate();
  const objects = new MinioObjectStore(config.minio, config.retention);
  const reindex = new ReindexService({
    db,
    objects,
    writer: { writeLedger, writeLedgerTree, writeAccessRecords, writeCatalogImage },
    actionMarginMinutes: config.cases.actionMarginMinutes,
  });
  return { reindex, close: () => db.close() };
}

/**
 * `db`: a pool shared with other runtimes of this process, which close() leaves open. Only the
 * province simulation (scripts/simulate.ts) passes one: its hundred workstations in a few
 * processes cannot each open a pool of their own on one PostgreSQL server.
 */
export async function createRuntime(config: EvidockConfig, shared: { db?: Database } = {}): Promise<Runtime> {
  const db = shared.db ?? new Database(config.postgres);
  await db.migrate();
  const objects = new MinioObjectStore(config.minio, config.retention);
  await objects.ensureBuckets();
  const spool = new SpoolStore(spoolDirOf(config));
  await spool.init();
  const key = loadOrCreateWorkstationKey(keyDirOf(config), config.workstationId);
  const catalog = new CatalogRepository(db);
  // The registry is the catalog's; the config file's entries are taken into it once.
  const imported = await catalog.importRegistrations(config.recorders);
  if (imported.length > 0) log.info({ serials: imported }, 'recorder registrations imported from the config file');
  const ledger = new CustodyLedger(db, objects, key, config.workstationId);
  await ledger.registerKey();
  const queue = new BullJobQueue(config);
  const volumes = new VolumeRegistry([new MassStorageDriver(), new DirectoryDriver()]);
  const listeners: Array<(session: SessionRow, milestone: 'safe-to-undock' | 'done') => void> = [];
  let pool: WorkerPool | null = null;

  const identityRepo = new IdentityRepository(db);
  const hooks = new WebhookRepository(db);
  const webhooks = new WebhookService({ config, hooks, queue });
  const webhookDelivery = new WebhookDeliveryService({ config, hooks, sender: new FetchWebhookSender() });
  const accessRepo = new AccessRepository(db);
  const access = new AccessService({ config, db, access: accessRepo, catalog, identity: identityRepo, ledger });
  const caseRepo = new CaseRepository(db);
  const transcoder = new FfmpegTranscoder(config.media);
  const prober = new FfprobeProber(config.media);
  const workspaces = new MediaWorkspaces(workDirOf(config));
  const watermarker = new ProxyWatermarkService({ transcoder, prober, workspaces, settings: { ...config.media, fontFile: config.reports.fontFile } });
  const exports = new CaseExportService({
    workstationId: config.workstationId,
    softwareAgent: `evidock ${evidockVersion()}`,
    db,
    catalog,
    cases: caseRepo,
    ledger,
    objects,
    signer: ledger.signer(),
    watermarker,
    timeZone: config.ingest.recorderTimeZone,
    // pdfkit and the font load only when a package is made, not with every command.
    custodyPdf: async (report) => (await import('./custody-report-pdf.adapter.ts')).custodyReportPdf(report, { file: config.reports.fontFile, face: config.reports.fontFace }),
  });
  const sharing = new SharingService({
    sharing: config.sharing,
    timeZone: config.ingest.recorderTimeZone,
    db,
    catalog,
    shares: new ShareRepository(db),
    access,
    requests: accessRepo,
    ledger,
    objects,
    copies: new ShareCopyAdapter(objects, join(workDirOf(config), 'share-copies')),
    watermarker,
  });
  const disclosure = new DisclosureService({ db, catalog, cases: caseRepo, access, ledger, objects });
  const retentionRepo = new RetentionRepository(db);
  const preservation = new PreservationService({ config, db, catalog, cases: caseRepo, ledger, objects, repo: retentionRepo });
  // After a record's cases change: its retention follows. Storage being down must not undo
  // the change: the bucket's default retention still holds, `evidock retention apply` repairs.
  const retain = async (ids: readonly string[], actor: Actor, cause: string) => {
    for (const id of ids) {
      await preservation.apply(id, actor, cause).catch((e: Error) => log.warn({ evidenceId: id, cause, err: e.message }, 'retention not applied; run evidock retention apply'));
    }
  };
  const retainDocuments = async (caseNumber: string) => {
    await preservation.applyDocuments(caseNumber).then(
      () => undefined,
      (e: Error) => log.warn({ caseNumber, err: e.message }, 'document retention not applied; run evidock retention apply'),
    );
  };
  const cases = new CaseService({ config, db, cases: caseRepo, catalog, ledger, objects, spool, access, webhooks, exports, retain, retainDocuments });
  const lifecycle = new CaseLifecycleService({
    config,
    db,
    repo: retentionRepo,
    ledger,
    objects,
    preservation,
    pack: async (caseNumber, by, reason) => {
      const exportsDir = join(config.dataDir, 'exports');
      const folder = ExportFolder.temporary(exportsDir);
      try {
        const done = await exports.export({ caseNumber, by, reason, withProxies: false, destination: 'case archive (write-once storage)' }, folder);
        const path = join(exportsDir, `${done.exportId}.zip`);
        const zipped = await folder.writeZip(path, bagName(caseNumber, done.exportId));
        return { exportId: done.exportId, path, ...zipped, tagManifestSha256: done.tagManifestSha256, remove: () => ExportFolder.removeFile(path) };
      } finally {
        await folder.remove();
      }
    },
  });

  const ingest = new IngestService({
    config,
    db,
    catalog,
    ledger,
    objects,
    spool,
    volumes,
    queue,
    copy: copyWithDigests,
    endIdleCopyThreads,
    onProgress: (fileId, percent, bytes) => pool?.reportProgress(fileId, percent, bytes),
    onSessionMilestone: (session, milestone) => listeners.forEach((l) => l(session, milestone)),
    onCatalogued: async (tx, item) => [
      ...(await webhooks.publish(tx, 'evidence.stored', item.unitId, { evidenceId: item.id, sha256: item.sha256, caseNumbers: item.caseNumbers, officerId: item.officerId })),
      ...(await cases.matchArrival(tx, item)),
    ],
    announce: (ids) => webhooks.dispatch(ids),
    retain: (id) => retain([id], { kind: 'workstation', id: config.workstationId }, 'recorded'),
  });
  const metadata = new LazyMetadataReader();
  let mediaProgress: (evidenceId: string, percent: number, speed: number | null) => void = (id, percent) => pool?.reportProgress(id, percent, 0);
  const media = new MediaService({
    config,
    db,
    catalog,
    ledger,
    objects,
    prober,
    metadata,
    transcoder,
    images: new LazyImageTool(),
    workspaces,
    queue,
    onProgress: (id, percent, speed) => mediaProgress(id, percent, speed),
  });
  const redactionRepo = new RedactionRepository(db);
  const redactionRender = new RedactionRenderService({
    config,
    catalog,
    redactions: redactionRepo,
    objects,
    prober,
    transcoder,
    workspaces,
    derivatives: media,
    onProgress: (id, percent, speed) => mediaProgress(id, percent, speed),
  });
  const suggestionRepo = new RedactionSuggestionRepository(db);
  const redactionSuggest = new RedactionSuggestService({
    config,
    db,
    catalog,
    suggestions: suggestionRepo,
    ledger,
    objects,
    prober,
    transcoder,
    workspaces,
    detectors: new ProcessFaceDetectorLauncher(config.suggestions),
    onProgress: (id, percent, speed) => mediaProgress(id, percent, speed),
  });
  const redactions = new RedactionService({ db, catalog, repo: redactionRepo, ledger, queue, authorizedItem: (caller, id, action) => evidence.authorizedItem(caller, id, action), access });
  const dock = new DockSessionService({
    config,
    db,
    catalog,
    ledger,
    queue,
    ingest,
    remember: (id, v) => volumes.remember(id, v),
    owner: thisProcessOwner(config.workstationId),
    processAlive,
  });
  const verify = new VerifyService(db, catalog, ledger, objects, accessRepo);
  const evidence = new EvidenceService(db, catalog, ledger, { access, webhooks, retain });
  const fixity = new FixityService({ config, db, fixity: new FixityRepository(db), catalog, verify, ledger, webhooks });
  let leaseTimer: NodeJS.Timeout | null = null;

  const runtime: Runtime = {
    config,
    db,
    catalog,
    objects,
    ledger,
    spool,
    queue,
    volumes,
    ingest,
    dock,
    evidence,
    verify,
    reports: new ReportService(new ReportRepository(db)),
    exports,
    identity: new IdentityService({ config, db, identity: identityRepo, catalog, ledger }),
    access,
    cases,
    sharing,
    disclosure,
    preservation,
    lifecycle,
    preservationApi: new PreservationApi({ fixity, preservation, lifecycle, repo: retentionRepo, catalog }),
    retention: retentionRepo,
    webhooks,
    fixity,
    media,
    redactions,
    redactionRender,
    suggestions: new RedactionSuggestionService({ db, catalog, repo: suggestionRepo, redactions, ledger, queue, access }),
    redactionSuggest,
    setMediaProgress(sink) {
      mediaProgress = sink;
    },
    get pool() {
      return pool;
    },
    startWorkers(requested) {
      // A host with fixity off takes no ticks, so they go to the hosts that run the check.
      const queues = config.fixity.enabled ? requested : requested.filter((q) => q !== QueueName.Fixity);
      pool = new WorkerPool(
        config,
        {
          [JobName.Acquire]: (p, stopping) => ingest.handleAcquire(p, stopping),
          [JobName.Store]: (p, stopping) => ingest.handleStore(p, stopping),
          [JobName.Record]: (p) => ingest.handleRecord(p),
          [JobName.Clear]: (p) => ingest.handleClear(p),
          [JobName.Metadata]: (p, stopping) => media.handleMetadata(p, stopping),
          // Proxy and thumbnails normally run sandboxed (see below); these serve a pool
          // started without the sandbox.
          [JobName.Proxy]: (p, stopping) => media.handleProxy(p, stopping),
          [JobName.Thumbnails]: (p, stopping) => media.handleThumbnails(p, stopping),
          [JobName.Webhook]: (p) => webhookDelivery.handleWebhook(p),
          [JobName.Fixity]: (p, stopping) => fixity.handleFixity(p, stopping),
          [JobName.RedactionRender]: (p, stopping) => redactionRender.handleRedactionRender(p, stopping),
          [JobName.RedactionSuggest]: (p, stopping) => redactionSuggest.handleRedactionSuggest(p, stopping),
        },
        {
          queues,
          next: queue,
          onExhausted: (name, payload, reason) =>
            'fileId' in payload
              ? ingest.markFailed(payload, name, reason)
              : 'deliveryId' in payload
                ? webhookDelivery.markFailed(payload, reason)
                : 'scheduler' in payload
                  ? fixity.markFailed(payload, reason)
                  : 'runId' in payload
                    ? redactionSuggest.markFailed(payload, reason)
                    : 'projectId' in payload
                    ? redactionRender.markFailed(payload, reason)
                    : media.markFailed(payload, name, reason),
          sandboxed: { [QueueName.Transcode]: TRANSCODE_SANDBOX },
          // The sandboxed children rebuild this exact configuration.
          forkEnv: { EVIDOCK_CONFIG_JSON: JSON.stringify({ ...config, logLevel: effectiveLogLevel ?? config.logLevel }) },
        },
      );
      pool.start();
      if (queues.includes(QueueName.Fixity)) {
        queue
          .upsertScheduler(FIXITY_SCHEDULER, JobName.Fixity, { scheduler: FIXITY_SCHEDULER }, config.fixity.tickSeconds * 1000)
          .catch((error: Error) => log.warn({ err: error.message }, 'could not set up the fixity schedule; another host serving the queue may have'));
      }
      if (queues.includes(QueueName.Acquire)) {
        // This process runs the device jobs: it claims its dockings, keeps them claimed, and
        // takes over those whose process is gone (session-lease.ts).
        dock.serveDeviceQueues();
        const keep = () =>
          void dock.keepLeases().catch((error: Error) => log.warn({ err: error.message }, 'could not renew docking leases; retrying'));
        keep();
        leaseTimer = setInterval(keep, (config.ingest.sessionLeaseSeconds * 1000) / 3);
        leaseTimer.unref();
      }
      return pool;
    },
    onMilestone(listener) {
      listeners.push(listener);
      return () => {
        const at = listeners.indexOf(listener);
        if (at >= 0) listeners.splice(at, 1);
      };
    },
    async close() {
      if (leaseTimer) clearInterval(leaseTimer);
      await pool?.close();
      // Its jobs went back to their queues: the next process may take its dockings at once.
      await dock.releaseLeases().catch((error: Error) => log.warn({ err: error.message }, 'could not release docking leases; they lapse by themselves'));
      await ingest.settle();
      await metadata.close();
      await queue.close();
      // Its timers stop and an integration under way ends before the pool does.
      await ledger.close();
      if (!shared.db) await db.close();
    },
  };
  return runtime;
}
