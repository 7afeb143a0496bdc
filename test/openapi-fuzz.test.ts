import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../config/config.loader.ts';
import { importFolder } from '../daemon/cli.ts';
import type { Runtime } from '../daemon/runtime.ts';
import { makeRecorderFootage } from '../scripts/make-footage.ts';
import { buildArchiveServer } from '../server/archive.server.ts';
import { QueueName } from '../workers/job.types.ts';
import { createTestEnv, type TestEnv } from './support/test-env.ts';

/**
 * Property-based fuzzing of every route from the server's own OpenAPI document, with
 * Schemathesis (scripts/schemathesis.sh installs the pinned version): no 5xx, and every
 * response matches the schema the document gives for its status. Run as a case system (API
 * key), a custodian (session cookie and CSRF token) and an admin, against the real stack.
 */

const PASSWORD = 'Fuzz-Archive-2026!';

describe('the archive API under property-based fuzzing (Schemathesis)', () => {
  let env: TestEnv;
  let rt: Runtime;
  let app: FastifyInstance;
  let base = '';
  let st = '';
  const credentials = new Map<string, string[]>();

  async function session(name: string): Promise<string[]> {
    await rt.identity.changePassword(await rt.identity.principalOfUser(await rt.identity.user(name)), PASSWORD, `${PASSWORD}x`, null);
    const res = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password: `${PASSWORD}x` }) });
    expect(res.status).toBe(200);
    const csrf = ((await res.json()) as { csrfToken: string }).csrfToken;
    const cookie = res.headers.getSetCookie()[0]!.split(';')[0]!;
    return ['-H', `Cookie: ${cookie}`, '-H', `X-CSRF-Token: ${csrf}`];
  }

  beforeAll(async () => {
    // Fails here, loudly, if the tool cannot be installed: never a silent skip.
    st = execFileSync('bash', [resolve(REPO_ROOT, 'scripts/schemathesis.sh')], { encoding: 'utf8' }).trim();
    env = await createTestEnv('fuzz', { server: { loginRatePerMinute: 10000 } });
    rt = await env.runtime();
    rt.startWorkers([QueueName.Acquire, QueueName.Store, QueueName.Clear, QueueName.Catalog]);
    await rt.identity.addUnit({ id: 'GD', name: '广东省医疗保障局', parentId: null }, 'fuzz');
    await rt.identity.addUnit({ id: 'SZ', name: '深圳市医疗保障局', parentId: 'GD' }, 'fuzz');
    await rt.identity.registerRecorder({ serial: 'ZFYF01', officerId: 'O1', unitId: 'SZ' }, 'fuzz');
    await rt.identity.addUser({ name: 'custodian', role: 'custodian', unitIds: ['SZ'], password: PASSWORD }, 'fuzz');
    await rt.identity.addUser({ name: 'admin', role: 'admin', unitIds: ['GD'], password: PASSWORD }, 'fuzz');
    const key = await rt.identity.createKey({ name: 'cms', role: 'case-system', unitIds: ['SZ'] }, 'fuzz');
    const root = join(env.dir, 'rec');
    mkdirSync(root, { recursive: true });
    await makeRecorderFootage(root, { sizeMiB: 1, files: 1, serial: 'ZFYF01', officer: 'O1', audio: false, photo: false });
    await importFolder(rt, root, { serial: 'ZFYF01', case: ['YB-F-1'], json: true });
    app = await buildArchiveServer(rt);
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    credentials.set('case-system', ['-H', `Authorization: Bearer ${key.key}`]);
    credentials.set('custodian', await session('custodian'));
    credentials.set('admin', await session('admin'));
  }, 180_000);

  afterAll(async () => {
    await app?.close();
    await env?.cleanup();
  });

  for (const who of ['case-system', 'custodian', 'admin']) {
    it(`finds no server error and no response off its schema, as ${who}`, async () => {
      const args = [
        'run',
        `${base}/api/v1/openapi.json`,
        ...credentials.get(who)!,
        '--checks',
        'not_a_server_error,response_schema_conformance',
        '--phases',
        'examples,fuzzing',
        '--max-examples',
        '25',
        '--workers',
        '2',
        '--seed',
        '20261205',
        '--request-timeout',
        '20',
        '--no-color',
        // Logging out or changing the password mid-run would end this caller's session.
        '--exclude-path',
        '/api/v1/auth/logout',
        '--exclude-path',
        '/api/v1/auth/password',
        // An event stream never ends, so every call would be a timeout; test/web-ui.test.ts
        // and test/archive-server.test.ts read it.
        '--exclude-path',
        '/api/v1/docks/events',
      ];
      const { code, output } = await new Promise<{ code: number | null; output: string }>((done) => {
        const child = spawn(st, args, { cwd: env.dir, env: { ...process.env, SCHEMATHESIS_HOOKS: '' } });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.on('close', (c) => done({ code: c, output: out }));
      });
      const summary = output.slice(output.lastIndexOf('SUMMARY') - 100);
      expect(code, output.slice(-6000)).toBe(0);
      // Every selected operation was reached (not a schema it could not load, nor one it skipped).
      const selected = /Selected: (\d+)\/\d+/.exec(output);
      const tested = /Tested: (\d+)/.exec(output);
      expect(selected, summary).not.toBeNull();
      expect(tested, summary).not.toBeNull();
      expect(Number(selected![1]), summary).toBeGreaterThanOrEqual(40);
      expect(Number(tested![1]), summary).toBe(Number(selected![1]));
    }, 300_000);
  }
});
