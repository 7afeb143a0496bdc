import { join } from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { ArchiveError } from '../archive/archive.errors.ts';
import { bagName } from '../archive/case-export.service.ts';
import { shareReceiptHtml } from '../archive/share-receipt.ts';
import { shareState, tokenHash, TOKEN_PATTERN } from '../archive/sharing.service.ts';
import { moduleLogger } from '../config/logger.ts';
import { ExportFolder } from '../daemon/export-folder.adapter.ts';
import type { ShareRow } from '../storage/share.repository.ts';
import * as S from './api.schemas.ts';
import { sendObject } from './evidence.routes.ts';
import { callerOf, type Api, type RouteDeps } from './request-context.ts';

const log = moduleLogger('server');

export function presentShare(s: ShareRow, at: Date) {
  return {
    shareId: s.id,
    recipient: s.recipient,
    caseNumber: s.caseNumber,
    mode: s.mode,
    watermark: s.watermark,
    approvalId: s.approvalId,
    authorizedBy: s.authorizedBy,
    purpose: s.purpose,
    createdBy: s.createdBy,
    createdAt: s.createdAt.toISOString(),
    expiresAt: s.expiresAt.toISOString(),
    revokedAt: s.revokedAt?.toISOString() ?? null,
    revokedBy: s.revokedBy,
    revokeReason: s.revokeReason,
    state: shareState(s, at),
    tokenSha256: s.tokenSha256,
    items: s.items.map((i) => ({ evidenceId: i.evidenceId, sha256: i.sha256, copyKind: i.copyKind, copySha256: i.copySha256, copySize: i.copySize, contentType: i.contentType, watermarkLines: i.watermarkLines })),
  };
}

/**
 * Share links and disclosure copies for custodians (under /api/v1, authenticated), and the
 * recipient's side of a link (public: the token is the credential). A token that names no
 * share is a 404 and counts against the client's per-minute allowance; a valid one never
 * does, so a recipient's player can seek freely.
 */
export function shareRoutes(app: Api, { rt }: RouteDeps): void {
  app.post(
    '/shares',
    {
      schema: {
        tags: ['sharing'],
        summary: 'Share items or a case with a named recipient (view or download, until an expiry); the token is answered once, SHARE_CREATED and DERIVED events name the recipient',
        body: S.ShareCreateBody,
        response: { 201: S.ShareCreated, ...S.errors(400, 401, 403, 404, 409, 503) },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const made = await rt.sharing.create(callerOf(req), {
        ...(b.evidenceIds ? { evidenceIds: b.evidenceIds } : {}),
        ...(b.caseNumber ? { caseNumber: b.caseNumber } : {}),
        recipient: b.recipient,
        mode: b.mode,
        ...(b.expiresAt ? { expiresAt: new Date(b.expiresAt) } : {}),
        watermark: b.watermark ?? true,
        approvalId: b.approvalId ?? null,
        purpose: b.purpose ?? null,
      });
      return reply.code(201).send({ share: presentShare(made.share, new Date()), token: made.token, link: made.link });
    },
  );

  app.get(
    '/shares',
    { schema: { tags: ['sharing'], summary: "The shares made by the caller's units, newest first", querystring: S.ShareQuery, response: { 200: S.ShareList, ...S.errors(400, 401, 403, 503) } } },
    async (req) => {
      const shares = await rt.sharing.list(callerOf(req), { ...(req.query.case ? { caseNumber: req.query.case } : {}), ...(req.query.evidenceId ? { evidenceId: req.query.evidenceId } : {}) });
      const now = new Date();
      return { shares: shares.map((s) => presentShare(s, now)) };
    },
  );

  app.get(
    '/shares/:id',
    { schema: { tags: ['sharing'], summary: 'One share', params: S.ShareIdParam, response: { 200: S.Share, ...S.errors(401, 403, 404, 503) } } },
    async (req) => presentShare(await rt.sharing.get(callerOf(req), req.params.id), new Date()),
  );

  app.post(
    '/shares/:id/revoke',
    { schema: { tags: ['sharing'], summary: 'Close a share before its expiry (410 for its link from now on); a SHARE_REVOKED event per item', params: S.ShareIdParam, body: S.RevokeBody, response: { 200: S.Share, ...S.errors(400, 401, 403, 404, 409, 503) } } },
    async (req) => presentShare(await rt.sharing.revoke(callerOf(req), req.params.id, req.body.reason), new Date()),
  );

  app.get(
    '/shares/:id/receipt',
    {
      schema: {
        tags: ['sharing'],
        summary: 'The receipt (共享回执): what was shared with whom, the approval, the expiry, each original and copy SHA-256, as an A4 PDF or an HTML page',
        params: S.ShareIdParam,
        querystring: S.ReceiptQuery,
        response: { 200: S.binary('The receipt', 'application/pdf'), ...S.errors(401, 403, 404, 503) },
      },
    },
    async (req, reply) => {
      const receipt = await rt.sharing.receipt(await rt.sharing.get(callerOf(req), req.params.id));
      if (req.query.format === 'html') return reply.header('content-type', 'text/html; charset=utf-8').send(shareReceiptHtml(receipt));
      const { shareReceiptPdf } = await import('../daemon/share-receipt-pdf.adapter.ts');
      const pdf = await shareReceiptPdf(receipt, { file: rt.config.reports.fontFile, face: rt.config.reports.fontFace });
      return reply.header('content-type', 'application/pdf').header('content-disposition', `attachment; filename="share-${req.params.id.slice(0, 8)}.pdf"`).send(pdf);
    },
  );

  app.get(
    '/cases/:caseNumber/disclosure/preview',
    {
      schema: {
        tags: ['sharing'],
        summary: "What a disclosure copy of the case would hold now, before one is made: each item's copy (its redacted render, the unprocessed playback proxy, or left out for want of a copy); no event",
        params: S.CaseParam,
        response: { 200: S.DisclosurePreview, ...S.errors(400, 401, 403, 404, 503) },
      },
    },
    async (req) => {
      const p = await rt.disclosure.preview(callerOf(req), req.params.caseNumber);
      return { ...p, items: p.items.map((i) => ({ ...i, captureStart: i.captureStart?.toISOString() ?? null })) };
    },
  );

  app.get(
    '/cases/:caseNumber/disclosures',
    {
      schema: {
        tags: ['sharing'],
        summary: 'The disclosure copies made of the case, newest first, from its DISCLOSED custody events: who, when, under which approval, each file and its hash',
        params: S.CaseParam,
        response: { 200: S.DisclosureList, ...S.errors(400, 401, 403, 404, 503) },
      },
    },
    async (req) => ({ disclosures: await rt.disclosure.disclosures(callerOf(req), req.params.caseNumber) }),
  );

  app.post(
    '/cases/:caseNumber/disclosure',
    {
      schema: {
        tags: ['sharing'],
        summary:
          "A de-identified copy of the case for publication (公示) as one .zip: each item's newest redacted render (else its playback proxy, which disclosure.json says), and disclosure.json with only the allowed fields, ID, card and phone numbers, addresses and third parties' names masked; needs an approval for export; a DISCLOSED event per item",
        params: S.CaseParam,
        body: S.DiscloseBody,
        response: { 200: S.binary('A zip holding one folder', 'application/zip'), ...S.errors(400, 401, 403, 404, 409, 503) },
      },
    },
    async (req, reply) => {
      const folder = ExportFolder.temporary(join(rt.config.dataDir, 'exports'));
      let id: string;
      try {
        const caller = callerOf(req);
        id = (
          await rt.disclosure.disclose(
            caller,
            { caseNumber: req.params.caseNumber, approvalId: req.body.approvalId, names: req.body.names ?? [], keep: req.body.keep ?? [], destination: `download by ${caller.principal.kind} ${caller.principal.name} from ${caller.ip ?? 'unknown address'}` },
            folder,
          )
        ).disclosureId;
      } catch (error) {
        await folder.remove();
        throw error;
      }
      const name = `disclosure-${bagName(req.params.caseNumber, id)}`;
      const zip = folder.zip(name);
      zip.stream.once('close', () => void folder.remove().catch((e: Error) => log.warn({ id, err: e.message }, 'could not remove a sent disclosure')));
      const size = await zip.size;
      if (size >= 0) reply.header('content-length', size);
      return reply
        .header('content-type', 'application/zip')
        .header('content-disposition', `attachment; filename="disclosure-${id.slice(0, 8)}.zip"; filename*=UTF-8''${encodeURIComponent(`${name}.zip`)}`)
        .send(zip.stream);
    },
  );
}

/** The recipient's routes: public, outside the session and CSRF checks (the token is the credential). */
export function publicShareRoutes(app: Api, { rt, sendPage }: RouteDeps & { sendPage: (req: FastifyRequest, reply: FastifyReply, status?: number) => FastifyReply }): void {
  const from = (req: FastifyRequest) => ({ ip: req.ip, userAgent: req.headers['user-agent'] ?? null });
  const rateLimit = {
    max: rt.config.sharing.wrongTokenPerMinute,
    timeWindow: 60_000,
    groupId: 'share-token',
    // Only lookups of tokens that name no share count: a recipient's player may seek at will.
    allowList: async (req: FastifyRequest) => {
      const token = (req.params as { token?: string }).token ?? '';
      return TOKEN_PATTERN.test(token) && (await rt.sharing.known(tokenHash(token)));
    },
    errorResponseBuilder: (_req: FastifyRequest, ctx: { ttl: number }) =>
      new ArchiveError('RATE_LIMITED', 429, `too many unknown share links; try again in ${Math.ceil(ctx.ttl / 1000)} s`, `无效的共享链接请求过多，请 ${Math.ceil(ctx.ttl / 1000)} 秒后再试`, {
        retryAfterSeconds: Math.ceil(ctx.ttl / 1000),
      }),
  };

  // The page a recipient opens: the web interface's shell, with the status the link has (404, 410).
  app.get('/share/:token', { config: { public: true, rateLimit }, schema: { hide: true, params: S.TokenParam } }, async (req, reply) => {
    try {
      await rt.sharing.open(req.params.token);
      return sendPage(req, reply);
    } catch (error) {
      if (error instanceof ArchiveError && (error.status === 404 || error.status === 410) && /text\/html/.test(req.headers.accept ?? '')) return sendPage(req, reply, error.status);
      throw error;
    }
  });

  app.get(
    '/api/v1/shared/:token',
    {
      config: { public: true, rateLimit },
      schema: {
        tags: ['sharing'],
        summary: 'What a share link holds (public: the token is the credential); 410 when revoked or expired; each item shown is an access record naming the share',
        security: [],
        params: S.TokenParam,
        response: { 200: S.SharedView, ...S.errors(404, 410, 429, 503) },
      },
    },
    async (req) => rt.sharing.recipientView(await rt.sharing.open(req.params.token), from(req)),
  );

  for (const what of ['play', 'download'] as const) {
    app.get(
      `/api/v1/shared/:token/items/:evidenceId/${what}`,
      {
        config: { public: true, rateLimit },
        schema: {
          tags: ['sharing'],
          summary:
            what === 'play'
              ? 'The copy of a shared item, to play in the browser (range requests); an access record per playback'
              : 'The copy of a shared item as a download (download shares only: 403 on a view-only share); an access record',
          security: [],
          params: S.TokenItemParam,
          headers: Type.Object({ range: Type.Optional(Type.String({ maxLength: 200 })), 'if-range': Type.Optional(Type.String({ maxLength: 200 })) }),
          response: { 200: S.binary('The copy'), 206: S.binary('The requested range'), ...S.errors(403, 404, 410, 416, 429, 503) },
        },
      },
      async (req, reply) => {
        const share = await rt.sharing.open(req.params.token);
        // The access record is written for the request that starts a playback, inside sendObject.
        const item = await rt.sharing.access(share, req.params.evidenceId, what, from(req), false);
        const ext = item.contentType === 'video/mp4' ? '.mp4' : item.contentType === 'audio/mp4' ? '.m4a' : item.contentType.startsWith('image/') ? '.jpg' : '';
        return sendObject(
          rt,
          req,
          reply,
          { bucket: 'derivatives', key: item.copyKey, size: item.copySize, contentType: item.contentType, sha256: item.copySha256 },
          () => rt.sharing.access(share, item.evidenceId, what, from(req)),
          what === 'download' ? `${item.evidenceId}${ext}` : null,
        );
      },
    );
  }
}
