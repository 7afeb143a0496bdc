import * as S from './api.schemas.ts';
import { Type } from 'typebox';
import { presentAccess, presentRequest } from './api.presenters.ts';
import { UuidParam } from './api.schemas.ts';
import { callerOf, type Api, type RouteDeps } from './request-context.ts';

/** Access requests (调阅/复制申请), their decisions, and the access log. */
export function accessRoutes(app: Api, { rt }: RouteDeps): void {
  app.post(
    '/access-requests',
    {
      schema: {
        tags: ['access'],
        summary: 'Ask to view, play, download or export an item or a case, with a purpose',
        body: S.AccessRequestBody,
        response: { 201: Type.Ref('AccessRequest'), ...S.errors(400, 401, 403, 404, 503) },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const r = await rt.access.request(callerOf(req), { ...(b.evidenceId ? { evidenceId: b.evidenceId } : {}), ...(b.caseNumber ? { caseNumber: b.caseNumber } : {}), actions: b.actions, purpose: b.purpose });
      return reply.code(201).send(presentRequest(r));
    },
  );

  app.get(
    '/access-requests',
    {
      schema: {
        tags: ['access'],
        summary: "The caller's own requests, and (custodians) those waiting for its decision",
        response: { 200: Type.Object({ mine: Type.Array(Type.Ref('AccessRequest')), waiting: Type.Array(Type.Ref('AccessRequest')) }), ...S.errors(401, 503) },
      },
    },
    async (req) => {
      const r = await rt.access.requests(callerOf(req).principal);
      return { mine: r.mine.map(presentRequest), waiting: r.waiting.map(presentRequest) };
    },
  );

  app.post(
    '/access-requests/:id/decision',
    {
      schema: {
        tags: ['access'],
        summary: "Approve (with an expiry) or refuse (with a reason) a request about the custodian's units",
        params: UuidParam,
        body: S.DecisionBody,
        response: { 200: Type.Ref('AccessRequest'), ...S.errors(400, 401, 403, 404, 409, 503) },
      },
    },
    async (req) => {
      const b = req.body;
      const r = await rt.access.decide(callerOf(req), req.params.id, { approve: b.approve, reason: b.reason, ...(b.expiresAt ? { expiresAt: new Date(b.expiresAt) } : {}) });
      return presentRequest(r);
    },
  );

  app.get(
    '/access-log',
    {
      schema: {
        tags: ['access'],
        summary: 'Who looked at what, when, why and under which approval (newest first; page with ?before=)',
        querystring: S.AccessLogQuery,
        response: { 200: Type.Object({ records: Type.Array(S.AccessRecord), next: Type.Union([Type.Integer(), Type.Null()]) }), ...S.errors(400, 401, 403, 503) },
      },
    },
    async (req) => {
      const q = req.query;
      const limit = q.limit ?? 100;
      const rows = await rt.access.query(callerOf(req).principal, {
        ...(q.evidenceId ? { evidenceId: q.evidenceId } : {}),
        ...(q.user ? { principalName: q.user } : {}),
        ...(q.action ? { action: q.action } : {}),
        ...(q.from ? { from: new Date(q.from) } : {}),
        ...(q.to ? { to: new Date(q.to) } : {}),
        ...(q.before ? { afterId: q.before } : {}),
        limit,
      });
      return { records: rows.map(presentAccess), next: rows.length === limit ? rows.at(-1)!.id : null };
    },
  );
}
