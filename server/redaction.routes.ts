import { Type } from 'typebox';
import type { RunListing } from '../archive/redaction-suggestion.service.ts';
import type { RedactionRenderRow } from '../storage/redaction.repository.ts';
import { BASE } from './api.presenters.ts';
import * as S from './api.schemas.ts';
import { sendObject } from './evidence.routes.ts';
import { callerOf, type Api, type RouteDeps } from './request-context.ts';

export const presentRedactionFile = (evidenceId: string, r: RedactionRenderRow) => ({
  kind: r.kind,
  url: `${BASE}/evidence/${evidenceId}/redactions/${r.projectId}/versions/${r.version}/file`,
  sha256: r.sha256,
  size: r.size,
  contentType: r.contentType,
  createdAt: r.createdAt.toISOString(),
});

export const presentSuggestionRun = (r: RunListing) => ({
  runId: r.id,
  requestedBy: r.requestedBy,
  requestedAt: r.requestedAt.toISOString(),
  state: r.state,
  progress: r.progress,
  model: r.model,
  framesPerSecond: r.framesPerSecond,
  frames: r.frameCount,
  warning: r.warning,
  finishedAt: r.finishedAt?.toISOString() ?? null,
  eventSeq: r.eventSeq,
  suggestions: r.suggestions.map((s) => ({
    n: s.n,
    box: s.box,
    detections: s.detections,
    meanScore: s.meanScore,
    decision: s.decision,
    decidedBy: s.decidedBy,
    decidedAt: s.decidedAt?.toISOString() ?? null,
    projectId: s.projectId,
    version: s.version,
  })),
});

/** Redaction projects of an item and their rendered copies (custodians of the item's units). */
export function redactionRoutes(app: Api, { rt }: RouteDeps): void {
  app.get(
    '/evidence/:id/redactions',
    {
      schema: {
        tags: ['redaction'],
        summary: 'The item’s redaction projects: every version with its spec, author and note, and its rendered copy',
        params: S.IdParam,
        response: { 200: S.RedactionList, ...S.errors(401, 403, 404, 409, 503) },
      },
    },
    async (req) => {
      const projects = await rt.redactions.listFor(callerOf(req), req.params.id);
      return {
        projects: projects.map((p) => ({
          projectId: p.projectId,
          createdBy: p.createdBy,
          createdAt: p.createdAt.toISOString(),
          versions: p.versions.map((v) => ({
            version: v.version,
            author: v.author,
            note: v.note,
            savedAt: v.savedAt.toISOString(),
            eventSeq: v.eventSeq,
            spec: v.spec,
            render: { state: v.render.state, reason: v.render.reason, file: v.render.file ? presentRedactionFile(p.evidenceId, v.render.file) : null },
          })),
        })),
      };
    },
  );

  app.post(
    '/evidence/:id/redactions',
    {
      schema: {
        tags: ['redaction'],
        summary: 'Save a spec as the next version of a project (or version 1 of a new one); a REDACTION_SAVED custody event holds it. The recording is not changed',
        params: S.IdParam,
        body: S.RedactionSaveBody,
        response: { 200: S.RedactionSaved, ...S.errors(400, 401, 403, 404, 409, 503) },
      },
    },
    async (req) => {
      const saved = await rt.redactions.saveFor(callerOf(req), req.params.id, req.body.spec, req.body.projectId ?? null, req.body.note ?? null);
      return { projectId: saved.projectId, version: saved.version, spec: saved.spec, event: saved.event };
    },
  );

  app.post(
    '/evidence/:id/redactions/:projectId/render',
    {
      schema: {
        tags: ['redaction'],
        summary: 'Render a version (the newest by default) into a redacted copy of the proxy, on the shared transcode queue; a version already rendered is not rendered again',
        params: S.RedactionProjectParam,
        body: S.RedactionRenderBody,
        response: { 200: S.RedactionRenderResult, ...S.errors(400, 401, 403, 404, 409, 503) },
      },
    },
    async (req) => {
      const r = await rt.redactions.renderFor(callerOf(req), req.params.id, req.params.projectId, req.body.version ?? null);
      return { projectId: r.projectId, version: r.version, state: r.state, file: r.file ? presentRedactionFile(req.params.id.toLowerCase(), r.file) : null };
    },
  );

  app.get(
    '/evidence/:id/redactions/:projectId/versions/:version/file',
    {
      schema: {
        tags: ['redaction'],
        summary: 'The redacted copy of a version (H.264/AAC MP4), streamed with range requests; its playback is access-logged',
        params: S.RedactionVersionParam,
        headers: Type.Object({ range: Type.Optional(Type.String({ maxLength: 200 })), 'if-range': Type.Optional(Type.String({ maxLength: 200 })) }),
        response: { 200: S.binary('The whole copy', 'video/mp4'), 206: S.binary('The requested range', 'video/mp4'), ...S.errors(401, 403, 404, 416, 503) },
      },
    },
    async (req, reply) => {
      const caller = callerOf(req);
      const { item, file, approvalId } = await rt.redactions.fileFor(caller, req.params.id, req.params.projectId, req.params.version);
      const target = { bucket: 'derivatives' as const, key: file.objectKey, size: file.size, contentType: file.contentType, sha256: file.sha256 };
      return sendObject(rt, req, reply, target, () => rt.access.record(caller, { action: 'play', evidenceId: item.id, approvalId, purpose: `redacted copy ${file.projectId} v${file.version}` }), null);
    },
  );

  app.post(
    '/evidence/:id/redactions/suggestions',
    {
      schema: {
        tags: ['redaction'],
        summary: 'Ask for face suggestions: frames of the original sampled and faces tracked into proposed boxes, by a job on the shared transcode queue; a REDACTION_SUGGESTED event records what was made',
        params: S.IdParam,
        body: S.SuggestionRequestBody,
        response: { 200: S.SuggestionRun, ...S.errors(400, 401, 403, 404, 409, 503) },
      },
    },
    async (req) => presentSuggestionRun(await rt.suggestions.requestFor(callerOf(req), req.params.id)),
  );

  app.get(
    '/evidence/:id/redactions/suggestions',
    {
      schema: {
        tags: ['redaction'],
        summary: 'The item’s suggestion runs (newest first): where each stands, its model, rate and frames, and every proposed box with its decision',
        params: S.IdParam,
        response: { 200: S.SuggestionList, ...S.errors(401, 403, 404, 409, 503) },
      },
    },
    async (req) => ({ runs: (await rt.suggestions.listFor(callerOf(req), req.params.id)).map(presentSuggestionRun) }),
  );

  app.post(
    '/evidence/:id/redactions/suggestions/:runId/:n/accept',
    {
      schema: {
        tags: ['redaction'],
        summary: 'Accept a suggested box: it is added to the newest version of a project (or a new project) as the next version, a REDACTION_SAVED event naming the suggestion',
        params: S.SuggestionParam,
        body: S.SuggestionAcceptBody,
        response: { 200: S.SuggestionAccepted, ...S.errors(400, 401, 403, 404, 409, 503) },
      },
    },
    async (req) => {
      const saved = await rt.suggestions.acceptFor(callerOf(req), req.params.id, req.params.runId, req.params.n, req.body.projectId ?? null, req.body.note ?? null);
      return { projectId: saved.projectId, version: saved.version, boxId: saved.boxId, spec: saved.spec, event: saved.event };
    },
  );

  app.post(
    '/evidence/:id/redactions/suggestions/:runId/:n/reject',
    {
      schema: {
        tags: ['redaction'],
        summary: 'Reject a suggested box (a REDACTION_SUGGESTION_REJECTED event); no project changes',
        params: S.SuggestionParam,
        body: S.SuggestionRejectBody,
        response: { 200: S.SuggestionRejected, ...S.errors(400, 401, 403, 404, 409, 503) },
      },
    },
    async (req) => ({ decision: 'rejected' as const, event: await rt.suggestions.rejectFor(callerOf(req), req.params.id, req.params.runId, req.params.n, req.body.reason ?? null) }),
  );
}
