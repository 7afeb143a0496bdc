import type { FastifyReply } from 'fastify';
import type { ServerResponse } from 'node:http';
import { Type, type Static } from 'typebox';
import type { Principal } from '../archive/principal.ts';
import { invalid } from '../archive/archive.errors.ts';
import { parsePeriod, ReportPeriodError } from '../archive/report.service.ts';
import { inScope } from '../archive/principal.ts';
import { READ_STAGES, SAFE_TO_UNDOCK_STAGES } from '../storage/catalog.repository.ts';
import * as S from './api.schemas.ts';
import { PollingFeed } from './polling.feed.ts';
import { presentDelivery, presentEvent, presentWebhook } from './api.presenters.ts';
import { callerOf, callerWith, type Api, type RouteDeps } from './request-context.ts';

export const SESSION_COOKIE = 'evidock_session';
const BOARD_RECENT = 20;

export interface DockEntry {
  dock: Static<typeof S.Dock>;
  officerId: string | null;
  unitId: string | null;
}

export interface HealthProbe {
  (): Promise<{ status: 'ok' | 'degraded'; dependencies: Record<string, { ok: boolean; ms: number | null; error?: string }>; unsealedAccessRecords: number | null }>;
}

type Dock = Static<typeof S.Dock>;

/** Every dock on the board, with whose recorder it is (who may see it is decided per caller). */
export async function loadDockBoard(rt: RouteDeps['rt'], recent: number): Promise<DockEntry[]> {
  const board = await rt.catalog.dockBoard(recent);
  const registrations = new Map((await rt.catalog.registeredRecorders()).map((r) => [r.serial, r]));
  return Promise.all(
    board.map(async (b) => {
      const reg = registrations.get(b.session.recorderSerial);
      const files = Object.values(b.stages).reduce((a, n) => a + Number(n), 0);
      const safe = Object.entries(b.stages).every(([stage]) => (SAFE_TO_UNDOCK_STAGES as readonly string[]).includes(stage));
      const docked = b.undockedAt === null;
      // Per-file progress only for recorders still docked: that is what the officer watches.
      const fileList = docked
        ? (await rt.catalog.filesOfSession(b.session.id)).map((f) => ({ name: f.displayPath, size: f.size, bytesAcquired: READ_STAGES.includes(f.stage) ? f.size : Math.min(f.bytesAcquired, f.size), stage: f.stage, duplicate: f.duplicate, error: f.error }))
        : [];
      const dock: Dock = {
        sessionId: b.session.id,
        workstationId: b.session.workstationId,
        recorderSerial: b.session.recorderSerial,
        status: b.session.status,
        docked,
        safeToUndock: b.session.status !== 'acquiring' && safe,
        files,
        bytes: b.bytes,
        bytesAcquired: b.bytesAcquired,
        stages: Object.fromEntries(Object.entries(b.stages).map(([k, v]) => [k, Number(v)])),
        gaps: b.session.gaps.length,
        startedAt: b.session.startedAt.toISOString(),
        acquiredAt: b.session.acquiredAt?.toISOString() ?? null,
        finishedAt: b.session.finishedAt?.toISOString() ?? null,
        undockedAt: b.undockedAt?.toISOString() ?? null,
        fileList,
      };
      return { dock, officerId: reg?.officerId ?? null, unitId: reg?.unitId ?? null };
    }),
  );
}

/** The docks the principal may see: its units' recorders (an officer: its own). */
export function docksVisibleTo(p: Principal, board: readonly DockEntry[]): Dock[] {
  return board.filter((e) => (p.role === 'officer' ? e.officerId !== null && e.officerId === p.officerId : inScope(p, e.unitId))).map((e) => e.dock);
}

/** Logins, health, the dock board, reports, the ledger and webhooks. */
export function systemRoutes(
  app: Api,
  { rt, health, secureCookies, streams }: RouteDeps & { health: HealthProbe; secureCookies: boolean; /** Open event streams, ended when the server closes. */ streams: Set<ServerResponse> },
): void {
  app.get(
    '/health',
    { config: { public: true }, schema: { tags: ['system'], summary: 'Each dependency, answered within the dependency timeout', response: { 200: S.Health, 503: S.Health } } },
    async (_req, reply) => {
      const h = await health();
      return reply.code(h.status === 'ok' ? 200 : 503).send(h);
    },
  );

  // One poll of the board per server, however many pages watch it.
  const dockFeed = new PollingFeed(() => loadDockBoard(rt, BOARD_RECENT), rt.config.server.dockBoardRefreshMs);

  const setCookie = (reply: FastifyReply, token: string, expiresAt: Date) =>
    reply.setCookie(SESSION_COOKIE, token, { path: '/api/', httpOnly: true, sameSite: 'strict', secure: secureCookies, expires: expiresAt });

  app.post(
    '/auth/login',
    {
      config: { public: true, rateLimit: { max: rt.config.server.loginRatePerMinute, timeWindow: 60_000 } },
      schema: { tags: ['auth'], summary: 'Log in: sets an HttpOnly session cookie; unsafe requests then carry X-CSRF-Token', body: S.LoginBody, response: { 200: S.Me, ...S.errors(400, 401, 429, 503) } },
    },
    async (req, reply) => {
      const r = await rt.identity.login(req.body.name, req.body.password, { ip: req.ip, userAgent: req.headers['user-agent'] ?? null });
      setCookie(reply, r.token, r.expiresAt);
      return {
        kind: 'user',
        name: r.principal.name,
        role: r.principal.role,
        officerId: r.principal.officerId,
        units: [...r.principal.unitIds],
        mustChangePassword: r.principal.mustChangePassword,
        csrfToken: r.csrfToken,
        expiresAt: r.expiresAt.toISOString(),
      };
    },
  );

  app.post(
    '/auth/logout',
    { config: { beforePasswordChange: true }, schema: { tags: ['auth'], summary: 'End the session', response: { 200: Type.Object({ ok: Type.Literal(true) }), ...S.errors(401) } } },
    async (req, reply) => {
      callerOf(req);
      if (req.sessionToken) await rt.identity.logout(req.sessionToken);
      reply.clearCookie(SESSION_COOKIE, { path: '/api/' });
      return { ok: true as const };
    },
  );

  app.get('/auth/me', { config: { beforePasswordChange: true }, schema: { tags: ['auth'], summary: 'Who the caller is', response: { 200: S.Me, ...S.errors(401) } } }, async (req) => {
    const p = callerOf(req).principal;
    return { kind: p.kind, name: p.name, role: p.role, officerId: p.officerId, units: [...p.unitIds], mustChangePassword: p.mustChangePassword, csrfToken: req.csrfToken, expiresAt: null };
  });

  app.post(
    '/auth/password',
    { config: { beforePasswordChange: true }, schema: { tags: ['auth'], summary: "Change one's own password (ends the user's other sessions)", body: S.PasswordBody, response: { 200: Type.Object({ ok: Type.Literal(true) }), ...S.errors(400, 401, 403) } } },
    async (req) => {
      await rt.identity.changePassword(callerOf(req).principal, req.body.current, req.body.next, req.sessionToken);
      return { ok: true as const };
    },
  );

  app.get(
    '/docks',
    {
      schema: {
        tags: ['docks'],
        summary: "Recorders docked now and recent dockings, with their files' progress (for the dock board)",
        querystring: Type.Object({ recent: Type.Optional(Type.Integer({ minimum: 0, maximum: 200, default: 20 })) }, { additionalProperties: false }),
        response: { 200: Type.Object({ docks: Type.Array(S.Dock) }), ...S.errors(401, 403, 503) },
      },
    },
    async (req) => ({ docks: docksVisibleTo(callerWith(req, 'docks', '查看采集站').principal, await loadDockBoard(rt, req.query.recent ?? 20)) }),
  );

  app.get(
    '/docks/events',
    {
      schema: {
        tags: ['docks'],
        summary: 'The dock board as server-sent events: an event `board` ({ docks }) at once and whenever it changes',
        response: { 200: S.binary('text/event-stream', 'text/event-stream'), ...S.errors(401, 403, 503) },
      },
    },
    async (req, reply) => {
      const p = callerWith(req, 'docks', '查看采集站').principal;
      // The first board is read before the stream opens, so a dead database is a 503, not an empty stream.
      let last = JSON.stringify({ docks: docksVisibleTo(p, await loadDockBoard(rt, BOARD_RECENT)) });
      reply.hijack();
      const out = reply.raw;
      out.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no', 'x-content-type-options': 'nosniff' });
      out.write(`retry: 2000\nevent: board\ndata: ${last}\n\n`);
      const unsubscribe = dockFeed.subscribe((board) => {
        // A database that went away: the stream ends and the browser reconnects (retry: 2000).
        if (board instanceof Error) return void out.end();
        const now = JSON.stringify({ docks: docksVisibleTo(p, board) });
        out.write(now !== last ? `event: board\ndata: ${now}\n\n` : ': keep-alive\n\n');
        last = now;
      });
      req.raw.on('close', unsubscribe);
      out.on('close', unsubscribe);
      streams.add(out);
      out.on('close', () => streams.delete(out));
    },
  );

  app.get(
    '/settings',
    {
      config: { public: true },
      schema: {
        tags: ['system'],
        summary: "What the web interface needs before login: the bureau's time zone and the languages",
        response: { 200: Type.Object({ timeZone: Type.String(), locales: Type.Array(Type.String()), defaultLocale: Type.String() }) },
      },
    },
    async () => ({ timeZone: rt.config.ingest.recorderTimeZone, locales: ['zh-CN', 'en'], defaultLocale: 'zh-CN' }),
  );

  app.get(
    '/reports',
    {
      schema: {
        tags: ['reports'],
        summary: 'Quarterly, yearly or monthly statistics (counts, hours, transfer deadline, completeness of the five fields) for the caller\'s units',
        querystring: S.ReportQuery,
        response: { 200: Type.Object({ period: Type.Object({ label: Type.String(), from: Type.String(), to: Type.String() }), by: Type.String(), rows: Type.Array(Type.Record(Type.String(), Type.Unknown())), total: Type.Record(Type.String(), Type.Unknown()) }), ...S.errors(400, 401, 403, 503) },
      },
    },
    async (req) => {
      const p = callerWith(req, 'reports', '查看统计报表').principal;
      const q = req.query;
      if ([q.quarter, q.year, q.month].filter(Boolean).length !== 1) throw invalid(['give exactly one of quarter (2026-Q4), year (2026) or month (2026-12)']);
      let period;
      try {
        period = parsePeriod({ ...(q.quarter ? { quarter: q.quarter.replace('-', '') } : {}), ...(q.year ? { year: q.year } : {}), ...(q.month ? { month: q.month } : {}) }, rt.config.ingest.recorderTimeZone);
      } catch (error) {
        if (error instanceof ReportPeriodError) throw invalid([error.message]);
        throw error;
      }
      const report = await rt.reports.build(period, q.by ?? 'unit', p.seesUnassigned ? undefined : { ids: [...p.scope], unassigned: false });
      return { period: { label: period.label, from: period.from.toISOString(), to: period.to.toISOString() }, by: report.by, rows: report.rows as unknown as Array<Record<string, unknown>>, total: report.total as unknown as Record<string, unknown> };
    },
  );

  app.get(
    '/ledger',
    {
      schema: {
        tags: ['ledger'],
        summary: 'The signed custody ledger in order (auditors), or one item\'s events',
        querystring: S.LedgerQuery,
        response: { 200: Type.Object({ events: Type.Array(Type.Ref('CustodyEvent')), next: Type.Union([Type.Integer(), Type.Null()]) }), ...S.errors(400, 401, 403, 503) },
      },
    },
    async (req) => {
      const caller = callerWith(req, 'ledger', '查看监管链账本');
      const limit = req.query.limit ?? 200;
      const page = await rt.ledger.page(req.query.after ?? 0, limit, req.query.evidenceId);
      await rt.access.record(caller, { action: 'ledger', ...(req.query.evidenceId ? { evidenceIds: [req.query.evidenceId] } : {}) });
      return { events: page.events.map(presentEvent), next: page.next };
    },
  );

  app.post(
    '/webhooks',
    { schema: { tags: ['webhooks'], summary: 'Subscribe to events of the key\'s units; deliveries are signed with the returned secret', body: S.WebhookBody, response: { 201: S.WebhookCreated, ...S.errors(400, 401, 403, 503) } } },
    async (req, reply) => {
      const hook = await rt.webhooks.subscribe(callerOf(req).principal, req.body);
      return reply.code(201).send({ ...presentWebhook(hook), secret: hook.secret });
    },
  );

  app.get('/webhooks', { schema: { tags: ['webhooks'], summary: "The key's subscriptions", response: { 200: Type.Array(S.Webhook), ...S.errors(401, 403, 503) } } }, async (req) =>
    (await rt.webhooks.list(callerOf(req).principal)).map(presentWebhook),
  );

  app.delete('/webhooks/:id', { schema: { tags: ['webhooks'], summary: 'Unsubscribe', params: S.UuidParam, response: { 200: Type.Object({ ok: Type.Literal(true) }), ...S.errors(401, 403, 404, 503) } } }, async (req) => {
    await rt.webhooks.remove(callerOf(req).principal, req.params.id);
    return { ok: true as const };
  });

  app.get(
    '/webhooks/:id/deliveries',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Deliveries of a subscription: state, attempts, last answer',
        params: S.UuidParam,
        querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })) }, { additionalProperties: false }),
        response: { 200: Type.Array(S.Delivery), ...S.errors(401, 404, 503) },
      },
    },
    async (req) => (await rt.webhooks.deliveries(callerOf(req).principal, req.params.id, req.query.limit ?? 100)).map(presentDelivery),
  );
}
