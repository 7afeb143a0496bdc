import { randomUUID } from 'node:crypto';
import type { CatalogRepository, EvidenceRow } from '../storage/catalog.repository.ts';
import type { Actor, CustodyEvent } from '../storage/custody-chain.ts';
import type { CustodyLedger } from '../storage/custody-ledger.service.ts';
import type { Database } from '../storage/postgres.database.ts';
import type { RedactionSuggestionRepository, SuggestionRow, SuggestionRunRow } from '../storage/redaction-suggestion.repository.ts';
import { JobName, type RedactionSuggestPayload } from '../workers/job.types.ts';
import type { AccessService, Caller } from './access.service.ts';
import { ArchiveError } from './archive.errors.ts';
import { actorOf } from './principal.ts';
import type { RedactionSpec } from './redaction-project.ts';
import type { RedactionService, SavedVersion } from './redaction.service.ts';

/** The queue as suggestions need it: queue a run, see where it stands. */
export interface SuggestionQueuePort {
  enqueue(name: JobName.RedactionSuggest, payload: RedactionSuggestPayload): Promise<void>;
  jobState(name: JobName.RedactionSuggest, payload: RedactionSuggestPayload): Promise<{ state: string; failedReason: string | null; progress?: unknown }>;
}

export interface RedactionSuggestionDeps {
  db: Database;
  catalog: Pick<CatalogRepository, 'getEvidence'>;
  repo: RedactionSuggestionRepository;
  redactions: Pick<RedactionService, 'save' | 'authorized'>;
  ledger: Pick<CustodyLedger, 'append' | 'mirror'>;
  queue: SuggestionQueuePort;
  access: Pick<AccessService, 'record'>;
  now?: () => Date;
}

/** queued and running come from the queue while the run's row says queued; the rest from the row. */
export type RunState = 'queued' | 'running' | 'done' | 'skipped' | 'failed';

export interface RunListing extends Omit<SuggestionRunRow, 'status'> {
  state: RunState;
  /** Percent done while running. */
  progress: number | null;
  suggestions: SuggestionRow[];
}

export interface DecisionHow {
  author: string;
  actor: Actor;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const suggestionNotFound = (runId: string, n: number) =>
  new ArchiveError('SUGGESTION_NOT_FOUND', 404, `no suggestion ${n} of run ${runId} on this item`, `该证据没有建议运行 ${runId} 的第 ${n} 条遮挡建议`);

/**
 * Face suggestions (遮挡建议) of an item: asking for a run (a job on the transcode queue,
 * workers/redaction-suggest.service.ts), listing runs and their proposed boxes, and the
 * custodian's decision on each box. An accepted box is added to a new version of a project
 * through RedactionService.save, so it is a REDACTION_SAVED event like any edit; a rejected one
 * is a REDACTION_SUGGESTION_REJECTED event. Each suggestion is decided once.
 */
export class RedactionSuggestionService {
  private readonly now: () => Date;

  constructor(private readonly deps: RedactionSuggestionDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  async request(evidenceId: string, requestedBy: string): Promise<RunListing> {
    const item = await this.item(evidenceId);
    const run = { id: randomUUID(), evidenceId: item.id, requestedBy, requestedAt: this.now() };
    await this.deps.repo.insertRun(run);
    await this.deps.queue.enqueue(JobName.RedactionSuggest, { evidenceId: item.id, runId: run.id });
    return (await this.run(item.id, run.id))!;
  }

  async list(evidenceId: string): Promise<RunListing[]> {
    const item = await this.item(evidenceId);
    const out: RunListing[] = [];
    for (const r of await this.deps.repo.runsOf(item.id)) out.push(await this.listing(r));
    return out;
  }

  /** One run as list() shows it, or null. */
  async run(evidenceId: string, runId: string): Promise<RunListing | null> {
    if (!UUID.test(runId)) return null;
    const r = (await this.deps.repo.runsOf(evidenceId)).find((x) => x.id === runId.toLowerCase());
    return r ? this.listing(r) : null;
  }

  /** Adds the suggested box to the newest version of `projectId` (a new project when null), as the next version. */
  async accept(evidenceId: string, runId: string, n: number, how: DecisionHow & { projectId: string | null; note: string | null }): Promise<SavedVersion & { boxId: string }> {
    const item = await this.item(evidenceId);
    if (!UUID.test(runId)) throw suggestionNotFound(runId, n);
    let boxId = '';
    const saved = await this.deps.redactions.save(item.id, null, {
      author: how.author,
      actor: how.actor,
      projectId: how.projectId,
      note: how.note,
      edit: {
        compose: async (tx, latest) => {
          const s = await this.deps.repo.lockSuggestion(tx, runId.toLowerCase(), n);
          if (!s || s.evidenceId !== item.id) throw suggestionNotFound(runId, n);
          if (s.decision !== 'pending') throw decided(s);
          const spec: RedactionSpec = latest ?? { boxes: [], blurRanges: [], audioRanges: [] };
          boxId = freeId(s.box.id, spec.boxes.map((b) => b.id));
          return { ...spec, boxes: [...spec.boxes, { ...s.box, id: boxId }] };
        },
        details: { suggestion: { runId: runId.toLowerCase(), n } },
        after: async (tx, event) => {
          await this.deps.repo.decide(tx, runId.toLowerCase(), n, { decision: 'accepted', by: how.author, at: new Date(event.at), projectId: event.details.projectId as string, version: event.details.version as number, eventSeq: event.seq });
        },
      },
    });
    return { ...saved, boxId };
  }

  async reject(evidenceId: string, runId: string, n: number, how: DecisionHow & { reason: string | null }): Promise<CustodyEvent> {
    const item = await this.item(evidenceId);
    if (!UUID.test(runId)) throw suggestionNotFound(runId, n);
    const reason = how.reason?.trim() ? how.reason.trim().slice(0, 1000) : null;
    const event = await this.deps.db.transaction(async (tx) => {
      const s = await this.deps.repo.lockSuggestion(tx, runId.toLowerCase(), n);
      if (!s || s.evidenceId !== item.id) throw suggestionNotFound(runId, n);
      if (s.decision !== 'pending') throw decided(s);
      const e = await this.deps.ledger.append(tx, {
        type: 'REDACTION_SUGGESTION_REJECTED',
        actor: how.actor,
        evidenceId: item.id,
        details: { runId: s.runId, n, boxId: s.box.id, by: how.author, reason },
      });
      await this.deps.repo.decide(tx, s.runId, n, { decision: 'rejected', by: how.author, at: new Date(e.at), projectId: null, version: null, eventSeq: e.seq });
      return e;
    });
    await this.deps.ledger.mirror([event]);
    return event;
  }

  // ---- the archive server's door: custodians who may redact the item -------------------

  async requestFor(caller: Caller, evidenceId: string): Promise<RunListing> {
    const item = await this.deps.redactions.authorized(caller, evidenceId);
    return this.request(item.id, caller.principal.name);
  }

  async listFor(caller: Caller, evidenceId: string): Promise<RunListing[]> {
    const item = await this.deps.redactions.authorized(caller, evidenceId);
    // Like a project's specs, suggested boxes say where the people in the picture are.
    await this.deps.access.record(caller, { action: 'view', evidenceId: item.id, purpose: 'redaction suggestions' });
    return this.list(item.id);
  }

  async acceptFor(caller: Caller, evidenceId: string, runId: string, n: number, projectId: string | null, note: string | null): Promise<SavedVersion & { boxId: string }> {
    const item = await this.deps.redactions.authorized(caller, evidenceId);
    return this.accept(item.id, runId, n, { author: caller.principal.name, actor: actorOf(caller.principal), projectId, note });
  }

  async rejectFor(caller: Caller, evidenceId: string, runId: string, n: number, reason: string | null): Promise<CustodyEvent> {
    const item = await this.deps.redactions.authorized(caller, evidenceId);
    return this.reject(item.id, runId, n, { author: caller.principal.name, actor: actorOf(caller.principal), reason });
  }

  private async listing(r: SuggestionRunRow & { suggestions: SuggestionRow[] }): Promise<RunListing> {
    const { status, ...rest } = r;
    if (status !== 'queued') return { ...rest, state: status, progress: null };
    const job = await this.deps.queue.jobState(JobName.RedactionSuggest, { evidenceId: r.evidenceId, runId: r.id }).catch(() => ({ state: 'unknown', failedReason: null, progress: null }));
    if (job.state === 'failed') return { ...rest, state: 'failed', warning: job.failedReason, progress: null };
    const percent = typeof job.progress === 'object' && job.progress !== null ? Number((job.progress as { percent?: unknown }).percent) : Number.NaN;
    return { ...rest, state: job.state === 'active' ? 'running' : 'queued', progress: Number.isFinite(percent) ? percent : null };
  }

  private async item(evidenceId: string): Promise<EvidenceRow> {
    const item = UUID.test(evidenceId) ? await this.deps.catalog.getEvidence(evidenceId.toLowerCase()) : null;
    if (!item) throw new ArchiveError('EVIDENCE_NOT_FOUND', 404, `no evidence ${evidenceId}`, `找不到证据 ${evidenceId}`);
    if (item.mediaType !== 'video') throw new ArchiveError('NOT_A_VIDEO', 409, 'face suggestions are for video recordings', '只有录像可以生成人脸遮挡建议');
    return item;
  }
}

function decided(s: SuggestionRow): ArchiveError {
  return new ArchiveError(
    'SUGGESTION_DECIDED',
    409,
    `suggestion ${s.n} was already ${s.decision} by ${s.decidedBy ?? 'someone'}`,
    `该遮挡建议已由 ${s.decidedBy ?? '他人'}${s.decision === 'accepted' ? '采纳' : '驳回'}`,
  );
}

/** `id`, or `id-2`, `id-3`… when the spec already has a box of that name (a renamed or re-added box). */
export function freeId(id: string, taken: readonly string[]): string {
  if (!taken.includes(id)) return id;
  let k = 2;
  while (taken.includes(`${id}-${k}`)) k++;
  return `${id}-${k}`;
}
