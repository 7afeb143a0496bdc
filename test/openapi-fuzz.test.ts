import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
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
 * Schemathesis (scripts/python-tool.sh installs the pinned version): no 5xx, and every
 * response matches the schema the document gives for its status. Run as a case system (API
 * key), a custodian (session cookie and CSRF token) and an admin, against the real stack.
 */

const PASSWORD = 'Fuzz-Archive-2026!';
/** Schemathesis' JSON run reports, kept for reading after a failure (var/ is not tracked). */
const REPORTS = resolve(REPO_ROOT, 'var', 'schemathesis');

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
    st = execFileSync('bash', [resolve(REPO_ROOT, 'scripts/python-tool.sh'), 'schemathesis'], { encoding: 'utf8' }).trim();
    mkdirSync(REPORTS, { recursive: true });
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

  /** One Schemathesis run; its exit code, output, and per operation the fuzzing phase's outcomes (from its NDJSON events). */
  async function schemathesis(who: string, run: string, extra: string[]): Promise<{ code: number | null; output: string; selected: string[]; outcomes: Map<string, string[]> }> {
    const report = join(REPORTS, `${who}-${run}.ndjson`);
    const args = [
      'run',
      `${base}/api/v1/openapi.json`,
      ...credentials.get(who)!,
      '--checks',
      'not_a_server_error,response_schema_conformance',
      '--phases',
      'fuzzing',
      '--max-examples',
      '25',
      '--workers',
      '2',
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
      '--report',
      'ndjson',
      '--report-ndjson-path',
      report,
      ...extra,
    ];
    const { code, output } = await new Promise<{ code: number | null; output: string }>((done) => {
      const child = spawn(st, args, { cwd: env.dir, env: { ...process.env, SCHEMATHESIS_HOOKS: '' } });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.on('close', (c) => done({ code: c, output: out }));
    });
    const selected: string[] = [];
    const outcomes = new Map<string, string[]>();
    for (const line of existsSync(report) ? readFileSync(report, 'utf8').split('\n') : []) {
      if (!line) continue;
      const event = JSON.parse(line) as {
        LoadingFinished?: { statistic: { resource_pool?: unknown }; operations?: unknown };
        ScenarioFinished?: { phase: string; status: string; skip_reason: string | null; recorder: { label: string } };
      };
      const f = event.ScenarioFinished;
      if (f && f.phase === 'fuzzing') outcomes.set(f.recorder.label, [...(outcomes.get(f.recorder.label) ?? []), f.skip_reason ? `${f.status} (${f.skip_reason})` : f.status]);
    }
    const m = /Selected: (\d+)\/\d+/.exec(output);
    if (m) selected.push(m[1]!);
    return { code, output, selected, outcomes };
  }

  for (const who of ['case-system', 'custodian', 'admin']) {
    it(`finds no server error and no response off its schema, as ${who}`, async () => {
      const first = await schemathesis(who, 'all', ['--seed', '20261205']);
      const summary = (o: string) => o.slice(o.lastIndexOf('SUMMARY') - 100);
      expect(first.code, first.output.slice(-6000)).toBe(0);
      const selected = Number(first.selected[0] ?? 0);
      expect(selected, summary(first.output)).toBeGreaterThanOrEqual(40);
      expect(first.outcomes.size, summary(first.output)).toBe(selected);
      // Every selected operation was tested. Hypothesis now and then gives up generating for
      // one (its scenario ends "skip"): that one runs again, alone, with another seed, and must be tested then.
      const tested = (statuses: readonly string[]) => statuses.some((x) => x === 'success' || x === 'failure');
      const untested = [...first.outcomes].filter(([, statuses]) => !tested(statuses));
      for (const [label, statuses] of untested) {
        const [method, path] = label.split(' ') as [string, string];
        const again = await schemathesis(who, `retry-${method}`, ['--seed', '20261206', '--include-method', method, '--include-path', path]);
        expect(again.code, again.output.slice(-6000)).toBe(0);
        expect(tested(again.outcomes.get(label) ?? []), `${label}: ${statuses.join(', ')}, then ${(again.outcomes.get(label) ?? ['not run']).join(', ')}`).toBe(true);
      }
    }, 300_000);
  }
});
