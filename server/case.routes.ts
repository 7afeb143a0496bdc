import { join } from 'node:path';
import { Type } from 'typebox';
import { moduleLogger } from '../config/logger.ts';
import { bagName } from '../archive/case-export.service.ts';
import { ExportFolder } from '../daemon/export-folder.adapter.ts';
import * as S from './api.schemas.ts';
import { presentAction, presentDocument, presentItem, presentMatch } from './api.presenters.ts';
import { callerOf, type Api, type RouteDeps } from './request-context.ts';

const log = moduleLogger('server');

/** Cases: links, the case view, enforcement actions and their suggestions, documents. */
export function caseRoutes(app: Api, { rt }: RouteDeps): void {
  app.put(
    '/cases/:caseNumber/links',
    {
      schema: {
        tags: ['cases'],
        summary: 'Link items to a case (idempotent: the same body again changes nothing); a LINKED event each',
        params: S.CaseParam,
        body: S.LinkBody,
        response: { 200: S.LinkResult, ...S.errors(400, 401, 403, 404, 503) },
      },
    },
    async (req) => rt.cases.link(callerOf(req), req.params.caseNumber, req.body.evidenceIds, req.body.reason ?? null),
  );

  app.delete(
    '/cases/:caseNumber/links',
    {
      schema: {
        tags: ['cases'],
        summary: 'Take items off a case, with a reason; an UNLINKED event each',
        params: S.CaseParam,
        body: S.UnlinkBody,
        response: { 200: S.UnlinkResult, ...S.errors(400, 401, 403, 404, 503) },
      },
    },
    async (req) => rt.cases.unlink(callerOf(req), req.params.caseNumber, req.body.evidenceIds, req.body.reason),
  );

  app.get(
    '/cases/:caseNumber',
    {
      schema: {
        tags: ['cases'],
        summary: 'The case: its items, documents, actions (with suggested links) and dates, as far as the caller may see',
        params: S.CaseParam,
        response: { 200: S.CaseBody, ...S.errors(400, 401, 403, 404, 503) },
      },
    },
    async (req) => {
      const c = await rt.cases.view(callerOf(req), req.params.caseNumber);
      const withPoster = await rt.catalog.derivativeKinds(
        c.items.map((i) => i.id),
        'poster',
      );
      return {
        caseNumber: c.caseNumber,
        createdAt: c.createdAt?.toISOString() ?? null,
        endedAt: c.endedAt?.toISOString() ?? null,
        archivedAt: c.archivedAt?.toISOString() ?? null,
        state: c.state,
        legalHold: c.legalHold,
        major: c.major,
        archiveBy: c.state === 'ended' && c.endedAt ? new Date(c.endedAt.getTime() + rt.config.cases.archiveDays * 86_400_000).toISOString() : null,
        items: c.items.map((i) => presentItem(i, withPoster.has(i.id))),
        documents: c.documents.map(presentDocument),
        actions: c.actions.map((a) => presentAction(a, a.matches)),
      };
    },
  );

  app.post(
    '/cases/:caseNumber/export',
    {
      schema: {
        tags: ['cases'],
        summary:
          "The case's evidence package, a BagIt 1.0 bag as one .zip: every original and case document read back from storage and checked against its SHA-256, data/evidence.json with the five fields, each record's signed custody events, a bilingual custody report, the public keys and an Ed25519 signature over the tag manifest; all of the case or nothing, an EXPORTED event per item",
        params: S.CaseParam,
        body: S.ExportBody,
        response: { 200: S.binary('A zip holding one folder, the bag (unzip; then bagit.py --validate or evidock verify-package)', 'application/zip'), ...S.errors(400, 401, 403, 404, 409, 503) },
      },
    },
    async (req, reply) => {
      // Assembled on this server's disk (hashed as it is written), then streamed and removed.
      const folder = ExportFolder.temporary(join(rt.config.dataDir, 'exports'));
      let exportId: string;
      try {
        exportId = (await rt.cases.exportFor(callerOf(req), req.params.caseNumber, { reason: req.body.reason, withProxies: req.body.withProxies ?? false, watermark: req.body.watermark ?? null }, folder)).exportId;
      } catch (error) {
        await folder.remove();
        throw error;
      }
      const name = bagName(req.params.caseNumber, exportId);
      const zip = folder.zip(name);
      const cleanup = () => void folder.remove().catch((e: Error) => log.warn({ exportId, err: e.message }, 'could not remove a sent export'));
      zip.stream.once('close', cleanup);
      const size = await zip.size;
      if (size >= 0) reply.header('content-length', size);
      return reply
        .header('content-type', 'application/zip')
        .header('content-disposition', `attachment; filename="case-${exportId.slice(0, 8)}.zip"; filename*=UTF-8''${encodeURIComponent(`${name}.zip`)}`)
        .header('x-evidock-export-id', exportId)
        .header('cache-control', 'no-store')
        .send(zip.stream);
    },
  );

  app.post(
    '/cases/:caseNumber/actions',
    {
      schema: {
        tags: ['cases'],
        summary: "Register an enforcement action; recordings of its officers overlapping its window (with the margin) are suggested",
        params: S.CaseParam,
        body: S.ActionBody,
        response: { 201: S.ActionCreated, ...S.errors(400, 401, 403, 503) },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const out = await rt.cases.registerAction(callerOf(req), req.params.caseNumber, {
        officerIds: b.officerIds,
        startsAt: new Date(b.startsAt),
        endsAt: new Date(b.endsAt),
        subject: b.subject ?? null,
        place: b.place ?? null,
      });
      return reply.code(201).send({ action: presentAction(out.action, []), suggested: out.suggested });
    },
  );

  app.post(
    '/cases/:caseNumber/actions/:actionId/matches/:evidenceId',
    {
      schema: {
        tags: ['cases'],
        summary: 'Confirm (links the item) or reject a suggested recording',
        params: Type.Object({ caseNumber: Type.String({ minLength: 1, maxLength: 128 }), actionId: Type.String({ format: 'uuid' }), evidenceId: Type.String({ format: 'uuid' }) }),
        body: S.MatchDecisionBody,
        response: { 200: S.Match, ...S.errors(400, 401, 403, 404, 409, 503) },
      },
    },
    async (req) => {
      const m = await rt.cases.decideMatch(callerOf(req), req.params.caseNumber, req.params.actionId, req.params.evidenceId, req.body.confirm, req.body.reason ?? null);
      return presentMatch(m);
    },
  );

  // Document bodies are streamed to the spool as they come, whatever their type; the service
  // checks the declared type against the bytes.
  app.register(async (docs) => {
    docs.removeAllContentTypeParsers();
    docs.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
    (docs as unknown as Api).post(
      '/cases/:caseNumber/documents',
      {
        schema: {
          tags: ['cases'],
          summary: 'Upload a text record of the case (PDF, OFD, scan, photo, office file): the body is the file; the name is ?name=',
          params: S.CaseParam,
          querystring: Type.Object({ name: Type.String({ minLength: 1, maxLength: 255 }) }, { additionalProperties: false }),
          headers: Type.Object({ 'content-type': Type.String({ minLength: 1, maxLength: 200 }) }),
          response: { 201: S.Document, ...S.errors(400, 401, 403, 413, 415, 503) },
        },
      },
      async (req, reply) => {
        const doc = await rt.cases.addDocument(callerOf(req), req.params.caseNumber, {
          name: req.query.name,
          contentType: req.headers['content-type'],
          body: req.body as AsyncIterable<Buffer>,
        });
        return reply.code(201).send(presentDocument(doc));
      },
    );
  });

  app.get(
    '/cases/:caseNumber/documents/:documentId',
    {
      schema: {
        tags: ['cases'],
        summary: 'Download a case document',
        params: Type.Object({ caseNumber: Type.String({ minLength: 1, maxLength: 128 }), documentId: Type.String({ format: 'uuid' }) }),
        response: { 200: S.binary('The document'), ...S.errors(401, 404, 503) },
      },
    },
    async (req, reply) => {
      const doc = await rt.cases.document(callerOf(req), req.params.caseNumber, req.params.documentId);
      const body = await rt.objects.read('originals', doc.objectKey);
      return reply
        .header('content-type', doc.contentType)
        .header('content-length', String(doc.size))
        .header('etag', `"${doc.sha256}"`)
        .header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(doc.originalName)}`)
        .send(body);
    },
  );
}
