import { Type } from 'typebox';
import type { PurgeRunRow, RetentionRow } from '../storage/retention.repository.ts';
import * as S from './api.schemas.ts';
import { callerOf, type Api, type RouteDeps } from './request-context.ts';

const presentRetention = (r: RetentionRow) => ({ evidenceId: r.evidenceId, class: r.class, retainUntil: r.retainUntil.toISOString(), legalHold: r.legalHold, holdReason: r.holdReason });
const presentRun = (r: PurgeRunRow) => ({
  id: r.id,
  status: r.status,
  reason: r.reason,
  proposedBy: r.proposedBy,
  proposedAt: r.proposedAt.toISOString(),
  decidedBy: r.decidedBy,
  decidedAt: r.decidedAt?.toISOString() ?? null,
  finishedAt: r.finishedAt?.toISOString() ?? null,
  evidenceIds: r.evidenceIds,
});

/** Retention, legal holds, the case lifecycle and two-person purges (custodians; views for supervisors and auditors). */
export function preservationRoutes(app: Api, { rt }: RouteDeps): void {
  const api = rt.preservationApi;

  app.get(
    '/evidence/:id/retention',
    { schema: { tags: ['preservation'], summary: 'The item’s retention class, retain-until date (its object lock) and legal hold', params: S.IdParam, response: { 200: S.Retention, ...S.errors(401, 403, 404, 503) } } },
    async (req) => presentRetention(await api.retentionFor(callerOf(req), req.params.id)),
  );

  app.post(
    '/evidence/:id/hold',
    {
      schema: {
        tags: ['preservation'],
        summary: 'Set or release the item’s legal hold (S3 legal hold on its original: no purge whatever its date); LEGAL_HOLD_SET / LEGAL_HOLD_RELEASED',
        params: S.IdParam,
        body: S.HoldBody,
        response: { 200: S.Retention, ...S.errors(400, 401, 403, 404, 503) },
      },
    },
    async (req) => presentRetention(await api.holdItem(callerOf(req), req.params.id, req.body.on, req.body.reason)),
  );

  app.post(
    '/cases/:caseNumber/hold',
    {
      schema: {
        tags: ['preservation'],
        summary: 'Set or release the legal hold of every record of the case, and of records linked to it later',
        params: S.CaseParam,
        body: S.HoldBody,
        response: { 200: S.CaseHoldResult, ...S.errors(400, 401, 403, 404, 503) },
      },
    },
    async (req) => ({ caseNumber: req.params.caseNumber, held: req.body.on, evidenceIds: await api.holdCase(callerOf(req), req.params.caseNumber, req.body.on, req.body.reason) }),
  );

  app.post(
    '/cases/:caseNumber/end',
    {
      schema: {
        tags: ['preservation'],
        summary: 'Record the end of the case’s enforcement action (CASE_ENDED): it must be archived within cases.archiveDays',
        params: S.CaseParam,
        body: S.CaseEndBody,
        response: { 200: S.CaseState, ...S.errors(400, 401, 403, 404, 409, 503) },
      },
    },
    async (req) => {
      await api.endCase(callerOf(req), req.params.caseNumber, new Date(req.body.endedAt));
      const [c] = await rt.retention.cases([req.params.caseNumber]);
      return { caseNumber: c!.caseNumber, state: c!.state, endedAt: c!.endedAt?.toISOString() ?? null };
    },
  );

  app.post(
    '/cases/:caseNumber/archive',
    {
      schema: {
        tags: ['preservation'],
        summary: 'Archive an ended case: its BagIt package stored write-once, ARCHIVED, its records kept from today by class case',
        params: S.CaseParam,
        body: S.ReasonBody,
        response: { 200: S.CaseArchived, ...S.errors(400, 401, 403, 404, 409, 503) },
      },
    },
    async (req) => ({ caseNumber: req.params.caseNumber, ...(await api.archiveCase(callerOf(req), req.params.caseNumber, req.body.reason)) }),
  );

  app.post(
    '/cases/:caseNumber/major',
    {
      schema: {
        tags: ['preservation'],
        summary: 'Mark the case major (重大案件): its records are kept permanently',
        params: S.CaseParam,
        body: S.ReasonBody,
        response: { 200: S.CaseHoldResult, ...S.errors(400, 401, 403, 404, 503) },
      },
    },
    async (req) => ({ caseNumber: req.params.caseNumber, held: false, evidenceIds: await api.markMajor(callerOf(req), req.params.caseNumber, req.body.reason) }),
  );

  app.get(
    '/preservation/overdue',
    {
      schema: {
        tags: ['preservation'],
        summary: 'Cases ended but not archived (days left of the 30, or past due) in the caller’s units; records still missing a required field per officer (root scope)',
        response: { 200: S.Overdue, ...S.errors(401, 403, 503) },
      },
    },
    async (req) => api.overdue(callerOf(req)),
  );

  app.get(
    '/fixity',
    {
      schema: {
        tags: ['preservation'],
        summary: 'The scheduled fixity cycle (progress, expected end, last completed with its ledger check) and the failed checks among the caller’s units',
        response: { 200: S.FixityStatus, ...S.errors(401, 403, 503) },
      },
    },
    async (req) => api.fixity(callerOf(req)),
  );

  app.get(
    '/purges',
    { schema: { tags: ['preservation'], summary: 'Purge runs, newest first (root-scope custodians, supervisors, auditors)', response: { 200: Type.Array(S.PurgeRun), ...S.errors(401, 403, 503) } } },
    async (req) => (await api.purges(callerOf(req))).map(presentRun),
  );

  app.post(
    '/purges',
    {
      schema: {
        tags: ['preservation'],
        summary: 'Propose deleting every record whose retention ran out and that nothing holds (PURGE_PROPOSED); another custodian must approve',
        body: S.ReasonBody,
        response: { 200: S.PurgeRun, ...S.errors(400, 401, 403, 404, 503) },
      },
    },
    async (req) => presentRun(await api.proposePurge(callerOf(req), req.body.reason)),
  );

  app.post(
    '/purges/:runId/decision',
    {
      schema: {
        tags: ['preservation'],
        summary: 'Approve or refuse a proposed purge run; never by the custodian who proposed it',
        params: S.PurgeRunParam,
        body: S.PurgeDecisionBody,
        response: { 200: S.PurgeRun, ...S.errors(400, 401, 403, 404, 409, 503) },
      },
    },
    async (req) => presentRun(await api.decidePurge(callerOf(req), req.params.runId, req.body.approve, req.body.reason ?? null)),
  );

  app.post(
    '/purges/:runId/run',
    {
      schema: {
        tags: ['preservation'],
        summary: 'Carry out an approved run: each record checked again, PURGED before its bytes go, a tombstone left in the catalog',
        params: S.PurgeRunParam,
        response: { 200: S.PurgeResult, ...S.errors(400, 401, 403, 404, 409, 503) },
      },
    },
    async (req) => api.runPurge(callerOf(req), req.params.runId),
  );
}
