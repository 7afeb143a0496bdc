import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Caller } from '../archive/access.service.ts';
import { notFound } from '../archive/archive.errors.ts';
import type { EvidenceRow } from '../storage/catalog.repository.ts';
import type { BucketRole } from '../storage/object-store.ts';
import * as S from './api.schemas.ts';
import { presentDerivative, presentEvent, presentItem, presentMedia } from './api.presenters.ts';
import { answerRange, entityTag } from './byte-range.ts';
import { callerOf, type Api, type RouteDeps } from './request-context.ts';

const MEDIA = ['proxy', 'poster', 'storyboard', 'original'] as const;
type Media = (typeof MEDIA)[number];

/** Search, show, tag, verify and the streamed media of evidence items. */
export function evidenceRoutes(app: Api, { rt }: RouteDeps): void {
  const posters = async (items: readonly EvidenceRow[]) => rt.catalog.derivativeKinds(items.map((i) => i.id), 'poster');

  app.get(
    '/evidence',
    {
      schema: {
        tags: ['evidence'],
        summary: 'Search the archive (what the caller may view), newest capture first',
        querystring: S.SearchQuery,
        response: { 200: S.EvidencePage, ...S.errors(400, 401, 403, 503) },
      },
    },
    async (req) => {
      const q = req.query;
      const page = await rt.evidence.searchFor(
        callerOf(req),
        {
          ...(q.case ? { caseNumber: q.case } : {}),
          ...(q.officer ? { officerId: q.officer } : {}),
          ...(q.serial ? { serial: q.serial } : {}),
          ...(q.unit ? { unitId: q.unit } : {}),
          ...(q.subject ? { subject: q.subject } : {}),
          ...(q.place ? { place: q.place } : {}),
          ...(q.from ? { from: new Date(q.from) } : {}),
          ...(q.to ? { to: new Date(q.to) } : {}),
          ...(q.mediaType ? { mediaType: q.mediaType } : {}),
          ...(q.flag ? { flag: q.flag } : {}),
          ...(q.late ? { late: true } : {}),
          limit: q.limit ?? 50,
        },
        q.cursor ?? null,
      );
      const withPoster = await posters(page.items);
      return { items: page.items.map((i) => presentItem(i, withPoster.has(i.id))), next: page.next };
    },
  );

  app.get(
    '/evidence/:id',
    {
      schema: {
        tags: ['evidence'],
        summary: 'One item: its five fields and which are missing, derivatives, verification state, custody timeline',
        params: S.IdParam,
        querystring: Type.Object({ purpose: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })) }, { additionalProperties: false }),
        response: { 200: S.EvidenceDetail, ...S.errors(401, 403, 404, 503) },
      },
    },
    async (req) => {
      const shown = await rt.evidence.showFor(callerOf(req), req.params.id, req.query.purpose ?? null);
      // The later of a check on request (FIXITY_CHECKED) and the scheduled cycle's (fixity_items).
      const asked = shown.events.filter((e) => e.type === 'FIXITY_CHECKED').pop();
      const scheduled = await rt.fixity.lastCheck(shown.evidence.id);
      const fixity =
        scheduled && (!asked || scheduled.at.getTime() > new Date(asked.at).getTime())
          ? { at: scheduled.at.toISOString(), ok: scheduled.ok }
          : asked
            ? { at: asked.at, ok: asked.details.ok === true }
            : null;
      return {
        item: presentItem(shown.evidence, shown.derivatives.some((d) => d.kind === 'poster')),
        derivatives: shown.derivatives.map(presentDerivative),
        verification: {
          verifiedAt: shown.evidence.verifiedAt.toISOString(),
          lastFixityCheck: fixity,
        },
        media: presentMedia(shown.evidence),
        may: shown.may,
        timeline: shown.events.map(presentEvent),
      };
    },
  );

  app.patch(
    '/evidence/:id',
    {
      schema: {
        tags: ['evidence'],
        summary: 'Fill in or correct the five fields; each change is a TAGGED custody event with who and why',
        params: S.IdParam,
        body: S.TagBody,
        response: { 200: Type.Object({ item: Type.Ref('EvidenceItem'), event: Type.Ref('CustodyEvent') }), ...S.errors(400, 401, 403, 404, 503) },
      },
    },
    async (req) => {
      const { reason, ...patch } = req.body;
      const tagged = await rt.evidence.tagFor(callerOf(req), req.params.id, patch, reason);
      const withPoster = await posters([tagged.evidence]);
      return { item: presentItem(tagged.evidence, withPoster.has(tagged.evidence.id)), event: presentEvent(tagged.event) };
    },
  );

  app.post(
    '/evidence/:id/verify',
    {
      schema: {
        tags: ['evidence'],
        summary: 'Re-hash the stored original now against its custody events; the result is a FIXITY_CHECKED event',
        params: S.IdParam,
        response: { 200: S.Verification, ...S.errors(401, 403, 404, 503) },
      },
    },
    async (req) => {
      const caller = callerOf(req);
      const { item } = await rt.evidence.authorizedItem(caller, req.params.id, 'verify');
      const result = await rt.verify.verifyItem(item.id, true);
      const event = await rt.ledger.record({
        type: 'FIXITY_CHECKED',
        actor: { kind: caller.principal.kind === 'user' ? 'user' : 'system', id: caller.principal.name },
        evidenceId: item.id,
        details: { ok: result.ok, rehashed: result.rehashed, problems: result.problems, sha256: item.sha256, by: caller.principal.name },
      });
      return { evidenceId: item.id, ok: result.ok, rehashed: result.rehashed, problems: result.problems, at: event.at };
    },
  );

  for (const media of MEDIA) {
    app.get(
      `/evidence/:id/${media}`,
      {
        schema: {
          tags: ['media'],
          summary:
            media === 'original'
              ? 'The original as stored (download: roles and approvals that allow it), with range requests'
              : `The ${media}, streamed with range requests (206, Accept-Ranges, Content-Range, If-Range)`,
          params: S.IdParam,
          headers: Type.Object({ range: Type.Optional(Type.String({ maxLength: 200 })), 'if-range': Type.Optional(Type.String({ maxLength: 200 })) }),
          response: {
            200: S.binary('The whole object'),
            206: S.binary('The requested range'),
            ...S.errors(401, 403, 404, 416, 503),
          },
        },
      },
      (req, reply) => streamMedia(rt, callerOf(req), req, reply, req.params.id, media),
    );
  }
}

async function streamMedia(rt: RouteDeps['rt'], caller: Caller, req: FastifyRequest, reply: FastifyReply, id: string, media: Media): Promise<FastifyReply> {
  const action = media === 'original' ? 'download' : media === 'poster' ? 'view' : 'play';
  const { item, authorized } = await rt.evidence.authorizedItem(caller, id, action);
  let target: StreamTarget;
  if (media === 'original') {
    target = { bucket: 'originals', key: item.objectKey, size: item.size, contentType: 'application/octet-stream', sha256: item.sha256 };
  } else {
    const d = (await rt.catalog.derivativesOf(item.id)).find((x) => x.kind === media);
    if (!d) throw notFound('evidence', `${item.id}/${media}`);
    target = { bucket: 'derivatives', key: d.objectKey, size: d.size, contentType: d.contentType, sha256: d.sha256 };
  }
  // A poster is a result list's (its search page is logged); the rest is playback or download.
  const log = media === 'poster' ? null : () => rt.access.record(caller, { action, evidenceId: item.id, approvalId: authorized.approvalId, purpose: media });
  return sendObject(rt, req, reply, target, log, media === 'original' ? `${item.sha256}${extensionOf(item.originalName)}` : null);
}

export interface StreamTarget {
  bucket: BucketRole;
  key: string;
  size: number;
  contentType: string;
  sha256: string;
}

/**
 * Streams a stored object with range requests (206, If-Range on its SHA-256 entity tag).
 * `logStart` writes the access record: once per playback, on the request that starts it (no
 * range, or from byte 0), not on every seek. `attachment`: a download's file name.
 */
export async function sendObject(
  rt: RouteDeps['rt'],
  req: FastifyRequest,
  reply: FastifyReply,
  target: StreamTarget,
  logStart: (() => Promise<unknown>) | null,
  attachment: string | null,
): Promise<FastifyReply> {
  const etag = entityTag(target.sha256);
  const headers = req.headers as Record<string, string | undefined>;
  const answer = answerRange(headers.range, headers['if-range'], etag, target.size);
  const starts = answer.kind !== 'partial' || answer.start === 0;
  if (logStart && starts) await logStart();
  reply.header('accept-ranges', 'bytes').header('etag', etag).header('cache-control', 'private, no-store').header('content-type', target.contentType);
  if (attachment) reply.header('content-disposition', `attachment; filename="${attachment}"`);
  if (answer.kind === 'unsatisfiable') {
    return reply.code(416).header('content-range', `bytes */${target.size}`).header('content-type', 'application/json').send({
      error: { code: 'RANGE_NOT_SATISFIABLE', message: `the object has ${target.size} bytes`, messageZh: `请求的范围超出文件大小（${target.size} 字节）` },
    });
  }
  if (answer.kind === 'partial') {
    const length = answer.end - answer.start + 1;
    const body = await rt.objects.readRange(target.bucket, target.key, answer.start, length);
    return reply.code(206).header('content-range', `bytes ${answer.start}-${answer.end}/${target.size}`).header('content-length', String(length)).send(body);
  }
  const body = await rt.objects.read(target.bucket, target.key);
  return reply.code(200).header('content-length', String(target.size)).send(body);
}

function extensionOf(name: string): string {
  const m = /\.[A-Za-z0-9]{1,8}$/.exec(name);
  return m ? m[0].toLowerCase() : '';
}
