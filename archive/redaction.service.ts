import { randomUUID } from 'node:crypto';
import type { CatalogRepository, EvidenceRow } from '../storage/catalog.repository.ts';
import type { Actor, CustodyEvent, JsonValue } from '../storage/custody-chain.ts';
import type { CustodyLedger } from '../storage/custody-ledger.service.ts';
import type { Database, Queryable } from '../storage/postgres.database.ts';
import { type RedactionRenderRow, type RedactionRepository, type RedactionVersionRow } from '../storage/redaction.repository.ts';
import { JobName, type RedactionRenderPayload } from '../workers/job.types.ts';
import { can } from './access-policy.ts';
import type { AccessService, Authorized, Caller } from './access.service.ts';
import { ArchiveError, forbidden } from './archive.errors.ts';
import { normalNote, validateSpec, type RecordingShape, type RedactionProblem, type RedactionSpec } from './redaction-project.ts';
import { actorOf } from './principal.ts';

/** The queue as the redaction service needs it: queue a render, see where one stands. */
export interface RedactionQueuePort {
  enqueue(name: JobName.RedactionRender, payload: RedactionRenderPayload): Promise<void>;
  jobState(name: JobName.RedactionRender, payload: RedactionRenderPayload): Promise<{ state: string; failedReason: string | null }>;
  /** Sends a job that failed for good back to its queue, attempts reset; false when there is no such failed job. */
  retryFailed(name: JobName.RedactionRender, payload: RedactionRenderPayload): Promise<boolean>;
}

export interface RedactionDeps {
  db: Database;
  catalog: Pick<CatalogRepository, 'getEvidence' | 'derivativesOf'>;
  repo: RedactionRepository;
  ledger: Pick<CustodyLedger, 'append' | 'mirror'>;
  queue: RedactionQueuePort;
  /** The API's door: which items a caller may see and play, and the access log. */
  authorizedItem: (caller: Caller, id: string, action: 'play') => Promise<{ item: EvidenceRow; authorized: Authorized }>;
  access: Pick<AccessService, 'record'>;
}

export type RenderState = 'rendered' | 'queued' | 'running' | 'failed' | 'none';

export interface VersionListing {
  version: number;
  author: string;
  note: string | null;
  savedAt: Date;
  eventSeq: number;
  spec: RedactionSpec;
  render: { state: RenderState; reason: string | null; file: RedactionRenderRow | null };
}

export interface ProjectListing {
  projectId: string;
  evidenceId: string;
  createdBy: string;
  createdAt: Date;
  versions: VersionListing[];
}

export interface SavedVersion {
  projectId: string;
  version: number;
  spec: RedactionSpec;
  event: CustodyEvent;
}

/** A save that changes the project's newest spec rather than replacing it (an accepted suggestion). */
export interface SpecEdit {
  compose(tx: Queryable, latest: RedactionSpec | null): Promise<unknown>;
  /** Added to the REDACTION_SAVED event's details. */
  details?: { [key: string]: JsonValue };
  after(tx: Queryable, event: CustodyEvent): Promise<void>;
}

export interface RenderRequest {
  projectId: string;
  version: number;
  state: 'rendered' | 'queued';
  file: RedactionRenderRow | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const invalidRedaction = (problems: readonly RedactionProblem[]): ArchiveError =>
  new ArchiveError(
    'INVALID_REDACTION',
    400,
    `invalid redaction project: ${problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('; ')}`,
    `脱敏方案有误：${problems.map((p) => (p.path ? `${p.path}：${p.messageZh}` : p.messageZh)).join('；')}`,
    { problems: problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)) },
  );

const projectNotFound = (projectId: string, version?: number | null) =>
  new ArchiveError(
    'REDACTION_NOT_FOUND',
    404,
    version ? `no version ${version} of redaction project ${projectId} on this item` : `no redaction project ${projectId} on this item`,
    version ? `该证据没有脱敏方案 ${projectId} 的第 ${version} 版` : `该证据没有脱敏方案 ${projectId}`,
  );

/**
 * Redaction projects of evidence items: saving versions (each a REDACTION_SAVED custody event
 * holding the full spec, in the transaction that stores it), listing them with their rendered
 * copies, and asking for a render. The recording is only ever read, by the render job.
 */
export class RedactionService {
  constructor(private readonly deps: RedactionDeps) {}

  /**
   * Saves `input` as the next version of `projectId`, or as version 1 of a new project. With
   * `edit`, the spec is made inside the transaction from the project's newest one (null for a
   * new project), after the project is locked, so two edits of one project never lose each
   * other's changes; `edit.after` runs in the same transaction once the version is stored.
   */
  async save(evidenceId: string, input: unknown, how: { author: string; actor: Actor; projectId?: string | null; note?: string | null; edit?: SpecEdit }): Promise<SavedVersion> {
    const item = await this.item(evidenceId);
    const shape = await this.shapeOf(item);
    const note = normalNote(how.note);
    const check = (raw: unknown): RedactionSpec => {
      const checked = validateSpec(raw, shape);
      const problems = [...(checked.ok ? [] : checked.problems), ...(note.ok ? [] : [note.problem])];
      if (!checked.ok || !note.ok) throw invalidRedaction(problems);
      return checked.spec;
    };
    let spec: RedactionSpec | null = how.edit ? null : check(input);
    if (!note.ok) throw invalidRedaction([note.problem]);
    const noteText = note.note;
    if (how.projectId && !UUID.test(how.projectId)) throw projectNotFound(how.projectId);
    const event = await this.deps.db.transaction(async (tx) => {
      let projectId = how.projectId?.toLowerCase() ?? null;
      let version = 1;
      let latest: RedactionSpec | null = null;
      if (projectId) {
        const project = await this.deps.repo.lockProject(tx, projectId);
        if (!project || project.evidenceId !== item.id) throw projectNotFound(projectId);
        const numbers = await this.deps.repo.versionNumbers(tx, projectId);
        version = Math.max(0, ...numbers) + 1;
        if (how.edit) latest = (await this.deps.repo.version(projectId, null, tx))?.spec ?? null;
      } else projectId = randomUUID();
      if (how.edit) spec = check(await how.edit.compose(tx, latest));
      const saved = await this.deps.ledger.append(tx, {
        type: 'REDACTION_SAVED',
        actor: how.actor,
        evidenceId: item.id,
        // Everything the two tables hold: the catalog is rebuilt from these events alone.
        details: { projectId, version, spec: spec as unknown as JsonValue, author: how.author, note: noteText, newProject: version === 1, ...how.edit?.details },
      });
      const at = new Date(saved.at);
      if (version === 1) await this.deps.repo.insertProject(tx, { id: projectId, evidenceId: item.id, createdBy: how.author, createdAt: at });
      await this.deps.repo.insertVersion(tx, { projectId, version, spec: spec!, author: how.author, note: noteText, savedAt: at, eventSeq: saved.seq });
      await how.edit?.after(tx, saved);
      return saved;
    });
    await this.deps.ledger.mirror([event]);
    return { projectId: event.details.projectId as string, version: event.details.version as number, spec: spec!, event };
  }

  async list(evidenceId: string): Promise<ProjectListing[]> {
    const item = await this.item(evidenceId);
    const renders = await this.deps.repo.rendersOf(item.id);
    const out: ProjectListing[] = [];
    for (const p of await this.deps.repo.projectsOf(item.id)) {
      const versions: VersionListing[] = [];
      for (const v of p.versions) versions.push({ ...pick(v), render: await this.renderOf(v, renders) });
      out.push({ projectId: p.id, evidenceId: p.evidenceId, createdBy: p.createdBy, createdAt: p.createdAt, versions });
    }
    return out;
  }

  /**
   * Queues the render of a version (the newest when `version` is null). A version already
   * rendered is not rendered again; one whose render failed for good is tried again.
   */
  async requestRender(evidenceId: string, projectId: string, version: number | null): Promise<RenderRequest> {
    const item = await this.item(evidenceId);
    const v = UUID.test(projectId) ? await this.deps.repo.version(projectId.toLowerCase(), version) : null;
    if (!v || v.evidenceId !== item.id) throw projectNotFound(projectId, version);
    const done = (await this.deps.repo.rendersOf(item.id)).find((r) => r.projectId === v.projectId && r.version === v.version);
    if (done) return { projectId: v.projectId, version: v.version, state: 'rendered', file: done };
    const derivatives = await this.deps.catalog.derivativesOf(item.id);
    if (!derivatives.some((d) => d.kind === 'proxy' && d.contentType === 'video/mp4')) {
      throw new ArchiveError('NO_PROXY', 409, 'the item has no playback proxy yet: a redacted copy is made from it', '该证据尚未生成播放副本，脱敏副本须由播放副本制作，请稍后再试');
    }
    const payload: RedactionRenderPayload = { evidenceId: item.id, projectId: v.projectId, version: v.version };
    if (!(await this.deps.queue.retryFailed(JobName.RedactionRender, payload))) await this.deps.queue.enqueue(JobName.RedactionRender, payload);
    return { projectId: v.projectId, version: v.version, state: 'queued', file: null };
  }

  /** Where the render of one version stands now (for `--wait` and the editor). */
  async renderState(evidenceId: string, projectId: string, version: number): Promise<VersionListing['render']> {
    const v = await this.deps.repo.version(projectId, version);
    if (!v || v.evidenceId !== evidenceId) throw projectNotFound(projectId, version);
    return this.renderOf(v, await this.deps.repo.rendersOf(evidenceId));
  }

  // ---- the archive server's door: custodians of the item's units ----------------------

  async saveFor(caller: Caller, evidenceId: string, input: unknown, projectId: string | null, note: string | null): Promise<SavedVersion> {
    const item = await this.authorized(caller, evidenceId);
    return this.save(item.id, input, { author: caller.principal.name, actor: actorOf(caller.principal), projectId, note });
  }

  async listFor(caller: Caller, evidenceId: string): Promise<ProjectListing[]> {
    const item = await this.authorized(caller, evidenceId);
    // The specs say where the people in the picture are: reading them is a look at the item.
    await this.deps.access.record(caller, { action: 'view', evidenceId: item.id, purpose: 'redaction projects' });
    return this.list(item.id);
  }

  async renderFor(caller: Caller, evidenceId: string, projectId: string, version: number | null): Promise<RenderRequest> {
    const item = await this.authorized(caller, evidenceId);
    return this.requestRender(item.id, projectId, version);
  }

  /** The rendered copy of a version, for streaming; the caller's playback is logged by the route. */
  async fileFor(caller: Caller, evidenceId: string, projectId: string, version: number): Promise<{ item: EvidenceRow; file: RedactionRenderRow; approvalId: string | null }> {
    if (!can(caller.principal.role, 'redact')) throw forbidden('查看脱敏副本');
    const { item, authorized } = await this.deps.authorizedItem(caller, evidenceId, 'play');
    const file = (await this.deps.repo.rendersOf(item.id)).find((r) => r.projectId === projectId.toLowerCase() && r.version === version);
    if (!file) throw projectNotFound(projectId, version);
    return { item, file, approvalId: authorized.approvalId };
  }

  /** The item, when the caller may redact it: a custodian who may play the footage. */
  async authorized(caller: Caller, evidenceId: string): Promise<EvidenceRow> {
    if (!can(caller.principal.role, 'redact')) throw forbidden('办理脱敏处理');
    // Redaction works on the footage: the caller must be one who may play it.
    return (await this.deps.authorizedItem(caller, evidenceId, 'play')).item;
  }

  private async item(evidenceId: string): Promise<EvidenceRow> {
    const item = UUID.test(evidenceId) ? await this.deps.catalog.getEvidence(evidenceId.toLowerCase()) : null;
    if (!item) throw new ArchiveError('EVIDENCE_NOT_FOUND', 404, `no evidence ${evidenceId}`, `找不到证据 ${evidenceId}`);
    if (item.mediaType !== 'video') throw new ArchiveError('NOT_A_VIDEO', 409, 'redaction projects are for video recordings', '只有录像可以进行脱敏处理');
    return item;
  }

  /** The bounds a spec is checked against: the proxy's duration (what the editor plays), else the original's. */
  private async shapeOf(item: EvidenceRow): Promise<RecordingShape> {
    const proxy = (await this.deps.catalog.derivativesOf(item.id)).find((d) => d.kind === 'proxy' && d.contentType === 'video/mp4');
    return { durationSeconds: proxy?.durationSeconds ?? item.media.durationSeconds, hasVideo: true, hasAudio: item.media.audioCodec !== null };
  }

  private async renderOf(v: RedactionVersionRow, renders: readonly RedactionRenderRow[]): Promise<VersionListing['render']> {
    const file = renders.find((r) => r.projectId === v.projectId && r.version === v.version) ?? null;
    if (file) return { state: 'rendered', reason: null, file };
    const job = await this.deps.queue.jobState(JobName.RedactionRender, { evidenceId: v.evidenceId, projectId: v.projectId, version: v.version }).catch(() => ({ state: 'unknown', failedReason: null }));
    const state: RenderState = job.state === 'failed' ? 'failed' : job.state === 'active' ? 'running' : ['waiting', 'delayed', 'prioritized', 'waiting-children'].includes(job.state) ? 'queued' : 'none';
    return { state, reason: state === 'failed' ? job.failedReason : null, file: null };
  }
}

function pick(v: RedactionVersionRow): Omit<VersionListing, 'render'> {
  return { version: v.version, author: v.author, note: v.note, savedAt: v.savedAt, eventSeq: v.eventSeq, spec: v.spec };
}
