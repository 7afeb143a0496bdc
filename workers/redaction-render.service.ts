import { UnrecoverableError } from 'bullmq';
import { validateSpec } from '../archive/redaction-project.ts';
import type { EvidockConfig } from '../config/config.schema.ts';
import { moduleLogger } from '../config/logger.ts';
import type { CatalogRepository } from '../storage/catalog.repository.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { renderKind, type RedactionRepository } from '../storage/redaction.repository.ts';
import { JobStatus, type RedactionRenderPayload } from './job.types.ts';
import { MediaInputError, TranscodeStoppedError, type MediaProber, type Transcoder } from './media-tools.ts';
import type { MediaWorkspaces } from './media-workspace.ts';
import { placeholders, type MediaService } from './media.service.ts';
import { redactionArgs, type RenderInput } from './redaction-filter.ts';

const log = moduleLogger('redaction');

export interface RedactionRenderDeps {
  config: Pick<EvidockConfig, 'media'>;
  catalog: Pick<CatalogRepository, 'getEvidence' | 'derivativesOf'>;
  redactions: Pick<RedactionRepository, 'version'>;
  objects: Pick<ObjectStore, 'read'>;
  prober: MediaProber;
  transcoder: Transcoder;
  workspaces: Pick<MediaWorkspaces, 'create'>;
  derivatives: Pick<MediaService, 'storeDerivative'>;
  onProgress?: (evidenceId: string, percent: number, speed: number | null) => void;
}

/**
 * Renders one version of a redaction project: the item's playback proxy (the picture the
 * editor drew on) through the filter graph of redaction-filter.ts, into the derivatives
 * bucket under a key naming the project and version, recorded with its SHA-256 and ETag in a
 * DERIVED event that names them too. The original is never read or written.
 */
export class RedactionRenderService {
  constructor(private readonly deps: RedactionRenderDeps) {}

  async handleRedactionRender(payload: RedactionRenderPayload, stopping?: AbortSignal): Promise<JobStatus> {
    const { evidenceId, projectId, version } = payload;
    const evidence = await this.deps.catalog.getEvidence(evidenceId);
    if (!evidence) throw new UnrecoverableError(`no evidence ${evidenceId}`);
    const saved = await this.deps.redactions.version(projectId, version);
    if (!saved || saved.evidenceId !== evidenceId) throw new UnrecoverableError(`no version ${version} of redaction project ${projectId} on evidence ${evidenceId}`);
    const kind = renderKind(projectId, version);
    const derivatives = await this.deps.catalog.derivativesOf(evidenceId);
    if (derivatives.some((d) => d.kind === kind)) {
      // A retry after the copy was recorded, or a second request: the version never changes.
      log.info({ evidenceId, projectId, version }, 'redacted copy already made');
      return JobStatus.Skipped;
    }
    if (evidence.mediaType !== 'video') throw new UnrecoverableError(`evidence ${evidenceId} is not a video recording`);
    const proxy = derivatives.find((d) => d.kind === 'proxy' && d.contentType === 'video/mp4');
    // The proxy job may still be running: an ordinary failure, retried with backoff.
    if (!proxy) throw new Error(`evidence ${evidenceId} has no playback proxy yet`);

    const ws = await this.deps.workspaces.create(evidenceId);
    try {
      await ws.write('proxy.mp4', await this.deps.objects.read('derivatives', proxy.objectKey), stopping);
      const read = await ws.digest('proxy.mp4');
      if (read.sha256 !== proxy.sha256) {
        // BullMQ knows an unrecoverable failure by its class name (also across the sandbox), so no subclass here.
        throw new UnrecoverableError(`proxy ${proxy.objectKey} reads back as ${read.sha256}, recorded as ${proxy.sha256}: run evidock verify`);
      }
      const probe = await this.deps.prober.probe(ws.path('proxy.mp4'));
      if (!probe.ok) throw new UnrecoverableError(`the proxy cannot be read: ${probe.error}`);
      const picture = probe.info.streams.find((s) => s.kind === 'video');
      const sound = probe.info.streams.find((s) => s.kind === 'audio');
      if (!picture?.width || !picture.height) throw new UnrecoverableError('the proxy has no picture');
      // Checked again against the very file rendered: a spec saved before the proxy was remade must still fit it.
      const checked = validateSpec(saved.spec, { durationSeconds: probe.info.durationSeconds, hasVideo: true, hasAudio: Boolean(sound) });
      if (!checked.ok) {
        throw new UnrecoverableError(`redaction project ${projectId} version ${version} is invalid: ${checked.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
      }
      const input: RenderInput = {
        width: picture.width,
        height: picture.height,
        audio: sound ? { sampleRate: sound.sampleRate ?? 48000, channels: sound.channels ?? 2 } : null,
      };
      const output = ws.path('redacted.mp4');
      const args = redactionArgs(ws.path('proxy.mp4'), output, checked.spec, input, this.deps.config.media);
      try {
        await this.deps.transcoder.run(args, {
          durationSeconds: probe.info.durationSeconds,
          onProgress: (p) => this.deps.onProgress?.(evidenceId, p.percent, p.speed),
          signal: stopping,
        });
      } catch (error) {
        if (error instanceof MediaInputError) throw new UnrecoverableError(`the redacted copy could not be made: ${error.message}`);
        throw error;
      }
      const made = await this.deps.prober.probeOutput(output);
      if (!made.ok) throw new Error(`the redacted copy is not a playable MP4: ${made.error}`);
      const source = { kind: 'proxy', key: proxy.objectKey, sha256: proxy.sha256 };
      await this.deps.derivatives.storeDerivative(evidence, ws, {
        kind,
        keyName: `redacted-${projectId}-v${version}`,
        file: 'redacted.mp4',
        extension: 'mp4',
        contentType: 'video/mp4',
        partial: false,
        width: made.width,
        height: made.height,
        durationSeconds: made.durationSeconds,
        tool: 'ffmpeg',
        toolVersion: await this.deps.transcoder.version(),
        arguments: { ffmpeg: placeholders(args, ws.path('proxy.mp4'), ws.dir), projectId, version, source },
        // With the row's remaining facts, so `evidock reindex` can rebuild it from the event alone.
        details: { projectId, version, source, contentType: 'video/mp4', width: made.width, height: made.height, durationSeconds: made.durationSeconds },
      });
      return JobStatus.Success;
    } catch (error) {
      if (!stopping?.aborted || !(error instanceof TranscodeStoppedError || (error as Error).name === 'AbortError')) throw error;
      log.info({ evidenceId, projectId, version }, 'redaction render stopped part-way: this process is stopping; it goes back to its queue');
      return JobStatus.Stopped;
    } finally {
      await ws.dispose();
    }
  }

  /** A render failed for good: said once in the log; the job keeps its reason for `evidock jobs` and the project list. */
  markFailed(payload: RedactionRenderPayload, reason: string): Promise<void> {
    log.warn({ evidenceId: payload.evidenceId, projectId: payload.projectId, version: payload.version, reason }, 'redacted copy not made');
    return Promise.resolve();
  }
}
