import { createHash, randomUUID } from 'node:crypto';
import { UnrecoverableError } from 'bullmq';
import type { EvidockConfig } from '../config/config.schema.ts';
import { moduleLogger } from '../config/logger.ts';
import type { CatalogRepository, EvidenceRow, MediaFacts } from '../storage/catalog.repository.ts';
import type { CustodyEvent, CustodyEventInput, JsonValue } from '../storage/custody-chain.ts';
import type { CustodyLedger } from '../storage/custody-ledger.service.ts';
import { originalKey, type ObjectStore } from '../storage/object-store.ts';
import type { Database } from '../storage/postgres.database.ts';
import { posterFrameArgs, proxyAudioArgs, proxyVideoArgs, storyboardFramesArgs, storyboardInterval } from './ffmpeg-args.ts';
import { storedProbeInfo } from './ffprobe.parser.ts';
import type { JobQueuePort } from './ingest.service.ts';
import { JobName, JobStatus, type MediaJobPayload } from './job.types.ts';
import { decideMetadata } from './media-decisions.ts';
import { MediaInputError, TranscodeStoppedError, type ImageTool, type MediaProber, type MetadataReader, type Transcoder } from './media-tools.ts';
import type { MediaWorkspaces, Workspace } from './media-workspace.ts';

const log = moduleLogger('media');

export interface MediaDeps {
  config: EvidockConfig;
  db: Database;
  catalog: CatalogRepository;
  ledger: CustodyLedger;
  objects: ObjectStore;
  prober: MediaProber;
  metadata: MetadataReader;
  transcoder: Transcoder;
  images: ImageTool;
  workspaces: MediaWorkspaces;
  queue: JobQueuePort;
  now?: () => Date;
  onProgress?: (evidenceId: string, percent: number, speed: number | null) => void;
}

const IMAGE_FORMATS = ['jpeg', 'webp'] as const;

/** A proxy shorter than its input by more than this is partial (the input broke off). */
const PARTIAL_TOLERANCE_SECONDS = 1;

/**
 * Derivative object key: by evidence id and recipe (what was made from which bytes, how, by
 * which tool version). The same recipe gives the same key, so a re-run is idempotent; a
 * changed recipe or tool adds a new derivative beside the old one.
 */
export function derivativeKey(evidenceId: string, kind: string, recipe: string, extension: string): string {
  return `${evidenceId}/${kind}-${recipe}.${extension}`;
}

export function recipeOf(originalSha256: string, toolVersion: string, args: JsonValue): string {
  return createHash('sha256').update(originalSha256).update('\0').update(toolVersion).update('\0').update(JSON.stringify(args)).digest('hex').slice(0, 16);
}

/**
 * Metadata, playback proxies and thumbnails. Originals are only ever read; each derivative
 * is hashed, stored in the (regenerable, unlocked) derivatives bucket, linked in the catalog
 * and recorded as a DERIVED custody event saying what it was made from and how.
 */
export class MediaService {
  private readonly now: () => Date;
  private readonly actor;

  constructor(private readonly deps: MediaDeps) {
    this.now = deps.now ?? (() => new Date());
    this.actor = { kind: 'system' as const, id: `media@${deps.config.workstationId}` };
  }

  async handleMetadata(payload: MediaJobPayload, stopping?: AbortSignal): Promise<JobStatus> {
    const evidence = await this.evidence(payload);
    if (evidence.mediaType === 'other') {
      await this.deps.catalog.updateEvidenceMedia(this.deps.db, evidence.id, { status: 'not-media' });
      return JobStatus.Skipped;
    }
    return this.withOriginal(payload, stopping, async (_ws, original) => {
      const probe = await this.deps.prober.probe(original);
      const embedded = await this.deps.metadata.read(original);
      const decision = decideMetadata(evidence, probe, embedded, {
        now: this.now(),
        settings: this.deps.config.media,
        recorderTimeZone: this.deps.config.ingest.recorderTimeZone,
      });
      const tools = { ffprobe: await this.deps.prober.version(), exiftool: await this.deps.metadata.version() };
      const flags = [...evidence.flags.filter((f) => !decision.flagsToRemove.includes(f)), ...decision.flagsToAdd];
      const after: { [k: string]: JsonValue } = {};
      if (decision.capture.captureStart) after.captureStart = decision.capture.captureStart.toISOString();
      if (decision.capture.captureTimeSource) after.captureTimeSource = decision.capture.captureTimeSource;
      if (decision.capture.place) after.place = decision.capture.place;
      await this.commit(evidence, async (tx) => {
        await this.deps.catalog.updateEvidenceMedia(tx, evidence.id, {
          ...decision.media,
          ...decision.capture,
          flags,
          metadata: { probe: probe.ok ? probe.info : { error: probe.error }, embedded: embedded.raw },
        });
        return [
          {
            type: 'METADATA_EXTRACTED',
            details: {
              tools,
              status: decision.media.status ?? null,
              problem: decision.media.problem ?? null,
              facts: factsJson(decision.media),
              before: {
                captureStart: evidence.captureStart?.toISOString() ?? null,
                captureTimeSource: evidence.captureTimeSource,
                place: evidence.place,
              },
              after,
              flagsAdded: decision.flagsToAdd,
              flags,
            },
          },
        ];
      });
      const wlog = log.child({ evidenceId: evidence.id });
      if (decision.media.status === 'unplayable') wlog.warn({ problem: decision.media.problem }, 'original is not playable; kept as stored');
      for (const job of decision.next) await this.deps.queue.enqueue(job, payload);
      return JobStatus.Success;
    });
  }

  async handleProxy(payload: MediaJobPayload, stopping?: AbortSignal): Promise<JobStatus> {
    const evidence = await this.evidence(payload);
    if (evidence.mediaType !== 'video' && evidence.mediaType !== 'audio') return JobStatus.Skipped;
    if (evidence.media.status === 'unplayable') return JobStatus.Skipped;
    // The metadata job probed these very bytes (an original never changes) and queued this
    // job after storing what it found: probing them again would only start ffprobe once more.
    const stored = storedProbeInfo(await this.deps.catalog.storedProbe(evidence.id));
    return this.withOriginal(payload, stopping, async (ws, original) => {
      const probe = stored ? ({ ok: true, info: stored } as const) : await this.deps.prober.probe(original);
      if (!probe.ok) return this.unplayable(evidence, 'ffprobe', probe.error);
      const video = evidence.mediaType === 'video' && probe.info.streams.some((s) => s.kind === 'video');
      const output = ws.path(video ? 'proxy.mp4' : 'proxy.m4a');
      const args = video ? proxyVideoArgs(original, output, probe.info, this.deps.config.media) : proxyAudioArgs(original, output, this.deps.config.media);
      let result;
      try {
        result = await this.deps.transcoder.run(args, {
          durationSeconds: probe.info.durationSeconds,
          onProgress: (p) => this.deps.onProgress?.(evidence.id, p.percent, p.speed),
          signal: stopping,
        });
      } catch (error) {
        if (error instanceof MediaInputError) return this.unplayable(evidence, 'ffmpeg', error.message);
        throw error;
      }
      const made = await this.deps.prober.probeOutput(output);
      if (!made.ok) return this.unplayable(evidence, 'ffmpeg', `proxy could not be made: ${made.error}`);
      const inDuration = probe.info.durationSeconds;
      const outDuration = made.durationSeconds;
      const short = inDuration !== null && outDuration !== null && outDuration < inDuration - PARTIAL_TOLERANCE_SECONDS;
      const partial = result.hadErrors || short;
      const problem = partial
        ? short
          ? `stream breaks off at ${outDuration!.toFixed(1)} s of ${inDuration!.toFixed(1)} s`
          : `decoding errors: ${result.stderrTail.at(-1) ?? 'see ffmpeg log'}`
        : null;
      await this.storeDerivative(evidence, ws, {
        kind: 'proxy',
        file: video ? 'proxy.mp4' : 'proxy.m4a',
        extension: video ? 'mp4' : 'm4a',
        contentType: video ? 'video/mp4' : 'audio/mp4',
        partial,
        width: made.width,
        height: made.height,
        durationSeconds: outDuration,
        tool: 'ffmpeg',
        toolVersion: await this.deps.transcoder.version(),
        arguments: placeholders(args, original, ws.dir),
        mediaPatch: partial ? { status: 'partial', problem } : evidence.media.status === 'pending' ? { status: 'ok' } : undefined,
      });
      return JobStatus.Success;
    });
  }

  async handleThumbnails(payload: MediaJobPayload, stopping?: AbortSignal): Promise<JobStatus> {
    const evidence = await this.evidence(payload);
    if (evidence.mediaType !== 'video' && evidence.mediaType !== 'photo') return JobStatus.Skipped;
    if (evidence.mediaType === 'video' && evidence.media.status === 'unplayable') return JobStatus.Skipped;
    const settings = this.deps.config.media;
    return this.withOriginal(payload, stopping, async (ws, original) => {
      try {
        if (evidence.mediaType === 'photo') {
          for (const format of IMAGE_FORMATS) {
            await this.storeImage(evidence, ws, original, 'preview', format, () => ({
              tool: 'sharp',
              toolVersion: this.deps.images.version(),
              arguments: { operation: 'resize', width: settings.posterWidth, format, quality: 82, failOn: 'warning' },
              // sharp decoded it strictly: it is viewable, whatever ffprobe thought of it.
              mediaPatch: evidence.media.status !== 'ok' ? { status: 'ok', problem: null } : undefined,
            }));
          }
          return JobStatus.Success;
        }

        const duration = evidence.media.durationSeconds ?? 0;
        const at = Math.min(1, duration / 2);
        const frameArgs = posterFrameArgs(original, ws.path('poster.png'), at, settings.posterWidth);
        await this.deps.transcoder.run(frameArgs, { durationSeconds: null, signal: stopping });
        const ffmpegVersion = await this.deps.transcoder.version();
        for (const format of IMAGE_FORMATS) {
          await this.storeImage(evidence, ws, ws.path('poster.png'), 'poster', format, () => ({
            tool: `${ffmpegVersion} + sharp ${this.deps.images.version()}`,
            toolVersion: `${ffmpegVersion}; sharp ${this.deps.images.version()}`,
            arguments: { ffmpeg: placeholders(frameArgs, original, ws.dir), sharp: { width: settings.posterWidth, format, quality: 82 } },
          }));
        }

        const interval = storyboardInterval(duration, settings);
        const boardArgs = storyboardFramesArgs(original, ws.path('frame-%04d.png'), interval, settings.storyboardTileWidth);
        await this.deps.transcoder.run(boardArgs, { durationSeconds: duration || null, signal: stopping });
        const frames = await ws.list('frame-');
        if (frames.length > 0) {
          const columns = Math.min(10, frames.length);
          const info = await this.deps.images.sprite(frames, ws.path('storyboard.webp'), { columns, tileWidth: settings.storyboardTileWidth, format: 'webp', quality: 70 });
          await this.storeDerivative(evidence, ws, {
            kind: 'storyboard',
            file: 'storyboard.webp',
            extension: 'webp',
            contentType: 'image/webp',
                partial: false,
            width: info.width,
            height: info.height,
            durationSeconds: duration || null,
            tool: `${ffmpegVersion} + sharp`,
            toolVersion: `${ffmpegVersion}; sharp ${this.deps.images.version()}`,
            arguments: {
              ffmpeg: placeholders(boardArgs, original, ws.dir),
              sharp: { columns, tileWidth: settings.storyboardTileWidth, format: 'webp', quality: 70 },
              intervalSeconds: interval,
              frames: frames.length,
            },
          });
        }
        return JobStatus.Success;
      } catch (error) {
        if (error instanceof MediaInputError) return this.unplayable(evidence, error.tool, error.message);
        throw error;
      }
    });
  }

  /** `evidock derive`: metadata again (which queues proxy and thumbnails), under fresh job ids. */
  async requestDerivatives(evidenceIds: readonly string[]): Promise<string[]> {
    const generation = `r${this.now().getTime().toString(36)}`;
    const queued: string[] = [];
    for (const id of evidenceIds) {
      const evidence = await this.deps.catalog.getEvidence(id);
      if (!evidence) continue;
      await this.deps.queue.enqueue(JobName.Metadata, { evidenceId: id, objectKey: originalKey(evidence.sha256), generation });
      queued.push(id);
    }
    return queued;
  }

  /** A media job failed for good (retries exhausted): say so on the item; the original is untouched. */
  async markFailed(payload: MediaJobPayload, job: JobName, reason: string): Promise<void> {
    const evidence = await this.deps.catalog.getEvidence(payload.evidenceId);
    // unplayable and partial already say more than "failed" would.
    if (!evidence || evidence.media.status === 'unplayable' || evidence.media.status === 'partial') return;
    await this.commit(evidence, async (tx) => {
      await this.deps.catalog.updateEvidenceMedia(tx, evidence.id, { status: 'failed', problem: `${job}: ${reason}` });
      return [{ type: 'MEDIA_PROBLEM', details: { job, reason, status: 'failed' } }];
    });
  }

  // ---- helpers ---------------------------------------------------------------------

  private async evidence(payload: MediaJobPayload): Promise<EvidenceRow> {
    const evidence = await this.deps.catalog.getEvidence(payload.evidenceId);
    if (!evidence) throw new UnrecoverableError(`no evidence ${payload.evidenceId}`);
    return evidence;
  }

  /**
   * Runs `work` on a local copy of the original, read from the object store. When `stopping`
   * cuts the download or ffmpeg off, the job ends as Stopped: nothing of a half-made
   * derivative is kept, and the job runs again from the start.
   */
  private async withOriginal(payload: MediaJobPayload, stopping: AbortSignal | undefined, work: (ws: Workspace, original: string) => Promise<JobStatus>): Promise<JobStatus> {
    const ws = await this.deps.workspaces.create(payload.evidenceId);
    try {
      await ws.write('original', await this.deps.objects.read('originals', payload.objectKey), stopping);
      return await work(ws, ws.path('original'));
    } catch (error) {
      if (!stopping?.aborted || !(error instanceof TranscodeStoppedError || (error as Error).name === 'AbortError')) throw error;
      log.info({ evidenceId: payload.evidenceId }, 'media job stopped part-way: this process is stopping; it goes back to its queue');
      return JobStatus.Stopped;
    } finally {
      await ws.dispose();
    }
  }

  /**
   * The input cannot be decoded: mark the item (the original stays stored and verified),
   * record it, and end the job for good — no retry changes the bytes.
   */
  private async unplayable(evidence: EvidenceRow, tool: string, message: string): Promise<never> {
    const problem = message.replace(/^[a-z]+: /, '');
    await this.commit(evidence, async (tx) => {
      await this.deps.catalog.updateEvidenceMedia(tx, evidence.id, { status: 'unplayable', problem });
      return [{ type: 'MEDIA_PROBLEM', details: { tool, problem, status: 'unplayable' } }];
    });
    log.warn({ evidenceId: evidence.id, tool, problem }, 'original is not playable; kept as stored');
    throw new UnrecoverableError(`unplayable: ${problem}`);
  }

  /**
   * A JPEG or WebP made from `source` by the image tool, stored as derivative `<base>-<format>`.
   * The recipe is read after the image is made: a corrupt source fails before anything else.
   */
  private async storeImage(
    evidence: EvidenceRow,
    ws: Workspace,
    source: string,
    base: string,
    format: (typeof IMAGE_FORMATS)[number],
    recipe: () => { tool: string; toolVersion: string; arguments: JsonValue; mediaPatch?: Partial<MediaFacts> },
  ): Promise<void> {
    const extension = format === 'jpeg' ? 'jpg' : 'webp';
    const kind = `${base}-${format}`;
    const file = `${base}.${extension}`;
    const info = await this.deps.images.resize(source, ws.path(file), { width: this.deps.config.media.posterWidth, format, quality: 82 });
    await this.storeDerivative(evidence, ws, {
      kind,
      file,
      extension,
      contentType: `image/${format}`,
      partial: false,
      width: info.width,
      height: info.height,
      durationSeconds: null,
      ...recipe(),
    });
  }

  /**
   * Hashes `d.file` of the workspace, stores it in the derivatives bucket and records it (row
   * and DERIVED event, one transaction). `keyName` replaces the kind in the object key (kinds
   * with characters keys should not carry); `details` adds to the event what the kind alone
   * does not say (a redacted copy's project and version).
   */
  async storeDerivative(
    evidence: EvidenceRow,
    ws: Workspace,
    d: {
      kind: string;
      keyName?: string;
      details?: { [k: string]: JsonValue };
      file: string;
      extension: string;
      contentType: string;
      partial: boolean;
      width: number | null;
      height: number | null;
      durationSeconds: number | null;
      tool: string;
      toolVersion: string;
      arguments: JsonValue;
      mediaPatch?: Partial<MediaFacts>;
    },
  ): Promise<void> {
    const { sha256, size } = await ws.digest(d.file);
    const key = derivativeKey(evidence.id, d.keyName ?? d.kind, recipeOf(evidence.sha256, d.toolVersion, d.arguments), d.extension);
    const current = (await this.deps.catalog.derivativesOf(evidence.id)).find((x) => x.kind === d.kind);
    if (current && current.objectKey === key && current.sha256 === sha256) {
      // Same recipe, same bytes: already made and recorded.
      if (d.mediaPatch) await this.deps.catalog.updateEvidenceMedia(this.deps.db, evidence.id, d.mediaPatch);
      return;
    }
    const receipt = await this.deps.objects.putFile('derivatives', key, ws.path(d.file), size, { sha256, 'evidence-id': evidence.id, kind: d.kind }, { expectSha256: sha256 });
    await this.commit(evidence, async (tx) => {
      await this.deps.catalog.insertDerivative(tx, {
        id: randomUUID(),
        evidenceId: evidence.id,
        kind: d.kind,
        objectKey: key,
        contentType: d.contentType,
        sha256,
        size,
        partial: d.partial,
        width: d.width,
        height: d.height,
        durationSeconds: d.durationSeconds,
        tool: d.tool,
        toolVersion: d.toolVersion,
        arguments: d.arguments,
      });
      if (d.mediaPatch) await this.deps.catalog.updateEvidenceMedia(tx, evidence.id, d.mediaPatch);
      return [
        {
          type: 'DERIVED',
          details: {
            kind: d.kind,
            key,
            sha256,
            size,
            // The verified ETag: lets `evidock verify` notice a replaced derivative without reading it.
            etag: receipt.etag,
            partial: d.partial,
            from: evidence.sha256,
            tool: d.tool,
            toolVersion: d.toolVersion,
            arguments: d.arguments,
            // The rest of the catalog row and what it changed on the item, for `evidock reindex`.
            contentType: d.contentType,
            width: d.width ?? null,
            height: d.height ?? null,
            durationSeconds: d.durationSeconds ?? null,
            mediaPatch: d.mediaPatch ? factsJson(d.mediaPatch, true) : null,
            ...d.details,
          },
        },
      ];
    });
    log.info({ evidenceId: evidence.id, kind: d.kind, key, partial: d.partial }, 'derivative stored');
  }

  private async commit(evidence: EvidenceRow, work: (tx: Parameters<Parameters<Database['transaction']>[0]>[0]) => Promise<Array<Omit<CustodyEventInput, 'actor'>>>): Promise<void> {
    const events = await this.deps.db.transaction(async (tx) => {
      const inputs = await work(tx);
      const out: CustodyEvent[] = [];
      for (const e of inputs) out.push(await this.deps.ledger.append(tx, { ...e, actor: this.actor, evidenceId: evidence.id }));
      return out;
    });
    await this.deps.ledger.mirror(events);
  }
}

function factsJson(media: Partial<MediaFacts>, withStatus = false): { [k: string]: JsonValue } {
  const out: { [k: string]: JsonValue } = {};
  for (const [k, v] of Object.entries(media)) if (v !== undefined && (withStatus || (k !== 'status' && k !== 'problem'))) out[k] = v as JsonValue;
  return out;
}

/** Arguments as recorded in the ledger: scratch paths replaced, so they read as a recipe. */
export function placeholders(args: readonly string[], original: string, dir: string): string[] {
  return args.map((a) => a.split(original).join('{original}').split(dir).join('{workdir}'));
}

