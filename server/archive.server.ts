import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Cluster, Redis } from 'ioredis';
import { ArchiveError, invalid } from '../archive/archive.errors.ts';
import { EvidenceNotFoundError } from '../archive/evidence.service.ts';
import { moduleLogger } from '../config/logger.ts';
import type { Runtime } from '../daemon/runtime.ts';
import { ObjectStoreUnavailableError } from '../storage/object-store.ts';
import { DatabaseUnavailableError, isDatabaseUnavailable } from '../storage/postgres.database.ts';
import { QueueUnavailableError, sentinelOptionsOf } from '../workers/bullmq.job-queue.ts';
import { accessRoutes } from './access.routes.ts';
import { adminRoutes } from './admin.routes.ts';
import { SHARED_SCHEMAS } from './api.schemas.ts';
import { BASE } from './api.presenters.ts';
import { caseRoutes } from './case.routes.ts';
import { preservationRoutes } from './preservation.routes.ts';
import { publicShareRoutes, shareRoutes } from './share.routes.ts';
import { redactionRoutes } from './redaction.routes.ts';
import { evidenceRoutes } from './evidence.routes.ts';
import type { Api } from './request-context.ts';
import { SESSION_COOKIE, systemRoutes, type HealthProbe } from './system.routes.ts';
import { registerWebUi, wantsPage } from './web-ui.plugin.ts';

const log = moduleLogger('server');

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Dependencies whose absence a request answers with 503 naming them. */
export type Dependency = 'postgres' | 'redis' | 'minio';

export function dependencyOf(error: unknown): Dependency | null {
  if (error instanceof DatabaseUnavailableError || isDatabaseUnavailable(error)) return 'postgres';
  if (error instanceof ObjectStoreUnavailableError) return 'minio';
  if (error instanceof QueueUnavailableError) return 'redis';
  const name = (error as Error | null)?.name ?? '';
  if (name === 'ObjectStoreRequestError' && /ECONNREFUSED|ECONNRESET|socket hang up|ETIMEDOUT/.test((error as Error).message)) return 'minio';
  return null;
}

const DEPENDENCY_ZH: Record<Dependency, string> = { postgres: '数据库（PostgreSQL）', redis: '队列服务（Redis）', minio: '对象存储（MinIO）' };

function errorBody(code: string, message: string, messageZh: string, extra: Record<string, unknown> = {}) {
  return { error: { code, message, messageZh, ...extra } };
}

/**
 * The archive server's HTTP layer: Fastify with TypeBox schemas on every route (validation,
 * serialization and the OpenAPI document), authentication by session cookie or API key,
 * JSON errors in both languages. Thin: every decision is in the archive services.
 */
export async function buildArchiveServer(rt: Runtime, options: { health?: HealthProbe; rateLimitRedis?: Redis | Cluster | null } = {}): Promise<FastifyInstance> {
  const cfg = rt.config.server;
  const app = Fastify({
    logger: false,
    genReqId: () => randomUUID(),
    trustProxy: cfg.trustProxy,
    requestTimeout: cfg.requestTimeoutSeconds * 1000,
    // Idle keep-alive sockets close at shutdown; requests in flight may finish.
    forceCloseConnections: 'idle',
    ...(cfg.tls ? { https: { cert: readFileSync(cfg.tls.certFile), key: readFileSync(cfg.tls.keyFile) } } : {}),
    ajv: { customOptions: { allErrors: true, removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'evidock archive API',
        version: '1',
        description: '执法记录仪证据档案接口 / the evidence archive of body-worn recorder footage: search, custody, cases, approvals and access logging.',
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer evk_… (case systems)' },
          session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE, description: 'After POST /api/v1/auth/login; unsafe methods also need X-CSRF-Token' },
        },
      },
      security: [{ apiKey: [] }, { session: [] }],
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  await app.register(fastifyCookie);
  await app.register(fastifyRateLimit, {
    global: false,
    // Shared by every server when Redis is there; a Redis that is away does not block logins
    // (the per-account lockout in PostgreSQL still holds).
    ...(options.rateLimitRedis ? { redis: options.rateLimitRedis as Redis, nameSpace: `${rt.config.redis.prefix}:login-rate:`, skipOnError: true } : {}),
    errorResponseBuilder: (_req, ctx) => {
      const err = new ArchiveError('RATE_LIMITED', 429, `too many login attempts; try again in ${Math.ceil(ctx.ttl / 1000)} s`, `登录尝试过于频繁，请 ${Math.ceil(ctx.ttl / 1000)} 秒后再试`, {
        retryAfterSeconds: Math.ceil(ctx.ttl / 1000),
      });
      return err;
    },
  });

  app.decorateRequest('caller', null);
  app.decorateRequest('sessionToken', null);
  app.decorateRequest('csrfToken', null);

  app.addHook('onRequest', async (req) => {
    (req as FastifyRequest & { startedAt: number }).startedAt = performance.now();
    // Pages and their assets are public (they hold no data); the API decides per route.
    if (req.routeOptions.config?.public || !req.url.startsWith('/api/')) return;
    await authenticate(rt, req);
  });

  // PostgreSQL text cannot hold U+0000: such input is refused as bad input, not met as a 500.
  app.addHook('preValidation', async (req) => {
    const where = [['params', req.params], ['querystring', req.query], ['body', req.body]] as const;
    const problems = where.filter(([, v]) => holdsNul(v)).map(([name]) => `${name} contains a NUL character`);
    if (problems.length > 0) throw invalid(problems);
  });

  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-request-id', req.id);
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    if (cfg.tls) reply.header('strict-transport-security', 'max-age=31536000');
    return payload;
  });

  app.addHook('onResponse', async (req, reply) => {
    const ms = Math.round(performance.now() - ((req as FastifyRequest & { startedAt?: number }).startedAt ?? performance.now()));
    const fields = { reqId: req.id, method: req.method, route: req.routeOptions.url ?? 'unknown', status: reply.statusCode, ms, principal: req.caller?.principal.name ?? null, ip: req.ip };
    if (reply.statusCode >= 500) log.warn(fields, 'request failed');
    else log.debug(fields, 'request');
  });

  const sendPage = await registerWebUi(app, cfg.webRoot);
  app.setNotFoundHandler((req, reply) => {
    if (wantsPage(req)) return sendPage(req, reply);
    void reply.code(404).send(errorBody('ROUTE_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`, '没有这个接口'));
  });

  app.setErrorHandler((error: FastifyError, req, reply) => sendError(error, req, reply));

  const health = options.health ?? healthProbe(rt);
  // Event streams never go idle: ended at close, so that a graceful stop is not held up by open pages.
  const streams = new Set<ServerResponse>();
  app.addHook('preClose', async () => {
    for (const s of streams) s.end();
  });
  const api = app as unknown as Api;
  publicShareRoutes(api, { rt, sendPage });
  await app.register(
    async (v1) => {
      const scoped = v1 as unknown as Api;
      systemRoutes(scoped, { rt, health, secureCookies: Boolean(cfg.tls) || cfg.trustProxy !== false, streams });
      evidenceRoutes(scoped, { rt });
      caseRoutes(scoped, { rt });
      preservationRoutes(scoped, { rt });
      redactionRoutes(scoped, { rt });
      accessRoutes(scoped, { rt });
      shareRoutes(scoped, { rt });
      adminRoutes(scoped, { rt });
      scoped.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
    },
    { prefix: BASE },
  );
  void api;
  return app;
}

function holdsNul(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (depth > 32 || value === null || typeof value !== 'object' || typeof (value as { pipe?: unknown }).pipe === 'function') return false;
  return Object.entries(value as Record<string, unknown>).some(([k, v]) => k.includes('\u0000') || holdsNul(v, depth + 1));
}

/** Who is calling: an API key (Authorization: Bearer) or a session cookie (with CSRF on unsafe methods). */
async function authenticate(rt: Runtime, req: FastifyRequest): Promise<void> {
  const auth = req.headers.authorization;
  if (auth !== undefined) {
    const m = /^Bearer\s+(\S+)$/i.exec(auth);
    const principal = m ? await rt.identity.authenticateKey(m[1]!) : null;
    if (!principal) throw new ArchiveError('BAD_API_KEY', 401, 'the API key is not valid or was revoked', 'API 密钥无效或已吊销');
    req.caller = { principal, ip: req.ip, userAgent: req.headers['user-agent'] ?? null };
    return;
  }
  const token = req.cookies[SESSION_COOKIE];
  if (!token) throw new ArchiveError('UNAUTHENTICATED', 401, 'log in or send an API key', '请先登录');
  const session = await rt.identity.session(token);
  if (!session) throw new ArchiveError('SESSION_EXPIRED', 401, 'the session has ended; log in again', '登录已过期，请重新登录');
  if (UNSAFE.has(req.method) && req.headers['x-csrf-token'] !== session.csrfToken) {
    throw new ArchiveError('CSRF', 403, 'missing or wrong X-CSRF-Token header', '请求缺少有效的 CSRF 令牌，请刷新页面后重试');
  }
  if (session.principal.mustChangePassword && !req.routeOptions.config?.beforePasswordChange) {
    throw new ArchiveError('PASSWORD_CHANGE_REQUIRED', 403, 'change your password first (POST /api/v1/auth/password)', '首次登录请先修改密码');
  }
  req.sessionToken = token;
  req.csrfToken = session.csrfToken;
  req.caller = { principal: session.principal, ip: req.ip, userAgent: req.headers['user-agent'] ?? null };
}

function sendError(error: FastifyError, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (reply.sent || reply.raw.headersSent) {
    // A stream that broke mid-body: the client sees a cut connection; the log says why.
    log.warn({ reqId: req.id, err: error.message }, 'response stream broke');
    reply.raw.destroy();
    return reply;
  }
  if (error instanceof ArchiveError) {
    if (error.extra.retryAfterSeconds) reply.header('retry-after', String(error.extra.retryAfterSeconds));
    return reply.code(error.status).send(errorBody(error.code, error.message, error.messageZh, error.extra));
  }
  if (error.validation) {
    const problems = error.validation.map((v) => {
      const where = `${error.validationContext ?? 'request'}${v.instancePath ? v.instancePath.replaceAll('/', '.') : ''}`;
      const extra = v.keyword === 'additionalProperties' ? ` ${String((v.params as { additionalProperty?: string }).additionalProperty)}` : '';
      return `${where} ${v.message ?? 'is not valid'}${extra}`;
    });
    return reply.code(400).send(errorBody('INVALID_REQUEST', `invalid request: ${problems.join('; ')}`, `请求有误：${problems.join('；')}`, { problems }));
  }
  if (error instanceof EvidenceNotFoundError) return reply.code(404).send(errorBody('EVIDENCE_NOT_FOUND', error.message, `找不到证据 ${error.id}`));
  const dependency = dependencyOf(error);
  if (dependency) {
    log.warn({ reqId: req.id, dependency, err: error.message }, 'dependency unavailable');
    reply.header('retry-after', '5');
    return reply.code(503).send(errorBody('DEPENDENCY_UNAVAILABLE', `${dependency} is not answering; try again shortly`, `${DEPENDENCY_ZH[dependency]}暂不可用，请稍后重试`, { dependency }));
  }
  const status = error.statusCode ?? 500;
  if (status === 413) return reply.code(413).send(errorBody('TOO_LARGE', 'the request body is too large', '请求内容过大'));
  if (status === 415) return reply.code(415).send(errorBody('UNSUPPORTED_MEDIA_TYPE', 'send application/json', '不支持的内容类型'));
  if (status === 429) return reply.code(429).send(errorBody('RATE_LIMITED', error.message, '请求过于频繁，请稍后再试'));
  if (status >= 400 && status < 500) return reply.code(status).send(errorBody('BAD_REQUEST', error.message, '请求有误'));
  // Neither stack nor SQL: the name and message are logged, the client gets the request id.
  log.error({ reqId: req.id, err: error.message, name: error.name }, 'unexpected error');
  return reply.code(500).send(errorBody('INTERNAL', `internal error (request ${req.id})`, `服务器内部错误（请求编号 ${req.id}）`));
}

/** Each dependency answered within the dependency timeout, or named as the one that did not. */
export function healthProbe(rt: Runtime): HealthProbe {
  const timeoutMs = rt.config.server.dependencyTimeoutMs;
  const probe = async (fn: () => Promise<unknown>) => {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([fn(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)))]);
      return { ok: true, ms: Math.round(performance.now() - started) };
    } catch (error) {
      return { ok: false, ms: null, error: (error as Error).message.slice(0, 200) };
    } finally {
      clearTimeout(timer);
    }
  };
  return async () => {
    const [postgres, redis, minio] = await Promise.all([
      probe(() => rt.db.query('SELECT 1')),
      probe(async () => {
        if (!(await rt.queue.reachable(timeoutMs))) throw new Error(`no answer within ${timeoutMs} ms`);
      }),
      probe(() => rt.objects.ping()),
    ]);
    let unsealed: number | null = null;
    if (postgres.ok) unsealed = await rt.access.unsealedCount().catch(() => null);
    const ok = postgres.ok && redis.ok && minio.ok;
    return { status: ok ? 'ok' : 'degraded', dependencies: { postgres, redis, minio }, unsealedAccessRecords: unsealed };
  };
}

/** The login rate limiter's Redis: fails fast rather than queueing, so a dead Redis never holds a login. */
export function rateLimitRedis(rt: Runtime): Redis | Cluster {
  const r = rt.config.redis;
  const common = { password: r.password, enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: rt.config.server.dependencyTimeoutMs };
  const client =
    r.mode === 'cluster'
      ? new Cluster(r.nodes.map((n) => ({ host: n.host, port: n.port })), { enableOfflineQueue: false, redisOptions: common })
      : r.mode === 'sentinel'
        ? new Redis({ ...common, db: r.db, ...sentinelOptionsOf(rt.config) })
        : new Redis({ ...common, host: r.host, port: r.port, db: r.db, lazyConnect: false });
  client.on('error', () => undefined);
  return client;
}
