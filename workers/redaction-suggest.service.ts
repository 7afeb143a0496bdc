import { UnrecoverableError } from 'bullmq';
import { DEFAULT_TRACK_OPTIONS, suggestBoxes, trackFaces, type SampledFrame, type Suggestion } from '../archive/face-track.ts';
import type { EvidockConfig } from '../config/config.schema.ts';
import { moduleLogger } from '../config/logger.ts';
import type { CatalogRepository } from '../storage/catalog.repository.ts';
import type { JsonValue } from '../storage/custody-chain.ts';
import type { CustodyLedger } from '../storage/custody-ledger.service.ts';
import { originalKey, type ObjectStore } from '../storage/object-store.ts';
import type { Database } from '../storage/postgres.database.ts';
import type { RedactionSuggestionRepository } from '../storage/redaction-suggestion.repository.ts';
import type { FrameDetectorLauncher } from './face-detector.process.ts';
import { faceSampleArgs } from './ffmpeg-args.ts';
import { JobStatus, type RedactionSuggestPayload } from './job.types.ts';
import { MediaInputError, TranscodeStoppedError, type MediaProber, type Transcoder } from './media-tools.ts';
import type { MediaWorkspaces } from './media-workspace.ts';

const log = moduleLogger('redaction-suggest');

/** How suggested boxes are made from tracks (not configurable: the custodian edits each box anyway). */
const SUGGEST = { minDetections: 2, padding: 0.15, mode: 'blur' as const };

export interface RedactionSuggestDeps {
  config: Pick<EvidockConfig, 'suggestions' | 'workstationId'>;
  db: Pick<Database, 'transaction'>;
  catalog: Pick<CatalogRepository, 'getEvidence' | 'derivativesOf'>;
  suggestions: Pick<RedactionSuggestionRepository, 'run' | 'lockRun' | 'finishRun' | 'insertSuggestions'>;
  ledger: Pick<CustodyLedger, 'append' | 'mirror'>;
  objects: Pick<ObjectStore, 'read'>;
  prober: Pick<MediaProber, 'probe'>;
  transcoder: Transcoder;
  workspaces: Pick<MediaWorkspaces, 'create'>;
  detectors: FrameDetectorLauncher;
  onProgress?: (evidenceId: string, percent: number, speed: number | null) => void;
}

/**
 * What a run covered, in words for the run's warning: null when it sampled the whole
 * recording. A truncated recording decodes up to its break (ffmpeg goes on past damage), so
 * fewer frames than the duration promises means the rest had no picture to look at.
 */
export function coverageWarning(frames: number, o: { framesPerSecond: number; durationSeconds: number | null; maxFrames: number; decodeErrors: string | null }): string | null {
  const covered = frames / o.framesPerSecond;
  if (frames >= o.maxFrames && o.durationSeconds !== null && covered < o.durationSeconds - 1 / o.framesPerSecond) {
    return `only the first ${covered.toFixed(1)} s of ${o.durationSeconds.toFixed(1)} s were sampled (suggestions.maxFrames ${o.maxFrames})`;
  }
  if (o.durationSeconds !== null && covered < o.durationSeconds - 2 / o.framesPerSecond) {
    return `the picture breaks off at ${covered.toFixed(1)} s of ${o.durationSeconds.toFixed(1)} s: faces after that are not suggested${o.decodeErrors ? ` (${o.decodeErrors})` : ''}`;
  }
  if (o.decodeErrors) return `decoding errors: ${o.decodeErrors}; frames that did not decode are not looked at`;
  return null;
}

/**
 * Face suggestions for one item: frames of the stored original sampled by ffmpeg, faces found
 * by the detector in its own process, linked into tracks (archive/face-track.ts), and the
 * proposed boxes stored with the run in the transaction of a REDACTION_SUGGESTED event naming
 * the model, rate and frame count. Nothing is saved as a project version: that is the
 * custodian's decision, one box at a time.
 */
export class RedactionSuggestService {
  constructor(private readonly deps: RedactionSuggestDeps) {}

  async handleRedactionSuggest(payload: RedactionSuggestPayload, stopping?: AbortSignal): Promise<JobStatus> {
    const { evidenceId, runId } = payload;
    const run = await this.deps.suggestions.run(runId);
    if (!run || run.evidenceId !== evidenceId) throw new UnrecoverableError(`no suggestion run ${runId} on evidence ${evidenceId}`);
    if (run.status !== 'queued') {
      log.info({ evidenceId, runId, status: run.status }, 'suggestion run already finished');
      return JobStatus.Skipped;
    }
    const evidence = await this.deps.catalog.getEvidence(evidenceId);
    if (!evidence) throw new UnrecoverableError(`no evidence ${evidenceId}`);
    if (evidence.mediaType !== 'video') return this.skip(runId, evidenceId, `a ${evidence.mediaType} item has no moving picture to suggest boxes for`);
    const settings = this.deps.config.suggestions;
    const proxy = (await this.deps.catalog.derivativesOf(evidenceId)).find((d) => d.kind === 'proxy' && d.contentType === 'video/mp4');

    const ws = await this.deps.workspaces.create(evidenceId);
    try {
      await ws.write('original', await this.deps.objects.read('originals', originalKey(evidence.sha256)), stopping);
      const probe = await this.deps.prober.probe(ws.path('original'));
      if (!probe.ok) throw new UnrecoverableError(`the original cannot be read: ${probe.error}`);
      const picture = probe.info.streams.find((s) => s.kind === 'video');
      if (!picture) return await this.skip(runId, evidenceId, 'the recording has no video stream');
      // The bounds every saved spec is checked against: the proxy the editor plays, else the original.
      const durationSeconds = proxy?.durationSeconds ?? probe.info.durationSeconds;
      if (!durationSeconds || durationSeconds <= 0) throw new UnrecoverableError('the recording has no known duration');
      // A track needs faces on two samples: a still picture, or a clip shorter than two samples, has none.
      if ((probe.info.durationSeconds ?? 0) * settings.framesPerSecond < SUGGEST.minDetections) {
        return await this.skip(runId, evidenceId, `a still picture or a clip under ${(SUGGEST.minDetections / settings.framesPerSecond).toFixed(1)} s: no face can be tracked; draw its boxes by hand`);
      }

      const args = faceSampleArgs(ws.path('original'), ws.path('frame-%05d.png'), settings.framesPerSecond, settings.frameWidth, settings.maxFrames);
      let decodeErrors: string | null = null;
      try {
        const r = await this.deps.transcoder.run(args, {
          durationSeconds: probe.info.durationSeconds,
          onProgress: (p) => this.deps.onProgress?.(evidenceId, p.percent * 0.2, p.speed),
          signal: stopping,
        });
        if (r.hadErrors) decodeErrors = r.stderrTail.at(-1) ?? 'see the ffmpeg log';
      } catch (error) {
        if (!(error instanceof MediaInputError)) throw error;
        // The decoder gave up part-way (a recording cut off mid-write): the frames before the break still count.
        decodeErrors = error.message;
      }
      const files = await ws.list('frame-');
      if (files.length === 0) {
        throw new UnrecoverableError(`no frame of the recording could be decoded${decodeErrors ? `: ${decodeErrors}` : ''}`);
      }

      const detector = await this.deps.detectors.start({ model: settings.model, minScore: settings.minScore }, stopping);
      const frames: SampledFrame[] = [];
      try {
        for (const [n, file] of files.entries()) {
          frames.push({ t: n / settings.framesPerSecond, faces: await detector.detectFile(file) });
          this.deps.onProgress?.(evidenceId, 20 + (80 * (n + 1)) / files.length, null);
        }
      } finally {
        await detector.close();
      }

      const tracks = trackFaces(frames, { ...DEFAULT_TRACK_OPTIONS, minScore: settings.minScore });
      const made = suggestBoxes(tracks, { ...SUGGEST, holdSeconds: 0.5 / settings.framesPerSecond, durationSeconds });
      const suggestions = made.suggestions.map((s, i) => ({ ...s, box: { ...s.box, id: suggestionBoxId(runId, i + 1) } }));
      const warning = coverageWarning(files.length, { framesPerSecond: settings.framesPerSecond, durationSeconds: probe.info.durationSeconds, maxFrames: settings.maxFrames, decodeErrors });
      if (warning) log.warn({ evidenceId, runId, warning }, 'face suggestions cover part of the recording');
      await this.finish(runId, evidenceId, { model: detector.model, frames: files.length, tracks: tracks.length, droppedShort: made.droppedShort, droppedOverLimit: made.droppedOverLimit, warning, suggestions, requestedBy: run.requestedBy, requestedAt: run.requestedAt });
      log.info({ evidenceId, runId, frames: files.length, tracks: tracks.length, suggestions: suggestions.length, model: detector.model }, 'face suggestions made');
      return JobStatus.Success;
    } catch (error) {
      if (!stopping?.aborted || !(error instanceof TranscodeStoppedError || (error as Error).name === 'AbortError')) throw error;
      log.info({ evidenceId, runId }, 'suggestion run stopped part-way: this process is stopping; it goes back to its queue');
      return JobStatus.Stopped;
    } finally {
      await ws.dispose();
    }
  }

  /** A run failed for good: its row says why, for the editor and `redact suggest --wait`. */
  async markFailed(payload: RedactionSuggestPayload, reason: string): Promise<void> {
    log.warn({ evidenceId: payload.evidenceId, runId: payload.runId, reason }, 'face suggestions not made');
    await this.deps.db.transaction(async (tx) => {
      const run = await this.deps.suggestions.lockRun(tx, payload.runId);
      if (!run || run.status !== 'queued') return;
      await this.deps.suggestions.finishRun(tx, payload.runId, { status: 'failed', model: null, framesPerSecond: null, frameCount: null, warning: reason, finishedAt: new Date(), eventSeq: null });
    });
  }

  /** An expected miss (no picture to look at): the run says why, once; nothing is recorded in the ledger, nothing was made. */
  private async skip(runId: string, evidenceId: string, warning: string): Promise<JobStatus> {
    log.warn({ evidenceId, runId, warning }, 'no face suggestions for this item');
    await this.deps.db.transaction(async (tx) => {
      const run = await this.deps.suggestions.lockRun(tx, runId);
      if (!run || run.status !== 'queued') return;
      await this.deps.suggestions.finishRun(tx, runId, { status: 'skipped', model: null, framesPerSecond: null, frameCount: null, warning, finishedAt: new Date(), eventSeq: null });
    });
    return JobStatus.Skipped;
  }

  private async finish(
    runId: string,
    evidenceId: string,
    r: { model: string; frames: number; tracks: number; droppedShort: number; droppedOverLimit: number; warning: string | null; suggestions: Suggestion[]; requestedBy: string; requestedAt: Date },
  ): Promise<void> {
    const framesPerSecond = this.deps.config.suggestions.framesPerSecond;
    const event = await this.deps.db.transaction(async (tx) => {
      const run = await this.deps.suggestions.lockRun(tx, runId);
      // A second delivery of the job that lost the race: the first one's suggestions stand.
      if (!run || run.status !== 'queued') return null;
      const saved = await this.deps.ledger.append(tx, {
        type: 'REDACTION_SUGGESTED',
        actor: { kind: 'workstation', id: this.deps.config.workstationId },
        evidenceId,
        // Everything the two tables hold for the run, so the record of what was proposed does not depend on the catalog.
        details: {
          runId,
          requestedBy: r.requestedBy,
          requestedAt: r.requestedAt.toISOString(),
          model: r.model,
          framesPerSecond,
          frames: r.frames,
          tracks: r.tracks,
          droppedShort: r.droppedShort,
          droppedOverLimit: r.droppedOverLimit,
          warning: r.warning,
          suggestions: r.suggestions.map((s, i) => ({ n: i + 1, box: s.box, detections: s.detections, meanScore: s.meanScore })) as unknown as JsonValue,
        },
      });
      await this.deps.suggestions.insertSuggestions(tx, runId, r.suggestions.map((s, i) => ({ n: i + 1, box: s.box, detections: s.detections, meanScore: s.meanScore })));
      await this.deps.suggestions.finishRun(tx, runId, { status: 'done', model: r.model, framesPerSecond, frameCount: r.frames, warning: r.warning, finishedAt: new Date(saved.at), eventSeq: saved.seq });
      return saved;
    });
    if (event) await this.deps.ledger.mirror([event]);
  }
}

/** The id a suggested box keeps when accepted: unique across runs, so boxes of two runs never clash in one spec. */
export function suggestionBoxId(runId: string, n: number): string {
  return `face-${runId.slice(0, 8)}-${n}`;
}
