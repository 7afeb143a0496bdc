import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { spoolDirOf } from '../../config/config.loader.ts';
import { importFolder } from '../../daemon/cli.ts';
import { makeRecorderFootage } from '../../scripts/make-footage.ts';
import { QueueName } from '../../workers/job.types.ts';
import { childConfig, EvidockProcess } from './chaos-faults.ts';
import type { ChaosContext, ScenarioRow } from './chaos-scenarios.ts';
import { freePort } from './private-services.ts';
import { createTestEnv, eventually } from './test-env.ts';

/**
 * The archive server under faults and attacks, as `npm run chaos` rows: `evidock serve`
 * SIGKILLed in the middle of document uploads and of webhook deliveries (nothing
 * half-stored; nothing delivered twice under two delivery ids), a burst of wrong passwords
 * against one account (the lockout holds, whatever the concurrency), and the server's own
 * log, at debug level, grepped for the password, the API key and the session token.
 */

const PASSWORD = 'Chaos-Archive-2026!';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function apiRow(fault: string, checked: string): ScenarioRow {
  return { group: 'hostile', fault, tries: 0, checked, filesLost: 0, duplicates: 0, unverifiedClears: 0, shaMismatches: 0, stuckJobs: 0, detected: 0, ok: true, notes: [], seconds: 0 };
}

export async function apiScenario(ctx: ChaosContext): Promise<ScenarioRow[]> {
  const started = Date.now();
  const env = await createTestEnv('apichaos');
  const rows: ScenarioRow[] = [];
  const uploads = apiRow('Archive server SIGKILLed during document uploads', 'every catalogued document has its whole object with the catalogued SHA-256 and one DOCUMENT_ADDED; no partial upload file survives the restart; an upload sent again after the restart is stored once');
  const hooks = apiRow('Archive server SIGKILLed during webhook deliveries', 'every event reaches the receiver; an event received twice carries the same delivery id both times');
  const burst = apiRow('A burst of wrong passwords against one account (concurrent)', 'the account locks after server.loginMaxFailures wrong passwords however many arrive at once, and the right password is refused while locked (429 with Retry-After)');
  const secrets = apiRow('Secrets in the archive server\'s log', 'the password, the API key\'s secret and the session token appear nowhere in the server\'s debug log or output');
  rows.push(uploads, hooks, burst, secrets);
  const finished = new Set<ScenarioRow>();
  let receiver: Server | null = null;
  let server: EvidockProcess | null = null;
  try {
    const rt = await env.runtime();
    rt.startWorkers([QueueName.Acquire, QueueName.Store, QueueName.Clear, QueueName.Catalog]);
    await rt.identity.addUnit({ id: 'SZ', name: '深圳市医疗保障局', parentId: null }, 'chaos');
    await rt.identity.registerRecorder({ serial: 'ZFYK01', officerId: 'O1', unitId: 'SZ' }, 'chaos');
    await rt.identity.addUser({ name: 'custodian', role: 'custodian', unitIds: ['SZ'], password: PASSWORD }, 'chaos');
    const key = (await rt.identity.createKey({ name: 'cms', role: 'case-system', unitIds: ['SZ'] }, 'chaos')).key;
    const root = join(env.dir, 'rec');
    mkdirSync(root, { recursive: true });
    await makeRecorderFootage(root, { sizeMiB: 1, files: 1, serial: 'ZFYK01', officer: 'O1', audio: false, photo: false, seed: ctx.seed });
    const evidenceId = (await importFolder(rt, root, { serial: 'ZFYK01', case: ['YB-K-0'], json: true })).files[0]!.evidenceId!;

    const port = await freePort();
    const logFile = join(env.dir, 'serve-debug.log');
    const cfg = childConfig(env, { logLevel: 'debug', logFile, server: { port, loginRatePerMinute: 30 }, webhooks: { attempts: 20, backoffSeconds: 0.2, requeueSeconds: 2 } });
    server = new EvidockProcess('serve', ['serve'], cfg, join(env.dir, 'serve.out'));
    const base = `http://127.0.0.1:${port}/api/v1`;
    const up = async () => {
      server!.start();
      await eventually(async () => (await fetch(`${base}/health`).then((r) => r.ok).catch(() => false)) || undefined, 60_000, 'the archive server up');
    };
    await up();
    const auth = { authorization: `Bearer ${key}` };

    // ---- uploads cut by SIGKILL --------------------------------------------------------
    const slowUpload = (name: string, bytes: Buffer) =>
      new Promise<number>((resolveStatus) => {
        const req = request(`${base}/cases/YB-K-1/documents?name=${encodeURIComponent(name)}`, { method: 'POST', headers: { ...auth, 'content-type': 'application/pdf' } }, (res) => {
          res.resume();
          res.on('end', () => resolveStatus(res.statusCode ?? 0));
        });
        req.on('error', () => resolveStatus(0));
        let sent = 0;
        const step = Math.ceil(bytes.length / 20);
        const next = () => {
          if (sent >= bytes.length) return void req.end();
          req.write(bytes.subarray(sent, sent + step));
          sent += step;
          setTimeout(next, 100);
        };
        next();
      });
    const docs = Array.from({ length: 4 }, (_, i) => Buffer.concat([Buffer.from(`%PDF-1.7\n% chaos ${ctx.seed} ${i}\n`), Buffer.alloc(400_000 + i * 1000, 0x41)]));
    const sends = docs.map((d, i) => slowUpload(`笔录-${i}.pdf`, d));
    await sleep(900);
    await server.kill();
    uploads.tries = docs.length;
    const statuses = await Promise.all(sends);
    await up();
    const partials = readdirSync(spoolDirOf(env.config)).filter((f) => f.startsWith('upload-'));
    if (partials.length > 0) uploads.notes.push(`${partials.length} partial upload files left in the spool`);
    const again = await fetch(`${base}/cases/YB-K-1/documents?name=again.pdf`, { method: 'POST', headers: { ...auth, 'content-type': 'application/pdf' }, body: docs[0] });
    const catalogued = (await rt.db.query<{ sha256: string; object_key: string; size: string }>('SELECT sha256, object_key, size FROM documents')).rows;
    const events = (await rt.ledger.page(0, 100_000)).events.filter((e) => e.type === 'DOCUMENT_ADDED');
    let intact = again.status === 201 && partials.length === 0 && events.length === catalogued.length;
    for (const d of catalogued) {
      const hash = createHash('sha256');
      for await (const c of await rt.objects.read('originals', d.object_key)) hash.update(c as Buffer);
      if (hash.digest('hex') !== d.sha256) {
        intact = false;
        uploads.shaMismatches++;
      }
    }
    uploads.detected = intact ? uploads.tries : 0;
    uploads.ok = intact;
    finished.add(uploads);
    uploads.notes.push(`uploads answered ${statuses.join(', ')} before the kill landed (0: connection cut); ${catalogued.length} documents catalogued afterwards, ${events.length} DOCUMENT_ADDED; the upload sent again: ${again.status}`);

    // ---- webhook deliveries cut by SIGKILL ---------------------------------------------
    const got: Array<{ delivery: string; id: string; caseNumber: string }> = [];
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: string; data: { caseNumber: string } };
        got.push({ delivery: String(req.headers['x-evidock-delivery']), id: body.id, caseNumber: body.data.caseNumber });
        // A slow receiver: deliveries are in flight when the server dies.
        setTimeout(() => res.writeHead(204).end(), 300);
      });
    });
    await new Promise<void>((r) => receiver!.listen(0, '127.0.0.1', () => r()));
    const sub = await fetch(`${base}/webhooks`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`, events: ['evidence.linked'] }) });
    if (sub.status !== 201) throw new Error(`webhook subscription answered ${sub.status}`);
    const cases = Array.from({ length: 12 }, (_, i) => `YB-HOOK-${i}`);
    for (const c of cases) await fetch(`${base}/cases/${c}/links`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ evidenceIds: [evidenceId] }) });
    await sleep(500);
    await server.kill();
    hooks.tries = 1;
    await sleep(1000);
    await up();
    await eventually(async () => (new Set(got.map((g) => g.caseNumber)).size === cases.length ? true : undefined), 90_000, 'every event delivered after the restart').catch(() => undefined);
    const idsPerCase = new Map<string, Set<string>>();
    for (const g of got) idsPerCase.set(g.caseNumber, new Set([...(idsPerCase.get(g.caseNumber) ?? []), g.delivery]));
    const missing = cases.filter((c) => !idsPerCase.has(c));
    const twoIds = [...idsPerCase].filter(([, ids]) => ids.size > 1).map(([c]) => c);
    const bodyMismatch = got.filter((g) => g.delivery !== g.id).length;
    hooks.filesLost = missing.length;
    hooks.duplicates = twoIds.length;
    hooks.ok = missing.length === 0 && twoIds.length === 0 && bodyMismatch === 0;
    hooks.detected = hooks.ok ? 1 : 0;
    finished.add(hooks);
    hooks.notes.push(`${cases.length} events, ${got.length} deliveries received (${got.length - cases.length} repeated after the kill, each under its first delivery id)${missing.length ? `; never delivered: ${missing.join(', ')}` : ''}${twoIds.length ? `; under two ids: ${twoIds.join(', ')}` : ''}`);

    // ---- a burst of wrong passwords -----------------------------------------------------
    const login = (password: string) => fetch(`${base}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'custodian', password }) });
    const wrong = await Promise.all(Array.from({ length: 25 }, (_, i) => login(`Wrong-Guess-${i}!x`).then(async (r) => ((await r.json()) as { error: { code: string } }).error.code)));
    burst.tries = wrong.length;
    const afterBurst = await login(PASSWORD);
    const failed = (await rt.db.query<{ failed_logins: number; locked_until: Date | null }>(`SELECT failed_logins, locked_until FROM users WHERE name = 'custodian'`)).rows[0]!;
    const locked = wrong.filter((c) => c === 'ACCOUNT_LOCKED').length;
    const limited = wrong.filter((c) => c === 'RATE_LIMITED').length;
    const rightRefused = afterBurst.status === 429 && Number(afterBurst.headers.get('retry-after')) > 0;
    burst.detected = wrong.filter((c) => c !== 'BAD_CREDENTIALS').length + (rightRefused ? 1 : 0);
    burst.ok = rightRefused && failed.locked_until !== null && wrong.filter((c) => c === 'BAD_CREDENTIALS').length <= env.config.server.loginMaxFailures;
    finished.add(burst);
    burst.notes.push(`25 concurrent wrong passwords: ${wrong.filter((c) => c === 'BAD_CREDENTIALS').length} answered BAD_CREDENTIALS, ${locked} ACCOUNT_LOCKED, ${limited} RATE_LIMITED; the right password afterwards: ${afterBurst.status}`);

    // ---- secrets in the server's own log -------------------------------------------------
    await rt.db.query(`UPDATE users SET locked_until = NULL, failed_logins = 0, must_change_password = false WHERE name = 'custodian'`);
    const ok = await login(PASSWORD);
    const token = /evidock_session=([^;]+)/.exec(ok.headers.get('set-cookie') ?? '')?.[1] ?? '';
    await fetch(`${base}/evidence`, { headers: { cookie: `evidock_session=${token}` } });
    await fetch(`${base}/evidence`, { headers: auth });
    await fetch(`${base}/evidence`, { headers: { authorization: `Bearer ${key}x` } });
    await server.stop(20_000);
    const text = [existsSync(logFile) ? readFileSync(logFile, 'utf8') : '', server.log()].join('\n');
    const secretPart = key.split('_')[2]!;
    const leaked = Object.entries({ password: PASSWORD, apiKey: secretPart, session: token }).filter(([, s]) => s.length > 0 && text.includes(s)).map(([k]) => k);
    secrets.tries = 3;
    secrets.detected = token && text.length > 0 ? 3 - leaked.length : 0;
    secrets.ok = leaked.length === 0 && token.length > 0 && text.length > 0;
    finished.add(secrets);
    secrets.notes.push(`${(text.length / 1024).toFixed(1)} KiB of server log and output grepped${leaked.length ? `; leaked: ${leaked.join(', ')}` : ''}${token ? '' : '; no session token to look for (login failed)'}`);
  } catch (error) {
    for (const r of rows.filter((x) => !finished.has(x))) {
      r.ok = false;
      r.notes.push(`scenario error: ${(error as Error).message.split('\n')[0]}`);
    }
  } finally {
    receiver?.close();
    if (server?.running) await server.kill();
    await env.cleanup();
  }
  const seconds = Math.round((Date.now() - started) / 1000);
  for (const r of rows) r.seconds = seconds;
  return rows;
}
