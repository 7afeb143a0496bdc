import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../config/config.loader.ts';
import { importFolder } from '../daemon/cli.ts';
import type { Runtime } from '../daemon/runtime.ts';
import { makeRecorderFootage } from '../scripts/make-footage.ts';
import { QueueName } from '../workers/job.types.ts';
import {
  freePort,
  privateMinioConfig,
  privatePostgresConfig,
  privateRedisConfig,
  startPrivateMinio,
  startPrivatePostgres,
  startPrivateRedis,
  stopAllPrivateServices,
  type PrivateService,
} from './support/private-services.ts';
import { createTestEnv, eventually, type TestEnv } from './support/test-env.ts';

/**
 * `evidock serve` as a process, on private PostgreSQL, Redis and MinIO servers the test takes
 * down and brings back: each outage answers 503 naming the server (never a hang), the
 * server recovers by itself, a webhook written while Redis was away is still delivered, and
 * SIGTERM lets a request in flight finish before the process exits 0.
 */

const PASSWORD = 'Archive-Test-2026!';

describe('archive server process', () => {
  let env: TestEnv;
  let rt: Runtime;
  let pg: PrivateService;
  let redis: PrivateService;
  let minio: PrivateService;
  let server: ChildProcess | null = null;
  let output = '';
  let base = '';
  let key = '';
  let evidenceId = '';
  let cookie = '';

  const api = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const started = Date.now();
    const res = await fetch(`${base}/api/v1${path}`, {
      method,
      headers: { ...(headers.cookie ? {} : { authorization: `Bearer ${key}` }), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(20_000),
    });
    const text = await res.text();
    const json = (res.headers.get('content-type') ?? '').startsWith('application/json') ? (JSON.parse(text) as Record<string, any>) : {};
    return { status: res.status, json, ms: Date.now() - started };
  };

  beforeAll(async () => {
    const dir = resolve(REPO_ROOT, 'var', 'test', `serve-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    [pg, redis, minio] = await Promise.all([startPrivatePostgres(dir), startPrivateRedis(dir), startPrivateMinio(dir)]);
    const port = await freePort();
    env = await createTestEnv('serve', {
      postgres: privatePostgresConfig(pg.port),
      redis: privateRedisConfig(redis.port),
      minio: privateMinioConfig(minio.port),
      server: { port, dependencyTimeoutMs: 1000, shutdownSeconds: 20 },
      webhooks: { attempts: 5, backoffSeconds: 0.2, requeueSeconds: 2 },
    });
    rt = await env.runtime();
    rt.startWorkers([QueueName.Acquire, QueueName.Store, QueueName.Clear, QueueName.Catalog]);
    await rt.identity.addUnit({ id: 'SZ', name: '深圳市医疗保障局', parentId: null }, 'test');
    await rt.identity.registerRecorder({ serial: 'ZFYS01', officerId: 'O1', unitId: 'SZ' }, 'test');
    await rt.identity.addUser({ name: 'custodian', role: 'custodian', unitIds: ['SZ'], password: PASSWORD }, 'test');
    key = (await rt.identity.createKey({ name: 'cms', role: 'case-system', unitIds: ['SZ'] }, 'test')).key;
    const root = join(env.dir, 'rec');
    mkdirSync(root, { recursive: true });
    await makeRecorderFootage(root, { sizeMiB: 1, files: 1, serial: 'ZFYS01', officer: 'O1', audio: false, photo: false });
    const imported = await importFolder(rt, root, { serial: 'ZFYS01', case: ['YB-1'], json: true });
    evidenceId = imported.files[0]!.evidenceId!;

    server = spawn(process.execPath, [resolve(REPO_ROOT, 'bin/evidock.js'), 'serve'], { env: { ...process.env, ...env.childEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    server.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    base = `http://127.0.0.1:${port}`;
    await eventually(async () => (output.includes('/api/v1/openapi.json') ? true : undefined), 60_000, `the server to start: ${output}`);
    // A custodian's session, for the downloads (a case system needs approval for those).
    await rt.identity.changePassword(
      (await rt.identity.principalOfUser(await rt.identity.user('custodian')))!,
      PASSWORD,
      `${PASSWORD}x`,
      null,
    );
    const login = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'custodian', password: `${PASSWORD}x` }) });
    cookie = login.headers.getSetCookie()[0]!.split(';')[0]!;
  }, 180_000);

  afterAll(async () => {
    server?.kill('SIGKILL');
    await env?.cleanup();
    await stopAllPrivateServices();
  });

  it('answers 503 naming PostgreSQL, MinIO or Redis while each is down, within the dependency timeout, and recovers', async () => {
    expect((await api('GET', '/health')).json).toMatchObject({ status: 'ok' });

    await pg.stop();
    const noDb = await api('GET', '/evidence');
    expect(noDb.status).toBe(503);
    expect(noDb.json.error).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE', dependency: 'postgres' });
    expect(noDb.ms).toBeLessThan(10_000);
    expect((await api('GET', '/health')).json.dependencies.postgres.ok).toBe(false);
    await pg.start();
    await eventually(async () => ((await api('GET', '/evidence')).status === 200 ? true : undefined), 30_000, 'search after PostgreSQL returned');

    await minio.stop();
    const asCustodian = { range: 'bytes=0-9', cookie };
    const noStore = await api('GET', `/evidence/${evidenceId}/original`, undefined, asCustodian);
    expect([noStore.status, noStore.json.error?.dependency]).toEqual([503, 'minio']);
    const health = await api('GET', '/health');
    expect(health.status).toBe(503);
    expect(health.json.dependencies).toMatchObject({ postgres: { ok: true }, minio: { ok: false } });
    await minio.start();
    await eventually(async () => ((await api('GET', `/evidence/${evidenceId}/original`, undefined, asCustodian)).status === 206 ? true : undefined), 30_000, 'download after MinIO returned');
    // Nothing of the response leaks internals.
    expect(JSON.stringify(noDb.json) + JSON.stringify(noStore.json)).not.toMatch(/SELECT|at .*\.ts:|password|secret/i);
  }, 120_000);

  it('keeps a webhook written while Redis is down and delivers it once Redis returns; logins go on meanwhile', async () => {
    const got: string[] = [];
    const receiver: Server = createServer((req, res) => {
      got.push(String(req.headers['x-evidock-delivery']));
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    try {
      const hook = await api('POST', '/webhooks', { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`, events: ['evidence.linked'] });
      expect(hook.status).toBe(201);
      await redis.stop();
      const linked = await api('PUT', '/cases/YB-REDIS-DOWN/links', { evidenceIds: [evidenceId] });
      expect(linked.status).toBe(200);
      expect(linked.ms).toBeLessThan(10_000);
      expect((await api('GET', '/health')).json.dependencies.redis.ok).toBe(false);
      const login = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'custodian', password: `${PASSWORD}x` }) });
      expect(login.status).toBe(200);
      await redis.start();
      await eventually(async () => (got.length > 0 ? true : undefined), 60_000, 'the delivery after Redis returned');
      const deliveries = await eventually(async () => {
        const list = (await api('GET', `/webhooks/${hook.json.id}/deliveries`)).json as unknown as Array<{ id: string; state: string }>;
        return list[0]?.state === 'delivered' ? list : undefined;
      }, 30_000, 'the delivery recorded');
      expect(deliveries).toHaveLength(1);
      expect(new Set(got)).toEqual(new Set([deliveries[0]!.id]));
    } finally {
      receiver.close();
    }
  }, 120_000);

  it('on SIGTERM lets a request in flight finish, then exits 0', async () => {
    const url = new URL(`${base}/api/v1/cases/YB-1/documents?name=${encodeURIComponent('笔录.txt')}`);
    const answer = new Promise<{ status: number; body: string }>((resolveAnswer, reject) => {
      const req = request(url, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'text/plain' } }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolveAnswer({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      // A slow upload: half now, the rest after the server was told to stop.
      req.write('询问笔录：当事人称……\n'.repeat(100));
      setTimeout(() => {
        server!.kill('SIGTERM');
        setTimeout(() => req.end('以上笔录属实。\n'), 1500);
      }, 500);
    });
    const exited = new Promise<number | null>((r) => server!.once('exit', (code) => r(code)));
    const res = await answer;
    expect(res.status, res.body).toBe(201);
    expect(JSON.parse(res.body)).toMatchObject({ name: '笔录.txt', contentType: 'text/plain' });
    expect(await exited).toBe(0);
    server = null;
    // Nothing half-stored: the document is catalogued once, and its custody event is there.
    const docs = (await rt.db.query<{ n: string }>('SELECT count(*) AS n FROM documents')).rows[0]!.n;
    expect(Number(docs)).toBe(1);
  }, 60_000);
});
