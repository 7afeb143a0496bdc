import { describe, expect, it } from 'vitest';
import type { DerivativeRow } from '../storage/catalog.repository.ts';
import type { CustodyEvent } from '../storage/custody-chain.ts';
import type { RedactionRenderRow, RedactionVersionRow } from '../storage/redaction.repository.ts';
import { JobName } from '../workers/job.types.ts';
import { evidenceRow, StrictScope } from '../workers/media.fakes.ts';
import type { Caller } from './access.service.ts';
import { RedactionService, type RedactionDeps } from './redaction.service.ts';

const item = evidenceRow({ media: { status: 'ok', durationSeconds: 6, audioCodec: 'aac' } });
const projectId = '0b7d3c2a-1e4f-4a5b-8c6d-7e8f9a0b1c2d';
const spec = { audioRanges: [{ from: 1, to: 2, mode: 'mute' }] };
const normal = { boxes: [], blurRanges: [], audioRanges: [{ from: 1, to: 2, mode: 'mute' }] };
const proxy = { kind: 'proxy', contentType: 'video/mp4', durationSeconds: 6 } as DerivativeRow;
const author = { author: 'li.na', actor: { kind: 'user' as const, id: 'li.na' } };
const TX = { tx: true };

function setup(o: { project?: { evidenceId: string } | null; numbers?: number[]; derivatives?: DerivativeRow[]; renders?: RedactionRenderRow[]; jobState?: string; version?: Partial<RedactionVersionRow> | null } = {}) {
  const scope = new StrictScope();
  const calls: Array<[string, ...unknown[]]> = [];
  const note = (name: string) => (...args: unknown[]) => (calls.push([name, ...args]), undefined);
  const deps: RedactionDeps = {
    db: scope.strict('db', { transaction: async (work: (tx: unknown) => Promise<unknown>) => (calls.push(['begin']), work(TX)) }),
    catalog: scope.strict('catalog', { getEvidence: async () => item, derivativesOf: async () => o.derivatives ?? [proxy] }),
    repo: scope.strict('repo', {
      lockProject: async (_tx: unknown, id: string) => (o.project === undefined ? null : o.project && { id, evidenceId: o.project.evidenceId, createdBy: 'x', createdAt: new Date(0) }),
      versionNumbers: async () => o.numbers ?? [],
      insertProject: async (...a: unknown[]) => note('insertProject')(...a),
      insertVersion: async (...a: unknown[]) => note('insertVersion')(...a),
      rendersOf: async () => o.renders ?? [],
      projectsOf: async () => [],
      version: async () => (o.version === null ? null : { projectId, evidenceId: item.id, version: 3, spec: normal, author: 'li.na', note: null, savedAt: new Date(0), eventSeq: 1, ...o.version }),
    }),
    ledger: scope.strict('ledger', {
      append: async (tx: unknown, input: Omit<CustodyEvent, 'seq' | 'at'>) => (calls.push(['append', tx, input]), { ...input, seq: 42, at: '2026-12-07T06:00:00.000Z' }),
      mirror: async (events: CustodyEvent[]) => void calls.push(['mirror', events.map((e) => e.seq)]),
    }),
    queue: scope.strict('queue', {
      enqueue: async (...a: unknown[]) => note('enqueue')(...a),
      jobState: async () => ({ state: o.jobState ?? 'unknown', failedReason: o.jobState === 'failed' ? 'ffmpeg died' : null }),
      retryFailed: async (...a: unknown[]) => (calls.push(['retryFailed', ...a]), o.jobState === 'failed'),
    }),
    authorizedItem: async () => ({ item, authorized: { by: 'role', approvalId: null } }),
    access: scope.strict('access', { record: async (...a: unknown[]) => note('record')(...a) }),
  };
  return { scope, calls, service: new RedactionService(deps) };
}

describe('RedactionService.save', () => {
  it('writes version 1 of a new project: the event holds the whole spec, the rows take its time and number, mirrored after', async () => {
    const { calls, service, scope } = setup();
    const saved = await service.save(item.id, spec, { ...author, note: '  第一稿 ' });
    expect(saved).toMatchObject({ version: 1, spec: normal });
    const id = saved.projectId;
    expect(calls).toEqual([
      ['begin'],
      ['append', TX, { type: 'REDACTION_SAVED', actor: author.actor, evidenceId: item.id, details: { projectId: id, version: 1, spec: normal, author: 'li.na', note: '第一稿', newProject: true } }],
      ['insertProject', TX, { id, evidenceId: item.id, createdBy: 'li.na', createdAt: new Date('2026-12-07T06:00:00.000Z') }],
      ['insertVersion', TX, { projectId: id, version: 1, spec: normal, author: 'li.na', note: '第一稿', savedAt: new Date('2026-12-07T06:00:00.000Z'), eventSeq: 42 }],
      ['mirror', [42]],
    ]);
    expect(scope.unexpected).toEqual([]);
  });

  it('numbers the next save of a project one past its newest version', async () => {
    const { calls, service } = setup({ project: { evidenceId: item.id }, numbers: [1, 2, 3] });
    expect(await service.save(item.id, spec, { ...author, projectId })).toMatchObject({ projectId, version: 4 });
    expect(calls.map((c) => c[0])).toEqual(['begin', 'append', 'insertVersion', 'mirror']);
  });

  it('refuses another item’s project, and a bad spec before any transaction, naming each problem in both languages', async () => {
    const other = setup({ project: { evidenceId: 'someone-else' } });
    await expect(other.service.save(item.id, spec, { ...author, projectId })).rejects.toMatchObject({ code: 'REDACTION_NOT_FOUND', status: 404 });
    expect(other.calls.map((c) => c[0])).toEqual(['begin']);
    const bad = setup();
    await expect(bad.service.save(item.id, { blurRanges: [{ from: 3, to: 1 }] }, author)).rejects.toMatchObject({
      code: 'INVALID_REDACTION',
      status: 400,
      message: 'invalid redaction project: blurRanges[0].to: the range ends (1 s) before it starts (3 s)',
      messageZh: '脱敏方案有误：blurRanges[0].to：结束时间（1 秒）不晚于开始时间（3 秒）',
      extra: { problems: ['blurRanges[0].to: the range ends (1 s) before it starts (3 s)'] },
    });
    expect(bad.calls).toEqual([]);
  });
});

describe('RedactionService.requestRender', () => {
  it('queues the newest version when none is named', async () => {
    const { calls, service } = setup();
    expect(await service.requestRender(item.id, projectId, null)).toEqual({ projectId, version: 3, state: 'queued', file: null });
    expect(calls).toEqual([
      ['retryFailed', JobName.RedactionRender, { evidenceId: item.id, projectId, version: 3 }],
      ['enqueue', JobName.RedactionRender, { evidenceId: item.id, projectId, version: 3 }],
    ]);
  });

  it('answers with the copy of a version already rendered, and tries a failed render again instead of queueing a second', async () => {
    const file = { projectId, version: 3 } as RedactionRenderRow;
    const done = setup({ renders: [file] });
    expect(await done.service.requestRender(item.id, projectId, 3)).toEqual({ projectId, version: 3, state: 'rendered', file });
    expect(done.calls).toEqual([]);
    const failed = setup({ jobState: 'failed' });
    expect(await failed.service.requestRender(item.id, projectId, 3)).toMatchObject({ state: 'queued' });
    expect(failed.calls.map((c) => c[0])).toEqual(['retryFailed']);
  });

  it('refuses while the item has no video proxy, and for a version it does not have', async () => {
    await expect(setup({ derivatives: [] }).service.requestRender(item.id, projectId, 3)).rejects.toMatchObject({ code: 'NO_PROXY', status: 409 });
    await expect(setup({ version: null }).service.requestRender(item.id, projectId, 9)).rejects.toMatchObject({ code: 'REDACTION_NOT_FOUND' });
    await expect(setup().service.requestRender(item.id, 'not-a-uuid', 1)).rejects.toMatchObject({ code: 'REDACTION_NOT_FOUND' });
  });
});

describe('the API door', () => {
  const caller = (role: string): Caller => ({ principal: { kind: 'user', id: 'u', name: 'someone', role, officerId: null, unitIds: [], scope: new Set(), seesUnassigned: false, mustChangePassword: false } as never, ip: null, userAgent: null });

  it('lets only custodians in, before looking anything up', async () => {
    for (const role of ['officer', 'supervisor', 'auditor', 'case-system', 'admin']) {
      const { calls, service } = setup();
      await expect(service.listFor(caller(role), item.id)).rejects.toMatchObject({ code: 'FORBIDDEN', status: 403 });
      await expect(service.saveFor(caller(role), item.id, spec, null, null)).rejects.toMatchObject({ code: 'FORBIDDEN' });
      expect(calls).toEqual([]);
    }
  });

  it('logs a custodian’s look at the projects', async () => {
    const { calls, service } = setup();
    await service.listFor(caller('custodian'), item.id);
    expect(calls).toEqual([['record', expect.objectContaining({ principal: expect.objectContaining({ role: 'custodian' }) }), { action: 'view', evidenceId: item.id, purpose: 'redaction projects' }]]);
  });
});
